"""Rows gathered from a mapped Arrow export of many record batches: one NumPy gather through a view spanning
the batches (`export_files._spanning_view`), the same values as reading each batch, wherever the rows lie; and
`collate_fused` taking a `__getitems__` batch as stacked while no one touched its items."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch

from mmdata.errors import DatasetError
from mmdata.fusion import collate_fused
from mmdata.fusion.export_files import _Chunked, _spanning_view, open_arrow_columns
from mmdata.fusion.torch_dataset import FusedItems

ROWS, DIM, PER_BATCH = 1_003, 6, 40  # 25 full record batches and a short last one


def write_export(root, *, per_batch: int = PER_BATCH, labels_null: bool = False):
    """An arrow export's train split as `fuse` lays it out (ids, labels, fixed-size feature rows), in record
    batches of `per_batch` rows; returns the rows it holds."""
    rng = np.random.default_rng(0)
    feature = rng.normal(size=(ROWS, DIM)).astype(np.float32)
    labels = rng.uniform(-3, 3, ROWS)
    ids = [f"v{i}[{i % 7}]" if i % 3 else f"vidéo-{i}-日本" for i in range(ROWS)]  # lengths vary, UTF-8 too
    label_array = pa.array(labels, mask=(np.arange(ROWS) % 5 == 0) if labels_null else None)
    table = pa.table({"sample_id": ids, "label": label_array,
                      "feature": pa.FixedSizeListArray.from_arrays(pa.array(feature.ravel()), DIM)})
    (root / "data").mkdir(parents=True)
    with pa.ipc.new_file(root / "data" / "train.arrow", table.schema) as writer:
        for batch in table.to_batches(max_chunksize=per_batch):
            writer.write_batch(batch)
    return ids, labels, feature


INDICES = {
    "a shuffled batch": np.random.default_rng(1).permutation(ROWS)[:256],
    "rows of the short last batch only": np.array([1_002, 1_000, 1_001]),
    "both, repeated": np.array([999, 1_002, 0, 1_002, 39, 40, 999]),
    "one row": np.array([517]),
    "every row in order": np.arange(ROWS),
}


@pytest.mark.parametrize("name", INDICES)
def test_a_gather_over_many_record_batches_reads_the_rows_asked_for(tmp_path, name):
    ids, labels, feature = write_export(tmp_path)
    columns = open_arrow_columns(tmp_path, "train", "arrow")
    idx = INDICES[name]
    assert all(columns[name].view is not None for name in ("feature",))
    assert columns["sample_id"].data.view is not None and columns["label"].values.view is not None
    np.testing.assert_array_equal(columns["feature"][idx], feature[idx])
    np.testing.assert_array_equal(columns["label"][idx], labels[idx])
    assert columns["sample_id"][idx] == [ids[i] for i in idx]


def test_labels_with_nulls_read_as_nan_across_record_batches(tmp_path):
    _, labels, _ = write_export(tmp_path, labels_null=True)
    idx = INDICES["both, repeated"]
    expected = np.where(idx % 5 == 0, np.nan, labels[idx])
    np.testing.assert_array_equal(open_arrow_columns(tmp_path, "train", "arrow")["label"][idx], expected)


def test_the_gathered_rows_are_a_copy_a_tensor_may_own_and_write(tmp_path):
    write_export(tmp_path)
    rows = open_arrow_columns(tmp_path, "train", "arrow")["feature"][np.array([3, 500])]
    assert rows.flags.writeable and rows.flags.c_contiguous
    before = open_arrow_columns(tmp_path, "train", "arrow")["feature"][np.array([3])].copy()
    rows[0] = 1e9  # writes the copy, not the mapped file
    np.testing.assert_array_equal(open_arrow_columns(tmp_path, "train", "arrow")["feature"][np.array([3])], before)


def test_arrays_lying_anywhere_in_memory_are_gathered_as_one():
    """Separately allocated arrays, views into one block and a mix are read through one spanning view (rows
    at a common stride from the lowest); arrays whose rows are not contiguous are read chunk by chunk. The
    gather's values are the same either way."""
    rng = np.random.default_rng(2)
    separate = [rng.normal(size=(int(rng.integers(1, 9)), 3)).astype(np.float32) for _ in range(9)]
    block = rng.normal(size=(4, 5, 3)).astype(np.float32)
    mixed = [separate[0], *reversed([block[i] for i in range(4)]), np.empty((0, 3), np.float32), *separate[1:4]]
    strided = [c[:, :2] for c in separate]
    for chunks, spanned in ((separate, True), (mixed, True), (strided, False)):
        gathered = _Chunked(chunks)
        whole = np.concatenate(chunks)
        idx = rng.integers(0, len(whole), 64)
        np.testing.assert_array_equal(gathered[idx], whole[idx])
        assert (gathered.view is not None) == spanned
    assert _spanning_view([np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float64)]) is None  # two dtypes


def fused_items(rows: int = 4) -> FusedItems:
    feature = torch.arange(rows * 3, dtype=torch.float32).reshape(rows, 3)
    label = torch.arange(rows, dtype=torch.float32)
    ids = [f"s{i}" for i in range(rows)]
    items = [{"sample_id": ids[i], "label": float(i), "feature": row} for i, row in enumerate(feature.unbind(0))]
    return FusedItems(items, {"label": label, "feature": feature}, ids)


def test_a_batch_no_one_touched_is_taken_as_stacked():
    items = fused_items()
    batch = collate_fused(items)
    assert batch["feature"] is items.stacked["feature"] and batch["sample_id"] == ["s0", "s1", "s2", "s3"]
    batch["sample_id"].append("x")  # the batch's list is its own
    assert collate_fused(items)["sample_id"] == ["s0", "s1", "s2", "s3"]


def test_items_read_but_not_changed_keep_the_stack_and_changes_are_stacked_anew():
    items = fused_items()
    assert [item["sample_id"] for item in items] == ["s0", "s1", "s2", "s3"]  # read: still the handed-out values
    assert collate_fused(items)["feature"] is items.stacked["feature"]

    for change in (lambda it: it.append({**it[0], "sample_id": "extra"}), lambda it: it.pop(1),
                   lambda it: it[2].update(feature=torch.zeros(3)), lambda it: it.reverse(),
                   lambda it: it.__setitem__(0, dict(it[0], label=9.0))):
        changed = fused_items()
        change(changed)
        batch = collate_fused(changed)
        assert batch["feature"] is not changed.stacked["feature"]
        assert batch["sample_id"] == [item["sample_id"] for item in changed]
        assert torch.equal(batch["feature"], torch.stack([item["feature"] for item in changed]))
        assert batch["label"].tolist() == [item["label"] for item in changed]


def test_items_survive_pickling_as_a_dataloader_worker_sends_them():
    """A worker whose collate function returns the items themselves pickles them to the main process."""
    import pickle

    items = fused_items()
    back = pickle.loads(pickle.dumps(items))
    assert [item["sample_id"] for item in back] == ["s0", "s1", "s2", "s3"]
    batch = collate_fused(back)
    assert torch.equal(batch["feature"], items.stacked["feature"]) and batch["sample_id"] == ["s0", "s1", "s2", "s3"]


def test_an_item_changed_by_a_comparison_is_stacked_anew():
    """`x in items` hands each item to x's `__eq__`, which may change it: the items count as touched."""
    class Grab:
        def __eq__(self, item):
            item["label"] = 42.0
            return False

    items = fused_items(2)
    assert Grab() not in items
    assert collate_fused(items)["label"].tolist() == [42.0, 42.0]


def test_a_string_offset_outside_its_batch_is_refused_not_read(tmp_path):
    """A damaged id column (an offset past its record batch's bytes, which Arrow's reader does not check
    in the middle of the offsets) is a DatasetError naming the export, not bytes read from elsewhere."""
    good = pa.array(["aaaa", "bbbb", "cccc"])
    bad = pa.StringArray.from_buffers(3, pa.py_buffer(np.array([0, 20, 8, 12], np.int32).tobytes()),
                                      pa.py_buffer(b"AAAABBBBCCCC"))
    schema = pa.schema([("sample_id", pa.string()), ("label", pa.float64()),
                        ("feature", pa.list_(pa.float32(), 2))])
    (tmp_path / "data").mkdir()
    with pa.ipc.new_file(tmp_path / "data" / "train.arrow", schema) as writer:
        for ids in (good, bad):
            feature = pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(6, np.float32)), 2)
            writer.write_batch(pa.record_batch([ids, pa.array([0.0, 1.0, 2.0]), feature], schema=schema))
    ids = open_arrow_columns(tmp_path, "train", "arrow")["sample_id"]
    assert ids[np.array([2, 0])] == ["cccc", "aaaa"]
    with pytest.raises(DatasetError, match=r"data.*strings are damaged.*--force"):
        ids[np.array([3])]


def test_a_row_outside_its_array_is_an_index_error_not_a_read_between_arrays():
    block = np.arange(60, dtype=np.float32).reshape(30, 2)
    gathered = _Chunked([block[20:22], block[0:2]])
    with pytest.raises(IndexError, match="row 5 of array 0, which holds 2"):
        gathered.take(np.array([0]), np.array([5]))
    with pytest.raises(IndexError):
        gathered.take(np.array([1]), np.array([-1]))


def test_rows_of_several_mapped_files_are_gathered_as_one(tmp_path):
    """An hf export's split is several Arrow stream files (`save_to_disk` shards), each mapped on its own:
    the view spans the mappings, and every row read is one of theirs."""
    ids, labels, feature = write_export(tmp_path / "arrow")
    table = pa.ipc.open_file(tmp_path / "arrow" / "data" / "train.arrow").read_all()
    (tmp_path / "hf" / "train").mkdir(parents=True)
    for shard, start in enumerate((0, 500)):
        part = table.slice(start, 500 if start == 0 else ROWS - 500)
        with pa.ipc.new_stream(tmp_path / "hf" / "train" / f"data-{shard:05d}-of-00002.arrow", table.schema) as writer:
            for batch in part.to_batches(max_chunksize=37):
                writer.write_batch(batch)
    columns = open_arrow_columns(tmp_path / "hf", "train", "hf")
    idx = np.random.default_rng(3).permutation(ROWS)
    np.testing.assert_array_equal(columns["feature"][idx], feature[idx])
    assert columns["sample_id"][idx] == [ids[i] for i in idx]
    np.testing.assert_array_equal(columns["label"][idx], labels[idx])
