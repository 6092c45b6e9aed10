"""Writing tables: atomic shard files in the store's Parquet or Arrow IPC form, and errors tables.

This module holds `write_table_atomic`, `ShardWriter` (a shard written piece by piece, published
whole; formerly `ParquetShardWriter`), the Parquet options every shard is written with, and the
errors table's schema; the rest lives in:
    mmdata.store.output_dirs       whole output directories staged beside them and swapped into place
    mmdata.store.feature_batches   `FeatureBatchBuilder`: extractor outputs cast to a table's exact schema
The names moved there stay importable from here.
"""
from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mmdata.store.feature_batches import (  # noqa: F401 - also re-exported from here
    _REAL_KINDS, FeatureBatchBuilder, _check_integral, _check_no_overflow, _fixed_rows, _kind_name, _list_of, _mask,
    _nest, _one_vector, _ragged, _shown, _stored_values, _with_nulls,
)
from mmdata.store.files import temporary_beside, temporary_file
from mmdata.store.layout import shard_format
from mmdata.store.output_dirs import (  # noqa: F401 - also re-exported from here
    _abandoned, _alive, _hidden_pattern, _publish_dir, _remove_abandoned, _restore_interrupted_publish,
    check_replaceable, staged_dir, staging_folders,
)
from mmdata.store.write_errors import named_write_errors

ERRORS_SCHEMA = pa.schema(
    [
        pa.field("table", pa.string()),
        pa.field("sample_id", pa.string()),
        pa.field("path", pa.string()),
        pa.field("stage", pa.string()),
        pa.field("error_type", pa.string()),
        pa.field("reason", pa.string()),
    ]
)


def write_table_atomic(table: pa.Table, path: Path, *, compression: str | None = None) -> int:
    """Write a shard so that readers see either nothing or the whole file; returns its size in bytes.

    The format follows the suffix (`layout.TABLE_FORMATS`): `.parquet` with `compression`
    (default `default_compression(table.schema)`), `.arrow` an uncompressed Arrow IPC file (one
    record batch: memory-mappable, zero-copy). The data goes to a hidden temporary file in the same
    directory (readers skip names starting with '.'), is fsynced, then renamed over `path`.

    Raises:
        OSError: the system refused the write (a full disk, a file-size limit), naming `path`
            (`named_write_errors`; pyarrow's error names no file); the temporary file is removed.
    """
    with atomic_file(path) as tmp:
        if shard_format(path) == "arrow":
            write_ipc(table.combine_chunks(), tmp)  # one record batch, whatever chunks the table came in
        else:
            pq.write_table(table, tmp, **parquet_options(table.schema, compression))
    return path.stat().st_size


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """A hidden temporary file beside `path` for the block to write, published over `path` when the
    block ends (`publish`: fsync, rename), so readers see nothing or the whole file; removed when the
    block raises. `write_table_atomic` writes a store shard so, `share.row_groups.write_share_file` a
    share's file.

    Raises:
        OSError: the system refused the write (a full disk, a file-size limit), naming `path`
            (`named_write_errors`; pyarrow's error names no file).
    """
    with temporary_file(path) as (fd, tmp), named_write_errors(path, hidden=tmp):  # a failure removes tmp
        os.close(fd)
        yield tmp
        publish(tmp, path)


class ShardWriter:
    """A shard written piece by piece and published whole: readers see nothing or all of it.

    Parquet pieces go, one row group each, to a hidden temporary file beside `path` as they come
    (`write_table_atomic`'s codec, encodings and statistics); an Arrow IPC shard is one record batch
    (memory-mappable), so its pieces are held and written at `commit`. `commit` fsyncs the file and
    renames it over `path` (leaving the `with` block does, unless it raises); `discard` removes it.

    Metadata known only once every row is written (counts) goes in by `set_metadata`: Parquet
    writes its footer, key-value metadata included, at close, so the file reads back, byte for
    byte, as if written with it from the start.

    A write the system refuses (a full disk) raises an OSError naming `path` (`named_write_errors`).

    Args:
        schema: the shard's schema, metadata included; by default the first piece's. A shard
            committed without a piece needs it.
        keep_rows: `commit` returns the shard's rows (Parquet pieces are then held too).
    """

    def __init__(self, path: Path, schema: pa.Schema | None = None, *, keep_rows: bool = False):
        self.path, self.schema, self.keep_rows = path, schema, keep_rows
        self.tmp = temporary_beside(path)
        self._arrow = shard_format(path) == "arrow"
        self._parquet: pq.ParquetWriter | None = None  # opened by the first Parquet piece
        self._pieces: list[pa.Table] = []

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: Any) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    @property
    def rows_in_file(self) -> bool:
        """Pieces went to the temporary file already (Parquet)."""
        return self._parquet is not None

    def write(self, table: pa.Table) -> None:
        """Append `table`'s rows (one row group of a Parquet shard)."""
        if self.schema is None:
            self.schema = table.schema
        if not self._arrow:
            with named_write_errors(self.path, hidden=self.tmp):
                if self._parquet is None:
                    self._parquet = pq.ParquetWriter(self.tmp, self.schema, **parquet_options(self.schema))
                self._parquet.write_table(table, row_group_size=max(table.num_rows, 1))
        if self._arrow or self.keep_rows:
            self._pieces.append(table)

    def set_metadata(self, schema: pa.Schema) -> None:
        """Give the shard the schema metadata of `schema` (its fields stay those of the pieces)."""
        self.schema = schema

    def commit(self) -> pa.Table | None:
        """Close, fsync and rename the file over `path`; returns the shard's rows when `keep_rows`."""
        try:
            rows = (pa.concat_tables(self._pieces) if self._pieces else self.schema.empty_table()
                    ).replace_schema_metadata(self.schema.metadata)
            with named_write_errors(self.path, hidden=self.tmp):
                if self._arrow:
                    write_ipc(rows.combine_chunks(), self.tmp)
                else:
                    self._close_parquet()
                publish(self.tmp, self.path)
        except BaseException:
            self.discard()
            raise
        return rows if self.keep_rows else None

    def discard(self) -> None:
        """Drop the unfinished shard: its temporary file goes. Closing the Parquet writer writes its
        footer, which a full disk refuses again: that second refusal is not raised (the file goes
        anyway, and the first one is what the caller raises)."""
        try:
            if self._parquet is not None:
                with contextlib.suppress(OSError):
                    self._parquet.close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def _close_parquet(self) -> None:
        if self._parquet is None:  # no piece: the schema and one empty row group, as `write_table_atomic` writes it
            self.write(self.schema.empty_table())
        if self._parquet.schema.metadata != self.schema.metadata:
            # Readers take a Parquet file's Arrow schema, metadata included, from its `ARROW:schema`
            # key (pyarrow's `store_schema`), which the writer serialized when it opened: replaced here.
            schema = base64.b64encode(self.schema.serialize().to_pybytes())
            self._parquet.add_key_value_metadata({**(self.schema.metadata or {}), b"ARROW:schema": schema})
        self._parquet.close()


#: The name `ShardWriter` had while it wrote Parquet shards only.
ParquetShardWriter = ShardWriter


def publish(tmp: Path, path: Path) -> None:
    """fsync the finished temporary file and rename it over `path` (readers see all of it or nothing).
    A full disk met at the fsync (the kernel's delayed writes) is an OSError naming `path`."""
    with named_write_errors(path), open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_ipc(table: pa.Table, path: str | Path) -> None:
    """An uncompressed Arrow IPC file holding `table` as one record batch per chunk (memory-mappable)."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(table.num_rows, 1))


def parquet_options(schema: pa.Schema, compression: str | None = None) -> dict[str, Any]:
    """How the store writes a Parquet shard of `schema`: codec, dictionary columns, statistics."""
    return dict(compression=compression or default_compression(schema), use_dictionary=_dictionary_columns(schema),
                write_statistics=_statistics_columns(schema))


def default_compression(schema: pa.Schema) -> str:
    """snappy for tables holding float vectors, zstd otherwise.

    Embeddings and spectra barely compress (zstd saves ~8% on float32 vectors) while zstd makes
    reading them 4-5x slower; snappy is Parquet's default codec, so every reader has it.
    """
    return "snappy" if any(_holds_floats(f.type) for f in schema) else "zstd"


def _holds_floats(arrow_type: pa.DataType) -> bool:
    """A (nested) list of floats: a vector column, not a scalar like `label`."""
    nested = False
    while pa.types.is_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type) or pa.types.is_large_list(arrow_type):
        arrow_type, nested = arrow_type.value_type, True
    return nested and pa.types.is_floating(arrow_type)


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Dictionary-encode only string columns: on float vectors it costs 2x the write time and 5x the
    read time for nothing (every value is distinct)."""
    return [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]


def _statistics_columns(schema: pa.Schema) -> list[str]:
    """Column statistics (min/max per row group) for every column but float vectors: readers use
    them to skip row groups by id, split or label; over a vector's values they filter nothing, and
    computing them is ~20% of writing a log-mel table."""
    return [f.name for f in schema if not _holds_floats(f.type)]


def errors_table(records: Sequence[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist([{k: r.get(k) for k in ERRORS_SCHEMA.names} for r in records], schema=ERRORS_SCHEMA)
