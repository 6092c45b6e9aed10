"""AudioSet (Gemmeke et al., ICASSP 2017; multi-label sound event classification) as Google releases it.

The release is three segment lists and the class table; the sound is not in it:
    balanced_train_segments.csv    22,160 segments  (the AS-20K training set)
    unbalanced_train_segments.csv  2,041,789 segments (with the balanced one, AS-2M)
    eval_segments.csv              20,371 segments  (the evaluation set every paper reports on)
    class_labels_indices.csv       index,mid,display_name: the 527 classes in the order of PANNs' 527 outputs
A segments file opens with three lines starting with `#` (its creation time, its counts, the column names), then
one 10 s segment of a YouTube video per row, its labels a quoted list of MIDs:
    --PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"
Google states the three sets disjoint and each set's segments from distinct videos.

Each copy downloads the sound (or the video) from YouTube and names a segment's file its own way: PANNs'
(audioset_tagging_cnn) `audios/balanced_train_segments/Y--PJHxphWEs.wav` (the unbalanced set in
`audios/unbalanced_train_segments/unbalanced_train_segments_part00/` and on), Hugging Face's agkphysics/AudioSet
`audio/bal_train/--PJHxphWEs.flac` (extracted from its tar files), audiosetdl
`data/balanced_train_segments/audio/--PJHxphWEs_30000_40000.flac` and `.../video/...mp4` (milliseconds,
`int(seconds * 1000)`), VGGSound-style tools `--PJHxphWEs_000030`, AudioCaps-style ones `--PJHxphWEs_30`.

One sample per segment: sample_id `<youtube_id>_<start in ms>` (`--PJHxphWEs_30000`: the clip id of Google's own
strong-label release), group_id the YouTube id; split `train` for the balanced and unbalanced sets, `test` for
eval. `extra.labels` holds the classes' display names (the list `mmdata fuse --class-label labels` turns into
multi-hot `class_targets`; `--classes class_labels_indices.csv` orders them as the release's index column),
`extra.mids` the MIDs, with `youtube_id`, `start_seconds`, `end_seconds`, `subset` and the durations the file's
header states. Segments whose sound no folder holds (videos taken down since 2017: every copy lacks many) and rows
that cannot be read are left out, each named `file:line` in the errors table; the missing count is logged and kept.
"""
from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdata.corpora.base import (
    LoadProblem,
    LoadResult,
    given_image_dir,
    read_csv_rows,
    read_text,
    register_corpus,
    safe_relative_path,
    seconds_or_none,
)
from mmdata.corpora.media_captions import (
    MediaFolders,
    check_split,
    find_csv_dir,
    first_listings,
    folder_list,
    media_pair,
    read_media_headers,
    regular_file_names,
    repeated_entry_problem,
    require_videos_found,
    shown_path,
)
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

log = logging.getLogger(__name__)

CORPUS = "audioset"
SPLITS = ("train", "test")
#: The release's segment sets, each with the split its segments go to (eval is the test set of every paper).
SUBSET_SPLIT = {"balanced_train": "train", "unbalanced_train": "train", "eval": "test"}
#: The AS-20K setup most papers train and test on; add `unbalanced_train` for AS-2M.
DEFAULT_SUBSETS = ("balanced_train", "eval")
SEGMENTS_FILE = "{}_segments.csv"
CLASS_LABELS_FILE = "class_labels_indices.csv"
CLASS_COLUMNS = ("index", "mid", "display_name")
COLUMNS = ("YTID", "start_seconds", "end_seconds", "positive_labels")
#: Where the CSVs sit, relative to the root, first first ("" is the root itself): PANNs' `metadata/`, others.
CSV_DIRS = ("", "metadata", "meta", "csv", "data", "annotations")
#: Folders holding the subsets' folders (or the segments themselves), relative to the root, first first.
MEDIA_DIRS = ("audios", "audio", "data", "videos", "video", "")
#: The names a subset's folder has in the copies: the release's file stem (PANNs, audiosetdl), the subset's
#: name, Hugging Face's agkphysics/AudioSet's.
SUBSET_FOLDERS = {"balanced_train": ("balanced_train_segments", "balanced_train", "bal_train"),
                  "unbalanced_train": ("unbalanced_train_segments", "unbalanced_train", "unbal_train"),
                  "eval": ("eval_segments", "eval")}
#: audiosetdl's folders of a set's sound and video (`data/<set>_segments/audio/`, `.../video/`).
TOOL_SUBFOLDERS = ("audio", "video")
VIDEO_SUFFIXES = (".mp4",)
#: Sound suffixes, first first: PANNs writes WAV, Hugging Face and audiosetdl FLAC, download tools MP3, M4A (AAC)
#: or Ogg.
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".ogg")
SUFFIXES = VIDEO_SUFFIXES + AUDIO_SUFFIXES
SUFFIX_RANK = {suffix: rank for rank, suffix in enumerate(SUFFIXES)}
SUFFIXES_SHOWN = f"{{{','.join(s.lstrip('.') for s in SUFFIXES)}}}"  # as messages name them: {mp4,wav,...}
#: A row as the release writes it (`--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"`), read without the csv
#: module (2M rows in the unbalanced set); a row of another shape goes to csv, which names what is wrong.
RELEASE_ROW = re.compile(r'\s*([^\s,"/]+),\s*(\d+(?:\.\d+)?),\s*(\d+(?:\.\d+)?),\s*"([^"]*)"\s*')
#: A run of white space: one space to the csv module, which skips spaces alone after a comma.
WHITE_SPACE = re.compile(r"\s+")
#: Where Google serves the class table (Hugging Face's copies hold none).
CLASS_LABELS_URL = "http://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv/class_labels_indices.csv"


@dataclass(frozen=True)
class AudioSetOptions:
    #: The segment sets read, joined by `+`: `balanced_train`, `unbalanced_train`, `eval` (default the AS-20K
    #: setup, balanced_train+eval; balanced_train+unbalanced_train+eval for AS-2M).
    subsets: tuple[str, ...] = DEFAULT_SUBSETS
    #: Folder of the segments CSVs, relative to the root or absolute (default: the first of the root,
    #: `metadata/`, `meta/`, `csv/`, `data/`, `annotations/` holding a segments file of the sets read).
    csv_dir: str | None = None
    #: The class table, relative to the root or absolute (default: class_labels_indices.csv beside the segments,
    #: else in the first other of those folders holding it).
    class_labels_file: str | None = None
    #: Folder of the subsets' folders (or of every segment), relative to the root or absolute (default: those of
    #: `audios/`, `audio/`, `data/`, `videos/`, `video/` and the root that are there).
    media_dir: str | None = None
    #: Accept media paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False

    def __post_init__(self) -> None:
        unknown = [s for s in self.subsets if s not in SUBSET_SPLIT]
        if unknown or not self.subsets or len(set(self.subsets)) < len(self.subsets):
            raise ValueError(f"option subsets={'+'.join(self.subsets)!r}: expected some of {list(SUBSET_SPLIT)} "
                             "each once, joined by '+' (e.g. balanced_train+eval, the AS-20K setup)")


@dataclass(frozen=True, slots=True)
class Segment:
    """One readable row of a segments file, its labels known classes (slots and a line number, not `file:line`
    text: the unbalanced set has 2M rows)."""

    youtube_id: str
    start: float
    end: float
    mids: tuple[str, ...]
    subset: str
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def sample_id(self) -> str:
        return f"{self.youtube_id}_{round(self.start * 1000)}"

    @property
    def split(self) -> str:
        return SUBSET_SPLIT[self.subset]


@dataclass(frozen=True)
class SubsetMedia:
    """The media files of one subset's folders, listed once and indexed by file stem: `video` and `audio` map a
    stem to the code (`folder index * len(SUFFIXES) + suffix index`) of its file in the first folder holding
    one, with the first suffix there, so a segment costs a few dict lookups, not its names times the folders (44
    in PANNs' unbalanced set). `folders` lists the set's own folders before the parents, so a segment's file in
    its set's folder wins over one under any name in a parent (a stray `<id>.wav` in the root)."""

    folders: list[str]
    shown: str
    video: dict[str, int]
    audio: dict[str, int]

    def path(self, stem: str, code: int) -> str:
        """The path (relative to the root, or absolute under an absolute media_dir) of an indexed file."""
        folder, suffix = divmod(code, len(SUFFIXES))
        name = stem + SUFFIXES[suffix]
        return f"{self.folders[folder]}/{name}" if self.folders[folder] else name


@register_corpus(CORPUS, AudioSetOptions)
def load_audioset(corpus_dir: Path, options: AudioSetOptions, split: str | None) -> LoadResult:
    """AudioSet (`*_segments.csv` + `class_labels_indices.csv` + the 10 s clips), a sample per segment with its
    classes.

    `split`: none or `all` for every subset of option subsets; `train` (balanced_train, unbalanced_train) or
    `test` (eval).

    Example:
        >>> result = load_audioset(Path("/data/audioset"), AudioSetOptions(), "train")
        >>> s = result.samples[0]; s.sample_id, s.audio, s.extra["labels"]
        ('--PJHxphWEs_30000', 'audios/balanced_train_segments/Y--PJHxphWEs.wav', ['Speech', 'Gush'])

    Raises:
        CorpusNotFoundError: a segments file of a subset loaded, or the class table, not found (naming where it
            was looked for and the option), or none of the segments loaded found (a wrong folder).
        CorpusFormatError: a file that is not UTF-8, or a class table of bad rows, named `file:line`.
        ConfigError: an unknown split, or a split none of option subsets goes to.
    """
    wanted = check_split(split, SPLITS, {"eval": "test", "evaluation": "test"}, "AudioSet")
    subsets = _subsets_loaded(options.subsets, wanted)
    csv_dir = _csv_dir(corpus_dir, options.csv_dir, subsets)
    files = {subset: _segments_file(corpus_dir, csv_dir, subset, options) for subset in subsets}
    classes_path = _class_labels_path(corpus_dir, csv_dir, options)
    classes = read_class_labels(classes_path)
    result = LoadResult(samples=[])
    listed = [seg for subset, path in files.items() for seg in read_segments(path, subset, classes, result.problems)]
    segments = first_listings(listed, result.problems, "segment")
    media = _subset_media(corpus_dir, options.media_dir, subsets)
    missing = _add_samples(corpus_dir, options, segments, media, classes, result)
    every = MediaFolders(corpus_dir, list(dict.fromkeys(f for m in media.values() for f in m.folders)))
    require_videos_found(len(segments), bool(result.samples), "AudioSet", corpus_dir,
                         f"as Y<youtube_id>, <youtube_id> or <youtube_id>_<start> with {'/'.join(SUFFIXES)}",
                         folders=every, what="segments", option="media_dir")
    if missing:
        log.warning("%d of %d AudioSet segments not found (videos taken down since the release); each is named in "
                    "the errors table; looked in %s", missing, len(segments),
                    "; ".join(f"{s}: {m.shown}" for s, m in media.items()))
    result.metadata = {"segments_files": {s: shown_path(corpus_dir, p) for s, p in files.items()},
                       "class_labels_file": shown_path(corpus_dir, classes_path), "subsets": list(subsets),
                       "media_folders": {s: m.shown for s, m in media.items()},
                       "segments_listed": len(segments), "segments_missing": missing}
    return result


def _subsets_loaded(subsets: tuple[str, ...], wanted: str | None) -> list[str]:
    """The subsets of option subsets whose split is `wanted` (None: all of them).

    Raises:
        ConfigError: none of them goes to `wanted`.
    """
    loaded = [s for s in subsets if wanted in (None, SUBSET_SPLIT[s])]
    if not loaded:
        goes = [s for s, split in SUBSET_SPLIT.items() if split == wanted]
        raise ConfigError(f"split {wanted!r} asked, but -o subsets={'+'.join(subsets)} reads none of its sets "
                          f"({', '.join(goes)}); add one to subsets, or pass another --split")
    return loaded


def _csv_dir(corpus_dir: Path, csv_dir: str | None, subsets: list[str]) -> Path:
    """Option csv_dir, else the first of `CSV_DIRS` holding a segments file of `subsets`, else the root. Chosen by
    the segments files alone: a class table in the root beside `metadata/*_segments.csv` picks `metadata/`."""
    return find_csv_dir(corpus_dir, csv_dir, CSV_DIRS, [SEGMENTS_FILE.format(s) for s in subsets])


def _looked_in(corpus_dir: Path, csv_dir: Path, given: bool) -> str:
    """Where the CSVs were looked for, as refusals name it."""
    if given:
        return f"{csv_dir} (option csv_dir)"
    return ", ".join(f"{corpus_dir / d}/" if d else str(corpus_dir) for d in CSV_DIRS)


def _segments_file(corpus_dir: Path, csv_dir: Path, subset: str, options: AudioSetOptions) -> Path:
    """The segments file of `subset` in `csv_dir`.

    Raises:
        CorpusNotFoundError: not there, naming where it was looked for and the options to set.
    """
    path = csv_dir / SEGMENTS_FILE.format(subset)
    if not path.is_file():
        raise CorpusNotFoundError(
            f"no AudioSet {path.name} found in {_looked_in(corpus_dir, csv_dir, options.csv_dir is not None)}; "
            f"-o csv_dir= names the folder holding the segments CSVs, -o subsets= the sets read (now "
            f"{'+'.join(options.subsets)}; e.g. -o subsets=balanced_train for a copy without eval)")
    return path


def _class_labels_path(corpus_dir: Path, csv_dir: Path, options: AudioSetOptions) -> Path:
    """Option class_labels_file, else class_labels_indices.csv beside the segments files, else in the first other
    folder of `CSV_DIRS` holding it (a copy keeping the segments in `metadata/` and the table in the root).

    Raises:
        CorpusNotFoundError: not there, naming where it was looked for and the option.
    """
    if options.class_labels_file:
        looked = [corpus_dir / options.class_labels_file]
    else:
        looked = list(dict.fromkeys([csv_dir / CLASS_LABELS_FILE, *(corpus_dir / d / CLASS_LABELS_FILE
                                                                     for d in CSV_DIRS)]))
    found = next((path for path in looked if path.is_file()), None)
    if found is None:
        raise CorpusNotFoundError(
            f"no AudioSet class table: {' nor '.join(map(str, looked))} is a file; -o class_labels_file= names it "
            f"(the release's {CLASS_LABELS_FILE}: index,mid,display_name rows, which name the segments' MIDs; "
            f"Google's is at {CLASS_LABELS_URL})")
    return found


def read_class_labels(path: Path) -> dict[str, str]:
    """MID -> display name from class_labels_indices.csv (`0,/m/09x0r,"Speech"`).

    Raises:
        CorpusFormatError: a header without index, mid and display_name, an empty MID or name, or a MID listed
            again, named `file:line`.
    """
    header, rows = read_csv_rows(path)
    missing = [c for c in CLASS_COLUMNS if c not in header]
    if missing:
        raise CorpusFormatError(f"{path}:1: header {','.join(header)[:120]!r} lacks {', '.join(missing)}; expected "
                                f"{','.join(CLASS_COLUMNS)} (AudioSet's {CLASS_LABELS_FILE})")
    names: dict[str, str] = {}
    first_at: dict[str, int] = {}
    for line, row in rows:
        mid, name = row["mid"], row["display_name"]
        if not mid or not name:
            raise CorpusFormatError(f"{path}:{line}: empty {'mid' if not mid else 'display_name'}; expected "
                                    f"{','.join(CLASS_COLUMNS)} values (e.g. 0,/m/09x0r,\"Speech\")")
        if mid in first_at:
            raise CorpusFormatError(f"{path}:{line}: MID {mid} is listed again (first at line {first_at[mid]}); "
                                    "expected each class once")
        first_at[mid] = line
        names[mid] = name
    return names


def read_segments(path: Path, subset: str, classes: dict[str, str], problems: list[LoadProblem]) -> list[Segment]:
    """The readable rows of one segments file in file order; a `#` line is a comment (the release's three header
    lines). A row that is no segment, or names a video an earlier row of the file names, is named in `problems`
    (`file:line`) and left out.

    Raises:
        CorpusFormatError: the file is not UTF-8, named `file:line`.
    """
    segments: list[Segment] = []
    line_of_video: dict[str, int] = {}
    labels_read: dict[str, tuple[str, ...] | str] = {}  # a label list's MIDs (one tuple shared), or its problem
    name = str(path)  # once: a Path formats itself anew each time (2M rows in the unbalanced set)
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        stripped = line.lstrip()
        if not stripped or stripped[0] == "#":
            continue
        segment = _row_segment(line, subset, classes, name, number, labels_read, problems)
        if segment is None:
            continue
        first = line_of_video.setdefault(segment.youtube_id, number)
        if first != number:
            problems.append(repeated_entry_problem(segment.sample_id, segment.where,
                                                   f"YouTube video {segment.youtube_id}", "again in this file",
                                                   f"{name}:{first}", "row"))
            continue
        segments.append(segment)
    return segments


def _row_segment(line: str, subset: str, classes: dict[str, str], file: str, number: int,
                 labels_read: dict[str, tuple[str, ...] | str], problems: list[LoadProblem]) -> Segment | None:
    """The segment a row names (`YTID, start, end, "mid,mid"`: spaces after the commas as the release writes),
    or None with its problem recorded at `file:number`."""
    fields = _row_fields(line)
    if isinstance(fields, str):
        problems.append(LoadProblem(None, f"{file}:{number}", f"{fields}; row left out"))
        return None
    youtube_id, start_text, end_text, labels = fields
    start, end = seconds_or_none(start_text), seconds_or_none(end_text)
    mids = labels_read.get(labels)
    if mids is None:
        mids = labels_read[labels] = _mids(labels, classes)
    reason = _row_reason(youtube_id, start_text, start, end_text, end)
    reason = reason if reason is not None or not isinstance(mids, str) else mids
    if reason is not None or start is None or end is None or isinstance(mids, str):
        problems.append(LoadProblem(youtube_id or None, f"{file}:{number}", f"{reason}; row left out"))
        return None
    return Segment(youtube_id, start, end, mids, subset, file, number)


def _row_fields(line: str) -> tuple[str, ...] | str:
    """A row's four fields, stripped: by `RELEASE_ROW` where the row is as the release writes it, else by the csv
    module (quotes as a spreadsheet writes them: a quoted id, no space after the commas), reading what
    `RELEASE_ROW` reads from the same row unquoted; or why the row has not four."""
    match = RELEASE_ROW.fullmatch(line)
    if match is not None:
        return match.groups()
    try:
        values = next(csv.reader([_single_spaced(line)], skipinitialspace=True, strict=True))
    except csv.Error as e:
        return f"{e}; expected {', '.join(COLUMNS)}"
    if len(values) != len(COLUMNS):
        return (f"expected {len(COLUMNS)} fields ({', '.join(COLUMNS)}), got {len(values)}: {line[:120]!r} (the "
                "labels must be one quoted field)")
    return tuple(v.strip() for v in values)


def _single_spaced(line: str) -> str:
    """`line` stripped, each run of white space one space: csv's skipinitialspace skips spaces alone, so a tab
    before `"/m/a,/m/b"` would keep its quotes and split the labels, and a space after the last closing quote is
    a csv error. No field of a segment holds white space of its own (ids, times, MIDs)."""
    return WHITE_SPACE.sub(" ", line.strip())


def _row_reason(youtube_id: str, start_text: str, start: float | None, end_text: str,
                end: float | None) -> str | None:
    """Why a row's id and times name no segment, or None."""
    if not youtube_id or "/" in youtube_id:
        return f"YTID {youtube_id!r} is {'empty' if not youtube_id else 'no YouTube id (holds a /)'}"
    if start is None or end is None:
        name, text = ("start_seconds", start_text) if start is None else ("end_seconds", end_text)
        return f"{name} {text!r} is not a number of seconds (expected e.g. 30.000)"
    if start >= end:
        return f"start_seconds {start_text} is not before end_seconds {end_text}"
    return None


def _mids(labels: str, classes: dict[str, str]) -> tuple[str, ...] | str:
    """The MIDs of a row's label field (`/m/09x0r,/t/dd00088`), or why they name no known classes."""
    mids = tuple(m.strip() for m in labels.split(","))
    if not any(mids):
        return "no label; expected a quoted list of MIDs (\"/m/09x0r,/t/dd00088\")"
    if not all(mids):
        return f"an empty MID in {','.join(mids)!r}; expected MIDs separated by commas"
    unknown = [m for m in mids if m not in classes]
    if unknown:
        return f"MID {unknown[0]} is not in {CLASS_LABELS_FILE} ({len(unknown)} unknown in this row)"
    return mids


def _add_samples(corpus_dir: Path, options: AudioSetOptions, segments: list[Segment],
                 media: dict[str, SubsetMedia], classes: dict[str, str], result: LoadResult) -> int:
    """A sample per segment whose video or sound is found among its subset's `media`; one with neither is named
    at its row. Every segment's files are found first (index lookups), then their headers are read together
    (`read_media_headers`: on threads where a segment has a video), then the samples are made in the segments'
    order. Returns how many were not found."""
    per_video = Counter(segment.youtube_id for segment in segments)
    located = [(segment, *_segment_files(corpus_dir, options, segment, media[segment.subset],
                                         bare_id=per_video[segment.youtube_id] == 1)) for segment in segments]
    headers = iter(read_media_headers([media_pair(corpus_dir, video, audio) for _, _, video, audio in located
                                       if video is not None or audio is not None]))
    missing = 0
    for segment, stems, video, audio in located:
        if video is None and audio is None:
            missing += 1
            result.problems.append(_missing_problem(media[segment.subset], stems, segment))
            continue
        result.samples.append(_sample(segment, video, audio, classes, next(headers)))
    return missing


def _segment_files(corpus_dir: Path, options: AudioSetOptions, segment: Segment, files: SubsetMedia, *,
                   bare_id: bool) -> tuple[list[str], str | None, str | None]:
    """The file stems a segment is looked for by (`bare_id`: its `Y<id>` and `<id>` too), and its video and sound
    file among its subset's `files`, each None where not found.

    Raises:
        CorpusFormatError: a file found leads outside the root without `allow_outside_root`, named at its row.
    """
    stems = _stems(segment, bare_id=bare_id)
    video, audio = (_first_indexed(corpus_dir, files, index, stems, segment, options.allow_outside_root)
                    for index in (files.video, files.audio))
    return stems, video, audio


def _first_indexed(corpus_dir: Path, media: SubsetMedia, index: dict[str, int], stems: list[str],
                   segment: Segment, allow_outside: bool) -> str | None:
    """The checked path (`safe_relative_path`: no link out of the root) of the segment's file in `index`, or
    None: the first folder holding one of `stems`, then the first of `stems` there, then (the index's) the first
    suffix."""
    found = [(index[stem] // len(SUFFIXES), order, stem) for order, stem in enumerate(stems) if stem in index]
    if not found:
        return None
    stem = min(found)[2]
    return safe_relative_path(corpus_dir, media.path(stem, index[stem]), where=lambda: segment.where,
                              allow_outside=allow_outside)


def _missing_problem(media: SubsetMedia, stems: list[str], segment: Segment) -> LoadProblem:
    """The problem of a segment no folder of its subset holds a file of, naming the names and (in short) the
    folders looked in."""
    also = ", ".join(_every_suffix(stem) for stem in stems[1:])
    return LoadProblem(segment.sample_id, segment.where,
                       f"segment file {_every_suffix(stems[0])} not found in {media.shown}; also looked for {also} "
                       "(a video taken down since the release is gone from every copy); segment left out")


def _sample(segment: Segment, video: str | None, audio: str | None, classes: dict[str, str],
            header: dict[str, float]) -> Sample:
    """The sample of a segment with its class names and MIDs, and the durations its files' `header` states
    (`media_files_extra`: the sound file's, else the MP4's audio stream's, then the MP4's span)."""
    extra: dict[str, Any] = {"labels": [classes[m] for m in segment.mids], "mids": list(segment.mids),
                             "youtube_id": segment.youtube_id, "start_seconds": segment.start,
                             "end_seconds": segment.end, "subset": segment.subset}
    extra.update(header)
    return Sample(sample_id=segment.sample_id, corpus=CORPUS, split=segment.split, group_id=segment.youtube_id,
                  video=video, audio=audio, extra=extra)


def _stems(segment: Segment, *, bare_id: bool) -> list[str]:
    """The file names (without suffix) a segment may have, first first: those carrying its start (the sample id,
    audiosetdl's `<id>_<start ms>_<end ms>` rounded and as audiosetdl spells it, `int(seconds * 1000)`: 32.300 s
    is `32299`; `<id>_<start:06d>`, `<id>_<start>`), then PANNs' `Y<id>` and the bare `<id>`, only where the
    files read list one segment of the video (else such a file could be either)."""
    youtube_id = segment.youtube_id
    rounded = f"{youtube_id}_{round(segment.start * 1000)}_{round(segment.end * 1000)}"
    truncated = f"{youtube_id}_{int(segment.start * 1000)}_{int(segment.end * 1000)}"
    start = int(segment.start) if segment.start.is_integer() else segment.start
    padded = [f"{youtube_id}_{start:06d}"] if isinstance(start, int) else []
    bare = [f"Y{youtube_id}", youtube_id] if bare_id else []
    return list(dict.fromkeys([segment.sample_id, rounded, truncated, *padded, f"{youtube_id}_{start}", *bare]))


def _every_suffix(stem: str) -> str:
    """`stem` with each suffix looked for, as messages name it: `Yx.{mp4,wav,flac,mp3,m4a,ogg}`."""
    return f"{stem}.{SUFFIXES_SHOWN}"


def _subset_media(corpus_dir: Path, media_dir: str | None, subsets: list[str]) -> dict[str, SubsetMedia]:
    """Each subset's media, indexed once: its folders (`_subset_folders`), then the parents themselves (option
    media_dir, else those of `MEDIA_DIRS` that are there). Subsets searching the same folders (no set folders:
    every clip in the parents) share one index, and every folder is listed once."""
    parents = [given_image_dir(media_dir)] if media_dir is not None else \
        [d for d in MEDIA_DIRS if (corpus_dir / d).is_dir()]
    listings: dict[str, list[str]] = {}
    indexes: dict[tuple[str, ...], SubsetMedia] = {}
    media: dict[str, SubsetMedia] = {}
    for subset in subsets:
        own, shown = _subset_folders(corpus_dir, parents, subset)
        folders = tuple(own + parents)
        if folders not in indexes:
            video, audio = _index_files(corpus_dir, folders, listings)
            shown_parents = [folder_list(parents)] if parents else []
            indexes[folders] = SubsetMedia(list(folders), ", ".join([*shown, *shown_parents]) or "no folder",
                                           video, audio)
        media[subset] = indexes[folders]
    return media


def _index_files(corpus_dir: Path, folders: tuple[str, ...],
                 listings: dict[str, list[str]]) -> tuple[dict[str, int], dict[str, int]]:
    """Stem -> code (`SubsetMedia`) of the video and the sound files of `folders`: per stem the first folder
    holding it, then the first suffix of `SUFFIXES` there."""
    video: dict[str, int] = {}
    audio: dict[str, int] = {}
    for number, folder in enumerate(folders):
        if folder not in listings:
            listings[folder] = regular_file_names(corpus_dir / folder)
        for name in listings[folder]:
            stem, dot, suffix = name.rpartition(".")
            rank = SUFFIX_RANK.get(dot + suffix)
            if rank is None or not stem:
                continue
            index = video if rank < len(VIDEO_SUFFIXES) else audio
            code = number * len(SUFFIXES) + rank  # folder first, then suffix: the smaller code wins
            if code < index.get(stem, code + 1):
                index[stem] = code
    return video, audio


def _subset_folders(corpus_dir: Path, parents: list[str], subset: str) -> tuple[list[str], list[str]]:
    """The folders of `subset` under `parents` that are there, each followed by its `audio/` and `video/`
    (audiosetdl) and its `<name>_part*` folders (PANNs' unbalanced set); and the same as messages name them, the
    part folders in short (`audios/unbalanced_train_segments/ and its 41 _partNN folders`)."""
    found: list[str] = []
    shown: list[str] = []
    for parent in parents:
        for name in SUBSET_FOLDERS[subset]:
            folder = f"{parent}/{name}" if parent else name
            if not (corpus_dir / folder).is_dir():
                continue
            tools = [f"{folder}/{sub}" for sub in TOOL_SUBFOLDERS if (corpus_dir / folder / sub).is_dir()]
            parts = sorted(f"{folder}/{p.name}" for p in (corpus_dir / folder).glob(f"{name}_part*") if p.is_dir())
            found += [folder, *tools, *parts]
            shown += [folder_list([folder, *tools])]
            if parts:
                shown[-1] += f" and its {len(parts)} {name}_partNN folders"
    return found, shown
