"""An npy export writes its class column as a .npy file beside the features (`class_targets.npy`, N x C
float32 multi-hot; `class_ids.npy`, N int64) that `FusedDataset` memory-maps, so a DataLoader worker no
longer holds the whole column (4 GB at AudioSet's 2M x 527); the values are those of index.parquet, which
keeps the column, and an export written before (no such file) still reads, from index.parquet."""
from __future__ import annotations

import json
import pickle
import tracemalloc
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from torch.utils.data import DataLoader

from mmdata.fusion import FusedDataset, collate_fused, fuse, read_fused_metadata
from tests.checks.builder import build_dataset, image_text_samples, pooled_table

ROWS, CLASSES = 1500, 600  # class_targets: 3.6 MB of float32


@pytest.fixture(scope="module")
def labelled_dataset(tmp_path_factory):
    """1500 train samples, each with 3 of 600 classes (`extra["tags"]`) and one class (`extra["kind"]`)."""
    rng = np.random.default_rng(0)
    names = [f"c{k:03d}" for k in range(CLASSES)]
    samples = [replace(s, split="train", extra={"tags": sorted(rng.choice(names, 3, replace=False).tolist()),
                                                  "kind": names[i % 7]})
               for i, s in enumerate(image_text_samples(ROWS))]
    return build_dataset(tmp_path_factory.mktemp("tags") / "ds", samples, [pooled_table("image.a", samples, 4)],
                         shard_size=500)


def index_column(out, column):
    """The class column as index.parquet holds it: (N,) int64 or (N, C) float32."""
    values = pq.read_table(out / "train" / "index.parquet", columns=[column]).column(column).combine_chunks()
    if column == "class_id":
        return values.to_numpy()
    return values.flatten().to_numpy().reshape(len(values), -1)


def peak_bytes_of_first_read(data: FusedDataset) -> int:
    """Bytes NumPy, Python and Arrow allocate at most while the dataset maps its files and reads an item."""
    before = pa.total_allocated_bytes()
    tracemalloc.start()
    try:
        data[0]
        return tracemalloc.get_traced_memory()[1] + max(0, pa.total_allocated_bytes() - before)
    finally:
        tracemalloc.stop()


def as_previous_version_wrote_it(out, name):
    """Remove the class column's .npy file and its entry in fused.json, as exports of mmdata 0.5.1 lack them."""
    (out / "train" / name).unlink()
    metadata = json.loads((out / "fused.json").read_text())
    metadata["files"]["train"].remove(f"train/{name}")
    (out / "fused.json").write_text(json.dumps(metadata))


def test_multi_label_targets_are_mapped_from_their_npy_file_not_held_in_memory(labelled_dataset, tmp_path):
    out = tmp_path / "out"
    fuse(labelled_dataset, out, format="npy", class_label="tags")
    assert "train/class_targets.npy" in read_fused_metadata(out)["files"]["train"]
    stored = np.load(out / "train" / "class_targets.npy", mmap_mode="r")
    assert stored.dtype == np.float32 and stored.shape == (ROWS, CLASSES)
    assert np.array_equal(stored, index_column(out, "class_targets")) and stored.sum() == 3 * ROWS

    data = pickle.loads(pickle.dumps(FusedDataset(out, "train")))  # as a DataLoader worker gets it
    assert peak_bytes_of_first_read(data) < 1 << 20  # the column is 3.6 MB
    assert isinstance(data._open()["class_targets"], np.memmap)
    arrow = fuse(labelled_dataset, tmp_path / "arrow", format="arrow", class_label="tags")
    expected = {item["sample_id"]: item["class_targets"].tolist() for item in FusedDataset(arrow.output_dir, "train")}
    seen = {}
    for batch in DataLoader(data, batch_size=256, num_workers=2, collate_fn=collate_fused):
        seen.update(zip(batch["sample_id"], batch["class_targets"].tolist()))
    assert seen == expected


def test_class_ids_are_mapped_from_their_npy_file_and_equal_the_index(labelled_dataset, tmp_path):
    out = tmp_path / "out"
    fuse(labelled_dataset, out, format="npy", class_label="kind")
    data = FusedDataset(out, "train")
    columns = data._open()
    assert isinstance(columns["class_id"], np.memmap) and columns["class_id"].dtype == np.int64
    assert np.array_equal(columns["class_id"], index_column(out, "class_id"))
    ids = [item["sample_id"] for item in data]
    assert [data.classes[int(data[i]["class_id"])] for i in range(3)] == [f"c{int(s) % 7:03d}" for s in ids[:3]]
    arrow = FusedDataset(fuse(labelled_dataset, tmp_path / "arrow", format="arrow", class_label="kind").output_dir)
    chunk = arrow._open()["class_id"].chunks[0]
    assert not chunk.flags.owndata  # a view of the mapped Arrow file, not a copy
    assert {item["sample_id"]: int(item["class_id"]) for item in arrow} == dict(zip(ids, columns["class_id"].tolist()))


@pytest.mark.parametrize(("label", "column", "name"), [("tags", "class_targets", "class_targets.npy"),
                                                        ("kind", "class_id", "class_ids.npy")])
def test_an_export_of_the_previous_layout_reads_its_class_column_from_the_index(labelled_dataset, tmp_path, label,
                                                                               column, name):
    out = tmp_path / "out"
    fuse(labelled_dataset, out, format="npy", class_label=label)
    new = {item["sample_id"]: item[column].tolist() for item in FusedDataset(out, "train")}
    as_previous_version_wrote_it(out, name)
    old = FusedDataset(out, "train")
    if column == "class_targets":
        assert peak_bytes_of_first_read(old) > 3 << 20  # the previous way: the whole column in memory
    seen = {}
    for batch in DataLoader(old, batch_size=256, num_workers=2, collate_fn=collate_fused):
        seen.update(zip(batch["sample_id"], batch[column].tolist()))
    assert seen == new and len(seen) == ROWS
