"""Reading feature tables into NumPy for training: pooled tables, caption/frame sequences, joins by id.

Feature tables hold `sample_id` + `feature` (`fixed_size_list<float>[dim]` pooled, or a list of such
vectors per sample); a sample whose extraction failed has a null feature. These readers return the
non-null rows as dense arrays, vectorised over Arrow buffers (no per-row Python).

    ids, x = read_pooled(dataset, "image.color-hist")                  # (n,), (n, dim)
    ids, flat, offsets = read_sequence(dataset, "text.minilm.caption")  # sample i: flat[offsets[i]:offsets[i+1]]
    splits = read_fused_splits("out/mosi-fused")   # {"train": SplitArrays(ids, {"text": (n, d), ...}, labels)}
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.errors import DatasetError, SchemaMismatchError
from mmdata.store.arrays import non_finite_rows
from mmdata.store.grown_samples import update_left_reason
from mmdata.store.reader import Dataset

_REEXTRACT_HINT = "extract the table again (`mmdata extract ... --force`); `mmdata check` lists such damage"


def read_pooled(dataset: Dataset, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Sample ids and (n, dim) float32 vectors of a pooled table's non-null rows.

    Raises:
        SchemaMismatchError: the table is a sequence table or has no fixed dim.
    """
    spec = dataset.spec(name)
    if spec.kind != "pooled" or spec.dim is None:
        raise SchemaMismatchError(
            f"table {name!r} is a {spec.kind} table with dim {spec.dim}; expected a pooled table with a fixed dim "
            "(pool sequences with `mmdata fuse`, or pick a pooled extractor)"
        )
    table = _non_null(_complete_table(dataset, name))
    feature = table.column("feature").combine_chunks()
    values = _fixed_values(feature, spec.dim, f"table {name!r} of {dataset.root}", _REEXTRACT_HINT)
    return np.asarray(table.column("sample_id").to_pylist(), dtype=object), values


def read_sequence(dataset: Dataset, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample ids, (total, dim) float32 item vectors and (n + 1,) offsets of a sequence table's non-null rows."""
    spec = dataset.spec(name)
    if spec.kind != "sequence" or spec.dim is None:
        raise SchemaMismatchError(
            f"table {name!r} is a {spec.kind} table with dim {spec.dim}; expected a sequence table with a fixed dim"
        )
    table = _non_null(_complete_table(dataset, name))
    feature = table.column("feature").combine_chunks()
    if isinstance(feature, pa.ChunkedArray):  # an empty table
        feature = pa.array([], type=feature.type)
    offsets = np.asarray(feature.offsets.to_numpy(), dtype=np.int64)
    offsets = offsets - offsets[0]
    values = _fixed_values(feature.flatten(), spec.dim, f"table {name!r} of {dataset.root}", _REEXTRACT_HINT)
    return np.asarray(table.column("sample_id").to_pylist(), dtype=object), values, offsets


def _complete_table(dataset: Dataset, name: str) -> pa.Table:
    """The ids and features of a finished table: training on the finished shards of an interrupted
    extraction, or on a table without the samples an `extract --update` added, would train on a subset
    without saying so."""
    if not dataset.entry(name).complete:
        reason = update_left_reason(dataset, name)
        if reason is not None:
            raise DatasetError(f"{reason}; training reads complete tables only")
        raise DatasetError(f"table {name!r} of {dataset.root} is incomplete (an extraction is running or was "
                           "interrupted); finish it with `mmdata extract` (it resumes) before training")
    return dataset.read_table(name, columns=["sample_id", "feature"])


def align_ids(*id_arrays: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The sample ids present in every array (sorted), and for each array the row index of each of them."""
    common = sorted(set.intersection(*(set(ids.tolist()) for ids in id_arrays))) if id_arrays else []
    common_arr = np.asarray(common, dtype=object)
    indices = []
    for ids in id_arrays:
        position = {sample_id: i for i, sample_id in enumerate(ids.tolist())}
        indices.append(np.asarray([position[s] for s in common], dtype=np.int64))
    return common_arr, indices


def standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Z-score every array with the mean and std of `train` (constant dims are only centred)."""
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return [((x - mean) / std).astype(np.float32) for x in (train, *others)]


def concat_tables(dataset: Dataset, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Pooled tables joined on sample id and concatenated column-wise (samples missing from one are dropped)."""
    parts = [read_pooled(dataset, name) for name in names]
    ids, indices = align_ids(*(p[0] for p in parts))
    return ids, np.concatenate([p[1][index] for p, index in zip(parts, indices)], axis=1)


@dataclass
class SplitArrays:
    """One split of a fused export: ids, one (n, dim) array per modality, labels (NaN when absent)."""

    sample_ids: np.ndarray
    features: dict[str, np.ndarray]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, rows: np.ndarray) -> SplitArrays:
        return SplitArrays(self.sample_ids[rows], {m: x[rows] for m, x in self.features.items()}, self.labels[rows])


def read_fused_splits(export_dir: str | Path) -> dict[str, SplitArrays]:
    """Every split of a pooled fused export (`mmdata fuse`), cut back into modalities by its slice map.

    Keys of `features` are modality names (`text`, `audio`, `video`, `image`); a fused export holds one
    table per modality. Reads the parquet, arrow, hf and npy formats; labels keep their float64 values.

    Raises:
        DatasetError: not a fused export, or one with sequences kept (re-fuse with `--sequences pool`).
    """
    from mmdata.fusion import read_fused_metadata

    export_dir = Path(export_dir)
    metadata = read_fused_metadata(export_dir)
    if metadata.get("rows_kind") != "pooled":
        raise DatasetError(
            f"{export_dir} keeps sequences ({metadata.get('rows_kind')} rows); these models take one vector per sample: "
            "re-run `mmdata fuse` with --sequences pool"
        )
    slices = {m: metadata["slices"][t] for t, m in zip(metadata["tables"], metadata["modalities"])}
    out = {}
    for split, count in sorted(metadata["rows"].items()):
        if not count:
            continue
        ids, labels, features = _read_fused_split(export_dir, metadata, split)
        out[split] = SplitArrays(ids, {m: features[:, a:b] for m, (a, b) in slices.items()}, labels)
    return out


def _read_fused_split(export_dir: Path, metadata: dict, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, float64 labels, (n, dim) float32 features) of one split, whatever the export format."""
    from mmdata.fusion.formats import FUSED_METADATA, NPY_INDEX_PARQUET
    from mmdata.fusion.torch_dataset import REFUSE_HINT, export_file, hf_split_files, read_export_file

    fmt, dim = metadata["format"], int(metadata["dim"])
    if fmt == "npy":
        index = read_export_file(export_dir / split / NPY_INDEX_PARQUET, "parquet", ["sample_id", "label"])
        with export_file(export_dir / split / "features.npy"):
            features = np.load(export_dir / split / "features.npy").astype(np.float32, copy=False)
    else:
        if fmt == "hf":
            files = hf_split_files(export_dir, split)
        else:
            files = [export_dir / f for f in metadata["files"].get(split, [])]
        if not files:
            raise DatasetError(f"split {split!r} of {export_dir} has {metadata['rows'].get(split)} rows in "
                               f"{FUSED_METADATA} but no data file; {REFUSE_HINT}")
        parts = [read_export_file(f, fmt, ["sample_id", "label", "feature"]) for f in files]
        index = pa.concat_tables(parts)
        features = _fixed_values(index.column("feature"), dim, f"split {split!r} of {export_dir}",
                                 "fuse the dataset again (`mmdata fuse --force`)")
    ids = np.asarray(index.column("sample_id").to_pylist(), dtype=object)
    labels = index.column("label").to_numpy(zero_copy_only=False).astype(np.float64)
    if features.shape != (len(ids), dim):
        shape = "x".join(map(str, features.shape))
        raise SchemaMismatchError(f"split {split!r} of {export_dir} holds a {shape} feature array for {len(ids)} rows, "
                                  f"but its metadata records dim {dim}; the data and the metadata disagree (a file "
                                  "replaced or edited): fuse the dataset again (`mmdata fuse --force`)")
    return ids, labels, features


def _non_null(table: pa.Table) -> pa.Table:
    return table.filter(pc.is_valid(table.column("feature")))


def _fixed_values(array: pa.Array, dim: int, what: str, hint: str) -> np.ndarray:
    """(rows, dim) float32 values of a list array whose rows should each hold `dim` values.

    Raises:
        SchemaMismatchError: the stored vectors are not `dim` long (the data and the metadata that
            records `dim` disagree: a file replaced or edited by hand), naming `what` and both sizes.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks else pa.array([], type=array.type)
    stored = getattr(array.type, "list_size", None)  # fixed_size_list vectors record their length
    flat = array.flatten().to_numpy(zero_copy_only=False)
    if (stored is not None and stored != dim) or flat.size != len(array) * dim:
        found = stored if stored is not None else f"{flat.size / max(len(array), 1):g} on average"
        raise SchemaMismatchError(f"{what} holds vectors of {found} values, but its metadata records dim {dim}; "
                                  f"the data and the metadata disagree (a file replaced or edited): {hint}")
    return np.asarray(flat, dtype=np.float32).reshape(-1, dim)


def check_finite(values: np.ndarray, sample_ids: np.ndarray, what: str, hint: str) -> None:
    """Refuse feature rows holding NaN or inf: a model trained on them goes NaN, which would read as a
    learning rate too high, and a score over them means nothing.

    Raises:
        DatasetError: naming `what`, how many rows hold such values and the first sample ids.
    """
    bad = non_finite_rows(values.reshape(len(values), -1))
    if bad is not None:
        first = ", ".join(str(i) for i in sample_ids[bad][:3])
        raise DatasetError(f"{what}: NaN/inf in {len(bad)} of {len(values)} row(s) (first: {first}); "
                           f"expected finite features: {hint}")
