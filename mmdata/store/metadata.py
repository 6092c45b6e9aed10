"""Feature specs and the provenance every table carries in its schema metadata.

All of it lives under one key, `b"mmdata"`, as JSON (the way HF `datasets` keeps its feature spec
under `b"huggingface"`), so plain pyarrow/pandas readers are unaffected.
"""
from __future__ import annotations

import json
import math
import numbers
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pyarrow as pa

from mmdata.errors import ConfigError

METADATA_KEY = b"mmdata"
#: How a table's `versions` names the fingerprint of the model files it was made with: "model:<repo id or
#: directory name>" -> the first 16 hex digits of their sha256, one value for every table of one checkpoint.
MODEL_VERSION_PREFIX = "model:"


def model_version_fingerprints(versions: dict[str, str]) -> dict[str, str]:
    """Model name -> fingerprint of each "model:<name>" entry of a table's `versions`."""
    return {key.removeprefix(MODEL_VERSION_PREFIX): value for key, value in versions.items()
            if key.startswith(MODEL_VERSION_PREFIX) and value}
FeatureKind = Literal["pooled", "sequence"]
FeatureDtype = Literal["float32", "float16", "float64", "int32", "int64"]
FEATURE_KINDS: tuple[str, ...] = get_args(FeatureKind)
FEATURE_DTYPES: tuple[str, ...] = get_args(FeatureDtype)


@dataclass(frozen=True)
class FeatureSpec:
    """What an extractor writes for each sample.

    kind='pooled': one vector per sample. kind='sequence': a list of vectors per sample (frames
    of audio/video, words, or one per caption); `intervals=True` adds per-item (start, end)
    seconds. `dim=None` means variable-length vectors (e.g. token ids).

    `frame_window` (sequences at a frame rate, optional): the seconds of signal a frame's analysis
    needs inside the segment when frames whose window does not fit are dropped (Kaldi's snip_edges,
    openSMILE), so that a segment of d seconds gives `1 + (d - frame_window) x frame_rate` frames,
    not `d x frame_rate`; 0 for frames centred on padded edges. None (the default, and every spec
    written before the field existed): not recorded, `mmdata check` expects `d x frame_rate`. It is
    left out of the JSON when None, so other specs read and compare as before.

    Raises:
        ConfigError: a field holds what no table can be written with: dim not None or an int >= 1,
            dtype or kind not one of `FEATURE_DTYPES` / `FEATURE_KINDS`, intervals or frame_rate on a
            pooled spec (one vector per sample has no frames), frame_rate not a positive number,
            frame_window not None or a number >= 0 or given without a frame_rate.
    """

    dim: int | None
    dtype: FeatureDtype = "float32"
    kind: FeatureKind = "pooled"
    intervals: bool = False
    frame_rate: float | None = None
    item_axis: str | None = None  # what a sequence runs over: "time", "word", "caption", ...
    frame_window: float | None = None  # seconds a frame needs inside the segment (edge frames dropped)

    def __post_init__(self) -> None:
        # Checked here, before an extractor computes anything: a dim of 0 killed the process in the
        # writer (SIGFPE in pyarrow), kind="pool" failed every item only after computing it.
        object.__setattr__(self, "dim", _checked_dim(self.dim))
        object.__setattr__(self, "dtype", _checked_dtype(self.dtype))
        _check_kind(self.kind)
        _check_sequence_fields(self)
        self._check_frame_window()

    def _check_frame_window(self) -> None:
        """frame_window is None, or seconds >= 0 of a sequence at a frame rate (it corrects its frame count)."""
        window = self.frame_window
        if window is None:
            return
        if not (isinstance(window, numbers.Real) and not isinstance(window, bool) and math.isfinite(window)
                and window >= 0):
            raise ConfigError(f"FeatureSpec field 'frame_window' is {window!r}; expected None or the seconds (>= 0) "
                              "of signal one frame needs inside the segment, e.g. 0.025 for Kaldi's 25 ms windows "
                              "with snip_edges")
        if self.frame_rate is None:
            raise ConfigError(f"FeatureSpec field 'frame_window' is {window!r} without a frame_rate; it corrects the "
                              "frame count of a sequence at a frame rate: set frame_rate too, or leave it None")
        object.__setattr__(self, "frame_window", float(window))

    @property
    def arrow_value_type(self) -> pa.DataType:
        return pa.from_numpy_dtype(self.dtype)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["frame_window"] is None:  # as specs were written before the field: unchanged JSON
            del data["frame_window"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSpec:
        """The spec a manifest or a table's metadata recorded. Specs that earlier versions wrote
        without checking them still load where their rows are readable: a numpy dtype alias
        (`float` wrote float64 values) as its name, intervals and frame_rate of a pooled table (it
        holds neither) dropped."""
        return cls(**_legacy_fields_read(data))


def _checked_dim(dim: Any) -> int | None:
    if dim is None:
        return None
    if isinstance(dim, numbers.Integral) and not isinstance(dim, bool) and dim >= 1:
        return int(dim)  # a numpy integer as a plain int, so the spec writes as JSON
    raise ConfigError(f"FeatureSpec field 'dim' is {dim!r} ({type(dim).__name__}); expected None (vectors of "
                      "varying length) or an int >= 1 (the length of every vector), e.g. FeatureSpec(dim=512)")


def _checked_dtype(dtype: Any) -> str:
    if isinstance(dtype, str):
        if dtype in FEATURE_DTYPES:
            return dtype
    else:  # np.float32 or np.dtype("float32") name one dtype unambiguously; a string alias ('float') does not
        name = _numpy_dtype_name(dtype)
        if name in FEATURE_DTYPES:
            return name
    alias = _numpy_dtype_name(dtype) if isinstance(dtype, str) else None
    hint = (f"; {dtype!r} is numpy's alias of {alias}: write {alias!r} if that is meant (model outputs are most "
            "often 'float32')" if alias in FEATURE_DTYPES else "")
    raise ConfigError(f"FeatureSpec field 'dtype' is {dtype!r}; expected one of {list(FEATURE_DTYPES)}{hint}")


def _numpy_dtype_name(dtype: Any) -> str | None:
    try:
        return np.dtype(dtype).name
    except (TypeError, ValueError):
        return None


def _check_kind(kind: Any) -> None:
    if kind not in FEATURE_KINDS:
        raise ConfigError(f"FeatureSpec field 'kind' is {kind!r}; expected one of {list(FEATURE_KINDS)} "
                          "('pooled': one vector per sample, 'sequence': a list of vectors per sample)")


def _check_sequence_fields(spec: FeatureSpec) -> None:
    """intervals and frame_rate describe the items of a sequence; a pooled spec has none."""
    if not isinstance(spec.intervals, bool):
        raise ConfigError(f"FeatureSpec field 'intervals' is {spec.intervals!r}; expected True or False")
    rate = spec.frame_rate
    if rate is not None and not (isinstance(rate, numbers.Real) and not isinstance(rate, bool) and math.isfinite(rate)
                                 and rate > 0):
        raise ConfigError(f"FeatureSpec field 'frame_rate' is {rate!r}; expected None or a positive "
                          "number of items per second (Hz)")
    if spec.kind == "pooled":
        for field, value, default in (("intervals", spec.intervals, False), ("frame_rate", spec.frame_rate, None)):
            if value != default:
                raise ConfigError(f"FeatureSpec field {field!r} is {value!r} on a pooled spec (one vector per sample); "
                                  f"{field} describes the items of a sequence: leave it {default}, or use "
                                  "kind='sequence' (a list of vectors per sample)")
    if spec.item_axis is not None and not isinstance(spec.item_axis, str):
        raise ConfigError(f"FeatureSpec field 'item_axis' is {spec.item_axis!r}; expected None or a name such as 'time'")


def _legacy_fields_read(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with what earlier versions let through, and that still describes readable rows, in the
    form `FeatureSpec` checks."""
    fields = dict(data)
    dtype = fields.get("dtype", "float32")
    if isinstance(dtype, str) and dtype not in FEATURE_DTYPES and _numpy_dtype_name(dtype) in FEATURE_DTYPES:
        fields["dtype"] = _numpy_dtype_name(dtype)
    if fields.get("kind", "pooled") == "pooled":
        fields["intervals"], fields["frame_rate"] = False, None
    return fields


INTERVAL_TYPE = pa.list_(pa.float64(), 2)


def shown_dim(dim: int | None) -> str:
    """A table's dim as tables on screen show it: `variable` for rows of varying length (token ids)."""
    return "variable" if dim is None else str(dim)


def shown_kind(kind: str, frame_rate: float | None) -> str:
    """A table's kind as tables on screen show it: a sequence's frame rate with it (`sequence @100 Hz`)."""
    return kind + (f" @{frame_rate:g} Hz" if frame_rate else "")


def vector_type(spec: FeatureSpec, *, nullable_values: bool = False) -> pa.DataType:
    """The Arrow type of one vector: fixed-size when the dim is known.

    Its values are declared non-null (a vector is null as a whole, never value by value): Parquet
    then stores no definition level per value, and decoding a shard of 1,000 x 512 floats takes
    1.1 ms instead of 1.85 (no validity bitmap to build for every value). Tables written before
    declared them nullable (`nullable_values=True`); readers accept both."""
    return required_list(spec.arrow_value_type, spec.dim, nullable_items=nullable_values)


def required_list(item: pa.DataType, size: int | None = None, *, nullable_items: bool = False) -> pa.DataType:
    """list<item> (fixed_size_list when `size` is given) whose items are declared non-null."""
    field = pa.field("item", item, nullable=nullable_items)
    return pa.list_(field) if size is None else pa.list_(field, size)


def feature_type(spec: FeatureSpec, *, nullable_values: bool = False) -> pa.DataType:
    """The Arrow type of the `feature` column for a spec."""
    vector = vector_type(spec, nullable_values=nullable_values)
    return vector if spec.kind == "pooled" else pa.list_(vector)


def feature_types(spec: FeatureSpec) -> tuple[pa.DataType, ...]:
    """The `feature` types a shard of this spec may have: this version's, and the one with nullable
    values that earlier versions wrote."""
    return feature_type(spec), feature_type(spec, nullable_values=True)


def feature_schema(spec: FeatureSpec, metadata: dict[str, Any] | None = None) -> pa.Schema:
    fields = [pa.field("sample_id", pa.string(), nullable=False), pa.field("feature", feature_type(spec))]
    if spec.kind == "sequence" and spec.intervals:
        fields.append(pa.field("intervals", pa.list_(INTERVAL_TYPE)))
    schema = pa.schema(fields)
    return with_metadata(schema, metadata) if metadata else schema


#: Shard metadata and manifest `extra` key: the non-finite values a table read from corpus files kept (per shard;
#: per table in the manifest).
NONFINITE_VALUES_KEY = "nonfinite_values"


def with_metadata(schema: pa.Schema, metadata: dict[str, Any]) -> pa.Schema:
    return schema.with_metadata({METADATA_KEY: json.dumps(metadata, sort_keys=True).encode()})


def decode_metadata(schema: pa.Schema) -> dict[str, Any]:
    raw = (schema.metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def read_table_metadata(path: str | Path) -> dict[str, Any]:
    """The mmdata metadata of a shard (or of a table directory's first shard)."""
    from mmdata.store.layout import shard_files
    from mmdata.store.shards import shard_schema

    path = Path(path)
    if path.is_dir():
        shards = shard_files(path)
        if not shards:
            return {}
        path = shards[0]
    return decode_metadata(shard_schema(path))
