"""Kinetics-400/600/700 and 700-2020 (DeepMind; human action classification) as copies of it lie on disk.

The release is a CSV per split, with a header; a row is one ~10 s clip of a YouTube video:
    label,youtube_id,time_start,time_end,split,is_cc
    abseiling,0347ZoDXyP0,14,24,train,0
named `train.csv`, `validate.csv` (or `val.csv`) and `test.csv` in the current release (`annotations/` of the
CVDF copy; its Kinetics-600 downloader saves `train.txt` and `val.txt`, the same CSVs, beside `test.csv` and
`kinetics600_holdout_test.csv`, which is not read), `kinetics_train.csv` (mmaction2's download),
`kinetics-400_train.csv`, `kinetics_600_val.csv` in the older zips and the ActivityNet crawler's `data/` folder
(which holds several versions side by side). Some test files have no `label` column (CVDF's copy of Kinetics-600,
Kinetics-700's, 700-2020's): such clips load without a class. Kinetics-400's first release also has a JSON file per
split (`kinetics_train.json`, `train.json`: `kinetics_json`), read for a split without CSV (`-o annotations=`).

The clips are not in the release: each copy downloads them from YouTube, and every downloader names a clip
`<youtube_id>_<time_start:06d>_<time_end:06d>.mp4` (the crawler's `%06d`; `.mkv` or `.webm` where youtube-dl
merged into those): the CVDF tarballs in `train/`, `val/`, `test/`; the ActivityNet crawler in one folder per
class (`<split>/<label>/`, the class as written or with `_` for spaces after mmaction2's rename_classnames.sh);
torchvision's `Kinetics` in `<root>/<split>/<class>/`; mmaction2 in `videos_train/` and `videos_val/`. A file is
the clip itself, already cut; one named by the bare YouTube id may be the whole video, which its header's length
tells (the sample is then the clip's span of it).

One sample per clip: sample_id `<youtube_id>_<start:06d>_<end:06d>` (the file stem the downloaders write),
group_id the YouTube id (a video whose clips are in two splits is a `split-leak` for `check`), `video` the file
found, `extra.class` the label (`fuse --class-label class`), with `youtube_id`, `time_start`, `time_end` (the
clip's span in the YouTube video, kept as information: the sample has no start/end, so extractors read the
whole file, as for `vggsound`, unless the file is the whole video) and the durations the file's header states
(read in one open: `media_captions.video_file_extra`, many files at once: `read_headers`). Every copy lacks
clips of videos taken down: each is named in the errors table (`file:line`; a JSON entry `file:line:column:
<youtube_id>`) and their count logged and kept in the manifest. A row or entry that cannot be read and a clip listed
again are left out the same way.
"""
from __future__ import annotations

import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from mmdata.corpora.base import (
    LoadProblem,
    LoadResult,
    _named_columns,
    given_image_dir,
    read_csv_records,
    register_corpus,
    seconds_or_none,
)
from mmdata.corpora.kinetics_json import MAX_SECONDS, Clip, read_json_clips, whole_seconds
from mmdata.corpora.media_captions import (
    MediaFolders,
    check_split,
    first_listings,
    first_media_path,
    folder_list,
    held_end,
    missing_media_problem,
    read_headers,
    require_videos_found,
    shown_path,
    video_file_extra,
)
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import MODALITY_DURATION_KEYS, START_KEYS, Sample

log = logging.getLogger(__name__)

CORPUS = "kinetics"
SPLITS = ("train", "val", "test")
#: Kinetics' own split names, as `--split` is told to name them here.
NATIVE_SPLITS = {"validate": "val", "validation": "val", "training": "train", "testing": "test"}
#: The versions a file name may state (`kinetics-600_train.csv`), and `auto`: whichever the files are.
Version = Literal["auto", "400", "600", "700", "700-2020"]
#: Which annotation files are read: `csv`, `json`, or `auto`: a split's CSV, else its JSON (`kinetics_json`).
AnnotationFormat = Literal["auto", "csv", "json"]
#: An annotation file's name: an optional `kinetics[-_]<version>[-_]` prefix, then the split, `.csv` or `.txt` (the
#: CVDF copy of Kinetics-600 saves its train and val CSVs as `train.txt`, `val.txt`, as the release's URLs name them),
#: or `.json` (Kinetics-400's first release).
ANNOTATION_NAME = re.compile(
    r"kinetics[-_]?(?P<version>400|600|700(?:[-_]2020)?)?[-_](?P<split>train|validate|val|test)\.(?:csv|txt|json)"
    r"|(?P<bare>train|validate|val|test)\.(?:csv|txt|json)", re.IGNORECASE)
FILE_SPLITS = {"train": "train", "validate": "val", "val": "val", "test": "test"}
#: Where the annotation CSVs sit, relative to the root, first first ("" is the root itself).
ANNOTATION_DIRS = ("", "annotations", "data")
REQUIRED_COLUMNS = ("youtube_id", "time_start", "time_end")
LABEL_COLUMN = "label"
#: The key of `extra` holding the class name (`mmdata fuse --class-label class`).
CLASS_KEY = "class"
#: Folders holding the split folders (or the clips), relative to the root, first first.
MEDIA_DIRS = ("", "videos", "video", "clips")
#: Each split's folder names under a media folder, first first.
SPLIT_DIRS = {"train": ("train", "videos_train"), "val": ("val", "validate", "videos_val"),
              "test": ("test", "videos_test", "test/test")}  # test/test: the crawler given videos/test as output
#: The CVDF copy's re-downloads of clips whose first file was corrupt, looked in (under the root and under each
#: media folder) before the split folders.
REPLACEMENT_DIRS = ("replacement/replacement_for_corrupted_k400",)
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm")
#: How much longer than its clip (time_end - time_start) a file found by the bare YouTube id may be and still be
#: the cut clip (a cut at key frames runs over by up to a GOP); longer, it is the whole video and the sample gets
#: the clip's span.
WHOLE_VIDEO_TOLERANCE = 1.0
#: How many of the files stating no video duration the loader metadata names (all are counted).
UNSTATED_NAMED = 20


@dataclass(frozen=True)
class KineticsOptions:
    #: Folder of the annotation CSVs, relative to the root or absolute (default: the root, else `annotations/`,
    #: `data/`).
    annotations_dir: str | None = None
    #: The release read where the folder holds the files of several (`kinetics-400_train.csv` beside
    #: `kinetics-600_train.csv`); files whose name states no version are read whatever it is.
    version: Version = "auto"
    #: Folder holding the split folders or the clips, relative to the root or absolute (default: those of the
    #: root, `videos/`, `video/`, `clips/` that are there).
    video_dir: str | None = None
    #: Accept clip paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False
    #: The annotation files read: `auto` (a split's CSV, else its JSON: the first folder holding a CSV, else one
    #: holding a JSON), `csv` or `json` alone.
    annotations: AnnotationFormat = "auto"


@register_corpus(CORPUS, KineticsOptions)
def load_kinetics(corpus_dir: Path, options: KineticsOptions, split: str | None) -> LoadResult:
    """Kinetics-400/600/700 (`train.csv`, `validate.csv`, `test.csv`, or Kinetics-400's `kinetics_train.json`, ...,
    + the clips), one sample per clip with its class.

    `split`: none or `all` for every split whose file is there, `train`, `val` or `test`.

    Example:
        >>> result = load_kinetics(Path("/data/k400"), KineticsOptions(), "val")
        >>> s = result.samples[0]; s.sample_id, s.video, s.extra["class"]
        ('0347ZoDXyP0_000014_000024', 'val/0347ZoDXyP0_000014_000024.mp4', 'abseiling')

    Raises:
        CorpusNotFoundError: no annotation file (naming the folders searched and `-o annotations_dir=`), none of
            split `split`, or none of the clips listed found (a wrong folder, not a few videos gone).
        CorpusFormatError: a file that is not UTF-8, a CSV whose header lacks youtube_id, time_start or time_end, a
            JSON file that is not an object of entries (`kinetics_json.read_json_clips`).
        ConfigError: an unknown split, files of several versions without `-o version=`, or two files of a split.
    """
    wanted = check_split(split, SPLITS, NATIVE_SPLITS, "Kinetics")
    files, beside = annotation_files(corpus_dir, options.annotations_dir, options.version, options.annotations)
    if wanted is not None and wanted not in files:
        raise CorpusNotFoundError(f"split {wanted!r} asked, but no Kinetics {wanted} annotation file is in "
                                  f"{files[next(iter(files))].parent}; splits there: {list(files)}")
    result = LoadResult(samples=[])
    hint = _other_folders_hint(corpus_dir, files, options.annotations_dir)
    listed = {s: read_split(files[s], s, result.problems, hint=hint) if wanted in (None, s) else
              _other_split_clips(files[s], s) for s in files}
    clips = first_listings([c for s in files if wanted in (None, s) for c in listed[s]], result.problems, "clip")
    found = _add_samples(corpus_dir, options, clips, _clips_per_video(listed), result)
    require_videos_found(len(clips), bool(result.samples), "Kinetics", corpus_dir,
                         f"as <youtube_id>_<start:06d>_<end:06d> with {'/'.join(VIDEO_SUFFIXES)}", what="clips",
                         note=f" (searched: {folder_list(_media_parents(corpus_dir, options.video_dir))} and their "
                              "split and class folders)")
    if found.missing:
        log.warning("%d of %d Kinetics clips listed not found (videos taken down since the release); each is "
                    "named in the errors table", found.missing, len(clips))
    result.metadata = {"annotation_files": [shown_path(corpus_dir, files[s]) for s in files if wanted in (None, s)],
                       "clips_listed": len(clips), "clips_missing": found.missing}
    _note_unstated_lengths(found.unstated_length, result.metadata)
    _note_files_beside(corpus_dir, [p for s, p in beside if wanted in (None, s)], result.metadata)
    return result


def read_split(path: Path, split: str, problems: list[LoadProblem], *, hint: str = "") -> list[Clip]:
    """The clips of one split's annotation file: a CSV (`read_clips`) or, by its `.json` suffix, Kinetics-400's
    JSON (`kinetics_json.read_json_clips`)."""
    if path.suffix.lower() == ".json":
        return read_json_clips(path, split, problems)
    return read_clips(path, split, problems, hint=hint)


def _note_files_beside(corpus_dir: Path, paths: list[Path], metadata: dict[str, Any]) -> None:
    """Keep in `metadata` (`annotation_files_not_read`) and log the files of a split loaded from its other file (a
    JSON beside its CSV: DeepMind's kinetics400.tar.gz ships both, listing the same clips)."""
    if not paths:
        return
    metadata["annotation_files_not_read"] = [shown_path(corpus_dir, p) for p in paths]
    kind = "json" if paths[0].suffix.lower() == ".json" else "csv"
    log.info("Kinetics annotation files not read, as their split's %s file is (-o annotations=%s reads them): %s",
             "JSON" if kind == "csv" else "CSV", kind, ", ".join(metadata["annotation_files_not_read"]))


def _note_unstated_lengths(videos: list[str], metadata: dict[str, Any]) -> None:
    """Log and keep in `metadata` (`bare_id_files_without_duration`: count and first files) the files named by the
    bare YouTube id whose header states no video duration (a Matroska written live): each is read whole as the clip,
    an assumption wrong where it is the whole video, so it is never silent (a remux stating the length settles it)."""
    if not videos:
        return
    metadata["bare_id_files_without_duration"] = {"count": len(videos), "files": videos[:UNSTATED_NAMED]}
    log.warning("%d Kinetics files named by the bare YouTube id state no video duration (e.g. %s): each is read whole "
                "as its clip, already cut; where one is the whole video, remux it so that its header states its length "
                "(ffmpeg -i X.mkv -c copy X.mp4) to read the clip's span of it", len(videos), ", ".join(videos[:3]))


def _other_folders_hint(corpus_dir: Path, files: dict[str, Path], annotations_dir: str | None) -> str:
    """The advice ending a refusal of a file's header: `-o annotations_dir=`, and the folders searched after the
    one read that hold annotation files too (PySlowFast's headerless `train.csv` in the root hides `annotations/`)."""
    read = files[next(iter(files))].parent
    others = [] if annotations_dir is not None else \
        [f"{d}/" for d in ANNOTATION_DIRS if corpus_dir / d != read and _annotation_names(corpus_dir / d)]
    first = "the root's" if read == corpus_dir else f"{shown_path(corpus_dir, read)}/"
    skipped = f" ({' and '.join(others)} holds annotation files too, not read: {first} came first)" if others else ""
    return f"; -o annotations_dir= names the folder of the release's CSVs{skipped}"


def _other_split_clips(path: Path, split: str) -> list[Clip]:
    """The clips of a split file `--split` does not load, read only to count each video's clips: its problems
    are its own load's to name (none where it cannot be read)."""
    try:
        return read_split(path, split, [])
    except CorpusFormatError:
        return []


def _clips_per_video(listed: dict[str, list[Clip]]) -> Counter:
    """How many clips every split file present lists of each video (whatever `--split` loads, so that a copy's
    samples do not depend on it): a file named by the bare YouTube id is read as a clip only where it is one."""
    return Counter(youtube_id for youtube_id, _ in {(c.youtube_id, c.sample_id) for cs in listed.values() for c in cs})


def annotation_files(corpus_dir: Path, annotations_dir: str | None, version: str,
                     annotations: str = "auto") -> tuple[dict[str, Path], list[tuple[str, Path]]]:
    """Each split's annotation file (split order), from option `annotations_dir`, else the first of
    `ANNOTATION_DIRS` holding one of the kind `annotations` reads (`auto`: one holding a CSV, else a JSON); files
    stating another version than `version` are left out. A split with a CSV and a JSON there is read from the CSV
    (`json`: the JSON); the other (split, file) pairs come second, not read.

    Raises:
        CorpusNotFoundError: no annotation file, naming where it was looked for and the options.
        ConfigError: files of several versions and `version` auto, or two files of one split and kind.
    """
    folders = [corpus_dir / annotations_dir] if annotations_dir is not None else \
        [corpus_dir / d for d in ANNOTATION_DIRS]
    kinds = ("csv", "json") if annotations == "auto" else (annotations,)
    for folder, kind in ((f, k) for k in kinds for f in folders):
        named = _annotation_names(folder)
        if any(_kind(n) == kind for n, _, _ in named):
            # the CSVs decide the splits they hold: a JSON is a candidate only for a split without one (so a stray
            # JSON of another version beside them neither counts in the version check nor is listed as unread)
            csvs = [n for n in named if _kind(n[0]) == "csv" and "csv" in kinds]
            with_csv = {split for _, _, split in csvs}
            jsons = [n for n in named if _kind(n[0]) == "json" and "json" in kinds and n[2] not in with_csv]
            read = _of_version(folder, csvs + jsons, version)
            files = _one_per_split(folder, read)
            versions = {stated for _, stated, _ in read if stated is not None}
            beside = [(split, folder / name) for name, stated, split in named if (name, stated, split) not in read
                      and split in files and (stated is None or stated in (versions or {stated}))
                      and (version == "auto" or stated in (None, version))]
            return files, sorted(beside, key=lambda b: SPLITS.index(b[0]))
    looked = f"{folders[0]} (option annotations_dir)" if annotations_dir is not None else \
        ", ".join(str(f) for f in folders)
    held = ("label,youtube_id,time_start,time_end,split rows" if kinds == ("csv",) else
            "objects of clips by YouTube id" if kinds == ("json",) else
            "CSVs of label,youtube_id,time_start,time_end,split rows, or JSON objects of clips")
    raise CorpusNotFoundError(f"no Kinetics annotation {' or '.join(k.upper() for k in kinds)} ({_names_of(kinds)}) "
                              f"found in {looked}; -o annotations_dir= names the folder holding them (the release's "
                              f"{held}){'' if annotations == 'auto' else '; -o annotations=auto reads either kind'}")


def _kind(name: str) -> str:
    """`json` for an annotation file named `.json`, else `csv` (`.csv`, `.txt`)."""
    return "json" if name.lower().endswith(".json") else "csv"


def _names_of(kinds: tuple[str, ...]) -> str:
    """The annotation file names of `kinds`, as a refusal lists them."""
    names = {"csv": "train.csv, validate.csv, val.csv, test.csv, or kinetics[-_<version>]_<split>.csv",
             "json": "kinetics_train.json, kinetics_val.json, kinetics_test.json, train.json, ..."}
    return "; ".join(names[k] for k in kinds)


def _annotation_names(folder: Path) -> list[tuple[str, str | None, str]]:
    """(file name, version stated or None, split) of every annotation CSV in `folder`, by name."""
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.is_file())
    except OSError:
        return []
    found = []
    for name in names:
        match = ANNOTATION_NAME.fullmatch(name)
        if match is not None:
            stated = match["version"].replace("_", "-") if match["version"] else None
            found.append((name, stated, FILE_SPLITS[(match["split"] or match["bare"]).lower()]))
    return found


def _of_version(folder: Path, named: list[tuple[str, str | None, str]],
                version: str) -> list[tuple[str, str | None, str]]:
    """The files of `version` (with those stating none); with `auto`, refuse files stating several."""
    stated = sorted({v for _, v, _ in named if v is not None})
    if version == "auto" and len(stated) > 1:
        raise ConfigError(f"{folder} holds the annotation files of Kinetics {', '.join(stated)} "
                          f"({', '.join(n for n, v, _ in named if v)}); -o version= names the one to read")
    kept = [n for n in named if n[1] in (None, version) or version == "auto"]
    if not kept:
        raise CorpusNotFoundError(f"-o version={version}: no annotation file of that version in {folder}; files "
                                  f"there: {', '.join(n for n, _, _ in named)}")
    return kept


def _one_per_split(folder: Path, named: list[tuple[str, str | None, str]]) -> dict[str, Path]:
    """split -> file, in split order.

    Raises:
        ConfigError: two files of one split (`val.csv` and `validate.csv`): which holds the split is no telling.
    """
    by_split: dict[str, list[str]] = {}
    for name, _, split in named:
        by_split.setdefault(split, []).append(name)
    for split, names in by_split.items():
        if len(names) > 1:
            raise ConfigError(f"{folder} holds {len(names)} Kinetics annotation files of split {split!r}: "
                              f"{', '.join(names)}; expected one; move the others out of the folder, or point "
                              f"-o annotations_dir= at a folder holding one per split{_txt_beside_csv_hint(names)}")
    return {split: folder / by_split[split][0] for split in SPLITS if split in by_split}


def _txt_beside_csv_hint(names: list[str]) -> str:
    """Which to keep where a split's `.txt` lies beside its `.csv` (CVDF's Kinetics-600 copy ships both, and only
    the `.txt` is complete: cvdfoundation/kinetics-dataset#33), else ''."""
    stems = Counter(PurePosixPath(n).stem.lower() for n in names if PurePosixPath(n).suffix.lower() in (".csv", ".txt"))
    if not any(count > 1 for count in stems.values()):
        return ""
    return ("; in CVDF's Kinetics-600 copy the .txt is the complete file and the .csv a partial one "
            "(cvdfoundation/kinetics-dataset#33): keep the .txt")


def read_clips(path: Path, split: str, problems: list[LoadProblem], *, hint: str = "") -> list[Clip]:
    """The readable rows of one annotation CSV in file order, of `split` (the file's, whatever its `split`
    column says); a row that is not one clip is named in `problems` (`file:line`) and left out.

    Raises:
        CorpusFormatError: the file is not UTF-8, is empty, or its header lacks a required column or names one
            twice, named `file:line`; `hint` ends the message of a header lacking a column.
    """
    rows = read_csv_records(path)
    if not rows:
        raise CorpusFormatError(f"{path}:1: empty file; expected the header label,youtube_id,time_start,time_end,"
                                "split (the release's)")
    header_line, values = rows[0]
    header = [h.strip() for h in values]
    kept = _named_columns(f"{path}:{header_line}", header, ",")
    absent = [c for c in REQUIRED_COLUMNS if c not in [header[i] for i in kept]]
    if absent:
        raise CorpusFormatError(f"{path}:{header_line}: header {','.join(header)[:120]!r} lacks {', '.join(absent)}; "
                                "expected label,youtube_id,time_start,time_end,split (the release's; label absent "
                                f"from unpublished test labels){hint}")
    labelled = LABEL_COLUMN in header
    clips = []
    for line, row in rows[1:]:
        clip = _row_clip(header, row, labelled, split, f"{path}:{line}", problems)
        if clip is not None:
            clips.append(clip)
    return clips


def _row_clip(header: list[str], values: list[str], labelled: bool, split: str, where: str,
              problems: list[LoadProblem]) -> Clip | None:
    """The clip a row names, or None with its problem recorded."""
    if len(values) != len(header):
        problems.append(LoadProblem(None, where, f"expected {len(header)} fields ({','.join(header)}), got "
                                    f"{len(values)}: {','.join(values)[:120]!r}; row left out"))
        return None
    fields = {name: value.strip() for name, value in zip(header, values)}
    youtube_id = fields["youtube_id"]
    start, end = _seconds(fields["time_start"]), _seconds(fields["time_end"])
    label = fields[LABEL_COLUMN] if labelled else None
    reason = _row_reason(youtube_id, fields, start, end, label)
    if reason is not None or start is None or end is None:
        problems.append(LoadProblem(youtube_id or None, where, f"{reason}; row left out"))
        return None
    return Clip(youtube_id, start, end, label, split, where)


def _row_reason(youtube_id: str, fields: dict[str, str], start: float | None, end: float | None,
                label: str | None) -> str | None:
    """Why a row of the header's fields names no clip (`start`, `end`: read, None where unreadable), or None."""
    if not youtube_id or "/" in youtube_id:
        return f"youtube_id {youtube_id!r} is {'empty' if not youtube_id else 'no YouTube id (holds a /)'}"
    for name, value in (("time_start", start), ("time_end", end)):
        if value is None:
            return f"{name} {fields[name]!r} is not a number of seconds >= 0 (expected e.g. 14)"
    if start >= end:  # type: ignore[operator]  # both read above
        return f"time_start {fields['time_start']} is not before time_end {fields['time_end']}"
    if label is not None and not label:
        return "empty label; expected the clip's class name"
    return None


def _seconds(text: str) -> float | None:
    """A time in seconds (`14`, `14.0`): an int where whole (as the file names print it: `whole_seconds`), else a
    float; None where no finite number >= 0 (`base.seconds_or_none`) or none below 10**9 s."""
    value = seconds_or_none(text)
    if value is None or value >= MAX_SECONDS:
        return None
    return whole_seconds(value)


@dataclass
class FoundClips:
    """What `_add_samples` counted: the clips not found, and the files named by the bare YouTube id whose header
    states no video duration (read as the clip, already cut: nothing tells it is the whole video)."""

    missing: int = 0
    unstated_length: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LocatedClip:
    """A clip with the folders of its split and class, the file stems looked for, and the file found (None: none)."""

    clip: Clip
    folders: MediaFolders
    stems: list[str]
    video: str | None


def _add_samples(corpus_dir: Path, options: KineticsOptions, clips: list[Clip], clips_of_video: Counter,
                 result: LoadResult) -> FoundClips:
    """A sample per clip whose file a folder of its split and class holds (by the bare YouTube id too where
    `clips_of_video` counts one clip of its video); a clip not found is named at its row. Every clip's file is
    found first (directory listings), then the files' headers are read together (`read_headers`: on threads),
    then the samples are made in the clips' order."""
    located = _locate_clips(corpus_dir, options, clips, clips_of_video)
    headers = iter(read_headers([corpus_dir / c.video for c in located if c.video is not None], video_file_extra))
    found = FoundClips()
    for located_clip in located:
        clip, video = located_clip.clip, located_clip.video
        if video is None:
            found.missing += 1
            result.problems.append(_missing_clip(corpus_dir, located_clip.folders, clip, located_clip.stems))
            continue
        sample = _sample(clip, video, next(headers))
        if _bare_id(clip, video) and MODALITY_DURATION_KEYS["video"] not in sample.extra:
            found.unstated_length.append(video)
        result.samples.append(sample)
    return found


def _locate_clips(corpus_dir: Path, options: KineticsOptions, clips: list[Clip],
                  clips_of_video: Counter) -> list[LocatedClip]:
    """Each clip with the first file a folder of its split and class holds, by its id, else (where its video has
    one clip) by the bare YouTube id, each with every suffix.

    Raises:
        CorpusFormatError: a file found leads outside the root without `allow_outside_root`, named at its row.
    """
    folders = ClipFolders(corpus_dir, _media_parents(corpus_dir, options.video_dir))
    located = []
    for clip in clips:
        stems = [clip.sample_id, *([clip.youtube_id] if clips_of_video[clip.youtube_id] == 1 else [])]
        where = folders.of(clip.split, clip.label)
        video = first_media_path(corpus_dir, where, [s + x for s in stems for x in VIDEO_SUFFIXES],
                                 where=clip.location, allow_outside=options.allow_outside_root)
        located.append(LocatedClip(clip, where, stems, video))
    return located


def _bare_id(clip: Clip, video: str) -> bool:
    """Whether `video` is named by the clip's bare YouTube id (so may be the whole video), not by the clip's id."""
    return PurePosixPath(video).stem == clip.youtube_id


def _sample(clip: Clip, video: str, header: dict[str, float]) -> Sample:
    """The sample of a clip with its video file and the durations its `header` states (its audio track's too:
    audio extractors read it; all in one open of the file: `video_file_extra`). No sample start/end where the file
    is the clip, already cut; a file named by the bare YouTube id that can only be the whole video is the clip's
    span of it (`_whole_video_span`)."""
    extra: dict[str, Any] = {"youtube_id": clip.youtube_id, "time_start": clip.start, "time_end": clip.end}
    if clip.label is not None:
        extra[CLASS_KEY] = clip.label
    extra.update(header)
    start, end = _whole_video_span(clip, video, extra)
    return Sample(sample_id=clip.sample_id, corpus=CORPUS, split=clip.split, group_id=clip.youtube_id,
                  video=video, start=start, end=end, extra=extra)


def _whole_video_span(clip: Clip, video: str, extra: dict[str, Any]) -> tuple[float | None, float | None]:
    """(start, end) of the sample: none for a clip's own file; for a file named by the bare YouTube id, the
    clip's times where its header states a video longer than the clip by over `WHOLE_VIDEO_TOLERANCE` that the
    clip starts in, the end held to the video's stated end (`held_end`: `annotated_end` kept). A file stating
    no duration, or ending at or before the clip's start (a whole video would hold none of the clip: it is the
    cut clip, over-long by its cut at key frames), is read as the clip."""
    duration = extra.get(MODALITY_DURATION_KEYS["video"])
    if not _bare_id(clip, video) or duration is None or duration <= clip.end - clip.start + WHOLE_VIDEO_TOLERANCE:
        return None, None
    length = extra.get(START_KEYS[MODALITY_DURATION_KEYS["video"]], 0.0) + duration
    if clip.start >= length:
        return None, None
    end = held_end(extra, clip.start, clip.end, length, sample_id=clip.sample_id, where=clip.location, part="clip",
                   length_name="stated end", source=f", from {video}'s header, the whole video", left_out="row")
    return (None, None) if isinstance(end, LoadProblem) else (clip.start, end)  # no problem: it starts before


def _missing_clip(corpus_dir: Path, folders: MediaFolders, clip: Clip, stems: list[str]) -> LoadProblem:
    """The problem of a clip no folder holds: its file name with every suffix, and the bare id where looked for."""
    also = ", ".join(_every_suffix(stem) for stem in stems[1:])
    there = next((stems[0] + s for s in VIDEO_SUFFIXES
                  if os.path.lexists(corpus_dir / folders.expected(stems[0] + s))), None)
    problem = missing_media_problem(corpus_dir, folders, there or _every_suffix(stems[0]), clip.sample_id,
                                    clip.where, "clip", also=also)
    if there is not None:
        return problem
    return replace(problem, reason=f"{problem.reason} (a video taken down since the release is gone from every copy)")


def _every_suffix(stem: str) -> str:
    """`stem` with each suffix looked for, as messages name it: `X_000014_000024.{mp4,mkv,webm}`."""
    return f"{stem}.{{{','.join(s.lstrip('.') for s in VIDEO_SUFFIXES)}}}"


def _media_parents(corpus_dir: Path, video_dir: str | None) -> list[str]:
    """The folders holding split folders, class folders or clips: option `video_dir`, else those of
    `MEDIA_DIRS` that are there."""
    if video_dir is not None:
        return [given_image_dir(video_dir)]
    return [d for d in MEDIA_DIRS if (corpus_dir / d).is_dir()]


def class_folder_key(name: str) -> str:
    """A class folder's name as compared with a label: lower case, letters and digits only, so that `playing
    guitar`, `playing_guitar` (mmaction2's rename_classnames.sh, detox) and `passing_American_football_in_game`
    all match their label."""
    return "".join(c for c in name.lower() if c.isalnum())


class ClipFolders:
    """The folders a clip of a split and class is looked for in, first first: the CVDF replacements, then under
    each parent its split folder's class folder, the split folder, the parent's class folder, the parent.
    Every folder is listed once for all clips (shared listings), and each folder's class folders once."""

    def __init__(self, corpus_dir: Path, parents: list[str]) -> None:
        self.corpus_dir = corpus_dir
        self.parents = parents
        self.listings: dict[str, set[str]] = {}
        self._class_folders: dict[str, dict[str, str]] = {}
        self._folders: dict[tuple[str, str | None], MediaFolders] = {}

    def of(self, split: str, label: str | None) -> MediaFolders:
        """The folders of a clip of `split` and `label` (None: no class folder)."""
        key = (split, label)
        if key not in self._folders:
            self._folders[key] = MediaFolders(self.corpus_dir, self._folder_list(split, label), self.listings)
        return self._folders[key]

    def _folder_list(self, split: str, label: str | None) -> list[str]:
        replacements = [f"{p}/{d}" if p else d for p in dict.fromkeys(["", *self.parents]) for d in REPLACEMENT_DIRS]
        found = [d for d in replacements if (self.corpus_dir / d).is_dir()]
        for parent in self.parents:
            for split_dir in SPLIT_DIRS[split]:
                folder = f"{parent}/{split_dir}" if parent else split_dir
                if (self.corpus_dir / folder).is_dir():
                    found += [*self._class_folder(folder, label), folder]
        for parent in self.parents:
            found += [*self._class_folder(parent, label), parent]
        return list(dict.fromkeys(found)) or [""]

    def _class_folder(self, folder: str, label: str | None) -> list[str]:
        """The class folder of `label` in `folder` (its name matched by `class_folder_key`), where there is one."""
        if label is None:
            return []
        if folder not in self._class_folders:
            self._class_folders[folder] = _subfolders_by_key(self.corpus_dir / folder)
        name = self._class_folders[folder].get(class_folder_key(label))
        return [f"{folder}/{name}" if folder else name] if name is not None else []


def _subfolders_by_key(path: Path) -> dict[str, str]:
    """`class_folder_key(name)` -> name of every folder in `path` (the first by name where two share a key)."""
    try:
        with os.scandir(path) as entries:
            names = sorted(e.name for e in entries if e.is_dir())
    except OSError:
        return {}
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(class_folder_key(name), name)
    return by_key
