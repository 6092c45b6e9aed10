"""A table's rows by position, read forward through its shard files a batch at a time.

`mmdata share` writes each feature table's rows in a new order (by split, then the samples'
order), an output shard at a time. Reading the table whole for that held all of it at once (400
MOSI videos of COVAREP: 4.5 GB at peak); `TableRows` streams the source shards instead and keeps
only the rows an output shard takes, so memory is about one batch of a source shard plus one
output shard, whatever the table's size. The rows of a split lie at increasing positions, so one
forward pass serves a split; the next split starts a new pass (each source shard is read once per
split that has rows in it).

    >>> with TableRows(files, schema) as rows:
    ...     part = rows.take(np.array([3, 7, 12]))   # pa.Table of those rows, in that order
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mmdata.errors import ShardReadError
from mmdata.store.shards import shard_batches, shard_rows

#: Decoded bytes of a Parquet shard read at a time: a shard of 1,000 MOSI segments of COVAREP
#: decodes to ~300 MB, one of 100 whole videos to ~250 MB, and a share needs only some of its rows.
BATCH_BYTES = 64 * 2**20
#: At most this many rows a batch (a shard of short pooled vectors is then still one batch).
MAX_BATCH_ROWS = 2**16


def read_shard_batches(path: Path, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """A shard's record batches of `columns`, in order (`store.shards.shard_batches`, batches of
    about BATCH_BYTES). Closing the iterator closes the file."""
    return shard_batches(path, columns, BATCH_BYTES, MAX_BATCH_ROWS)


class TableRows:
    """The rows of a table stored as `files` (positions 0 .. rows - 1 across the shards, in order),
    as tables of `schema` (the table's, as a whole-table read has it); one shard is open at a time.

    A `take` reads only the shards that hold its rows. Use it as a context manager (or call `close`):
    the open shard is closed at the end.
    """

    def __init__(self, files: list[Path], schema: pa.Schema):
        self.files, self.schema = list(files), schema
        self.starts = np.concatenate([[0], np.cumsum([shard_rows(path) for path in self.files])]).astype(np.int64)
        self._shard = -1
        self._batches: Iterator[pa.RecordBatch] | None = None
        self._batch: pa.RecordBatch | None = None
        self._batch_start = 0  # position of the held batch's first row
        self._next_start = 0  # position of the first row of the open shard's next batch

    @property
    def num_rows(self) -> int:
        return int(self.starts[-1])

    def take(self, positions: np.ndarray) -> pa.Table:
        """The rows at `positions` (int64, each below `num_rows`), in that order, one chunk a column.

        Ascending positions are read in one forward pass, continuing where the last call stopped
        when they lie after it; others (a table not row-aligned with the samples) are read in
        ascending order and put back in theirs.
        """
        positions = np.asarray(positions, dtype=np.int64)
        order = None if np.all(positions[1:] > positions[:-1]) else np.argsort(positions, kind="stable")
        wanted = positions if order is None else positions[order]
        pieces = list(self._pieces(wanted))
        rows = pa.concat_tables(pieces).combine_chunks() if pieces else self.schema.empty_table()
        del pieces
        back = np.arange(len(positions)) if order is None else np.argsort(order)  # the asked order
        return rows.take(pa.array(back, pa.int64()))

    def _pieces(self, wanted: np.ndarray) -> Iterator[pa.Table]:
        """The rows at ascending positions `wanted`, a table per batch that holds some of them."""
        i = 0
        while i < len(wanted):
            batch, start = self._batch_holding(int(wanted[i]))
            end = int(np.searchsorted(wanted, start + batch.num_rows, side="left"))
            yield self._rows_of(batch, wanted[i:end] - start)
            i = end

    def _rows_of(self, batch: pa.RecordBatch, indices: np.ndarray) -> pa.Table:
        return self._conform(pa.Table.from_batches([batch.take(pa.array(indices, pa.int64()))]))

    def _conform(self, table: pa.Table) -> pa.Table:
        """`table` as `schema` has it (a whole-table read casts every shard to the first one's schema)."""
        return table if table.schema.equals(self.schema, check_metadata=True) else table.cast(self.schema)

    def _batch_holding(self, position: int) -> tuple[pa.RecordBatch, int]:
        """The batch holding row `position` and its first row's position, reading on from the held
        batch where it lies after it in the same shard, else from the start of its shard."""
        held = self._batch
        if held is not None and self._batch_start <= position < self._batch_start + held.num_rows:
            return held, self._batch_start
        shard = int(np.searchsorted(self.starts, position, side="right")) - 1
        if shard != self._shard or position < self._batch_start or self._batches is None:
            self._open(shard)
        while True:
            self._batch = None  # let go of the held batch before the next one is decoded
            batch = next(self._batches, None)
            if batch is None:
                raise ShardReadError(f"{self.files[shard]}: its rows end before row {position - self.starts[shard]}, "
                                     f"while its footer counts {self.starts[shard + 1] - self.starts[shard]}; the "
                                     "file changed while the table was read: run the command again")
            self._batch_start, self._next_start = self._next_start, self._next_start + batch.num_rows
            if position < self._next_start:
                self._batch = batch
                return batch, self._batch_start

    def _open(self, shard: int) -> None:
        self.close()
        self._shard = shard
        self._batches = read_shard_batches(self.files[shard], self.schema.names)
        self._batch_start = self._next_start = int(self.starts[shard])

    def close(self) -> None:
        """Close the open shard and let go of the held batch."""
        batches, self._batches, self._batch, self._shard = self._batches, None, None, -1
        if batches is not None:
            batches.close()  # type: ignore[attr-defined]  (a generator: closes the file it reads)

    def __enter__(self) -> TableRows:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
