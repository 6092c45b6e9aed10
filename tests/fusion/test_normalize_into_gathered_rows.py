"""`normalize_into` z-scores into a fused row's slot (a strided column slice) through a contiguous block, or through
the gather's own copy (`rows_scratch=True`): exactly the float32 arithmetic of z-scoring in place, whatever the rows."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.fusion.normalize import NormStats, normalize_into


def _stats(mean: float, std: float, dim: int) -> NormStats:
    rng = np.random.default_rng(1)
    return NormStats("zscore", mean + rng.normal(size=dim), std * (1 + rng.uniform(size=dim)), count=10)


@pytest.mark.parametrize("stats", [_stats(0.5, 2.0, 6), _stats(1e6, 0.3, 6)],
                         ids=["usual", "mean-far-from-zero"])  # the second takes the float32-rounding correction
def test_scratch_rows_give_the_same_slot(stats):
    rng = np.random.default_rng(0)
    source = (stats.mean + rng.normal(size=(20, 6)) * stats.std).astype(np.float32)
    rows = np.flatnonzero(np.arange(20) % 3 != 1)
    expected = np.full((len(rows), 10), 7.0, np.float32)
    mean32 = stats.mean.astype(np.float32)
    expected[:, 2:8] = (source[rows] - mean32) * (1.0 / stats.std).astype(np.float32)
    shift = (stats.mean - mean32) / stats.std
    if np.abs(shift).max() > 1e-6:
        expected[:, 2:8] -= shift.astype(np.float32)
    in_slot = np.full((len(rows), 10), 7.0, np.float32)
    normalize_into(in_slot[:, 2:8], source[rows], stats)
    np.testing.assert_array_equal(in_slot, expected)
    fused = np.full((len(rows), 10), 7.0, np.float32)
    gathered = source[rows]
    normalize_into(fused[:, 2:8], gathered, stats, rows_scratch=True)
    np.testing.assert_array_equal(fused, expected)  # the columns around the slot untouched too
    assert np.abs(fused[:, 2:8] * stats.std + stats.mean - source[rows]).max() < 1e-6 * np.abs(stats.mean).max() + 1e-5


def test_rows_that_cannot_hold_the_result_are_left_alone():
    """float64 rows, a strided view or read-only rows are not written to even when offered: the slot is written directly."""
    stats = _stats(0.5, 2.0, 4)
    source = np.random.default_rng(2).normal(size=(8, 4))
    read_only = source.astype(np.float32)
    read_only.flags.writeable = False  # as a memory-mapped shard's rows
    for rows in (source.copy(), source.astype(np.float32)[::2], read_only):
        before = rows.copy()
        out = np.empty((len(rows), 6), np.float32)[:, 1:5]  # a slot: the path that may centre in the rows
        normalize_into(out, rows, stats, rows_scratch=True)
        np.testing.assert_array_equal(rows, before)
        reference = np.empty_like(out)
        normalize_into(reference, rows, stats)
        np.testing.assert_array_equal(out, reference)
