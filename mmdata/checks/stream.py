"""Streaming, vectorized access to a dataset's tables (shared by the checks and by fusion).

Tables are read shard by shard, each shard opened once (`iter_table_shards`: memory-mapped Arrow IPC,
or Parquet decoded a few shards ahead on threads, so memory does not grow with the dataset; or
`iter_shard_batches`: record batches of bounded size, a big Parquet shard read batch by batch, so
memory does not grow with a shard either), and
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
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pyarrow as pa

from mmdata.environment import usable_cpus
from mmdata.errors import DatasetError
from mmdata.records import SAMPLES_SCHEMA
from mmdata.store.arrays import fixed_rows, sequence_rows, single_chunk, valid_mask  # noqa: F401 - shared here too
from mmdata.store.layout import MANIFEST_NAME, samples_dir, shard_files, shard_format, shard_name
from mmdata.store.metadata import decode_metadata
from mmdata.store.shards import (
    RESTORE_SAMPLES, map_shard, open_shard, open_shard_batches, shard_footer, shards_dataset, table_batches,
)

if TYPE_CHECKING:
    from mmdata.store.reader import Dataset

T = TypeVar("T")

#: Rows per record batch when the checks scan feature tables.
SCAN_BATCH_ROWS = 4096
ID_SCHEMA = pa.schema([pa.field("sample_id", pa.string())])
#: Parquet shards being decoded ahead of the one a reader works on, at most ...
READ_AHEAD = 4
#: ... and at most this many bytes of them with it (their files' sizes): shards of ~1,000 pooled
#: vectors (a few MB) are read 4 ahead, shards of whole videos (1 GB each) one at a time.
READ_AHEAD_BYTES = 256 * 2**20
#: A Parquet shard bigger than this on disk is read by `iter_shard_batches` in record batches of
#: about this many bytes, not whole; every shard's batches hold about this many bytes at most.
BATCH_BYTES = 64 * 2**20


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
    decoded `READ_AHEAD` ahead (fewer when they hold more than `READ_AHEAD_BYTES` together) on
    `threads` threads (default one per CPU; Arrow releases the GIL), footer and columns in one open
    (`store.shards.open_shard`); each shard is whole in memory (`iter_shard_batches` reads a big
    one in pieces). `threads=0` decodes them in the
    calling thread, which is faster for a small column: reading the ids of 300 shards of 1,000 rows
    took 0.045 s there, 0.069 s on two threads (the hand-offs cost more than the decoding)."""
    if not files:
        return
    if shard_format(files[0]) == "arrow":
        for info, table in iter_mapped_shards(files):
            yield info, table.select(list(columns)) if all(c in table.schema.names for c in columns) else None
        return
    for index, path, opened in _opened_in_order(files, lambda path: _open_if_complete(path, columns), threads):
        yield _shard_info(index, path, *opened)


def iter_shard_batches(files: Sequence[Path], columns: Sequence[str], schema: pa.Schema | None = None,
                       batch_rows: int = SCAN_BATCH_ROWS, *,
                       threads: int | None = None) -> Iterator[tuple[ShardInfo, Iterator[pa.RecordBatch] | None]]:
    """The shard files of a table in order, each opened once: its info and its `columns` as record
    batches (cast to `schema`'s fields where they differ) of at most `batch_rows` rows and about
    `BATCH_BYTES` (a shard without one of the columns: its info and None). Read each shard's batches
    before asking for the next shard.

    A Parquet shard of up to `BATCH_BYTES` is read whole as in `iter_table_shards` (read ahead on
    threads); a bigger one (whole videos) is read batch by batch as they are asked for
    (`store.shards.open_shard_batches`), so memory holds about one batch of it, not the shard."""
    if files and shard_format(files[0]) == "arrow":
        for info, table in iter_mapped_shards(files):
            complete = all(c in table.schema.names for c in columns)
            yield info, _bounded_batches(table, columns, schema, batch_rows) if complete else None
        return
    opened = _opened_in_order(files, lambda path: _open_for_batches(path, columns, batch_rows), threads,
                              lambda path: min(_file_size(path), BATCH_BYTES))
    for index, path, (shard_schema, rows, batches) in opened:
        info = ShardInfo(index, path, rows, shard_schema, decode_metadata(shard_schema))
        yield info, None if batches is None else _cast_batches(batches, columns, schema)


def _open_for_batches(path: Path, columns: Sequence[str],
                      batch_rows: int) -> tuple[pa.Schema, int, Iterator[pa.RecordBatch] | None]:
    """(schema, rows, batches or None) of a Parquet shard: decoded whole when small, else only its footer."""
    if _file_size(path) <= BATCH_BYTES:
        schema, table = _open_if_complete(path, columns)
        if table is None:
            return schema, shard_footer(path)[0], None
        return schema, table.num_rows, _bounded_batches(table, columns, None, batch_rows)
    try:
        return open_shard_batches(path, columns, BATCH_BYTES, batch_rows)
    except KeyError:
        rows, schema = shard_footer(path)
        return schema, rows, None


def _bounded_batches(table: pa.Table, columns: Sequence[str], schema: pa.Schema | None,
                     batch_rows: int) -> Iterator[pa.RecordBatch]:
    """`store.shards.table_batches`, with fewer rows a batch where `batch_rows` would hold more than
    about `BATCH_BYTES` (the checks' temporaries grow with a batch)."""
    table = table.select(list(columns))
    size = table.get_total_buffer_size()
    if size > BATCH_BYTES:
        batch_rows = max(1, min(batch_rows, BATCH_BYTES * table.num_rows // size))
    return table_batches(table, columns, schema, batch_rows)


def _cast_batches(batches: Iterator[pa.RecordBatch], columns: Sequence[str],
                  schema: pa.Schema | None) -> Iterator[pa.RecordBatch]:
    wanted = None if schema is None else pa.schema([schema.field(c) for c in columns])
    for batch in batches:
        yield batch if wanted is None or batch.schema.equals(wanted) else batch.cast(wanted)


def _opened_in_order(files: Sequence[Path], open_one: Callable[[Path], T], threads: int | None,
                     size: Callable[[Path], int] | None = None) -> Iterator[tuple[int, Path, T]]:
    """(index, path, open_one(path)) for each file in order. `threads=0`: opened in the calling
    thread when asked for; else on `threads` threads (default one per CPU; Arrow releases the GIL),
    up to `READ_AHEAD` files ahead of the one handed out and `READ_AHEAD_BYTES` with it, by `size`
    (default: the file's size)."""
    if threads == 0:
        for index, path in enumerate(files):
            yield index, path, open_one(path)
        return
    size = size or _file_size
    pool = ThreadPoolExecutor(max_workers=threads or usable_cpus())
    pending: deque[tuple[Future[T], int]] = deque()
    submitted = 0

    def read_ahead(current: int) -> None:
        nonlocal submitted
        while submitted < len(files) and len(pending) < READ_AHEAD:
            ahead = size(files[submitted])
            if pending and current + sum(b for _, b in pending) + ahead > READ_AHEAD_BYTES:
                return
            pending.append((pool.submit(open_one, files[submitted]), ahead))
            submitted += 1

    try:
        read_ahead(0)
        for index, path in enumerate(files):
            if not pending:  # the ones ahead would not fit beside the last: this one is opened now
                read_ahead(0)
            future, current = pending.popleft()
            opened = future.result()
            read_ahead(current)
            yield index, path, opened
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _file_size(path: Path) -> int:
    """The file's size in bytes (0 when it cannot be looked at: opening it tells what is wrong)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


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
                 threads: int | None = None, as_listed: bool = True) -> tuple[pa.Table, list[int]]:
    """One scan of the samples table: its `keep` columns (default: all `columns`) whole, the rows
    of each shard in shard order, and every shard's `columns` handed to `each` (for checks of
    columns not kept). `threads`: as for `iter_table_shards` (0 when other threads keep the CPUs
    busy meanwhile). `as_listed`: refuse shards other than the manifest lists (False: read the
    shards there are, as an unfinished `extract --update` left them)."""
    keep = keep or columns
    parts: list[pa.Table] = []
    rows: list[int] = []
    files = _samples_shards(dataset) if as_listed else shard_files(samples_dir(dataset.root))
    for info, table in iter_table_shards(files, columns, threads=threads):
        if table is None:
            missing = sorted(set(columns) - set(info.schema.names))
            raise DatasetError(f"samples shard {info.path} lacks the columns {missing}; it was not written by "
                               f"this mmdata version: {RESTORE_SAMPLES}")
        rows.append(info.rows)
        if each is not None:
            each(table)
        parts.append(table.select(keep))
    if as_listed:
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
