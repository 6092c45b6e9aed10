"""Reading the data files of one split of a fused export as memory-mapped columns (`FusedDataset` reads
its items from them; `read_lengths` is all a length-bucketing sampler needs).

    columns = open_arrow_columns(export_dir, "train", "arrow")     # or open_npy_columns(export_dir, "train")
    columns["feature"][np.array([3, 1])]                            # (2, D) rows gathered from the mapped file

Nothing is copied at open: Arrow IPC and .npy files are memory-mapped and each column is a view of the
mapped buffers, ids, labels and auxiliary labels included (kept as Arrow arrays, turned into Python values
per batch of indices), so a DataLoader worker's private memory does not grow with the rows of the split: a
Python list of 2M ids alone would take 140 MB in each worker (refcount updates write to the pages of every id
read, so fork cannot share them). An npy export's ids and labels are mapped from its `index.arrow`; one
written before that file existed (mmdata 0.5.2 and older) has only `index.parquet`, which cannot be mapped:
its ids and labels are decoded into Arrow arrays (the ids' bytes plus 4 a row; 8 a row per label), not Python
objects. An npy export written before its class column had a .npy file of its own (`class_ids.npy`,
`class_targets.npy`) has none here: `FusedDataset` then reads that column from `index.parquet` into memory.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mmdata.errors import DatasetError
from mmdata.fusion.formats import DATA_DIR, NPY_CLASS_FILES, NPY_INDEX_ARROW, NPY_INDEX_PARQUET

#: Rows an older npy export's index.parquet is decoded by at a time (keeps the decoder's scratch small).
INDEX_BATCH_ROWS = 65_536
#: The bytes a Parquet file starts and ends with.
PARQUET_MAGIC = b"PAR1"
#: Rows per record batch, on average, from which a gather takes each batch's rows at once rather than row by row.
MANY_ROWS_PER_CHUNK = 16
#: The largest span of memory `_spanning_view` lays one view over (NumPy refuses arrays of 2**63 bytes).
MAX_VIEW_BYTES = 2**60
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
    each record batch stays a view of the mapped file; ids, labels and auxiliary labels stay Arrow arrays,
    made Python values per batch of indices."""
    files = split_files(export_dir, split, fmt)
    batches = [b for path in files for b in read_export_file(path, fmt).to_batches() if b.num_rows]
    if not batches:
        raise DatasetError(f"split {split!r} of {export_dir} holds no rows")
    names = batches[0].schema.names
    columns: dict[str, Any] = {
        "sample_id": _ArrowRows([b.column("sample_id") for b in batches], files[0].parent),
        "label": _ArrowRows([b.column("label") for b in batches], files[0].parent),
    }
    for column, ragged in (("feature", "rows"), ("targets", "target_rows")):  # targets: as the feature
        if column == "targets" and column not in names:
            continue
        if isinstance(batches[0].column(column).type, pa.FixedSizeListType):
            columns[column] = _Chunked([_fixed_view(b.column(column)) for b in batches])
        else:
            columns[ragged] = _Ragged([_ragged_view(b.column(column)) for b in batches])
    for name in ("present", "mask"):
        if name in names:
            columns[name] = _Chunked([_bool_rows(b.column(name)) for b in batches])
    if "class_targets" in names:  # multi-label targets: float32 views of the mapped file
        columns["class_targets"] = _Chunked([_fixed_view(b.column("class_targets")) for b in batches])
    if "length" in names:  # int32, never null: views of the mapped file
        columns["length"] = _Chunked([b.column("length").to_numpy() for b in batches])
    if "class_id" in names:  # int64, never null: views of the mapped file
        columns["class_id"] = _Chunked([b.column("class_id").to_numpy(zero_copy_only=False) for b in batches])
    if label_columns:
        columns["labels"] = _label_rows(names, label_columns, export_dir / split,
                                        lambda column: [b.column(column) for b in batches])
    return columns


def _label_rows(names: list[str], label_columns: tuple[str, ...], where: Path, chunks: Any) -> _LabelRows:
    """The auxiliary label columns, their chunks (`chunks(column)`) kept as they lie."""
    missing = [c for c in label_columns if c not in names]
    if missing:
        raise DatasetError(f"{where}: the export's fused.json names the label columns {list(label_columns)}, its files "
                           f"lack {missing}: {REFUSE_HINT}")
    return _LabelRows([_ArrowRows(chunks(column)) for column in label_columns])


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


def _bool_rows(arr: Any) -> Any:
    """A fixed_size_list<bool> column as rows gathered from its mapped bitmap (`_BitRows`); nested lists or
    nulls (which `fuse` never writes) are unpacked into a copy."""
    if isinstance(arr.values.type, pa.FixedSizeListType) or arr.null_count or arr.values.null_count:
        return _fixed_view(arr, np.bool_)
    return _BitRows(arr)


def _ragged_view(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """A list<fixed_size_list> column as (offsets, rows): views of the mapped file, sample i's steps being
    rows[offsets[i]:offsets[i + 1]] (the offsets index the list array's whole child)."""
    return arr.offsets.to_numpy(), _fixed_view(arr.values)


class _ArrowRows:
    """Rows of a string or float column kept as the record batches' arrays (views of the mapped file, or
    decoded Arrow buffers), gathered per batch of indices: rows[idx] is a list of str for strings, else a
    float64 array (NaN where null). No Python object per row is made until the row is read.

    One array is gathered with one Arrow `take`. Over many record batches (`fuse` writes one per ~2 MB of
    rows, an hf export one per 1,000 rows) the batches' buffers are gathered from at once (`_Chunked`): a
    string's offsets, then its bytes, in two NumPy gathers; a float's values and validity bits likewise."""

    def __init__(self, chunks: list[pa.Array], where: object = "the export"):
        self.chunks = chunks
        self.where = where  # the file or folder the column is read from, named when it turns out damaged
        self.starts = np.cumsum([0] + [len(c) for c in chunks])
        self.strings = pa.types.is_string(chunks[0].type) or pa.types.is_large_string(chunks[0].type)
        views = [_buffer_views(c, self.strings) for c in chunks] if len(chunks) > 1 else [None]
        self.viewed = all(view is not None for view in views)
        if self.viewed and self.strings:  # (offsets, bytes) per batch; no nulls
            self.offsets = _Chunked([offsets for offsets, _ in views])  # n + 1 a batch: row r spans [r, r + 1]
            self.data = _Chunked([data for _, data in views])
        elif self.viewed:  # (values, validity bitmap or None, its first bit) per batch
            self.values = _Chunked([values for values, _, _ in views])
            self.has_bitmap = np.array([bitmap is not None for _, bitmap, _ in views])
            self.bitmaps = _Chunked([np.empty(0, np.uint8) if bitmap is None else bitmap for _, bitmap, _ in views]) \
                if self.has_bitmap.any() else None
            self.first_bits = np.array([first for _, _, first in views], np.int64)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, idx: np.ndarray) -> Any:
        if not self.viewed:
            values = self.take(idx)
            return values.to_pylist() if self.strings else values.to_numpy(zero_copy_only=False)
        idx = np.asarray(idx, np.int64)
        which = np.searchsorted(self.starts, idx, side="right") - 1
        local = idx - self.starts[which]
        return self._strings(which, local) if self.strings else self._floats(which, local)

    def _strings(self, which: np.ndarray, local: np.ndarray) -> list[str]:
        """The strings at rows `local` of batches `which`: their bytes gathered into one buffer, then cut."""
        first = self.offsets.take(which, local).astype(np.int64)
        lengths = self.offsets.take(which, local + 1).astype(np.int64) - first
        if (lengths < 0).any():
            raise self._damaged("a string's end offset before its start")
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        byte_batches = np.repeat(which, lengths)
        byte_positions = np.arange(bounds[-1]) - np.repeat(bounds[:-1] - first, lengths)
        try:
            raw = self.data.take(byte_batches, byte_positions).tobytes()
            cuts = bounds.tolist()
            return [raw[start:stop].decode() for start, stop in zip(cuts[:-1], cuts[1:])]
        except (IndexError, UnicodeDecodeError) as e:
            raise self._damaged(f"a string outside its record batch's bytes, or not UTF-8 ({e})") from e

    def _damaged(self, what: str) -> DatasetError:
        return DatasetError(f"{self.where}: the fused export's strings are damaged ({what}): {REFUSE_HINT}")

    def _floats(self, which: np.ndarray, local: np.ndarray) -> np.ndarray:
        """The values at rows `local` of batches `which` as float64, NaN where a batch's bitmap says null."""
        values = self.values.take(which, local).astype(np.float64)
        if self.bitmaps is not None:
            mapped = self.has_bitmap[which]
            bits = self.first_bits[which[mapped]] + local[mapped]
            valid = (self.bitmaps.take(which[mapped], bits >> 3) >> (bits & 7)) & 1
            values[np.flatnonzero(mapped)[valid == 0]] = np.nan
        return values

    def take(self, idx: np.ndarray) -> pa.Array:
        """The rows at `idx` (positions in the column) as one Arrow array, in the order of `idx`."""
        if len(self.chunks) == 1:
            return self.chunks[0].take(idx)
        return pa.chunked_array(self.chunks).take(idx).combine_chunks()


def _buffer_views(arr: pa.Array, strings: bool) -> tuple[np.ndarray, ...] | None:
    """NumPy views of a string array's (offsets, bytes) or a float array's (values, validity bitmap or None,
    its first bit); None where they cannot be had (a null id, another type): `take` reads those."""
    if strings:
        if arr.null_count:
            return None
        offsets = np.frombuffer(arr.buffers()[1], np.int64 if pa.types.is_large_string(arr.type) else np.int32)
        return offsets[arr.offset: arr.offset + len(arr) + 1], np.frombuffer(arr.buffers()[2] or b"", np.uint8)
    if not pa.types.is_floating(arr.type) or arr.buffers()[1] is None:
        return None
    values = np.frombuffer(arr.buffers()[1], arr.type.to_pandas_dtype())[arr.offset: arr.offset + len(arr)]
    if len(values) < len(arr):
        return None
    validity = arr.buffers()[0]
    return values, (np.frombuffer(validity, np.uint8) if arr.null_count and validity else None), arr.offset


class _LabelRows:
    """labels[idx]: (len(idx), k) float32 values of the k auxiliary label columns (NaN where null)."""

    def __init__(self, columns: list[_ArrowRows]):
        self.columns = columns

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        values = [np.asarray(column[idx], dtype=np.float64) for column in self.columns]
        return np.stack(values, axis=1).astype(np.float32) if values else np.empty((len(idx), 0), np.float32)


class _BitRows:
    """Rows of a fixed_size_list<bool>[w] column unpacked per gather from its bitmap in the mapped file
    (Arrow packs 8 booleans to a byte, least significant bit first, so no NumPy view can hold them)."""

    def __init__(self, arr: Any):
        values = arr.values  # the child ignoring the list array's offset
        self.width = arr.type.list_size
        self.first_bit = arr.offset * self.width + values.offset
        self.bits = np.frombuffer(values.buffers()[1], np.uint8)
        self.shape = (len(arr), self.width)
        self.dtype = np.dtype(np.bool_)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        positions = self.first_bit + np.asarray(idx, np.int64)[..., None] * self.width + np.arange(self.width)
        return ((self.bits[positions >> 3] >> (positions & 7)) & 1).astype(np.bool_)


class _Chunked:
    """Row gather over a list of per-batch arrays, as if they were one: chunked[idx] -> ndarray.

    Record batches of a mapped file lie apart in memory, at distances that vary with their strings. When
    the arrays are NumPy arrays of one dtype and row shape, they are all read through one strided view
    (`_spanning_view`) whose rows start every few bytes from the lowest batch's start: batch c's row r is
    the view's row `first[c] + r * step`, so a gather of rows from any number of batches is one NumPy
    fancy index (a shuffled DataLoader batch of 256 rows touches ~150 of an 80,000-row split's record
    batches; row by row, its Python loop cost more than the copy)."""

    def __init__(self, chunks: list[Any]):
        self.chunks = chunks
        self.starts = np.cumsum([0] + [len(c) for c in chunks])
        spanning = _spanning_view(chunks) if len(chunks) > 1 else None
        self.view, self.first, self.step = spanning if spanning is not None else (None, None, 0)

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        if len(self.chunks) == 1:
            return self.chunks[0][idx]
        idx = np.asarray(idx, np.int64)
        which = np.searchsorted(self.starts, idx, side="right") - 1
        return self.take(which, idx - self.starts[which])

    def take(self, which: np.ndarray, local: np.ndarray) -> np.ndarray:
        """Rows `local` of arrays `which` (as many of each), gathered in that order.

        Raises:
            IndexError: a row outside its array (what a damaged string offset asks; the view would read
                memory between or past the arrays)."""
        outside = (local < 0) | (local >= self.starts[which + 1] - self.starts[which])
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise IndexError(f"row {int(local[row])} of array {int(which[row])}, which holds "
                             f"{int(self.starts[which[row] + 1] - self.starts[which[row]])}")
        if self.view is not None:
            return self.view[self.first[which] + local * self.step]
        out = np.empty((len(which), *self.chunks[0].shape[1:]), self.chunks[0].dtype)
        if len(which) > MANY_ROWS_PER_CHUNK * len(self.chunks):  # few chunks, many rows each: one gather per chunk
            for chunk in np.unique(which):
                chosen = which == chunk
                out[chosen] = self.chunks[chunk][local[chosen]]
            return out
        for row, (chunk, position) in enumerate(zip(which.tolist(), local.tolist())):
            out[row] = self.chunks[chunk][position]  # rows spread over many chunks of other arrays (bit rows)
        return out


def _spanning_view(chunks: list[Any]) -> tuple[np.ndarray, np.ndarray, int] | None:
    """One read-only view through which every row of `chunks` is read, (view, first, step): chunk c's row r
    is `view[first[c] + r * step]`. None unless the chunks are C-contiguous NumPy arrays of one dtype and
    row shape whose starts (and row size) are all multiples of one stride apart, as Arrow's aligned buffers
    are.

    The view spans the memory from the lowest chunk to the end of the highest: the gaps between them (the
    record batches' metadata, or memory no chunk holds when they lie in other mappings) are never read,
    since only the positions of the chunks' own rows are gathered, and those chunks stay alive as long as
    their `_Chunked` (which holds them) does."""
    first = chunks[0]
    if not all(isinstance(chunk, np.ndarray) and chunk.dtype == first.dtype and chunk.shape[1:] == first.shape[1:]
               and chunk.flags.c_contiguous for chunk in chunks):
        return None
    row_bytes = int(np.prod(first.shape[1:], dtype=np.int64)) * first.dtype.itemsize
    held = [chunk for chunk in chunks if len(chunk)]
    if not held or row_bytes == 0:
        return None
    addresses = [chunk.__array_interface__["data"][0] for chunk in held]
    lowest = min(addresses)
    stride = math.gcd(row_bytes, *(address - lowest for address in addresses))
    if stride % first.dtype.alignment:
        return None
    step = row_bytes // stride
    places = {id(chunk): (address - lowest) // stride for chunk, address in zip(held, addresses)}
    starts = np.array([places.get(id(chunk), 0) for chunk in chunks], np.int64)
    extent = max((address - lowest) // stride + (len(chunk) - 1) * step + 1 for chunk, address in zip(held, addresses))
    if extent * row_bytes > MAX_VIEW_BYTES:  # batches in mappings far apart: more than NumPy can address
        return None
    anchor = held[addresses.index(lowest)]
    view = np.lib.stride_tricks.as_strided(anchor, shape=(extent, *first.shape[1:]),
                                           strides=(stride, *anchor.strides[1:]), writeable=False)
    return view, starts, step


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
    """Columns of a split of an npy export: its .npy files and its index.arrow memory-mapped (ids and labels
    views of the mapped file), or index.parquet decoded where an older export lacks index.arrow. The class
    column is there when the export has its .npy file (`NPY_CLASS_FILES`; older exports lack it)."""
    folder = export_dir / split
    index_path, index = _open_index(folder, ["sample_id", "label", *label_columns])
    columns: dict[str, Any] = {
        "sample_id": _ArrowRows(_chunks(index.column("sample_id")), index_path),
        "label": _ArrowRows(_chunks(index.column("label")), index_path),
    }
    if label_columns:
        columns["labels"] = _label_rows(index.column_names, label_columns, folder,
                                        lambda column: _chunks(index.column(column)))
    features = _load_npy(folder / "features.npy")
    targets = _load_npy(folder / "targets.npy") if (folder / "targets.npy").is_file() else None
    if targets is not None and targets.shape[:-1] != features.shape[:-1]:
        raise DatasetError(f"{folder / 'targets.npy'}: shape {targets.shape} does not match features.npy's "
                           f"{features.shape} but for the last axis; the export is damaged: {REFUSE_HINT}")
    if (folder / "offsets.npy").is_file():
        offsets = _load_npy(folder / "offsets.npy")
        columns["rows"] = _Ragged([(offsets, features)])
        if targets is not None:
            columns["target_rows"] = _Ragged([(offsets, targets)])
    else:
        columns["feature"] = features
        if targets is not None:
            columns["targets"] = targets
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
                                   f"in {index_path}; the export is damaged: {REFUSE_HINT}")
    return columns


def _open_index(folder: Path, columns: list[str]) -> tuple[Path, pa.Table]:
    """`columns` of a split's index and the file they come from: index.arrow mapped (zero-copy), or, in an
    export without it, index.parquet decoded. Beside index.arrow, index.parquet (which the export's other
    readers read) is checked whole, as when it was decoded: a truncated one is named here."""
    arrow_path, parquet_path = folder / NPY_INDEX_ARROW, folder / NPY_INDEX_PARQUET
    if not arrow_path.is_file():
        return parquet_path, _read_index(parquet_path, columns)
    _check_parquet_is_whole(parquet_path)
    return arrow_path, read_export_file(arrow_path, "arrow", columns)


def _check_parquet_is_whole(path: Path) -> None:
    """A Parquet file starts and ends with b"PAR1", its footer's length before the last: checked from these
    12 bytes, since decoding the footer (a few MB for an index of a thousand row groups) would stay in each
    DataLoader worker's memory.

    Raises:
        DatasetError: the file is missing, truncated or not Parquet.
    """
    with export_file(path), open(path, "rb") as source:
        size, head = path.stat().st_size, source.read(4)
        source.seek(max(0, size - 8))
        tail = source.read(8)
        footer = int.from_bytes(tail[:4], "little") if len(tail) == 8 else size
        if head != PARQUET_MAGIC or tail[4:] != PARQUET_MAGIC or footer > size - 12:
            raise ValueError(f"not a whole Parquet file: {size} bytes, starting {head!r}, ending {tail!r}")


def _read_index(path: Path, columns: list[str]) -> pa.Table:
    """`columns` of an older npy export's index.parquet, decoded batch by batch from the mapped file, and the
    decoder's scratch memory handed back to the system: each DataLoader worker keeps only the Arrow arrays
    (read whole, the decoding leaves about twice their size held by Arrow's memory pool)."""
    import pyarrow.parquet as pq

    with export_file(path):
        parquet = pq.ParquetFile(path, memory_map=True)
        batches = list(parquet.iter_batches(batch_size=INDEX_BATCH_ROWS, columns=columns, use_threads=False))
        table = pa.Table.from_batches(batches) if batches else parquet.schema_arrow.empty_table().select(columns)
    pa.default_memory_pool().release_unused()
    return table


def _chunks(column: pa.ChunkedArray) -> list[pa.Array]:
    """The arrays of an index column (one per record batch or row group; an empty one when it has none)."""
    return column.chunks or [pa.array([], column.type)]


def read_lengths(export_dir: Path, split: str, fmt: str) -> np.ndarray:
    """(N,) int64 time steps of every row of a split of a sequence export (arrow, hf or npy), rows in export
    order, read from its `length` column alone: npy's lengths.npy or the column of the mapped Arrow files.

    Raises:
        DatasetError: a file that cannot be read or lacks the column (an export of pooled rows has none).
    """
    if fmt == "npy":
        return np.asarray(_load_npy(export_dir / split / "lengths.npy"), dtype=np.int64)
    chunks = [read_export_file(path, fmt, ["length"]).column("length") for path in split_files(export_dir, split, fmt)]
    return np.concatenate([np.empty(0, np.int64)] + [c.to_numpy() for c in chunks]).astype(np.int64, copy=False)


def split_files(export_dir: Path, split: str, fmt: str) -> list[Path]:
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
