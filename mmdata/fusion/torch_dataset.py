"""A map-style PyTorch Dataset over a fused export, memory-mapped, plus a collate function.

    from torch.utils.data import DataLoader
    data = FusedDataset("out/mosi-fused", split="train")       # arrow, hf or npy export
    loader = DataLoader(data, batch_size=64, shuffle=True, num_workers=4, collate_fn=collate_fused)
    for batch in loader:
        x, y = batch["feature"], batch["label"]                 # + length and mask for sequences

Nothing is copied at open: Arrow IPC and .npy files are memory-mapped and each item is cut from
the mapped buffers, ids and labels included (no Python object per row is held, so a worker's private
memory does not grow with the split's rows). Worker processes reopen the files themselves (only the path
is pickled).
An item is a dict: sample_id (str), feature (D,) / (T, D) float32 tensor, label (float, the value the export holds;
NaN when absent), plus length (int) for sequences, mask (L,) bool for padded rows, present (m,) bool with
missing='zero' ((m + 1,) with targets, theirs last), and labels (k,) float32 when the export has auxiliary labels
(`fuse --labels`): their values in the order of `FusedDataset.label_names` (NaN where the sample has none), and
class_id (a 0-d int64 tensor, -1 for no class) when it has a class label (`fuse --class-label`; names in
`FusedDataset.classes`), or class_targets ((C,) float32 multi-hot, -1s for no class) when that is multi-label, and
targets ((C,) / (T, C) float32, shaped as feature) when the export has a targets table (`fuse --targets`; column
names in `FusedDataset.target_names`). `collate_fused` stacks them into float32, int64 and bool tensors (labels: (B,
k), class_id: (B,), class_targets: (B, C), targets as feature: (B, C) or (B, T, C), padded alike). As with a list,
data[-1] is the last item and data[a:b] (or data[[i, j]]) a list of items.
"""
from __future__ import annotations

import operator
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.entry_arguments import check_split_name
from mmdata.errors import ArgumentTypeError, DatasetError
from mmdata.fusion.classes import export_class_column, export_classes, split_class_ids
from mmdata.fusion.export_files import (REFUSE_HINT, export_file, hf_split_files, open_arrow_columns, open_npy_columns,
                                        read_export_file)
from mmdata.fusion.formats import EXPORT_FORMATS, FUSED_METADATA
from mmdata.jsonfile import json_kind, read_json_object
from mmdata.options import path_argument

# The file readers live in `export_files`; these names stay importable from here.
__all__ = ["REFUSE_HINT", "FusedDataset", "FusedItems", "collate_fused", "export_file", "hf_split_files",
           "read_export_file", "read_fused_metadata"]
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
        targets = self.metadata.get("targets") if isinstance(self.metadata.get("targets"), dict) else {}
        #: The table exported as each item's `targets` (`fuse --targets`), None without; its column names when known.
        self.targets_table: str | None = targets.get("table")
        self.target_names: tuple[str, ...] = tuple(targets.get("classes") or ())
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
        targets = f"; targets {self.targets_table} (dim {meta['targets'].get('dim')})" if self.targets_table else ""
        return (f"FusedDataset({str(self.export_dir)!r}, split={self.split!r}): {self._length} "
                f"{meta.get('rows_kind')} rows of dim {meta.get('dim')}{length}, format {self.format}; "
                f"slices {slices or 'none'}{labels}{targets}")

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
        ids = columns["sample_id"][idx]  # str per row, made from the mapped Arrow strings for this batch only
        fields: dict[str, list[Any]] = {}
        stacked: dict[str, Any] = {"label": torch.from_numpy(np.asarray(labels, dtype=np.float32))}
        for name, ragged in (("feature", "rows"), ("targets", "target_rows")):
            if ragged in columns:
                fields[name] = [torch.from_numpy(np.array(columns[ragged].item(int(i)))) for i in idx]
            elif name in columns:
                stacked[name] = torch.from_numpy(_own_array(columns[name][idx]))
        for name in ("present", "mask", "labels", "class_id", "class_targets"):
            if name in columns:
                stacked[name] = torch.from_numpy(_own_array(columns[name][idx]))
        if "length" in columns:
            lengths = np.asarray(columns["length"][idx], dtype=np.int64)
            stacked["length"] = torch.from_numpy(lengths)
            fields["length"] = lengths.tolist()
        for name in ("feature", "targets", "present", "mask", "labels", "class_id", "class_targets"):
            if name in stacked:
                fields[name] = list(stacked[name].unbind(0))
        keys = ("sample_id", "label", *fields)
        rows = zip(ids, np.asarray(labels, dtype=np.float64).tolist(), *fields.values())
        return FusedItems([dict(zip(keys, row)) for row in rows], None if "rows" in columns else stacked, ids)

    def _open(self) -> dict[str, Any]:
        """Map the split's files on first access (in each DataLoader worker too), refusing an export
        that `fuse --force` replaced since `fused.json` was read: its rows would not be the ones
        `len()` and the metadata describe."""
        if self._columns is None:
            try:
                columns = open_npy_columns(self.export_dir, self.split, self.label_columns) if self.format == "npy" \
                    else open_arrow_columns(self.export_dir, self.split, self.format, self.label_columns)
                if self.targets_table and "targets" not in columns and "target_rows" not in columns:
                    raise DatasetError(f"{self.export_dir}: fused.json names targets table {self.targets_table!r}, "
                                       f"the files of split {self.split!r} hold no targets: {REFUSE_HINT}")
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


def _own_array(gathered: np.ndarray) -> np.ndarray:
    """A gather's rows as an array a tensor may hold and write: the gather's own result (a fancy index copies
    the rows out of the mapped file already, NumPy's memmap too), copied again only where it is read-only or
    not C-contiguous."""
    return np.require(gathered, requirements=["C_CONTIGUOUS", "WRITEABLE"])


class FusedItems(list):
    """Items of one `__getitems__` call, with the same rows already stacked as batch tensors (or None).

    The stacked batch stands for the items only while they are the ones handed out, holding the
    values they were given (tensors edited in place are views of it): a collate function that
    replaces a value, or drops or adds items, before calling `collate_fused` gets its items stacked.
    Until Python code first reads or changes the list through its methods (`collate_fused` given it
    straight from the DataLoader, the usual case), nothing can have changed: the batch is taken without
    comparing items. (Code that edits it past them, `list.__setitem__(items, ...)` or C code such as
    `heapq`'s, goes unseen.)
    """

    # Defaults for an instance pickle rebuilds: it adds the items (`extend`) before it sets the attributes.
    stacked: dict[str, Any] | None = None
    _sample_ids: list[str] | None = None
    _handed_out: list[dict[str, Any]] | None = None

    def __init__(self, items: list[dict[str, Any]], stacked: dict[str, Any] | None = None,
                 sample_ids: list[str] | None = None):
        super().__init__(items)
        self.stacked = stacked
        self._sample_ids = sample_ids
        self._handed_out: list[dict[str, Any]] | None = None  # the items as handed out, kept at first access

    def _touch(self) -> None:
        """Keep the items as handed out, before their first reader (or change) could alter them."""
        if self._handed_out is None and self.stacked is not None:
            self._handed_out = [dict(item) for item in list.__iter__(self)]

    def unchanged_stack(self) -> dict[str, Any] | None:
        """The stacked batch, or None when there is none or the items differ from those handed out."""
        if self.stacked is None or self._handed_out is None:
            return self.stacked
        if len(self) != len(self._handed_out):
            return None
        for item, handed in zip(list.__iter__(self), self._handed_out):
            if item.keys() != handed.keys() or any(item[key] is not value for key, value in handed.items()):
                return None
        return self.stacked

    def unchanged_sample_ids(self) -> list[str]:
        """The items' sample ids (a new list), read from the list kept beside them while no one touched them."""
        if self._handed_out is None and self._sample_ids is not None:
            return list(self._sample_ids)
        return [item["sample_id"] for item in self]


def _touching(name: str) -> Any:
    """List method `name` that first keeps the items as handed out (`FusedItems._touch`)."""
    method = getattr(list, name)

    def touching(self: FusedItems, *args: Any, **kwargs: Any) -> Any:
        self._touch()
        return method(self, *args, **kwargs)

    touching.__name__ = touching.__qualname__ = name
    touching.__doc__ = method.__doc__
    return touching


# Every list method that hands out an item, changes the list or hands its items to other code (an item's
# `__eq__` in a comparison or a search); len and repr read nothing out.
for _name in ("__getitem__", "__iter__", "__reversed__", "__setitem__", "__delitem__", "__iadd__", "__imul__",
              "__add__", "__mul__", "__rmul__", "__reduce_ex__", "append", "extend", "insert", "pop", "remove",
              "clear", "sort", "reverse", "copy", "__contains__", "index", "count", "__eq__", "__ne__", "__lt__",
              "__le__", "__gt__", "__ge__"):
    setattr(FusedItems, _name, _touching(_name))


def collate_fused(items: list[dict[str, Any]], *, trim: bool = False) -> dict[str, Any]:
    """Stack items into a batch; ragged sequences are zero-padded to the batch's longest, with a mask.

    Args:
        items: `FusedDataset` items (a DataLoader's `collate_fn=collate_fused` hands them over).
        trim: cut a padded export's batch to its longest sequence: feature (B, T, D) and mask (B, T) with
            T the largest length, not the export's padded length (`functools.partial(collate_fused,
            trim=True)`; batches of similar lengths from a `LengthBucketSampler` then save the padding).
            Ragged exports are padded to the batch's longest anyway.

    Returns:
        A dict: feature (B, D) or (B, T, D) float32, label (B,) float32 (NaN when absent), sample_id
        (list of str), and length (B,) int64, mask (B, T) bool for sequences, present (B, m) bool and
        labels (B, k) float32 (auxiliary labels, `FusedDataset.label_names` order, NaN when absent),
        class_id (B,) int64 (multi-label: class_targets (B, C) float32) and targets (B, C) or (B, T, C) float32
        (padded and trimmed as feature) when the export has them.
    """
    if not len(items):
        raise ValueError("collate_fused got no items: a batch holds at least one (a DataLoader never hands over an "
                         "empty one; a sampler or collate function that filters items may have dropped them all)")
    stacked = items.unchanged_stack() if isinstance(items, FusedItems) else None
    batch = {"sample_id": items.unchanged_sample_ids(), **stacked} if stacked is not None else _stack_items(items)
    if trim and "mask" in batch and batch["feature"].ndim == 3:
        longest = int(batch["length"].max())
        for name in ("feature", "targets", "mask"):
            if name in batch:
                batch[name] = batch[name][:, :longest].contiguous()
    return batch


def _stack_items(items: list[dict[str, Any]]) -> dict[str, Any]:
    """`collate_fused`'s batch of items that carry no stacked batch (or whose values were edited)."""
    import torch

    batch: dict[str, Any] = {
        "sample_id": [item["sample_id"] for item in items],
        "label": torch.tensor([item["label"] for item in items], dtype=torch.float32),
    }
    shaped = [name for name in ("feature", "targets") if name in items[0]]  # targets are shaped as the feature
    if "length" in items[0] and "mask" not in items[0]:
        lengths = torch.tensor([item["length"] for item in items], dtype=torch.int64)
        longest = int(lengths.max()) if len(lengths) else 0
        for name in shaped:
            values = [item[name] for item in items]
            padded = values[0].new_zeros((len(items), longest, values[0].shape[-1]))
            for row, value in enumerate(values):
                padded[row, : len(value)] = value
            batch[name] = padded
        batch["length"] = lengths
        batch["mask"] = torch.arange(longest)[None, :] < lengths[:, None]
    else:
        for name in shaped:
            batch[name] = torch.stack([item[name] for item in items])
        if "length" in items[0]:
            batch["length"] = torch.tensor([item["length"] for item in items], dtype=torch.int64)
            batch["mask"] = torch.stack([item["mask"] for item in items])
    for name in ("present", "labels", "class_id", "class_targets"):
        if name in items[0]:
            batch[name] = torch.stack([item[name] for item in items])
    return batch
