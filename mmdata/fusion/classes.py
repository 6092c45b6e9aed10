"""Class labels of a fused export: a class name per sample, from `extra`, as an int64 `class_id` column.

`FuseOptions.class_label` names a key of the samples' `extra` that holds a class name (VGGSound's,
Kinetics', a manifest's `class` column):

    extra   {"class": "playing guitar", ...}      a string; an integer is read as its decimal string ("7")
    ids     sorted names -> 0, 1, ...             or the line order of `FuseOptions.classes_file`
    export  class_id int64 (after label and the label_<name> columns); -1 = no class (missing_class='keep')
    fused.json  classes [names, index = id]; class_label {key, column, order, classes_file, missing, counts, ...}

`FuseOptions.class_map` maps the names first, as the corpus writes them, to the class each counts as
(`class_map.py`: a map file, or a built-in map whose classes fix the ids).

Values that are lists of names (or names split at `FuseOptions.class_separator`) make a multi-label export:
a float32 multi-hot `class_targets` column instead (`class_targets.py`).

A classes file is UTF-8 text, one class name per line, as Kinetics' and ImageNet's label files are (a byte
order mark, blank lines and the spaces around a name are ignored; a name twice is refused); or a table whose
header is `index,mid,display_name`, as AudioSet's class_labels_indices.csv is: the display names, id = index; or lines
`<mid><TAB><display name>` (a header line skipped), as AudioSet's strong labels' mid_to_display_name.tsv is: the display
names in line order (`classes_file.py`). Values are
read in one Arrow JSON parse of the `extra` column, or, where Arrow cannot (an integer among the names, an
`extra` that is not an object), a Python parse per row that names a bad sample.

This module holds the class label's choice, the per-row parses of `extra` and the class counts; its helper module
(its names re-exported here):
    mmdata.fusion.classes_file   a classes file read in its three forms (`read_classes_file`)
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion.classes_file import (  # noqa: F401 - also re-exported from here
    CLASS_TABLE_HEADER, MID_NAME_LINE, _class_table_names, _is_class_table, _mid_name_rows, _mid_name_table_names,
    _MidRowError, read_classes_file,
)
from mmdata.options import did_you_mean
from mmdata.store.arrays import single_chunk

if TYPE_CHECKING:
    from mmdata.fusion.class_targets import ClassLists

#: The export's column of class ids.
CLASS_COLUMN = "class_id"
#: The id of a sample without a class (missing_class='keep'), as `datasets`' ClassLabel marks an unlabeled row.
NO_CLASS = -1
#: A sample without a class value: refused, kept unlabeled (-1), or, multi-label only, a row of no class
#: ('empty': in a CSV an empty cell is no value, so a sample of no class cannot be written otherwise).
MissingClassPolicy = Literal["error", "keep", "empty"]
#: Sample ids a refusal names.
EXAMPLES = 3


@dataclass(frozen=True)
class ClassLabels:
    """The chosen class label: its `extra` key, the class names (index = id) and every sample's class(es).

    ids: (n,) int64 in samples-table order, `NO_CLASS` where a sample has none (missing_class='keep'); None
    for a multi-label one, whose `lists` hold each sample's positive classes (`class_targets.ClassLists`).
    """

    key: str
    names: tuple[str, ...]
    ids: np.ndarray | None
    classes_file: str | None
    missing: MissingClassPolicy
    lists: ClassLists | None = None
    #: fused.json's record of the class map the names went through (`ClassMap.to_json`); None without one.
    class_map: dict[str, Any] | None = None

    @property
    def multi_label(self) -> bool:
        return self.lists is not None

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Samples start..stop: (m,) int64 class ids, or multi-label (m, C) float32 multi-hot targets."""
        if self.lists is not None:
            return self.lists.multi_hot(start, stop)
        assert self.ids is not None
        return self.ids[start:stop]

    def to_json(self) -> dict[str, Any]:
        """What fused.json records besides `classes` (the counts are added once the rows are written)."""
        from mmdata.fusion.class_targets import TARGETS_COLUMN

        multi = {"column": TARGETS_COLUMN, "multi_label": True} if self.multi_label else {}
        mapped = {"class_map": self.class_map} if self.class_map is not None else {}
        order = "file" if self.classes_file else "class_map" if self.class_map and self.class_map["builtin"] else "sorted"
        return {"key": self.key, "column": CLASS_COLUMN, "order": order,
                "classes_file": self.classes_file, "missing": self.missing, **multi, **mapped}


def choose_classes(extra: pa.ChunkedArray | pa.Array, sample_ids: pa.ChunkedArray | pa.Array, key: str,
                   classes_file: str | Path | None, missing: MissingClassPolicy, where: str,
                   separator: str | None = None, class_map: str | Path | None = None) -> ClassLabels:
    """Every sample's class id from the class name at `extra[key]`, or, where the values are lists of names
    (or `separator` splits them), every sample's classes (multi-label, `class_targets.py`); the names first
    mapped by `class_map` (a file or a built-in name, `class_map.py`), whose built-in classes give the ids where
    there is no classes file.

    Raises:
        ConfigError: no sample has `key` (the keys `extra` has are listed), a classes file that cannot be
            read, is empty or names a class twice (its line); a class map that cannot be read (`read_class_map`),
            or that leaves no sample a class.
        DatasetError: a sample whose name is not in the classes file (the closest class named), a value that
            is no class name, or samples without one with missing='error' (count, first ids, a hint; those the
            class map made classless said so); a name a built-in class map does not list; in a multi-label corpus
            a bare name among lists, or a blank name in a list.
    """
    values = read_class_names(extra, sample_ids, key, separator)
    if values.null_count == len(values):
        raise ConfigError(f"no sample of dataset {where} has a class name at extra[{key!r}]; keys its samples' extra "
                          f"holds: {extra_keys(extra)}{did_you_mean(key, extra_keys(extra))} (--class-label NAME)")
    mapping, record, classless, original = None, None, "", values
    if class_map is not None:
        from mmdata.fusion.class_map import map_class_names

        values, mapping, record, classless = map_class_names(values, sample_ids, key, class_map, where)
    file_names = read_classes_file(classes_file) if classes_file is not None else \
        mapping.classes if mapping is not None else None
    file = None if classes_file is None else str(classes_file)
    if pa.types.is_list(values.type):
        from mmdata.fusion.class_targets import choose_class_lists

        names, lists = choose_class_lists(values, sample_ids, key, file_names, where,
                                          mapping.describe() if mapping is not None else None)
        if missing == "error" and values.null_count:
            _refuse_missing(values, sample_ids, key, classless)
        if missing == "empty":  # a null list has no item: its multi-hot row is all 0 once it counts as labeled
            lists = replace(lists, labeled=np.ones_like(lists.labeled))
        return ClassLabels(key, tuple(names), None, file, missing, lists, record)
    if missing == "empty":
        raise ConfigError(f"--missing-class empty (missing_class='empty') gives a sample without a value no class, "
                          f"which only a multi-label class label has; extra[{key!r}] holds one class name per sample "
                          f"in dataset {where}: pass --missing-class error or keep, or --class-separator SEP for names "
                          "that list several classes")
    names = file_names if file_names is not None else sorted(pc.unique(values).drop_null().to_pylist())
    ids = pc.index_in(values, value_set=pa.array(names, pa.string()))
    unknown = pc.and_(pc.is_null(ids), pc.is_valid(values))
    if pc.any(unknown).as_py():
        row = pc.index(unknown, True).as_py()
        name, before = values[row].as_py(), original[row].as_py()
        mapped, hint = "", "add it to the file, or fix the sample's class in the corpus and extract it again"
        if mapping is not None:
            mapped, hint = mapping.unknown_name_hint(before, name)
        raise DatasetError(
            f"sample {sample_ids[row].as_py()!r}: class {name!r} (extra[{key!r}]{mapped}) is not in {classes_file} "
            f"({int(pc.sum(unknown).as_py())} such samples){closest_class(name, names)}; {hint}")
    if missing == "error" and values.null_count:
        _refuse_missing(values, sample_ids, key, classless)
    codes = pc.fill_null(ids, NO_CLASS).to_numpy(zero_copy_only=False).astype(np.int64)
    return ClassLabels(key, tuple(names), codes, file, missing, class_map=record)


def names_fingerprint(names: tuple[str, ...] | list[str]) -> str:
    """A sha256 of class names in column order: the same names in the same order, the same columns."""
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()


def read_class_names(extra: pa.ChunkedArray | pa.Array, sample_ids: pa.ChunkedArray | pa.Array, key: str,
                     separator: str | None = None) -> pa.Array:
    """Each sample's class name at `extra[key]` as a string array (null where it has none, or an empty one),
    or, where the values are lists (or `separator` splits each name), a list<string> array of them.

    Raises:
        DatasetError: an `extra` that is not JSON, a value that is not a string, an integer or a list of them,
            or a bare name among lists (without a separator), naming the sample.
    """
    from mmdata.fusion.class_targets import LIST_TYPE, split_names

    names = values_in_one_parse(extra, key, pa.string())
    if names is None:
        names = values_in_one_parse(extra, key, LIST_TYPE)
    if names is None:
        names = _names_row_by_row(extra, sample_ids, key, separator)
    if pa.types.is_list(names.type):
        return names
    empty = pc.equal(pc.utf8_length(names), 0)
    names = pc.if_else(empty, pa.scalar(None, pa.string()), names)
    return split_names(names, separator) if separator is not None else names


def values_in_one_parse(extra: pa.ChunkedArray | pa.Array, key: str,
                        value_type: pa.DataType) -> pa.Array | None:
    """The values at `extra[key]` from one Arrow JSON parse of the rows as newline-delimited JSON, or None where
    Arrow cannot read them all as `value_type` (the caller's row-by-row parse then reads them, or names the bad
    sample: `_names_row_by_row`, `folds`)."""
    import pyarrow.json as pa_json  # here: a fuse without class labels or folds does not load it

    lines = pc.fill_null(single_chunk(extra), "{}")
    if not len(lines):
        return pa.array([], pa.string())
    longest = pc.max(pc.binary_length(lines)).as_py()
    text = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines), "\n")[0]
    try:
        table = pa_json.read_json(pa.BufferReader(text.as_buffer()),
                                  read_options=pa_json.ReadOptions(block_size=max(1 << 20, 2 * longest + 2)),
                                  parse_options=pa_json.ParseOptions(explicit_schema=pa.schema([(key, value_type)]),
                                                                     unexpected_field_behavior="ignore"))
    except pa.ArrowException:
        return None
    if table.num_rows != len(lines):  # a row of several lines (not as the loaders write `extra`)
        return None
    return table.column(key).combine_chunks()


def _names_row_by_row(extra: pa.ChunkedArray | pa.Array, sample_ids: pa.ChunkedArray | pa.Array, key: str,
                      separator: str | None = None) -> pa.Array:
    """The names from a Python JSON parse of each row (the strict path: it names a bad sample): strings, or
    lists of them where any value is a list (a bare name among them refused)."""
    from mmdata.fusion.class_targets import LIST_TYPE, refuse_mixed, row_value

    out: list[str | list[str] | None] = []
    first_list = first_name = None
    for row, parsed in parsed_extra(extra, sample_ids):
        value = row_value(parsed.get(key) if isinstance(parsed, dict) else None, sample_ids[row].as_py(), key, separator)
        if isinstance(value, list) and first_list is None:
            first_list = row
        elif isinstance(value, str) and first_name is None:
            first_name = row
        out.append(value)
    if first_list is None:
        return pa.array(out, pa.string())
    if first_name is not None:
        refuse_mixed(sample_ids[first_list].as_py(), sample_ids[first_name].as_py(), str(out[first_name]), key)
    return pa.array(out, LIST_TYPE)


def parsed_extra(extra: pa.ChunkedArray | pa.Array,
                 sample_ids: pa.ChunkedArray | pa.Array) -> Iterator[tuple[int, Any]]:
    """(row, its `extra` parsed) for every sample, {} where it has none: the strict path of readers of one key.

    Raises:
        DatasetError: an `extra` that is not JSON, naming the sample."""
    for row, text in enumerate(single_chunk(extra).to_pylist()):
        try:
            yield row, json.loads(text) if text is not None else {}
        except ValueError as e:
            raise DatasetError(f"sample {sample_ids[row].as_py()!r}: its `extra` is not JSON ({e}); the samples table "
                               "is damaged: extract the corpus again into a new output directory") from e


def _refuse_missing(values: pa.Array, sample_ids: pa.ChunkedArray | pa.Array, key: str, classless: str = "") -> None:
    """Samples without a class name, with missing='error': one line, their count and the first ids (and
    `classless`: how many of them a class map made so)."""
    rows = np.flatnonzero(pc.is_null(values).to_numpy(zero_copy_only=False))
    first = ", ".join(repr(sample_ids[int(r)].as_py()) for r in rows[:EXAMPLES])
    marked = (f"every class_targets value {NO_CLASS}" if pa.types.is_list(values.type)
              else f"class_id {NO_CLASS}, as `datasets` marks an unlabeled row")
    raise DatasetError(
        f"{len(rows)} of {len(values)} samples have no class name at extra[{key!r}] (first: {first}){classless}; give "
        f"every sample a class in the corpus{', or a class in a map file of your own' if classless else ''}, or pass "
        f"--missing-class keep (missing_class='keep') to export them with {marked}")


def closest_class(name: str, names: list[str]) -> str:
    """"; the closest class is 'x'" for the refusal of an unknown class name ("" when none is close)."""
    import difflib

    close = difflib.get_close_matches(name, names, n=1, cutoff=0.0)
    return f"; the closest class there is {close[0]!r}" if close else ""


def extra_keys(extra: pa.ChunkedArray | pa.Array, rows: int = 100) -> list[str]:
    """The keys of the first `rows` samples' `extra` objects, for the hint of a key no sample has."""
    keys: dict[str, None] = {}
    for text in single_chunk(extra).slice(0, rows).to_pylist():
        try:
            parsed = json.loads(text) if text else {}
        except ValueError:
            continue
        keys.update(dict.fromkeys(parsed if isinstance(parsed, dict) else ()))
    return sorted(keys)


def count_classes(counts: dict[str, np.ndarray], split: str, ids: np.ndarray, classes: int) -> None:
    """Add the class ids of rows of `split` to `counts[split]`: (classes + 1,) counts, the last one of `NO_CLASS`
    (multi-label (n, C) targets: positives per class, `class_targets.count_targets`)."""
    if ids.ndim == 2:
        from mmdata.fusion.class_targets import count_targets

        return count_targets(counts, split, ids)
    found = np.bincount(np.where(ids < 0, classes, ids), minlength=classes + 1)
    counts[split] = counts[split] + found if split in counts else found


def class_report(counts: dict[str, np.ndarray], names: tuple[str, ...],
                 train_splits: tuple[str, ...]) -> tuple[dict[str, Any], str | None]:
    """(what fused.json's `class_label` adds: per-split counts, unlabeled rows and the classes of a split that
    no train split holds; the one-line warning about those, or None).

    counts: split -> (classes + 1,) row counts per id, the last of `NO_CLASS` (`count_classes`).
    """
    per_split = {split: [int(v) for v in c[:-1]] for split, c in sorted(counts.items())}
    unlabeled = {split: int(c[-1]) for split, c in sorted(counts.items()) if c[-1]}
    trained = [split for split in train_splits if split in counts]
    unseen: dict[str, list[str]] = {}
    if trained:
        in_train = np.any([counts[s][:-1] > 0 for s in trained], axis=0)
        for split, c in sorted(counts.items()):
            if split not in trained:
                missing = [names[i] for i in np.flatnonzero((c[:-1] > 0) & ~in_train)]
                if missing:
                    unseen[split] = missing
    report = {"counts": per_split, "unlabeled": unlabeled, "train_splits": trained, "unseen_in_train": unseen}
    return report, _unseen_warning(unseen, trained)


def _unseen_warning(unseen: dict[str, list[str]], trained: list[str]) -> str | None:
    """One line naming the classes of other splits that the train split(s) lack."""
    if not unseen:
        return None
    every = list(dict.fromkeys(name for names in unseen.values() for name in names))
    shown = ", ".join(repr(n) for n in every[:5]) + (f" and {len(every) - 5} more" if len(every) > 5 else "")
    where = ", ".join(f"{split!r} ({len(names)})" for split, names in unseen.items())
    return (f"{len(every)} class(es) of split(s) {where} have no row in the train split(s) {', '.join(map(repr, trained))}: "
            f"{shown}; a classifier trained there cannot predict them")


def export_classes(metadata: dict[str, Any], where: Path) -> tuple[str, ...]:
    """The class names (index = id) of an export's fused.json; () when it has no class_id column.

    Raises:
        DatasetError: a `classes` field that is not a list of distinct strings.
    """
    classes = metadata.get("classes")
    if classes is None:
        return ()
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) or len(set(classes)) < len(classes):
        raise DatasetError(f"{where}: field 'classes' is {str(classes)[:80]}, expected a list of distinct class names; "
                           "the file is damaged or was edited: re-create the export with `mmdata fuse --force`")
    return tuple(classes)


def export_class_column(metadata: dict[str, Any]) -> str:
    """The export's class column: `class_targets` for a multi-label one, else `class_id`."""
    from mmdata.fusion.class_targets import TARGETS_COLUMN

    label = metadata.get("class_label")
    return TARGETS_COLUMN if isinstance(label, dict) and label.get("multi_label") else CLASS_COLUMN


def split_class_ids(export_dir: Path, split: str, fmt: str, column: str = CLASS_COLUMN, classes: int = 0,
                    parquet_files: list[Path] | None = None) -> np.ndarray:
    """(N,) int64 class ids of one split of an export, rows in export order; (N, classes) float32 targets
    when `column` is the multi-label `class_targets`. A Parquet export's files are the split's in its
    fused.json (`parquet_files`); only the column is read from them.

    Raises:
        DatasetError: a file that cannot be read or lacks the column (the export is damaged).
    """
    from mmdata.fusion.export_files import REFUSE_HINT, read_export_file, split_files
    from mmdata.fusion.formats import NPY_INDEX_PARQUET  # formats imports this module

    columns = None
    if fmt == "parquet":
        files, columns = list(parquet_files or []), [column]
    elif fmt == "npy":
        files, fmt = [export_dir / split / NPY_INDEX_PARQUET], "parquet"
    else:
        files = split_files(export_dir, split, fmt)
    tables = [read_export_file(path, fmt, columns) for path in files]  # memory-mapped (npy: the small index)
    if not tables or any(column not in t.column_names for t in tables):
        raise DatasetError(f"{export_dir / split}: the export's fused.json lists classes, its files have no "
                           f"{column!r} column: {REFUSE_HINT}")
    if column != CLASS_COLUMN:
        from mmdata.fusion.class_targets import targets_values

        return np.concatenate([targets_values(t.column(column), classes) for t in tables])
    return np.concatenate([t.column(CLASS_COLUMN).to_numpy() for t in tables]).astype(np.int64, copy=False)
