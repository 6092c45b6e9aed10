"""AudioSet's weak labels as Google releases them: the segment lists and the class table, read for the
`audioset` loader (`audioset.py` finds the files and the segments' media).

    balanced_train_segments.csv    `# ...` header lines, then `--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"`
    class_labels_indices.csv       index,mid,display_name: the 527 classes in the order of PANNs' 527 outputs
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from mmdata.corpora.audioset_strong import STRONG_SET_SPLIT
from mmdata.corpora.base import LoadProblem, gc_paused, read_csv_rows, read_text, seconds_or_none
from mmdata.corpora.media_captions import repeated_entry_problem
from mmdata.errors import CorpusFormatError

#: The release's segment sets, each with the split its segments go to (eval is the test set of every paper).
SUBSET_SPLIT = {"balanced_train": "train", "unbalanced_train": "train", "eval": "test"}
#: The split of a segment's set: the weak sets', and the strong sets' (option strong).
SET_SPLIT = {**SUBSET_SPLIT, **STRONG_SET_SPLIT}
SEGMENTS_FILE = "{}_segments.csv"
CLASS_LABELS_FILE = "class_labels_indices.csv"
CLASS_COLUMNS = ("index", "mid", "display_name")
COLUMNS = ("YTID", "start_seconds", "end_seconds", "positive_labels")
#: A row as the release writes it (`--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"`), read without the csv
#: module (2M rows in the unbalanced set); a row of another shape goes to csv, which names what is wrong.
RELEASE_ROW = re.compile(r'\s*([^\s,"/]+),\s*(\d+(?:\.\d+)?),\s*(\d+(?:\.\d+)?),\s*"([^"]*)"\s*')
#: A run of white space: one space to the csv module, which skips spaces alone after a comma.
WHITE_SPACE = re.compile(r"\s+")


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
        return SET_SPLIT[self.subset]


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
    (`file:line`) and left out. The garbage collector is paused meanwhile (`gc_paused`: the rows make no
    cycles, and its passes over the growing segments cost about a fifth of reading the unbalanced set's 2M rows).

    Raises:
        CorpusFormatError: the file is not UTF-8, named `file:line`.
    """
    with gc_paused():
        return _file_segments(path, subset, classes, problems)


def _file_segments(path: Path, subset: str, classes: dict[str, str], problems: list[LoadProblem]) -> list[Segment]:
    """`read_segments`' work, row by row (the garbage collector paused by the caller)."""
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
