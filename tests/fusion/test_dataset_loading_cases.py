"""`FusedDataset` and `collate_fused` as training code uses them: collate functions that edit the items
before stacking them, indexing as a list does (slices, lists, `Subset`), sequences of no time step,
and opening an export without reading it."""
from __future__ import annotations

import re
import tracemalloc
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest
import torch
from torch.utils.data import DataLoader, Subset

from mmdata.fusion import FusedDataset, collate_fused, fuse
from tests.checks.builder import (aligned_table, build_dataset, image_text_samples, mosi_samples, pooled_table,
                                  with_value)

M = mosi_samples()


def _mosi(tmp_path, lost=None):
    """12 labelled segments (train/valid/test: 6/3/3), aligned sequences of 4 steps and a pooled table;
    sample `lost` has neither sequence, so its row has no time step."""
    words, video = aligned_table("text.w", M, 2, 4), aligned_table("video.v", M, 3, 4, seed=3)
    if lost is not None:
        words, video = with_value(words, lost, None), with_value(video, lost, None)
    return build_dataset(tmp_path / "mosi", M, [words, video, pooled_table("image.p", M, 2)],
                         corpus_kind="mosi-raw", shard_size=5)


def _batches_equal(one, other):
    assert one["sample_id"] == other["sample_id"] and one.keys() == other.keys()
    for key in one.keys() - {"sample_id"}:
        assert torch.equal(one[key], other[key]), key


@pytest.mark.parametrize("sequences", ["pool", "pad", "ragged"])
def test_a_collate_function_that_edits_items_gets_its_edits_stacked(tmp_path, sequences):
    """A batch's items carry the batch already stacked; an augmenting collate that replaces values, or
    one that drops an item, must not get that stale stack back (it did: edits lost, ids and rows apart)."""
    fuse(_mosi(tmp_path), tmp_path / "out", format="arrow", missing="zero", sequences=sequences)
    data = FusedDataset(tmp_path / "out", "train")

    def augmenting(items):
        for item in items:
            item["feature"] = item["feature"] + 100.0
            item["label"] = 1.0
        return collate_fused(items)

    def dropping_the_last(items):
        items.pop()
        return collate_fused(items)

    def scaling_in_place(items):
        for item in items:
            item["feature"].mul_(2.0)  # a view of the stacked batch: the fast path stays right
        return collate_fused(items)

    plain = collate_fused(data.__getitems__([0, 1, 2]))
    edited = next(iter(DataLoader(data, batch_size=3, collate_fn=augmenting)))
    added = plain["mask"][..., None] * 100.0 if sequences == "ragged" else 100.0  # ragged items are padded after
    assert torch.equal(edited["feature"], plain["feature"] + added)
    assert edited["label"].tolist() == [1.0, 1.0, 1.0]
    dropped = next(iter(DataLoader(data, batch_size=3, collate_fn=dropping_the_last)))
    assert dropped["sample_id"] == plain["sample_id"][:2] and len(dropped["feature"]) == len(dropped["label"]) == 2
    scaled = next(iter(DataLoader(data, batch_size=3, collate_fn=scaling_in_place)))
    assert torch.equal(scaled["feature"], plain["feature"] * 2.0)
    _batches_equal(next(iter(DataLoader(data, batch_size=3, collate_fn=collate_fused))), plain)


@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
def test_slices_and_lists_of_indices_give_the_items_a_list_would(tmp_path, fmt):
    fuse(_mosi(tmp_path), tmp_path / "out", format=fmt, missing="zero", sequences="ragged")
    data = FusedDataset(tmp_path / "out", "train")
    ids = [data[i]["sample_id"] for i in range(len(data))]
    for chosen in (slice(1, 4), slice(None, None, -2), slice(-2, None), slice(4, 1), slice(-100, 100)):
        assert [item["sample_id"] for item in data[chosen]] == ids[chosen], chosen
    for chosen in ([4, -1, 0], np.array([2, 3]), torch.tensor([5, 0]), (1,)):
        assert [item["sample_id"] for item in data[chosen]] == [ids[int(i)] for i in chosen]
    _batches_equal(collate_fused(data[1:4]), collate_fused([data[1], data[2], data[3]]))
    subset = Subset(data, [5, 3, 1])
    assert [item["sample_id"] for item in subset[[0, 2]]] == [ids[5], ids[1]]  # Subset indexes with a list
    for index in (1.5, "1", None, np.zeros((2, 2), np.int64)):
        with pytest.raises(TypeError, match=re.escape("FusedDataset indices are integers, slices or lists of "
                                                      f"integers, got {type(index).__name__}")):
            data[index]
    with pytest.raises(IndexError, match="index out of range for split 'train' of 6 rows"):
        data[[0, 6]]


@pytest.mark.parametrize("sequences", ["pad", "ragged"])
@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
def test_a_sequence_of_no_time_step_collates_alone_and_among_others(tmp_path, fmt, sequences):
    lost = next(i for i, s in enumerate(M) if s.split == "train")
    fuse(_mosi(tmp_path, lost), tmp_path / "out", format=fmt, missing="zero", sequences=sequences)
    data = FusedDataset(tmp_path / "out", "train")
    empty = [data[i]["sample_id"] for i in range(len(data))].index(M[lost].sample_id)
    other = (empty + 1) % len(data)
    alone = collate_fused(data.__getitems__([empty]))
    assert alone["length"].tolist() == [0] and not alone["mask"].any() and not alone["feature"].any()
    assert alone["feature"].shape == ((1, 0, 7) if sequences == "ragged" else (1, 4, 7))
    assert alone["present"].tolist() == [[False, False, False]]
    mixed = collate_fused(data.__getitems__([empty, other]))
    _batches_equal(mixed, collate_fused([data[empty], data[other]]))
    assert mixed["length"].tolist() == [0, 4] and mixed["feature"].shape == (2, 4, 7)
    assert mixed["mask"].tolist() == [[False] * 4, [True] * 4] and not mixed["feature"][0].any()


@pytest.mark.parametrize("sequences", ["pool", "pad"])
@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
def test_opening_an_export_maps_its_features_without_reading_them(tmp_path, fmt, sequences):
    """About 5 MB of features: opening the export and reading an item allocate next to nothing, in Arrow's
    pool or NumPy's."""
    samples = image_text_samples(1200)
    if sequences == "pad":
        samples = [replace(s, split="train") for s in mosi_samples(videos=300, segments=4)]
        tables = [aligned_table("text.w", samples, 256, 4)]
    else:
        tables = [pooled_table("image.a", samples, 1024)]
    fuse(build_dataset(tmp_path / "ds", samples, tables, shard_size=600), tmp_path / "out", format=fmt,
         normalize="none", sequences=sequences)
    data = FusedDataset(tmp_path / "out", "train")
    before = pa.total_allocated_bytes()
    tracemalloc.start()
    try:
        data[0]
        numpy_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert pa.total_allocated_bytes() - before < 256 << 10 and numpy_peak < 512 << 10
    last = data[-1]["feature"].numpy()
    assert last.shape[-1] in (1024, 256) and np.isfinite(last).all() and last.any()
