"""One shard file of a table, whatever its format: read it, count its rows, look at its schema.

    read_shard(path, columns=["feature"])   -> pa.Table
    open_shard(path, columns)               -> (schema with metadata, pa.Table), one open
    open_shard_batches(path, columns, ...)  -> (schema, rows, record batches read as asked for), Parquet
    unreadable_as_error(path)               -> a block whose Arrow errors become a ShardReadError (+ repair_hint)
    map_shard(path)                         -> pa.Table over an Arrow IPC shard's memory map
    shard_rows(path)                        -> int (footer only)
    shard_footer(path)                      -> (rows, schema), one open
    table_batches(table, columns)           -> record batches of an open (mapped) shard's table
    shard_schema(path)                      -> pa.Schema with the mmdata metadata
    shards_dataset(files)                   -> pyarrow.dataset over shards of one format

Arrow IPC shards are memory-mapped: their columns are zero-copy views of the page cache, so a
reader pays for the pages it touches and nothing is decoded. Parquet shards are decoded.
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyarrow import _parquet

from mmdata.errors import ShardReadError
from mmdata.store.footers import cached_footer, known_footer
from mmdata.store.layout import ERRORS_DIR, FEATURES_DIR, LOADER_ERRORS_TABLE, SAMPLES_DIR, shard_format

#: pyarrow.dataset's Parquet format for scans over whole tables (`shards_dataset`). Column chunks are read
#: where they are decoded (`pre_buffer=False`): pre-buffering hands each read to Arrow's I/O threads and
#: back, which cost more than the read itself for local shards (the fuse benchmark's 300 shards through
#: the scanner on 2 threads, in the version that measured it: 0.39-0.43 s wall, 0.65-0.69 s CPU with it,
#: 0.33 s and 0.60 s without). Single shards are read with `open_shard`, faster still.
_PARQUET = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False))
#: pyarrow.dataset's name of each shard format.
DATASET_FORMATS = {"arrow": "ipc", "parquet": "parquet"}


@functools.lru_cache(maxsize=1)
def parquet_pool() -> pa.MemoryPool:
    """The Arrow pool Parquet shards are decoded into and fused exports encoded from: jemalloc where
    pyarrow has it, else the system allocator.

    Not mimalloc (Arrow's default): it keeps what each reader thread's decodes freed, so memory grew
    with the shards read (fuse at 300k samples: 320-338 MiB against 261-268), and it purges what
    the encoder frees soon enough that every batch faults its pages in afresh. The system allocator
    hands every decoded shard back and faults the next one in: decoding 300 shards of 1,000 x
    512/384/74 floats took 1.4-1.7 s of CPU with it, 0.58 s with jemalloc."""
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without jemalloc (Windows)
        return pa.system_memory_pool()


def release_unused_memory(*pools: pa.MemoryPool) -> None:
    """Hand what Arrow pools hold freed back to the system (default: the default, system and Parquet
    pools, between two scans): for mimalloc (the default pool) what this thread freed, for the
    system pool malloc_trim, for jemalloc its dirty pages (scanner and prefetch threads keep what
    their decodes freed, and peak memory would grow with it)."""
    for pool in dict.fromkeys(pools or (pa.default_memory_pool(), pa.system_memory_pool(), parquet_pool())):
        pool.release_unused()


def read_shard(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """The shard's table (only `columns`, in that order, when given)."""
    return open_shard(path, columns)[1]


def open_shard(path: Path, columns: Sequence[str] | None = None) -> tuple[pa.Schema, pa.Table]:
    """(the shard's whole schema with its metadata, its table of `columns`), opening the file once.

    Parquet shards are decoded on the calling thread (readers that want both cores decode shards on
    threads of their own) into `parquet_pool()`, through `pyarrow._parquet.ParquetReader` (the
    reader behind `pq.ParquetFile`, which offers no memory pool): 300 shards of 1,000 x
    512/384/74 floats on 2 threads took 0.19 s wall, 0.36 s CPU this way, 0.25 s and 0.46 s as
    pyarrow.dataset fragments, 0.21 s and 0.41 s through one dataset scanner (which reads each
    footer a second time).

    Raises:
        KeyError: the shard has no column of that name.
        ShardReadError: the file cannot be read (truncated, corrupt).
    """
    if shard_format(path) != "parquet":
        table = map_shard(path)
        _expect_columns(path, table.schema, columns)
        return table.schema, table.select(list(columns)) if columns is not None else table
    reader = _open_parquet_reader(path, metadata=_known_parquet_footer(path))
    if reader is None:
        return _open_parquet_file(path, columns)
    try:
        with unreadable_as_error(path):
            schema, leaf_paths = reader.schema_arrow, reader.column_paths
        _expect_columns(path, schema, columns)
        with unreadable_as_error(path):
            if columns is None:
                return schema, reader.read_all(use_threads=False)
            leaves = [i for i, leaf in enumerate(leaf_paths) if leaf[0] in columns]
            return schema, reader.read_all(column_indices=leaves, use_threads=False).select(list(columns))
    finally:
        reader.close()


def open_shard_batches(path: Path, columns: Sequence[str], batch_bytes: int,
                       max_rows: int) -> tuple[pa.Schema, int, Iterator[pa.RecordBatch]]:
    """(a Parquet shard's whole schema with its metadata, its rows, its `columns` as record batches
    of about `batch_bytes` decoded bytes and at most `max_rows` rows), reading only the footer now.

    Pages are read and decoded as the batches are asked for, through a small read buffer (also
    within a row group), so a shard of whole videos (1 GB for 400 MOSI videos of COVAREP) is never
    in memory whole; a shard of ~1,000 pooled vectors is faster read whole (`open_shard`).

    Raises:
        KeyError: the shard has no column of that name.
        ShardReadError: the file cannot be read (truncated, corrupt); while iterating too.
    """
    reader = _open_parquet_reader(path, buffer_size=READ_BUFFER_BYTES)
    if reader is None:
        with unreadable_as_error(path):
            reader = pq.ParquetFile(str(path), buffer_size=READ_BUFFER_BYTES, pre_buffer=False).reader
    try:
        with unreadable_as_error(path):
            schema, leaf_paths, meta = reader.schema_arrow, reader.column_paths, reader.metadata
        _expect_columns(path, schema, columns)
    except BaseException:
        reader.close()
        raise
    leaves = [i for i, leaf in enumerate(leaf_paths) if leaf[0] in columns]
    size = sum(meta.row_group(g).column(c).total_uncompressed_size for g in range(meta.num_row_groups) for c in leaves)
    rows = max(1, min(max_rows, batch_bytes * meta.num_rows // max(size, 1)))

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            with unreadable_as_error(path):
                for batch in reader.iter_batches(rows, list(range(meta.num_row_groups)), column_indices=leaves,
                                                 use_threads=False):
                    yield batch.select(list(columns))
        finally:
            reader.close()

    return schema, meta.num_rows, batches()


def shard_batches(path: Path, columns: Sequence[str], batch_bytes: int, max_rows: int) -> Iterator[pa.RecordBatch]:
    """A shard's `columns` as record batches, in order, one batch in memory at a time: a Parquet shard
    decoded as the batches are asked for (`open_shard_batches`: about `batch_bytes` decoded, at most
    `max_rows` rows), an Arrow IPC shard as views of its memory map (at most `max_rows` rows). Closing
    the iterator closes the file."""
    if shard_format(path) == "parquet":
        yield from open_shard_batches(path, columns, batch_bytes, max_rows)[2]
    else:
        yield from map_shard(path).select(list(columns)).to_batches(max_chunksize=max_rows)


#: Bytes read from a shard at a time by `open_shard_batches` (without it a column chunk, a whole
#: row group's worth, is read at once).
READ_BUFFER_BYTES = 2**20


def _open_parquet_reader(path: Path, buffer_size: int = 0, metadata: pq.FileMetaData | None = None) -> Any:
    """pyarrow's private Parquet reader over `path`, decoding into `parquet_pool()` (with `metadata`, the
    file's footer read already, it is not read again); None where this pyarrow's reader no longer takes
    these arguments (then `pq.ParquetFile` reads the shard, in the default pool)."""
    try:
        reader = _parquet.ParquetReader(memory_pool=parquet_pool())
    except (AttributeError, TypeError):
        return None
    try:
        with unreadable_as_error(path):
            reader.open(str(path), pre_buffer=False, buffer_size=buffer_size, metadata=metadata)
        return reader
    except TypeError:
        reader.close()
        return None


def _open_parquet_file(path: Path, columns: Sequence[str] | None) -> tuple[pa.Schema, pa.Table]:
    """`open_shard` through pyarrow's public `pq.ParquetFile`."""
    with unreadable_as_error(path), pq.ParquetFile(str(path), pre_buffer=False) as file:
        schema = file.schema_arrow
        _expect_columns(path, schema, columns)
        table = file.read(columns=list(columns) if columns is not None else None, use_threads=False)
    return schema, table.select(list(columns)) if columns is not None else table


def _expect_columns(path: Path, schema: pa.Schema, columns: Sequence[str] | None) -> None:
    missing = [c for c in columns or () if c not in schema.names]
    if missing:
        raise KeyError(f"{path}: no column {missing[0]!r} (columns: {schema.names})")


#: What to do about a samples table (or the loader's errors) that lost or damaged a shard: `mmdata
#: extract` writes them once, with the dataset, and never again.
RESTORE_SAMPLES = "restore the file from a copy, or extract the corpus again into a new output directory"


@contextlib.contextmanager
def unreadable_as_error(path: Path) -> Iterator[None]:
    """Arrow's error for a file it cannot read, as a ShardReadError naming the file and the fix.

    A file that cannot be opened at all (permissions, gone since it was listed) is named as such:
    deleting it is not the fix then."""
    try:
        yield
    except (PermissionError, FileNotFoundError, IsADirectoryError) as e:
        raise ShardReadError(f"{path}: cannot open this shard ({e})") from e
    except (pa.ArrowException, OSError) as e:
        raise ShardReadError(f"{path}: cannot read this shard ({e}); it is truncated or corrupt: {repair_hint(path)}") from e


def repair_hint(path: Path) -> str:
    """How to replace a damaged shard, by the table it belongs to: the samples table and the loader's
    errors are written once, with the dataset; an extractor's or an aligned table's shards (and their
    errors shards) are computed again by a re-run of the command that wrote the table; a table a
    loader read from the corpus (`.csd`, MMSA features) is written once too."""
    table_dir = path.parent
    if table_dir.name == SAMPLES_DIR or (table_dir.parent.name == ERRORS_DIR and table_dir.name == LOADER_ERRORS_TABLE):
        return f"this table is written once, with the samples: {RESTORE_SAMPLES}"
    again = ("re-run the command that wrote the table (`mmdata extract` for an extractor's table, `mmdata align` "
             "for an aligned one) and it is computed again; a table the loader read from the corpus (.csd, MMSA "
             f"features) is written once: {RESTORE_SAMPLES}")
    if table_dir.parent.name == ERRORS_DIR:
        features = table_dir.parent.parent / FEATURES_DIR / table_dir.name
        return f"delete it and the shard of the same number in {features}, then {again}"
    return f"delete it, then {again}"


def map_shard(path: Path) -> pa.Table:
    """An Arrow IPC shard as a table over its memory map: only the footer and batch headers are
    read; each data page is read when something touches it, and the map goes with the table."""
    with unreadable_as_error(path), pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def shard_rows(path: Path) -> int:
    """Rows in a shard, from its footer (no data is read)."""
    return shard_footer(path)[0]


def shard_schema(path: Path) -> pa.Schema:
    """The shard's Arrow schema, with its schema metadata."""
    return shard_footer(path)[1]


def shard_footer(path: Path) -> tuple[int, pa.Schema]:
    """(rows, schema with its metadata) of a shard, from its footer, opening it once (once per run
    inside `footers.footers_read_once`, while the file stays the same)."""
    rows, schema, _ = cached_footer(path, _read_footer)
    return rows, schema


def _read_footer(path: Path) -> tuple[int, pa.Schema, pq.FileMetaData | None]:
    """(rows, schema, the Parquet footer itself: None for Arrow IPC) of a shard."""
    if shard_format(path) == "parquet":
        with unreadable_as_error(path):
            meta = pq.read_metadata(path)
            return meta.num_rows, meta.schema.to_arrow_schema(), meta
    with unreadable_as_error(path), pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_file(source)
        return reader.count_rows(), reader.schema, None


def _known_parquet_footer(path: Path) -> pq.FileMetaData | None:
    """The Parquet footer of `path` read earlier in this run (`footers_read_once`), else None."""
    footer = known_footer(path)
    return footer[2] if footer is not None else None


def table_batches(table: pa.Table, columns: Sequence[str], schema: pa.Schema | None = None,
                  batch_size: int = 4096) -> Iterator[pa.RecordBatch]:
    """Record batches of a table's `columns` (views of it), cast to `schema`'s fields where they differ."""
    table = table.select(list(columns))
    if schema is not None:
        wanted = pa.schema([schema.field(c) for c in columns])
        if not table.schema.equals(wanted):
            table = table.cast(wanted)
    yield from table.to_batches(max_chunksize=batch_size)


def shards_dataset(files: Sequence[Path], schema: pa.Schema | None = None) -> ds.Dataset:
    """A pyarrow dataset over shard files (all of one format, as `layout.shard_files` returns them)."""
    fmt = DATASET_FORMATS[shard_format(files[0])] if files else "parquet"
    return ds.dataset([str(f) for f in files], format=_PARQUET if fmt == "parquet" else fmt, schema=schema)


__all__ = ["RESTORE_SAMPLES", "map_shard", "open_shard", "open_shard_batches", "repair_hint", "shard_batches", "unreadable_as_error", "parquet_pool", "release_unused_memory", "table_batches", "read_shard", "shard_footer", "shard_rows", "shard_schema", "shards_dataset"]
