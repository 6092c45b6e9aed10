"""Cutting one table of whole videos into label segments: which tables can be cut
(`_choose_tables`), each video's rows read in the samples' order (`_source_rows`), where each
video ends (`_table_ends`), and per segment the rows overlapping it, clipped to it, or why it gets
no feature (`_Cutter`, `_cut`: the `segment_rules` the csd loader applies too).

`mmdata.alignment.segment` drives a table through these; `mmdata.alignment.segment_shards` writes
what they cut.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from mmdata.alignment.core import interval_problem
from mmdata.alignment.row_batches import batch_sequences, shard_row_batches
from mmdata.alignment.segment_rules import NO_ROW_ERROR, OVERRUN_ERROR, no_row_reason, overrun_reason
from mmdata.alignment.segment_samples import Segment, _clip
from mmdata.errors import DatasetError, UnknownNameError
from mmdata.options import did_you_mean
from mmdata.records import duration_keys, media_ends
from mmdata.store import layout
from mmdata.store.arrays import interval_bounds, sequence_rows
from mmdata.store.grown_samples import update_left_reason
from mmdata.store.reader import Dataset
from mmdata.store.shards import read_shard

#: Columns that hold one value per feature row and so follow the rows into the segments.
ROW_COLUMNS = ("keys", "words")
# One video's cut rows: sample id -> (features, intervals, {column: values}), or why it has none.
Cut = dict[str, "tuple[np.ndarray, np.ndarray, dict[str, list]] | _Failed"]


def _choose_tables(source: Dataset, tables: Sequence[str] | None) -> tuple[list[str], dict[str, str]]:
    """(tables to cut, {table: why it is skipped}); a table named in `tables` must be cuttable, and is
    cut once however often it is named."""
    skipped = {}
    chosen = list(dict.fromkeys(tables or source.table_names))
    for name in chosen:
        if name not in source.table_names:
            raise UnknownNameError(f"table {name!r} to cut: dataset {source.root} has no table {name!r}; tables: "
                                   f"{source.table_names}{did_you_mean(name, source.table_names)}")
        why = _why_not_cuttable(source, name)
        if why and tables:
            raise DatasetError(f"table {name!r} of {source.root} cannot be cut into segments: {why}")
        if why:
            skipped[name] = why
    return [n for n in chosen if n not in skipped], skipped


def _why_not_cuttable(source: Dataset, name: str) -> str | None:
    """Why table `name` cannot be cut into segments (its kind, its rows, or incomplete: why, from
    `grown_samples.update_left_reason` for a table an `extract --update` left), or None."""
    why = _why_not_clippable(source, name)
    if why is not None or _finished(source, name):
        return why
    reason = None if source.entry(name).complete else update_left_reason(source, name)
    return reason or f"incomplete (an interrupted run); finish it in {source.root} first"


def _cuttable(source: Dataset, name: str) -> bool:
    """Whether table `name` can be cut into segments, without wording why not (which, for an incomplete
    table, looks at what an update left: `_why_not_cuttable`)."""
    return _why_not_clippable(source, name) is None and _finished(source, name)


def _why_not_clippable(source: Dataset, name: str) -> str | None:
    """Why the rows of table `name` cannot be clipped to a segment (its kind, its intervals), or None."""
    spec = source.spec(name)  # an unknown name raises, listing the tables
    if spec.kind != "sequence":
        return ("pooled, one vector per video: a whole-video summary is no segment's feature; "
                "extract it again on the segmented dataset")
    if not spec.intervals or spec.dim is None:
        return "its rows have no intervals or no fixed width, so they cannot be clipped to a segment"
    return None


def _finished(source: Dataset, name: str) -> bool:
    """Whether the manifest marks table `name` complete and it has finished shards."""
    return source.entry(name).complete and bool(layout.shard_files(source.table_dir(name)))


def _source_rows(source: Dataset, name: str, shards: list[Path], columns: dict[str, pa.DataType]) -> Iterator[tuple[str, Any]]:
    """(video, (features, intervals, {column: values}) or None) per row, a record batch at a time, in the
    samples table's order (checked)."""
    ids = iter(source.samples_table(columns=["sample_id"]).column(0).to_pylist())
    dim = source.spec(name).dim
    for path in shards:
        for batch in shard_row_batches(path):
            values = {c: batch.column(c).to_pylist() for c in columns}
            for k, (video, rows) in enumerate(zip(batch.column("sample_id").to_pylist(), batch_sequences(batch, dim))):
                expected = next(ids, None)
                if video != expected:
                    raise DatasetError(f"table {name!r} of {source.root} holds {video!r} where the samples table has "
                                       f"{expected!r} ({path.name}); the dataset is inconsistent, re-run `mmdata extract`")
                yield video, None if rows is None else (*rows, {c: values[c][k] for c in columns})


@dataclass(frozen=True)
class _Failed:
    """A segment that gets no feature in a table (null, with this errors-table row)."""

    # no source features / past the video's end / no row overlaps it / the video's rows have unusable times
    kind: Literal["missing", "overrun", "empty", "times"]
    error_type: str
    path: str
    reason: str


@dataclass(frozen=True)
class _Cutter:
    """What cutting one table into segments needs, and why a segment gets no feature in it: past the
    end of its video (the media rule of audio/video extraction), or no row overlaps it (the SDK's
    align gives it no key)."""

    source: Dataset
    name: str
    labels: Path  # the label file, named in failures
    video_end: dict[str, tuple[float, str]]  # video -> (its end in seconds for this table, where it comes from)

    def no_features(self, video: str) -> _Failed:
        return _Failed("missing", "DatasetError", str(self.source.root), (
            f"video {video!r} has no features in {self.name!r} of the source dataset (see its errors); nothing to cut"))

    def bad_times(self, video: str, problem: str) -> _Failed:
        """Every segment of a video whose rows hold a NaN or an interval ending before it starts: clipping
        would drop the NaN rows silently and keep the reversed ones as pieces of negative length."""
        return _Failed("times", "DatasetError", str(self.source.root), (
            f"table {self.name!r}, video {video!r}: {problem}; no segment of this video cut from it; fix the "
            "table's times in the source dataset, e.g. extract it again (`mmdata check` names such rows)"))

    def overrun(self, segment: Segment, video: str) -> _Failed | None:
        """A segment running past its video's end by more than SEGMENT_OVERRUN_TOLERANCE of its length;
        a shorter overrun is kept, its rows stopping where the video's do (`segment_rules`, the rule
        the csd loader applies too)."""
        sample_id, start, end = segment[:3]
        video_end, known_by = self.video_end.get(video, (math.nan, ""))
        why = overrun_reason(self.name, sample_id, start, end, self.labels.name, video, video_end, known_by)
        return None if why is None else _Failed("overrun", OVERRUN_ERROR, str(self.labels), why)

    def no_row(self, segment: Segment, video: str, intervals: np.ndarray) -> _Failed:
        sample_id, start, end = segment[:3]
        span = (float(intervals[:, 0].min()), float(intervals[:, 1].max())) if len(intervals) else None
        return _Failed("empty", NO_ROW_ERROR, str(self.labels),
                       no_row_reason(self.name, sample_id, start, end, self.labels.name, video, span))


def _cut(cutter: _Cutter, video: str, row: Any, segments: list[Segment], columns: dict[str, pa.DataType]) -> Cut:
    """One video's rows per segment: those overlapping it, clipped to it (the SDK's `align(labels)`),
    or why the segment has none."""
    if row is None:
        return {s[0]: cutter.no_features(video) for s in segments}
    features, intervals, values = row
    problem = interval_problem(intervals)
    if problem:
        return {s[0]: cutter.bad_times(video, problem) for s in segments}
    cut: Cut = {}
    for segment, (rows, clipped) in zip(segments, _clip(segments, intervals)):
        failed = cutter.overrun(segment, video) or (None if len(rows) else cutter.no_row(segment, video, intervals))
        cut[segment[0]] = failed or (features[rows], clipped, {c: [values[c][r] for r in rows] for c in columns})
    return cut


# --- where each video ends ---------------------------------------------------------------------------

#: Where a video's end comes from when the samples record no media duration (`_table_ends`).
ROWS_END_ESTIMATE = (
    "only estimated from where its rows end over the dataset's tables, as the samples record no media duration; "
    "give the recordings' lengths: a `duration` column in mosi-raw's segments.csv, or extract the corpus again "
    "(mosi-raw records the WAV/MP4 lengths of whole recordings)")


def _video_ends(source: Dataset) -> dict[str, float]:
    """Each video's last row end over every temporal table of the source (its tables' intervals only):
    how long its recordings run where the samples record no media duration; videos of no row are absent."""
    ends: dict[str, float] = {}
    for name in source.table_names:
        if not _cuttable(source, name):
            continue
        for path in layout.shard_files(source.table_dir(name)):
            shard = read_shard(path, columns=["sample_id", "intervals"])
            for video, end in zip(shard.column("sample_id").to_pylist(), _last_row_ends(shard.column("intervals"))):
                if not math.isnan(end):
                    ends[video] = max(float(end), ends.get(video, -math.inf))
    return ends


def _last_row_ends(intervals: pa.ChunkedArray) -> np.ndarray:
    """Per sample, the latest end among its rows' intervals (NaN for a null or empty sequence)."""
    offsets, rows = sequence_rows(intervals)
    return interval_bounds(offsets, rows)[1]


def _table_ends(source: Dataset, name: str, video_ends: dict[str, float]) -> dict[str, tuple[float, str]]:
    """Each video's end for table `name`: the duration the samples record for the table's medium (as
    `mmdata check` takes it, `records.duration_keys`), else its last row end over the source's tables."""
    samples = source.samples_table(columns=["sample_id", "extra"])
    durations = media_ends(samples.column("extra"), duration_keys(source.entry(name).modality))
    ends: dict[str, tuple[float, str]] = {}
    for video, duration in zip(samples.column("sample_id").to_pylist(), durations):
        if math.isfinite(duration):
            ends[video] = (float(duration), "its media duration")
        elif video in video_ends:
            ends[video] = (video_ends[video], ROWS_END_ESTIMATE)
    return ends
