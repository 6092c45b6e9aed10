"""AudioSet's temporally-strong labels (Hershey et al., ICASSP 2021, "The benefit of temporally-strong labels in
audio event classification"), read for the `audioset` loader's option strong.

Google's strong-label release (research.google.com/audioset/download_strong.html) is two event lists and a name
table; the sound is that of the weak release's 10 s clips:
    audioset_train_strong.tsv   934,821 events in 103,463 clips of the balanced and unbalanced training sets
    audioset_eval_strong.tsv    139,538 events in 16,996 clips of the evaluation set
    mid_to_display_name.tsv     `<mid>\\t<display name>` per line, no header: the 456 labels the events use, ~35
                                of which class_labels_indices.csv's 527 lack (github.com/audioset/ontology/issues/9)
An event list opens with the header `segment_id\\tstart_time_seconds\\tend_time_seconds\\tlabel` (a copy may drop
it: the events are then read from line 1; another header, such as DCASE's `filename event_label onset offset`,
is refused), then one event a line, tab-separated: `b0RFKhbpFJA_30000\\t0.000\\t10.000\\t/m/03m9d0z`: the clip
`<youtube_id>_<start ms>` (the weak loader's sample id), the event's start and end in seconds inside the 10 s
clip, its MID.

This module reads those files into clips with their events; `audioset.py` finds the files and the clips' media.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mmdata.corpora.base import LoadProblem, gc_paused, read_text, seconds_or_none
from mmdata.corpora.media_captions import repeated_entry_problem
from mmdata.errors import CorpusFormatError

#: The strong sets, each with the split its clips go to.
STRONG_SET_SPLIT = {"train_strong": "train", "eval_strong": "test"}
#: The weak sets whose folders hold a strong set's clips, first first (the training clips were drawn from both).
STRONG_SET_SUBSETS = {"train_strong": ("balanced_train", "unbalanced_train"), "eval_strong": ("eval",)}
STRONG_FILE = "audioset_{}.tsv"  # audioset_train_strong.tsv, audioset_eval_strong.tsv
DISPLAY_NAMES_FILE = "mid_to_display_name.tsv"
STRONG_COLUMNS = ("segment_id", "start_time_seconds", "end_time_seconds", "label")
#: Where Google serves the strong-label files (`audioset_train_strong.tsv`, ..., `mid_to_display_name.tsv`).
STRONG_URL = "http://storage.googleapis.com/us_audioset/youtube_corpus/strong/"
CLIP_SECONDS = 10.0
#: How far past the clip's 10 s an event may end (float noise in a copy's rewrite, half the annotation's 0.1 s
#: resolution); an event ending later is a problem.
END_TOLERANCE = 0.05
#: A clip id: `<youtube_id>_<start ms>` (the id split at its last `_`).
SEGMENT_ID = re.compile(r"([^\s/]+)_(\d+)")

#: An event as `extra.events` holds it: [start, end, display name], seconds in the clip file.
Event = tuple[float, float, str]
#: An event as read: start, end, display name, MID and the line listing it (to name a repeat where it is).
TimedEvent = tuple[float, float, str, str, int]


@dataclass(frozen=True, slots=True)
class StrongClip:
    """One clip of a strong set with its events (sorted by start, end, name) and the MIDs of its distinct labels
    (in the order they first occur there); `line` is the line of its first event."""

    youtube_id: str
    start_ms: int
    events: tuple[Event, ...]
    mids: tuple[str, ...]
    strong_set: str
    file: str
    line: int

    @property
    def sample_id(self) -> str:
        return f"{self.youtube_id}_{self.start_ms}"

    @property
    def split(self) -> str:
        return STRONG_SET_SPLIT[self.strong_set]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def read_display_names(path: Path) -> dict[str, str]:
    """MID -> display name from mid_to_display_name.tsv (`/m/09x0r\\tSpeech`, no header).

    Raises:
        CorpusFormatError: a line without a tab, an empty MID or name, or a MID listed again, named `file:line`.
    """
    names: dict[str, str] = {}
    first_at: dict[str, int] = {}
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        mid, tab, name = line.partition("\t")
        mid, name = mid.strip(), name.strip()
        if not tab or not mid or not name:
            raise CorpusFormatError(f"{path}:{number}: {line[:120]!r} is no `<mid>\\t<display name>` line; "
                                    f"expected e.g. /m/09x0r<tab>Speech (AudioSet's {DISPLAY_NAMES_FILE})")
        if mid in first_at:
            raise CorpusFormatError(f"{path}:{number}: MID {mid} is listed again (first at line {first_at[mid]}); "
                                    "expected each label once")
        first_at[mid] = number
        names[mid] = name
    return names


def read_strong_clips(path: Path, strong_set: str, names: dict[str, str], names_from: str,
                      problems: list[LoadProblem]) -> list[StrongClip]:
    """The clips of one strong event list, in the order of their first event, each with its events sorted. A
    line that is no event (the release's header line is skipped), or repeats an event of its clip (same start,
    end and MID), is named in `problems` (`file:line`) and left out; the clip's other events are kept. `names`
    maps the MIDs to display names, read from `names_from` (as a MID unknown there is named). The garbage
    collector is paused meanwhile (`gc_paused`: the events make no cycles, and its passes over the growing
    clips cost about a quarter of reading a file the size of the train set).

    Raises:
        CorpusFormatError: the file is not UTF-8, or its first line is a header other than the release's, named
            `file:line`.
    """
    with gc_paused():
        return _file_clips(path, strong_set, names, names_from, problems)


def _file_clips(path: Path, strong_set: str, names: dict[str, str], names_from: str,
                problems: list[LoadProblem]) -> list[StrongClip]:
    """`read_strong_clips`' work, line by line (the garbage collector paused by the caller)."""
    file = str(path)  # once: a Path formats itself anew each time (935k lines in the train set)
    limit = CLIP_SECONDS + END_TOLERANCE
    lines = read_text(path).splitlines()
    _check_header(lines, file)
    grouped: dict[str, tuple[int, list[TimedEvent]]] = {}  # segment id -> first line, events
    for number, line in enumerate(lines, start=1):
        if _add_regular_event(line, number, names, limit, grouped):
            continue
        event = _checked_event(line, names, names_from, f"{file}:{number}", problems)
        if event is not None:
            segment_id, start, end, name, mid = event
            grouped.setdefault(segment_id, (number, []))[1].append((start, end, name, mid, number))
    return [_clip(segment_id, events, strong_set, file, line, problems)
            for segment_id, (line, events) in grouped.items()]


def _check_header(lines: list[str], file: str) -> None:
    """Refuse an event list whose first line that is not blank is a header (its second field no number) other
    than the release's `STRONG_COLUMNS`: read as events, each of its lines would be a problem and the load
    empty. A first line that is an event (a copy without the header) is read as one.

    Raises:
        CorpusFormatError: another header, named `file:line`.
    """
    number, line = next(((n, line) for n, line in enumerate(lines, start=1) if line.strip()), (0, ""))
    fields = line.split()
    if len(fields) < 2 or fields == list(STRONG_COLUMNS) or _is_number(fields[1]):
        return
    raise CorpusFormatError(f"{file}:{number}: header {line.strip()[:120]!r}; expected "
                            f"{'<tab>'.join(STRONG_COLUMNS)} (Google's audioset_*_strong.tsv)")


def _is_number(text: str) -> bool:
    """Whether `text` reads as a number (an event's start time, where a header has a column's name)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _add_regular_event(line: str, number: int, names: dict[str, str], limit: float,
                       grouped: dict[str, tuple[int, list[TimedEvent]]]) -> bool:
    """Add a line spelled as the release spells it (four tab-separated fields, times in the clip, a known MID)
    to its clip's events in `grouped`; False (nothing added) for any other line, which `_checked_event` reads
    and names. A split and two float() calls: twice as fast as one regular expression on the 935k lines of the
    train set; a segment id is checked once, when its clip is first seen."""
    fields = line.split("\t")
    if len(fields) != 4:
        return False
    segment_id, start_text, end_text, mid = fields
    try:
        start, end = float(start_text), float(end_text)
    except ValueError:
        return False
    name = names.get(mid)
    if name is None or not 0 <= start < end <= limit:  # NaN fails each comparison
        return False
    clip = grouped.get(segment_id)
    if clip is None:
        if SEGMENT_ID.fullmatch(segment_id) is None:
            return False
        clip = grouped[segment_id] = (number, [])
    clip[1].append((start, end, name, mid, number))
    return True


def _clip(segment_id: str, events: list[TimedEvent], strong_set: str, file: str, line: int,
          problems: list[LoadProblem]) -> StrongClip:
    """A clip of its events, sorted by start, end, name; an event an earlier line of the clip lists with the same
    start, end and MID is left out and named in `problems` at its line (`REPEATED_ENTRY`, as the weak loader
    names a repeated row)."""
    events.sort()
    kept = [events[0]]
    for event in events[1:]:
        first = kept[-1]
        if event[:4] != first[:4]:
            kept.append(event)
            continue
        start, end, _, mid, number = event
        problems.append(repeated_entry_problem(segment_id, f"{file}:{number}",
                                               f"event {mid} {start:g}-{end:g} s of clip {segment_id}", "again",
                                               f"{file}:{first[4]}", "event"))
    youtube_id, _, start_ms = segment_id.rpartition("_")
    mids = tuple(dict.fromkeys(event[3] for event in kept))
    return StrongClip(youtube_id, int(start_ms), tuple((start, end, name) for start, end, name, _, _ in kept), mids,
                      strong_set, file, line)


def _checked_event(line: str, names: dict[str, str], names_from: str, where: str,
                   problems: list[LoadProblem]) -> tuple[str, float, float, str, str] | None:
    """A line's event (segment id, start, end, display name, MID) read field by field: a line of another
    spelling than the release's (spaces, a sign), or one the fast path found wrong; None for a blank or a header
    line and for a line that is no event (its problem recorded at `where`)."""
    fields = line.split()
    if not fields or fields == list(STRONG_COLUMNS):
        return None
    reason = _fields_reason(fields)
    if reason is not None:
        problems.append(LoadProblem(_sample_id_of(fields[0]), where, f"{reason}; event left out"))
        return None
    segment_id, start_text, end_text, mid = fields
    start, end = seconds_or_none(start_text), seconds_or_none(end_text)
    reason = _times_reason(start_text, start, end_text, end) or _label_reason(mid, names, names_from)
    if reason is not None:
        problems.append(LoadProblem(segment_id, where, f"{reason}; event left out"))
        return None
    return segment_id, start, end, names[mid], mid


def _fields_reason(fields: list[str]) -> str | None:
    """Why a line split at white space names no event's four fields, or None."""
    if len(fields) != len(STRONG_COLUMNS):
        shown = "\\t".join(fields)[:120]
        return (f"expected {len(STRONG_COLUMNS)} tab-separated fields ({', '.join(STRONG_COLUMNS)}), got "
                f"{len(fields)}: {shown!r}")
    if SEGMENT_ID.fullmatch(fields[0]) is None:
        return (f"segment_id {fields[0]!r} is not <youtube_id>_<start ms> (expected e.g. b0RFKhbpFJA_30000, the "
                "clip's start in milliseconds)")
    return None


def _sample_id_of(segment_id: str) -> str | None:
    """The sample id a bad line names, where its first field is one."""
    return segment_id if SEGMENT_ID.fullmatch(segment_id) else None


def _times_reason(start_text: str, start: float | None, end_text: str, end: float | None) -> str | None:
    """Why an event's times are not a span inside its 10 s clip, or None."""
    if start is None or end is None:
        name, text = ("start_time_seconds", start_text) if start is None else ("end_time_seconds", end_text)
        return f"{name} {text!r} is not a number of seconds >= 0 (expected e.g. 2.627, seconds inside the clip)"
    if start >= end:
        return f"start_time_seconds {start_text} is not before end_time_seconds {end_text}"
    if end > CLIP_SECONDS + END_TOLERANCE:
        return (f"end_time_seconds {end_text} is past the clip's {CLIP_SECONDS:g} s (times are seconds inside the "
                "clip, not in the video)")
    return None


def _label_reason(mid: str, names: dict[str, str], names_from: str) -> str | None:
    """Why an event's label names no known label, or None."""
    if mid in names:
        return None
    return f"MID {mid} is not in {names_from} (expected a MID of the strong labels' {DISPLAY_NAMES_FILE})"
