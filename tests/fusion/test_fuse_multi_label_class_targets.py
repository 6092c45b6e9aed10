"""`fuse --class-label NAME` over lists of class names (a manifest's `genres` list column, kept in `extra`; a
CSV cell `Drama|Comedy` with `--class-separator '|'`) writes a float32 multi-hot `class_targets` column in
every export format instead of `class_id`, with per-split positives per class in fused.json; an empty list
is a row of no class, a missing value follows --missing-class; `FusedDataset` items carry (C,) float32 and
`collate_fused` batches (B, C); a bare name among lists, a blank name and an unknown class are refused naming
the sample, and nothing is written."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion import FuseOptions, FusedDataset, collate_fused, fuse, read_fused_metadata
from mmdata.pipeline import extract
from tests.fusion.export_tables import hugging_face_reads, split_table

GENRES = ["Drama", "Comedy", "Horror", "Action", "Romance"]
NAMES = sorted(GENRES)
SPLITS = {"train": 16, "val": 6, "test": 8}
runner = CliRunner()


def genre_rows():
    """Rows whose text names their genres; genres drawn per row, one row of none (an empty list)."""
    rng = np.random.default_rng(1)
    rows = []
    for split, count in SPLITS.items():
        for i in range(count):
            genres = [g for g in GENRES if rng.random() < 0.4]
            if split == "test" and i == 0:
                genres = []
            rows.append({"id": f"m{i:02d}-{split}", "text": " ".join(["film", *(g.lower() for g in genres)]),
                         "split": split, "genres": genres})
    return rows


def text_dataset(tmp_path, rows, name="ds", manifest="manifest.jsonl"):
    """A text-only manifest corpus of `rows` (JSONL, or CSV/Parquet by the file's suffix), hashed words."""
    corpus = tmp_path / f"{name}-corpus"
    corpus.mkdir(parents=True)
    if manifest.endswith(".parquet"):
        pq.write_table(pa.Table.from_pylist(rows), corpus / manifest)
    elif manifest.endswith(".csv"):
        import csv

        with open(corpus / manifest, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        (corpus / manifest).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    extract("manifest", corpus, tmp_path / name, extractors=["hashed-bow:dim=16"], num_workers=0)
    return tmp_path / name


@pytest.fixture(scope="module")
def genres_dataset(tmp_path_factory):
    return text_dataset(tmp_path_factory.mktemp("genres"), genre_rows())


def expected_targets(rows, names=NAMES):
    """sample_id -> multi-hot list over `names`, from the corpus rows."""
    return {r["id"]: [float(n in r["genres"]) for n in names] for r in rows}


def split_targets(out, fmt, split, metadata):
    """{sample_id: targets} of one split, read back with pyarrow alone (npy: its index.parquet)."""
    if fmt == "npy":
        table = pq.read_table(out / split / "index.parquet")
    else:
        table = split_table(out, fmt, split, metadata["files"][split])
    return dict(zip(table.column("sample_id").to_pylist(), table.column("class_targets").to_pylist())), table.schema


@pytest.mark.parametrize("fmt", ["parquet", "arrow", "hf", "npy"])
def test_every_format_holds_float32_multi_hot_targets_of_the_sorted_names(genres_dataset, tmp_path, fmt):
    out = tmp_path / "fused"
    report = fuse(genres_dataset, out, format=fmt, class_label="genres")
    metadata = read_fused_metadata(out)
    assert metadata["classes"] == NAMES == report.classes and report.multi_label
    label = metadata["class_label"]
    assert label["multi_label"] is True and label["column"] == "class_targets" and label["order"] == "sorted"
    rows = genre_rows()
    truth = expected_targets(rows)
    for split in SPLITS:
        targets, schema = split_targets(out, fmt, split, metadata)
        assert targets == {i: t for i, t in truth.items() if i.endswith(split)}
        positives = np.array([t for i, t in truth.items() if i.endswith(split)]).sum(axis=0).astype(int).tolist()
        assert label["counts"][split] == report.class_counts[split] == positives
    kind = schema.field("class_targets").type
    assert pa.types.is_fixed_size_list(kind) and kind.list_size == 5 and kind.value_type == pa.float32()
    assert "class_id" not in metadata["columns"]
    assert metadata["columns"].index("class_targets") == metadata["columns"].index("label") + 1
    assert targets[f"m00-{split}"] == [0.0] * 5  # the empty list: a row of no class


def test_hugging_face_reads_the_targets_as_float32_lists_of_the_classes_length(genres_dataset, tmp_path):
    fuse(genres_dataset, tmp_path / "pq", format="parquet", class_label="genres")
    fuse(genres_dataset, tmp_path / "hf", format="hf", class_label="genres")
    truth = expected_targets(genre_rows())
    for how, data in hugging_face_reads(tmp_path / "pq", tmp_path / "hf", tmp_path / "cache").items():
        feature = data["test"].features["class_targets"]
        assert feature.feature.dtype == "float32" and feature.length == len(NAMES), how
        assert dict(zip(data["test"]["sample_id"], data["test"]["class_targets"])) == \
            {i: t for i, t in truth.items() if i.endswith("test")}, how
        batch = data["train"].with_format("torch")[:4]["class_targets"]
        assert batch.dtype == torch.float32 and batch.shape == (4, len(NAMES))  # a BCEWithLogitsLoss target as read


@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
def test_a_two_worker_data_loader_batches_targets_as_float32(genres_dataset, tmp_path, fmt):
    out = tmp_path / "fused"
    fuse(genres_dataset, out, format=fmt, class_label="genres")
    data = FusedDataset(out, split="train")
    assert data.classes == tuple(NAMES) and data.class_column == "class_targets"
    item = data[0]
    assert item["class_targets"].dtype == torch.float32 and item["class_targets"].shape == (len(NAMES),)
    assert "class_id" not in item
    truth = expected_targets(genre_rows())
    seen = {}
    for batch in DataLoader(data, batch_size=5, num_workers=2, collate_fn=collate_fused):
        assert batch["class_targets"].dtype == torch.float32
        assert batch["class_targets"].shape == (len(batch["sample_id"]), len(NAMES))
        seen.update(zip(batch["sample_id"], batch["class_targets"].tolist()))
    assert seen == {i: t for i, t in truth.items() if i.endswith("train")}
    restacked = collate_fused([dict(data[1]), dict(data[0])])  # items stacked one by one, not the ready batch
    assert restacked["class_targets"].tolist() == [data[1]["class_targets"].tolist(), data[0]["class_targets"].tolist()]
    loss = torch.nn.BCEWithLogitsLoss()(torch.zeros_like(restacked["class_targets"]), restacked["class_targets"])
    assert torch.isclose(loss, torch.log(torch.tensor(2.0)))


def test_a_parquet_manifests_list_column_and_a_separated_csv_cell_give_the_same_targets(tmp_path):
    rows = genre_rows()
    dataset = text_dataset(tmp_path, rows, "pq", manifest="manifest.parquet")
    fuse(dataset, tmp_path / "from-parquet", format="npy", class_label="genres")
    cells = [{**r, "genres": " | ".join(r["genres"])} for r in rows]  # `Drama | Comedy`; "" for none
    cells[0]["genres"] = "Drama|"  # a blank piece
    with pytest.raises(DatasetError, match=r"sample 'm00-train': extra\['genres'\] is \['Drama', ''\], which holds a "
                                           r"blank class name"):
        fuse(text_dataset(tmp_path, cells, "blank", manifest="manifest.csv"), tmp_path / "blank-fused", class_label="genres",
             class_separator="|")
    cells[0]["genres"] = "|".join(rows[0]["genres"])
    csv_dataset = text_dataset(tmp_path, cells, "csv", manifest="manifest.csv")
    with pytest.raises(DatasetError, match=r"3 of 30 samples have no class name at extra\['genres'\] \(first: "
                                           r"'m00-test', 'm04-val', 'm05-test'\); .*every class_targets value -1"):
        fuse(csv_dataset, tmp_path / "fused", class_label="genres", class_separator="|")  # a CSV's empty cell: no value
    result = runner.invoke(app, ["fuse", str(csv_dataset), str(tmp_path / "from-csv"), "--format", "npy",
                                 "--class-label", "genres", "--class-separator", "|", "--missing-class", "empty"])
    assert result.exit_code == 0, result.output
    assert "classes: 5 (class_targets); present per split: test 5, train 5, val 5" in result.stdout
    for split in SPLITS:
        parquet = pq.read_table(tmp_path / "from-parquet" / split / "index.parquet").to_pydict()
        csv = pq.read_table(tmp_path / "from-csv" / split / "index.parquet").to_pydict()
        assert parquet["sample_id"] == csv["sample_id"] and parquet["class_targets"] == csv["class_targets"]
    assert parquet["class_targets"][0] == [0.0] * 5  # m00-test: the empty list, and the empty cell with 'empty'
    assert read_fused_metadata(tmp_path / "from-csv")["class_label"]["unlabeled"] == {}
    keep = fuse(csv_dataset, tmp_path / "keep", format="npy", class_label="genres", class_separator="|",
                missing_class="keep")
    assert read_fused_metadata(tmp_path / "keep")["class_label"]["unlabeled"] == {"test": 2, "val": 1}
    assert keep.class_counts == read_fused_metadata(tmp_path / "from-csv")["class_label"]["counts"]
    with pytest.raises(ConfigError, match=r"--missing-class empty .* only a multi-label class label has; "
                                          r"extra\['genres'\] holds one class name per sample"):
        fuse(csv_dataset, tmp_path / "single", class_label="genres", missing_class="empty")


def test_a_classes_file_orders_the_targets_and_keeps_a_class_no_sample_has(genres_dataset, tmp_path):
    listing = tmp_path / "genres.txt"
    listing.write_text("Romance\nWestern\nAction\nComedy\nDrama\nHorror\n", encoding="utf-8")
    report = fuse(genres_dataset, tmp_path / "fused", format="arrow", class_label="genres", classes_file=listing)
    names = ["Romance", "Western", "Action", "Comedy", "Drama", "Horror"]
    assert report.classes == names and read_fused_metadata(tmp_path / "fused")["class_label"]["order"] == "file"
    data = FusedDataset(tmp_path / "fused", split="val")
    truth = expected_targets(genre_rows(), names)
    assert {data[i]["sample_id"]: data[i]["class_targets"].tolist() for i in range(len(data))} == \
        {i: t for i, t in truth.items() if i.endswith("val")}
    assert report.class_counts["train"][1] == 0
    listing.write_text("Romance\nAction\nComedy\nDrama\nHorrors\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"sample '.*': class 'Horror' \(in extra\['genres'\]\) is not in the classes "
                                           r"file \(1 such class names\); the closest class there is 'Horrors'"):
        fuse(genres_dataset, tmp_path / "refused", class_label="genres", classes_file=listing)
    assert not (tmp_path / "refused").exists()


def test_missing_values_are_refused_by_default_and_kept_as_minus_ones_when_asked(tmp_path):
    rows = [{"id": f"t{i}", "text": f"w{i % 2}", "split": "train", "tags": [f"c{i % 2}", "x"][: 1 + i % 2]}
            for i in range(6)]
    rows += [{"id": "u1", "text": "w0", "split": "test"}, {"id": "u2", "text": "w1", "split": "test", "tags": None},
             {"id": "u3", "text": "w1", "split": "test", "tags": []}]
    dataset = text_dataset(tmp_path, rows)
    with pytest.raises(DatasetError, match=r"^2 of 9 samples have no class name at extra\['tags'\] \(first: 'u1', "
                                           r"'u2'\); .*--missing-class keep .* every class_targets value -1"):
        fuse(dataset, tmp_path / "fused", class_label="tags")
    assert not (tmp_path / "fused").exists()
    report = fuse(dataset, tmp_path / "fused", class_label="tags", missing_class="keep", format="arrow")
    data = FusedDataset(tmp_path / "fused", split="test")
    assert {data[i]["sample_id"]: data[i]["class_targets"].tolist() for i in range(3)} == \
        {"u1": [-1.0] * 3, "u2": [-1.0] * 3, "u3": [0.0] * 3}
    assert report.classes == ["c0", "c1", "x"] and report.class_counts == {"test": [0, 0, 0], "train": [3, 3, 3]}
    assert read_fused_metadata(tmp_path / "fused")["class_label"]["unlabeled"] == {"test": 2}


def test_a_bare_name_among_lists_and_values_that_are_no_names_are_refused_naming_the_sample(tmp_path):
    rows = [{"id": f"t{i}", "text": "w", "split": "train", "tags": ["a", "b"]} for i in range(4)]
    rows[2]["tags"] = "a"
    with pytest.raises(DatasetError, match=r"sample 't2': extra\['tags'\] is the class name 'a', while other samples "
                                           r"hold a list of class names \(first: 't0'\); .*write \['a'\] .*"
                                           r"--class-separator"):
        fuse(text_dataset(tmp_path, rows, "mixed"), tmp_path / "fused", class_label="tags", normalize="none")
    rows[2]["tags"] = ["a", 2.5]
    with pytest.raises(DatasetError, match=r"sample 't2': extra\['tags'\] is \['a', 2.5\], whose item 2.5 is no class name"):
        fuse(text_dataset(tmp_path, rows, "float"), tmp_path / "fused", class_label="tags", normalize="none")
    rows[2]["tags"] = ["a", 7]  # an integer is read as its decimal string
    assert fuse(text_dataset(tmp_path, rows, "int"), tmp_path / "ints", class_label="tags").classes == ["7", "a", "b"]
    rows = [{**r, "tags": []} for r in rows]
    with pytest.raises(ConfigError, match=r"every class list of dataset .* at extra\['tags'\] is empty"):
        fuse(text_dataset(tmp_path, rows, "empty"), tmp_path / "fused", class_label="tags", normalize="none")
    assert not (tmp_path / "fused").exists()


def test_class_separator_needs_a_class_label_and_some_text():
    with pytest.raises(ConfigError, match=r"class_separator \(--class-separator\) needs class_label"):
        FuseOptions(class_separator="|")
    with pytest.raises(ConfigError, match=r"class_separator='': expected the text between class names"):
        FuseOptions(class_label="genres", class_separator="")


def test_kept_sequences_carry_the_targets_through_the_staged_pass(tmp_path):
    import soundfile as sf

    corpus = tmp_path / "tones"
    (corpus / "audio").mkdir(parents=True)
    rows = []
    for i in range(6):
        t = np.arange(int(16000 * (0.2 + 0.1 * (i % 3)))) / 16000
        sf.write(str(corpus / "audio" / f"{i}.wav"), 0.3 * np.sin(2 * np.pi * (200 + 200 * (i % 3)) * t), 16000)
        rows.append({"id": f"z{5 - i}", "audio": f"audio/{i}.wav", "split": ["train", "test"][i % 2],
                     "events": [["hum"], ["hum", "tone"], []][i % 3]})
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    extract("manifest", corpus, tmp_path / "ds", extractors=["librosa-mfcc"], num_workers=0, shard_size=4)
    report = fuse(tmp_path / "ds", tmp_path / "fused", format="arrow", sequences="ragged", class_label="events")
    truth = {r["id"]: [float(n in r["events"]) for n in ("hum", "tone")] for r in rows}
    assert report.classes == ["hum", "tone"]
    for split in ("train", "test"):
        data = FusedDataset(tmp_path / "fused", split=split)
        batch = collate_fused([data[i] for i in range(len(data))])
        assert batch["feature"].ndim == 3 and batch["class_targets"].dtype == torch.float32
        assert dict(zip(batch["sample_id"], batch["class_targets"].tolist())) == \
            {i: t for i, t in truth.items() if i in batch["sample_id"]}
