"""What the report shows about each feature table, computed by scanning it in record batches.

Record shapes (n rows of a batch, D the dim):

    feature fixed_size_list<float>[D]            -> vectors (n, D)
    feature list<fixed_size_list<float>[D]>      -> per-sample mean over its items (n, D), items (n,)
    intervals list<fixed_size_list<double>[2]>   -> coverage (n,): fraction of the sample's segment covered

Norms are kept for every row (a float each); vectors only for a seeded random subset of at most
`max_points` rows, which is what the PCA projection uses, so memory does not grow with the table.

A table is read one shard at a time, in record batches of about `SCAN_BYTES` decoded (`_table_batches`):
a dataset scanner decodes several shards ahead, and a Parquet row group of a whole-video sequence
table is hundreds of MB, so memory would grow with the shards and the videos' length. On 100
generated CMU-MOSI-like videos (COVAREP 100 Hz x 74, one video a row) this took the report's
table scans from 1.3 GB to 0.4 GB peak.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks.stream import fixed_rows, sequence_rows, valid_mask
from mmdata.checks.temporal import segment_coverage
from mmdata.records import duration_keys, media_ends
from mmdata.share.hf import split_order
from mmdata.store.layout import shard_format
from mmdata.store.metadata import FeatureSpec
from mmdata.store.reader import Dataset
from mmdata.store.shards import map_shard, shard_batches, unreadable_as_error

#: Most rows in a record batch of a scan.
SCAN_ROWS = 4096
#: About how many bytes of decoded columns a record batch of a Parquet shard holds: fewer rows than
#: SCAN_ROWS where rows are long sequences (a whole video's frames are megabytes).
SCAN_BYTES = 32 * 2**20


@dataclass
class TableSummary:
    """One feature table as the report's table section lists it."""

    name: str
    modality: str
    extractor: str
    config: dict[str, Any]
    versions: dict[str, str]
    rows: int
    dim: int | None
    dtype: str
    kind: str
    frame_rate: float | None
    failed: int  # rows of the errors table for this table
    missing: int  # null features
    complete: bool


@dataclass
class TableVectors:
    """Per-row numbers of one table for the plots; `positions` index the samples table (-1: unknown id)."""

    name: str
    modality: str
    kind: str
    positions: np.ndarray  # (n,) int64
    norms: np.ndarray  # (n,) float64, NaN for null rows
    points: np.ndarray  # (m, D) float64, a subset of valid rows (pooled, or mean over items)
    point_positions: np.ndarray  # (m,) int64
    items: np.ndarray | None = None  # (n,) items per sample (sequences; 0 for a null feature)
    present: np.ndarray | None = None  # (n,) the row's feature is not null (sequences)
    coverage: np.ndarray | None = None  # (n,) covered fraction of the segment (tables with intervals)
    pooled_by_mean: bool = False


@dataclass
class SampleColumns:
    """The small samples-table columns the report needs, as NumPy arrays."""

    ids: pa.Array
    splits: np.ndarray  # (n,) object (str)
    labels: np.ndarray  # (n,) float64, NaN when unlabelled
    lo: np.ndarray  # segment start (0 when null)
    hi: np.ndarray  # segment end; for a whole file its duration from `extra` (as `mmdata check` uses); else NaN
    split_counts: dict[str, int] = field(default_factory=dict)


def read_sample_columns(dataset: Dataset) -> SampleColumns:
    samples = dataset.samples_table(columns=["sample_id", "split", "label", "start", "end", "extra"])
    splits = np.asarray(samples.column("split").to_pylist(), dtype=object)
    found = dict(zip(*np.unique(splits.astype(str), return_counts=True))) if len(splits) else {}
    counts = {str(split): int(found[split]) for split in split_order(found)}
    start = samples.column("start").to_numpy(zero_copy_only=False).astype(np.float64)
    return SampleColumns(
        ids=samples.column("sample_id").combine_chunks(),
        splits=splits,
        labels=samples.column("label").to_numpy(zero_copy_only=False).astype(np.float64),
        lo=np.nan_to_num(start, nan=0.0),
        hi=_segment_ends(samples),
        split_counts=counts,
    )


def _segment_ends(samples: pa.Table) -> np.ndarray:
    """Each sample's end: `end`, else where the media its `extra` describes ends (whole files), else NaN,
    where coverage then only measures the gaps between rows."""
    end = samples.column("end").to_numpy(zero_copy_only=False).astype(np.float64)
    return np.where(np.isfinite(end), end, media_ends(samples.column("extra"), duration_keys(None)))


def summarize_tables(dataset: Dataset) -> list[TableSummary]:
    """Rows, dims, dtype, extractor, config, failed and missing counts of every feature table."""
    failed = failed_counts(dataset)
    return [summarize_table(dataset, name, failed) for name in dataset.table_names]


def failed_counts(dataset: Dataset) -> dict[str, int]:
    """Failed items per table, from the errors table (read once for all the tables)."""
    errors = dataset.errors()
    if not errors.num_rows:
        return {}
    return {row["values"]: row["counts"] for row in pc.value_counts(errors.column("table")).to_pylist()}


def summarize_table(dataset: Dataset, name: str, failed: dict[str, int]) -> TableSummary:
    """One table's `TableSummary`; `failed`: `failed_counts` of the dataset.

    Raises:
        DatasetError: a shard of the table cannot be read (naming it)."""
    entry = dataset.entry(name)
    spec = FeatureSpec.from_json(entry.spec)
    files = dataset.table_files(name)
    with dataset.reading(name):
        rows, missing = _count_rows_and_nulls(files)
    return TableSummary(
        name=name, modality=entry.modality, extractor=entry.extractor, config=entry.config,
        versions=entry.versions, rows=rows, dim=spec.dim, dtype=spec.dtype, kind=spec.kind,
        frame_rate=spec.frame_rate, failed=int(failed.get(name, 0)), missing=missing, complete=entry.complete,
    )


def table_vectors(dataset: Dataset, name: str, samples: SampleColumns, *, max_points: int = 2000,
                  seed: int = 0) -> TableVectors | None:
    """Norms, a PCA subset, items and coverage of one table (None for variable-dim tables)."""
    spec = FeatureSpec.from_json(dataset.entry(name).spec)
    if spec.dim is None:
        return None
    files = dataset.table_files(name)
    # Every row's position in the samples table, from one lookup over the table's ids: a lookup per
    # batch would hash the whole samples table each time (quadratic in the rows).
    ids = [batch.column("sample_id") for batch in _table_batches(files, ["sample_id"])]
    all_positions = _positions(pa.chunked_array(ids) if ids else pa.array([], pa.string()), samples.ids)
    total = len(all_positions)
    rng = np.random.default_rng(seed)
    chosen = np.zeros(total, dtype=bool)
    chosen[rng.choice(total, size=min(total, max_points), replace=False)] = True
    with_intervals = spec.kind == "sequence" and spec.intervals
    columns = ["feature"] + (["intervals"] if with_intervals else [])
    norms, points, point_positions, items, present, coverage = [], [], [], [], [], []
    row0 = 0
    for batch in _table_batches(files, columns):
        n = batch.num_rows
        if n == 0:
            continue
        pos = all_positions[row0 : row0 + n]
        feature = batch.column("feature")
        not_null = valid_mask(feature)
        if spec.kind == "pooled":
            vectors = fixed_rows(feature).astype(np.float64)
            valid = not_null
        else:
            offsets, rows = sequence_rows(feature)
            counts = np.diff(offsets)
            vectors = _mean_per_sample(offsets, rows)
            valid = not_null & (counts > 0)
            items.append(np.where(not_null, counts, 0))
            present.append(not_null)
            if with_intervals:
                iv_offsets, intervals = sequence_rows(batch.column("intervals"))
                known = pos >= 0
                lo = np.where(known, samples.lo[np.maximum(pos, 0)], 0.0)
                hi = np.where(known, samples.hi[np.maximum(pos, 0)], np.nan)
                cov = segment_coverage(iv_offsets, intervals.astype(np.float64), lo, hi)
                coverage.append(np.where(not_null, cov, np.nan))
        row_norms = np.full(n, np.nan)
        row_norms[valid] = np.linalg.norm(vectors[valid], axis=1)
        norms.append(row_norms)
        pick = chosen[row0 : row0 + n] & valid & np.isfinite(row_norms)
        points.append(vectors[pick])
        point_positions.append(pos[pick])
        row0 += n
    return TableVectors(
        name=name, modality=dataset.entry(name).modality, kind=spec.kind,
        positions=all_positions, norms=_cat(norms, np.float64),
        points=np.concatenate(points) if points else np.zeros((0, spec.dim)),
        point_positions=_cat(point_positions, np.int64),
        items=_cat(items, np.int64) if items else None,
        present=_cat(present, bool) if present else None,
        coverage=_cat(coverage, np.float64) if coverage else None,
        pooled_by_mean=spec.kind == "sequence",
    )


def pca_2d(points: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Project rows onto their first two principal components: (m, 2) coordinates and explained variance ratios.

    Exact: an eigendecomposition of the smaller Gram matrix of the centred rows (D x D, or m x m
    when there are fewer rows than dims), O(m x D x min(m, D) + min(m, D)^3); about a second for
    2,000 rows of any dim. Each component's sign is fixed (its largest coordinate is positive), so
    the picture is the same on every run.
    """
    if len(points) < 2:
        return np.zeros((len(points), 2)), (0.0, 0.0)
    centered = points - points.mean(axis=0)
    total = float(np.square(centered).sum())
    if total == 0.0:
        return np.zeros((len(points), 2)), (0.0, 0.0)
    m, dim = centered.shape
    if dim <= m:
        values, vectors = np.linalg.eigh(centered.T @ centered)  # ascending eigenvalues
        order = np.argsort(values)[::-1][:2]
        coords = centered @ vectors[:, order]
    else:
        values, vectors = np.linalg.eigh(centered @ centered.T)
        order = np.argsort(values)[::-1][:2]
        coords = vectors[:, order] * np.sqrt(np.clip(values[order], 0.0, None))
    variances = np.clip(values[order], 0.0, None)
    signs = np.sign(coords[np.abs(coords).argmax(axis=0), np.arange(coords.shape[1])])
    coords = coords * np.where(signs == 0, 1.0, signs)
    out = np.zeros((m, 2))
    out[:, : coords.shape[1]] = coords
    ratios = [float(v / total) for v in variances] + [0.0] * (2 - len(variances))
    return out, (ratios[0], ratios[1])


def _positions(table_ids: pa.Array | pa.ChunkedArray, sample_ids: pa.Array) -> np.ndarray:
    return pc.fill_null(pc.index_in(table_ids, value_set=sample_ids), -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _mean_per_sample(offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(n, D) float64 mean of each sample's rows (zeros for samples without rows), summed in float64
    without a float64 copy of `rows` (NumPy casts them in small buffers as it adds)."""
    n, dim = len(offsets) - 1, rows.shape[1]
    counts = np.diff(offsets)
    sums = np.zeros((n, dim))
    nonempty = counts > 0
    if nonempty.any():
        sums[nonempty] = np.add.reduceat(rows, offsets[:-1][nonempty], axis=0, dtype=np.float64)
    return sums / np.maximum(counts, 1)[:, None]


def _count_rows_and_nulls(files: Sequence[Path]) -> tuple[int, int]:
    """(rows, null features) of a table's shards, one shard at a time.

    An Arrow IPC shard's null counts are in its batch headers (nothing else of the map is read). A
    Parquet shard has no such count: the statistics of a list column's leaf count empty lists and
    null items together with null rows (and the store writes none for float columns), so its feature
    column is decoded, batch by batch (`_table_batches`)."""
    rows = missing = 0
    for path in files:
        if shard_format(path) == "arrow":
            with unreadable_as_error(path):
                feature = map_shard(path).column("feature")
            rows, missing = rows + len(feature), missing + feature.null_count
            continue
        for batch in _table_batches([path], ["feature"]):
            rows, missing = rows + batch.num_rows, missing + batch.column("feature").null_count
    return rows, missing


def _table_batches(files: Sequence[Path], columns: list[str]) -> Iterator[pa.RecordBatch]:
    """The `columns` of a table's shard files in order, as record batches of about `SCAN_BYTES`
    (`store.shards.shard_batches`), one shard open at a time, so that memory holds one batch, not
    the table."""
    for path in files:
        with unreadable_as_error(path):
            yield from shard_batches(path, columns, SCAN_BYTES, SCAN_ROWS)


def _cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
