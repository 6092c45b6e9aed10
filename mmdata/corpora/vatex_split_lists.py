"""VATEX retrieval papers' split lists (`-o split_lists=DIR` of the `vatex` loader): which clip is in which split.

CLIP2Video, X-CLIP and TS2-Net do not take VATEX's official splits: they read text files of one videoID a line
from their `vatex_data/` folder. CLIP2Video reads `train_list.txt` and `test_list.txt`; `val_list.txt` is read
where it is there, and `vatex_test_HGR.txt` (the HGR protocol: 1,500 val and 1,500 test clips, both halves of the
official validation set) comes from a CLIP2Video fork that reads it in place of `test_list.txt`. Where both test
lists are there, `vatex_test_HGR.txt` is read and `test_list.txt` is not: logged, and named in the metadata. A
clip listed takes its list's split; its captions still come from the official annotation files. A clip listed in
two lists is kept in the first (train before val before test) and named as a leak; the clips of the annotation
files in no list are left out and counted (logged and kept in the metadata), never silently. A list none of whose
clips is in the annotation files read, while one of those files is missing, stops the load naming it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mmdata.corpora.base import LoadProblem, LoadResult, read_text
from mmdata.corpora.media_captions import listed_again, repeated_entry_problem, shown_path
from mmdata.errors import CorpusNotFoundError

log = logging.getLogger(__name__)
#: An annotation file's clip, as the loader reads it.
ClipT = TypeVar("ClipT")

#: Split -> the list files read for it, first found first (HGR's test list, which the CLIP2Video fork reading it
#: takes in place of CLIP2Video's own `test_list.txt`, before that one).
SPLIT_LIST_FILES = {"train": ("train_list.txt",), "val": ("val_list.txt",),
                    "test": ("vatex_test_HGR.txt", "test_list.txt")}


@dataclass(frozen=True)
class ListedClip:
    """One line of a split list: the clip's videoID, its split, the list file and the line's number."""

    video_id: str
    split: str
    path: Path
    line: int

    @property
    def where(self) -> str:
        """`file:line`, as the errors table names the line."""
        return f"{self.path}:{self.line}"


def find_split_lists(corpus_dir: Path, folder: str) -> dict[str, Path]:
    """Split -> its list file in `folder` (relative to the root, or absolute), for the splits whose list is there;
    a split's later list file beside the one read is logged as not read (`unread_split_lists` names it).

    Raises:
        CorpusNotFoundError: no list file in `folder`.
    """
    base = corpus_dir / folder
    lists = {split: path for split, names in SPLIT_LIST_FILES.items()
             if (path := next((base / n for n in names if (base / n).is_file()), None)) is not None}
    for path in unread_split_lists(lists):
        log.warning("VATEX: %s is not read: %s, beside it, is read for split %r (the HGR protocol's test list); "
                    "remove or rename either file to choose", path, lists["test"].name, "test")
    if not lists:
        every = ", ".join(n for names in SPLIT_LIST_FILES.values() for n in names)
        raise CorpusNotFoundError(f"no VATEX split list ({every}) in {base} (option split_lists); name the folder "
                                  "holding them (CLIP2Video's `vatex_data/`), or leave the option out for "
                                  "the official splits")
    return lists


def unread_split_lists(lists: dict[str, Path]) -> list[Path]:
    """The list files beside those of `lists` that a split's first-found list leaves unread (`test_list.txt`
    beside `vatex_test_HGR.txt`)."""
    return [path.with_name(name) for split, path in lists.items() for name in SPLIT_LIST_FILES[split]
            if name != path.name and path.with_name(name).is_file()]


def require_split_list(lists: dict[str, Path], wanted: str | None, folder: Path) -> None:
    """Refuse a split asked whose list is not there.

    Raises:
        CorpusNotFoundError: split `wanted` has no list in `folder`.
    """
    if wanted is not None and wanted not in lists:
        names = SPLIT_LIST_FILES[wanted]
        missing = f"{names[0]} is not" if len(names) == 1 else f"neither {' nor '.join(names)} is"
        raise CorpusNotFoundError(f"split {wanted!r} asked, but {missing} in {folder}; splits listed there: "
                                  f"{list(lists)}")


@dataclass(frozen=True)
class UnreadFiles:
    """What the problem of a listed clip no annotation file read holds adds (`hint`: which files were not read,
    and why), and the annotation files not found (`absent`, with the folder looked in), which make a list none of
    whose clips is found a refusal."""

    hint: str = ""
    absent: tuple[str, ...] = ()
    folder: Path | None = None


def listed_entries(corpus_dir: Path, clips: dict[str, tuple[ClipT, Path]], entry_problems: list[LoadProblem],
                   lists: dict[str, Path], wanted: str | None, unread: UnreadFiles,
                   result: LoadResult) -> list[tuple[str, ClipT, Path, dict[str, Any]]]:
    """(split, clip, annotation file, extra) of each clip the lists assign to the split asked (None: every split
    listed), in list order; `clips` are the annotation files' readable clips by videoID, `entry_problems` the
    problems met reading them. The problems of the entries and lines of the clips loaded are recorded (an entry
    without a readable videoID's always: its split cannot be known), the clips in no list counted.

    Raises:
        CorpusNotFoundError: a list loaded none of whose clips is in the annotation files read, while one of
            those files (`unread.absent`) is not found.
    """
    loaded = set(lists) if wanted is None else {wanted}
    line_problems: list[LoadProblem] = []
    listed = read_split_lists(lists, loaded, line_problems)
    left_out = {p.sample_id: p.path for p in entry_problems}  # videoID -> its entry's last problem's place
    _refuse_lists_not_found(listed, loaded, clips.keys() | left_out.keys(), lists, unread)
    entries = []
    for item in (i for i in listed if i.split in loaded):
        if item.video_id in clips:
            clip, path = clips[item.video_id]
            entries.append((item.split, clip, path, {"split_list": item.path.name}))
        else:
            dropped_at = left_out.get(item.video_id)
            line_problems.append(listed_clip_problem(item, dropped_at=dropped_at, hint=unread.hint))
    loaded_ids = {i.video_id for i in listed if i.split in loaded}
    result.problems += [p for p in entry_problems if p.sample_id is None or p.sample_id in loaded_ids]
    result.problems += line_problems
    unlisted = len(clips.keys() - {i.video_id for i in listed})
    report_unlisted(unlisted, lists)
    result.metadata["split_lists"] = {"files": {shown_path(corpus_dir, p): s for s, p in lists.items()},
                                      "not_read": [shown_path(corpus_dir, p) for p in unread_split_lists(lists)],
                                      "unlisted_clips": unlisted}
    return entries


def _refuse_lists_not_found(listed: list[ListedClip], loaded: set[str], found: set[str], lists: dict[str, Path],
                            unread: UnreadFiles) -> None:
    """Refuse a list loaded none of whose clips an annotation file read holds (`found`: their videoIDs, entries
    left out included) where an annotation file is missing: its split would be empty, its every line a problem.

    Raises:
        CorpusNotFoundError: such a list, named with the annotation files missing and the folder looked in.
    """
    if not unread.absent:
        return
    for split in sorted(loaded, key=list(lists).index):
        ids = [i.video_id for i in listed if i.split == split]
        if ids and not any(video_id in found for video_id in ids):
            missing = ", ".join(unread.absent)
            raise CorpusNotFoundError(
                f"none of the {len(ids)} clips {lists[split]} lists (split {split!r}) is in the annotation files "
                f"read, and {missing} {'is' if len(unread.absent) == 1 else 'are'} not in {unread.folder}; put "
                f"{missing} there, or name the folder holding the annotation files with -o annotations_dir=")


def read_split_lists(lists: dict[str, Path], loaded: set[str], problems: list[LoadProblem]) -> list[ListedClip]:
    """The clips the lists assign, in list order (train, val, test), each in the first list naming it; a clip
    listed again is recorded as a problem where one of its two splits is in `loaded`."""
    first: dict[str, ListedClip] = {}
    for split, path in lists.items():
        for line, video_id in _list_lines(path):
            listed = ListedClip(video_id, split, path, line)
            kept = first.setdefault(video_id, listed)
            if kept is not listed and loaded & {kept.split, split}:
                problems.append(repeated_entry_problem(video_id, listed.where, f"clip {video_id}",
                                                       listed_again(kept.split, split), kept.where, "line"))
    return list(first.values())


def _list_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, videoID) of each line of a list file that is not blank, stripped."""
    return [(n, text.strip()) for n, text in enumerate(read_text(path).splitlines(), 1) if text.strip()]


def listed_clip_problem(listed: ListedClip, *, dropped_at: str | None, hint: str) -> LoadProblem:
    """The problem of a listed clip that no annotation file read gives captions: its entry was left out (its own
    problem named at `dropped_at`), or no file lists it (`hint` says which files were not read)."""
    reason = (f"is in the annotation files, but its entry was left out (its problem is named at {dropped_at})"
              if dropped_at is not None else f"is in none of the annotation files read{hint}")
    return LoadProblem(listed.video_id, listed.where, f"clip {listed.video_id}, listed in split {listed.split!r}, "
                       f"{reason}; line left out")


def report_unlisted(count: int, lists: dict[str, Path]) -> None:
    """Log how many clips of the annotation files no list names (left out: they are no errors)."""
    if count:
        log.warning("VATEX: %s clips of the annotation files are in none of the split lists (%s) and are left out",
                    f"{count:,}", ", ".join(p.name for p in lists.values()))
