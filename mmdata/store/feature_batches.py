"""`FeatureBatchBuilder`: per-sample extractor outputs collected and built into a table of the spec's exact schema.

Each feature is checked as it is added: a shape the spec cannot hold, or values its dtype would
change (non-numbers, fractions or out-of-range values for an integer dtype, finite values that
overflow a narrower float), raise `SchemaMismatchError` naming the sample. The rows are then built
into Arrow arrays column-wise (fixed-size, ragged and nested lists, failed samples as nulls).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from mmdata.errors import SchemaMismatchError
from mmdata.store.metadata import INTERVAL_TYPE, FeatureSpec, feature_schema, vector_type


class FeatureBatchBuilder:
    """Collects per-sample extractor outputs and builds a table with the spec's exact schema.

    A failed sample gets a null feature (the table stays row-aligned with the samples table); its
    reason goes to the errors table. A wrong shape or dim raises `SchemaMismatchError` naming the
    sample id, the expected and the actual shape.
    """

    def __init__(self, spec: FeatureSpec, metadata: dict[str, Any] | None = None):
        self.spec = spec
        self.dtype = np.dtype(spec.dtype)
        self.schema = feature_schema(spec, metadata)
        self.sample_ids: list[str] = []
        self.values: list[np.ndarray | None] = []
        self.intervals: list[np.ndarray | None] = []
        #: Bytes of the feature values added so far.
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self.sample_ids)

    def add(self, sample_id: str, value: Any, intervals: Any = None) -> None:
        """Add one sample's feature (None for a failed sample). A feature the spec cannot hold raises
        `SchemaMismatchError` and adds nothing (the rows stay as they were): another shape, values that
        are not real numbers (booleans, complex numbers, strings), or values the spec's dtype would
        change (a fraction or an out-of-range value for an integer dtype, a finite value that becomes
        inf in a narrower float; see `_stored_values`)."""
        if value is None:
            self.sample_ids.append(sample_id)
            self.values.append(None)
            self.intervals.append(None)
            return
        checked = self._checked(sample_id, value)
        if self.spec.intervals:
            checked_intervals = self._checked_intervals(sample_id, intervals, len(checked))
        self.sample_ids.append(sample_id)
        self.values.append(checked)
        self.nbytes += checked.nbytes if isinstance(checked, np.ndarray) else sum(v.nbytes for v in checked)
        if self.spec.intervals:
            self.intervals.append(checked_intervals)

    def build(self) -> pa.Table:
        arrays = [pa.array(self.sample_ids, pa.string()), self._feature_array()]
        if self.spec.kind == "sequence" and self.spec.intervals:
            arrays.append(_list_of(self.intervals, INTERVAL_TYPE, np.float64, 2))
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _checked(self, sample_id: str, value: Any) -> np.ndarray | list:
        spec, dtype = self.spec, self.dtype
        if spec.dim is None:
            if spec.kind == "pooled":
                return _one_vector(sample_id, _stored_values(sample_id, value, dtype), spec)
            return [_one_vector(sample_id, _stored_values(sample_id, v, dtype), spec) for v in value]
        arr = _stored_values(sample_id, value, dtype)
        expected = (spec.dim,) if spec.kind == "pooled" else ("T", spec.dim)
        ok = arr.shape == (spec.dim,) if spec.kind == "pooled" else (arr.ndim == 2 and arr.shape[1] == spec.dim)
        if not ok:
            raise SchemaMismatchError(
                f"sample {sample_id!r}: feature has shape {arr.shape}, expected {expected} "
                f"(dtype {spec.dtype}, kind {spec.kind})"
            )
        return arr

    def _checked_intervals(self, sample_id: str, intervals: Any, length: int) -> np.ndarray:
        arr = np.asarray(intervals, dtype=np.float64)
        if arr.shape != (length, 2):
            raise SchemaMismatchError(
                f"sample {sample_id!r}: intervals have shape {arr.shape}, expected ({length}, 2) "
                "(one (start, end) pair per feature row)"
            )
        return arr

    def _feature_array(self) -> pa.Array:
        spec = self.spec
        vector = vector_type(spec)
        if spec.kind == "pooled":
            if spec.dim is None:
                return _ragged(self.values, vector, spec.dtype)
            return _fixed_rows(self.values, vector, spec.dtype, spec.dim)
        if spec.dim is None:
            # list<list<v>>: each sample holds a list of variable-length vectors.
            inner_values = [None if v is None else _ragged(v, vector, spec.dtype) for v in self.values]
            return _nest(inner_values, vector)
        return _list_of(self.values, vector, np.dtype(spec.dtype), spec.dim)


#: numpy dtype kinds a feature's values may have: signed and unsigned integers, floats. Booleans,
#: complex numbers, strings and objects are refused rather than cast ('1.5' would become 1.5, 1+2j 1.0).
_REAL_KINDS = "iuf"


def _stored_values(sample_id: str, value: Any, dtype: np.dtype) -> np.ndarray:
    """`value` as an array of `dtype`, refusing what the cast would change: values that are not real
    numbers, and, when the cast changes the dtype, values the target cannot hold (a fraction or one
    out of range for an integer dtype, a finite value that overflows to inf in a narrower float).

    An array already of `dtype` (a float32 model output into a float32 table) is returned as it is,
    without a pass over its values. NaN and inf in float values are kept (`mmdata check` reports them).

    Raises:
        SchemaMismatchError: naming the sample, the value's dtype, the spec's and what was lost.
    """
    try:
        arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError) as e:  # ragged nested lists
        raise SchemaMismatchError(f"sample {sample_id!r}: feature is not an array of numbers ({e}); expected "
                                  f"{dtype.name} values, one array per item") from e
    if arr.dtype == dtype:
        return arr
    if arr.dtype.kind not in _REAL_KINDS:
        raise SchemaMismatchError(
            f"sample {sample_id!r}: feature holds {_kind_name(arr.dtype)} values (dtype {arr.dtype}); expected real "
            f"numbers to store as {dtype.name}: convert them in the extractor's compute (e.g. np.asarray(x, np.float32))")
    if dtype.kind in "iu":
        _check_integral(sample_id, arr, dtype)
        return arr.astype(dtype)
    with np.errstate(over="ignore"):  # an overflow is checked below, and raised, not warned about
        cast = arr.astype(dtype)
    if not np.can_cast(arr.dtype, dtype, "safe"):
        _check_no_overflow(sample_id, arr, cast, dtype)
    return cast


def _check_integral(sample_id: str, arr: np.ndarray, dtype: np.dtype) -> None:
    """Refuse values an integer `dtype` cannot hold exactly: fractions, NaN/inf, out of its range."""
    if arr.size == 0 or np.can_cast(arr.dtype, dtype, "safe"):
        return
    info = np.iinfo(dtype)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise SchemaMismatchError(f"sample {sample_id!r}: feature holds NaN or inf; an integer table ({dtype.name}) "
                                      "cannot store them: declare a float dtype in output_spec, or fail the item")
        if not (arr == np.trunc(arr)).all():
            first = arr[arr != np.trunc(arr)].flat[0]
            raise SchemaMismatchError(f"sample {sample_id!r}: feature holds non-integral values (e.g. {_shown(first)}); "
                                      f"an integer table ({dtype.name}) would truncate them: round them in compute, or "
                                      "declare a float dtype in output_spec")
        # float(info.min) = -2**(bits-1) is exact; the range is [min, -min), as info.max rounds up as a float.
        in_range = (arr.min() >= float(info.min)) and (arr.max() < -float(info.min))
    else:
        in_range = int(arr.min()) >= info.min and int(arr.max()) <= info.max
    if not in_range:
        hint = "declare int64 in output_spec" if dtype.itemsize < 8 else "store them as float64"
        raise SchemaMismatchError(f"sample {sample_id!r}: feature holds values from {_shown(arr.min())} to "
                                  f"{_shown(arr.max())}, outside the range of {dtype.name} [{info.min}, {info.max}]; {hint}")


def _check_no_overflow(sample_id: str, arr: np.ndarray, cast: np.ndarray, dtype: np.dtype) -> None:
    """Refuse a cast to a narrower float that turned finite values into inf (1e40 into float32)."""
    overflowed = np.isinf(cast)
    if overflowed.any():
        overflowed &= np.isfinite(arr)
        if overflowed.any():
            first = arr[overflowed].flat[0]
            raise SchemaMismatchError(f"sample {sample_id!r}: feature holds {_shown(first)}, beyond the range of "
                                      f"{dtype.name} (max {np.finfo(dtype).max}); it would be stored as inf: declare "
                                      "a wider float dtype in output_spec, or scale the values in compute")


def _one_vector(sample_id: str, arr: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """A vector of varying length (dim None) must be 1-D: a matrix is not flattened into one."""
    if arr.ndim != 1:
        what = "feature" if spec.kind == "pooled" else "an item of the feature sequence"
        raise SchemaMismatchError(f"sample {sample_id!r}: {what} has shape {arr.shape}, expected one vector of any "
                                  f"length (N,) (dtype {spec.dtype}, kind {spec.kind}, dim any); flatten or pool it in "
                                  "compute")
    return arr


def _shown(number: np.generic) -> str:
    """A numpy scalar as Python writes the number (1e+40, not np.float64(1e+40))."""
    return repr(number.item())


def _kind_name(dtype: np.dtype) -> str:
    return {"b": "boolean", "c": "complex", "U": "string", "S": "bytes", "O": "Python object", "M": "datetime",
            "m": "timedelta", "V": "structured"}.get(dtype.kind, dtype.kind)


def _mask(values: Sequence[Any]) -> np.ndarray | None:
    mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    return mask if mask.any() else None


def _fixed_rows(values: Sequence[np.ndarray | None], vector: pa.DataType, dtype: str, dim: int) -> pa.Array:
    """(n, dim) rows, None rows becoming nulls, as `vector` (fixed_size_list<value>[dim])."""
    zeros = np.zeros(dim, dtype=dtype)
    flat = np.stack([zeros if v is None else v for v in values]).reshape(-1) if values else np.zeros(0, dtype)
    arr = pa.FixedSizeListArray.from_arrays(pa.array(flat, vector.value_type), type=vector)
    mask = _mask(values)
    return arr if mask is None else _with_nulls(arr, mask)


def _ragged(values: Sequence[np.ndarray | None], vector: pa.DataType, dtype: str) -> pa.Array:
    """Variable-length vectors as `vector` (list<value>)."""
    lengths = np.array([0 if v is None else len(v) for v in values], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    parts = [v for v in values if v is not None]
    flat = np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
    mask = _mask(values)
    return pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(flat, vector.value_type), type=vector, mask=None if mask is None else pa.array(mask)
    )


def _list_of(values: Sequence[np.ndarray | None], item_type: pa.DataType, dtype: Any, dim: int) -> pa.Array:
    """Per-sample (T_i, dim) arrays as list<fixed_size_list<value>[dim]>."""
    lengths = np.array([0 if v is None else len(v) for v in values], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    parts = [np.asarray(v, dtype=dtype).reshape(-1, dim) for v in values if v is not None]
    flat = np.concatenate(parts).reshape(-1) if parts else np.zeros(0, dtype)
    items = pa.FixedSizeListArray.from_arrays(pa.array(flat, item_type.value_type), type=item_type)
    mask = _mask(values)
    return pa.ListArray.from_arrays(pa.array(offsets), items, mask=None if mask is None else pa.array(mask))


def _nest(inner: Sequence[pa.Array | None], item_type: pa.DataType) -> pa.Array:
    lengths = np.array([0 if v is None else len(v) for v in inner], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    parts = [v for v in inner if v is not None]
    flat = pa.concat_arrays(parts) if parts else pa.array([], item_type)
    mask = _mask(inner)
    return pa.ListArray.from_arrays(pa.array(offsets), flat, mask=None if mask is None else pa.array(mask))


def _with_nulls(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    validity = pa.array(~mask).buffers()[1]
    return pa.Array.from_buffers(arr.type, len(arr), [validity], children=[arr.values])
