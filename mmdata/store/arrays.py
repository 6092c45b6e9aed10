"""Arrow columns of feature tables as NumPy arrays, without per-row Python (zero-copy where Arrow allows).

    feature: fixed_size_list<float32>[D]              -> (n, D) array          (`fixed_rows`)
    feature: list<fixed_size_list<float32>[D]>        -> offsets (n+1,), (sum T_i, D) array (`sequence_rows`)
    any column                                        -> (n,) bool, True where not null (`valid_mask`)
    (n, D) values                                     -> rows holding NaN/Inf, or None (`non_finite_rows`)
    offsets, (sum T_i, 2) intervals                   -> each sample's first start, last end (`interval_bounds`)
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa


def fixed_rows(arr: pa.Array) -> np.ndarray:
    """A fixed_size_list<T>[D] array as an (n, D) NumPy array (null rows hold whatever the slot holds)."""
    arr = single_chunk(arr)
    dim = arr.type.list_size
    values = arr.values.slice(arr.offset * dim, len(arr) * dim)
    flat = values.to_numpy(zero_copy_only=False)
    return flat.reshape(len(arr), dim)


def sequence_rows(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A list<fixed_size_list<T>[D]> array as (offsets starting at 0, (sum T_i, D) rows)."""
    arr = single_chunk(arr)
    offsets = arr.offsets.to_numpy().astype(np.int64)
    start, stop = int(offsets[0]), int(offsets[-1])
    rows = fixed_rows(arr.values.slice(start, stop - start))
    return offsets - start, rows


def valid_mask(arr: pa.Array) -> np.ndarray:
    """True where a row is not null."""
    arr = single_chunk(arr)
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=bool)
    return arr.is_valid().to_numpy(zero_copy_only=False)


def single_chunk(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The array itself, or a chunked array as one array (combined only when it has several chunks)."""
    if isinstance(arr, pa.ChunkedArray):
        return arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr


def non_finite_rows(values: np.ndarray) -> np.ndarray | None:
    """Indices of the rows of (N, D) `values` holding NaN or an infinity; None when none do.

    One max and one min over every value decide that (both propagate NaN, and an infinity is an
    extreme): ~1% of decoding a shard. Only a shard that has one is looked at row by row."""
    flat = values.reshape(-1)
    if not len(flat) or (np.isfinite(np.maximum.reduce(flat)) and np.isfinite(np.minimum.reduce(flat))):
        return None
    return np.flatnonzero(~np.isfinite(values).all(axis=1))


__all__ = ["fixed_rows", "non_finite_rows", "sequence_rows", "single_chunk", "valid_mask"]


def interval_bounds(offsets: np.ndarray, intervals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first start, last end) of each sample's rows: the earliest start and the latest end among
    `intervals[offsets[i]:offsets[i+1]]`; NaN for a sample of no rows."""
    count = len(offsets) - 1
    first_start, last_end = np.full(count, np.nan), np.full(count, np.nan)
    nonempty = np.diff(offsets) > 0
    if nonempty.any():
        starts = offsets[:-1][nonempty]
        first_start[nonempty] = np.minimum.reduceat(intervals[:, 0], starts)
        last_end[nonempty] = np.maximum.reduceat(intervals[:, 1], starts)
    return first_start, last_end
