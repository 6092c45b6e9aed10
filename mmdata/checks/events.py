"""Timed sound events (a sample's `extra.events`, `[start, end, class name]` in seconds of its audio file) that
run past the end of that audio: the `event-targets` table made from them has no frame there, so the part of an
event past the audio's end is in no target. AudioSet's strong labels annotate 10 s where many clips are
shorter; elsewhere it points to wrong event times or a wrong duration.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks.issues import Issue, make_issue
from mmdata.records import EVENTS_KEY


def made_of_events(extractor: str, config: dict[str, Any]) -> bool:
    """A table of `event-targets`, or one `segment` cut from such a table (which records it as its source)."""
    source = config.get("source")
    return extractor == "event-targets" or (
        extractor == "segment" and isinstance(source, dict) and source.get("extractor") == "event-targets")


def last_event_ends(extra: pa.Array | pa.ChunkedArray, rows: np.ndarray | None = None) -> np.ndarray:
    """(n,) float64: the latest end among each sample's events, NaN where it has none (or no readable one).

    Only the chosen `rows` (a bool mask; None: all) whose JSON text names the key are parsed; an event that is not
    `[start, end, name]` with a finite end, or a row whose JSON cannot be read, is skipped (extraction reports it,
    naming the sample)."""
    out = np.full(len(extra), np.nan)
    named = pc.fill_null(pc.match_substring(extra, f'"{EVENTS_KEY}"'), False)
    named = np.asarray(named.to_numpy(zero_copy_only=False), bool)
    chosen = np.flatnonzero(named if rows is None else named & rows)
    if not len(chosen):
        return out
    texts = pc.take(extra, pa.array(chosen)).to_pylist()
    for row, text in zip(chosen.tolist(), texts):
        out[row] = _last_end(text)
    return out


def _last_end(text: str) -> float:
    try:
        events = json.loads(text).get(EVENTS_KEY)
        ends = [_number(event[1]) for event in events if isinstance(event, list) and len(event) == 3] \
            if isinstance(events, list) else []
    except (ValueError, AttributeError, TypeError, OverflowError, RecursionError):
        return math.nan  # not JSON, not an object, a number too large for a float, nested too deep
    ends = [end for end in ends if math.isfinite(end)]
    return max(ends) if ends else math.nan


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def check_events_within_media(table: str, sample_ids: pa.Array, event_ends: np.ndarray, media_end: np.ndarray,
                              tolerance: float, *, max_examples: int = 5) -> list[Issue]:
    """Warn about samples with an event ending more than `tolerance` seconds past their audio's end (media
    start + duration; samples of unknown duration are not judged).

    Args:
        event_ends: `last_event_ends` of the samples to judge (NaN: not judged); media_end: each sample's
            medium end (NaN: unknown).
        tolerance: seconds an event may overrun the audio unremarked (the caller's choice: half a target frame).
    """
    with np.errstate(invalid="ignore"):
        past = event_ends > media_end + tolerance
    if not past.any():
        return []
    first = int(np.argmax(past))
    overrun = (event_ends - media_end)[past]
    offenders = sample_ids.filter(pa.array(past)).slice(0, max_examples).to_pylist()
    return [make_issue(
        "events-past-media", "warning",
        f"an event ends at {event_ends[first]:.3f} s, past the end of the sample's audio at {media_end[first]:.3f} s; "
        f"the table has no frame there, so the last {float(overrun.max()):.3f} s of such events (the most among these "
        "samples) are in no target. Usual for clips shorter than their annotation (AudioSet's strong labels cover "
        "10 s); otherwise check the events' times and the audio's duration and start keys in extra "
        "(`audio_duration`, `duration`, `media_duration`; `audio_media_start`, `media_start`)",
        table=table, offenders=offenders, count=int(past.sum()), max_examples=max_examples,
    )]
