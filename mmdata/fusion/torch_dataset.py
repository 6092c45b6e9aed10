"""A map-style PyTorch Dataset over a fused export, memory-mapped, plus a collate function.

    from torch.utils.data import DataLoader
    data = FusedDataset("out/mosi-fused", split="train")       # arrow, hf or npy export
    loader = DataLoader(data, batch_size=64, shuffle=True, num_workers=4, collate_fn=collate_fused)
    for batch in loader:
        x, y = batch["feature"], batch["label"]                 # + length and mask for sequences

Nothing is copied at open: Arrow IPC and .npy files are memory-mapped and each item is cut from
the mapped buffers. Worker processes reopen the files themselves (only the path is pickled).
An item is a dict: sample_id (str), feature (D,) / (T, D) float32 tensor, label (float, the value
the export holds; NaN when absent), plus length (int) for sequences, mask (L,) bool for padded rows,
present (m,) bool with missing='zero', and labels (k,) float32 when the export has auxiliary labels
(`fuse --labels`): their values in the order of `FusedDataset.label_names` (NaN where the sample has
none), and class_id (a 0-d int64 tensor, -1 for no class) when it has a class label (`fuse --class-label`;
names in `FusedDataset.classes`), or class_targets ((C,) float32 multi-hot, -1s for no class) when that is
multi-label. `collate_fused` stacks them into float32, int64 and bool tensors (labels: (B, k), class_id: (B,),
class_targets: (B, C)). As with a list, data[-1] is the last item and data[a:b] (or data[[i, j]]) a list of items.
"""
from __future__ import annotations

import contextlib
import operator
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mmdata.entry_arguments import check_split_name
from mmdata.errors import ArgumentTypeError, DatasetError
from mmdata.fusion.classes import export_class_column, export_classes, split_class_ids
from mmdata.fusion.formats import DATA_DIR, EXPORT_FORMATS, FUSED_METADATA
from mmdata.jsonfile import json_kind, read_json_object
from mmdata.options import path_argument

#: What to do about an export whose files are damaged.
REFUSE_HINT = "re-create the export with `mmdata fuse DATASET_DIR OUTPUT_DIR --force`"
#: Fields of `fused.json` that readers of an export rely on, with their JSON type.
_REQUIRED = {"format": str, "dim": int, "rows": dict, "rows_kind": str, "tables": list, "modalities": list,
             "slices": dict, "files": dict}


def read_fused_metadata(export_dir: str | Path) -> dict[str, Any]:
    """The `fused.json` of an export directory.

    Args:
        export_dir: a folder written by `fuse` (`mmdata fuse`); a leading `~` is the home folder.

    Returns:
        Its `fused.json` as a dict: format, dim, tables and their slices, rows and files per split, ...

    Raises:
        DatasetError: the directory holds no fused export, or its `fused.json` is not valid JSON or
            lacks a field readers need.
        ArgumentTypeError: `export_dir` is not a str or Path.
    """
    export_dir = path_argument(export_dir, argument="export_dir", what="a fused export's folder (str or Path)")
    path = export_dir / FUSED_METADATA
    if not path.is_file():
        raise DatasetError(f"{export_dir} is not a fused export: {_missing_export(export_dir)}")
    metadata = read_json_object(path, "export metadata", "the object `mmdata fuse` writes",
                                f"the file is damaged: {REFUSE_HINT}")
    _check_fused_metadata(path, metadata)
    return metadata


def _missing_export(export_dir: Path) -> str:
    """Why `export_dir` holds no export, and what to do."""
    from mmdata.store.layout import MANIFEST_NAME
    from mmdata.store.writer import staging_folders

    if (export_dir / MANIFEST_NAME).is_file():
        return (f"it is a dataset directory ({MANIFEST_NAME}); fuse its tables into an export with `mmdata fuse "
                f"{export_dir} OUTPUT_DIR`, or read them with `mmdata.store.open_dataset`")
    # `mmdata fuse` writes into a hidden folder beside the export and renames it when done.
    staged = staging_folders(export_dir)
    if not export_dir.exists() and staged:
        return (f"the directory does not exist yet; a `mmdata fuse` is writing it now into {staged[0]} (or was "
                "killed there): open it when that has finished")
    return ("the directory does not exist" if not export_dir.exists() else f"no {FUSED_METADATA}") + \
        "; create one with `mmdata fuse DATASET_DIR OUTPUT_DIR`"


def _check_fused_metadata(path: Path, metadata: dict[str, Any]) -> None:
    """The fields readers use are there, with the JSON types `mmdata fuse` gives them."""
    for key, kind in _REQUIRED.items():
        if not isinstance(metadata.get(key), kind):
            got = f"is {metadata[key]!r}" if key in metadata else "is missing"
            raise DatasetError(f"{path}: field {key!r} {got}, expected {json_kind(kind())}; "
                               f"the file is damaged or was edited: {REFUSE_HINT}")
    labels = metadata.get("labels")
    if labels is not None and not _label_record(labels):
        raise DatasetError(f"{path}: field 'labels' is {labels!r}, expected {{\"names\": [...], \"columns\": [...]}} "
                           f"of as many strings; the file is damaged or was edited: {REFUSE_HINT}")
    if metadata["format"] not in EXPORT_FORMATS:
        raise DatasetError(f"{path}: format {metadata['format']!r} is not one of {list(EXPORT_FORMATS)}; "
                           f"the file is damaged or was edited: {REFUSE_HINT}")
    bad = {split: n for split, n in metadata["rows"].items() if not isinstance(n, int) or n < 0}
    if bad:
        raise DatasetError(f"{path}: rows per split {bad} are not counts of rows; "
                           f"the file is damaged or was edited: {REFUSE_HINT}")


def _label_record(labels: Any) -> bool:
    """`labels` of fused.json as `fuse` writes it: names and columns, lists of as many strings."""
    if not isinstance(labels, dict):
        return False
    names, columns = labels.get("names"), labels.get("columns")
    return (isinstance(names, list) and isinstance(columns, list) and len(names) == len(columns)
            and all(isinstance(v, str) for v in names + columns))


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


class FusedDataset:
    """Map-style dataset over one split of a fused export (formats arrow, hf and npy).

    `label_names` are the export's auxiliary labels (`fuse --labels`), in the order of each item's
    `labels` values (`label_columns`: their columns in the export); empty when it has none. `classes` are
    the class names of `class_id` (`fuse --class-label`; index = id), empty when the export has none.

    Args:
        export_dir: a folder written by `fuse` with format 'arrow', 'hf' or 'npy' (`~` is the home folder).
        split: the split whose rows the dataset holds (one name).

    Raises:
        DatasetError: not an export, a Parquet export (not memory-mappable: export with
            --format arrow or npy), or a split the export does not have.
        ArgumentTypeError: `export_dir` is not a str or Path, or `split` is not one name.
    """

    def __init__(self, export_dir: str | Path, split: str = "train"):
        check_split_name(split, optional=False)  # a FusedDataset holds one split's rows
        self.export_dir = path_argument(export_dir, argument="export_dir", what="a fused export's folder (str or Path)")
        self.split = split
        self.metadata = read_fused_metadata(self.export_dir)
        self.format = self.metadata["format"]
        if self.format == "parquet":
            raise DatasetError(f"{self.export_dir} is a Parquet export, which is not memory-mappable; "
                               "re-export with `mmdata fuse --format arrow` (or npy), or read it with pyarrow/datasets")
        rows = self.metadata.get("rows", {})
        if split not in rows:
            emptied = (self.metadata.get("missing") or {}).get("emptied_splits") or []
            why = (f" (--missing drop left none of its rows: every sample of {split!r} lacked a table)"
                   if split in emptied else "")
            raise DatasetError(f"export {self.export_dir} has no split {split!r}{why}; splits: {sorted(rows)}")
        self._length = int(rows[split])
        labels = self.metadata.get("labels") or {"names": [], "columns": []}
        self.label_names: tuple[str, ...] = tuple(labels["names"])
        self.label_columns: tuple[str, ...] = tuple(labels["columns"])
        self.classes: tuple[str, ...] = export_classes(self.metadata, self.export_dir / FUSED_METADATA)
        self.class_column = export_class_column(self.metadata)  # class_id, or multi-label class_targets
        self._columns: dict[str, Any] | None = None

    def __len__(self) -> int:
        """Rows of the split (as `fused.json` counts them)."""
        return self._length

    def __repr__(self) -> str:
        """Where the export is, which split, and what an item holds: rows kind, dim and each table's slice
        of the feature vector, e.g. `FusedDataset('out/f', split='train'): 6 pooled rows of dim 5, format
        arrow; slices image.p [0:3], text.w [3:5]`."""
        meta = self.metadata
        length = f" (max length {meta['max_length']})" if meta.get("max_length") else ""
        slices = ", ".join(f"{name} [{a}:{b}]" for name, (a, b) in (meta.get("slices") or {}).items())
        labels = f"; labels {list(self.label_names)}" if self.label_names else ""
        return (f"FusedDataset({str(self.export_dir)!r}, split={self.split!r}): {self._length} "
                f"{meta.get('rows_kind')} rows of dim {meta.get('dim')}{length}, format {self.format}; "
                f"slices {slices or 'none'}{labels}")

    def __getstate__(self) -> dict[str, Any]:
        # Workers reopen the memory maps; mapped buffers are not pickled.
        state = dict(self.__dict__)
        state["_columns"] = None
        return state

    def __getitem__(self, index: Any) -> Any:
        """The item of an integer index (negative ones count from the end); for a slice or a list or
        1-d array of integers, the list of those items, as a list gives (`collate_fused` stacks it)."""
        if isinstance(index, slice):
            return self.__getitems__(list(range(self._length)[index]))
        if isinstance(index, (list, tuple, range)) or getattr(index, "ndim", None) == 1:  # arrays, tensors
            positions = np.asarray(index)
            if positions.ndim != 1:
                raise ArgumentTypeError(f"FusedDataset indices are integers, slices or lists of integers, got a "
                                        f"{positions.ndim}-d {type(index).__name__} of shape {positions.shape}")
            return self.__getitems__(positions.tolist())
        try:
            position = operator.index(index)
        except TypeError:
            raise ArgumentTypeError(f"FusedDataset indices are integers, slices or lists of integers, got "
                                    f"{type(index).__name__} {index!r}") from None
        return self.__getitems__([position])[0]

    def __getitems__(self, indices: list[int]) -> list[dict[str, Any]]:
        """Items for a batch of indices with one gather per column (DataLoader calls this).

        Returns a list of item dicts (so any collate function works) that also carries the batch
        already stacked, which `collate_fused` takes as is (while the items are unchanged) instead of
        stacking them again.
        """
        import torch

        columns = self._open()
        idx = np.asarray(indices)
        if idx.dtype.kind not in "iu" and len(idx):
            raise ArgumentTypeError(f"indices must be integers, got {indices!r}")
        idx = idx.astype(np.int64, copy=False)
        outside = idx[(idx < -self._length) | (idx >= self._length)]
        if len(outside):
            raise IndexError(f"index out of range for split {self.split!r} of {self._length} rows: {int(outside[0])} "
                             f"(valid: {-self._length} to {self._length - 1}) in {self.export_dir}")
        idx = np.where(idx < 0, idx + self._length, idx)
        labels = columns["label"][idx]
        ids = columns["sample_id"]
        fields: dict[str, list[Any]] = {}
        stacked: dict[str, Any] = {"label": torch.from_numpy(np.asarray(labels, dtype=np.float32))}
        if "rows" in columns:
            fields["feature"] = [torch.from_numpy(np.array(columns["rows"].item(int(i)))) for i in idx]
        else:
            stacked["feature"] = torch.from_numpy(np.array(columns["feature"][idx]))
        for name in ("present", "mask", "labels", "class_id", "class_targets"):
            if name in columns:
                stacked[name] = torch.from_numpy(np.array(columns[name][idx]))
        if "length" in columns:
            lengths = np.asarray(columns["length"][idx], dtype=np.int64)
            stacked["length"] = torch.from_numpy(lengths)
            fields["length"] = lengths.tolist()
        for name in ("feature", "present", "mask", "labels", "class_id", "class_targets"):
            if name in stacked:
                fields[name] = list(stacked[name].unbind(0))
        return FusedItems(
            [{"sample_id": ids[row], "label": float(labels[position]), **{k: v[position] for k, v in fields.items()}}
             for position, row in enumerate(idx)],
            None if "rows" in columns else stacked,
        )

    def _open(self) -> dict[str, Any]:
        """Map the split's files on first access (in each DataLoader worker too), refusing an export
        that `fuse --force` replaced since `fused.json` was read: its rows would not be the ones
        `len()` and the metadata describe."""
        if self._columns is None:
            try:
                columns = _open_npy(self.export_dir, self.split, self.label_columns) if self.format == "npy" \
                    else _open_arrow(self.export_dir, self.split, self.format, self.label_columns)
                if self.classes and self.class_column not in columns:
                    columns[self.class_column] = split_class_ids(self.export_dir, self.split, self.format,
                                                                 self.class_column, len(self.classes))
            except DatasetError:
                self._check_not_replaced()
                raise
            self._check_not_replaced()  # after mapping: the maps hold the files this fused.json describes
            self._columns = columns
        return self._columns

    def _check_not_replaced(self) -> None:
        """The export's `fused.json` is still the one this dataset was made from."""
        try:
            now = read_fused_metadata(self.export_dir)
        except DatasetError as e:
            now = e
        if now != self.metadata:
            change = "was removed or is being replaced" if isinstance(now, DatasetError) else "was replaced"
            raise DatasetError(f"{self.export_dir} {change} (by `mmdata fuse --force`?) after this FusedDataset "
                               f"read its {FUSED_METADATA}, so its rows may not be the {self._length} it describes; "
                               f"make a new FusedDataset({str(self.export_dir)!r}, split={self.split!r}) once the "
                               "export is written")


class FusedItems(list):
    """Items of one `__getitems__` call, with the same rows already stacked as batch tensors (or None).

    The stacked batch stands for the items only while they are the ones handed out, holding the
    values they were given (tensors edited in place are views of it): a collate function that
    replaces a value, or drops or adds items, before calling `collate_fused` gets its items stacked.
    """

    def __init__(self, items: list[dict[str, Any]], stacked: dict[str, Any] | None = None):
        super().__init__(items)
        self.stacked = stacked
        self._handed_out = [dict(item) for item in items] if stacked is not None else []

    def unchanged_stack(self) -> dict[str, Any] | None:
        """The stacked batch, or None when there is none or the items differ from those handed out."""
        if self.stacked is None or len(self) != len(self._handed_out):
            return None
        for item, handed in zip(self, self._handed_out):
            if item.keys() != handed.keys() or any(item[key] is not value for key, value in handed.items()):
                return None
        return self.stacked


def collate_fused(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack items into a batch; ragged sequences are zero-padded to the batch's longest, with a mask.

    Args:
        items: `FusedDataset` items (a DataLoader's `collate_fn=collate_fused` hands them over).

    Returns:
        A dict: feature (B, D) or (B, T, D) float32, label (B,) float32 (NaN when absent), sample_id
        (list of str), and length (B,) int64, mask (B, T) bool for sequences, present (B, m) bool and
        labels (B, k) float32 (auxiliary labels, `FusedDataset.label_names` order, NaN when absent) and
        class_id (B,) int64 (multi-label: class_targets (B, C) float32) when the export has them.
    """
    import torch

    if not len(items):
        raise ValueError("collate_fused got no items: a batch holds at least one (a DataLoader never hands over an "
                         "empty one; a sampler or collate function that filters items may have dropped them all)")
    stacked = items.unchanged_stack() if isinstance(items, FusedItems) else None
    if stacked is not None:
        return {"sample_id": [item["sample_id"] for item in items], **stacked}
    batch: dict[str, Any] = {
        "sample_id": [item["sample_id"] for item in items],
        "label": torch.tensor([item["label"] for item in items], dtype=torch.float32),
    }
    features = [item["feature"] for item in items]
    if "length" in items[0] and "mask" not in items[0]:
        lengths = torch.tensor([item["length"] for item in items], dtype=torch.int64)
        longest = int(lengths.max()) if len(lengths) else 0
        padded = features[0].new_zeros((len(items), longest, features[0].shape[-1]))
        for row, feature in enumerate(features):
            padded[row, : len(feature)] = feature
        batch["feature"] = padded
        batch["length"] = lengths
        batch["mask"] = torch.arange(longest)[None, :] < lengths[:, None]
    else:
        batch["feature"] = torch.stack(features)
        if "length" in items[0]:
            batch["length"] = torch.tensor([item["length"] for item in items], dtype=torch.int64)
            batch["mask"] = torch.stack([item["mask"] for item in items])
    for name in ("present", "labels", "class_id", "class_targets"):
        if name in items[0]:
            batch[name] = torch.stack([item[name] for item in items])
    return batch


def _open_arrow(export_dir: Path, split: str, fmt: str, label_columns: tuple[str, ...] = ()) -> dict[str, Any]:
    """Columns of an Arrow IPC export (file format) or HF save_to_disk split (stream format), zero-copy:
    each record batch stays a view of the mapped file (the few auxiliary labels are copied, NaN for null)."""
    files = [export_dir / DATA_DIR / f"{split}.arrow"] if fmt == "arrow" else hf_split_files(export_dir, split)
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


def _open_npy(export_dir: Path, split: str, label_columns: tuple[str, ...] = ()) -> dict[str, Any]:
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
    return columns


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
