"""One fused row's layout (`RowLayout`) and a batch of fused rows (`FusedBatch`), with their Arrow form.

    feature  pooled:  fixed_size_list<float32>[D]                         (n, D)
             padded:  fixed_size_list<fixed_size_list<float32>[D]>[L]     (n, L, D)
             ragged:  list<fixed_size_list<float32>[D]>                   (sum T_i, D) + lengths
    label_<name>, ...  float64, null = none                               aux_labels (n, k), NaN = none
    class_id           int64, -1 = no class (`classes.py`)                class_ids (n,)
    class_targets      fixed_size_list<float32>[C], multi-label            class_ids (n, C) float32 multi-hot
                       (`class_targets.py`; every value -1 = no class)
    targets            as `feature`, of dim C (`fuse --targets TABLE`)     feature's last C columns: a batch's
                                                                           rows are (.., D + C) wide
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.fusion.class_targets import TARGETS_COLUMN, targets_column, targets_values
from mmdata.fusion.classes import CLASS_COLUMN
from mmdata.store.metadata import METADATA_KEY, required_list

RowKind = Literal["pooled", "padded", "ragged"]


@dataclass(frozen=True)
class RowLayout:
    """The shape of one fused row: dim D, pooled/padded/ragged, padded length L, modalities m (presence),
    the auxiliary label columns (`labels.py`), which follow `label`, and the class names when a `class_id`
    column follows them (`classes.py`; None: no such column), or, `multi_label`, a `class_targets` one."""

    dim: int
    kind: RowKind = "pooled"
    max_length: int | None = None
    presence: int | None = None
    labels: tuple[str, ...] = ()
    classes: tuple[str, ...] | None = None
    multi_label: bool = False
    #: C, the dim of a `targets` column (`fuse --targets`); 0: none. A batch's rows then hold the feature's D
    #: values, then the targets' C.
    targets: int = 0

    @property
    def class_column(self) -> str | None:
        """The class column's name (`class_id`, or multi-label `class_targets`); None without classes."""
        if self.classes is None:
            return None
        return TARGETS_COLUMN if self.multi_label else CLASS_COLUMN

    def class_fields(self) -> list[pa.Field]:
        """The class column's field, when the layout has one. Nullable, though never null: `datasets` takes a
        field's feature (ClassLabel) from the b"huggingface" metadata only when the field equals the one that
        feature declares."""
        if self.classes is None:
            return []
        if self.multi_label:
            return [pa.field(TARGETS_COLUMN, required_list(pa.float32(), len(self.classes)))]
        return [pa.field(CLASS_COLUMN, pa.int64())]

    def feature_type(self, dim: int | None = None) -> pa.DataType:
        """Non-null all the way down: a fused row always has every value (missing modalities are
        zero-filled and flagged in `present`, or their samples dropped). Declaring it spares the
        Parquet encoder the definition levels of ~1,000 values per row. `dim`: of another column of the
        feature's shape (`targets`)."""
        vector = required_list(pa.float32(), self.dim if dim is None else dim)
        if self.kind == "pooled":
            return vector
        if self.kind == "padded":
            return required_list(vector, int(self.max_length or 0))
        return required_list(vector)

    def schema(self, metadata: dict[str, Any] | None = None) -> pa.Schema:
        fields = [
            pa.field("sample_id", pa.string(), nullable=False),
            pa.field("split", pa.string()),
            pa.field("label", pa.float64()),
            *(pa.field(column, pa.float64()) for column in self.labels),
            *self.class_fields(),
            pa.field("feature", self.feature_type(), nullable=False),
        ]
        if self.targets:
            fields.append(pa.field("targets", self.feature_type(self.targets), nullable=False))
        if self.presence:
            fields.append(pa.field("present", required_list(pa.bool_(), self.presence), nullable=False))
        if self.kind != "pooled":
            fields.append(pa.field("length", pa.int32(), nullable=False))
        if self.kind == "padded":
            fields.append(pa.field("mask", required_list(pa.bool_(), int(self.max_length or 0)), nullable=False))
        raw = {b"huggingface": json.dumps({"info": {"features": self.hf_features()}}).encode()}
        if metadata is not None:
            raw[METADATA_KEY] = json.dumps(metadata, sort_keys=True).encode()
        return pa.schema(fields, metadata=raw)

    def hf_features(self) -> dict[str, Any]:
        """The Hugging Face `Features` of a row, as `Features.to_dict()` writes them."""
        def value(dtype: str) -> dict[str, Any]:
            return {"dtype": dtype, "_type": "Value"}

        def listed(inner: dict[str, Any], length: int | None = None) -> dict[str, Any]:
            out: dict[str, Any] = {"feature": inner, "_type": "List"}
            if length is not None:
                out["length"] = length
            return out

        def shaped(dim: int) -> dict[str, Any]:  # `feature`'s shape with vectors of `dim`
            vector = listed(value("float32"), dim)
            return vector if self.kind == "pooled" else listed(vector, self.max_length if self.kind == "padded" else None)

        out = {"sample_id": value("string"), "split": value("string"), "label": value("float64"),
               **{column: value("float64") for column in self.labels},
               **self._hf_class_feature(listed(value("float32"), len(self.classes or ()))), "feature": shaped(self.dim)}
        if self.targets:
            out["targets"] = shaped(self.targets)
        if self.presence:
            out["present"] = listed(value("bool"), self.presence)
        if self.kind != "pooled":
            out["length"] = value("int32")
        if self.kind == "padded":
            out["mask"] = listed(value("bool"), self.max_length)
        return out

    def _hf_class_feature(self, targets: dict[str, Any]) -> dict[str, Any]:
        """{class column: its feature}: a ClassLabel of class ids, or multi-label float32 targets (a List of
        length C, as `feature` is; the names are fused.json's `classes`); {} without classes."""
        if self.classes is None:
            return {}
        return {TARGETS_COLUMN: targets} if self.multi_label else \
            {CLASS_COLUMN: {"names": list(self.classes), "_type": "ClassLabel"}}


@dataclass
class FusedBatch:
    """Fused rows of one input shard (n samples).

    feature: pooled (n, D); padded (n, L, D); ragged (sum of lengths, D) with `lengths` giving
    each sample's rows. present: (n, m) bool or None. lengths: (n,) for sequences, else None.
    aux_labels: (n, k) float64 values of the layout's label columns (NaN = none), or None.
    class_ids: (n,) int64 class ids (-1 = none) when the layout has a class_id column, (n, C) float32
    multi-hot targets when it has class_targets (multi-label), else None.
    """

    sample_id: pa.Array
    split: pa.Array
    label: pa.Array
    feature: np.ndarray
    lengths: np.ndarray | None = None
    present: np.ndarray | None = None
    aux_labels: np.ndarray | None = None
    class_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.sample_id)

    def take(self, rows: np.ndarray, layout: RowLayout) -> FusedBatch:
        index = pa.array(rows, pa.int64())
        feature = self.feature[rows] if layout.kind != "ragged" else self.feature[_ragged_rows(self.lengths, rows)]
        return FusedBatch(
            self.sample_id.take(index), self.split.take(index), self.label.take(index), feature,
            None if self.lengths is None else self.lengths[rows], None if self.present is None else self.present[rows],
            None if self.aux_labels is None else self.aux_labels[rows],
            None if self.class_ids is None else self.class_ids[rows],
        )

    def slice(self, start: int, stop: int, layout: RowLayout) -> FusedBatch:
        """Rows start..stop as views (no copy)."""
        if start == 0 and stop == len(self):
            return self
        if layout.kind == "ragged":
            edges = np.concatenate([[0], np.cumsum(self.lengths)])
            feature = self.feature[edges[start] : edges[stop]]
        else:
            feature = self.feature[start:stop]
        return FusedBatch(
            self.sample_id.slice(start, stop - start), self.split.slice(start, stop - start),
            self.label.slice(start, stop - start), feature,
            None if self.lengths is None else self.lengths[start:stop],
            None if self.present is None else self.present[start:stop],
            None if self.aux_labels is None else self.aux_labels[start:stop],
            None if self.class_ids is None else self.class_ids[start:stop],
        )

    @classmethod
    def from_arrow(cls, record: pa.RecordBatch, layout: RowLayout) -> FusedBatch:
        """The inverse of `to_arrow` for pooled and ragged layouts (the staging format)."""
        from mmdata.checks.stream import fixed_rows, sequence_rows

        feature = record.column("feature")
        lengths = None
        if layout.kind == "ragged":
            offsets, values = sequence_rows(feature)
            lengths = np.diff(offsets)
        else:
            values = fixed_rows(feature)
        present = None
        if layout.presence:
            present = fixed_rows(record.column("present")).astype(bool).reshape(len(record), layout.presence)
        return cls(record.column("sample_id"), record.column("split"), record.column("label"), values, lengths, present,
                   _label_values(record, layout), _class_values(record, layout))

    @classmethod
    def merge(cls, parts: list[FusedBatch], layout: RowLayout) -> FusedBatch:
        """One writable batch with every row of `parts`; pooled rows come out grouped by split (stable)."""
        splits = pa.concat_arrays([_array(p.split) for p in parts])
        order = None
        if layout.kind == "pooled":
            codes = pc.dictionary_encode(splits).indices.to_numpy()
            order = np.argsort(codes, kind="stable")
            if (order == np.arange(len(order))).all():
                order = None
        target = None if order is None else np.empty_like(order)
        if target is not None:
            target[order] = np.arange(len(order))  # where each input row goes

        def stack(values: list[np.ndarray]) -> np.ndarray:
            if target is None:
                return np.concatenate(values) if len(values) > 1 else np.array(values[0])
            out = np.empty((len(target), *values[0].shape[1:]), values[0].dtype)
            start = 0
            for part in values:  # scatter each part straight to its place: one copy per row
                out[target[start : start + len(part)]] = part
                start += len(part)
            return out

        def column(values: list[Any]) -> pa.Array:
            merged = pa.concat_arrays([_array(v) for v in values])
            return merged if order is None else merged.take(pa.array(order))

        return cls(
            column([p.sample_id for p in parts]), column([p.split for p in parts]), column([p.label for p in parts]),
            stack([p.feature for p in parts]),
            None if parts[0].lengths is None else np.concatenate([p.lengths for p in parts]),
            None if parts[0].present is None else stack([p.present for p in parts]),
            None if parts[0].aux_labels is None else stack([p.aux_labels for p in parts]),
            None if parts[0].class_ids is None else stack([p.class_ids for p in parts]),
        )

    def to_arrow(self, layout: RowLayout, schema: pa.Schema) -> pa.RecordBatch:
        arrays = [self.sample_id, self.split, self.label, *self.label_arrays(layout)]
        if layout.targets:  # the rows' first D values are the feature, the last C the targets
            arrays += [self._shaped(np.ascontiguousarray(self.feature[..., : layout.dim]), layout, layout.dim),
                       self._shaped(np.ascontiguousarray(self.feature[..., layout.dim :]), layout, layout.targets)]
        else:
            arrays.append(self._shaped(self.feature, layout, layout.dim))
        if layout.presence:
            arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(self.present.reshape(-1)),
                                                            type=required_list(pa.bool_(), layout.presence)))
        if layout.kind != "pooled":
            arrays.append(pa.array(self.lengths.astype(np.int32)))
        if layout.kind == "padded":
            length = int(layout.max_length or 0)
            mask = np.arange(length)[None, :] < self.lengths[:, None]
            arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(mask.reshape(-1)), type=required_list(pa.bool_(), length)))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _shaped(self, values: np.ndarray, layout: RowLayout, dim: int) -> pa.Array:
        """C-contiguous float32 `values` whose last axis is `dim` as a column of the layout's feature shape."""
        vectors = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), pa.float32()),
                                                    type=required_list(pa.float32(), dim))
        if layout.kind == "padded":
            return pa.FixedSizeListArray.from_arrays(vectors, type=layout.feature_type(dim))
        if layout.kind == "ragged":
            offsets = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int32)
            return pa.ListArray.from_arrays(pa.array(offsets), vectors, type=layout.feature_type(dim))
        return vectors

    def label_arrays(self, layout: RowLayout) -> list[pa.Array]:
        """One float64 array per label column of the layout, null where the value is NaN (none), then the
        int64 class ids when the layout has them."""
        classes = [] if layout.classes is None else [
            targets_column(self.class_ids, len(layout.classes)) if layout.multi_label else pa.array(self.class_ids, pa.int64())]
        if not layout.labels:
            return classes
        assert self.aux_labels is not None and self.aux_labels.shape[1] == len(layout.labels)
        columns = [np.ascontiguousarray(self.aux_labels[:, k]) for k in range(len(layout.labels))]
        return [pa.array(values, pa.float64(), mask=np.isnan(values)) for values in columns] + classes


def _label_values(record: pa.RecordBatch, layout: RowLayout) -> np.ndarray | None:
    """(n, k) float64 values of the layout's label columns (null -> NaN), or None when it has none."""
    if not layout.labels:
        return None
    columns = [record.column(c).to_numpy(zero_copy_only=False).astype(np.float64, copy=False) for c in layout.labels]
    return np.stack(columns, axis=1)


def _class_values(record: pa.RecordBatch, layout: RowLayout) -> np.ndarray | None:
    """(n,) int64 class ids or (n, C) float32 targets of the layout's class column, or None when it has none."""
    if layout.classes is None:
        return None
    if layout.multi_label:
        return targets_values(record.column(TARGETS_COLUMN), len(layout.classes))
    return record.column(CLASS_COLUMN).to_numpy().astype(np.int64)


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _ragged_rows(lengths: np.ndarray | None, samples: np.ndarray) -> np.ndarray:
    """Row indices of the chosen samples in a ragged (sum of lengths, D) array."""
    assert lengths is not None
    starts = np.concatenate([[0], np.cumsum(lengths)])[:-1]
    chosen = lengths[samples]
    owner = np.repeat(np.arange(len(samples)), chosen)
    step = np.arange(int(chosen.sum())) - np.repeat(np.cumsum(chosen) - chosen, chosen)
    return starts[samples][owner] + step
