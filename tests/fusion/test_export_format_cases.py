"""Export formats and split names: every split mmdata can hold reaches the Hugging Face export under its
own name, and a split name that cannot name a file is refused before any of its rows are written."""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdata.errors import DatasetError
from mmdata.fusion import FusedDataset, fuse, read_fused_metadata
from tests.checks.builder import build_dataset, image_text_samples, pooled_table, with_value


def _renamed_splits(tmp_path, names):
    """The image-text corpus (train/val/test) with its splits renamed by `names`, one table missing a feature."""
    samples = [replace(s, split=names.get(s.split, s.split)) for s in image_text_samples()]
    image = with_value(pooled_table("image.a", samples, 4), 2, None)
    return build_dataset(tmp_path / "ds", samples, [image, pooled_table("text.b", samples, 3, seed=1)], shard_size=5)


def _parquet_rows(out):
    meta = read_fused_metadata(out)
    table = pa.concat_tables([pq.read_table(out / f) for files in meta["files"].values() for f in files])
    return {r["sample_id"]: r for r in table.to_pylist()}


def test_an_unsplit_split_all_and_a_hyphenated_split_export_to_hugging_face_under_their_names(tmp_path):
    """`all` (an unsplit manifest's split) is reserved by `datasets` and `test-dev2017` refused by its split
    names, yet both are keys of a DatasetDict: the export keeps mmdata's names, as the other formats do."""
    import datasets

    root = _renamed_splits(tmp_path, {"val": "all", "test": "test-dev2017"})
    fuse(root, tmp_path / "pq", missing="zero")
    report = fuse(root, tmp_path / "hf", missing="zero", format="hf")
    assert report.rows == {"all": 3, "test-dev2017": 2, "train": 7}
    expected = _parquet_rows(tmp_path / "pq")
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    assert sorted(loaded) == ["all", "test-dev2017", "train"]
    assert str(loaded["test-dev2017"].split) == "test_dev2017" and str(loaded["train"].split) == "train"
    for split, rows in report.rows.items():
        read = loaded[split].to_list()
        assert len(read) == rows and [r["split"] for r in read] == [split] * rows
        assert read == [expected[r["sample_id"]] for r in read]
        data = FusedDataset(tmp_path / "hf", split)
        for position, row in enumerate(read):
            item = data[position]
            assert item["sample_id"] == row["sample_id"] and item["present"].tolist() == row["present"]
            np.testing.assert_array_equal(item["feature"].numpy(), np.array(row["feature"], np.float32))


@pytest.mark.parametrize("split", ["a/b", "../escape", ".", "back\\slash"])
@pytest.mark.parametrize("fmt", ["parquet", "arrow", "npy", "hf"])
def test_a_split_name_that_is_no_file_name_is_refused_and_nothing_is_written(tmp_path, fmt, split):
    """Split names name the export's files: `../escape` wrote its .npy files beside the export, `a/b`
    failed at the end of a Parquet export with pathlib's 'Invalid name'."""
    root = _renamed_splits(tmp_path, {"val": split})
    exports = tmp_path / "exports"
    message = f"split {split!r} cannot name the files of its rows in the export: a split name must be a plain file name"
    with pytest.raises(DatasetError, match=re.escape(message) + ".*rename the split in the corpus"):
        fuse(root, exports / "out", missing="zero", format=fmt, normalize="none")
    assert sorted(p.name for p in tmp_path.iterdir()) in (["ds"], ["ds", "exports"])
    assert not exports.exists() or not any(exports.iterdir())
