"""Per-group sums added in exactly the order numpy's `np.average(group, axis=0)` adds them.

The SDK's mean collapse is `np.average(features, axis=0)` on each group of rows. For a (k, D)
group with D > 1 numpy adds the rows one after another, in float32 for float32 input; any other
order (pairwise `reduceat`, float64 accumulation, cumulative sums) differs in the last bit. Here
the rows are added sequentially too, so means are bit-identical to the SDK's:
  - with numba (installed with librosa, a dependency of mmdata): one compiled pass over the rows;
  - otherwise numpy: one vectorized step per row position across all groups.
A (k, 1) group is summed pairwise by numpy, so single-column groups go through `np.add.reduce`.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
_KERNEL: Any = None  # the compiled numba kernel, False when numba is unavailable


def group_sums(features: np.ndarray, row_index: np.ndarray, offsets: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Sums of `features[row_index[offsets[g]:offsets[g+1]]]` for each g in `groups` (all non-empty): (G, D)."""
    if features.shape[1] == 1:
        column = features[:, 0]
        sums = [np.add.reduce(column[row_index[offsets[g]:offsets[g + 1]]]) for g in groups]
        return np.array(sums, dtype=features.dtype).reshape(-1, 1)
    kernel = _numba_kernel()
    if kernel:
        return kernel(np.ascontiguousarray(features), row_index, offsets, groups)
    return _sequential_numpy(features, row_index, offsets, groups)


def _sequential_numpy(features: np.ndarray, row_index: np.ndarray, offsets: np.ndarray, groups: np.ndarray) -> np.ndarray:
    starts, counts = offsets[groups], offsets[groups + 1] - offsets[groups]
    by_length = np.argsort(-counts, kind="stable")
    group_starts, group_counts = starts[by_length], counts[by_length]
    sums = features[row_index[group_starts]]
    active = len(group_counts)
    for position in range(1, int(group_counts[0]) if len(group_counts) else 0):
        while active and group_counts[active - 1] <= position:
            active -= 1
        sums[:active] += features[row_index[group_starts[:active] + position]]
    out = np.empty_like(sums)
    out[by_length] = sums
    return out


def _numba_kernel() -> Any:
    global _KERNEL
    if _KERNEL is None:
        try:
            import numba
        except ImportError:
            log.debug("numba is not installed; exact-order sums use the numpy path")
            _KERNEL = False
            return _KERNEL

        @numba.njit(cache=True, nogil=True)
        def sequential_sums(features, row_index, offsets, groups):  # pragma: no cover - compiled
            out = np.empty((len(groups), features.shape[1]), features.dtype)
            for k in range(len(groups)):
                first = offsets[groups[k]]
                out[k, :] = features[row_index[first], :]
                for q in range(first + 1, offsets[groups[k] + 1]):
                    row = row_index[q]
                    for d in range(features.shape[1]):
                        out[k, d] += features[row, d]
            return out

        _KERNEL = sequential_sums
    return _KERNEL
