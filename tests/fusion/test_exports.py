"""Every export format reads back with identical values: pyarrow, Hugging Face datasets, NumPy memmaps,
and the PyTorch Dataset through a multi-worker DataLoader; plus `mmdata fuse`."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.fusion import FusedDataset, collate_fused, fuse, read_fused_metadata
from mmdata.store.shards import parquet_pool
from tests.checks.builder import aligned_table, build_dataset, image_text_samples, mosi_samples, pooled_table, with_value

runner = CliRunner()
S = image_text_samples()
M = mosi_samples()


def _image_text(tmp_path, table_format="parquet"):
    """Parquet inputs take fuse's staged pass, Arrow IPC inputs its direct one (`mmdata.fusion.direct`)."""
    image = replace(with_value(pooled_table("image.a", S, 4), 2, None), table_format=table_format)
    text = replace(pooled_table("text.b", S, 3, seed=1), table_format=table_format)
    return build_dataset(tmp_path / "ds", S, [image, text], shard_size=5)


def _mosi(tmp_path):
    tables = [aligned_table("text.w", M, 2, 4), aligned_table("video.v", M, 2, 4, seed=3), pooled_table("image.p", M, 2)]
    # ragged lengths: sample 1 of each video has only 2 steps (the same 2 in both aligned tables)
    for table in tables[:2]:
        for i, s in enumerate(M):
            if s.sample_id.endswith("[1]"):
                table.values[i], table.intervals[i] = table.values[i][:2], table.intervals[i][:2]
    return build_dataset(tmp_path / "mosi", M, tables, corpus_kind="mosi-raw", shard_size=5)


def _parquet_rows(out):
    meta = read_fused_metadata(out)
    table = pa.concat_tables([pq.read_table(out / f) for files in meta["files"].values() for f in files])
    return {r["sample_id"]: r for r in table.to_pylist()}


def test_hf_save_to_disk_and_parquet_load_dataset_read_the_same_values(tmp_path):
    import datasets

    root = _image_text(tmp_path)
    fuse(root, tmp_path / "pq", missing="zero")
    fuse(root, tmp_path / "hf", missing="zero", format="hf")
    expected = _parquet_rows(tmp_path / "pq")
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    assert sorted(loaded) == ["test", "train", "val"] and loaded["train"].num_rows == 7
    files = read_fused_metadata(tmp_path / "pq")["files"]
    from_parquet = datasets.load_dataset("parquet", data_files={k: [str(tmp_path / "pq" / f) for f in v] for k, v in files.items()},
                                         cache_dir=str(tmp_path / "cache"))
    for dataset in (loaded, from_parquet):
        features = dataset["train"].features
        assert features["feature"] == datasets.List(datasets.Value("float32"), length=7)
        assert features["present"] == datasets.List(datasets.Value("bool"), length=2)
        for split in ("train", "val", "test"):
            for row in dataset[split]:
                want = expected[row["sample_id"]]
                np.testing.assert_array_equal(np.array(row["feature"], np.float32), np.array(want["feature"], np.float32))
                assert row["present"] == want["present"] and row["split"] == split


@pytest.mark.parametrize("mode", ["pad", "ragged"])
def test_hf_exports_of_sequences_read_back_with_their_steps(tmp_path, mode):
    """Sequences through `save_to_disk` and Parquet + `load_dataset`: (T, D) rows, lengths, masks."""
    import datasets

    root = _mosi(tmp_path)
    fuse(root, tmp_path / "pq", sequences=mode, missing="zero")
    fuse(root, tmp_path / "hf", sequences=mode, missing="zero", format="hf")
    expected = _parquet_rows(tmp_path / "pq")
    files = read_fused_metadata(tmp_path / "pq")["files"]
    from_parquet = datasets.load_dataset("parquet", data_files={k: [str(tmp_path / "pq" / f) for f in v] for k, v in files.items()},
                                         cache_dir=str(tmp_path / "cache"))
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    step = datasets.List(datasets.Value("float32"), length=read_fused_metadata(tmp_path / "pq")["dim"])
    for dataset in (loaded, from_parquet):
        feature_type = dataset["train"].features["feature"]
        assert feature_type == (datasets.List(step, length=4) if mode == "pad" else datasets.List(step))
        for row in dataset["train"]:
            want = expected[row["sample_id"]]
            np.testing.assert_array_equal(np.array(row["feature"], np.float32), np.array(want["feature"], np.float32))
            assert row["length"] == want["length"] == (2 if row["sample_id"].endswith("[1]") else 4)
            if mode == "pad":
                assert row["mask"] == want["mask"] == [True] * row["length"] + [False] * (4 - row["length"])
    batch = next(iter(DataLoader(FusedDataset(tmp_path / "hf", "train"), batch_size=4, num_workers=2,
                                 collate_fn=collate_fused)))
    first = expected[batch["sample_id"][0]]
    np.testing.assert_array_equal(batch["feature"][0, : first["length"]].numpy(),
                                  np.array(first["feature"], np.float32)[: first["length"]])
    assert batch["length"].tolist() == [expected[s]["length"] for s in batch["sample_id"]]


@pytest.mark.parametrize("table_format", ["parquet", "arrow"])
@pytest.mark.parametrize("fmt", ["arrow", "npy", "hf"])
def test_dataloader_with_workers_reads_pooled_export_identically(tmp_path, fmt, table_format):
    root = _image_text(tmp_path, table_format)
    fuse(root, tmp_path / "pq", missing="zero")
    fuse(root, tmp_path / "out", missing="zero", format=fmt)
    expected = _parquet_rows(tmp_path / "pq")
    data = FusedDataset(tmp_path / "out", "train")
    loader = DataLoader(data, batch_size=3, num_workers=2, collate_fn=collate_fused)
    seen = []
    for batch in loader:
        assert batch["feature"].dtype == torch.float32 and batch["feature"].shape[1] == 7
        for row, sample_id in enumerate(batch["sample_id"]):
            np.testing.assert_array_equal(batch["feature"][row].numpy(), np.array(expected[sample_id]["feature"], np.float32))
            assert batch["present"][row].tolist() == expected[sample_id]["present"]
            seen.append(sample_id)
    assert sorted(seen) == sorted(k for k, v in expected.items() if v["split"] == "train")
    assert torch.isnan(batch["label"]).all()  # the image-text corpus has no labels


@pytest.mark.parametrize("fmt", ["arrow", "npy"])
@pytest.mark.parametrize("mode", ["pad", "ragged"])
def test_sequence_exports_read_back_with_lengths_and_masks(tmp_path, fmt, mode):
    root = _mosi(tmp_path)
    fuse(root, tmp_path / "pq", sequences="ragged")
    fuse(root, tmp_path / "out", sequences=mode, format=fmt)
    expected = _parquet_rows(tmp_path / "pq")
    data = FusedDataset(tmp_path / "out", "train")
    assert len(data) == 6
    batch = next(iter(DataLoader(data, batch_size=6, num_workers=2, collate_fn=collate_fused)))
    assert batch["feature"].shape == (6, 4, 6)
    for row, sample_id in enumerate(batch["sample_id"]):
        want = np.array(expected[sample_id]["feature"], np.float32)
        length = len(want)
        assert int(batch["length"][row]) == length and batch["mask"][row].tolist() == [True] * length + [False] * (4 - length)
        np.testing.assert_array_equal(batch["feature"][row, :length].numpy(), want)
        assert not batch["feature"][row, length:].any()
        assert batch["label"][row].item() == pytest.approx(expected[sample_id]["label"])


@pytest.mark.parametrize("sequences, kind", [(None, "pooled"), ("pad", "padded"), ("ragged", "ragged")])
def test_exported_features_are_declared_never_null_in_the_files(tmp_path, sequences, kind):
    root = _mosi(tmp_path) if sequences else _image_text(tmp_path)
    options = {"sequences": sequences} if sequences else {"missing": "zero"}
    fuse(root, tmp_path / "pq", **options)
    fuse(root, tmp_path / "arrow", format="arrow", **options)
    parquet_schema = pq.read_schema(tmp_path / "pq" / read_fused_metadata(tmp_path / "pq")["files"]["train"][0])
    with pa.memory_map(str(tmp_path / "arrow" / "data" / "train.arrow")) as source:
        arrow_schema = pa.ipc.open_file(source).schema
    for schema in (parquet_schema, arrow_schema):
        field, depth = schema.field("feature"), 0
        assert not field.nullable
        while pa.types.is_list(field.type) or pa.types.is_fixed_size_list(field.type):
            field, depth = field.type.value_field, depth + 1
            assert not field.nullable
        assert field.type == pa.float32() and depth == (1 if kind == "pooled" else 2)
        extra = {"pooled": ["present"], "padded": ["length", "mask"], "ragged": ["length"]}[kind]
        assert all(not schema.field(name).nullable for name in extra)


def test_parquet_export_is_not_memory_mappable_and_unknown_split_is_named(tmp_path):
    root = _image_text(tmp_path)
    fuse(root, tmp_path / "pq", missing="drop")
    with pytest.raises(DatasetError, match="not memory-mappable"):
        FusedDataset(tmp_path / "pq")
    fuse(root, tmp_path / "arrow", missing="drop", format="arrow")
    with pytest.raises(DatasetError, match=r"no split 'valid'; splits: \['test', 'train', 'val'\]"):
        FusedDataset(tmp_path / "arrow", "valid")
    data = FusedDataset(tmp_path / "arrow", "train")
    assert data[-1]["sample_id"] == data[len(data) - 1]["sample_id"]
    with pytest.raises(IndexError):
        data[len(data)]


def test_parquet_export_is_encoded_in_the_parquet_pool(tmp_path):
    """The encoder allocates from jemalloc (`parquet_pool`), not Arrow's default pool (Arrow IPC
    inputs: memory-mapped, they allocate nothing there)."""
    image = replace(pooled_table("image.a", S, 2048), table_format="arrow")
    root = build_dataset(tmp_path / "ds", S, [image], shard_size=5)
    pool = parquet_pool()
    before = pool.total_bytes_allocated()
    fuse(root, tmp_path / "pq", normalize="none")
    assert pool.total_bytes_allocated() - before >= 4 * 2048 * len(S)  # at least the values went through it
    rows = _parquet_rows(tmp_path / "pq")
    np.testing.assert_array_equal(rows[S[0].sample_id]["feature"], image.values[0])


def test_npy_export_is_memory_mappable_with_an_index(tmp_path):
    fuse(_image_text(tmp_path), tmp_path / "out", missing="zero", format="npy", normalize="none")
    features = np.load(tmp_path / "out" / "train" / "features.npy", mmap_mode="r")
    index = pq.read_table(tmp_path / "out" / "train" / "index.parquet")
    assert isinstance(features, np.memmap) and features.shape == (7, 7)
    assert index.column("row").to_pylist() == list(range(7))
    first = S[0]
    assert index.column("sample_id")[0].as_py() == first.sample_id
    np.testing.assert_allclose(features[0, :4], pooled_table("image.a", S, 4).values[0])


def test_cli_fuse_writes_the_export_and_reports_counts(tmp_path):
    root = _image_text(tmp_path)
    result = runner.invoke(app, ["fuse", str(root), str(tmp_path / "out"), "--tables", "text,image",
                                 "--normalize", "l2", "--missing", "drop", "--format", "arrow"])
    assert result.exit_code == 0, result.output
    assert "fused 11 rows x 7 dims (text.b, image.a)" in result.output and "dropped 1" in result.output
    assert read_fused_metadata(tmp_path / "out")["tables"] == ["text.b", "image.a"]
    bad = runner.invoke(app, ["fuse", str(root), str(tmp_path / "out2"), "--missing", "error"])
    assert bad.exit_code == 2
    assert bad.output.startswith("error: table 'image.a', sample '000000000002': no feature")
    wrong = runner.invoke(app, ["fuse", str(root), str(tmp_path / "out3"), "--format", "csv"])
    assert wrong.exit_code == 2 and "format='csv' is not one of" in wrong.output


def test_cli_fuse_takes_the_export_directory_as_out_and_a_non_finite_policy(tmp_path):
    image = replace(with_value(pooled_table("image.a", S, 4), 2, np.array([0, np.inf, 0, 0], np.float32)),
                    table_format="arrow")
    root = build_dataset(tmp_path / "ds", S, [image, pooled_table("text.b", S, 3, seed=1)], shard_size=5)
    bad = runner.invoke(app, ["fuse", str(root), "--out", str(tmp_path / "out")])
    assert bad.exit_code == 2 and "sample '000000000002': the feature holds NaN or Inf" in bad.output
    assert not (tmp_path / "out").exists()
    result = runner.invoke(app, ["fuse", str(root), "--out", str(tmp_path / "out"), "--non-finite", "missing",
                                 "--missing", "zero"])
    assert result.exit_code == 0, result.output
    assert "missing: image.a: 1, text.b: 0; dropped 0" in result.output
    both = runner.invoke(app, ["fuse", str(root), str(tmp_path / "a"), "--out", str(tmp_path / "b")])
    assert both.exit_code == 2 and "give the export directory once" in both.output
    neither = runner.invoke(app, ["fuse", str(root)])
    assert neither.exit_code == 2 and "give the export directory once" in neither.output


def test_cli_fuse_refuses_a_split_leak_unless_allowed(tmp_path):
    samples = [replace(s, image="img/000000000001.jpg") if s.sample_id == "000000000008" else s for s in S]
    root = build_dataset(tmp_path / "ds", samples, [pooled_table("image.a", S, 4)], shard_size=5)
    bad = runner.invoke(app, ["fuse", str(root), str(tmp_path / "out")])
    assert bad.exit_code == 2 and "[split-leak]" in bad.output and not (tmp_path / "out").exists()
    result = runner.invoke(app, ["fuse", str(root), str(tmp_path / "out"), "--allow-split-leaks"])
    assert result.exit_code == 0, result.output


def test_batched_fetch_equals_per_item_fetch_and_works_with_default_collate(tmp_path):
    fuse(_mosi(tmp_path), tmp_path / "out", sequences="pad", missing="zero", format="arrow")
    data = FusedDataset(tmp_path / "out", "train")
    fast = collate_fused(data.__getitems__([4, 0, 2]))
    slow = collate_fused([data[4], data[0], data[2]])  # a plain list: stacked item by item
    assert fast["sample_id"] == slow["sample_id"]
    for key in ("feature", "label", "length", "mask", "present"):
        assert torch.equal(fast[key], slow[key]), key
    default = next(iter(DataLoader(data, batch_size=3)))  # torch's default collate also takes the items
    assert torch.equal(default["feature"], collate_fused(data.__getitems__([0, 1, 2]))["feature"])


@pytest.mark.parametrize(("damage", "message"), [
    (lambda text: text[: len(text) // 2], r"fused.json:\d+: export metadata is not valid JSON"),
    (lambda text: "[]", r"fused.json: export metadata holds a JSON array"),
    (lambda text: text.replace('"format"', '"formats"'), r"fused.json: field 'format' is missing, expected a JSON string"),
    (lambda text: text.replace('"rows": {', '"rows": {"x": -1, '), r"fused.json: rows per split \{'x': -1\}"),
])
def test_a_damaged_fused_json_is_named_with_a_fix(tmp_path, damage, message):
    fuse(_image_text(tmp_path), tmp_path / "out", missing="drop", format="arrow")
    path = tmp_path / "out" / "fused.json"
    path.write_text(damage(path.read_text()))
    for read in (read_fused_metadata, FusedDataset):
        with pytest.raises(DatasetError, match=rf"{message}.*re-create the export with `mmdata fuse"):
            read(tmp_path / "out")


@pytest.mark.parametrize(("fmt", "data_file"), [("arrow", "data/train.arrow"), ("npy", "train/features.npy"),
                                                 ("npy", "train/index.parquet")])
def test_a_truncated_export_file_is_named_when_the_dataset_opens_it(tmp_path, fmt, data_file):
    fuse(_image_text(tmp_path), tmp_path / "out", missing="drop", format=fmt)
    path = tmp_path / "out" / data_file
    path.write_bytes(path.read_bytes()[:100])
    data = FusedDataset(tmp_path / "out", "train")
    with pytest.raises(DatasetError, match=rf"{path}: cannot read this file of the fused export .*truncated or corrupt"):
        data[0]
