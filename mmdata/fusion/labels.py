"""Auxiliary labels of a fused export: which ones (`FuseOptions.labels`), their columns, their values.

Loaders name the per-sample labels they keep in `extra` beyond `label` in the manifest
(`csd_labels.auxiliary_labels`):

    extra.loader.label_names   ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]
    extra.loader.label_fields  {"happy": ["labels", 1], ...}     or, CH-SIMS: {"label_T": ["label_T"], ...}

Each chosen label becomes a float64 column named `label_<name>` (`label_happy`), or the name itself
when it already starts with `label_` (`label_T`, `label_0`); a sample without the value (a missing
key, a null, NaN) holds null there, as `label` does for a sample without a label. Values come from
the samples table's `extra` JSON, parsed once by the plan and only when labels are asked for:

    values   (n, k) float64, rows in samples-table order, columns in the order of the names, NaN = none
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.errors import ConfigError, DatasetError
from mmdata.store.arrays import single_chunk
from mmdata.store.layout import MERGED_KIND

if TYPE_CHECKING:
    from mmdata.store.manifest import Manifest

#: The value of `FuseOptions.labels` (and `--labels`) that asks for every label the loader named.
ALL_LABELS = "all"
#: Prefix of every auxiliary label column: `label_happy` sits beside `label`.
COLUMN_PREFIX = "label_"
#: Fused columns besides the labels (`RowLayout.schema`); a label column may take none of these names.
RESERVED_COLUMNS = ("sample_id", "split", "label", "feature", "present", "length", "mask")


@dataclass(frozen=True)
class AuxLabels:
    """The chosen labels: their names (as the loader recorded them), columns and places in `extra`."""

    names: tuple[str, ...]
    columns: tuple[str, ...]
    fields: tuple[tuple[str | int, ...], ...]

    def to_json(self) -> dict[str, list[str]]:
        return {"names": list(self.names), "columns": list(self.columns)}


def label_column(name: str) -> str:
    """The export's column of label `name`: `label_<name>`, or `name` when it starts with `label_`."""
    return name if name.startswith(COLUMN_PREFIX) else f"{COLUMN_PREFIX}{name}"


def choose_labels(manifest: Manifest, requested: str | tuple[str, ...] | None, where: str) -> AuxLabels | None:
    """The labels `requested` ('all', or names or their column names) among those the dataset's
    loader named; None when none are requested.

    Raises:
        ConfigError: one line naming an unknown label and listing the dataset's, or a dataset whose
            loader named none, or two labels that would share a column.
        DatasetError: a manifest that names a label but not where it lies in `extra`.
    """
    if requested is None:
        return None
    from mmdata.corpora.csd_labels import LABEL_FIELDS_KEY, LABEL_NAMES_KEY

    loader = manifest.extra.get("loader") or {}
    known = [str(n) for n in loader.get(LABEL_NAMES_KEY) or []]
    fields = loader.get(LABEL_FIELDS_KEY) or {}
    if not known and manifest.corpus.get("kind") == MERGED_KIND:
        raise ConfigError(f"dataset {where} names no auxiliary labels: the datasets merged into it record other label "
                          "names (or none), and a merge keeps only those every dataset records alike; fuse without "
                          "--labels, or merge datasets of corpora with one label set")
    if not known:
        raise ConfigError(
            f"dataset {where} names no auxiliary labels (its manifest's extra.loader.{LABEL_NAMES_KEY} is empty: the "
            f"corpus kind {manifest.corpus.get('kind')!r} keeps none, or the dataset was extracted before they were "
            "recorded); fuse without --labels, or extract the corpus again into a new output directory (a rerun into this one keeps its samples table and manifest)")
    names = known if requested == ALL_LABELS else [_known_name(item, known, where) for item in requested]
    chosen = list(dict.fromkeys(names))
    missing = [n for n in chosen if not isinstance(fields.get(n), list) or not fields[n]]
    if missing:
        raise DatasetError(f"dataset {where}: label {missing[0]!r} has no place in `extra` recorded (manifest "
                           f"extra.loader.{LABEL_FIELDS_KEY}); the manifest is damaged: extract the corpus again into a new output directory (a rerun into this one keeps its samples table and manifest)")
    columns = [label_column(n) for n in chosen]
    _refuse_collisions(chosen, columns)
    return AuxLabels(tuple(chosen), tuple(columns), tuple(tuple(fields[n]) for n in chosen))


def _known_name(item: str, known: list[str], where: str) -> str:
    """A requested name, or column name, as the loader recorded it."""
    if item in known:
        return item
    by_column = {label_column(n): n for n in known}
    if item in by_column:
        return by_column[item]
    raise ConfigError(f"unknown label {item!r}; dataset {where} has the labels {known} "
                      f"(--labels NAME[,NAME...] or --labels {ALL_LABELS})")


def _refuse_collisions(names: list[str], columns: list[str]) -> None:
    """Two labels in one column, or a label column named like a column every export has, are refused."""
    for name, column in zip(names, columns):
        if column in RESERVED_COLUMNS:
            raise ConfigError(f"label {name!r} would become column {column!r}, which the export already has; "
                              "leave it out of --labels")
        twice = [n for n, c in zip(names, columns) if c == column]
        if len(twice) > 1:
            raise ConfigError(f"labels {twice} would both become column {column!r}; choose one of them")


def read_label_values(extra: pa.ChunkedArray | pa.Array, sample_ids: pa.ChunkedArray | pa.Array,
                      labels: AuxLabels) -> np.ndarray:
    """(n, k) float64 values of the chosen labels from each row's `extra` JSON; NaN where a row lacks one.

    Runs only when labels are requested, once, in the plan: one Arrow parse of the whole column,
    reading only the labels' fields (100k MOSEI-like rows with their words, on 2 cores: 0.45 s,
    against 2.2-2.5 s for a Python parse per row), or, where Arrow cannot (a value that is no number, an `extra` that
    is not an object, a field of another shape), the Python parse, which says which sample is wrong.

    Raises:
        DatasetError: an `extra` that is not JSON, a label that is not a number, or one that is
            infinite (a training loss would turn it into NaN everywhere), naming the sample.
    """
    values = _values_in_one_parse(extra, labels)
    values = values if values is not None else _values_row_by_row(extra, sample_ids, labels)
    infinite = np.isinf(values)
    if infinite.any():
        row, column = (int(i[0]) for i in np.nonzero(infinite))
        raise DatasetError(
            f"sample {sample_ids[row].as_py()!r}: label {labels.names[column]!r} is {values[row, column]:g}, "
            f"expected a finite number ({int(infinite.sum())} such values; `mmdata check` names them); fix the "
            "corpus and extract it again into a new output directory, or leave that label out of --labels")
    return values


def _values_in_one_parse(extra: pa.ChunkedArray | pa.Array, labels: AuxLabels) -> np.ndarray | None:
    """The values from one Arrow JSON parse of the rows as newline-delimited JSON; None when Arrow
    cannot read them as the fields say (`_values_row_by_row` then reads them, or names the bad one)."""
    import pyarrow.json as pa_json  # here: a fuse without labels does not load it

    schema = _fields_schema(labels.fields)
    lines = pc.fill_null(single_chunk(extra), "{}")
    if schema is None or not len(lines):
        return None
    longest = pc.max(pc.binary_length(lines)).as_py()
    text = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines), "\n")[0]
    try:
        table = pa_json.read_json(pa.BufferReader(text.as_buffer()),
                                  read_options=pa_json.ReadOptions(block_size=max(1 << 20, 2 * longest + 2)),
                                  parse_options=pa_json.ParseOptions(explicit_schema=schema,
                                                                     unexpected_field_behavior="ignore"))
    except pa.ArrowException:
        return None
    if table.num_rows != len(lines):  # a row of several lines (not as the loaders write `extra`)
        return None
    columns = [_list_item(table.column(f[0]).combine_chunks(), f[1]) if len(f) == 2 else
               table.column(f[0]).to_numpy() for f in labels.fields]
    return np.stack(columns, axis=1).astype(np.float64, copy=False)


def _fields_schema(fields: tuple[tuple[str | int, ...], ...]) -> pa.Schema | None:
    """The Arrow schema of the fields' top-level keys: a number (`["label_T"]`) or a list of numbers
    (`["labels", 1]`); None for fields of other shapes, or one key read both ways."""
    types: dict[str, pa.DataType] = {}
    for field in fields:
        if not isinstance(field[0], str) or len(field) > 2 or (len(field) == 2 and not isinstance(field[1], int)):
            return None
        wanted = pa.list_(pa.float64()) if len(field) == 2 else pa.float64()
        if types.setdefault(field[0], wanted) != wanted:
            return None
    return pa.schema(list(types.items()))


def _list_item(lists: pa.ListArray, position: int) -> np.ndarray:
    """Item `position` (negative: from the end) of each list as float64; NaN where a list is null or shorter."""
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy()
    starts = lists.offsets.to_numpy()[:-1]
    at = position if position >= 0 else lengths + position
    has = (at >= 0) & (at < lengths)
    out = np.full(len(lists), np.nan)
    out[has] = lists.values.to_numpy(zero_copy_only=False)[(starts + at)[has]]
    return out


def _values_row_by_row(extra: pa.ChunkedArray | pa.Array, sample_ids: pa.ChunkedArray | pa.Array,
                       labels: AuxLabels) -> np.ndarray:
    """The values from a Python JSON parse of each row (the strict path: it names a bad sample)."""
    rows = []
    for row, text in enumerate(extra.to_pylist()):
        try:
            parsed = json.loads(text) if text is not None else None
            rows.append([_number_at(parsed, field, name) for name, field in zip(labels.names, labels.fields)])
        except (ValueError, TypeError) as e:
            raise DatasetError(f"sample {sample_ids[row].as_py()!r}: {_reason(e)}; the samples table is damaged "
                               "or the corpus holds it: fix the corpus and extract it again into a new output "
                               "directory, or leave that label out of --labels") from e
    return np.array(rows, np.float64).reshape(len(rows), len(labels.fields))


def _number_at(extra: Any, field: Sequence[str | int], name: str) -> float:
    """The number at `field` (keys and list positions) in a parsed `extra`; NaN where the path ends early.

    Raises:
        TypeError: the value there is not a number (its field in the message).
    """
    from mmdata.corpora.csd_labels import value_at

    value = value_at(extra, field)
    if value is None:
        return np.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"label {name!r} (extra{''.join(f'[{step!r}]' for step in field)}) is {value!r}, "
                        "expected a number")
    return float(value)


def _reason(error: Exception) -> str:
    """What was wrong with a row's `extra`, for the error naming its sample."""
    if isinstance(error, TypeError):
        return str(error)
    return f"its `extra` is not JSON ({error})"
