"""The npy export's writer: `NpySink` and the index.arrow it writes beside each split's arrays (`NpyIndexArrow`).

An npy export holds one folder per split (`formats` describes the columns every format holds):

    <split>/features.npy   the features, preallocated from the first pass's counts and memory-mapped while
                           written: (N, D) pooled, (N, L, D) padded, (steps, D) ragged
    <split>/targets.npy    float32, with `fuse --targets`: as features.npy, of dim C (ragged: the same offsets)
    <split>/lengths.npy    int32 (N,), sequences only: time steps before padding
    <split>/offsets.npy    int64 (N + 1,), ragged only: row i's steps are features[offsets[i]:offsets[i + 1]]
    <split>/present.npy    bool (N, m), only with missing='zero': which modalities the row really has
    <split>/class_ids.npy or class_targets.npy   the class column, with a class label (`NPY_CLASS_FILES`)
    <split>/index.parquet  sample_id, split, label, the label_<name> columns, the class column, row
    <split>/index.arrow    what readers map: index.parquet less `NPY_INDEX_ARROW_OMITS`

The base `Sink`, the file names other modules read (`NPY_CLASS_FILES`, `NPY_INDEX_ARROW`,
`NPY_INDEX_PARQUET`) and `open_sink`, which picks this sink for format 'npy', are in `formats`.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mmdata.fusion.formats import (
    NPY_CLASS_FILES,
    NPY_INDEX_ARROW,
    NPY_INDEX_PARQUET,
    Sink,
    close_all,
    discard_writer,
)
from mmdata.fusion.rows import FusedBatch, RowLayout

#: index.parquet's columns that index.arrow leaves out, as readers need none: the split is the folder's, the
#: row its position, the class column has its .npy file (`NPY_CLASS_FILES`).
NPY_INDEX_ARROW_OMITS = frozenset({"split", "row", *NPY_CLASS_FILES})
#: Rows per record batch of index.arrow, at least: few batches to map, and a small buffer while fusing (~3 MB).
NPY_INDEX_BATCH_ROWS = 65_536


class NpySink(Sink):
    """<split>/features.npy (+ lengths, offsets, present, the class column) preallocated from the first
    pass's counts, <split>/index.parquet (sample_id, split, label, the auxiliary label columns, the
    class column, row) and <split>/index.arrow, the columns readers map (`NpyIndexArrow`,
    `NPY_INDEX_ARROW_OMITS`)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._arrays: dict[str, dict[str, np.ndarray]] = {}
        self._cursor: dict[str, tuple[int, int]] = {}
        self._index: dict[str, pq.ParquetWriter] = {}
        self._index_arrow: dict[str, NpyIndexArrow] = {}
        column = self.layout.class_column
        #: The key of the class column's array among a split's arrays (its file's stem), None without one.
        self._class_key = None if column is None else Path(NPY_CLASS_FILES[column]).stem

    def _open(self, split: str) -> dict[str, np.ndarray]:
        """The split's arrays, each in `_arrays` as soon as it is mapped: `abort` finds every one."""
        counts = self.counts[split]
        folder = self.root / split
        folder.mkdir(parents=True, exist_ok=True)
        layout, n = self.layout, counts["rows"]
        def shape(dim: int) -> tuple[int, ...]:
            return {"pooled": (n, dim), "padded": (n, layout.max_length, dim),
                    "ragged": (counts.get("steps", 0), dim)}[layout.kind]

        arrays = self._arrays[split] = {}
        arrays["features"] = np.lib.format.open_memmap(folder / "features.npy", "w+", np.float32, shape(layout.dim))
        if layout.targets:
            arrays["targets"] = np.lib.format.open_memmap(folder / "targets.npy", "w+", np.float32,
                                                          shape(layout.targets))
        if layout.kind != "pooled":
            arrays["lengths"] = np.lib.format.open_memmap(folder / "lengths.npy", "w+", np.int32, (n,))
        if layout.kind == "ragged":
            arrays["offsets"] = np.lib.format.open_memmap(folder / "offsets.npy", "w+", np.int64, (n + 1,))
            arrays["offsets"][0] = 0
        if layout.presence:
            arrays["present"] = np.lib.format.open_memmap(folder / "present.npy", "w+", np.bool_, (n, layout.presence))
        if self._class_key is not None:
            arrays[self._class_key] = _class_array(folder, layout, n)
        index_schema = self.schema.remove_metadata()
        keys = ("sample_id", "split", "label", *layout.labels, *([layout.class_column] if layout.class_column else []))
        index_schema = pa.schema([index_schema.field(c) for c in keys] + [pa.field("row", pa.int64())])
        self._index[split] = pq.ParquetWriter(folder / NPY_INDEX_PARQUET, index_schema)
        arrow_schema = pa.schema([f for f in index_schema if f.name not in NPY_INDEX_ARROW_OMITS])
        self._index_arrow[split] = NpyIndexArrow(folder / NPY_INDEX_ARROW, arrow_schema)
        self._cursor[split] = (0, 0)
        return arrays

    def _write(self, split: str, batch: FusedBatch) -> None:
        arrays = self._arrays[split] if split in self._arrays else self._open(split)
        row, step = self._cursor[split]
        n, dim = len(batch), self.layout.dim  # a row's values: the feature's D, then the targets' C
        if self.layout.kind == "ragged":
            steps = len(batch.feature)
            arrays["features"][step : step + steps] = batch.feature[..., :dim]
            if "targets" in arrays:
                arrays["targets"][step : step + steps] = batch.feature[..., dim:]
            arrays["offsets"][row + 1 : row + n + 1] = step + np.cumsum(batch.lengths)
            step += steps
        else:
            arrays["features"][row : row + n] = batch.feature[..., :dim]
            if "targets" in arrays:
                arrays["targets"][row : row + n] = batch.feature[..., dim:]
        if "lengths" in arrays:
            arrays["lengths"][row : row + n] = batch.lengths
        if "present" in arrays:
            arrays["present"][row : row + n] = batch.present
        if self._class_key is not None:
            arrays[self._class_key][row : row + n] = batch.class_ids
        rows = pa.array(np.arange(row, row + n, dtype=np.int64))
        index = pa.table([batch.sample_id, batch.split, batch.label, *batch.label_arrays(self.layout), rows],
                         schema=self._index[split].schema)
        self._index[split].write_table(index)
        self._index_arrow[split].write(index)
        self._cursor[split] = (row + n, step)

    def close(self) -> dict[str, list[str]]:
        out = {split: [f"{split}/{name}.npy" for name in arrays] + [f"{split}/{NPY_INDEX_PARQUET}",
                                                                    f"{split}/{NPY_INDEX_ARROW}"]
               for split, arrays in self._arrays.items()}
        try:
            close_all([*(partial(self._flush_arrays, split) for split in self._arrays),
                       *(writer.close for writer in self._index.values()),
                       *(index.close for index in self._index_arrow.values())])
        finally:
            self._unmap_arrays()
        return out

    def abort(self) -> None:
        self._unmap_arrays()
        for writer in self._index.values():
            discard_writer(writer)
        for index in self._index_arrow.values():
            index.abort()

    def _flush_arrays(self, split: str) -> None:
        """Write the split's mapped arrays out; no local names one, so an error's traceback keeps none mapped."""
        for name in self._arrays[split]:
            self._arrays[split][name].flush()

    def _unmap_arrays(self) -> None:
        """Let every mapped array go, which unmaps its .npy file and closes the descriptor the mapping holds:
        each split's dict is emptied too, as the frames of an error's traceback may still hold it."""
        for arrays in self._arrays.values():
            arrays.clear()
        self._arrays.clear()


class NpyIndexArrow:
    """An npy export's <split>/index.arrow: an uncompressed Arrow IPC file that readers memory-map, so the
    ids and labels of every DataLoader worker are views of the file's pages, shared, not decoded copies.
    The sink's batches (a few hundred rows with wide features) are gathered into record batches of at least
    `NPY_INDEX_BATCH_ROWS` rows: a reader keeps a few arrays per record batch, so fewer is lighter."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.schema = schema
        self._file = pa.OSFile(str(path), "wb")
        self._writer = pa.ipc.new_file(self._file, schema)
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0

    def write(self, index: pa.Table) -> None:
        """Add the index rows of one batch (a table holding at least the schema's columns)."""
        self._pending.extend(index.select(self.schema.names).to_batches())
        self._pending_rows += index.num_rows
        if self._pending_rows >= NPY_INDEX_BATCH_ROWS:
            self._flush()

    def close(self) -> None:
        """Write the rows still gathered, then the footer; the file is closed even when that fails."""
        try:
            self._flush()
            self._writer.close()
        finally:
            self._file.close()

    def abort(self) -> None:
        """Close the file without writing what is gathered nor the footer (the caller removes it)."""
        self._pending, self._pending_rows = [], 0
        discard_writer(self._writer, self._file)

    def _flush(self) -> None:
        if self._pending_rows:
            self._writer.write_batch(pa.concat_batches(self._pending))
        self._pending, self._pending_rows = [], 0


def _class_array(folder: Path, layout: RowLayout, rows: int) -> np.ndarray:
    """The npy export's class column file (`NPY_CLASS_FILES`), opened for writing: (rows,) int64 class ids,
    or multi-label (rows, C) float32 targets."""
    assert layout.class_column is not None and layout.classes is not None
    dtype, shape = (np.float32, (rows, len(layout.classes))) if layout.multi_label else (np.int64, (rows,))
    return np.lib.format.open_memmap(folder / NPY_CLASS_FILES[layout.class_column], "w+", dtype, shape)
