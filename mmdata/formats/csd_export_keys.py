"""How `export_csd` keys a table's rows, and what it records of that for `extract csd` to read them back.

A table is written one of two ways:

- one key per sample (its sample id, or with keys="sdk" its SDK key), holding all its rows;
- one key per row, the SDK's aligned form (`writes_row_keys`): an `mmdata align` output (its `keys`
  column names row i of sample `vid` as `vid[i]`, i the reference's row), or a table `extract csd`
  read back from such a file (it kept the `keys` column and records `row_keys` in its config). Rows
  that share a key (a segment-level key `vid[k]` of an SDK file, read back gathered per video) are
  written under it together, in their order.

The file's `TABLE_IDENTITY_KEY` records which (`IDENTITY_KEYS`: ROW_KEYS or SAMPLE_KEYS) and, for
row keys, the samples that had no row (`IDENTITY_EMPTY`: a video whose every reference interval the
alignment skipped has no key, and would otherwise be missing from the file and dropped on reading).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from mmdata.store.reader import Dataset
from mmdata.store.shards import read_shard

#: `TABLE_IDENTITY_KEY` entry saying what the file's keys are.
IDENTITY_KEYS = "keys"
#: Its value for a file of one key per row, `<sample_id>[i]`.
ROW_KEYS = "rows"
#: Its value for a file of one key per sample.
SAMPLE_KEYS = "samples"
#: `TABLE_IDENTITY_KEY` entry listing the samples of a row-keyed table that have no row (so no key).
IDENTITY_EMPTY = "empty"
#: The column of a table naming each row's key.
KEYS_COLUMN = "keys"


def writes_row_keys(dataset: Dataset, name: str, *, sdk_keys: bool) -> bool:
    """Whether the table is written one key per row: an `align` output, or a table `extract csd` read
    back from a row-keyed file; never with keys="sdk", which places whole samples."""
    entry = dataset.entry(name)
    if sdk_keys:
        return False
    return entry.extractor == "align" or (entry.extractor == "precomputed" and entry.config.get("row_keys") is True)


def samples_without_rows(dataset: Dataset, name: str) -> list[str]:
    """The samples of a row-keyed table that have a feature of no row (their `keys` list is empty;
    a failed sample's is null), read from the sample id and keys columns alone."""
    empty: list[str] = []
    for shard in dataset.table_files(name):
        table = read_shard(shard, ["sample_id", KEYS_COLUMN])
        ids, keys = table.column("sample_id").to_pylist(), table.column(KEYS_COLUMN).to_pylist()
        empty += [sample for sample, row_keys in zip(ids, keys) if row_keys is not None and not row_keys]
    return empty


def row_key_identity(row_keys: bool, empty: list[str]) -> dict[str, Any]:
    """The entries of `TABLE_IDENTITY_KEY` that say how the file is keyed."""
    identity: dict[str, Any] = {IDENTITY_KEYS: ROW_KEYS if row_keys else SAMPLE_KEYS}
    if row_keys and empty:
        identity[IDENTITY_EMPTY] = empty
    return identity


def keyed_rows(keys: list[str], values: Any, intervals: np.ndarray) -> Iterator[tuple[str, Any, np.ndarray]]:
    """(key, its rows, their intervals) for rows named by `keys`, one entry per key in the order keys
    first appear, each key's rows in their order (one row each for an `align` output)."""
    order: dict[str, list[int]] = {}
    for j, key in enumerate(keys):
        order.setdefault(key, []).append(j)
    for key, rows in order.items():
        if rows == list(range(rows[0], rows[0] + len(rows))):
            yield key, values[rows[0]: rows[0] + len(rows)], intervals[rows[0]: rows[0] + len(rows)]
        else:
            yield key, values[rows], intervals[rows]
