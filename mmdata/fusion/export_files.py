"""Reading the data files of one split of a fused export as memory-mapped columns (`FusedDataset` reads
its items from them; `read_lengths` is all a length-bucketing sampler needs).

    columns = open_arrow_columns(export_dir, "train", "arrow")     # or open_npy_columns(export_dir, "train")
    columns["feature"][np.array([3, 1])]                            # (2, D) rows gathered from the mapped file

Nothing is copied at open: Arrow IPC and .npy files are memory-mapped and each column is a view of the
mapped buffers, apart from the ids, the labels and the auxiliary labels (a few bytes a row). An npy export
written before its class column had a .npy file of its own (`class_ids.npy`, `class_targets.npy`) has none
here: `FusedDataset` then reads that column from `index.parquet` into memory.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mmdata.errors import DatasetError
from mmdata.fusion.formats import DATA_DIR, NPY_CLASS_FILES

#: What to do about an export whose files are damaged.
REFUSE_HINT = "re-create the export with `mmdata fuse DATASET_DIR OUTPUT_DIR --force`"


@contextlib.contextmanager
def export_file(path: Path) -> Iterator[None]:
    """A data file of an export that cannot be read (missing, truncated, corrupt, a column missing) as a
    DatasetError naming it."""
    try:
        yield
    except (OSError, ValueError, KeyError, pa.ArrowException) as e:
        raise DatasetError(f"{path}: cannot read this file of the fused export ({e}); it is missing, truncated or "
                           f"corrupt: {REFUSE_HINT}") from e


def hf_split_files(export_dir: Path, split: str) -> list[Path]:
    """The Arrow IPC stream files `save_to_disk` wrote for a split of an hf export."""
    return sorted((export_dir / split).glob("data-*.arrow"))


def read_export_file(path: Path, fmt: str, columns: list[str] | None = None) -> pa.Table:
    """One data file of an export (`columns` of it, when given): Parquet, an Arrow IPC file (arrow,
    memory-mapped: zero-copy) or stream (hf). A file that cannot be read is a DatasetError naming it."""
    import pyarrow.parquet as pq

    with export_file(path):
        if fmt == "parquet":
            return pq.read_table(path, columns=columns)
        source = pa.memory_map(str(path), "r")
        table = pa.ipc.open_file(source).read_all() if fmt == "arrow" else pa.ipc.open_stream(source).read_all()
        return table.select(columns) if columns is not None else table



def open_arrow_columns(export_dir: Path, split: str, fmt: str, label_columns: tuple[str, ...] = ()) -> dict[str, Any]:
    """Columns of an Arrow IPC export (file format) or HF save_to_disk split (stream format), zero-copy:
    each record batch stays a view of the mapped file (the few auxiliary labels are copied, NaN for null)."""
    files = _split_files(export_dir, split, fmt)
    batches = [b for path in files for b in read_export_file(path, fmt).to_batches() if b.num_rows]
    if not batches:
        raise DatasetError(f"split {split!r} of {export_dir} holds no rows")
    names = batches[0].schema.names
    columns: dict[str, Any] = {
        "sample_id": [v for b in batches for v in b.column("sample_id").to_pylist()],
        "label": np.concatenate([b.column("label").to_numpy(zero_copy_only=False) for b in batches]),
    }
    if isinstance(batches[0].column("feature").type, pa.FixedSizeListType):
        columns["feature"] = _Chunked([_fixed_view(b.column("feature")) for b in batches])
    else:
        columns["rows"] = _Ragged([_ragged_view(b.column("feature")) for b in batches])
    for name in ("present", "mask", "class_targets"):  # multi-label targets: float32 views of the mapped file
        if name in names:
            dtype = None if name == "class_targets" else np.bool_
            columns[name] = _Chunked([_fixed_view(b.column(name), dtype) for b in batches])
    if "length" in names:
        columns["length"] = np.concatenate([b.column("length").to_numpy() for b in batches])
    if "class_id" in names:  # int64, never null: views of the mapped file
        columns["class_id"] = _Chunked([b.column("class_id").to_numpy(zero_copy_only=False) for b in batches])
    if label_columns:
        columns["labels"] = _label_matrix([pa.Table.from_batches(batches)], label_columns, export_dir / split)
    return columns


def _label_matrix(tables: list[pa.Table], label_columns: tuple[str, ...], where: Path) -> np.ndarray:
    """(N, k) float32 values of the auxiliary label columns (null -> NaN), rows in export order."""
    missing = [c for c in label_columns if c not in tables[0].column_names]
    if missing:
        raise DatasetError(f"{where}: the export's fused.json names the label columns {list(label_columns)}, its files "
                           f"lack {missing}: {REFUSE_HINT}")
    values = [np.concatenate([t.column(c).to_numpy() for t in tables]) for c in label_columns]
    return np.stack(values, axis=1).astype(np.float32)


def _fixed_view(arr: Any, dtype: Any = None) -> np.ndarray:
    """A (nested) fixed_size_list array as an N-d NumPy array: a view of the mapped buffer for floats
    (booleans are bit-packed in Arrow, so those are unpacked into a copy)."""
    shape, values, position = [len(arr)], arr, 0
    while isinstance(values.type, pa.FixedSizeListType):
        size = values.type.list_size
        shape.append(size)
        position = (values.offset + position) * size  # index into the child's logical values
        values = values.values
    flat = values.slice(position, int(np.prod(shape)))
    data = flat.to_numpy(zero_copy_only=False) if dtype is np.bool_ else flat.to_numpy(zero_copy_only=True)
    return data.reshape(shape)


def _ragged_view(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    offsets = arr.offsets.to_numpy().astype(np.int64)
    rows = _fixed_view(arr.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0])))
    return offsets - offsets[0], rows


class _Chunked:
    """Row gather over a list of per-batch arrays, as if they were one: chunked[idx] -> ndarray."""

    def __init__(self, chunks: list[np.ndarray]):
        self.chunks = chunks
        self.starts = np.cumsum([0] + [len(c) for c in chunks])

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        if len(self.chunks) == 1:
            return self.chunks[0][idx]
        which = np.searchsorted(self.starts, idx, side="right") - 1
        out = np.empty((len(idx), *self.chunks[0].shape[1:]), self.chunks[0].dtype)
        for chunk in np.unique(which):
            chosen = which == chunk
            out[chosen] = self.chunks[chunk][idx[chosen] - self.starts[chunk]]
        return out


class _Ragged:
    """Per-sample (T_i, D) views over chunks of (offsets, rows)."""

    def __init__(self, chunks: list[tuple[np.ndarray, np.ndarray]]):
        self.chunks = chunks
        self.starts = np.cumsum([0] + [len(offsets) - 1 for offsets, _ in chunks])

    def item(self, index: int) -> np.ndarray:
        chunk = int(np.searchsorted(self.starts, index, side="right") - 1)
        offsets, rows = self.chunks[chunk]
        local = index - int(self.starts[chunk])
        return rows[offsets[local] : offsets[local + 1]]


def open_npy_columns(export_dir: Path, split: str, label_columns: tuple[str, ...] = ()) -> dict[str, Any]:
    """Columns of a split of an npy export: its .npy files memory-mapped, ids and labels from index.parquet.
    The class column is there when the export has its .npy file (`NPY_CLASS_FILES`; older exports lack it)."""
    folder = export_dir / split
    index = read_export_file(folder / "index.parquet", "parquet", ["sample_id", "label", *label_columns])
    columns: dict[str, Any] = {
        "sample_id": index.column("sample_id").to_pylist(),
        "label": index.column("label").to_numpy(zero_copy_only=False),
    }
    if label_columns:
        columns["labels"] = _label_matrix([index], label_columns, folder)
    features = _load_npy(folder / "features.npy")
    if (folder / "offsets.npy").is_file():
        columns["rows"] = _Ragged([(_load_npy(folder / "offsets.npy"), features)])
    else:
        columns["feature"] = features
    if (folder / "lengths.npy").is_file():
        columns["length"] = _load_npy(folder / "lengths.npy")
        if "rows" not in columns:
            columns["mask"] = _LengthMask(columns["length"], features.shape[1])
    if (folder / "present.npy").is_file():
        columns["present"] = _load_npy(folder / "present.npy")
    for column, name in NPY_CLASS_FILES.items():
        if (folder / name).is_file():
            columns[column] = _load_npy(folder / name)
            if len(columns[column]) != index.num_rows:
                raise DatasetError(f"{folder / name}: holds {len(columns[column])} rows, expected {index.num_rows} as "
                                   f"in {folder / 'index.parquet'}; the export is damaged: {REFUSE_HINT}")
    return columns


def read_lengths(export_dir: Path, split: str, fmt: str) -> np.ndarray:
    """(N,) int64 time steps of every row of a split of a sequence export (arrow, hf or npy), rows in export
    order, read from its `length` column alone: npy's lengths.npy or the column of the mapped Arrow files.

    Raises:
        DatasetError: a file that cannot be read or lacks the column (an export of pooled rows has none).
    """
    if fmt == "npy":
        return np.asarray(_load_npy(export_dir / split / "lengths.npy"), dtype=np.int64)
    chunks = [read_export_file(path, fmt, ["length"]).column("length") for path in _split_files(export_dir, split, fmt)]
    return np.concatenate([np.empty(0, np.int64)] + [c.to_numpy() for c in chunks]).astype(np.int64)


def _split_files(export_dir: Path, split: str, fmt: str) -> list[Path]:
    """The Arrow IPC files of a split of an arrow or hf export."""
    return [export_dir / DATA_DIR / f"{split}.arrow"] if fmt == "arrow" else hf_split_files(export_dir, split)


def _load_npy(path: Path) -> np.ndarray:
    with export_file(path):
        return np.load(path, mmap_mode="r")


class _LengthMask:
    """mask[idx] computed from lengths on access (the npy export stores lengths, not masks)."""

    def __init__(self, lengths: np.ndarray, max_length: int):
        self.lengths = lengths
        self.max_length = max_length

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        return np.arange(self.max_length)[None, :] < np.asarray(self.lengths[idx])[:, None]
