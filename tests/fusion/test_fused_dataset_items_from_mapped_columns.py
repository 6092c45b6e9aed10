"""`FusedDataset` items read from the mapped columns (ids and labels kept as Arrow arrays, masks and presence
unpacked from the mapped bitmaps, ragged offsets as views) hold the values and types of the export's rows,
in every format and row layout, whichever record batches the indices fall in."""
from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
import torch
from torch.utils.data import DataLoader

from mmdata.fusion import FusedDataset, collate_fused
from tests.fusion.mapped_exports import export, labelled_dataset

SPLITS = ("train", "valid", "test")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """(format, sequences, class label) -> export folder, made on first use from one labelled dataset."""
    root = tmp_path_factory.mktemp("mapped")
    dataset = labelled_dataset(root / "ds")
    made: dict[tuple[str, str, str], object] = {}

    def get(fmt: str, sequences: str, class_label: str = "kind"):
        key = (fmt, sequences, class_label)
        if key not in made:
            made[key] = export(dataset, root / "-".join(key), fmt, sequences, class_label)
        return made[key]
    return get


def arrow_rows(export_dir, split) -> list[dict]:
    """The rows of an arrow export's split as pyarrow reads its file: the values items must hold."""
    with pa.memory_map(str(export_dir / "data" / f"{split}.arrow")) as source:
        return pa.ipc.open_file(source).read_all().to_pylist()


def nan_for_none(values: list) -> list[float]:
    return [math.nan if v is None else v for v in values]


def assert_item_holds_row(item: dict, row: dict) -> None:
    """One item against the export's row: values, Python types and tensor dtypes."""
    assert type(item["sample_id"]) is str and item["sample_id"] == row["sample_id"]
    assert type(item["label"]) is float
    np.testing.assert_array_equal(item["label"], nan_for_none([row["label"]])[0])
    assert item["labels"].dtype == torch.float32 and item["labels"].shape == (2,)
    np.testing.assert_array_equal(item["labels"].numpy(),
                                  np.array(nan_for_none([row["label_happy"], row["label_sad"]]), np.float32))
    assert item["class_id"].dtype == torch.int64 and item["class_id"].ndim == 0
    assert int(item["class_id"]) == row["class_id"]
    assert item["present"].dtype == torch.bool and item["present"].tolist() == row["present"]
    assert item["feature"].dtype == torch.float32
    feature = np.array(row["feature"], np.float32)
    if "length" in row:
        assert type(item["length"]) is int and item["length"] == row["length"]
        feature = feature.reshape(-1, item["feature"].shape[-1])
    if "mask" in row:
        assert item["mask"].dtype == torch.bool and item["mask"].tolist() == row["mask"]
    else:
        assert "mask" not in item
    np.testing.assert_array_equal(item["feature"].numpy(), feature)


@pytest.mark.parametrize("sequences", ["pool", "pad", "ragged"])
@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
def test_items_hold_the_values_and_types_of_the_export_s_rows(exports, fmt, sequences):
    data_dir, truth_dir = exports(fmt, sequences), exports("arrow", sequences)
    for split in SPLITS:
        rows, data = arrow_rows(truth_dir, split), FusedDataset(data_dir, split)
        assert len(data) == len(rows)
        order = np.random.default_rng(len(rows)).permutation(len(rows))  # across the 3-row record batches
        for position, item in zip(order, data[order]):
            assert_item_holds_row(item, rows[position])
        assert_item_holds_row(data[-1], rows[-1])
        assert data[0:0] == []


@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
def test_multi_label_targets_and_ids_match_the_export_s_rows(exports, fmt):
    rows = arrow_rows(exports("arrow", "pool", "tags"), "train")
    data = FusedDataset(exports(fmt, "pool", "tags"), "train")
    items = data[list(range(len(data)))[::-1]]
    assert [item["sample_id"] for item in items] == [row["sample_id"] for row in rows[::-1]]
    for item, row in zip(items, rows[::-1]):
        assert item["class_targets"].dtype == torch.float32 and item["class_targets"].tolist() == row["class_targets"]


@pytest.mark.parametrize("fmt", ["hf", "npy"])
def test_two_data_loader_workers_batch_the_rows_of_a_ragged_export(exports, fmt):
    rows = {row["sample_id"]: row for row in arrow_rows(exports("arrow", "ragged"), "train")}
    data = FusedDataset(exports(fmt, "ragged"), "train")
    batches = [[5, 0, 11], [3, 9], [15, 1, 7, 2], [4, 6, 8, 10, 12, 13, 14]]
    seen = []
    for batch in DataLoader(data, batch_sampler=batches, num_workers=2, collate_fn=collate_fused):
        assert batch["labels"].shape == (len(batch["sample_id"]), 2) and batch["mask"].dtype == torch.bool
        for position, sample_id in enumerate(batch["sample_id"]):
            row, length = rows[sample_id], int(batch["length"][position])
            assert type(sample_id) is str and length == row["length"]
            np.testing.assert_array_equal(batch["feature"][position, :length].numpy(),
                                          np.array(row["feature"], np.float32).reshape(length, data.metadata["dim"]))
            np.testing.assert_array_equal(batch["label"][position].numpy(),
                                          np.float32(nan_for_none([row["label"]])[0]))
        seen += batch["sample_id"]
    assert sorted(seen) == sorted(rows)
