"""`FusedDataset` indexing as a list does (negative and NumPy integers), with one clear line for an index
out of range, a nested list or a split the export lacks; `collate_fused` on one item, on items of several
lengths, and on none."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmdata.errors import DatasetError
from mmdata.fusion import FusedDataset, collate_fused, fuse
from tests.checks.builder import aligned_table, build_dataset, mosi_samples, pooled_table

M = mosi_samples()


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A ragged and a padded arrow export of 12 segments; the `vid*[1]` sequences have 2 of 4 steps."""
    tmp = tmp_path_factory.mktemp("exports")
    tables = [aligned_table("text.w", M, 2, 4), aligned_table("video.v", M, 3, 4, seed=3)]
    for table in tables:
        for i, s in enumerate(M):
            if s.sample_id.endswith("[1]"):
                table.values[i], table.intervals[i] = table.values[i][:2], table.intervals[i][:2]
    root = build_dataset(tmp / "mosi", M, [*tables, pooled_table("image.p", M, 2)], corpus_kind="mosi-raw")
    for mode in ("pad", "ragged"):
        fuse(root, tmp / mode, format="arrow", sequences=mode)
    return tmp


def test_negative_and_numpy_integer_indices_give_the_items_a_list_would(exports):
    data = FusedDataset(exports / "pad", "train")
    ids = [data[i]["sample_id"] for i in range(len(data))]
    assert [data[i]["sample_id"] for i in (-1, -len(data), np.int64(2), np.int32(-2), np.uint8(1))] == \
        [ids[-1], ids[0], ids[2], ids[-2], ids[1]]
    assert [item["sample_id"] for item in data[np.array([1, -1])]] == [ids[1], ids[-1]]


def test_an_index_out_of_range_or_nested_is_refused_in_one_line(exports):
    data = FusedDataset(exports / "pad", "train")
    for index in (6, -7, [0, 9]):
        with pytest.raises(IndexError, match=rf"index out of range for split 'train' of 6 rows: "
                                             rf"{index if isinstance(index, int) else 9} \(valid: -6 to 5\) in .*pad$"):
            data[index]
    with pytest.raises(TypeError, match=r"lists of integers, got a 2-d list of shape \(1, 2\)"):
        data[[[0, 1]]]
    with pytest.raises(DatasetError, match=r"has no split 'dev'; splits: \['test', 'train', 'valid'\]"):
        FusedDataset(exports / "pad", "dev")


@pytest.mark.parametrize("mode", ["pad", "ragged"])
def test_collate_pads_a_batch_of_mixed_lengths_and_keeps_a_batch_of_one(exports, mode):
    data = FusedDataset(exports / mode, "train")
    short, full = [i for i in range(len(data)) if data[i]["length"] == 2][0], 0
    mixed = collate_fused([data[short], data[full]])  # plain items, not one gather: stacked here
    assert mixed["feature"].shape == (2, 4, 7) and mixed["length"].tolist() == [2, 4]
    assert mixed["mask"].tolist() == [[True, True, False, False], [True] * 4]
    assert not mixed["feature"][0, 2:].any()
    assert torch.equal(mixed["feature"][0, :2], data[short]["feature"][:2])
    one = collate_fused([data[short]])
    width = 2 if mode == "ragged" else 4  # ragged: the batch's longest
    assert one["feature"].shape == (1, width, 7) and one["mask"].shape == (1, width) and one["label"].shape == (1,)


def test_collate_of_no_items_says_a_batch_holds_at_least_one():
    with pytest.raises(ValueError, match="collate_fused got no items: a batch holds at least one"):
        collate_fused([])
