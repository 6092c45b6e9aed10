"""Shard listing and counting: a stray `part-*` file whose name is not a shard number (`part-².parquet`:
'²' is a digit to `str.isdigit`, which `int` refuses) is listed as other stray names are, first, instead of
crashing the listing; a table's rows are counted from its shards' footers by one function, which a reader
of an incomplete table asks skipping an unreadable shard and the manifest's count raising on it."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from mmdata.errors import DatasetError
from mmdata.store import layout
from mmdata.store.grown_samples import rows_in_finished_shards
from mmdata.store.writer import write_table_atomic


def shards(folder, *counts):
    for number, rows in enumerate(counts):
        write_table_atomic(pa.table({"sample_id": [f"s{number}-{i}" for i in range(rows)]}),
                           folder / layout.shard_name(number))


@pytest.mark.parametrize("stray", ["part-².parquet", "part-٣.parquet", "part-x.parquet"])
def test_a_stray_part_file_is_listed_first_as_other_stray_names_are(tmp_path, stray):
    shards(tmp_path, 2, 1)
    (tmp_path / stray).write_bytes(b"not a shard")
    assert layout.shard_number(tmp_path / stray) is None
    assert [p.name for p in layout.shard_files(tmp_path)] == [stray, "part-00000.parquet", "part-00001.parquet"]


def test_shard_numbers_are_ascii_digits():
    assert layout.shard_number(Path("part-00012.parquet")) == 12
    assert layout.shard_number(Path("part-123456.arrow")) == 123456


def test_rows_are_counted_from_the_footers_an_unreadable_shard_skipped_or_raised(tmp_path):
    shards(tmp_path, 2, 2, 1)
    assert rows_in_finished_shards(tmp_path) == rows_in_finished_shards(tmp_path, skip_unreadable=False) == 5
    (tmp_path / layout.shard_name(1)).write_bytes(b"damaged")
    assert rows_in_finished_shards(tmp_path) == 3
    with pytest.raises(DatasetError, match="part-00001.parquet"):
        rows_in_finished_shards(tmp_path, skip_unreadable=False)
