"""A sequence table's shard read a few rows at a time: `shard_row_batches` yields record batches of
about BATCH_BYTES of feature data, `batch_sequences` turns one into per-row (features, intervals).

Whole videos hold ~10^5 frames, so reading a shard at once would cost several times its size;
`align`, `segment` and `export-csd` all read their sequence tables this way.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mmdata.store import layout
from mmdata.store.shards import read_shard, unreadable_as_error

BATCH_BYTES = 4 << 20  # about this much feature data (uncompressed) is decoded at a time


def shard_row_batches(path: Path) -> Iterator[pa.RecordBatch]:
    """The shard's rows in record batches of about BATCH_BYTES of feature data (at most 1024 rows)."""
    def rows_per_batch(row_bytes: float) -> int:
        return int(min(max(BATCH_BYTES // max(row_bytes, 1), 1), 1024))

    if layout.shard_format(path) == "arrow":
        table = read_shard(path)
        yield from table.to_batches(max_chunksize=rows_per_batch(path.stat().st_size / max(table.num_rows, 1)))
        return
    with unreadable_as_error(path):
        file = pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
        meta = file.metadata
        row_bytes = sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups)) / max(meta.num_rows, 1)
        yield from file.iter_batches(batch_size=rows_per_batch(row_bytes), use_threads=False)


def batch_sequences(batch: pa.RecordBatch, dim: int | None) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per row (features (T, D), intervals (T, 2)), or None for a null row, without per-row Arrow calls."""
    feature, intervals = batch.column("feature"), batch.column("intervals")
    flat = feature.values.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim or 1)
    flat_iv = intervals.values.flatten().to_numpy(zero_copy_only=False).reshape(-1, 2)
    f_off, i_off = feature.offsets.to_numpy(), intervals.offsets.to_numpy()
    valid = feature.is_valid().to_numpy(zero_copy_only=False)
    return [(flat[f_off[k]:f_off[k + 1]], flat_iv[i_off[k]:i_off[k + 1]]) if valid[k] else None
            for k in range(len(feature))]
