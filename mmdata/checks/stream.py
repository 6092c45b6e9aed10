"""Streaming, vectorized access to a dataset's tables (shared by the checks and by fusion).

Feature tables are read shard by shard (`store.shards.iter_shard_batches`: memory-mapped Arrow IPC,
or Parquet through a scanner with bounded read-ahead, so memory does not grow with the dataset), and
Arrow list columns are turned into NumPy views without per-row Python (`store.arrays`, imported here):

    feature: fixed_size_list<float32>[D]              -> (n, D) array          (`fixed_rows`)
    feature: list<fixed_size_list<float32>[D]>        -> offsets (n+1,), (sum T_i, D) array (`sequence_rows`)
    intervals: list<fixed_size_list<float64>[2]>      -> offsets (n+1,), (sum T_i, 2) array
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from mmdata.store.arrays import fixed_rows, sequence_rows, single_chunk, valid_mask  # noqa: F401 - shared here too
from mmdata.store.layout import samples_dir, shard_files, shard_format
from mmdata.store.metadata import decode_metadata
from mmdata.store.shards import map_shard, shard_footer, shards_dataset

if TYPE_CHECKING:
    from mmdata.store.reader import Dataset

#: Rows per record batch when the checks scan feature tables.
SCAN_BATCH_ROWS = 4096
ID_SCHEMA = pa.schema([pa.field("sample_id", pa.string())])


@dataclass(frozen=True)
class ShardInfo:
    """One finished shard file of a table: its rows, Arrow schema and mmdata metadata."""

    index: int
    path: Path
    rows: int
    schema: pa.Schema
    metadata: dict

    @property
    def feature_type(self) -> pa.DataType | None:
        index = self.schema.get_field_index("feature")
        return None if index < 0 else self.schema.field(index).type


def read_shard_infos(table_dir: Path) -> list[ShardInfo]:
    """Footer-only look at every shard of a table (cheap: no data pages are read)."""
    infos = []
    for index, path in enumerate(shard_files(table_dir)):
        rows, schema = shard_footer(path)
        infos.append(ShardInfo(index, path, rows, schema, decode_metadata(schema)))
    return infos


def row_starts(shards: Sequence[ShardInfo]) -> np.ndarray:
    """The table row index of each shard's first row, then the table's row count ((len + 1,) int64)."""
    return np.concatenate([[0], np.cumsum([s.rows for s in shards])]).astype(np.int64)


def iter_mapped_shards(files: Sequence[Path]) -> Iterator[tuple[ShardInfo, pa.Table]]:
    """The Arrow IPC shard files of a table (`layout.shard_files`), each opened once: its info and
    its memory-mapped table, one shard at a time (a reader that drops each table before the next
    keeps one shard mapped)."""
    for index, path in enumerate(files):
        table = map_shard(path)
        yield ShardInfo(index, path, table.num_rows, table.schema, decode_metadata(table.schema)), table


def read_shard_infos_and_ids(table_dir: Path) -> tuple[list[ShardInfo], pa.Array]:
    """Every shard's info and the table's `sample_id` column, concatenated; Arrow IPC shards are
    opened once each, Parquet ones read their footers, then the ids in one multi-threaded scan."""
    files = shard_files(table_dir)
    if not files or shard_format(files[0]) != "arrow":
        return read_shard_infos(table_dir), read_column(files, "sample_id", ID_SCHEMA)
    infos, ids = [], []
    for info, table in iter_mapped_shards(files):
        infos.append(info)
        # Copied out at once, so that the shard's map goes with its table: ids still pointing into
        # every map would keep ~128 KiB of each shard resident (the kernel maps pages around each
        # one touched), 15 MiB more peak memory at 100k samples.
        ids.append(pa.concat_arrays(table.column("sample_id").chunks))
    return infos, pa.concat_arrays(ids) if ids else pa.array([], pa.string())


def read_column(files: Sequence[Path], column: str, schema: pa.Schema | None = None) -> pa.Array:
    """One column of several shards, concatenated (for small columns such as `sample_id`)."""
    if not files:
        return pa.array([], pa.string())
    data = shards_dataset(files, schema=schema)
    chunked = data.to_table(columns=[column]).column(column)
    return chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)


def scan_samples(dataset: Dataset, columns: list[str], keep: list[str] | None = None,
                 each: Callable[[pa.RecordBatch], None] | None = None) -> tuple[pa.Table, list[int]]:
    """One scan of the samples table: its `keep` columns (default: all `columns`) whole, the rows
    of each shard in shard order, and every batch handed to `each` (for checks of columns not kept)."""
    keep = keep or columns
    rows_by_file: dict[str, int] = {}
    parts: list[pa.RecordBatch] = []
    scanner = dataset.samples().scanner(columns=columns, memory_pool=pa.system_memory_pool(), fragment_readahead=1,
                                        batch_readahead=1)
    for tagged in scanner.scan_batches():
        batch, name = tagged.record_batch, Path(tagged.fragment.path).name
        rows_by_file[name] = rows_by_file.get(name, 0) + batch.num_rows
        if each is not None:
            each(batch)
        parts.append(batch.select(keep))
    schema = scanner.projected_schema
    table = pa.Table.from_batches(parts, schema=pa.schema([schema.field(c) for c in keep]))
    return table, [rows_by_file.get(p.name, 0) for p in shard_files(samples_dir(dataset.root))]
