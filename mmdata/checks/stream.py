"""Streaming, vectorized access to a dataset's tables (shared by the checks and by fusion).

Tables are read shard by shard, each shard opened once (`iter_table_shards`: memory-mapped Arrow IPC,
or Parquet decoded a few shards ahead on threads, so memory does not grow with the dataset), and
Arrow list columns are turned into NumPy views without per-row Python (`store.arrays`, imported here):

    feature: fixed_size_list<float32>[D]              -> (n, D) array          (`fixed_rows`)
    feature: list<fixed_size_list<float32>[D]>        -> offsets (n+1,), (sum T_i, D) array (`sequence_rows`)
    intervals: list<fixed_size_list<float64>[2]>      -> offsets (n+1,), (sum T_i, 2) array
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from mmdata.environment import usable_cpus
from mmdata.errors import DatasetError
from mmdata.records import SAMPLES_SCHEMA
from mmdata.store.arrays import fixed_rows, sequence_rows, single_chunk, valid_mask  # noqa: F401 - shared here too
from mmdata.store.layout import MANIFEST_NAME, samples_dir, shard_files, shard_format, shard_name
from mmdata.store.metadata import decode_metadata
from mmdata.store.shards import RESTORE_SAMPLES, map_shard, open_shard, shard_footer, shards_dataset

if TYPE_CHECKING:
    from mmdata.store.reader import Dataset

#: Rows per record batch when the checks scan feature tables.
SCAN_BATCH_ROWS = 4096
ID_SCHEMA = pa.schema([pa.field("sample_id", pa.string())])
#: Parquet shards being decoded ahead of the one a reader works on.
READ_AHEAD = 4


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


def iter_table_shards(files: Sequence[Path], columns: Sequence[str], *,
                      threads: int | None = None) -> Iterator[tuple[ShardInfo, pa.Table | None]]:
    """The shard files of a table (`layout.shard_files`) in order, each opened once: its info and its
    table of `columns` (a shard without one of them: its info and None).

    Arrow IPC shards are memory-mapped one at a time (`iter_mapped_shards`). Parquet shards are
    decoded `READ_AHEAD` ahead on `threads` threads (default one per CPU; Arrow releases the GIL),
    footer and columns in one open (`store.shards.open_shard`); `threads=0` decodes them in the
    calling thread, which is faster for a small column: reading the ids of 300 shards of 1,000 rows
    took 0.045 s there, 0.069 s on two threads (the hand-offs cost more than the decoding)."""
    if not files:
        return
    if shard_format(files[0]) == "arrow":
        for info, table in iter_mapped_shards(files):
            yield info, table.select(list(columns)) if all(c in table.schema.names for c in columns) else None
        return
    if threads == 0:
        for index, path in enumerate(files):
            yield _shard_info(index, path, *_open_if_complete(path, columns))
        return
    pool = ThreadPoolExecutor(max_workers=threads or usable_cpus())
    try:
        pending: deque[Future[tuple[pa.Schema, pa.Table | None]]] = deque(
            pool.submit(_open_if_complete, path, columns) for path in files[:READ_AHEAD])
        for index, path in enumerate(files):
            opened = pending.popleft().result()
            if index + READ_AHEAD < len(files):
                pending.append(pool.submit(_open_if_complete, files[index + READ_AHEAD], columns))
            yield _shard_info(index, path, *opened)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _shard_info(index: int, path: Path, schema: pa.Schema, table: pa.Table | None) -> tuple[ShardInfo, pa.Table | None]:
    rows = table.num_rows if table is not None else shard_footer(path)[0]
    return ShardInfo(index, path, rows, schema, decode_metadata(schema)), table


def _open_if_complete(path: Path, columns: Sequence[str]) -> tuple[pa.Schema, pa.Table | None]:
    try:
        return open_shard(path, columns)
    except KeyError:
        return shard_footer(path)[1], None


def read_shard_infos_and_ids(table_dir: Path) -> tuple[list[ShardInfo], pa.Array]:
    """Every shard's info and the table's `sample_id` column, concatenated, each shard opened once."""
    infos, ids = [], []
    for info, table in iter_table_shards(shard_files(table_dir), ["sample_id"], threads=0):
        infos.append(info)
        if table is None:  # a shard without ids: null ids, which the id checks name
            ids.append(pa.nulls(info.rows, pa.string()))
        else:
            # Copied out at once, so that an Arrow IPC shard's map goes with its table: ids still
            # pointing into every map would keep ~128 KiB of each shard resident (the kernel maps
            # pages around each one touched), 15 MiB more peak memory at 100k samples.
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
                 each: Callable[[pa.Table], None] | None = None, *,
                 threads: int | None = None) -> tuple[pa.Table, list[int]]:
    """One scan of the samples table: its `keep` columns (default: all `columns`) whole, the rows
    of each shard in shard order, and every shard's `columns` handed to `each` (for checks of
    columns not kept). `threads`: as for `iter_table_shards` (0 when other threads keep the CPUs
    busy meanwhile)."""
    keep = keep or columns
    parts: list[pa.Table] = []
    rows: list[int] = []
    for info, table in iter_table_shards(_samples_shards(dataset), columns, threads=threads):
        if table is None:
            missing = sorted(set(columns) - set(info.schema.names))
            raise DatasetError(f"samples shard {info.path} lacks the columns {missing}; it was not written by "
                               f"this mmdata version: {RESTORE_SAMPLES}")
        rows.append(info.rows)
        if each is not None:
            each(table)
        parts.append(table.select(keep))
    _check_sample_rows(dataset, rows)
    if not parts:
        return SAMPLES_SCHEMA.empty_table().select(keep), rows
    return pa.concat_tables(parts, promote_options="permissive"), rows


def _samples_shards(dataset: Dataset) -> list[Path]:
    """The samples table's shard files: the ones the manifest lists (`samples.shards`, rows per shard)."""
    folder = samples_dir(dataset.root)
    files = shard_files(folder)
    expected = dataset.manifest.samples.get("shards")
    if isinstance(expected, list) and len(files) != len(expected):
        present, listed = {f.name for f in files}, [shard_name(k) for k in range(len(expected))]
        missing, extra = [n for n in listed if n not in present], sorted(present - set(listed))
        what = f"{missing[:3]}{' ...' if len(missing) > 3 else ''} missing" if missing else f"{extra[:3]} not listed"
        raise DatasetError(f"samples table {folder}: {len(files)} shards, {MANIFEST_NAME} lists {len(expected)} "
                           f"({what}); {RESTORE_SAMPLES}")
    return files


def _check_sample_rows(dataset: Dataset, rows: list[int]) -> None:
    """Each samples shard holds the rows the manifest lists for it (or, for a manifest without
    per-shard rows, all of them add up to its total)."""
    expected = dataset.manifest.samples.get("shards")
    if isinstance(expected, list):
        for index, (found, listed) in enumerate(zip(rows, expected)):
            if found != listed:
                raise DatasetError(f"samples shard {samples_dir(dataset.root) / shard_name(index)} holds {found} rows, "
                                   f"{MANIFEST_NAME} lists {listed}: the file was replaced; {RESTORE_SAMPLES}")
    elif sum(rows) != dataset.manifest.samples.get("rows", sum(rows)):
        raise DatasetError(f"samples table {samples_dir(dataset.root)} holds {sum(rows)} rows, {MANIFEST_NAME} lists "
                           f"{dataset.manifest.samples['rows']}: a shard was replaced; {RESTORE_SAMPLES}")
