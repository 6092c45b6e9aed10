"""A fake AudioSet as copies of it are on disk: the release's segments CSVs (three `#` lines, then `YTID,
start_seconds, end_seconds, "mid,mid"` rows with a space after each comma) and class_labels_indices.csv (display
names quoted, some holding commas), with real short clips named as the download tools name them: PANNs'
`audios/<subset>_segments/Y<id>.wav` (the unbalanced set in `_partNN` folders), Hugging Face's
`audio/bal_train/<id>.flac`, audiosetdl's `data/<subset>_segments/audio/<id>_<start ms>_<end ms>.flac` and
`.../video/<same>.mp4` (milliseconds as `int(seconds * 1000)`: speedyseal/audiosetdl's `get_media_filename` and
`init_subset_data_dir`).

`write_fake_audioset` returns a `FakeCorpus` whose `expected` holds the samples a loader must yield for no split;
`LABELS` gives each sample's class names.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.fakes import ExpectedSample, FakeCorpus, register_fake
from tests.fakes.vggsound import garble_line, write_clip

#: The class table (index order): display names quoted as the release writes them; sorted by name they are in
#: another order (Animal, Dog, Domestic..., Gush, Male..., Music, Speech), so a test tells the two orders apart.
CLASSES = (("/m/09x0r", "Speech"), ("/m/05zppz", "Male speech, man speaking"), ("/m/0jbk", "Animal"),
           ("/m/068hy", "Domestic animals, pets"), ("/m/0bt9lr", "Dog"), ("/m/04rlf", "Music"),
           ("/t/dd00088", "Gush"))
NAMES = dict(CLASSES)


@dataclass(frozen=True)
class FakeSegment:
    youtube_id: str
    start: float
    mids: tuple[str, ...]
    subset: str

    @property
    def end(self) -> float:
        return self.start + 10.0

    @property
    def sample_id(self) -> str:
        return f"{self.youtube_id}_{round(self.start * 1000)}"

    @property
    def split(self) -> str:
        return "test" if self.subset == "eval" else "train"

    def row(self) -> str:
        return f'{self.youtube_id}, {self.start:.3f}, {self.end:.3f}, "{",".join(self.mids)}"'


#: `-` and `_` in ids as YouTube's; one start with a fraction of a second.
SEGMENTS = (
    FakeSegment("--PJHxphWEs", 30.0, ("/m/09x0r", "/t/dd00088"), "balanced_train"),
    FakeSegment("-0RWZT-miFs", 420.0, ("/m/0bt9lr", "/m/068hy", "/m/0jbk"), "balanced_train"),
    FakeSegment("_9fQ2WgM8Vs", 0.0, ("/m/04rlf",), "balanced_train"),
    FakeSegment("--4gqARaEJE", 0.0, ("/m/05zppz", "/m/09x0r"), "eval"),
    FakeSegment("-1LrH01Ei1w", 7.5, ("/m/0bt9lr", "/m/0jbk"), "eval"),
    FakeSegment("---1_cCGK4M", 10.0, ("/m/04rlf", "/m/09x0r"), "unbalanced_train"),
)
#: Each sample's class names, in the row's order.
LABELS = {s.sample_id: [NAMES[m] for m in s.mids] for s in SEGMENTS}
#: The file names each tool gives a segment (without suffix), and the subset folder names it uses.
NAMINGS = {"panns": lambda s: f"Y{s.youtube_id}", "hf": lambda s: s.youtube_id,
           "audiosetdl": lambda s: f"{s.youtube_id}_{int(s.start * 1000)}_{int(s.end * 1000)}"}
FOLDERS = {"panns": {"balanced_train": "balanced_train_segments", "eval": "eval_segments",
                     "unbalanced_train": "unbalanced_train_segments/unbalanced_train_segments_part00"},
           "hf": {"balanced_train": "bal_train", "eval": "eval", "unbalanced_train": "unbal_train"},
           "audiosetdl": {s: f"{s}_segments" for s in ("balanced_train", "eval", "unbalanced_train")}}


def segments_csv(segments: list[FakeSegment] | tuple[FakeSegment, ...]) -> str:
    """A segments file as the release writes it: three `#` lines, then a row per segment."""
    labels = sum(len(s.mids) for s in segments)
    return ("# Segments csv created Sun Mar  5 10:54:31 2017\n"
            f"# num_ytids={len(segments)}, num_segs={len(segments)}, num_unique_labels={len(CLASSES)}, "
            f"num_positive_labels={labels}\n# YTID, start_seconds, end_seconds, positive_labels\n"
            + "".join(s.row() + "\n" for s in segments))


def class_labels_csv(classes: tuple[tuple[str, str], ...] = CLASSES) -> str:
    """class_labels_indices.csv as the release writes it (every display name quoted)."""
    return "index,mid,display_name\n" + "".join(f'{i},{mid},"{name}"\n' for i, (mid, name) in enumerate(classes))


def media_file(segment: FakeSegment, naming: str, media_dir: str, suffix: str) -> str:
    """Where `naming`'s tool saves a segment's file with `suffix`: in `media_dir/<its subset folder>/` (audiosetdl:
    in that folder's `audio/` or, for an MP4, `video/`)."""
    tool_folder = ("video" if suffix == ".mp4" else "audio") if naming == "audiosetdl" else ""
    folder = "/".join(p for p in (media_dir, FOLDERS[naming][segment.subset], tool_folder) if p)
    return f"{folder}/{NAMINGS[naming](segment)}{suffix}"


def write_fake_audioset(root: Path, *, naming: str = "panns", csv_dir: str = "metadata", media_dir: str = "audios",
                        suffix: str = ".wav", subsets: tuple[str, ...] = ("balanced_train", "eval"),
                        segments: tuple[FakeSegment, ...] = SEGMENTS, with_video: bool = False) -> FakeCorpus:
    """The segments files of `subsets` and class_labels_indices.csv in `csv_dir`, and each of their segments'
    clip in `media_dir/<the tool's subset folder>/` named as `naming`'s tool names it, with `suffix`;
    `with_video`: an MP4 of it too (audiosetdl saves both)."""
    expected: dict[str, ExpectedSample] = {}
    folder = root / csv_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "class_labels_indices.csv").write_text(class_labels_csv(), encoding="utf-8")
    for subset in subsets:
        rows = [s for s in segments if s.subset == subset]
        (folder / f"{subset}_segments.csv").write_text(segments_csv(rows), encoding="utf-8")
        for seed, segment in enumerate(rows):
            media: dict[str, str] = {}
            for written in (suffix, ".mp4") if with_video and suffix != ".mp4" else (suffix,):
                path = media_file(segment, naming, media_dir, written)
                write_clip(root / path, seed)
                media["video" if written == ".mp4" else "audio"] = path
            expected[segment.sample_id] = ExpectedSample(split=segment.split, **media)
    first = folder / f"{subsets[0]}_segments.csv"
    return FakeCorpus("audioset", root, first, expected,
                      options={"subsets": "+".join(subsets)} if subsets != ("balanced_train", "eval") else {},
                      corrupt=lambda: garble_line(first, 4))


@register_fake("audioset", "panns-wav")
def write_fake_audioset_panns(root: Path) -> FakeCorpus:
    """metadata/ CSVs, audios/<subset>_segments/Y<id>.wav with the unbalanced set in part folders (AS-2M)."""
    return write_fake_audioset(root, subsets=("balanced_train", "unbalanced_train", "eval"))


@register_fake("audioset", "hf-flac")
def write_fake_audioset_hf(root: Path) -> FakeCorpus:
    """CSVs in the root, audio/bal_train/<id>.flac and audio/eval/<id>.flac (Hugging Face's agkphysics/AudioSet)."""
    return write_fake_audioset(root, naming="hf", csv_dir="", media_dir="audio", suffix=".flac")


@register_fake("audioset", "audiosetdl-flac-mp4")
def write_fake_audioset_audiosetdl(root: Path) -> FakeCorpus:
    """CSVs in the root, data/<subset>_segments/audio/<id>_<start ms>_<end ms>.flac and video/<same>.mp4 (a video
    with sound), as audiosetdl saves them."""
    return write_fake_audioset(root, naming="audiosetdl", csv_dir="", media_dir="data", suffix=".flac",
                               with_video=True)


#: The strong labels' name table: the class table's names and one label the class table lacks (the strong
#: vocabulary is not a subset of the 527 classes), written as mid_to_display_name.tsv writes them.
STRONG_ONLY = ("/m/0641k", "Paper rustling")
STRONG_NAMES = {**NAMES, STRONG_ONLY[0]: STRONG_ONLY[1]}


@dataclass(frozen=True)
class FakeStrongClip:
    """A clip of the strong labels: the weak segment whose file holds its sound, its events (start, end, MID) in
    the order the TSV lists them."""

    segment: FakeSegment
    events: tuple[tuple[float, float, str], ...]

    @property
    def tsv(self) -> str:
        return "eval_strong" if self.segment.subset == "eval" else "train_strong"

    def lines(self) -> list[str]:
        return [f"{self.segment.sample_id}\t{start:.3f}\t{end:.3f}\t{mid}" for start, end, mid in self.events]


#: A balanced and an unbalanced training clip (the train TSV draws on both sets) and an eval clip; events
#: unsorted, one label twice, one label only the strong names table has.
STRONG_CLIPS = (
    FakeStrongClip(SEGMENTS[0], ((2.627, 7.237, "/m/09x0r"), (0.0, 10.0, "/t/dd00088"), (0.5, 1.25, "/m/09x0r"))),
    FakeStrongClip(SEGMENTS[5], ((1.0, 2.0, STRONG_ONLY[0]), (1.0, 1.5, "/m/04rlf"))),
    FakeStrongClip(SEGMENTS[4], ((3.0, 9.999, "/m/0jbk"), (0.0, 3.2, "/m/0bt9lr"))),
)


def strong_tsv(clips: tuple[FakeStrongClip, ...] | list[FakeStrongClip]) -> str:
    """An event list as the release writes it: its header, then the clips' events, those of the clips taking
    turns (the loader must group a clip's events wherever they are)."""
    lines = [clip.lines() for clip in clips]
    turns = [line for n in range(max(map(len, lines), default=0)) for clip in lines for line in clip[n:n + 1]]
    return "segment_id\tstart_time_seconds\tend_time_seconds\tlabel\n" + "".join(line + "\n" for line in turns)


def write_fake_audioset_strong(root: Path, *, naming: str = "panns", tsv_dir: str = "metadata",
                               media_dir: str = "audios", suffix: str = ".wav",
                               clips: tuple[FakeStrongClip, ...] = STRONG_CLIPS, names_table: bool = True,
                               class_table: bool = True) -> FakeCorpus:
    """audioset_train_strong.tsv and audioset_eval_strong.tsv of `clips` in `tsv_dir` (with
    mid_to_display_name.tsv where `names_table`, class_labels_indices.csv where `class_table`; no segments CSV),
    and each clip's sound in its weak set's folder as `naming`'s tool names it."""
    folder = root / tsv_dir
    folder.mkdir(parents=True, exist_ok=True)
    if names_table:
        (folder / "mid_to_display_name.tsv").write_text(
            "".join(f"{mid}\t{name}\n" for mid, name in STRONG_NAMES.items()), encoding="utf-8")
    if class_table:
        (folder / "class_labels_indices.csv").write_text(class_labels_csv(), encoding="utf-8")
    expected: dict[str, ExpectedSample] = {}
    for tsv in ("train_strong", "eval_strong"):
        listed = [clip for clip in clips if clip.tsv == tsv]
        (folder / f"audioset_{tsv}.tsv").write_text(strong_tsv(listed), encoding="utf-8")
        for seed, clip in enumerate(listed):
            path = media_file(clip.segment, naming, media_dir, suffix)
            write_clip(root / path, seed)
            expected[clip.segment.sample_id] = ExpectedSample(split=clip.segment.split, audio=path)
    first = folder / "audioset_train_strong.tsv"
    return FakeCorpus("audioset", root, first, expected, options={"strong": True},
                      corrupt=lambda: garble_line(first, 3))


@register_fake("audioset", "strong-panns-wav")
def write_fake_audioset_strong_panns(root: Path) -> FakeCorpus:
    """The strong labels' TSVs in metadata/, the clips in PANNs' audios/<subset>_segments/Y<id>.wav (the
    unbalanced set in part folders)."""
    return write_fake_audioset_strong(root)
