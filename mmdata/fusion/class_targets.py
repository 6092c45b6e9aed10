"""Multi-label class labels: a list of class names per sample, from `extra`, as a float32 multi-hot column.

`FuseOptions.class_label` names a key of the samples' `extra`; when its values are lists (a JSON list in a
JSONL/JSON manifest, a list column of a Parquet one), or strings split at `FuseOptions.class_separator` (a
CSV cell `Drama|Comedy`), each sample has a set of classes (MM-IMDb's genres, AudioSet's sound events):

    extra    {"genres": ["Drama", "Comedy"]}   a list of names; an integer is read as its decimal string
             {"genres": []}                    no positive class (a valid row: every target 0)
             {} / null / ""                    no value: refused, or with missing_class='keep' every target -1
    export   class_targets  fixed_size_list<float32>[C]: 1.0 where the sample has the class, else 0.0
    fused.json  classes [names, index = position]; class_label {..., column, multi_label: true, counts, ...}

Float32, not uint8: `BCEWithLogitsLoss` and `transformers`' multi-label heads take float targets of the
logits' shape, so a row read by `datasets`, pandas or `FusedDataset` is a target as it stands (the column
is C x 4 bytes a row; Parquet compresses its 0/1 values to a few bits each).

In a corpus of lists a bare class name is refused (without a separator): `"Drama"` among `["Drama", ...]`
rows is as likely a mistake (`"Drama|Comedy"` read as one class) as a list of one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.errors import ConfigError, DatasetError

#: The export's column of multi-hot class targets.
TARGETS_COLUMN = "class_targets"
#: Every target of a sample without a class value (missing_class='keep'), as class_id -1 marks one.
NO_TARGETS = -1.0
LIST_TYPE = pa.list_(pa.string())


@dataclass(frozen=True)
class ClassLists:
    """Every sample's positive classes, kept sparse (a multi-hot of AudioSet's 2M x 527 would be 4 GB).

    codes[offsets[i]:offsets[i + 1]] are sample i's class ids (samples-table order); labeled[i] is False for
    a sample without a value (missing_class='keep').
    """

    offsets: np.ndarray
    codes: np.ndarray
    labeled: np.ndarray
    classes: int

    def multi_hot(self, start: int, stop: int) -> np.ndarray:
        """(stop - start, C) float32 targets of samples start..stop: 1.0 / 0.0, `NO_TARGETS` in unlabeled rows."""
        out = np.zeros((stop - start, self.classes), np.float32)
        counts = np.diff(self.offsets[start : stop + 1])
        rows = np.repeat(np.arange(stop - start), counts)
        out[rows, self.codes[self.offsets[start] : self.offsets[stop]]] = 1.0
        out[~self.labeled[start:stop]] = NO_TARGETS
        return out


def split_names(names: pa.Array, separator: str) -> pa.Array:
    """String class values split at `separator` into lists, each piece stripped of surrounding spaces
    (null stays null: no value)."""
    lists = pc.split_pattern(names, separator)
    pieces = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    return pa.ListArray.from_arrays(_offsets(lists).astype(np.int32), pieces, mask=pc.is_null(lists))


def row_value(value: object, sample_id: str, key: str, separator: str | None) -> str | list[str] | None:
    """One sample's value at extra[key] as a name, a list of names, or None (no value), as read row by row.

    Raises:
        DatasetError: a value that is neither a class name nor a list of them, naming the sample.
    """
    if isinstance(value, list):
        bad = [v for v in value if isinstance(v, bool) or not isinstance(v, (str, int))]
        if bad:
            raise DatasetError(f"sample {sample_id!r}: extra[{key!r}] is {value!r}, whose item {bad[0]!r} is no class "
                               "name; expected a list of class names (strings, or integers read as their decimal "
                               "string); fix the corpus and extract it again")
        return [str(v) for v in value]
    if isinstance(value, bool) or not isinstance(value, (str, int, type(None))):
        raise DatasetError(f"sample {sample_id!r}: extra[{key!r}] is {value!r}, expected a class name (a string, or an "
                           "integer read as its decimal string) or a list of them; fix the corpus and extract it "
                           "again, or choose another --class-label")
    if value is None or value == "":
        return None
    if separator is not None and isinstance(value, str):
        return [piece.strip() for piece in value.split(separator)]
    return str(value)


def refuse_mixed(first_list: str, first_name: str, name: str, key: str) -> None:
    """A corpus whose values at extra[key] are lists for some samples and bare names for others."""
    raise DatasetError(f"sample {first_name!r}: extra[{key!r}] is the class name {name!r}, while other samples hold a "
                       f"list of class names (first: {first_list!r}); expected a list for every sample of a multi-label "
                       f"corpus: write [{name!r}] in the corpus, or pass --class-separator SEP (class_separator=) "
                       "to read each name as a list split at SEP")


def refuse_blank_item(values: pa.Array, sample_ids: pa.ChunkedArray | pa.Array, key: str, row: int) -> None:
    """Sample `row`'s list holds a null or empty name."""
    raise DatasetError(f"sample {sample_ids[row].as_py()!r}: extra[{key!r}] is {values[row].as_py()!r}, which holds "
                       "a blank class name; expected a class name in every place of the list (an empty list "
                       "for a sample of no class): fix the corpus and extract it again")


def choose_class_lists(values: pa.Array, sample_ids: pa.ChunkedArray | pa.Array, key: str,
                       file_names: list[str] | None, where: str,
                       mapped_by: str | None = None) -> tuple[list[str], ClassLists]:
    """(class names, every sample's positive classes) of list values (null: no value).

    Names are sorted, or those of the classes file (`file_names`) in its order; `mapped_by` names the class
    map the names went through (`ClassMap.describe`), for a refusal's hint.

    Raises:
        ConfigError: no list names a class and there is no classes file.
        DatasetError: a blank name in a list, or a name the classes file lacks, naming the sample.
    """
    from mmdata.fusion.classes import closest_class

    flat = pc.list_flatten(values)
    parents = pc.list_parent_indices(values)
    blank = pc.or_kleene(pc.is_null(flat), pc.equal(pc.utf8_length(pc.fill_null(flat, "")), 0))
    if pc.any(blank).as_py():
        refuse_blank_item(values, sample_ids, key, parents[pc.index(blank, True).as_py()].as_py())
    names = file_names if file_names is not None else sorted(pc.unique(flat).to_pylist())
    if not names:
        raise ConfigError(f"every class list of dataset {where} at extra[{key!r}] is empty: there is no class to export; "
                          "expected class names in the lists, or a --classes FILE naming the classes")
    codes = pc.index_in(flat, value_set=pa.array(names, pa.string()))
    if codes.null_count:
        position = pc.index(pc.is_null(codes), True).as_py()
        row, name = parents[position].as_py(), flat[position].as_py()
        where_from = f"in extra[{key!r}], as the {mapped_by} names it" if mapped_by else f"in extra[{key!r}]"
        hint = (f"map the corpus's name to a class the file lists in the class map, or add {name!r} to the classes file"
                if mapped_by else "add it to the file, or fix the sample's classes in the corpus and extract it again")
        raise DatasetError(f"sample {sample_ids[row].as_py()!r}: class {name!r} ({where_from}) is not in the classes "
                           f"file ({len(pc.unique(pc.filter(flat, pc.is_null(codes))))} such class names)"
                           f"{closest_class(name, names)}; {hint}")
    lists = ClassLists(_offsets(values), codes.to_numpy(zero_copy_only=False).astype(np.int64),
                       pc.is_valid(values).to_numpy(zero_copy_only=False), len(names))
    return names, lists


def _offsets(values: pa.Array) -> np.ndarray:
    """(n + 1,) int64 offsets of each list's items in `pc.list_flatten(values)` (which skips null lists)."""
    lengths = pc.fill_null(pc.list_value_length(values), 0).to_numpy(zero_copy_only=False)
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])


def count_targets(counts: dict[str, np.ndarray], split: str, targets: np.ndarray) -> None:
    """Add rows of `split` to `counts[split]`: (C + 1,) positives per class, the last count the rows without a
    value (`NO_TARGETS`), as `classes.count_classes` counts class ids."""
    labeled = targets[:, 0] >= 0
    found = np.append(targets[labeled].sum(axis=0, dtype=np.int64), int((~labeled).sum()))
    counts[split] = counts[split] + found if split in counts else found


def targets_column(values: np.ndarray, classes: int) -> pa.Array:
    """(n, C) float32 targets as the export's fixed_size_list<float32>[C] column."""
    from mmdata.store.metadata import required_list

    flat = pa.array(np.ascontiguousarray(values, np.float32).reshape(-1), pa.float32())
    return pa.FixedSizeListArray.from_arrays(flat, type=required_list(pa.float32(), classes))


def targets_values(column: pa.Array | pa.ChunkedArray, classes: int) -> np.ndarray:
    """A class_targets column back as (n, C) float32 (`targets_column`'s inverse)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, classes)
