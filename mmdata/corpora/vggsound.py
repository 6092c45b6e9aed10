"""VGGSound (Chen et al., ICASSP 2020; audio-visual sound classification) as users have it on disk.

The release is one CSV, `vggsound.csv`, with no header; a row is one 10 s clip:
    ---g-f_I2yQ,1,"people marching",test
    --0PQM4-hqg,30,"waterfall burbling",train
(the YouTube id, the clip's start in whole seconds in the video, its class, `train` or `test`; ~200k rows, 309
classes, some with a comma in their name, which the CSV quotes: `"male speech, man speaking"`). There is no
validation split (papers carve one out of train).

The clips are not in the release: each copy downloads them from YouTube and names a clip's file
`<youtube_id>_<start:06d>` (`--0PQM4-hqg_000030.mp4`: the VGGSound download scripts, Loie/VGGSound on Hugging
Face, CAV-MAE's `.flac`), a few copies unpadded (`--0PQM4-hqg_30.wav`) or by the bare YouTube id where the video
has one clip. A file is the 10 s clip itself: a video with its sound (`.mp4`) or the sound alone (`.flac`,
`.wav`), in one folder or in `train/` and `test/` folders of it.

One sample per clip: sample_id `<youtube_id>_<start:06d>` (the release's own file stem), group_id the YouTube id
(so `check` reports a video whose clips a re-split puts in train and test), `video` where the file is a video
container (audio extractors read its audio track) else `audio`; `extra.class` holds the class name (what
`mmdata fuse --class-label class` turns into class ids), with `youtube_id`, `start_seconds` and the durations the
file's header states. Every copy lacks clips of videos taken down since 2020: each is named in the errors table
(`file:line`), and their count is logged and kept in the manifest. A row that cannot be read (not four fields,
a start that is no whole number of seconds, a split other than train/test, an empty id or class) and a clip
listed again are left out the same way.
"""
from __future__ import annotations

import csv
import io
import logging
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdata.corpora.base import LoadProblem, LoadResult, given_image_dir, read_text, register_corpus
from mmdata.corpora.media_captions import (
    MediaFolders,
    audio_duration_extra,
    check_split,
    find_csv_dir,
    first_media_path,
    listed_again,
    missing_media_problem,
    repeated_entry_problem,
    shown_path,
)
from mmdata.corpora.mosi_raw_media import record_video_span
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

log = logging.getLogger(__name__)

CORPUS = "vggsound"
SPLITS = ("train", "test")
CSV_NAME = "vggsound.csv"
COLUMNS = ("youtube_id", "start_seconds", "label", "split")
#: The key of `extra` holding the class name (`mmdata fuse --class-label class`).
CLASS_KEY = "class"
#: Where vggsound.csv sits, relative to the root, first first ("" is the root itself).
CSV_DIRS = ("", "data", "metadata", "annotations")
#: Folders holding the clips (or their train/ and test/ folders), relative to the root, first first.
MEDIA_DIRS = ("video", "videos", "audio", "vggsound", "")
#: File suffixes of a clip, first first: a video with its sound, then the sound alone.
VIDEO_SUFFIXES = (".mp4",)
AUDIO_SUFFIXES = (".flac", ".wav")


@dataclass(frozen=True)
class VggSoundOptions:
    #: Folder of vggsound.csv, relative to the root or absolute (default: the root, else `data/`, `metadata/`,
    #: `annotations/`).
    csv_dir: str | None = None
    #: Folder of the clips (or of their train/ and test/ folders), relative to the root or absolute (default:
    #: those of `video/`, `videos/`, `audio/`, `vggsound/` and the root that are there).
    media_dir: str | None = None
    #: Accept clip paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@dataclass(frozen=True)
class Clip:
    """One readable row of vggsound.csv."""

    youtube_id: str
    start: int
    label: str
    split: str
    where: str

    @property
    def sample_id(self) -> str:
        return f"{self.youtube_id}_{self.start:06d}"


@register_corpus(CORPUS, VggSoundOptions)
def load_vggsound(corpus_dir: Path, options: VggSoundOptions, split: str | None) -> LoadResult:
    """VGGSound (`vggsound.csv` + 10 s clips as .mp4, .flac or .wav), one sample per clip with its class.

    `split`: none or `all` for both, `train` or `test`.

    Example:
        >>> result = load_vggsound(Path("/data/vggsound"), VggSoundOptions(), "test")
        >>> s = result.samples[0]; s.sample_id, s.video, s.extra["class"]
        ('---g-f_I2yQ_000001', 'video/---g-f_I2yQ_000001.mp4', 'people marching')

    Raises:
        CorpusNotFoundError: no vggsound.csv, or none of the clips loaded found (a wrong folder, not a few
            videos gone).
        CorpusFormatError: a vggsound.csv that is not UTF-8 or not CSV, named `file:line`.
        ConfigError: an unknown split (`val`: VGGSound has none).
    """
    wanted = check_split(split, SPLITS, {"training": "train", "testing": "test"}, "VGGSound")
    path = _find_csv(corpus_dir, options.csv_dir)
    result = LoadResult(samples=[])
    clips = _first_listings(read_clips(path, wanted, result.problems), wanted, result.problems)
    clips_of_video = Counter(clip.youtube_id for clip in clips)
    loaded = [clip for clip in clips if wanted in (None, clip.split)]
    missing = _add_samples(corpus_dir, options, loaded, clips_of_video, result)
    _require_clips_found(corpus_dir, options.media_dir, len(loaded), bool(result.samples))
    if missing:
        log.warning("%d of %d VGGSound clips listed in %s not found (videos taken down since the release); "
                    "each is named in the errors table", missing, len(loaded), path)
    result.metadata = {"annotation_file": shown_path(corpus_dir, path), "clips_listed": len(loaded),
                       "clips_missing": missing}
    return result


def read_clips(path: Path, wanted: str | None, problems: list[LoadProblem]) -> list[Clip]:
    """The readable rows of vggsound.csv in file order, of both splits (a clip listed in both is found
    whichever is asked); a row that is not one clip is named in `problems` (`file:line`) and left out, unless
    its split field names a split other than `wanted` (None: every split). A first line naming the columns (a
    copy saved with a header) is skipped.

    Raises:
        CorpusFormatError: the file is not UTF-8, or a quoted value never ends (or text follows its closing
            quote), named `file:line`.
    """
    reader = csv.reader(io.StringIO(read_text(path)), strict=True)  # a quote never closed would swallow the rest
    clips: list[Clip] = []
    start = 1
    try:
        for values in reader:
            line, start = start, reader.line_num + 1
            if not any(v.strip() for v in values) or (line == 1 and _is_header(values)):
                continue
            row_problems = problems if wanted is None or _split_field(values) in (None, wanted) else []
            clip = _row_clip(values, f"{path}:{line}", row_problems)
            if clip is not None:
                clips.append(clip)
    except csv.Error as e:
        raise CorpusFormatError(f"{path}:{start}: {e} (in the record starting at line {start}); expected rows "
                                f"{','.join(COLUMNS)}") from e
    return clips


def _is_header(values: list[str]) -> bool:
    """Whether a first row names the columns (`youtube_id,start_seconds,label,split`, `# YouTube ID, start
    seconds, label, train/test split`) rather than a clip: its start is no number and its split no split."""
    return len(values) == len(COLUMNS) and _whole_seconds(values[1]) is None and values[3].strip() not in SPLITS


def _split_field(values: list[str]) -> str | None:
    """The split a row names, where its last field is one (None: no telling which split the row is of)."""
    split = values[-1].strip() if values else ""
    return split if split in SPLITS else None


def _row_clip(values: list[str], where: str, problems: list[LoadProblem]) -> Clip | None:
    """The clip a row names, or None with its problem recorded."""
    if len(values) != len(COLUMNS):
        problems.append(LoadProblem(None, where, f"expected {len(COLUMNS)} fields ({','.join(COLUMNS)}), got "
                                    f"{len(values)}: {','.join(values)[:120]!r} (a class with a comma must be "
                                    "quoted); row left out"))
        return None
    youtube_id, start_text, label, split = (v.strip() for v in values)
    start = _whole_seconds(start_text)
    reason = _row_reason(youtube_id, start, start_text, label, split)
    if reason is not None or start is None:
        problems.append(LoadProblem(youtube_id or None, where, f"{reason}; row left out"))
        return None
    return Clip(youtube_id, start, label, split, where)


def _row_reason(youtube_id: str, start: int | None, start_text: str, label: str, split: str) -> str | None:
    """Why a row of four fields names no clip (`start`: its start_seconds read, None where unreadable), or None."""
    if not youtube_id or "/" in youtube_id:
        return f"youtube_id {youtube_id!r} is {'empty' if not youtube_id else 'no YouTube id (holds a /)'}"
    if start is None:
        return f"start_seconds {start_text!r} is not a whole number of seconds (expected e.g. 30)"
    if not label:
        return "empty label; expected the clip's class name"
    if split not in SPLITS:
        return f"split {split!r} is not one of {list(SPLITS)}"
    return None


def _whole_seconds(text: str) -> int | None:
    """A start in whole seconds (`30`, `30.0`), or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if math.isfinite(value) and value >= 0 and value.is_integer() else None


def _first_listings(clips: list[Clip], wanted: str | None, problems: list[LoadProblem]) -> list[Clip]:
    """The clips listed first; a row listing a clip again (in its split, or in the other: a leak) is named
    where its split is `wanted` (None: every split)."""
    first: dict[str, Clip] = {}
    for clip in clips:
        earlier = first.setdefault(clip.sample_id, clip)
        if earlier is not clip and wanted in (None, clip.split):
            problems.append(repeated_entry_problem(clip.sample_id, clip.where, f"clip {clip.sample_id}",
                                                   listed_again(earlier.split, clip.split), earlier.where, "row"))
    return list(first.values())


def _add_samples(corpus_dir: Path, options: VggSoundOptions, clips: list[Clip], clips_of_video: Counter,
                 result: LoadResult) -> int:
    """A sample per clip whose file is found; a clip without one is named at its row. Returns how many
    were not found."""
    folders = {split: _media_folders(corpus_dir, options.media_dir, split) for split in SPLITS}
    missing = 0
    for clip in clips:
        stems = _stems(clip, bare_id=clips_of_video[clip.youtube_id] == 1)
        names = [stem + suffix for stem in stems for suffix in VIDEO_SUFFIXES + AUDIO_SUFFIXES]
        found = first_media_path(corpus_dir, folders[clip.split], names, where=clip.where,
                                 allow_outside=options.allow_outside_root)
        if found is None:
            missing += 1
            result.problems.append(_missing_clip(corpus_dir, folders[clip.split], clip, stems, clips_of_video))
            continue
        result.samples.append(_sample(corpus_dir, clip, found))
    return missing


def _sample(corpus_dir: Path, clip: Clip, path: str) -> Sample:
    """The sample of a clip found at `path`: its `video` where the file is a video container (extractors read
    its audio track for audio), else its `audio`, with the durations the file's header states."""
    is_video = Path(path).suffix.lower() in VIDEO_SUFFIXES
    extra: dict[str, Any] = {CLASS_KEY: clip.label, "youtube_id": clip.youtube_id, "start_seconds": clip.start}
    extra.update(audio_duration_extra(corpus_dir / path))  # a video's audio track: its stream header
    if is_video:
        record_video_span(corpus_dir / path, extra)
    return Sample(sample_id=clip.sample_id, corpus=CORPUS, split=clip.split, group_id=clip.youtube_id,
                  video=path if is_video else None, audio=None if is_video else path, extra=extra)


def _stems(clip: Clip, *, bare_id: bool) -> list[str]:
    """The file names (without suffix) a clip may have, first first: `<id>_<start:06d>`, `<id>_<start>`, and
    the bare `<id>` only where the CSV lists one clip of the video (else such a file could be any of them)."""
    return list(dict.fromkeys([clip.sample_id, f"{clip.youtube_id}_{clip.start}",
                               *([clip.youtube_id] if bare_id else [])]))


def _missing_clip(corpus_dir: Path, folders: MediaFolders, clip: Clip, stems: list[str],
                  clips_of_video: Counter) -> LoadProblem:
    """The problem of a clip no folder holds: the first name looked for (and what is there instead), the
    other names, and why not the bare id where the video has more than one clip."""
    suffixes = VIDEO_SUFFIXES + AUDIO_SUFFIXES
    also = f"{', '.join(stems)} as {'/'.join(suffixes)}"
    if clips_of_video[clip.youtube_id] > 1:
        also += (f"; not as {clip.youtube_id}: the CSV lists {clips_of_video[clip.youtube_id]} clips of that "
                 "video, so a bare id is ambiguous")
    return missing_media_problem(corpus_dir, folders, stems[0] + suffixes[0], clip.sample_id, clip.where,
                                 "clip", also=f"{also} (a video taken down since the release is gone from "
                                 "every copy)")


def _media_folders(corpus_dir: Path, media_dir: str | None, split: str) -> MediaFolders:
    """The folders split `split`'s clips are looked for in: `<parent>/<split>/` of each parent, then the
    parents themselves (one folder of every clip); the parents are option `media_dir`, else those of
    `MEDIA_DIRS` that are there."""
    parents = [given_image_dir(media_dir)] if media_dir is not None else \
        [d for d in MEDIA_DIRS if (corpus_dir / d).is_dir()]
    split_folders = [f"{p}/{split}" if p else split for p in parents]
    return MediaFolders(corpus_dir, [f for f in split_folders if (corpus_dir / f).is_dir()] + parents)


def _require_clips_found(corpus_dir: Path, media_dir: str | None, looked_for: int, found_any: bool) -> None:
    """Refuse a load none of whose `looked_for` clips is found: a wrong folder, not a few videos gone.

    Raises:
        CorpusNotFoundError: naming the folders looked in and `-o media_dir=`.
    """
    if looked_for and not found_any:
        parents = [given_image_dir(media_dir)] if media_dir is not None else \
            [d for d in MEDIA_DIRS if (corpus_dir / d).is_dir()]
        where = ", ".join(f"{p}/" if p else "the root" for p in parents)
        raise CorpusNotFoundError(
            f"none of the {looked_for} VGGSound clips found in {where} of {corpus_dir} (nor their train/ and test/ "
            f"folders), as <youtube_id>_<start:06d> with {'/'.join(VIDEO_SUFFIXES + AUDIO_SUFFIXES)}; "
            "-o media_dir= names the folder holding them")


def _find_csv(corpus_dir: Path, csv_dir: str | None) -> Path:
    """vggsound.csv in option `csv_dir`, else in the first of `CSV_DIRS` holding it.

    Raises:
        CorpusNotFoundError: not there, naming where it was looked for and the option.
    """
    folder = find_csv_dir(corpus_dir, csv_dir, CSV_DIRS, [CSV_NAME])
    path = folder / CSV_NAME
    if not path.is_file():
        looked = f"{folder} (option csv_dir)" if csv_dir is not None else \
            ", ".join(str(corpus_dir / d) if d else str(corpus_dir) for d in CSV_DIRS)
        raise CorpusNotFoundError(f"no VGGSound {CSV_NAME} found in {looked}; -o csv_dir= names the folder "
                                  "holding it (the release's CSV of youtube_id,start_seconds,label,split rows)")
    return path
