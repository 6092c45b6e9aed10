"""Per-split moments of a pooled float feature table, written next to each shard when it is extracted.

    features/<table>/.moments/part-00000.arrow     one row per split: split, count, mean (D), m2 (D)

count, mean and m2 (the sum of squared deviations from the mean, per dimension, float64) are taken
over the shard's rows of each split that have a feature. `fuse` z-scores with statistics of the
train split (or others); when every shard of a table has its moments it merges them instead of
reading all the features once more for them (Chan's parallel update: the same figures it would
compute itself, since each shard's moments are computed the same way and merged in shard order).

A moments file names the samples fingerprint and the size and modification time of the shard it
describes, and one that does not match is ignored (a shard copied without its times only costs fuse
its statistics pass), as are missing ones (tables extracted before moments existed, or
not by `mmdata extract`). The folder starts with '.', so readers of the table skip it
(`layout.shard_files`, `pyarrow.dataset.dataset(path)`).
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from mmdata.store.arrays import fixed_rows, valid_mask
from mmdata.store.metadata import FeatureSpec
from mmdata.store.writer import write_table_atomic

MOMENTS_DIR = ".moments"
_META_KEY = b"mmdata.moments"

#: (count, mean, m2) of a set of rows: m2 is the per-dimension sum of squared deviations from the mean.
Moments = tuple[int, np.ndarray, np.ndarray]


def batch_moments(rows: np.ndarray) -> Moments:
    """count, mean and m2 of (n, D) rows (n > 0), in float64 around the rows' own mean.

    The rows stay float32: the mean is accumulated in float64, the rows are centred in their own
    dtype (no float64 copy) and the squares summed in float64; centring first keeps them well
    conditioned.
    """
    # A column holding Inf gives inf - inf (NaN moments, which fuse refuses): no numpy warning for it.
    with np.errstate(invalid="ignore"):
        mean = rows.mean(axis=0, dtype=np.float64)
        centred = rows - mean.astype(rows.dtype)
        # The centre is the mean rounded to the rows' dtype: the squares around it exceed those around
        # the true mean by n * (mean - centre)^2, which is sum(centred)^2 / n (a mean of 1e6 with a std
        # of 1 otherwise came out 1.7e-4 off).
        # For a constant column the two terms are equal up to rounding, which may leave m2 a hair below
        # zero (-6e-79 seen): clipped, as a sum of squares cannot be negative (NaN stays NaN).
        shift = centred.sum(axis=0, dtype=np.float64)
        np.square(centred, out=centred)
        return len(rows), mean, np.maximum(centred.sum(axis=0, dtype=np.float64) - shift**2 / len(rows), 0.0)


def has_moments(spec: FeatureSpec) -> bool:
    """Tables of fixed-dim float vectors, one per sample, get moments (what fuse z-scores as they are)."""
    return spec.kind == "pooled" and bool(spec.dim) and spec.dtype in ("float16", "float32", "float64")


def shard_moments(vectors: np.ndarray, valid: np.ndarray, splits: np.ndarray) -> dict[str, Moments]:
    """Moments per split of a shard's (n, D) vectors, over the rows that have a feature (`valid`)."""
    rows = np.asarray(vectors, dtype=np.float32)
    out = {}
    for split in sorted(set(splits[valid].tolist())):
        out[str(split)] = batch_moments(rows[valid & (splits == split)])
    return out


def feature_moments(feature: pa.Array | pa.ChunkedArray, splits: np.ndarray) -> dict[str, Moments]:
    """Moments per split of a shard's `feature` column (fixed_size_list of floats; null rows left
    out), `splits` holding each row's split."""
    return shard_moments(fixed_rows(feature), valid_mask(feature), np.asarray(splits, dtype=str))


def moments_path(shard: Path) -> Path:
    return shard.parent / MOMENTS_DIR / f"{shard.stem}.arrow"


def write_shard_moments(shard: Path, moments: dict[str, Moments], dim: int, samples_fingerprint: str | None) -> None:
    """Write the moments of the finished `shard` (atomically: a reader sees all of them or none)."""
    path = moments_path(shard)
    names = sorted(moments)
    table = pa.table({
        "split": pa.array(names, pa.string()),
        "count": pa.array([moments[s][0] for s in names], pa.int64()),
        "mean": pa.FixedSizeListArray.from_arrays(
            pa.array(np.concatenate([moments[s][1] for s in names]) if names else np.zeros(0)), dim),
        "m2": pa.FixedSizeListArray.from_arrays(
            pa.array(np.concatenate([moments[s][2] for s in names]) if names else np.zeros(0)), dim),
    })
    info = shard.stat()
    meta = {"shard_bytes": info.st_size, "shard_mtime_ns": info.st_mtime_ns, "samples_fingerprint": samples_fingerprint,
            "dim": dim}
    write_table_atomic(table.replace_schema_metadata({_META_KEY: json.dumps(meta)}), path)


def read_table_moments(shards: Sequence[Path], dim: int, samples_fingerprint: str | None) -> list[dict[str, Moments]] | None:
    """Each shard's moments per split, in shard order; None unless every shard has moments that
    match it (same samples fingerprint, dim, shard size and modification time)."""
    out = []
    for moments in iter_shard_moments(shards, dim, samples_fingerprint):
        if moments is None:
            return None
        out.append(moments)
    return out


def iter_shard_moments(shards: Sequence[Path], dim: int, samples_fingerprint: str | None) -> Iterator[dict[str, Moments] | None]:
    """Each shard's moments per split, in shard order, read one at a time (a caller merging them
    keeps none); None for a shard without moments that match it, and nothing after it."""
    for shard in shards:
        moments = stored_moments(shard, dim, samples_fingerprint)
        yield moments
        if moments is None:
            return


def stored_moments(shard: Path, dim: int, samples_fingerprint: str | None) -> dict[str, Moments] | None:
    """The moments stored for `shard`, per split; None when it has none, they do not match it, or their
    file is damaged (truncated, not Arrow, metadata not JSON, columns missing or of another size): fuse
    then computes its statistics from the features, as for a table extracted before moments existed."""
    path = moments_path(shard)
    try:  # a few KB: read whole (mapping and unmapping each costs ~4x as much, 300 files: 50 vs 11 ms)
        table = pa.ipc.open_file(pa.py_buffer(path.read_bytes())).read_all()
        meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    except (OSError, ValueError, pa.ArrowException):  # missing, unreadable, or metadata that is not JSON
        return None
    info = shard.stat()
    if (not isinstance(meta, dict) or meta.get("samples_fingerprint") != samples_fingerprint or meta.get("dim") != dim
            or meta.get("shard_bytes") != info.st_size or meta.get("shard_mtime_ns") != info.st_mtime_ns):
        return None
    try:
        means = table.column("mean").combine_chunks().values.to_numpy().reshape(-1, dim)
        m2s = table.column("m2").combine_chunks().values.to_numpy().reshape(-1, dim)
        counts = table.column("count").to_pylist()
        splits = table.column("split").to_pylist()
    except (KeyError, ValueError, AttributeError, pa.ArrowException):  # a column missing or of another type
        return None
    if not len(splits) == len(counts) == len(means) == len(m2s):
        return None
    return {split: (counts[i], means[i].copy(), m2s[i].copy()) for i, split in enumerate(splits)}


__all__ = ["MOMENTS_DIR", "Moments", "batch_moments", "feature_moments", "has_moments", "iter_shard_moments", "moments_path",
           "read_table_moments", "shard_moments", "stored_moments", "write_shard_moments"]
