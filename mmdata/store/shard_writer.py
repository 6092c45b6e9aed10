"""Feature shards written on a background thread while the next rows are decoded and computed.

    main thread    rows ─▶ FeatureBatchBuilder ─▶ add(path, builder.build) ······ finish(path, ...)
    writer thread          build the chunk's Arrow table;                         errors table
                           Parquet: append it as row groups                       (Arrow IPC: one batch)
                           to the hidden temporary file                           fsync, rename to path
                           Arrow IPC: keep it                                     moments (pooled tables)

Steps run on one thread in the order they were submitted, at most `DEPTH` waiting, so memory stays
bounded by a few chunks. A shard is written exactly as `write_table_atomic` writes it (same codec,
encodings and statistics; Arrow IPC shards hold one record batch, so they stay zero-copy) and
appears under its final name only once complete: readers see nothing or the whole file, and an
interrupted run leaves only hidden temporary files, which `claim_table` removes on resumption.

An error on the writer thread is raised by the next call of the main thread (a write the system
refuses, a full disk, naming the shard: `named_write_errors`); `abort` waits for the thread and
removes the temporary file of the shard in progress.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from mmdata.background import SerialWorker
from mmdata.store.write_errors import named_write_errors
from mmdata.store.writer import ShardWriter

#: Chunks and finishing steps waiting for the writer thread.
DEPTH = 2
#: fdatasync where the platform has it (not macOS), else fsync.
_DATASYNC = getattr(os, "fdatasync", os.fsync)


def _write_back(path: Path) -> None:
    """Have the kernel write what the file holds so far to disk now, on the writer thread, so that
    the fsync publishing the shard waits for its last chunks only (600 WAVs' log-mel shard: 11 ms
    of fsync after the last batch before, ~1 ms after)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        _DATASYNC(fd)
    finally:
        os.close(fd)


class BackgroundShardWriter:
    """Writes feature shards chunk by chunk on a thread (see the module docstring).

    Args:
        schema: the feature table's schema (every chunk has it).
        keep_rows: hand each finished shard's rows to `finish`'s `then` (pooled tables, for moments).
    """

    def __init__(self, schema: pa.Schema, *, keep_rows: bool = False):
        self.schema = schema
        self.keep_rows = keep_rows
        self._open: ShardWriter | None = None
        self._worker = SerialWorker("mmdata-shard-writer", DEPTH)

    def __enter__(self) -> BackgroundShardWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: Any) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def add(self, path: Path, chunk: pa.Table | Callable[[], pa.Table]) -> None:
        """Append rows to the shard at `path` (opened by its first chunk). `chunk` may be a function
        that builds the rows, called on the writer thread (assembling Arrow arrays from many small
        per-sample arrays is a copy the main thread need not wait for)."""
        self._worker.submit(lambda: self._append(self._shard(path), chunk() if callable(chunk) else chunk))

    def finish(self, path: Path, before: Callable[[], None] | None = None,
               then: Callable[[pa.Table | None], None] | None = None) -> None:
        """Complete the shard at `path`: run `before`, publish the file, then run `then(rows)`."""
        def step() -> None:
            shard = self._shard(path)
            if before is not None:
                before()
            rows = shard.commit()
            self._open = None
            if then is not None:
                then(rows)

        self._worker.submit(step)

    def close(self) -> None:
        """Wait for every submitted step; raise the writer's error, if any."""
        self._worker.stop()
        self._discard_open()  # added to but never finished: not a shard
        self._worker.raise_error()

    def abort(self) -> None:
        """Stop after the steps in flight and drop the unfinished shard's temporary file."""
        self._worker.stop()
        self._discard_open()

    def _discard_open(self) -> None:
        if self._open is not None:
            self._open.discard()
            self._open = None

    def _shard(self, path: Path) -> ShardWriter:
        if self._open is None or self._open.path != path:
            if self._open is not None:
                self._open.discard()
            self._open = ShardWriter(path, self.schema, keep_rows=self.keep_rows)
        return self._open

    @staticmethod
    def _append(shard: ShardWriter, chunk: pa.Table) -> None:
        if shard.rows_in_file:  # the chunks before this one go to disk now; a shard of one chunk skips this
            with named_write_errors(shard.path, hidden=shard.tmp):  # a full disk, met at the write-back
                _write_back(shard.tmp)
        shard.write(chunk)
