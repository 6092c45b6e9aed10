"""The sequence tables of a `.csd` folder and the rows they give each sample, for the `csd` loader.

A table (`_table`) reads one file's rows per sample (`_SequenceReader`): the rows that overlap a
label segment clipped to it with the SDK's rules, the rows of the segment's own key in a file keyed
by the label's segment ids (or its keys `vid[k][i]`), or every row of a whole-video sample (of its
keys, in a row-keyed file: `csd_keys`, rows keeping their keys in a `keys` column) (`_sample_rows`). A segment past
the end of its video, or one no row overlaps, gets no feature (`_SegmentRules`), as `mmdata segment`
gives it none. Values become float32 (T, D), words become pause flags plus the tokens, and -inf/NaN
follow the option `nonfinite` (`sanitize_nonfinite`, shared with the MMSA loaders).
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from mmdata.alignment.core import overlap_pieces
from mmdata.alignment.segment_rules import NO_ROW_ERROR, OVERRUN_ERROR, no_row_reason, overrun_reason
from mmdata.corpora.base import PrecomputedRow, PrecomputedTable
from mmdata.corpora.csd_keys import recorded_empty
from mmdata.corpora.csd_table_names import _recorded_identity
from mmdata.formats.csd import CsdFile, decode_words, join_rows
from mmdata.formats.csd_export_keys import KEYS_COLUMN
from mmdata.records import PAUSE_TOKENS
from mmdata.store.metadata import FeatureSpec

if TYPE_CHECKING:
    from mmdata.corpora.csd import CsdOptions, _FileInfo

#: What the option `nonfinite` does with -inf/NaN in features (see `sanitize_nonfinite`).
NonFinite = Literal["error", "zero", "keep"]


def is_pause(word: str) -> bool:
    """A pause token (`sp`, `SP`, `<sil>`, ...), matched case-insensitively as the word extractors match it."""
    return word.lower() in PAUSE_TOKENS


def sanitize_nonfinite(values: np.ndarray, policy: NonFinite) -> tuple[np.ndarray, int]:
    """Count -inf/NaN in `values`; with 'zero' replace them by 0 (a copy). 'error'/'keep' leave them."""
    finite = np.isfinite(values)
    count = int(values.size - np.count_nonzero(finite))
    if count and policy == "zero":
        values = np.where(finite, values, 0).astype(values.dtype, copy=False)
    return values, count


def beyond_float32(source: np.ndarray, values: np.ndarray) -> float | None:
    """The first finite value of a wider `source` that became inf as float32 `values`, or None.
    Only a source holding non-finite float32 values is searched (one pass to find none)."""
    if source.dtype.kind != "f" or source.dtype.itemsize <= 4:
        return None
    overflowed = np.isinf(values)
    if not overflowed.any():
        return None
    overflowed &= np.isfinite(source.reshape(values.shape))
    return float(source.reshape(values.shape)[overflowed][0]) if overflowed.any() else None


def nonfinite_error(count: int, where: str) -> str:
    return (f"{where}: {count} non-finite values (-inf/NaN) in the features; expected finite values; "
            "pass the option nonfinite=zero to replace them with 0, or nonfinite=keep to store them")


@dataclass(frozen=True)
class _SegmentFailedRow(PrecomputedRow):
    """A label segment `segment_rules` leaves without a feature in a table, with the errors table's
    `error_type` that `mmdata segment` gives the same failure."""

    error_type: str = "CorpusFormatError"


@dataclass(frozen=True)
class _SegmentRules:
    """Why a label segment gets no feature in a table, as `mmdata segment` decides it (`segment_rules`):
    past the end of its video by more than SEGMENT_OVERRUN_TOLERANCE of its length (the video's end being
    where its rows end over all the sequence files: a .csd records no media duration), or no row of the
    table overlaps it."""

    labels: Path  # the label file, named in failures
    #: video -> (its end, where that end comes from): the media end `export-csd` recorded, else its last
    #: row end over the sequence files (absent: neither)
    video_end: dict[str, tuple[float, str]]

    def failure(self, table: str, info: _FileInfo, video: str, sample_id: str, span: Any,
                rows: int) -> PrecomputedRow | None:
        start, end = span[0], span[1]
        video_end, known_by = self.video_end.get(video, (math.nan, ""))
        why = overrun_reason(table, sample_id, start, end, self.labels.name, video, video_end, known_by)
        error_type = OVERRUN_ERROR
        if why is None and rows == 0:
            why = no_row_reason(table, sample_id, start, end, self.labels.name, video, info.row_spans.get(video))
            error_type = NO_ROW_ERROR
        if why is None:
            return None
        return _SegmentFailedRow(sample_id, error=why, path=str(self.labels), error_type=error_type)


def _video_ends(sequences: list[_FileInfo]) -> dict[str, tuple[float, str]]:
    """Each video's end and where it comes from: the media end an `export-csd` file recorded
    (`TABLE_IDENTITY_KEY`, the longest over the files), else its last row end over the sequence files
    (the label file is none of them), from the intervals `inspect_csd` checked; videos of neither are absent."""
    rows: dict[str, float] = {}
    recorded: dict[str, float] = {}
    for info in sequences:
        for video, (_, end) in info.row_spans.items():
            rows[video] = max(end, rows.get(video, -math.inf))
        for video, end in _recorded_media_ends(info).items():
            recorded[video] = max(end, recorded.get(video, -math.inf))
    ends = {video: (end, "where its rows end over the .csd files") for video, end in rows.items()}
    ends.update({video: (end, "its media duration, as export-csd recorded it") for video, end in recorded.items()})
    return ends


def _recorded_media_ends(info: _FileInfo) -> dict[str, float]:
    """{video: media end} that `export-csd` recorded in the file's metadata; {} for other files."""
    ends = _recorded_identity(info).get("media_ends")
    if not isinstance(ends, dict):
        return {}
    return {str(v): float(e) for v, e in ends.items()
            if isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e) and e >= 0}


class _SequenceReader:
    """Reads one file's rows for a list of sample ids, one video at a time (see `PrecomputedTable.read`).

    With label segments (`rules`), a segment past the end of its video, or one no row of the file
    overlaps, gets a failed row instead (null feature, errors-table row), as `mmdata segment` gives it.
    """

    def __init__(self, info: _FileInfo, spans: dict[str, Any], by_segments: bool, options: CsdOptions,
                 table: str = "", rules: _SegmentRules | None = None):
        self.info, self.path, self.is_text = info, info.path, info.is_text
        self.spans, self.by_segments, self.options = spans, by_segments, options
        self.table, self.rules = table, rules
        self.empty = recorded_empty(info) if info.row_keyed else set()  # samples recorded with no row

    def __call__(self, sample_ids: Sequence[str]) -> Iterator[PrecomputedRow]:
        with CsdFile(self.path) as csd:
            position = 0
            while position < len(sample_ids):
                video = self._video_of(sample_ids[position])
                group = [position]
                while position + len(group) < len(sample_ids) and self._video_of(sample_ids[position + len(group)]) == video:
                    group.append(position + len(group))
                yield from self._rows(csd, video, [sample_ids[i] for i in group])
                position += len(group)

    def _video_of(self, sample_id: str) -> str:
        return sample_id.split("[")[0] if self.by_segments else sample_id

    def _rows(self, csd: CsdFile, video: str, sample_ids: list[str]) -> Iterator[PrecomputedRow]:
        pieces = _sample_rows(csd, self.info, video, sample_ids, self.spans, self.by_segments,
                              sort=self.options.unsorted == "sort")
        for sample_id, features, intervals, where, row_keys in pieces:
            failed = None
            if self.rules is not None and self.by_segments and sample_id not in self.empty:
                failed = self.rules.failure(self.table, self.info, video, sample_id, self.spans[sample_id],
                                            len(features))
            yield failed or self._row(sample_id, features, intervals, where, row_keys)

    def _row(self, sample_id: str, features: np.ndarray, intervals: np.ndarray, where: str,
             row_keys: np.ndarray | None = None) -> PrecomputedRow:
        """One sample's stored row: words as pause flags (T, 1) plus the tokens, else float32 (T, D); the
        key of each row in a row-keyed file (`keys` column)."""
        words = decode_words(features) if self.is_text else None
        if words is not None:
            values = np.asarray([[is_pause(w)] for w in words], np.float32).reshape(-1, 1)
        else:
            with np.errstate(over="ignore"):  # a value beyond float32's range is reported below, not warned about
                values = np.asarray(features, dtype=np.float32).reshape(len(features), int(np.prod(features.shape[1:])))
            beyond = beyond_float32(features, values)
            if beyond is not None:
                return PrecomputedRow(sample_id, error=(
                    f"{where}: holds {beyond!r}, beyond the range of float32 (max {float(np.finfo(np.float32).max):.4g}), "
                    "the dtype of mmdata's feature tables: it would be stored as inf; rescale the feature in the file"),
                    path=where)
        picked, count = sanitize_nonfinite(values, self.options.nonfinite)
        if count and self.options.nonfinite == "error":
            return PrecomputedRow(sample_id, error=nonfinite_error(count, where), path=where, nonfinite=count)
        columns: dict[str, Any] = {"words": words} if words is not None else {}
        if self.info.row_keyed:
            columns[KEYS_COLUMN] = [str(k) for k in row_keys] if row_keys is not None else []
        return PrecomputedRow(sample_id, picked, intervals, columns=columns, nonfinite=count)


def _sample_rows(
    csd: CsdFile, info: _FileInfo, video: str, sample_ids: list[str], spans: dict[str, Any], by_segments: bool, *,
    sort: bool,
) -> Iterator[tuple[str, np.ndarray, np.ndarray, str, np.ndarray | None]]:
    """(sample_id, its feature rows, their intervals, where, each row's key or None) for one video's
    samples, in order.

    A file keyed by the label's segments (`info.rows_by_segment`, or rows `vid[k][i]` of segment
    `vid[k]`: `info.segment_rows`) gives each sample the rows of its own key(s). Otherwise
    the video's keys (without labels: the sample's, `info.keys_of`) are gathered (sorted by start
    when there are several, or with `sort`) and cut by the samples' segments with the SDK's rules; a
    whole-video sample keeps every row. Rows keep their keys in a row-keyed file (`info.row_keyed`).
    """
    if by_segments and (info.rows_by_segment or info.segment_rows):
        yield from _own_key_rows(csd, info, video, sample_ids, sort=sort)
        return
    keys = info.keys_by_base.get(video, []) if by_segments else info.keys_of(video)
    features, intervals, row_keys = _read_keys(csd, info, keys, sort=sort or len(keys) > 1, named=info.row_keyed)
    if by_segments:
        segments = np.array([spans[s][:2] for s in sample_ids], dtype=np.float64).reshape(-1, 2)
        parts: Any = overlap_pieces(segments, intervals).per_reference()
    else:
        parts = [(slice(None), intervals)]
    where = csd.where(video)
    for sample_id, (rows, clipped) in zip(sample_ids, parts):
        yield sample_id, features[rows], clipped, where, (row_keys[rows] if row_keys is not None else None)


def _own_key_rows(csd: CsdFile, info: _FileInfo, video: str, sample_ids: list[str], *,
                  sort: bool) -> Iterator[tuple[str, np.ndarray, np.ndarray, str, np.ndarray | None]]:
    """Each segment's rows from its own key `vid[i]` (or, in a row-keyed file, its keys `vid[i][j]`), as
    the SDK's `get_tensors` reads aligned data; no rows for a segment the file has no key for (the SDK's
    align writes none where nothing overlaps; the table's reader then gives it no feature, `_SegmentRules`)."""
    present = set(info.keys_by_base.get(video, ()))
    for sample_id in sample_ids:
        keys = [k for k in info.keys_of(sample_id) if k in present]
        if keys:
            features, intervals, row_keys = _read_keys(csd, info, keys, sort=sort or len(keys) > 1,
                                                       named=info.row_keyed)
            yield sample_id, features, intervals, csd.where(keys[0]), row_keys
        else:
            yield sample_id, *_no_rows(info), csd.where(video), None


def _read_keys(csd: CsdFile, info: _FileInfo, keys: list[str], *, sort: bool,
               named: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Features and intervals of one video's keys, concatenated in key order (stably sorted by start
    with `sort`), from the rows `inspect_csd` kept when it kept them, and, when `named`, the key of
    each row (sorted with them: a row keeps the name its file gives it, never one of its position)."""
    if not keys:  # a sample of no row, which `export-csd` recorded
        return *_no_rows(info), (np.empty(0, dtype=object) if named else None)
    kept = info.kept_rows.get(keys[0].split("[")[0])
    if kept is not None and kept.holds(keys):
        features, intervals = kept.rows(keys, sort=False)
        counts = [kept.bounds[k][1] - kept.bounds[k][0] for k in keys]
    else:
        entries = [csd.read(key) for key in keys]
        features, intervals = join_rows(entries, sort=False)
        counts = [len(e.intervals) for e in entries]
    row_keys = np.repeat(np.asarray(keys, dtype=object), counts) if named else None
    if sort:
        order = np.argsort(intervals[:, 0], kind="stable")
        features, intervals = features[order], intervals[order]
        row_keys = row_keys[order] if row_keys is not None else None
    return features, intervals, row_keys


def _no_rows(info: _FileInfo) -> tuple[np.ndarray, np.ndarray]:
    """Features and intervals of no row, shaped as the file's."""
    features = np.empty((0, *(info.feature_shape or (1,))), dtype="S1" if info.is_text else np.float32)
    return features, np.empty((0, 2), dtype=np.float64)


def _timed_words(words: _FileInfo, spans: dict[str, Any], by_segments: bool) -> dict[str, list[list[Any]]]:
    """sample_id -> [[word, start, end], ...]: the sample's words (pauses included), clipped to it."""
    out: dict[str, list[list[Any]]] = {}
    by_video: dict[str, list[str]] = {}
    for sample_id in spans:
        by_video.setdefault(sample_id.split("[")[0] if by_segments else sample_id, []).append(sample_id)
    with CsdFile(words.path) as csd:
        for video, sample_ids in by_video.items():
            for sample_id, tokens, intervals, *_ in _sample_rows(csd, words, video, sample_ids, spans, by_segments,
                                                                  sort=True):
                out[sample_id] = [[t, float(a), float(b)] for t, (a, b) in zip(decode_words(tokens), intervals)]
    return out


def _table(info: _FileInfo, name: str, spans: dict[str, Any], by_segments: bool, options: CsdOptions,
           rules: _SegmentRules | None = None) -> PrecomputedTable:
    modality = name.split(".", 1)[0]
    dim = 1 if info.is_text else int(np.prod(info.feature_shape or (1,)))
    spec = FeatureSpec(dim=dim, kind="sequence", intervals=True, frame_rate=info.frame_rate,
                       item_axis="word" if info.is_text else "time")
    config = {"file": info.path.name, "root_name": info.root_name, "metadata": jsonable(info.metadata),
              "feature_shape": list(info.feature_shape or ()), "words": info.is_text, "nonfinite": options.nonfinite,
              "unsorted": options.unsorted, "samples": "segments" if by_segments else "keys"}
    columns = {"words": pa.list_(pa.string())} if info.is_text else {}
    if info.row_keyed:
        columns[KEYS_COLUMN] = pa.list_(pa.string())
        # keys `<sample>[i]` of the samples themselves: `export-csd` writes the table back one key per row
        config["row_keys"] = not by_segments or info.segment_rows
    return PrecomputedTable(
        name=name, modality=modality, source=f"{info.path.name} (root {info.root_name!r})", spec=spec,
        read=_SequenceReader(info, spans, by_segments, options, name, rules), config=config, extra_columns=columns,
    )


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
