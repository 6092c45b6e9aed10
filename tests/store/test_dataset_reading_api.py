"""Reading a dataset from a notebook: what `Dataset` shows, `in` and `[]`, NumPy arrays per split with failed
samples left out, `columns` as a name or a list, and one clear error for an unknown table, column or split."""
from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

from mmdata.errors import (CorpusNotFoundError, DatasetError, DatasetNotFoundError, SchemaMismatchError,
                           UnknownNameError)
from mmdata.store import open_dataset
from tests.checks.builder import aligned_table, build_dataset, mosi_samples, pooled_table, with_value

SAMPLES = mosi_samples()  # 12 segments vid0[0] .. vid3[2]: train 6, valid 3, test 3
POOLED = with_value(pooled_table("image.p", SAMPLES, 3), 2, None)  # vid0[2] (train) failed
SEQUENCES = with_value(aligned_table("text.w", SAMPLES, 2, 4), 7, None)  # vid2[1] (valid) failed


@pytest.fixture
def data(tmp_path):
    """12 samples in 3 shards; a pooled table (dim 3) and an aligned sequence table (4 steps of dim 2)."""
    return open_dataset(build_dataset(tmp_path / "ds", SAMPLES, [POOLED, SEQUENCES], corpus_kind="mosi-raw",
                                      shard_size=5))


def _ids(split=None):
    return [s.sample_id for s in SAMPLES if split is None or s.split == split]


def test_repr_is_a_short_summary_of_splits_and_tables(data):
    text = repr(data)
    assert str(data) == text and len(text) < 400
    lines = text.splitlines()
    assert lines[0] == (f"mmdata Dataset {data.root} (corpus mosi-raw, 12 samples: test 3, train 6, valid 3; "
                        "2 tables)")
    assert lines[1].split() == ["table", "dim", "dtype", "kind", "rows", "failed"]
    assert lines[2].split() == ["image.p", "3", "float32", "pooled", "12", "1"]
    assert lines[3].split() == ["text.w", "2", "float32", "sequence", "12", "1"]
    assert "fingerprint" not in text and "TableEntry" not in text


def test_repr_html_is_a_table_with_a_row_per_table(data):
    page = data._repr_html_()
    assert page.startswith("<div><p>mmdata Dataset ") and page.count("<tr>") == 3
    assert "<td>image.p</td><td>3</td><td>float32</td><td>pooled</td><td>12</td><td>1</td>" in page


def test_an_unfinished_table_shows_the_rows_written_so_far(tmp_path):
    unfinished = open_dataset(build_dataset(tmp_path / "ds", SAMPLES, [pooled_table("image.p", SAMPLES, 3)],
                                            corpus_kind="mosi-raw", shard_size=5))
    unfinished.manifest.tables["image.p"].complete = False
    assert repr(unfinished).splitlines()[2].split() == ["image.p", "3", "float32", "pooled", "12", "(incomplete)", "0"]


def test_in_names_tables_and_getitem_reads_one(data):
    assert "image.p" in data and "text.w" in data
    assert "train" not in data and "nope" not in data and ["image.p"] not in data
    assert data["image.p"].equals(data.read_table("image.p"))
    with pytest.raises(UnknownNameError, match=r"has no table 'train'; tables: \['image.p', 'text.w'\]; 'train' "
                                               r"is a split: read its rows of a table with read_table\(table, "
                                               r"split='train'\)"):
        data["train"]


def test_a_dataset_is_not_iterable_and_says_where_its_tables_are(data):
    with pytest.raises(TypeError, match="a Dataset is not iterable: its tables are `table_names`"):
        list(data)


def test_to_numpy_returns_ids_and_a_matrix_without_the_failed_sample(data):
    ids, x = data.to_numpy("image.p")
    expected = [i for i in _ids() if i != "vid0[2]"]
    assert ids.tolist() == expected and x.shape == (11, 3) and x.dtype == np.float32
    table = data.read_table("image.p")
    rows = {r["sample_id"]: r["feature"] for r in table.to_pylist()}
    assert rows["vid0[2]"] is None  # read_table keeps the failed sample's row, with a null feature
    np.testing.assert_array_equal(x, np.array([rows[i] for i in expected], dtype=np.float32))
    assert not (x == 0).all(axis=1).any()  # no zero vector stands in for the failed sample


def test_to_numpy_of_a_split_holds_that_splits_rows_in_samples_order(data):
    all_ids, all_x = data.to_numpy("image.p")
    for split in ("train", "valid", "test"):
        ids, x = data.to_numpy("image.p", split=split)
        assert ids.tolist() == [i for i in _ids(split) if i != "vid0[2]"]
        np.testing.assert_array_equal(x, all_x[np.isin(all_ids, ids)])
    assert len(data.to_numpy("image.p", split="train")[0]) == 5  # 6 train samples, one failed


def test_read_sequences_returns_offsets_values_and_intervals_per_sample(data):
    ids, offsets, values, intervals = data.read_sequences("text.w")
    expected = [i for i in _ids() if i != "vid2[1]"]
    assert ids.tolist() == expected
    assert offsets.tolist() == list(range(0, 4 * 11 + 1, 4)) and values.shape == (44, 2) and intervals.shape == (44, 2)
    rows = {r["sample_id"]: r for r in data.read_table("text.w").to_pylist()}
    for i, sample_id in enumerate(expected):
        rows_of_sample = slice(offsets[i], offsets[i + 1])
        np.testing.assert_array_equal(values[rows_of_sample], np.array(rows[sample_id]["feature"], np.float32))
        np.testing.assert_array_equal(intervals[rows_of_sample], np.array(rows[sample_id]["intervals"]))


def test_read_sequences_of_a_split(data):
    ids, offsets, values, intervals = data.read_sequences("text.w", split="valid")
    assert ids.tolist() == ["vid2[0]", "vid2[2]"] and offsets.tolist() == [0, 4, 8]
    assert values.shape == (8, 2) and intervals[0].tolist() == [0.5, 1.0]  # vid2[0] starts at 0.5 s


def test_read_sequences_gives_no_intervals_for_a_table_without_them(tmp_path):
    from dataclasses import replace

    from mmdata.store.metadata import FeatureSpec

    captions = replace(aligned_table("text.c", SAMPLES, 2, 3), spec=FeatureSpec(dim=2, kind="sequence",
                                                                                item_axis="caption"), intervals=None)
    data = open_dataset(build_dataset(tmp_path / "ds", SAMPLES, [captions], corpus_kind="mosi-raw"))
    ids, offsets, values, intervals = data.read_sequences("text.c", split="test")
    assert ids.tolist() == _ids("test") and offsets.tolist() == [0, 3, 6, 9] and values.shape == (9, 2)
    assert intervals is None


def test_read_table_of_a_split_keeps_the_failed_rows(data):
    table = data.read_table("image.p", split="train")
    assert table["sample_id"].to_pylist() == _ids("train") and table["feature"].null_count == 1
    assert data.read_table("text.w", "sample_id", split="test").column_names == ["sample_id"]
    assert data.read_table("image.p", ["feature"], split="valid").column_names == ["feature"]


def test_the_wrong_kind_of_table_names_the_reader_to_use(data):
    with pytest.raises(SchemaMismatchError, match=r"table 'text.w' is a sequence table and to_numpy reads pooled "
                                                  r"tables: read it with read_sequences\('text.w'\)"):
        data.to_numpy("text.w")
    with pytest.raises(SchemaMismatchError, match=r"'image.p' is a pooled table .* read it with to_numpy\('image.p'\)"):
        data.read_sequences("image.p")


def test_an_unknown_split_names_the_splits(data):
    for read in (data.to_numpy, data.read_sequences, data.read_table):
        name = "text.w" if read == data.read_sequences else "image.p"
        with pytest.raises(UnknownNameError, match=r"has no split 'tran'; splits: \['test', 'train', 'valid'\]"):
            read(name, split="tran")


@pytest.mark.parametrize("kind", [str, tuple, list])
def test_columns_is_a_name_or_a_sequence_of_names(data, kind):
    def columns(name):
        return name if kind is str else kind([name])

    assert data.read_table("image.p", columns=columns("feature")).column_names == ["feature"]
    assert data.samples_table(columns("split")).column_names == ["split"]


def test_an_unknown_column_is_refused_listing_the_columns(data):
    with pytest.raises(UnknownNameError, match=r"^table 'image.p' of .* has no column 'label'; columns: "
                                               r"\['sample_id', 'feature'\]$") as raised:
        data.read_table("image.p", columns=["feature", "label"])
    assert "__fragment_index" not in str(raised.value)
    with pytest.raises(UnknownNameError, match=r"samples table of .* has no column 'labels'; columns: \['sample_id'"):
        data.samples_table(["labels"])


def test_a_table_name_that_is_not_a_string_is_refused_clearly(data):
    with pytest.raises(TypeError, match=r"a table name is one string, got list \['image.p'\]: read one table per call"):
        data.read_table(["image.p"])
    with pytest.raises(TypeError, match="columns is a column name or a list of them, got 3"):
        data.read_table("image.p", columns=3)


def test_a_missing_dataset_directory_is_a_dataset_error_and_still_a_corpus_not_found_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=rf"^dataset directory not found: {tmp_path / 'nope'}$") as raised:
        open_dataset(tmp_path / "nope")
    assert isinstance(raised.value, DatasetError) and isinstance(raised.value, CorpusNotFoundError)
    assert isinstance(raised.value, FileNotFoundError)


def test_split_rows_follow_the_samples_order_across_shards(data):
    table = data.read_table("image.p", split="test")  # vid3[*]: rows 9-11, in the last two shards
    assert table["sample_id"].to_pylist() == ["vid3[0]", "vid3[1]", "vid3[2]"]
    assert pc.all(pc.is_valid(table["feature"])).as_py()
