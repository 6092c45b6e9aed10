"""Kinetics' annotation files, found and read for the `kinetics` loader (`kinetics.py`): each split's file in the
first folder holding them (the root, `annotations/`, `data/`, or `-o annotations_dir=`), by name and stated version
(`kinetics-400_train.csv`, `validate.csv`, `train.txt`, `kinetics_train.json`), and its CSV rows read as clips
(a JSON file: `kinetics_json`):
    label,youtube_id,time_start,time_end,split,is_cc
    abseiling,0347ZoDXyP0,14,24,train,0
"""
from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path, PurePosixPath

from mmdata.corpora.base import LoadProblem, _named_columns, read_csv_records, seconds_or_none
from mmdata.corpora.kinetics_json import MAX_SECONDS, Clip, read_json_clips, whole_seconds
from mmdata.corpora.media_captions import shown_path
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError

SPLITS = ("train", "val", "test")
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


def read_split(path: Path, split: str, problems: list[LoadProblem], *, hint: str = "") -> list[Clip]:
    """The clips of one split's annotation file: a CSV (`read_clips`) or, by its `.json` suffix, Kinetics-400's
    JSON (`kinetics_json.read_json_clips`)."""
    if path.suffix.lower() == ".json":
        return read_json_clips(path, split, problems)
    return read_clips(path, split, problems, hint=hint)


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
