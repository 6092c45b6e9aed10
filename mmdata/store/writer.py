"""Writing tables: atomic shard files and batch builders that cast to a fixed schema."""
from __future__ import annotations

import base64
import contextlib
import glob
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mmdata.errors import DatasetError, SchemaMismatchError
from mmdata.store.files import missing_folders, temporary_beside
from mmdata.store import layout
from mmdata.store.layout import shard_format
from mmdata.store.metadata import INTERVAL_TYPE, FeatureSpec, feature_schema, vector_type

ERRORS_SCHEMA = pa.schema(
    [
        pa.field("table", pa.string()),
        pa.field("sample_id", pa.string()),
        pa.field("path", pa.string()),
        pa.field("stage", pa.string()),
        pa.field("error_type", pa.string()),
        pa.field("reason", pa.string()),
    ]
)


def write_table_atomic(table: pa.Table, path: Path, *, compression: str | None = None) -> int:
    """Write a shard so that readers see either nothing or the whole file; returns its size in bytes.

    The format follows the suffix (`layout.TABLE_FORMATS`): `.parquet` with `compression`
    (default `default_compression(table.schema)`), `.arrow` an uncompressed Arrow IPC file (one
    record batch: memory-mappable, zero-copy). The data goes to a hidden temporary file in the same
    directory (readers skip names starting with '.'), is fsynced, then renamed over `path`.
    """
    tmp = temporary_beside(path)
    try:
        if shard_format(path) == "arrow":
            write_ipc(table.combine_chunks(), tmp)  # one record batch, whatever chunks the table came in
        else:
            pq.write_table(table, tmp, **parquet_options(table.schema, compression))
        publish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path.stat().st_size


class ParquetShardWriter:
    """A Parquet shard written row group by row group into a hidden temporary file beside `path`
    (`write_table_atomic`'s codec, encodings and statistics), renamed over `path` when the block
    ends; when it raises, the temporary file goes. For shards too big to build whole.

    `set_metadata(schema)` gives the shard the schema metadata of `schema` (counts known only once
    every row is written): the file then reads back as if written with it from the start.
    """

    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.schema = path, schema
        self.tmp = temporary_beside(path)
        self._writer = pq.ParquetWriter(self.tmp, schema, **parquet_options(schema))

    def __enter__(self) -> ParquetShardWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: Any) -> None:
        try:
            self._writer.close()
            if kind is None:
                publish(self.tmp, self.path)
        finally:
            self.tmp.unlink(missing_ok=True)  # gone already once published

    def write(self, table: pa.Table) -> None:
        """Append `table`'s rows as one row group."""
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))

    def set_metadata(self, schema: pa.Schema) -> None:
        # Readers take a Parquet file's Arrow schema, metadata included, from its `ARROW:schema`
        # key (pyarrow's `store_schema`), which the writer serialized when it opened: replaced here.
        metadata = {**(schema.metadata or {}), b"ARROW:schema": base64.b64encode(schema.serialize().to_pybytes())}
        self._writer.add_key_value_metadata(metadata)
        self.schema = schema


def publish(tmp: Path, path: Path) -> None:
    """fsync the finished temporary file and rename it over `path` (readers see all of it or nothing)."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def staged_dir(output_dir: Path) -> Iterator[Path]:
    """A hidden temporary directory beside `output_dir` to write a whole output into.

    When the block ends it is moved onto `output_dir` (an existing one only goes once the new one
    is in place: readers see the old or the new, never half of either; a process killed between
    the two renames leaves the old one aside, and the next write of `output_dir` moves it back
    first); when the block raises it is removed, with the parent folders made for it, so a failure
    leaves nothing behind."""
    tmp = output_dir.parent / f".{output_dir.name}.tmp-{os.getpid()}"  # the name `staging_folders` finds
    _restore_interrupted_publish(output_dir)  # first: a killed writer may have had this process's pid
    shutil.rmtree(tmp, ignore_errors=True)
    _remove_abandoned(output_dir)
    created = missing_folders(output_dir.parent)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        _publish_dir(tmp, output_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:
            with contextlib.suppress(OSError):  # not empty: something else was put there meanwhile
                folder.rmdir()
        raise


def staging_folders(output_dir: Path) -> list[Path]:
    """The hidden folders `staged_dir` is writing `output_dir` in now, or a killed write left behind."""
    return sorted(output_dir.parent.glob(f"{_hidden_pattern(output_dir)}.tmp-*"))


def _restore_interrupted_publish(output_dir: Path) -> None:
    """Move back the earlier output that a write killed between the two renames of `_publish_dir` set
    aside: it left no `output_dir`, only `.<name>.old-<pid>` (the earlier output, whole) beside the new
    one's `.<name>.tmp-<pid>` (an `.old-<pid>` without it was being removed, after the new output was in
    place). Without this, `_remove_abandoned` would remove both, and a crash at that step would lose
    the old output as well as the new."""
    if output_dir.exists() or not output_dir.parent.is_dir():
        return
    for old in sorted(output_dir.parent.glob(f"{_hidden_pattern(output_dir)}.old-*")):
        pid = old.name.rsplit("-", 1)[-1]
        if _abandoned(old) and (output_dir.parent / f".{output_dir.name}.tmp-{pid}").is_dir():
            os.replace(old, output_dir)
            return


def _remove_abandoned(output_dir: Path) -> None:
    """Remove the temporary folders of earlier writes of `output_dir` whose process is gone (killed,
    so its own clean-up never ran): `.<name>.tmp-<pid>` and `.<name>.old-<pid>`."""
    if not output_dir.parent.is_dir():
        return
    for kind in ("tmp", "old"):
        for folder in output_dir.parent.glob(f"{_hidden_pattern(output_dir)}.{kind}-*"):
            if _abandoned(folder):
                shutil.rmtree(folder, ignore_errors=True)


def _hidden_pattern(output_dir: Path) -> str:
    """`.<name>` as a glob pattern matching that name only (`out[1]` holds a character class)."""
    return glob.escape(f".{output_dir.name}")


def _abandoned(folder: Path) -> bool:
    """A `.<name>.tmp-<pid>` or `.<name>.old-<pid>` folder whose writing process is gone. One named
    with this process's pid is abandoned too (a killed writer's pid, reused): it is only asked before
    this process writes there."""
    pid = folder.name.rsplit("-", 1)[-1]
    return folder.is_dir() and pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def check_replaceable(output_dir: Path, inputs: Sequence[Path], *, force: bool, marker: str, what: str) -> None:
    """Refuse an output directory that would destroy input: one that is an input or holds one; one
    inside an input's own tables (`samples/`, `features/`, `errors/`: its files would sit among the
    dataset's); and, with `force`, an existing directory that is not an earlier output (it lacks
    `marker`). Without `force` an existing directory is refused. A new folder elsewhere inside an
    input is fine (`DATASET/fused`).

    Raises:
        DatasetError: naming the directory and why.
    """
    out = output_dir.resolve()
    for source in (Path(p).resolve() for p in inputs):
        if out == source or source.is_relative_to(out):
            where = "is" if out == source else "holds"
            raise DatasetError(f"output directory {output_dir} {where} the input {source}; {what} writes a new "
                               "directory beside it: choose another path")
        reserved = next((d for d in (layout.SAMPLES_DIR, layout.FEATURES_DIR, layout.ERRORS_DIR)
                         if out.is_relative_to(source / d)), None)
        if reserved is not None:
            raise DatasetError(f"output directory {output_dir} lies inside the {reserved}/ folder of the input {source}, "
                               f"among its tables; choose a path outside it (e.g. {source / 'fused'} or beside the dataset)")
    if not output_dir.exists():
        return
    if not output_dir.is_dir():
        raise DatasetError(f"output {output_dir} is a file; expected a directory: choose another path")
    if not force:
        raise DatasetError(f"output directory {output_dir} already exists; choose another or pass --force")
    if not (output_dir / marker).is_file() and any(output_dir.iterdir()):
        raise DatasetError(f"output directory {output_dir} exists and is not an earlier {what} output (no {marker}); "
                           "--force replaces those only: choose another path, or remove it yourself")


def _publish_dir(tmp: Path, output_dir: Path) -> None:
    if output_dir.exists():
        old = output_dir.parent / f".{output_dir.name}.old-{os.getpid()}"
        os.replace(output_dir, old)
        os.replace(tmp, output_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, output_dir)


def write_ipc(table: pa.Table, path: str | Path) -> None:
    """An uncompressed Arrow IPC file holding `table` as one record batch per chunk (memory-mappable)."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(table.num_rows, 1))


def parquet_options(schema: pa.Schema, compression: str | None = None) -> dict[str, Any]:
    """How the store writes a Parquet shard of `schema`: codec, dictionary columns, statistics."""
    return dict(compression=compression or default_compression(schema), use_dictionary=_dictionary_columns(schema),
                write_statistics=_statistics_columns(schema))


def default_compression(schema: pa.Schema) -> str:
    """snappy for tables holding float vectors, zstd otherwise.

    Embeddings and spectra barely compress (zstd saves ~8% on float32 vectors) while zstd makes
    reading them 4-5x slower; snappy is Parquet's default codec, so every reader has it.
    """
    return "snappy" if any(_holds_floats(f.type) for f in schema) else "zstd"


def _holds_floats(arrow_type: pa.DataType) -> bool:
    """A (nested) list of floats: a vector column, not a scalar like `label`."""
    nested = False
    while pa.types.is_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type) or pa.types.is_large_list(arrow_type):
        arrow_type, nested = arrow_type.value_type, True
    return nested and pa.types.is_floating(arrow_type)


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Dictionary-encode only string columns: on float vectors it costs 2x the write time and 5x the
    read time for nothing (every value is distinct)."""
    return [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]


def _statistics_columns(schema: pa.Schema) -> list[str]:
    """Column statistics (min/max per row group) for every column but float vectors: readers use
    them to skip row groups by id, split or label; over a vector's values they filter nothing, and
    computing them is ~20% of writing a log-mel table."""
    return [f.name for f in schema if not _holds_floats(f.type)]


def errors_table(records: Sequence[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist([{k: r.get(k) for k in ERRORS_SCHEMA.names} for r in records], schema=ERRORS_SCHEMA)


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
