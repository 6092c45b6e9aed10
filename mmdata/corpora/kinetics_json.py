"""Kinetics' annotation JSON (`kinetics_train.json`, `kinetics_val.json`, `kinetics_test.json`), for the `kinetics`
loader, and the clip record its CSVs and JSON files both make.

Kinetics-400's first release (DeepMind's kinetics400.tar.gz, the ActivityNet crawler's copies) holds per split an
object keyed by YouTube id (`train.json`, `kinetics-400_train.json`, `kinetics_600_val.json` in some copies):
    {"---QUuC4vJs": {"annotations": {"label": "testifying", "segment": [84.0, 94.0]}, "duration": 10.0,
                     "subset": "train", "url": "https://www.youtube.com/watch?v=---QUuC4vJs"}, ...}
An entry is the clip a CSV row is: `segment` its time_start and time_end (integers where whole, as the clip files'
`%06d` names print them); a test entry may have no `label` (or an empty one). `duration` and `url` are not read. The release writes
each file on one line, so an entry is named `file:line:column: ---QUuC4vJs` (its member `...: ---QUuC4vJs.subset`),
located only when a problem names it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from mmdata.corpora.base import REPEATED_ENTRY, JsonLocator, LoadProblem, json_number, read_json, short_repr, \
    text_problem
from mmdata.corpora.json_keys import REPEATED_KEY_HINT, RepeatedKey
from mmdata.errors import CorpusFormatError

#: An entry's `subset` -> the split it names (the release writes `train`, `validate`, `test`).
SUBSETS = {"train": "train", "training": "train", "validate": "val", "validation": "val", "val": "val",
           "test": "test", "testing": "test"}
#: The latest time in seconds read as one (as the CSVs' times are held).
MAX_SECONDS = 10**9
LAYOUT = ('{"<youtube_id>": {"annotations": {"label": ..., "segment": [start, end]}, "subset": ...}, ...} '
          "(Kinetics' kinetics_train.json)")


@dataclass(frozen=True)
class Clip:
    """One clip an annotation file lists, a CSV row or a JSON entry (`label` None: a test file without labels)."""

    youtube_id: str
    start: float
    end: float
    label: str | None
    split: str
    #: `file:line` of a CSV row; for a JSON entry, what names it (`file:line:column: <youtube_id>`), called only
    #: when a problem names the clip.
    location: str | Callable[[], str]

    @property
    def where(self) -> str:
        return self.location if isinstance(self.location, str) else self.location()

    @property
    def sample_id(self) -> str:
        return f"{self.youtube_id}_{int(self.start):06d}_{int(self.end):06d}"


def whole_seconds(value: float) -> float:
    """A time as the clip's record holds it: an int where whole (as the file names print it), else a float."""
    return int(value) if float(value).is_integer() else float(value)


def read_json_clips(path: Path, split: str, problems: list[LoadProblem]) -> list[Clip]:
    """The readable entries of one annotation JSON in file order, of `split` (the file's); an entry that is not one
    clip of it (no object, no `annotations.segment`, no [start, end] of seconds with start < end, an empty label, no
    label outside the test split, another `subset`, a YouTube id the file names again) is named in `problems`
    (`file:line:column: <youtube_id>`) and left out.

    Raises:
        CorpusFormatError: the file is not UTF-8, not JSON, not an object of entries, or holds no entry with
            `annotations` (another format's file of the same name: 3D-ResNets' `{"labels", "database"}`).
    """
    repeats: list[RepeatedKey] = []
    data = read_json(path, repeats)
    locate = JsonLocator(path, first_of_repeated=True)  # a repeated YouTube id's entry kept is its first
    if not isinstance(data, dict):  # the message only then: a whole file's repr is no small cost
        raise CorpusFormatError(f"{locate.where()}: expected an object of clips, {LAYOUT}, got {short_repr(data)}")
    if data and not any(isinstance(entry, dict) and "annotations" in entry for entry in data.values()):
        raise CorpusFormatError(f"{locate.where()}: no entry has 'annotations' (keys: {short_repr(list(data))}); "
                                f"expected {LAYOUT}; -o annotations=csv reads the CSVs alone")
    problems += [_repeated_problem(repeat) for repeat in repeats]
    clips = []
    for youtube_id, entry in data.items():
        clip = _entry_clip(youtube_id, entry, split, partial(locate.where, youtube_id), problems)
        if clip is not None:
            clips.append(clip)
    return clips


def _repeated_problem(repeat: RepeatedKey) -> LoadProblem:
    """The problem of an entry naming a YouTube id the file named before (its first entry is read)."""
    return LoadProblem(repeat.key, f"{repeat.where}: {repeat.key}", (
        f"YouTube id {repeat.key!r} is listed again in this file (first at line {repeat.first}); its later entry "
        f"{short_repr(repeat.value)} left out; {REPEATED_KEY_HINT}"), REPEATED_ENTRY)


def _entry_clip(youtube_id: str, entry: Any, split: str, where: Callable[..., str],
                problems: list[LoadProblem]) -> Clip | None:
    """The clip of an entry, or None with its problem recorded (named at the entry, or the member at fault)."""
    found = _read_entry(youtube_id, entry, split, where)
    if isinstance(found, Clip):
        return found
    steps, reason = found
    named = youtube_id if text_problem(youtube_id, "a YouTube id") is None else None
    at = where(*steps) if named else where(*steps).encode("utf-8", "backslashreplace").decode()  # '\ud800' as text
    problems.append(LoadProblem(named, at, f"{reason}; entry left out"))
    return None


def _read_entry(youtube_id: str, entry: Any, split: str,
                where: Callable[..., str]) -> Clip | tuple[tuple[str, ...], str]:
    """The clip of an entry of a file of `split`, else (the steps to the member at fault, why)."""
    unnamed = text_problem(youtube_id, "a YouTube id")
    if unnamed is not None or "/" in youtube_id:
        return (), unnamed or f"YouTube id {youtube_id!r} holds a /; expected a YouTube id"
    if not isinstance(entry, dict):
        return (), f"expected an object {{\"annotations\": {{\"label\", \"segment\"}}, ...}}, got {short_repr(entry)}"
    annotations = entry.get("annotations")
    if not isinstance(annotations, dict) or "segment" not in annotations:
        got = short_repr(annotations) if "annotations" in entry else "no 'annotations'"
        return (), f"expected 'annotations' {{\"label\": ..., \"segment\": [start, end]}}, got {got}"
    segment = annotations["segment"]
    if not isinstance(segment, list) or len(segment) != 2 or not all(json_number(t) for t in segment):
        return ("annotations", "segment"), f"expected [start, end] in seconds (two numbers), got {short_repr(segment)}"
    start, end = segment
    if not all(0 <= t < MAX_SECONDS for t in segment):
        return ("annotations", "segment"), f"segment {short_repr(segment)}: a time is no number of seconds >= 0"
    if start >= end:
        return ("annotations", "segment"), f"segment start {start!r} is not before its end {end!r}"
    label = _label(annotations, split)
    if isinstance(label, tuple):
        return label
    subset = entry.get("subset")
    if subset is not None and (not isinstance(subset, str) or SUBSETS.get(subset.strip().lower()) != split):
        named = SUBSETS.get(subset.strip().lower()) if isinstance(subset, str) else None
        why = f"is split {named!r}" if named else f"is no Kinetics split ({', '.join(SUBSETS)})"
        return ("subset",), (f"subset {short_repr(subset)} {why}, not this file's {split!r} (a file holds one "
                             "split; move the entry to its split's file)")
    return Clip(youtube_id, whole_seconds(start), whole_seconds(end), label, split, where)


def _label(annotations: dict, split: str) -> str | None | tuple[tuple[str, ...], str]:
    """The entry's stripped label (None: none, allowed in the test split alone), or (steps, why) of a fault."""
    label = annotations.get("label")
    if split == "test" and isinstance(label, str) and not label.strip():
        label = None  # a test entry's empty label: no class, as a test CSV without a label column
    if label is None:
        return None if split == "test" else (("annotations",), "no annotations.label; expected the clip's class "
                                                              "(only test entries go without)")
    problem = text_problem(label.strip() if isinstance(label, str) else label, "a label")
    return (("annotations", "label"), problem) if problem is not None else label.strip()
