"""Interval alignment with the CMU-MultimodalSDK's semantics, vectorized over sorted intervals.

The SDK's `mmdataset.align(reference, collapse_functions)` does, per video and per reference
interval i = [r0, r1] (skipped when |r1 - r0| < eps, eps = 1e-5):
    for every other sequence: take the rows [s0, s1] with  r1 - s0 > -eps  and  s1 - r0 > -eps,
    clip them to [max(s0, r0), min(s1, r1)], drop pieces with |end - start| <= eps (sub rows are
    first stably sorted by start), then collapse the pieces (mean, max, ...) to one vector;
    the output key is `f"{video_id}[{i}]"`, and a sequence without pieces gets no key at all.
It compares each reference interval with every row (O(N*M) per video). Here the rows are sorted
once; each reference interval's candidate rows are found with `searchsorted` on the starts and on
the running maximum of the ends, and the exact SDK predicate is then applied to those candidates
only, so the pieces are identical to the SDK's at O((N + M) log M + pieces) cost (a few rows much
longer than the others, which would keep that running maximum high and every window wide, are
made candidates of every interval instead); the mean adds each group's rows in the order
`np.average` does (`kernels.py`), so results are bit-identical.

Differences, on purpose: the reference itself is never collapsed (the SDK collapses it too, which
fails for words); a reference interval that some sequence does not overlap follows an explicit
policy (`on_missing`: drop it from every sequence, impute zeros, or raise) instead of a missing key;
aligned rows carry the reference interval (the SDK stores the span [min, max] of the pieces).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

import numpy as np

from mmdata.alignment.kernels import group_sums
from mmdata.errors import DatasetError

EPSILON = 1e-5  # the SDK's `epsilon = 10e-6`
Collapse = Literal["mean", "max", "first", "last"]
COLLAPSES: tuple[str, ...] = ("mean", "max", "first", "last")
OnMissing = Literal["drop", "impute", "error"]
#: A sample one aligned table has no features for: null in every output (`drop`, the SDK's unified keys), or
#: only in that table's output, the others aligned without it (`keep`). See `mmdata.alignment.dataset`.
OnAbsent = Literal["drop", "keep"]
CollapseFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # SDK signature: f(intervals, features) -> (D',)
CollapseSpec = Union[Collapse, CollapseFn]


@dataclass(frozen=True)
class Pieces:
    """The rows of a sequence that overlap each reference interval, clipped to it.

    Pieces are ordered by reference interval, then by row start time (stable), as in the SDK.
    """

    ref_index: np.ndarray  # (P,) int64, ascending: the reference interval of each piece
    row_index: np.ndarray  # (P,) int64: the piece's row in the sequence as given (unsorted order)
    intervals: np.ndarray  # (P, 2) float64: the row's interval clipped to the reference interval
    counts: np.ndarray  # (N,) int64: pieces per reference interval

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.counts)])

    def per_reference(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(row indices, clipped intervals) of the pieces of each reference interval, in order."""
        offsets = self.offsets
        return [(self.row_index[a:b], self.intervals[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]


@dataclass
class AlignedVideo:
    """Every sequence of one video collapsed onto the kept reference intervals."""

    index: np.ndarray  # (K,) reference row numbers kept (the SDK key is f"{video_id}[{index[k]}]")
    intervals: np.ndarray  # (K, 2) the reference intervals kept
    features: dict[str, np.ndarray]  # per sequence: (K, D')
    pieces: dict[str, Pieces] = field(default_factory=dict)
    imputed: dict[str, int] = field(default_factory=dict)  # reference intervals zero-filled per sequence
    dropped: int = 0  # non-zero-length reference intervals dropped for lack of overlap


def valid_reference(reference: np.ndarray, epsilon: float = EPSILON) -> np.ndarray:
    """Reference intervals the SDK aligns to (it skips those shorter than eps)."""
    reference = np.asarray(reference, dtype=np.float64).reshape(-1, 2)
    return ~(np.abs(reference[:, 0] - reference[:, 1]) < epsilon)


def overlap_pieces(reference: np.ndarray, intervals: np.ndarray, *, epsilon: float = EPSILON) -> Pieces:
    """Clip the rows of `intervals` (M, 2) to each reference interval (N, 2), with the SDK's rules.

    Reference intervals shorter than eps get no pieces. Works for unsorted and overlapping rows.

    Raises:
        ValueError: `reference` or `intervals` is not an array of [start, end] rows.
    """
    ref = interval_rows(reference, "reference intervals")
    sub = interval_rows(intervals, "intervals")
    n = len(ref)
    if np.all(sub[1:, 0] >= sub[:-1, 0]):  # already sorted (the usual case): no reordering
        order, starts, ends = None, np.ascontiguousarray(sub[:, 0]), sub[:, 1]
    else:
        order = np.argsort(sub[:, 0], kind="stable")
        starts, ends = sub[order, 0], sub[order, 1]
    if len(sub) == 0 or n == 0:
        empty = np.zeros(0, np.int64)
        return Pieces(empty, empty, np.zeros((0, 2)), np.zeros(n, np.int64))
    valid = valid_reference(ref, epsilon)
    lo, window = _windows(ref, starts, ends, valid, epsilon)
    total = int(window.sum())
    long_rows = _long_rows(ref, starts, ends, valid, epsilon, total) if total > _WIDE * (len(sub) + n) else None
    if long_rows is None:
        ref_index, sorted_rows = _candidates(lo, window)
    else:
        ref_index, sorted_rows = _candidates_apart_from(long_rows, ref, starts, ends, valid, epsilon)
    r0, r1 = ref[ref_index, 0], ref[ref_index, 1]
    s0, s1 = starts[sorted_rows], ends[sorted_rows]
    hit = ((r1 - s0) > -epsilon) & ((s1 - r0) > -epsilon)
    c0, c1 = np.maximum(s0, r0), np.minimum(s1, r1)
    keep = hit & (np.abs(c0 - c1) > epsilon)
    ref_index = ref_index[keep]
    clipped = np.empty((len(ref_index), 2))
    clipped[:, 0], clipped[:, 1] = c0[keep], c1[keep]
    counts = np.bincount(ref_index, minlength=n).astype(np.int64)
    rows = sorted_rows[keep] if order is None else order[sorted_rows[keep]]
    return Pieces(ref_index.astype(np.int64), rows.astype(np.int64, copy=False), clipped, counts)


def interval_rows(intervals: Any, what: str) -> np.ndarray:
    """`intervals` as a float64 (M, 2) array of [start, end] rows (an empty array of any shape is (0, 2)).

    Raises:
        ValueError: another shape, naming `what` ("intervals of sequence 'audio'"), the shape found and
            the one expected. A (M, 3) array used to be read as (3M/2, 2): rows made of halves of two.
    """
    arr = np.asarray(intervals, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 2:
        return arr
    if arr.size == 0:
        return arr.reshape(0, 2)
    raise ValueError(f"{what} have shape {arr.shape}; expected (rows, 2): one [start, end] pair in seconds per row "
                     "(e.g. np.array([[0.0, 0.5], [0.5, 1.0]]))")


def interval_problem(intervals: np.ndarray, *, require_sorted: bool = False) -> str | None:
    """What makes (M, 2) `intervals` unusable as times, or None: a non-finite value, an end before its
    start, or (with `require_sorted`) a start before the previous row's.

    The SDK's predicate never matches a NaN row (its rows vanish) and clips a reversed row to a piece
    of negative length that still counts, so such rows would give silently wrong values; a dataset's
    tables hold neither (`mmdata check` calls both errors), and a table written outside mmdata may.
    """
    finite = np.isfinite(intervals).all(axis=1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        return f"interval row {i} is {intervals[i].tolist()}; expected finite seconds"
    reversed_rows = np.flatnonzero(intervals[:, 1] < intervals[:, 0])
    if reversed_rows.size:
        i = int(reversed_rows[0])
        start, end = float(intervals[i, 0]), float(intervals[i, 1])
        return f"interval row {i} ends before it starts ({start!r} -> {end!r} s); expected end >= start"
    if require_sorted:
        earlier = np.flatnonzero(np.diff(intervals[:, 0]) < 0)
        if earlier.size:
            i = int(earlier[0]) + 1
            return (f"intervals are not sorted by start: row {i} starts at {float(intervals[i, 0])!r} s, before row "
                    f"{i - 1} at {float(intervals[i - 1, 0])!r} s; expected non-decreasing starts")
    return None


# More candidates than this many per row and reference interval: a few long rows widen every window.
_WIDE = 4
# A row longer than this many times the median row length is a long row.
_LONG = 8


def _windows(ref: np.ndarray, starts: np.ndarray, ends: np.ndarray, valid: np.ndarray,
             epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """(first candidate row, number of candidates) per reference interval, rows sorted by start.

    The window of reference interval i runs from the first row whose running maximum end reaches r0
    to the last row starting before r1, widened by 2 eps so that rounding in `r1 + eps` cannot lose
    a row; the exact SDK predicate is applied to the candidates afterwards.
    """
    running_max_end = np.maximum.accumulate(ends)
    lo = np.searchsorted(running_max_end, ref[:, 0] - 2 * epsilon, side="right")
    hi = np.searchsorted(starts, ref[:, 1] + 2 * epsilon, side="left")
    return lo, np.where(valid, np.maximum(hi - lo, 0), 0)


def _candidates(lo: np.ndarray, window: np.ndarray, positions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(reference interval, row) of every candidate, by interval then row; rows index `positions` when given."""
    ref_index = np.repeat(np.arange(len(lo)), window)
    first = np.repeat(np.cumsum(window) - window, window)
    rows = lo[ref_index] + (np.arange(len(ref_index)) - first)
    return ref_index, rows if positions is None else positions[rows]


def _long_rows(ref: np.ndarray, starts: np.ndarray, ends: np.ndarray, valid: np.ndarray, epsilon: float,
               total: int) -> np.ndarray | None:
    """The long rows (a row spanning the video, a bad end time) when setting them apart saves candidates.

    Such a row keeps the running maximum end high, so every later window reaches back to it: up
    to N * M candidates. Apart, the short rows get tight windows and the long ones are candidates
    of every reference interval. None when that is no better.
    """
    lengths = ends - starts
    positive = lengths[lengths > 0]
    long = lengths > _LONG * (np.median(positive) if len(positive) else 0.0)
    short = np.flatnonzero(~long)
    _, window = _windows(ref, starts[short], ends[short], valid, epsilon)
    if int(window.sum()) + int(long.sum()) * int(valid.sum()) >= total:
        return None
    return np.flatnonzero(long)


def _candidates_apart_from(long_rows: np.ndarray, ref: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                           valid: np.ndarray, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """`_candidates` with `long_rows` candidates of every valid reference interval, the other rows windowed."""
    short = np.setdiff1d(np.arange(len(starts)), long_rows, assume_unique=True)
    lo, window = _windows(ref, starts[short], ends[short], valid, epsilon)
    ref_short, rows_short = _candidates(lo, window, short)
    kept = np.flatnonzero(valid)
    ref_index = np.concatenate([ref_short, np.repeat(kept, len(long_rows))])
    rows = np.concatenate([rows_short, np.tile(long_rows, len(kept))])
    order = np.lexsort((rows, ref_index))  # by interval, then by start as the SDK orders pieces
    return ref_index[order], rows[order]


def collapse_pieces(pieces: Pieces, features: np.ndarray, how: CollapseSpec) -> np.ndarray:
    """One vector per reference interval that has pieces: (number of such intervals, D').

    'mean' is the unweighted mean of the pieces' rows (what `np.average(features, axis=0)`, the
    SDK examples' collapse, computes); a callable gets (clipped intervals, rows) per interval.
    """
    arr = np.asarray(features)
    feats = arr.reshape(len(arr), int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1)
    offsets = pieces.offsets
    nonempty = np.flatnonzero(pieces.counts)
    starts = offsets[nonempty]
    if callable(how):
        return _collapse_with(how, pieces, feats, nonempty, offsets)
    if how == "first":
        return feats[pieces.row_index[starts]]
    if how == "last":
        return feats[pieces.row_index[offsets[nonempty + 1] - 1]]
    if how == "mean":
        # np.mean's accumulators: float64 for integers, float32 for float16 (rounded back after).
        result_dtype = feats.dtype if feats.dtype.kind in "fc" else np.dtype(np.float64)
        if feats.dtype.kind not in "fc":
            feats = feats.astype(np.float64)
        elif feats.dtype == np.float16:
            feats = feats.astype(np.float32)
        counts = pieces.counts[nonempty]
        sums = group_sums(feats, pieces.row_index, offsets, nonempty)
        # Divide in the sums' dtype, as np.mean does (float32 stays float32 throughout).
        return (sums / counts.astype(sums.dtype)[:, None]).astype(result_dtype, copy=False)
    if how == "max":
        if len(nonempty) == 0:
            return np.zeros((0, feats.shape[1]), dtype=feats.dtype)
        return np.maximum.reduceat(feats[pieces.row_index], starts, axis=0)
    raise ValueError(f"unknown collapse {how!r}; expected one of {list(COLLAPSES)} or a callable")


def align_video(
    reference: np.ndarray,
    sequences: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    collapse: CollapseSpec = "mean",
    on_missing: OnMissing = "drop",
    keep: np.ndarray | None = None,
    epsilon: float = EPSILON,
    where: str = "",
) -> AlignedVideo:
    """Collapse every sequence ((features (M, D), intervals (M, 2)) by name) onto the reference intervals.

    Neither needs sorting: a sequence's pieces are collapsed in start order (stable, as the SDK
    sorts rows), and the output follows the reference's row order (`index` ascending).

    `keep` (N,) bool excludes further reference intervals (e.g. pause tokens). With on_missing
    'drop', an interval that some sequence does not overlap is dropped from all of them (what the
    SDK's missing keys + `hard_unify` end up doing); 'impute' zero-fills it (the SDK's `impute`);
    'error' raises `DatasetError` naming `where`, the sequence and the interval.

    Raises:
        ValueError: the reference is not (N, 2), `keep` not N flags, a sequence not a (features,
            intervals) pair, its intervals not (M, 2), or its features without one row per interval.
        CollapseWidthError: a callable collapse returned vectors of different lengths (a ValueError).
    """
    prefix = f"{where}: " if where else ""
    ref = interval_rows(reference, f"{prefix}reference intervals")
    sequences = {name: _checked_sequence(name, value, prefix) for name, value in sequences.items()}
    valid = valid_reference(ref, epsilon)
    if keep is not None:
        valid &= _checked_keep(keep, len(ref), prefix)
    pieces = {name: overlap_pieces(ref, intervals, epsilon=epsilon) for name, (_, intervals) in sequences.items()}
    covered = {name: p.counts > 0 for name, p in pieces.items()}
    kept = valid.copy()
    for name, has in covered.items():
        missing = valid & ~has
        if not missing.any() or on_missing == "impute":
            continue
        if on_missing == "error":
            i = int(np.flatnonzero(missing)[0])
            raise DatasetError(
                f"{where or 'alignment'}: reference interval {i} {ref[i].tolist()} overlaps no row of {name!r} "
                f"({int(missing.sum())} such intervals); expected every sequence to cover every reference interval; "
                "use on_missing='drop' or 'impute' (`mmdata align --on-missing drop|impute --force`)"
            )
        kept &= has
    index = np.flatnonzero(kept)
    out: dict[str, np.ndarray] = {}
    imputed: dict[str, int] = {}
    for name, (features, _) in sequences.items():
        try:
            collapsed = collapse_pieces(pieces[name], features, collapse)
        except CollapseWidthError as e:
            raise CollapseWidthError(f"{prefix}sequence {name!r}: {e}") from None
        if len(collapsed) == len(index) and on_missing != "impute":  # every covered interval is kept
            out[name], imputed[name] = collapsed, 0
            continue
        rows_of = np.full(len(ref), -1, dtype=np.int64)
        rows_of[np.flatnonzero(covered[name])] = np.arange(len(collapsed))
        picked = rows_of[index]
        dim = collapsed.shape[1] if len(collapsed) else collapsed_dim(collapse, features)
        values = np.zeros((len(index), dim), collapsed.dtype)
        present = picked >= 0
        values[present] = collapsed[picked[present]]
        imputed[name] = int((~present).sum())
        out[name] = values
    return AlignedVideo(
        index=index, intervals=ref[index], features=out, pieces=pieces, imputed=imputed,
        dropped=int((valid & ~kept).sum()),
    )


def _checked_sequence(name: str, value: Any, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """A sequence's (features (M, ...), intervals (M, 2)), or a ValueError saying which part is off.

    Without the check, extra feature rows were ignored and missing ones raised a bare IndexError.
    """
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{prefix}sequence {name!r} is a {type(value).__name__}; expected a (features, intervals) "
                         "pair: features (M, D) and intervals (M, 2), one feature row per interval")
    features, intervals = np.asarray(value[0]), interval_rows(value[1], f"{prefix}intervals of sequence {name!r}")
    if features.ndim == 0 or len(features) != len(intervals):
        rows = "a scalar" if features.ndim == 0 else f"{len(features)} rows (shape {features.shape})"
        raise ValueError(f"{prefix}sequence {name!r} has features of {rows} but {len(intervals)} intervals; "
                         "expected one feature row per interval (features (M, D), intervals (M, 2))")
    return features, intervals


def _checked_keep(keep: Any, count: int, prefix: str) -> np.ndarray:
    """`keep` as (N,) bool, one flag per reference interval (a shorter array would broadcast silently)."""
    flags = np.asarray(keep, dtype=bool)
    if flags.shape != (count,):
        raise ValueError(f"{prefix}keep has shape {flags.shape}; expected ({count},): one flag per reference interval")
    return flags


@dataclass(frozen=True)
class UnifyResult:
    """Video ids present in every sequence, and for each other id the sequences lacking it."""

    kept: list[str]
    missing: dict[str, list[str]]


def unify_ids(sequences: Mapping[str, Iterable[str]], *, by_base: bool = True) -> UnifyResult:
    """Keep the video ids present in every sequence, comparing base ids (before `[`) exactly.

    The SDK's `unify` purges by string prefix, so dropping id `abc` also deletes `abcd[0]`;
    here only exact ids are compared. With `by_base=False` whole keys (`vid[3]`) are compared.
    """
    bases = {name: {key.split("[")[0] if by_base else key for key in keys} for name, keys in sequences.items()}
    if not bases:
        return UnifyResult([], {})
    everywhere = set.intersection(*bases.values())
    missing = {
        vid: sorted(name for name, ids in bases.items() if vid not in ids)
        for vid in sorted(set.union(*bases.values()) - everywhere)
    }
    return UnifyResult(sorted(everywhere), missing)


class CollapseWidthError(ValueError):
    """A collapse function returned vectors of different lengths (they must stack into (N, D'))."""


def _collapse_with(fn: CollapseFn, pieces: Pieces, feats: np.ndarray, nonempty: np.ndarray,
                   offsets: np.ndarray) -> np.ndarray:
    """`fn` per reference interval with pieces; every result must have the first one's width, else
    CollapseWidthError names the interval (np.stack's own error names none)."""
    rows = []
    for i in nonempty:
        part = slice(offsets[i], offsets[i + 1])
        value = np.asarray(fn(pieces.intervals[part], feats[pieces.row_index[part]])).reshape(-1)
        if rows and value.size != rows[0].size:
            raise CollapseWidthError(
                f"collapse function {getattr(fn, '__qualname__', fn)!r} returned {value.size} values for reference "
                f"interval {int(i)} ({part.stop - part.start} rows) but {rows[0].size} for interval {int(nonempty[0])}; "
                "expected one vector of the same length for every interval, e.g. np.average(features, axis=0)")
        rows.append(value)
    if not rows:
        # No interval has pieces (a sample whose rows all lie outside the reference): the empty
        # result still needs the function's output width, or it cannot be stored as (0, D').
        probe = _probe(fn, feats)
        return np.zeros((0, probe.size), dtype=probe.dtype)
    return np.stack(rows)


def collapsed_dim(how: CollapseSpec, features: np.ndarray) -> int:
    """The width of a collapsed vector for (T, ...) `features` (a callable is probed on one zero row, piece [0, 1])."""
    arr = np.asarray(features)
    dim = int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1
    if callable(how):
        return _probe(how, arr.reshape(len(arr), dim)).size
    return dim


def _probe(fn: CollapseFn, feats: np.ndarray) -> np.ndarray:
    """`fn` applied to one zero row shaped like `feats` (T, D): its output tells width and dtype.

    The row's piece is [0, 1], not zero-length: `fn` only ever gets pieces longer than eps, and a
    collapse weighting rows by their overlap would divide by a zero total length.
    """
    return np.asarray(fn(np.array([[0.0, 1.0]]), np.zeros((1, feats.shape[1]), dtype=feats.dtype))).reshape(-1)
