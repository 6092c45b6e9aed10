"""Reading a dataset whose shards were damaged after it was written: the error names the file and the fix."""
from __future__ import annotations

import shutil

import pytest

from mmdata.errors import DatasetError, ShardReadError
from mmdata.store import layout, open_dataset
from tests.checks.builder import build_dataset, image_text_samples, pooled_table, with_value

S = image_text_samples()


@pytest.fixture
def dataset(tmp_path):
    """12 samples in 3 shards, a pooled table with one failed sample (so an errors shard)."""
    return build_dataset(tmp_path / "ds", S, [with_value(pooled_table("image.a", S, 4), 2, None)], shard_size=5)


def _truncate(path):
    path.write_bytes(path.read_bytes()[:40])
    return path


def test_a_truncated_errors_shard_is_named_with_the_shard_to_redo(dataset):
    shard = _truncate(layout.errors_dir(dataset, "image.a") / "part-00000.parquet")
    with pytest.raises(ShardReadError, match=rf"{shard}: cannot read this shard .*truncated or corrupt: delete it "
                                             rf"and the shard of the same number in {dataset / 'features' / 'image.a'}"):
        open_dataset(dataset).errors()


def test_a_damaged_errors_shard_of_the_loader_says_it_is_not_written_again(dataset):
    shard = layout.errors_dir(dataset, layout.LOADER_ERRORS_TABLE) / "part-00000.parquet"
    shard.parent.mkdir(parents=True)
    shard.write_bytes(b"not parquet at all")
    with pytest.raises(ShardReadError, match=rf"{shard}: cannot read this shard .*written once, with the samples: restore the file from a copy"):
        open_dataset(dataset).errors()


@pytest.mark.parametrize("index", [0, 1])  # the first shard fails where pyarrow reads the schema, others on read
def test_a_truncated_samples_shard_is_named(dataset, index):
    shard = _truncate(layout.samples_dir(dataset) / layout.shard_name(index))
    with pytest.raises(ShardReadError, match=rf"{shard}: cannot read this shard .*written once, with the samples: "
                                             r"restore the file from a copy, or extract the corpus again"):
        open_dataset(dataset).samples_table(columns=["sample_id"])


def test_a_truncated_feature_shard_is_named_by_read_table_and_reading(dataset):
    shard = _truncate(layout.feature_dir(dataset, "image.a") / layout.shard_name(2))
    data = open_dataset(dataset)
    with pytest.raises(ShardReadError, match=rf"{shard}: cannot read this shard .*delete it, then re-run the command "
                                             r"that wrote the table"):
        data.read_table("image.a", columns=["feature"])
    with pytest.raises(ShardReadError, match=rf"{shard}: cannot read this shard"), data.reading("image.a"):
        data.table("image.a").count_rows()


def test_errors_other_than_unreadable_shards_go_on_as_they_are(dataset):
    data = open_dataset(dataset)
    with pytest.raises(ValueError, match="no_such_column") as raised, data.reading("image.a"):
        data.table("image.a").to_table(columns=["no_such_column"])  # (read_table refuses the name before pyarrow)
    assert not isinstance(raised.value, ShardReadError)


def test_a_missing_samples_folder_is_not_sent_back_to_extract(dataset):
    shutil.rmtree(layout.samples_dir(dataset))
    with pytest.raises(DatasetError, match=rf"samples table {layout.samples_dir(dataset)} has no finished shards, "
                                           r"while mmdata.json lists 12 samples; .*restore the file from a copy"):
        open_dataset(dataset).samples_table()


def test_a_table_whose_shards_are_gone_is_named_with_the_command_that_writes_it_again(dataset):
    folder = layout.feature_dir(dataset, "image.a")
    data = open_dataset(dataset)
    assert data.table_files("image.a") == layout.shard_files(folder) and len(layout.shard_files(folder)) == 3
    for shard in layout.shard_files(folder):
        shard.unlink()
    message = rf"table 'image.a': {folder} has no finished shards, while mmdata.json lists the table; .*re-run the command"
    with pytest.raises(DatasetError, match=message):
        data.table("image.a")
    with pytest.raises(DatasetError, match=message):
        data.table_files("image.a")
