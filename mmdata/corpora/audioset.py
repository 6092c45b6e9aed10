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

Option strong reads Google's temporally-strong labels instead (`audioset_strong.py`): a sample per clip of
audioset_train_strong.tsv (train) and audioset_eval_strong.tsv (test), its timed events in `extra.events`, its
file looked for in the folders of the weak sets the clips were drawn from.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdata.corpora.audioset_strong import (
    CLIP_SECONDS,
    DISPLAY_NAMES_FILE,
    STRONG_FILE,
    STRONG_SET_SPLIT,
    STRONG_SET_SUBSETS,
    STRONG_URL,
    StrongClip,
    read_display_names,
    read_strong_clips,
)
from mmdata.corpora.audioset_segments import (
    CLASS_LABELS_FILE,
    SEGMENTS_FILE,
    SUBSET_SPLIT,
    Segment,
    read_class_labels,
    read_segments,
)
from mmdata.corpora.base import (
    LoadProblem,
    LoadResult,
    given_image_dir,
    register_corpus,
    safe_relative_path,
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
    require_videos_found,
    shown_path,
)
from mmdata.errors import ConfigError, CorpusNotFoundError
from mmdata.records import Sample

log = logging.getLogger(__name__)

CORPUS = "audioset"
SPLITS = ("train", "test")
#: The AS-20K setup most papers train and test on; add `unbalanced_train` for AS-2M.
DEFAULT_SUBSETS = ("balanced_train", "eval")
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
    #: Load the temporally-strong labels instead: a sample per clip of audioset_train_strong.tsv (split train)
    #: and audioset_eval_strong.tsv (test) of the splits option subsets and --split load, its timed events in
    #: `extra.events`; the segments CSVs are not read. The TSVs are looked for as the segments CSVs are.
    strong: bool = False
    #: With strong: the MID -> display name table naming the events' labels (class_labels_indices.csv names only
    #: MIDs it lacks; default: mid_to_display_name.tsv beside the strong TSVs, else in the first other of the CSV
    #: folders holding it).
    display_names_file: str | None = None

    def __post_init__(self) -> None:
        unknown = [s for s in self.subsets if s not in SUBSET_SPLIT]
        if unknown or not self.subsets or len(set(self.subsets)) < len(self.subsets):
            raise ValueError(f"option subsets={'+'.join(self.subsets)!r}: expected some of {list(SUBSET_SPLIT)} "
                             "each once, joined by '+' (e.g. balanced_train+eval, the AS-20K setup)")


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
    if options.strong:
        return _load_strong(corpus_dir, options, subsets)
    csv_dir = _csv_dir(corpus_dir, options.csv_dir, subsets)
    files = {subset: _segments_file(corpus_dir, csv_dir, subset, options) for subset in subsets}
    classes_path = _class_labels_path(corpus_dir, csv_dir, options)
    classes = read_class_labels(classes_path)
    result = LoadResult(samples=[])
    listed = [seg for subset, path in files.items() for seg in read_segments(path, subset, classes, result.problems)]
    segments = first_listings(listed, result.problems, "segment")
    media = _subset_media(corpus_dir, options.media_dir, subsets)
    missing = _find_samples(corpus_dir, options, segments, media, classes, result)
    result.metadata = {"segments_files": {s: shown_path(corpus_dir, p) for s, p in files.items()},
                       "class_labels_file": shown_path(corpus_dir, classes_path), "subsets": list(subsets),
                       "media_folders": {s: m.shown for s, m in media.items()},
                       "segments_listed": len(segments), "segments_missing": missing}
    return result


def _find_samples(corpus_dir: Path, options: AudioSetOptions, segments: list[Segment], media: dict[str, SubsetMedia],
                  classes: dict[str, str], result: LoadResult,
                  events: dict[str, tuple[tuple[float, float, str], ...]] | None = None) -> int:
    """Add a sample per segment found among the `media` of its set (`_add_samples`; `events`: the strong
    labels' events by sample id) and log how many were not. Returns that count.

    Raises:
        CorpusNotFoundError: none was found (a wrong folder), naming the folders and option media_dir.
    """
    missing = _add_samples(corpus_dir, options, segments, media, classes, result, events)
    every = MediaFolders(corpus_dir, list(dict.fromkeys(f for m in media.values() for f in m.folders)))
    require_videos_found(len(segments), bool(result.samples), "AudioSet", corpus_dir,
                         f"as Y<youtube_id>, <youtube_id> or <youtube_id>_<start> with {'/'.join(SUFFIXES)}",
                         folders=every, what="segments", option="media_dir")
    if missing:
        log.warning("%d of %d AudioSet segments not found (videos taken down since the release); each is named in "
                    "the errors table; looked in %s", missing, len(segments),
                    "; ".join(f"{s}: {m.shown}" for s, m in media.items()))
    return missing


def _load_strong(corpus_dir: Path, options: AudioSetOptions, subsets: list[str]) -> LoadResult:
    """A sample per clip of the strong event lists of the splits `subsets` go to, with its events, the
    distinct labels' names and MIDs; its file looked for in the folders of the weak sets the clips were drawn
    from.

    Raises:
        CorpusNotFoundError: a strong TSV of a split loaded, or every display names table, not found; or none of
            the clips found.
        CorpusFormatError: a file that is not UTF-8, or a names table of bad lines, named `file:line`.
    """
    strong_sets = [name for name, split in STRONG_SET_SPLIT.items() if split in {SUBSET_SPLIT[s] for s in subsets}]
    tsv_dir = find_csv_dir(corpus_dir, options.csv_dir, CSV_DIRS, [STRONG_FILE.format(s) for s in strong_sets])
    files = {name: _strong_file(corpus_dir, tsv_dir, name, options) for name in strong_sets}
    names, names_files = _display_names(corpus_dir, tsv_dir, options)
    names_from = " nor ".join(path.name for path in names_files)
    result = LoadResult(samples=[])
    listed = [clip for name, path in files.items()
              for clip in read_strong_clips(path, name, names, names_from, result.problems)]
    clips: list[StrongClip] = first_listings(listed, result.problems, "clip")
    segments = [_clip_segment(clip) for clip in clips]
    media = _grouped_media(corpus_dir, options.media_dir, {name: STRONG_SET_SUBSETS[name] for name in strong_sets})
    missing = _find_samples(corpus_dir, options, segments, media, names, result,
                            {clip.sample_id: clip.events for clip in clips})
    result.metadata = {"strong_files": {s: shown_path(corpus_dir, p) for s, p in files.items()},
                       "display_names_files": [shown_path(corpus_dir, p) for p in names_files],
                       "subsets": strong_sets, "media_folders": {s: m.shown for s, m in media.items()},
                       "segments_listed": len(segments), "segments_missing": missing,
                       "events": sum(len(s.extra["events"]) for s in result.samples)}
    return result


def _strong_file(corpus_dir: Path, tsv_dir: Path, strong_set: str, options: AudioSetOptions) -> Path:
    """The event list of `strong_set` in `tsv_dir`.

    Raises:
        CorpusNotFoundError: not there, naming where it was looked for, the options and where Google serves it.
    """
    path = tsv_dir / STRONG_FILE.format(strong_set)
    if not path.is_file():
        raise CorpusNotFoundError(
            f"no AudioSet {path.name} found in {_looked_in(corpus_dir, tsv_dir, options.csv_dir is not None)} "
            f"(option strong reads the temporally-strong labels); -o csv_dir= names the folder holding them, "
            f"--split or -o subsets= the splits read (now {'+'.join(options.subsets)}); Google serves them at "
            f"{STRONG_URL}{path.name}")
    return path


def _display_names(corpus_dir: Path, tsv_dir: Path, options: AudioSetOptions) -> tuple[dict[str, str], list[Path]]:
    """MID -> display name for the strong labels, and the tables read: option display_names_file (else
    mid_to_display_name.tsv beside the strong TSVs, else in the first other folder of `CSV_DIRS` holding it)
    names every MID it lists, so a strong dataset speaks the strong release's vocabulary and that file names all
    its labels (as `fuse --classes` or `event-targets`' classes); class_labels_indices.csv where found
    (`_class_labels_path`) names the MIDs it lacks. The two tables name a few shared MIDs differently: there a
    strong label's name is not the weak loader's.

    Raises:
        CorpusNotFoundError: option display_names_file not a file, or neither table found, naming where each
            was looked for.
    """
    found, looked = _find_table(corpus_dir, tsv_dir, options.display_names_file, DISPLAY_NAMES_FILE)
    if found is None and options.display_names_file:
        raise CorpusNotFoundError(f"option display_names_file: {looked[0]} is not a file; expected AudioSet's "
                                  f"{DISPLAY_NAMES_FILE} (`<mid><tab><display name>` lines; {STRONG_URL})")
    try:
        table = _class_labels_path(corpus_dir, tsv_dir, options)
    except CorpusNotFoundError as e:
        if options.class_labels_file:
            raise
        if found is None:
            raise CorpusNotFoundError(
                f"no AudioSet display names for the strong labels: {' nor '.join(map(str, looked))} is a file, and "
                f"{e}; -o display_names_file= names {DISPLAY_NAMES_FILE} (at {STRONG_URL}{DISPLAY_NAMES_FILE})") from e
        return read_display_names(found), [found]
    classes = read_class_labels(table)
    if found is None:
        return classes, [table]
    return {**classes, **read_display_names(found)}, [found, table]


def _clip_segment(clip: StrongClip) -> Segment:
    """The segment of a strong clip: its 10 s from the start its id states, its labels' MIDs."""
    start = clip.start_ms / 1000
    return Segment(clip.youtube_id, start, start + CLIP_SECONDS, clip.mids, clip.strong_set, clip.file, clip.line)


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
    found, looked = _find_table(corpus_dir, csv_dir, options.class_labels_file, CLASS_LABELS_FILE)
    if found is None:
        raise CorpusNotFoundError(
            f"no AudioSet class table: {' nor '.join(map(str, looked))} is a file; -o class_labels_file= names it "
            f"(the release's {CLASS_LABELS_FILE}: index,mid,display_name rows, which name the segments' MIDs; "
            f"Google's is at {CLASS_LABELS_URL})")
    return found


def _find_table(corpus_dir: Path, csv_dir: Path, given: str | None, name: str) -> tuple[Path | None, list[Path]]:
    """The table `given` by its option (relative to the root or absolute), else the file `name` in `csv_dir`, else
    in the first other folder of `CSV_DIRS` holding it; None where no such file is there. Also the paths looked
    at, each once in that order, for the caller's refusal to name."""
    if given:
        looked = [corpus_dir / given]
    else:
        looked = list(dict.fromkeys([csv_dir / name, *(corpus_dir / folder / name for folder in CSV_DIRS)]))
    return next((path for path in looked if path.is_file()), None), looked


def _add_samples(corpus_dir: Path, options: AudioSetOptions, segments: list[Segment],
                 media: dict[str, SubsetMedia], classes: dict[str, str], result: LoadResult,
                 events: dict[str, tuple[tuple[float, float, str], ...]] | None = None) -> int:
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
        result.samples.append(_sample(segment, video, audio, classes, next(headers),
                                      None if events is None else events[segment.sample_id]))
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
            header: dict[str, float], events: tuple[tuple[float, float, str], ...] | None = None) -> Sample:
    """The sample of a segment with its class names and MIDs (`events`: a strong clip's, as `[start, end,
    display name]` lists after them), and the durations its files' `header` states (`media_files_extra`: the
    sound file's, else the MP4's audio stream's, then the MP4's span)."""
    extra: dict[str, Any] = {"labels": [classes[m] for m in segment.mids], "mids": list(segment.mids)}
    if events is not None:
        extra["events"] = [list(event) for event in events]
    extra.update({"youtube_id": segment.youtube_id, "start_seconds": segment.start, "end_seconds": segment.end,
                  "subset": segment.subset})
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
    media_dir, else those of `MEDIA_DIRS` that are there)."""
    return _grouped_media(corpus_dir, media_dir, {subset: (subset,) for subset in subsets})


def _grouped_media(corpus_dir: Path, media_dir: str | None,
                   groups: dict[str, tuple[str, ...]]) -> dict[str, SubsetMedia]:
    """The media of each group of subsets (a strong set: the weak sets its clips were drawn from), indexed
    once: the folders of its subsets in their order (`_subset_folders`), then the parents themselves (option
    media_dir, else those of `MEDIA_DIRS` that are there). Groups searching the same folders (no set folders:
    every clip in the parents) share one index, and every folder is listed once."""
    parents = [given_image_dir(media_dir)] if media_dir is not None else \
        [d for d in MEDIA_DIRS if (corpus_dir / d).is_dir()]
    listings: dict[str, list[str]] = {}
    indexes: dict[tuple[str, ...], SubsetMedia] = {}
    media: dict[str, SubsetMedia] = {}
    for group, subsets in groups.items():
        own: list[str] = []
        shown: list[str] = []
        for subset in subsets:
            subset_own, subset_shown = _subset_folders(corpus_dir, parents, subset)
            own += subset_own
            shown += subset_shown
        folders = tuple(own + parents)
        if folders not in indexes:
            video, audio = _index_files(corpus_dir, folders, listings)
            shown_parents = [folder_list(parents)] if parents else []
            indexes[folders] = SubsetMedia(list(folders), ", ".join([*shown, *shown_parents]) or "no folder",
                                           video, audio)
        media[group] = indexes[folders]
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
