"""Splits dealt again by fold for one export: cross-validation from one extraction.

A corpus cut into numbered parts for cross-validation (ESC-50's folds, IEMOCAP's sessions, the speakers of an
emotion corpus) records each sample's part in `extra`; its loader holds one part out as `test`. `FoldSplits`
holds another one out for one export, without extracting again:

    FuseOptions(folds=FoldSplits(by="fold", test="3", val="4"))   # fuse --fold-by fold --test-fold 3 --val-fold 4
    samples   extra {"fold": 3, ...}          a string or an integer, read as its decimal string
    split     test where the value is `test`, val where it is `val`, train for every other value

The normalization statistics then come from the new train split (the moments `extract` stored per split are
not used), split leaks are judged on the new splits, and fused.json records the folds
(`{"by", "test", "val", "values"}`). A sample without a value, or a test or val value no sample holds, is
refused in one line naming the sample or the values there are.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion.classes import extra_keys, parsed_extra, values_in_one_parse
from mmdata.options import did_you_mean

#: Sample ids a refusal names.
EXAMPLES = 3


@dataclass(frozen=True)
class FoldSplits:
    """Deal the splits by the value at `extra[by]`: `test` (and `val`, where given) held out, the rest train.

    Values are compared as strings: an integer fold (ESC-50's `fold: 3`) is named "3" (or 3)."""

    by: str
    test: str
    val: str | None = None

    def __post_init__(self) -> None:
        check_fold_key(self.by)
        object.__setattr__(self, "test", _fold_name(self.test, "test"))
        if self.val is not None:
            object.__setattr__(self, "val", _fold_name(self.val, "val"))
            if self.val == self.test:
                raise ConfigError(f"--val-fold {self.val} is also --test-fold: the fold that chooses the model's "
                                  "settings must be another one than the fold it is scored on")

    def to_json(self, values: list[str]) -> dict[str, Any]:
        """What fused.json records: the key, the folds held out and every fold there is."""
        return {"by": self.by, "test": self.test, "val": self.val, "values": values}


def check_fold_key(by: object) -> None:
    """Refuse a fold key that is not a non-empty string (a ConfigError naming --fold-by)."""
    if not isinstance(by, str) or not by.strip():
        raise ConfigError(f"fold key {by!r}: expected the key of the samples' extra that holds each sample's fold, "
                          "e.g. 'fold' (ESC-50), 'session' (IEMOCAP) (--fold-by KEY)")


def _fold_name(value: object, which: str) -> str:
    """A fold given as a string or an integer, as its name (the integer's decimal string).

    Raises:
        ConfigError: anything else, or an empty name."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise ConfigError(f"--{which}-fold {value!r}: expected a fold's value as the samples' extra holds it, e.g. 3 "
                          "or 'Ses01'")
    return str(value).strip()


def deal_folds(samples: pa.Table, folds: FoldSplits, where: str) -> tuple[pa.Table, list[str]]:
    """`samples` (with `sample_id`, `split` and `extra`) with its `split` column dealt by `folds`, and the fold
    values there are, in natural order (2 before 10).

    Raises:
        ConfigError: no sample has extra[folds.by] (the keys there listed), a test or val fold no sample holds
            (the folds there listed).
        DatasetError: samples without a value (count, the first ids), a value that is no fold name (a list, a
            number with a fraction, an `extra` that is not JSON), naming the sample.
    """
    values = fold_values(samples.column("extra"), samples.column("sample_id"), folds.by, where)
    names = natural_order(pc.unique(values).drop_null().to_pylist())
    for which, fold in (("test", folds.test), ("val", folds.val)):
        if fold is not None and fold not in names:
            raise ConfigError(f"--{which}-fold {fold}: no sample of dataset {where} has extra[{folds.by!r}] = {fold}; "
                              f"the folds there: {names}{did_you_mean(fold, names)}")
    if not [n for n in names if n not in (folds.test, folds.val)]:
        raise ConfigError(f"every sample of dataset {where} is in the test fold {folds.test}"
                          + (f" or the val fold {folds.val}" if folds.val else "") + f" (extra[{folds.by!r}] holds "
                          f"{names}): no fold is left to train on; choose another --fold-by")
    rest = "train" if folds.val is None else pc.if_else(pc.equal(values, folds.val), "val", "train")
    split = pc.if_else(pc.equal(values, folds.test), "test", rest)
    position = samples.schema.get_field_index("split")
    return samples.set_column(position, "split", split.cast(samples.schema.field("split").type)), names


@dataclass(frozen=True)
class KeyRole:
    """What the values at a key of the samples' extra are for, as refusals name it."""

    what: str = "fold"  # a fold, a group
    option: str = "--fold-by"
    purpose: str = "to be dealt into train, val or test"


FOLD = KeyRole()


def fold_values(extra: pa.ChunkedArray | pa.Array, sample_ids: pa.ChunkedArray | pa.Array, key: str,
                where: str, role: KeyRole = FOLD) -> pa.Array:
    """Every sample's fold (or the value `role` names) at `extra[key]` as a string array (integers as their
    decimal string).

    Raises:
        ConfigError: no sample has the key; DatasetError: some samples lack it, or hold no fold name there."""
    values = _values_in_one_parse(extra, key)
    if values is None:
        values = _values_row_by_row(extra, sample_ids, key, role)
    if values.null_count == len(values) and len(values):
        keys = extra_keys(extra)
        raise ConfigError(f"no sample of dataset {where} has a {role.what} at extra[{key!r}]; keys its samples' extra "
                          f"holds: {keys}{did_you_mean(key, keys)} ({role.option} KEY)")
    if values.null_count:
        rows = np.flatnonzero(pc.is_null(values).to_numpy(zero_copy_only=False))
        first = ", ".join(repr(sample_ids[int(r)].as_py()) for r in rows[:EXAMPLES])
        raise DatasetError(f"{len(rows)} of {len(values)} samples of dataset {where} have no {role.what} at "
                           f"extra[{key!r}] (first: {first}); every sample needs one {role.purpose}: choose "
                           f"another {role.option}, or give those samples their {role.what} in the corpus and extract "
                           "it again")
    return values


def natural_order(names: list[str]) -> list[str]:
    """Fold names sorted with their digits as numbers: 1, 2, 10; Ses01, Ses02; actor_2 before actor_10."""
    return sorted(names, key=lambda name: [(0, int(part), "") if part.isdigit() else (1, 0, part)
                                           for part in re.split(r"(\d+)", name) if part])


def _values_in_one_parse(extra: pa.ChunkedArray | pa.Array, key: str) -> pa.Array | None:
    """The values from one Arrow JSON parse, as strings or as integers made strings; None where neither reads
    every row (the row-by-row parse then reads them, or names the bad sample)."""
    for value_type in (pa.string(), pa.int64()):
        values = values_in_one_parse(extra, key, value_type)
        if values is not None:  # as --test-fold is read: " 1" is fold 1
            values = pc.utf8_trim_whitespace(values.cast(pa.string()))
            return pc.if_else(pc.equal(pc.utf8_length(values), 0), pa.scalar(None, pa.string()), values)
    return None


def _values_row_by_row(extra: pa.ChunkedArray | pa.Array, sample_ids: pa.ChunkedArray | pa.Array,
                       key: str, role: KeyRole = FOLD) -> pa.Array:
    """The values from a Python parse of each row: the strict path, which names a bad sample."""
    out: list[str | None] = []
    for row, parsed in parsed_extra(extra, sample_ids):
        value = parsed.get(key) if isinstance(parsed, dict) else None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, (str, int, type(None))):
            raise DatasetError(f"sample {sample_ids[row].as_py()!r}: extra[{key!r}] is {value!r}, expected a "
                               f"{role.what} (a string or an integer); choose another {role.option}")
        out.append(None if value is None or not str(value).strip() else str(value).strip())
    return pa.array(out, pa.string())


__all__ = ["FOLD", "FoldSplits", "KeyRole", "check_fold_key", "deal_folds", "fold_values", "natural_order"]
