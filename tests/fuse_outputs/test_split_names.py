"""Splits whose names the export uses for itself (the hf staging folder, `fused.json`,
`dataset_dict.json`, hidden names) are refused before any pass, naming the split, instead of losing
their rows or failing with an error that blames the disk."""
from __future__ import annotations

from dataclasses import replace

import pytest

from mmdata.errors import DatasetError
from mmdata.fusion import fuse
from tests.checks.builder import build_dataset, image_text_samples, pooled_table


def _dataset(tmp_path, odd_split):
    samples = [replace(s, split=odd_split) if i % 4 == 0 else s for i, s in enumerate(image_text_samples())]
    tables = [replace(pooled_table("image.a", samples, 4), table_format="arrow")]
    return build_dataset(tmp_path / "ds", samples, tables, shard_size=5)


@pytest.mark.parametrize("split", [".hf-staging", "fused.json", "dataset_dict.json", ".hidden"])
@pytest.mark.parametrize("fmt", ["hf", "npy", "arrow"])
def test_a_split_named_like_the_exports_own_files_is_refused_naming_it(tmp_path, split, fmt):
    with pytest.raises(DatasetError, match=rf"split '{split}' cannot name the files of its rows in the export.*"
                                           r"rename the split in the corpus"):
        fuse(_dataset(tmp_path, split), tmp_path / "out", format=fmt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_a_split_named_data_is_an_ordinary_split(tmp_path):
    report = fuse(_dataset(tmp_path, "data"), tmp_path / "out", format="npy", normalize="none")
    assert report.rows["data"] == 3
