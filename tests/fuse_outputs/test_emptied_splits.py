"""A split that `--missing drop` empties is recorded in the export, and asking for it says why it
is not there."""
from __future__ import annotations

from dataclasses import replace

import pytest

from mmdata.errors import DatasetError
from mmdata.fusion import FusedDataset, fuse, read_fused_metadata
from tests.checks.builder import build_dataset, image_text_samples, pooled_table, with_value


def test_a_split_emptied_by_drop_is_recorded_and_named_when_asked_for(tmp_path):
    samples = image_text_samples()
    text = pooled_table("text.b", samples, 3, seed=1)
    for i, s in enumerate(samples):
        if s.split == "test":
            text = with_value(text, i, None)
    tables = [replace(pooled_table("image.a", samples, 4), table_format="arrow"), replace(text, table_format="arrow")]
    dataset = build_dataset(tmp_path / "ds", samples, tables, shard_size=5)
    fuse(dataset, tmp_path / "out", missing="drop", format="arrow")
    metadata = read_fused_metadata(tmp_path / "out")
    assert metadata["missing"]["emptied_splits"] == ["test"] and "test" not in metadata["rows"]
    with pytest.raises(DatasetError, match=r"has no split 'test' \(--missing drop left none of its rows.*"
                                           r"splits: \['train', 'val'\]"):
        FusedDataset(tmp_path / "out", "test")
    with pytest.raises(DatasetError, match=r"has no split 'dev'; splits"):
        FusedDataset(tmp_path / "out", "dev")
