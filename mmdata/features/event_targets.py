"""`event-targets`: a sample's timed sound events as frame-level multi-hot targets (sound event detection).

The events come from the samples table only: a row's `extra` JSON holds them as
    {"events": [[0.0, 1.25, "Speech"], [0.5, 10.0, "Music"]], "audio_duration": 10.0, ...}
(`[start, end, class name]`, seconds of the sample's audio file; the `audioset` loader's option strong fills
it, and a manifest can give an `events` column). The class names and their column order are a classes file
(`mmdata.fusion.classes.read_classes_file`: one name per line, AudioSet's class_labels_indices.csv, or its
strong labels' mid_to_display_name.tsv).

The frames tile the sample's audio span as `mmdata check` measures it (`records.media_spans` with the audio's
duration keys; a segment's start/end where set): frame k is [t0 + k/r, t0 + (k+1)/r), the last one cut at the
span's end, so a span of d seconds has ceil(d x r) frames, the count `check` expects (d x r). Column c of a
frame is the fraction of it that the union of class c's events covers (`targets=soft`), or 1.0 where that
union covers at least half of it, else 0.0 (`targets=hard`, the default). The table is a sequence table
(`item_axis='time'`) with each frame's interval, ready for `mmdata align`. The output starts as zeros; each class's events, merged into their union, add the seconds they cover of the
frames they overlap to that class's column only (`frame_targets`), so the work grows with the events and the
frames they span, not with every class.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mmdata.alignment.core import EPSILON as ALIGN_EPSILON
from mmdata.errors import ConfigError, CorpusFormatError
from mmdata.features.base import Extractor, register_extractor
from mmdata.fusion.classes import closest_class, names_fingerprint, read_classes_file
from mmdata.records import EVENTS_KEY, duration_keys, media_span_of, row_extra
from mmdata.store.metadata import FeatureSpec

Targets = Literal["hard", "soft"]
#: Frames a span of d seconds holds: ceil(d x rate), less this much (float noise: 10 s at 10 Hz is 100 frames, not 101).
FRAME_COUNT_SLACK = 1e-6
#: The share of half a frame an event may fall short of and still mark it (`targets=hard`): float noise in frame
#: edges, relative so that a last frame cut to a sliver is held to half of itself too.
HALF_FRAME_SLACK = 1e-9


@dataclass(frozen=True)
class EventTargetsConfig:
    #: The classes file (required to run; "" only lets the extractor be named and listed): its names, in its
    #: order, are the columns of a frame.
    classes: str = ""
    #: Frames per second.
    frame_rate: float = 10.0
    #: 'hard': 1.0 where a class's events cover at least half the frame; 'soft': the fraction they cover.
    targets: Targets = "hard"

    def __post_init__(self) -> None:
        check_frame_rate(self.frame_rate, "frames")


def check_frame_rate(frame_rate: float, unit: str) -> None:
    """Refuse a `frame_rate` option that is no finite number > 0 of `unit` ("frames", "steps") per second."""
    if not (math.isfinite(frame_rate) and frame_rate > 0):
        raise ValueError(f"frame_rate must be a number of {unit} per second > 0, got {frame_rate}")


@dataclass(frozen=True)
class SampleEvents:
    """One sample's events as class indices and (start, end) seconds, and the (start, end) of its audio span."""

    class_ids: np.ndarray  # (n,) int64 column of each event
    intervals: np.ndarray  # (n, 2) float64 seconds of the audio file
    span_start: float
    span_end: float


def load_class_names(classes: str) -> tuple[str, ...]:
    """The class names of the classes file `classes` (a path as the option gives it), in column order.

    Raises:
        ConfigError: the file cannot be read or is no classes file (`read_classes_file`), named as this option.
    """
    if not classes.strip():
        raise ConfigError("extractor 'event-targets': option classes is required: a classes file whose names are the "
                          "columns, e.g. event-targets:classes=class_labels_indices.csv (one name per line, "
                          "AudioSet's class_labels_indices.csv or mid_to_display_name.tsv)")
    path = Path(classes).expanduser()
    if not path.is_file():
        raise ConfigError(f"extractor 'event-targets' option classes={classes}: no such file ({path.resolve()}); "
                          "expected a file of class names (one per line, AudioSet's class_labels_indices.csv or "
                          "mid_to_display_name.tsv)")
    try:
        return tuple(read_classes_file(path))
    except ConfigError as e:
        raise ConfigError(f"extractor 'event-targets' option classes={classes}: {e}") from e


def read_events(row: dict[str, Any], class_index: dict[str, int], classes_file: str) -> SampleEvents:
    """The `extra['events']` of a samples-table row, validated, with the sample's audio span.

    Raises:
        CorpusFormatError: `extra` that is not JSON, no event list, a malformed event (not [start, end, name]
            with finite 0 <= start <= end and a non-blank name), a name not in the classes file, or a span of
            unknown end (`audio_span`); each naming the sample.
    """
    sample_id = row.get("sample_id")
    extra = row_extra(row)
    entries = extra.get(EVENTS_KEY)
    if not isinstance(entries, list):
        raise CorpusFormatError(
            f"sample {sample_id!r} has no event list: expected extra[{EVENTS_KEY!r}] = [[start, end, class name], ...] "
            f"(seconds of its audio file), got {entries!r:.80}; use a corpus with timed events (audioset with "
            "option strong=true, or a manifest with an `events` field)")
    class_ids = np.zeros(len(entries), np.int64)
    intervals = np.zeros((len(entries), 2), np.float64)
    for index, entry in enumerate(entries):
        class_ids[index] = _event_class(entry, index, sample_id, class_index, classes_file)
        intervals[index] = entry[:2]
    span_start, span_end = audio_span(row, extra)
    return SampleEvents(class_ids, intervals, span_start, span_end)


def _event_class(entry: Any, index: int, sample_id: Any, class_index: dict[str, int], classes_file: str) -> int:
    """The column of event `entry` (extra['events'][index]) after checking its form and its class name."""
    ok = isinstance(entry, (list, tuple)) and len(entry) == 3 and isinstance(entry[2], str) and bool(entry[2].strip())
    ok = ok and all(isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) for t in entry[:2])
    if not ok or not 0 <= entry[0] <= entry[1]:
        raise CorpusFormatError(
            f"sample {sample_id!r}: extra[{EVENTS_KEY!r}][{index}] = {entry!r:.80}; expected [start, end, class name] "
            "with finite 0 <= start <= end (seconds of the audio file) and a non-blank name")
    column = class_index.get(entry[2].strip())
    if column is None:
        raise CorpusFormatError(
            f"sample {sample_id!r}: event class {entry[2]!r} (extra[{EVENTS_KEY!r}][{index}]) is not in the classes "
            f"file {classes_file}{closest_class(entry[2], list(class_index))}; add it to the file, or use the "
            "classes file of the corpus's labels (AudioSet's strong labels: mid_to_display_name.tsv)")
    return column


def audio_span(row: dict[str, Any], extra: dict[str, Any]) -> tuple[float, float]:
    """(start, end) seconds of the sample's audio as `mmdata check` measures it (`_Context.spans`): the
    segment's start, else where the audio starts in its file (`records.START_KEYS`), else 0; the segment's
    end, else that start plus the audio's duration (`records.duration_keys('audio')`, read as
    `records.media_spans` reads them: `records.media_span_of`).

    Raises:
        CorpusFormatError: no end and no duration key, naming the keys looked for.
    """
    keys = duration_keys("audio")
    media_start, duration = media_span_of(extra, keys)
    start, end = _number_or_nan(row.get("start")), _number_or_nan(row.get("end"))
    span_start = start if math.isfinite(start) else (max(0.0, media_start) if math.isfinite(media_start) else 0.0)
    span_end = end if math.isfinite(end) else media_start + duration
    if not math.isfinite(span_end):
        named = ", ".join(f"extra[{key!r}]" for key in keys)
        raise CorpusFormatError(
            f"sample {row.get('sample_id')!r}: the length of its audio is unknown: no {named} and no segment end; "
            f"expected {keys[0]!r} (seconds) in extra or an end, to lay the frames over; the audioset loader records "
            f"it, a manifest gives it as an `{keys[0]}` or `duration` field")
    return span_start, span_end


def _number_or_nan(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def frame_edges(span_start: float, span_end: float, frame_rate: float) -> np.ndarray:
    """(T + 1,) float64 edges of the frames tiling [span_start, span_end] at `frame_rate`: frame k is
    [start + k/r, start + (k+1)/r), the last cut at span_end; T = ceil((end - start) x r), 0 for an empty span.

    No last frame shorter than `align`'s epsilon (`alignment.core.EPSILON`, 10 us) is laid: align skips such a
    reference step, so frames aligned to a `frame-grid` would have one step fewer than these targets, and `fuse`
    would refuse them (a clip of 2.000004 s at 10 Hz: 20 frames, not 21 with the last 4 us long)."""
    count = max(0, math.ceil((span_end - span_start - ALIGN_EPSILON) * frame_rate - FRAME_COUNT_SLACK))
    edges = span_start + np.arange(count + 1, dtype=np.float64) / frame_rate
    if count:
        edges[-1] = min(edges[-1], span_end)
    return edges


def merged_runs(class_ids: np.ndarray, intervals: np.ndarray) -> list[list[Any]]:
    """[class, start, end] of each class's events merged into their union (overlapping or meeting events of a
    class joined), sorted by class then start: a class's covered time never counts a moment twice. Plain Python:
    a clip holds a few events (AudioSet's strong labels: 9 on average), too few for NumPy's calls to pay."""
    runs: list[list[Any]] = []
    for class_id, start, end in sorted(zip(class_ids.tolist(), intervals[:, 0].tolist(), intervals[:, 1].tolist())):
        if runs and runs[-1][0] == class_id and start <= runs[-1][2]:
            runs[-1][2] = max(runs[-1][2], end)
        else:
            runs.append([class_id, start, end])
    return runs


def frame_targets(events: SampleEvents, frame_rate: float, classes: int,
                  targets: Targets) -> tuple[np.ndarray, np.ndarray]:
    """((T, classes) float32 targets, (T, 2) float64 frame intervals) of one sample.

    Each merged run of a class (`merged_runs`) adds the seconds it covers of each frame it overlaps to its class's
    column (float64; the runs of a class are disjoint, so a column sums to the union's coverage); soft targets
    are that over the frame's length, hard ones 1 where it is at least half. Only the classes present are
    computed; the other columns stay the zeros the output starts as (most of AudioSet's 456). ~90 us a 10 s
    clip of ~10 events at 10 Hz (benchmarks/event_targets_bench.py)."""
    edges = frame_edges(events.span_start, events.span_end, frame_rate)
    count = len(edges) - 1
    out = np.zeros((count, classes), np.float32)
    lengths = np.diff(edges)
    at = edges.tolist()  # Python floats: the per-run arithmetic below is on a few scalars
    covered: dict[int, np.ndarray] = {}  # class -> (T,) seconds of each frame its events cover
    for class_id, start, end in merged_runs(events.class_ids, events.intervals) if count else ():
        start, end = max(start, at[0]), min(end, at[count])  # the part inside the span (a cut last frame ends early)
        if end <= start:
            continue
        first = max(math.floor((start - at[0]) * frame_rate), 0)  # the frames the run overlaps
        last = min(math.ceil((end - at[0]) * frame_rate), count)
        if last <= first:
            continue
        column = covered.get(class_id)
        if column is None:
            column = covered[class_id] = np.zeros(count)
        # the frames it overlaps, whole, less what of the first and the last lies outside the run
        column[first:last] += lengths[first:last]
        column[first] -= max(start - at[first], 0.0)
        column[last - 1] -= max(at[last] - end, 0.0)
    if covered:
        present = np.fromiter(covered, np.int64, len(covered))
        seconds = np.stack(list(covered.values()), axis=1)
        length = lengths[:, None]
        if targets == "soft":
            out[:, present] = np.clip(seconds / np.maximum(length, np.finfo(np.float64).tiny), 0.0, 1.0)
        else:
            out[:, present] = seconds >= 0.5 * length * (1.0 - HALF_FRAME_SLACK)
    return out, np.stack([edges[:-1], edges[1:]], axis=1)


@register_extractor
class EventTargets(Extractor):
    """Frame-level multi-hot (or coverage) targets of a sample's timed sound events, with frame intervals."""

    name: ClassVar[str] = "event-targets"
    modality: ClassVar = "audio"
    config_type: ClassVar[type] = EventTargetsConfig
    decode_in_workers: ClassVar[bool] = False  # reads the samples table's `extra` only, no media
    safe_decoder: ClassVar[bool] = True
    libraries: ClassVar[tuple[str, ...]] = ("numpy",)

    @functools.cached_property
    def class_names(self) -> tuple[str, ...]:
        """The classes file's names, read once, here: workers (processes, Ray) get them with the config
        (`__getstate__`), so a relative path, a file only this machine holds or one edited during the run
        gives every worker the columns recorded in the provenance."""
        return load_class_names(self.config.classes)

    def __getstate__(self) -> dict[str, Any]:
        # without a classes file (an extractor only named) there are no names to ship: a run stops at check_ready
        return {"config": self.config, "class_names": self.class_names if self.config.classes.strip() else None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])
        if state.get("class_names") is not None:
            self.__dict__["class_names"] = state["class_names"]

    @functools.cached_property
    def class_index(self) -> dict[str, int]:
        """Class name -> its column."""
        return {name: column for column, name in enumerate(self.class_names)}

    def check_ready(self) -> None:
        self.class_names  # noqa: B018 - a classes file that cannot be read stops the run before it writes

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=len(self.class_names), kind="sequence", intervals=True,
                           frame_rate=float(self.config.frame_rate), item_axis="time")

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        names = self.class_names
        fingerprint = names_fingerprint(names)
        # Under `versions`: resuming after the file's names changed is refused, as after a library upgrade.
        out["versions"][f"classes:{Path(self.config.classes).name}"] = fingerprint[:16]
        out["classes"] = {"path": str(Path(self.config.classes).expanduser().resolve()), "count": len(names),
                          "sha256": fingerprint}
        return out

    def decode(self, row: dict[str, Any], corpus_root: Path) -> SampleEvents:
        return read_events(row, self.class_index, self.config.classes)

    def compute(self, items: list[SampleEvents]) -> list[tuple[np.ndarray, np.ndarray]]:
        classes = len(self.class_names)
        return [frame_targets(events, self.config.frame_rate, classes, self.config.targets) for events in items]
