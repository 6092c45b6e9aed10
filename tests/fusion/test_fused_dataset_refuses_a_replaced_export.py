"""A `FusedDataset` whose export `fuse --force` replaced before it mapped the files refuses to read it
(its length and metadata describe the old export), in the main process and in DataLoader workers that
reopen the files each epoch; one that had mapped them keeps reading the rows it had; a moved export
still opens."""
from __future__ import annotations

import shutil

import pytest
import torch
from torch.utils.data import DataLoader

from mmdata.errors import DatasetError
from mmdata.fusion import FusedDataset, collate_fused, fuse
from tests.checks.builder import aligned_table, build_dataset, mosi_samples, pooled_table

M = mosi_samples()


def _mosi(tmp_path):
    """12 segments (train/valid/test: 6/3/3), aligned sequences of 4 steps and a pooled table."""
    tables = [aligned_table("text.w", M, 2, 4), aligned_table("video.v", M, 3, 4, seed=3),
              pooled_table("image.p", M, 2)]
    return build_dataset(tmp_path / "mosi", M, tables, corpus_kind="mosi-raw", shard_size=5)


@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
def test_an_export_replaced_before_the_first_read_is_refused_naming_it(tmp_path, fmt):
    root, out = _mosi(tmp_path), tmp_path / "fused"
    fuse(root, out, format=fmt, sequences="pad")
    data = FusedDataset(out, "train")
    fuse(root, out, format=fmt, sequences="pool", normalize="none", force=True)
    with pytest.raises(DatasetError, match=rf"{out} was replaced \(by `mmdata fuse --force`\?\) after this "
                                           rf"FusedDataset read its fused.json.*make a new FusedDataset"):
        data[0]
    assert FusedDataset(out, "train")[0]["feature"].shape == (7,)  # a new one reads the new, pooled, export


@pytest.mark.parametrize("fmt", ["arrow", "npy"])
def test_an_export_replaced_after_the_first_read_keeps_giving_the_rows_that_were_mapped(tmp_path, fmt):
    root, out = _mosi(tmp_path), tmp_path / "fused"
    fuse(root, out, format=fmt, sequences="pad")
    data = FusedDataset(out, "train")
    before = collate_fused(data[:])
    fuse(root, out, format=fmt, sequences="pad", normalize="none", force=True)
    after = collate_fused(data[:])
    assert all(torch.equal(before[k], after[k]) for k in before.keys() - {"sample_id"})
    assert not torch.equal(FusedDataset(out, "train")[:][0]["feature"], before["feature"][0])


def test_workers_of_a_later_epoch_refuse_an_export_replaced_between_epochs(tmp_path):
    root, out = _mosi(tmp_path), tmp_path / "fused"
    fuse(root, out, format="arrow", sequences="pad")
    loader = DataLoader(FusedDataset(out, "train"), batch_size=4, num_workers=2, collate_fn=collate_fused)
    assert sum(len(b["sample_id"]) for b in loader) == 6
    fuse(root, out, format="arrow", sequences="pad", normalize="none", force=True)
    with pytest.raises(DatasetError, match=rf"{out} was replaced"):
        list(loader)


def test_a_moved_export_opens_and_reads_the_same_rows(tmp_path):
    root, out = _mosi(tmp_path), tmp_path / "fused"
    for fmt in ("arrow", "hf", "npy"):
        fuse(root, out, format=fmt, sequences="ragged", force=True)
        moved = tmp_path / "elsewhere" / fmt
        shutil.copytree(out, moved)
        shutil.rmtree(out)
        batch = collate_fused(FusedDataset(moved, "valid")[:])
        again = collate_fused(FusedDataset(moved, "valid")[:])
        assert batch["sample_id"] == [s.sample_id for s in M if s.split == "valid"]
        assert torch.equal(batch["feature"], again["feature"]) and batch["feature"].shape[-1] == 7
