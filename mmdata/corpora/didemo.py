"""DiDeMo (Hendricks et al., ICCV 2017, "Localizing Moments in Video with Natural Language"; moment retrieval,
video-paragraph retrieval) as users have it on disk.

The LocalizingMoments release's `data/` holds train_data.json, val_data.json and test_data.json, each a JSON list
of descriptions:
    {"annotation_id": 12345, "description": "the dog jumps into the pool", "video": "<flickr name>.mov",
     "times": [[1, 1], [1, 2], [1, 1], [1, 1]], "dl_link": "...", "num_segments": 6}
`times` holds one [start, end] pair per annotator (about four) of indices of 5-second segments, 0 to 5: [s, e]
covers s*5 .. (e+1)*5 seconds, the last segment cut at the video's length (videos were cut to 30 s for the
annotation; `num_segments` is 5 for one shorter than 25 s). The release's evaluation (utils/eval.py) ranks a
prediction against every annotator's pair and keeps the best three.

Default `-o level=moment`: one sample per description, sample_id `<video>[k]` (the video's k-th description in
file order, train's before val's before test's), group_id the video name, the description stripped as its
caption. Its `start`/`end` are the seconds of the consensus span: the pair the most annotators chose; where
pairs tie, the one overlapping the others most (summed temporal IoU over every annotator's pair, as eval.py
computes it, compared exactly), then the first annotated. `extra` holds every annotator's valid pairs (`times`),
the consensus pair (`segments`) and its vote count (`span_votes`), the `annotation_id`, the `annotation_file` and
the file's `video_duration`; an end cut at the video's length keeps its annotated end as `extra.annotated_end`.

`-o level=video`: one sample per video (the video-paragraph retrieval of CLIP4Clip and its successors):
sample_id = group_id = the video name, its descriptions in file order as its captions (`-o paragraph=join`: as
one caption, joined with single spaces, as CLIP4Clip does), `extra.annotation_ids` and `extra.moments` (each
description's consensus span in seconds, as annotated). A description without a valid pair keeps its caption, as
CLIP4Clip joins every description whatever its times: only its moment is lost (null in `extra.moments`) and
named. Only the first 30 s were described: a longer video's sample spans [0, 30].

The videos are the YFCC100M/Flickr files, in the video folders or their per-split subfolders (`train/`,
`train_videos/`, ...): named as `video` (`x.mov`), as the release's AWS script saves them (`x.mov.mp4`), or
converted (`x.mp4`, `.mkv`, `.webm`). Left out and named in the errors table at `file:line:column: [i]`: an
entry that is no object, without a video name, with a blank description or (level=moment) without one valid
[start, end] pair of segment indices (0 <= start <= end < num_segments) in `times`; a moment whose video no
folder holds or that starts at or after its video's end. A bad pair beside valid ones is named at `[i].times[j]`
and left out of the vote, the description kept.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from mmdata.corpora.base import REPEATED_ENTRY, JsonLocator, LoadProblem, LoadResult, expect, read_json, \
    register_corpus, short_repr, text_problem
from mmdata.corpora.media_captions import MediaFolders, VideoHeaders, check_split, find_csv_dir, first_media_path, \
    folder_list, held_end, listed_again, missing_names_problem, require_captions_files, require_videos_found, \
    shown_path, video_folders
from mmdata.corpora.mosi_raw_media import record_video_span
from mmdata.records import MODALITY_DURATION_KEYS, Sample

CORPUS = "didemo"
#: Split -> its annotation file, in the order read (a video's descriptions are numbered across all three).
ANNOTATION_FILES = {"train": "train_data.json", "val": "val_data.json", "test": "test_data.json"}
#: Where the annotation files sit, relative to the root: the root, the release's `data/`, `annotations/`, a clone.
ANNOTATION_DIRS = ("", "data", "annotations", "LocalizingMoments/data")
#: Split -> the names of its own video folder (`videos/train/` as LAVIS and VINDLU keep them, `train_videos/`).
SPLIT_VIDEO_FOLDERS = {"train": ("train", "train_videos"), "val": ("val", "val_videos"),
                       "test": ("test", "test_videos")}
#: The per-split folders looked for in each video folder (and option video_dir), after the folder itself.
VIDEO_SUBFOLDERS = tuple(name for names in SPLIT_VIDEO_FOLDERS.values() for name in names)
#: The folders the videos are looked for in, relative to the root; each with its per-split subfolders.
VIDEO_BASES = ("videos", "DiDeMo_Videos", "")
#: Every folder looked for, relative to the root, first first (the root itself last).
VIDEO_DIRS = tuple(f"{base}/{sub}".strip("/") for base in VIDEO_BASES for sub in ("", *VIDEO_SUBFOLDERS)
                   if base or sub) + ("",)
#: The suffixes of a video converted from its Flickr original (`x.mov` as `x.mp4`), in the order looked for.
CONVERTED_SUFFIXES = (".mp4", ".mkv", ".webm")
#: The length of one annotation segment, and the most segments a video has (its first 30 s were annotated).
SEGMENT_SECONDS = 5
MAX_SEGMENTS = 6
Level = Literal["moment", "video"]
Paragraph = Literal["separate", "join"]


@dataclass(frozen=True)
class DidemoOptions:
    #: Folder of train_data.json, val_data.json, test_data.json, relative to the root or absolute (default: the
    #: root, else `data/`, `annotations/`, `LocalizingMoments/data/`).
    annotations_dir: str | None = None
    #: Folder of the videos (and of its per-split subfolders), relative to the root or absolute (default: those of
    #: `videos/`, `DiDeMo_Videos/`, the root and their subfolders that are there).
    video_dir: str | None = None
    #: `moment`: a sample per description, timed; `video`: a sample per video, its descriptions as captions.
    level: Level = "moment"
    #: With level=video: `separate` (the default, None) keeps a caption per description; `join` gives one caption,
    #: the descriptions joined with single spaces (CLIP4Clip's paragraph).
    paragraph: Paragraph | None = None
    #: Accept video paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False

    def __post_init__(self) -> None:
        if self.paragraph is not None and self.level != "video":
            raise ValueError(f"option paragraph={self.paragraph} applies to level=video (a sample per video); "
                             "add -o level=video, or leave paragraph out")


@dataclass(frozen=True)
class Description:
    """One usable entry of an annotation file: a description timed by its annotators' segment pairs."""

    sample_id: str
    video: str
    text: str
    #: Every annotator's valid [start, end] segment pair, as annotated.
    times: tuple[tuple[int, int], ...]
    #: The consensus pair of `times` and how many annotators chose it (`consensus`); None (0 votes) for a
    #: description without a valid pair, kept at level=video for its text alone.
    span: tuple[int, int] | None
    votes: int
    annotation_id: Any
    where: Callable[[], str]
    #: The problems of its times (each bad pair left out of the vote, or no valid pair: its moment lost), recorded
    #: when the description is loaded.
    time_problems: tuple[LoadProblem, ...] = ()

    def seconds(self) -> tuple[float, float]:
        """The consensus span in seconds, before it is held to the video's length (a description with a span)."""
        assert self.span is not None, f"{self.sample_id} has no valid pair"
        first, last = self.span
        return float(first * SEGMENT_SECONDS), float((last + 1) * SEGMENT_SECONDS)

    def moment(self) -> list[float] | None:
        """Its entry of `extra.moments` at level=video: the consensus span in seconds, None without a valid pair."""
        return list(self.seconds()) if self.span is not None else None


def consensus(times: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], int]:
    """The pair most annotators chose (ties: the one whose summed IoU with every pair is highest, compared exactly,
    then the first annotated), and how many chose it."""
    votes = Counter(times)
    most = max(votes.values())
    tied = [pair for pair in votes if votes[pair] == most]  # Counter keeps the first-annotated order
    return max(tied, key=lambda pair: sum(segment_iou(pair, other) for other in times)), most  # max keeps the first


@register_corpus(CORPUS, DidemoOptions)
def load_didemo(corpus_dir: Path, options: DidemoOptions, split: str | None) -> LoadResult:
    """DiDeMo (`train_data.json`, `val_data.json`, `test_data.json` + the Flickr videos), a sample per description
    (`-o level=moment`) or per video (`-o level=video`).

    `split`: none or `all` for every split, `train`, `val` or `test`.

    Example:
        >>> result = load_didemo(Path("/data/didemo"), DidemoOptions(), "val")
        >>> s = result.samples[0]; s.sample_id, s.start, s.end, s.captions
        ('13191254@N00_3433006936_6f1b5ea9f4.avi[0]', 0.0, 10.0, ('kids run across the field',))

    Raises:
        CorpusNotFoundError: no annotation file (or not the split's), or none of the videos found.
        CorpusFormatError: invalid JSON or a file that is no list of descriptions, named `file:line:column`.
        ConfigError: an unknown split (or option `paragraph` without level=video, refused as the options are built).
    """
    wanted = check_split(split, tuple(ANNOTATION_FILES), {"validation": "val"}, "DiDeMo")
    folder = find_csv_dir(corpus_dir, options.annotations_dir, ANNOTATION_DIRS, ANNOTATION_FILES.values())
    files = {s: folder / name for s, name in ANNOTATION_FILES.items() if (folder / name).is_file()}
    _require_files(corpus_dir, folder, files, wanted, options.annotations_dir)
    paragraph = {"paragraph": options.paragraph or "separate"} if options.level == "video" else {}
    result = LoadResult(samples=[], metadata={"level": options.level, **paragraph, "annotation_files": {
        shown_path(corpus_dir, path): s for s, path in files.items()}})
    videos = _Videos(corpus_dir, options, video_folders(corpus_dir, options.video_dir, VIDEO_DIRS,
                                                        subfolders=VIDEO_SUBFOLDERS))
    counts: dict[str, int] = {}  # video -> descriptions numbered so far, across the files (unique ids)
    first_split: dict[str, str] = {}  # video -> the split whose file lists it first (level=video)
    for split_name, path in files.items():
        loaded = wanted in (None, split_name)
        descriptions = read_descriptions(path, counts, result.problems if loaded else [],
                                         keep_untimed=options.level == "video")
        if loaded and options.level == "moment":
            for description in descriptions:
                _add_moment(videos, description, split_name, path.name, result)
        elif loaded:
            for video, entries in _by_video(descriptions, split_name, first_split, result.problems).items():
                _add_video(videos, video, entries, split_name, path.name, options.paragraph == "join", result)
        else:
            first_split.update((d.video, split_name) for d in descriptions if d.video not in first_split)
    require_videos_found(
        len(videos.looked_for), videos.found_any, "DiDeMo", corpus_dir,
        f"as named in the JSON, with .mp4 added, or as <name>{'/'.join(CONVERTED_SUFFIXES)}; looked for in "
        f"{folder_list(VIDEO_BASES)} and their per-split subfolders "
        f"{', '.join(f'{s}/' for s in VIDEO_SUBFOLDERS)}", folders=videos.folders,
        note=" or their per-split subfolders")
    return result


def _require_files(corpus_dir: Path, folder: Path, files: dict[str, Path], wanted: str | None,
                   given: str | None) -> None:
    """Refuse a load without the annotation files it needs (`given`: option annotations_dir, else None).

    Raises:
        CorpusNotFoundError: no annotation file in `folder` (with the option's hint where it was not given), or
            none of split `wanted`.
    """
    hint = "" if files or given is not None else \
        "-o annotations_dir= names the folder holding them (the LocalizingMoments release's data/)"
    require_captions_files(corpus_dir, folder, files, corpus="DiDeMo", file_names=ANNOTATION_FILES,
                           folders=ANNOTATION_DIRS, wanted=wanted, option="annotations_dir", hint=hint)


def read_descriptions(path: Path, counts: dict[str, int], problems: list[LoadProblem], *,
                      keep_untimed: bool = False) -> list[Description]:
    """The usable descriptions of one annotation file, in file order; each unusable entry is recorded in
    `problems` at `file:line:column: [i]`. `counts` (video -> descriptions numbered so far) gives each entry
    naming a video its index, a left-out entry included (so the others keep their ids once it is fixed).
    `keep_untimed` (level=video): a description without a valid pair is kept for its text, without a span, the
    problem of its times in its `time_problems`.

    Raises:
        CorpusFormatError: invalid JSON, or a file that is no list, named `file:line:column`.
    """
    data = read_json(path)
    locate = JsonLocator(path)
    expect(isinstance(data, list), locate.where(), "expected a list of descriptions ({annotation_id, description, "
           f"video, times, ...}}, as DiDeMo's train_data.json), got {type(data).__name__}")
    descriptions = []
    for i, entry in enumerate(data):
        description = _read_entry(entry, lambda *steps, i=i: locate.where(i, *steps), counts, problems,
                                  keep_untimed=keep_untimed)
        if description is not None:
            descriptions.append(description)
    return descriptions


def segment_iou(a: tuple[int, int], b: tuple[int, int]) -> Fraction:
    """The temporal IoU of two [start, end] segment pairs (inclusive segment indices), as DiDeMo's eval.py; exact,
    so that sums compare equal where they are (floats made 1/3 + 2/3 + 1 + 1/3 beat 1/2 + 1 + 2/3 + 1/6)."""
    overlap = max(0, min(a[1], b[1]) + 1 - max(a[0], b[0]))
    return Fraction(overlap, max(a[1], b[1]) + 1 - min(a[0], b[0]))


def _read_entry(entry: Any, where: Callable[..., str], counts: dict[str, int], problems: list[LoadProblem], *,
                keep_untimed: bool) -> Description | None:
    """The description of one entry, or None with its problem recorded (`keep_untimed`: one without a valid pair
    is kept without a span, see `_untimed`)."""
    if not isinstance(entry, dict):
        problems.append(LoadProblem(None, where(), f"expected an object with annotation_id, description, video and "
                                    f"times, got {short_repr(entry)}; entry left out"))
        return None
    video = entry.get("video")
    if not isinstance(video, str) or not video.strip():
        problems.append(LoadProblem(None, where("video"), f"expected the video's file name (e.g. "
                                    f"'10015567@N08_3655084291_d8b58466fa.mov'), got {short_repr(video)}; entry "
                                    "left out"))
        return None
    index = counts.get(video, 0)
    counts[video] = index + 1
    sample_id = f"{video}[{index}]"
    times = entry.get("times")
    bad = _bad_pairs(times, entry.get("num_segments")) if isinstance(times, list) else {}
    description_reason = _description_problem(entry.get("description"))
    times_reason = None if description_reason else _times_problem(times, bad)
    if times_reason is not None and keep_untimed:
        return _untimed(entry, sample_id, video, where, times_reason)
    if description_reason or times_reason:
        steps, text = description_reason or times_reason
        problems.append(LoadProblem(sample_id, where(*steps), f"{text}; description left out (the video's other "
                                    "descriptions keep their ids)"))
        return None
    valid = tuple((pair[0], pair[1]) for j, pair in enumerate(times) if j not in bad)
    pair_problems = tuple(LoadProblem(sample_id, where("times", j), f"{text}; pair left out of the vote, the "
                                      "description kept with the other annotators' pairs") for j, text in bad.items())
    span, votes = consensus(valid)
    return Description(sample_id, video, entry["description"].strip(), valid, span, votes, entry.get("annotation_id"),
                       where, pair_problems)


def _untimed(entry: dict, sample_id: str, video: str, where: Callable[..., str],
             reason: tuple[tuple[str | int, ...], str]) -> Description:
    """A description without a valid pair, kept at level=video for its text (CLIP4Clip joins every description,
    whatever its times): no span, its moment's loss its one time problem."""
    steps, text = reason
    problem = LoadProblem(sample_id, where(*steps), f"{text}; its moment left out (null in extra.moments), the "
                          "description kept in its video's captions")
    return Description(sample_id, video, entry["description"].strip(), (), None, 0, entry.get("annotation_id"),
                       where, (problem,))


def _description_problem(text: Any) -> tuple[tuple[str, ...], str] | None:
    """Why a `description` is unusable (with the steps to it), else None."""
    problem = text_problem(text, "a description", allow_empty=True)
    if problem is None and not text.strip():
        problem = "blank description"
    return (("description",), problem) if problem else None


def _times_problem(times: Any, bad: dict[int, str]) -> tuple[tuple[str | int, ...], str] | None:
    """Why `times` give no usable pair (with the steps to it: the first bad pair where all are bad), else None."""
    if not isinstance(times, list) or not times:
        return ("times",), (f"expected 'times' as a non-empty list of [start, end] segment pairs, one per "
                            f"annotator, got {short_repr(times)}")
    if len(bad) < len(times):
        return None
    first = next(iter(bad))
    none_valid = f"; none of the {len(times)} annotators' pairs is valid" if len(times) > 1 else ""
    return ("times", first), bad[first] + none_valid


def _bad_pairs(times: list[Any], num_segments: Any) -> dict[int, str]:
    """Annotator index -> why its pair is no [start, end] of segment indices within `num_segments` (6 where that
    is missing or no count from 1 to 6), for each bad pair in `times`."""
    count = num_segments if _is_index(num_segments) and 0 < num_segments <= MAX_SEGMENTS else MAX_SEGMENTS
    shown = f" (num_segments {num_segments})" if count != MAX_SEGMENTS else ""
    expected = f"expected [start, end] segment indices with 0 <= start <= end <= {count - 1}{shown}"
    return {j: f"annotator {j}'s pair is {short_repr(pair)}; {expected}" for j, pair in enumerate(times)
            if not (isinstance(pair, list) and len(pair) == 2 and all(_is_index(v) for v in pair)
                    and 0 <= pair[0] <= pair[1] < count)}


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Videos:
    """Finds each video's file once (its header read once, for its length) and records whether any was found."""

    def __init__(self, corpus_dir: Path, options: DidemoOptions, folders: MediaFolders):
        self.corpus_dir, self.options, self.folders = corpus_dir, options, folders
        self.headers = VideoHeaders(record_video_span)
        self._found: dict[str, str | None] = {}  # video -> its path (None: not found), looked up once
        self.found_any = False

    @property
    def looked_for(self) -> set[str]:
        return set(self._found)

    def find(self, video: str, where: Callable[[], str]) -> tuple[str | None, dict[str, float]]:
        """The video's path relative to the root (None: no folder holds it) and its header values."""
        if video not in self._found:
            self._found[video] = first_media_path(self.corpus_dir, self.folders, video_names(video), where=where,
                                                  allow_outside=self.options.allow_outside_root)
            self.found_any |= self._found[video] is not None
        path = self._found[video]
        return (path, self.headers.span(self.corpus_dir / path)) if path is not None else (None, {})

    def missing(self, video: str, sample_id: str, where: str, left_out: str) -> LoadProblem:
        return missing_names_problem(self.corpus_dir, self.folders, video_names(video), sample_id, where, "video",
                                     left_out=left_out)


def video_names(video: str) -> list[str]:
    """The file names a DiDeMo video may have, in the order looked for: as the JSON names it, as the release's
    AWS script saves it (`.mp4` added), then converted (its suffix swapped for `CONVERTED_SUFFIXES`)."""
    stem = PurePosixPath(video).stem if PurePosixPath(video).suffix else video
    return list(dict.fromkeys([video, f"{video}.mp4", *(stem + suffix for suffix in CONVERTED_SUFFIXES)]))


def _add_moment(videos: _Videos, description: Description, split: str, file_name: str, result: LoadResult) -> None:
    """The description's sample, its end held to the video's length; or its problem: no video file, or a start
    at or after the video's end. The description's bad pairs are recorded under its id."""
    result.problems += description.time_problems
    path, span = videos.find(description.video, description.where)
    if path is None:
        result.problems.append(videos.missing(description.video, description.sample_id, description.where(),
                                              "moment"))
        return
    start, annotated_end = description.seconds()
    extra = {"annotation_file": file_name, "times": [list(t) for t in description.times],
             "segments": list(description.span), "span_votes": description.votes, **_annotation_id(description),
             **span}
    end = held_end(extra, start, annotated_end, span.get(MODALITY_DURATION_KEYS["video"]),
                   sample_id=description.sample_id, where=description.where, part="moment", length_name="length",
                   source=f", from {path}'s header", left_out="description")
    if isinstance(end, LoadProblem):
        result.problems.append(end)
        return
    result.samples.append(Sample(sample_id=description.sample_id, corpus=CORPUS, split=split,
                                 group_id=description.video, video=path, start=start, end=end,
                                 captions=(description.text,), extra=extra))


def _annotation_id(description: Description) -> dict[str, Any]:
    return {"annotation_id": description.annotation_id} if description.annotation_id is not None else {}


def _by_video(descriptions: list[Description], split: str, first_split: dict[str, str],
              problems: list[LoadProblem]) -> dict[str, list[Description]]:
    """The descriptions of each video a file lists, in file order; those of a video an earlier file lists (another
    split, a leak: the video's sample is that split's) are recorded as repeats and left out, the problems of their
    times under the id of the video's sample."""
    grouped: dict[str, list[Description]] = {}
    for description in descriptions:
        earlier = first_split.setdefault(description.video, split)
        if earlier != split:
            problems += [replace(p, sample_id=description.video) for p in description.time_problems]
            problems.append(LoadProblem(description.sample_id, description.where(), (
                f"video {description.video!r} is listed {listed_again(earlier, split)}; description "
                f"left out (-o level=video gives the video one sample, in split {earlier!r})"), REPEATED_ENTRY))
        else:
            grouped.setdefault(description.video, []).append(description)
    return grouped


def _add_video(videos: _Videos, video: str, entries: list[Description], split: str, file_name: str, join: bool,
               result: LoadResult) -> None:
    """The sample of one video with its descriptions as captions (`join`: as one, joined with single spaces); or,
    without its file, a problem per description. Its descriptions' time problems (a bad pair, a moment lost: null
    in `extra.moments`) are recorded under the video's id."""
    result.problems += [replace(p, sample_id=video) for d in entries for p in d.time_problems]
    path, span = videos.find(video, entries[0].where)
    if path is None:
        result.problems += [videos.missing(video, d.sample_id, d.where(), "description") for d in entries]
        return
    length = span.get(MODALITY_DURATION_KEYS["video"])
    annotated = float(MAX_SEGMENTS * SEGMENT_SECONDS)
    start, end = (0.0, annotated) if length is not None and length > annotated else (None, None)
    moments = [d.moment() for d in entries]
    ids = [d.annotation_id for d in entries]
    extra = {"annotation_file": file_name, "moments": moments, **span,
             **({"annotation_ids": ids} if any(i is not None for i in ids) else {})}
    texts = tuple(d.text for d in entries)
    result.samples.append(Sample(sample_id=video, corpus=CORPUS, split=split, group_id=video, video=path,
                                 start=start, end=end, captions=(" ".join(texts),) if join else texts, extra=extra))
