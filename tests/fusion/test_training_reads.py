"""Reading datasets and fused exports as a training script does: `open_dataset` tables joined with the
samples, `FusedDataset` through multi-worker DataLoaders (fork and spawn, shuffled, persistent, several
epochs) against plain pyarrow reads, Hugging Face `datasets` reads, and the errors for wrong or
unfinished directories."""
from __future__ import annotations

import json
import logging
import pickle
import shutil
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader

import mmdata
from mmdata.errors import CorpusNotFoundError, DatasetError, UnknownNameError
from mmdata.fusion import FusedDataset, collate_fused, fuse, read_fused_metadata
from mmdata.store import layout, open_dataset
from tests.checks.builder import (aligned_table, build_dataset, image_text_samples, mosi_samples, pooled_table,
                                  with_value)
from tests.fusion.export_tables import hugging_face_reads

S = image_text_samples()
IMAGE = with_value(pooled_table("image.a", S, 4), 2, None)  # sample 2 failed: a null feature


def _image_text(tmp_path, **table):
    return build_dataset(tmp_path / "ds", S, [replace(IMAGE, **table)], shard_size=5)


def _mosi(tmp_path):
    """12 labelled segments over train/valid/test (6/3/3): one label 0.1, one absent, one image feature
    missing; aligned sequences of 4 steps, 2 for the segments `vid*[1]`."""
    samples = mosi_samples()
    samples[0] = replace(samples[0], label=0.1)
    samples[4] = replace(samples[4], label=None)
    tables = [aligned_table("text.w", samples, 2, 4), aligned_table("video.v", samples, 3, 4, seed=3),
              with_value(pooled_table("image.p", samples, 2), 3, None)]
    for table in tables[:2]:
        for i, s in enumerate(samples):
            if s.sample_id.endswith("[1]"):
                table.values[i], table.intervals[i] = table.values[i][:2], table.intervals[i][:2]
    return build_dataset(tmp_path / "mosi", samples, tables, corpus_kind="mosi-raw", shard_size=5)


def _export_rows(out, split):
    """The rows of one split of a Parquet export, read with plain pyarrow, by sample id."""
    files = read_fused_metadata(out)["files"][split]
    return {r["sample_id"]: r for r in pa.concat_tables([pq.read_table(out / f) for f in files]).to_pylist()}


def _assert_batch_rows(batch, expected, sequences):
    """Every row of a collated batch equals the export's row of its sample id, with the documented dtypes."""
    assert batch["feature"].dtype == torch.float32 and batch["label"].dtype == torch.float32
    assert batch["present"].dtype == torch.bool
    for row, sample_id in enumerate(batch["sample_id"]):
        want = expected[sample_id]
        feature = np.array(want["feature"], np.float32)
        np.testing.assert_array_equal(batch["feature"][row, : len(feature)].numpy(), feature)
        assert batch["present"][row].tolist() == want["present"]
        label = batch["label"][row].item()
        assert np.isnan(label) if want["label"] is None else label == np.float32(want["label"])
        if sequences:
            assert batch["length"].dtype == torch.int64 and batch["mask"].dtype == torch.bool
            length = want["length"]
            assert int(batch["length"][row]) == length == (len(feature) if sequences == "ragged" else length)
            assert batch["mask"][row].tolist() == [True] * length + [False] * (batch["feature"].shape[1] - length)
            assert not batch["feature"][row, length:].any()


# ---- open_dataset ----------------------------------------------------------------------------------


def test_feature_table_joins_the_samples_by_row_filters_a_split_and_reads_in_batches(tmp_path):
    """What the `Dataset` docstring shows: a complete table is row-aligned with the samples table."""
    data = open_dataset(_image_text(tmp_path))
    samples = data.samples_table(["sample_id", "split", "label"])
    features = data.read_table("image.a").append_column("split", samples["split"])
    assert features.column("sample_id").equals(samples.column("sample_id"))
    train = features.filter(pc.equal(features["split"], "train"))
    expected = [s.sample_id for s in S if s.split == "train"]
    assert train.column("sample_id").to_pylist() == expected and set(train.column("split").to_pylist()) == {"train"}
    by_id = {s.sample_id: i for i, s in enumerate(S)}
    for sample_id, feature in zip(expected, train.column("feature").to_pylist()):
        value = IMAGE.values[by_id[sample_id]]
        assert feature is None if value is None else np.array_equal(np.array(feature, np.float32), value)
    batches = list(data.table("image.a").to_batches(batch_size=4))
    assert max(b.num_rows for b in batches) <= 4
    assert pa.Table.from_batches(batches).equals(data.read_table("image.a"))
    assert data.errors().column("sample_id").to_pylist() == [S[2].sample_id]


def test_wrong_directories_and_table_names_say_what_they_are(tmp_path):
    root = _image_text(tmp_path)
    with pytest.raises(CorpusNotFoundError, match="dataset directory not found"):
        open_dataset(tmp_path / "nowhere")
    for staged in (".shared.partial-0a1b2c3d", ".shared.replaced"):  # where `mmdata share` writes, replaces
        (tmp_path / staged).mkdir()
        with pytest.raises(CorpusNotFoundError, match=rf"not found: {tmp_path / 'shared'}; a command is writing it "
                                                      rf"now into {tmp_path / staged}"):
            open_dataset(tmp_path / "shared")
        (tmp_path / staged).rmdir()
    with pytest.raises(DatasetError, match=rf"mmdata.json is a file, not an mmdata dataset directory; open its "
                                           rf"directory, {root}"):
        open_dataset(root / "mmdata.json")
    with pytest.raises(DatasetError, match=r"is not an mmdata dataset: no mmdata.json found; it holds the datasets "
                                           r"\['ds'\]: open one of them"):
        open_dataset(tmp_path)
    fuse(root, tmp_path / "fused", format="arrow", missing="zero")
    with pytest.raises(DatasetError, match=r"is not an mmdata dataset but a fused export .*FusedDataset"):
        open_dataset(tmp_path / "fused")
    with pytest.raises(DatasetError, match=r"it is a dataset directory \(mmdata.json\); fuse its tables"):
        FusedDataset(root)
    with pytest.raises(UnknownNameError, match=r"has no table 'image'; tables: \['image.a'\]"):
        open_dataset(root).read_table("image")


def test_a_dataset_whose_first_extract_is_still_writing_is_named_as_such(tmp_path):
    root = _image_text(tmp_path)
    (root / "mmdata.json").unlink()  # extract writes the manifest right after the samples table
    with pytest.raises(DatasetError, match=r"not an mmdata dataset yet: it holds a samples table but no "
                                           r"mmdata.json.*running now .* or was interrupted"):
        open_dataset(root)


def _mark_incomplete(root, name):
    manifest = json.loads((root / "mmdata.json").read_text())
    manifest["tables"][name]["complete"] = False
    (root / "mmdata.json").write_text(json.dumps(manifest))


def test_a_table_being_written_without_a_finished_shard_is_not_sent_to_deletion(tmp_path):
    root = _image_text(tmp_path)
    _mark_incomplete(root, "image.a")
    folder = layout.feature_dir(root, "image.a")
    for shard in layout.shard_files(folder):  # the writer's first shard is still a hidden temporary file
        shard.unlink()
    (folder / ".part-00000.parquet.1a2b3c4d.tmp").write_bytes(b"PAR1")
    data = open_dataset(root)
    for read in (data.table, data.read_table):
        with pytest.raises(DatasetError, match=r"table 'image.a' has no finished shard yet: mmdata.json marks it "
                                               r"incomplete, .* running now or was interrupted \(.part-00000.parquet"
                                               r".1a2b3c4d.tmp in .* is a shard being written\); read it when") as e:
            read("image.a")
        assert "delete" not in str(e.value)


def test_reading_an_incomplete_table_warns_once_that_rows_are_missing(tmp_path, caplog):
    root = _image_text(tmp_path)
    _mark_incomplete(root, "image.a")
    layout.feature_dir(root, "image.a").joinpath(layout.shard_name(2)).unlink()
    data = open_dataset(root)
    with caplog.at_level(logging.WARNING, logger="mmdata.store.reader"):
        assert data.read_table("image.a").num_rows == 10
        assert data.table("image.a").count_rows() == 10
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "table 'image.a' is incomplete" in warnings[0]
    assert "reading the 2 of its 3 shards that are finished" in warnings[0]
    caplog.clear()
    _image_text(tmp_path / "complete")
    open_dataset(tmp_path / "complete" / "ds").read_table("image.a")
    assert not caplog.records


# ---- FusedDataset ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sequences", [None, "pad", "ragged"])
@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
def test_shuffled_persistent_workers_give_every_row_of_the_export_once_per_epoch(tmp_path, fmt, sequences):
    root = _mosi(tmp_path)
    options = {"missing": "zero", **({"sequences": sequences} if sequences else {})}
    fuse(root, tmp_path / "pq", **options)
    fuse(root, tmp_path / "out", format=fmt, **options)
    for split, rows in {"train": 6, "valid": 3, "test": 3}.items():
        expected = _export_rows(tmp_path / "pq", split)
        data = FusedDataset(tmp_path / "out", split)
        assert len(data) == len(expected) == rows
        data[0]  # opened in the parent first: forked workers inherit its maps
        loader = DataLoader(data, batch_size=4, shuffle=True, num_workers=2, persistent_workers=True,
                            pin_memory=False, collate_fn=collate_fused, multiprocessing_context="fork")
        for _ in range(2):
            seen = []
            for batch in loader:
                _assert_batch_rows(batch, expected, sequences)
                seen += batch["sample_id"]
            assert sorted(seen) == sorted(expected)


def test_spawned_workers_open_the_export_themselves(tmp_path):
    root = _mosi(tmp_path)
    fuse(root, tmp_path / "pq", sequences="ragged", missing="zero")
    fuse(root, tmp_path / "out", sequences="ragged", missing="zero", format="arrow")
    data = FusedDataset(tmp_path / "out", "train")
    data[0]
    copy = pickle.loads(pickle.dumps(data))  # what a spawned worker gets: the path, no mapped buffers
    assert copy._columns is None and copy[0]["sample_id"] == data[0]["sample_id"]
    expected = _export_rows(tmp_path / "pq", "train")
    # One worker: spawning imports torch afresh in each (seconds); the forked ones above split the rows.
    loader = DataLoader(data, batch_size=4, shuffle=True, num_workers=1, persistent_workers=True,
                        collate_fn=collate_fused, multiprocessing_context="spawn")
    for _ in range(2):
        seen = []
        for batch in loader:
            _assert_batch_rows(batch, expected, "ragged")
            seen += batch["sample_id"]
        assert sorted(seen) == sorted(expected)


@pytest.mark.parametrize("sequences", [None, "pad", "ragged"])
def test_an_arrow_export_of_many_record_batches_reads_the_same_rows(tmp_path, sequences):
    """Any valid IPC file reads alike, whatever its record batches (big exports have many)."""
    options = {"missing": "zero", **({"sequences": sequences} if sequences else {})}
    root = _mosi(tmp_path)
    fuse(root, tmp_path / "pq", **options)
    fuse(root, tmp_path / "out", format="arrow", **options)
    path = tmp_path / "out" / "data" / "train.arrow"
    table = pa.ipc.open_file(pa.BufferReader(path.read_bytes())).read_all()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=2):
            writer.write_batch(batch)
    data = FusedDataset(tmp_path / "out", "train")
    order = [5, 0, 3, 2, 4, 1, 3, -1]
    batch = collate_fused(data.__getitems__(order))
    ids = table.column("sample_id").to_pylist()
    assert batch["sample_id"] == [ids[i] for i in order]
    _assert_batch_rows(batch, _export_rows(tmp_path / "pq", "train"), sequences)


def test_item_labels_are_the_exported_values_and_nan_when_absent(tmp_path):
    root = _mosi(tmp_path)
    for fmt in ("arrow", "hf", "npy"):
        fuse(root, tmp_path / fmt, format=fmt, missing="zero")
        data = FusedDataset(tmp_path / fmt, "train")
        items = {data[i]["sample_id"]: data[i] for i in range(len(data))}
        assert items["vid0[0]"]["label"] == 0.1  # not 0.10000000149 (its float32)
        assert np.isnan(items["vid1[1]"]["label"])
        batch = collate_fused([items["vid0[0]"], items["vid1[1]"]])
        assert batch["label"].dtype == torch.float32 and batch["label"][0] == torch.tensor(0.1)


def test_indexing_takes_integers_in_range_only(tmp_path):
    fuse(_mosi(tmp_path), tmp_path / "out", format="npy", missing="zero")
    data = FusedDataset(tmp_path / "out", "train")
    assert data[-6]["sample_id"] == data[0]["sample_id"] and data[np.int64(5)]["sample_id"] == data[-1]["sample_id"]
    assert data[torch.tensor(1)]["sample_id"] == data[1]["sample_id"]
    for index in (6, -7):
        with pytest.raises(IndexError, match=r"index out of range for split 'train' of 6 rows"):
            data[index]
    for index in (1.5, "1"):
        with pytest.raises(TypeError):
            data[index]
    with pytest.raises(TypeError, match="indices must be integers"):
        data.__getitems__([0.0, 1.7])
    assert [item["sample_id"] for item in data] == [data[i]["sample_id"] for i in range(6)]


@pytest.mark.parametrize("sequences", [None, "pad"])
def test_hf_datasets_torch_reads_of_the_exports_equal_fused_dataset(tmp_path, sequences):
    root = _mosi(tmp_path)
    options = {"missing": "zero", **({"sequences": sequences} if sequences else {})}
    fuse(root, tmp_path / "pq", **options)
    fuse(root, tmp_path / "hf", format="hf", **options)
    fuse(root, tmp_path / "arrow", format="arrow", **options)
    loaded = hugging_face_reads(tmp_path / "pq", tmp_path / "hf", tmp_path / "cache")
    for how, splits in loaded.items():
        splits.set_format("torch")
        for split in ("train", "valid", "test"):
            data = FusedDataset(tmp_path / "arrow", split)
            ours = collate_fused(data.__getitems__(list(range(len(data)))))
            theirs = splits[split][0:len(data)]
            assert theirs["sample_id"] == ours["sample_id"], how
            for key in ("feature", "present", *(("length", "mask") if sequences else ())):
                assert torch.equal(theirs[key], ours[key]), (how, key)
            assert torch.allclose(theirs["label"].float(), ours["label"], equal_nan=True), how


def test_an_export_being_written_or_missing_is_named_as_such(tmp_path):
    with pytest.raises(DatasetError, match=r"is not a fused export: the directory does not exist; create one with "
                                           r"`mmdata fuse"):
        FusedDataset(tmp_path / "fused")
    staged = tmp_path / ".fused.tmp-12345"  # where `mmdata fuse` writes before renaming it onto the export
    staged.mkdir()
    with pytest.raises(DatasetError, match=rf"a `mmdata fuse` is writing it now into {staged} .*open it when"):
        read_fused_metadata(tmp_path / "fused")
    shutil.rmtree(staged)
    (tmp_path / "fused").mkdir()
    with pytest.raises(DatasetError, match=r"is not a fused export: no fused.json; create one with `mmdata fuse"):
        FusedDataset(tmp_path / "fused")


def test_top_level_names_import_lazily():
    from mmdata import FusedDataset as top_fused
    from mmdata import open_dataset as top_open

    assert top_fused is FusedDataset and top_open is open_dataset and mmdata.collate_fused is collate_fused
    assert {"extract", "fuse", "open_dataset"} <= set(dir(mmdata))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mmdata.nope  # noqa: B018
    script = "import sys, mmdata; print('pyarrow' in sys.modules, callable(mmdata.open_dataset))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
