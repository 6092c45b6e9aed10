"""`fuse --class-label NAME`: a class name per sample (a manifest's `class` column, kept in `extra`) becomes an
int64 `class_id` column of every export format, with the class names in fused.json (ids by sorted name or by
the lines of `--classes FILE`), per-split counts, a warning about classes that only other splits hold, and
refusals that name the sample or the line and write nothing; `FusedDataset` items and `collate_fused`
batches carry it."""
from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion import FuseOptions, FusedDataset, collate_fused, fuse, read_fused_metadata
from mmdata.fusion.classes import read_classes_file
from mmdata.pipeline import extract
from tests.fusion.export_tables import hugging_face_reads, split_table

COLORS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220), "gold": (230, 200, 20)}
SPLITS = {"train": 12, "val": 4, "test": 8}
runner = CliRunner()


def write_manifest(root, rows):
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def image_rows(root):
    """Rows of tiny images coloured by class, with a caption naming the class; ids sort across splits."""
    rng = np.random.default_rng(0)
    (root / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    for split, count in SPLITS.items():
        for i in range(count):
            name = list(COLORS)[i % len(COLORS)]
            pixels = np.clip(np.array(COLORS[name]) + rng.normal(0, 15, (8, 8, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / "img" / f"{split}{i}.png")
            rows.append({"id": f"s{i:02d}-{split}", "image": f"img/{split}{i}.png", "text": f"a {name} square",
                         "split": split, "class": name})
    return rows


@pytest.fixture(scope="module")
def colors_dataset(tmp_path_factory):
    """A manifest corpus of four colour classes, extracted with colour histograms and hashed words."""
    root = tmp_path_factory.mktemp("colors")
    write_manifest(root, image_rows(root))
    extract("manifest", root, root / "ds", extractors=["color-hist:bins=4", "hashed-bow:dim=32"], num_workers=0)
    return root / "ds"


def text_dataset(tmp_path, rows, name="ds"):
    """A text-only manifest corpus of `rows` (id, text, split and any other column), hashed words."""
    corpus = tmp_path / f"{name}-corpus"
    write_manifest(corpus, rows)
    extract("manifest", corpus, tmp_path / name, extractors=["hashed-bow:dim=16"], num_workers=0)
    return tmp_path / name


def classes_of(dataset_dir):
    """sample_id -> class name, as the manifest's `class` column gave it."""
    from mmdata.store import open_dataset

    table = open_dataset(dataset_dir).samples_table(["sample_id", "extra"]).to_pylist()
    return {row["sample_id"]: json.loads(row["extra"]).get("class") for row in table}


def split_ids(out, fmt, split, metadata):
    """(sample ids, class ids) of one split of an export, read back without mmdata."""
    if fmt == "npy":
        table = pq.read_table(out / split / "index.parquet")
    else:
        table = split_table(out, fmt, split, metadata["files"][split])
    return table.column("sample_id").to_pylist(), table.column("class_id").to_pylist()


@pytest.mark.parametrize("fmt", ["parquet", "arrow", "hf", "npy"])
def test_every_format_holds_int64_class_ids_of_the_sorted_names(colors_dataset, tmp_path, fmt):
    out = tmp_path / "fused"
    report = fuse(colors_dataset, out, format=fmt, class_label="class")
    metadata = read_fused_metadata(out)
    names = sorted(COLORS)
    assert metadata["classes"] == names == report.classes
    truth = classes_of(colors_dataset)
    for split, count in SPLITS.items():
        ids, class_ids = split_ids(out, fmt, split, metadata)
        assert [names[c] for c in class_ids] == [truth[i] for i in ids]
        assert metadata["class_label"]["counts"][split] == report.class_counts[split]
        assert sum(report.class_counts[split]) == count
    assert metadata["class_label"]["counts"]["test"] == [2, 2, 2, 2]
    columns = metadata["columns"]
    assert columns.index("class_id") == columns.index("label") + 1
    if fmt == "npy":
        assert str(pq.read_schema(out / "train" / "index.parquet").field("class_id").type) == "int64"
    else:
        assert str(split_table(out, fmt, "train", metadata["files"]["train"]).schema.field("class_id").type) == "int64"


def test_hugging_face_reads_class_id_as_a_class_label_both_ways(colors_dataset, tmp_path):
    fuse(colors_dataset, tmp_path / "pq", format="parquet", class_label="class")
    fuse(colors_dataset, tmp_path / "hf", format="hf", class_label="class")
    truth = classes_of(colors_dataset)
    for how, data in hugging_face_reads(tmp_path / "pq", tmp_path / "hf", tmp_path / "cache").items():
        feature = data["test"].features["class_id"]
        assert feature.names == sorted(COLORS), how
        assert [feature.int2str(c) for c in data["test"]["class_id"]] == [truth[i] for i in data["test"]["sample_id"]]


@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
def test_a_two_worker_data_loader_batches_class_ids_as_int64(colors_dataset, tmp_path, fmt):
    out = tmp_path / "fused"
    fuse(colors_dataset, out, format=fmt, class_label="class")
    data = FusedDataset(out, split="train")
    assert data.classes == tuple(sorted(COLORS))
    item = data[0]
    assert item["class_id"].dtype == torch.int64 and item["class_id"].shape == ()
    truth = classes_of(colors_dataset)
    loader = DataLoader(data, batch_size=5, num_workers=2, collate_fn=collate_fused)
    seen = {}
    for batch in loader:
        assert batch["class_id"].dtype == torch.int64 and batch["class_id"].shape == (len(batch["sample_id"]),)
        seen.update(zip(batch["sample_id"], batch["class_id"].tolist()))
    assert {i: data.classes[c] for i, c in seen.items()} == {i: truth[i] for i in seen}
    assert len(seen) == SPLITS["train"]
    restacked = collate_fused([dict(data[1]), dict(data[0])])  # items stacked one by one, not the ready batch
    assert restacked["class_id"].tolist() == [int(data[1]["class_id"]), int(data[0]["class_id"])]


def test_a_classes_file_gives_the_ids_by_line_and_keeps_classes_no_sample_has(colors_dataset, tmp_path):
    listing = tmp_path / "labels.txt"
    listing.write_bytes("\ufeffgold\n\n  red \r\nviolet\ngreen\nblue\n".encode("utf-8"))
    out = tmp_path / "fused"
    report = fuse(colors_dataset, out, format="arrow", class_label="class", classes_file=listing)
    names = ["gold", "red", "violet", "green", "blue"]
    assert read_fused_metadata(out)["classes"] == names == report.classes
    assert read_fused_metadata(out)["class_label"]["order"] == "file"
    assert report.class_counts["test"] == [2, 2, 0, 2, 2]
    data = FusedDataset(out, split="val")
    truth = classes_of(colors_dataset)
    assert [names[int(data[i]["class_id"])] for i in range(len(data))] == [truth[data[i]["sample_id"]] for i in range(len(data))]


def test_a_classes_file_naming_a_class_twice_is_refused_naming_the_line(tmp_path):
    listing = tmp_path / "labels.txt"
    listing.write_text("red\ngreen\n\nred\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"labels.txt:4: class 'red' is listed again \(first on line 1\)"):
        read_classes_file(listing)


def test_a_class_the_file_lacks_is_refused_naming_the_sample_and_the_closest_class(colors_dataset, tmp_path):
    listing = tmp_path / "labels.txt"
    listing.write_text("red\ngreen\nblue\ngolden\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"sample 's03-test': class 'gold' .* is not in .*labels.txt \(6 such "
                                           r"samples\); the closest class there is 'golden'"):
        fuse(colors_dataset, tmp_path / "fused", class_label="class", classes_file=listing)
    assert not (tmp_path / "fused").exists()


def test_samples_without_a_class_are_refused_by_default_and_kept_as_minus_one_when_asked(tmp_path):
    rows = [{"id": f"t{i}", "text": f"word{i % 2}", "split": "train", "class": f"c{i % 2}"} for i in range(6)]
    rows += [{"id": "u1", "text": "word0", "split": "test"}, {"id": "u2", "text": "word1", "split": "test", "class": ""},
             {"id": "v1", "text": "word1", "split": "test", "class": "c1"}]
    dataset = text_dataset(tmp_path, rows)
    with pytest.raises(DatasetError, match=r"^2 of 9 samples have no class name at extra\['class'\] \(first: 'u1', "
                                           r"'u2'\); .*--missing-class keep"):
        fuse(dataset, tmp_path / "fused", class_label="class")
    assert not (tmp_path / "fused").exists()
    report = fuse(dataset, tmp_path / "fused", class_label="class", missing_class="keep", format="npy")
    index = pq.read_table(tmp_path / "fused" / "test" / "index.parquet").to_pydict()
    assert dict(zip(index["sample_id"], index["class_id"])) == {"u1": -1, "u2": -1, "v1": 1}
    assert read_fused_metadata(tmp_path / "fused")["class_label"]["unlabeled"] == {"test": 2}
    assert report.class_counts["test"] == [0, 1]


def test_integer_class_names_read_as_decimal_strings_and_other_values_are_refused(tmp_path):
    rows = [{"id": f"t{i}", "text": "w", "split": "train", "class": [10, 9, "9"][i % 3]} for i in range(6)]
    report = fuse(text_dataset(tmp_path, rows), tmp_path / "fused", class_label="class", normalize="none")
    assert report.classes == ["10", "9"]  # sorted as names, not as numbers
    rows[4]["class"] = 2.5
    with pytest.raises(DatasetError, match=r"sample 't4': extra\['class'\] is 2.5, expected a class name"):
        fuse(text_dataset(tmp_path, rows, "bad"), tmp_path / "fused2", class_label="class", normalize="none")


def test_an_unknown_key_is_refused_listing_the_keys_of_extra(colors_dataset, tmp_path):
    with pytest.raises(ConfigError, match=r"no sample of dataset .* has a class name at extra\['klass'\]; keys its "
                                          r"samples' extra holds: \['class'\]; did you mean 'class'\?"):
        fuse(colors_dataset, tmp_path / "fused", class_label="klass")
    assert not (tmp_path / "fused").exists()


def test_class_options_without_a_class_label_are_refused():
    with pytest.raises(ConfigError, match=r"classes_file \(--classes\) needs class_label"):
        FuseOptions(classes_file="labels.txt")
    with pytest.raises(ConfigError, match=r"missing_class \(--missing-class\) needs class_label"):
        FuseOptions(missing_class="keep")
    with pytest.raises(ConfigError, match="missing_class"):
        FuseOptions(class_label="class", missing_class="drop")


def test_classes_only_val_or_test_hold_get_one_warning_line(tmp_path, caplog):
    rows = [{"id": f"a{i}", "text": "w", "split": "train", "class": ["cat", "dog"][i % 2]} for i in range(4)]
    rows += [{"id": "b1", "text": "w", "split": "test", "class": "emu"}, {"id": "b2", "text": "w", "split": "val",
                                                                            "class": "fox"},
             {"id": "b3", "text": "w", "split": "test", "class": "cat"}]
    dataset = text_dataset(tmp_path, rows)
    result = runner.invoke(app, ["fuse", str(dataset), str(tmp_path / "fused"), "--class-label", "class",
                                 "--normalize", "none"])
    assert result.exit_code == 0, result.output
    warning = ("2 class(es) of split(s) 'test' (1), 'val' (1) have no row in the train split(s) 'train': 'emu', 'fox'; "
               "a classifier trained there cannot predict them")
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [warning]  # the one line `mmdata` prints
    report = fuse(dataset, tmp_path / "again", class_label="class", normalize="none")
    assert report.class_warning == warning and warning in repr(report)
    assert "classes: 4 (class_id); present per split: test 2, train 2, val 1" in result.stdout
    metadata = read_fused_metadata(tmp_path / "fused")
    assert metadata["class_label"]["unseen_in_train"] == {"test": ["emu"], "val": ["fox"]}


def test_cli_options_reach_the_export_and_a_duplicate_line_fails_with_exit_2(colors_dataset, tmp_path):
    listing = tmp_path / "labels.txt"
    listing.write_text("red\ngreen\nblue\ngold\n", encoding="utf-8")
    result = runner.invoke(app, ["fuse", str(colors_dataset), str(tmp_path / "fused"), "--format", "arrow",
                                 "--class-label", "class", "--classes", str(listing)])
    assert result.exit_code == 0, result.output
    assert read_fused_metadata(tmp_path / "fused")["classes"] == ["red", "green", "blue", "gold"]
    listing.write_text("red\ngreen\nred\n", encoding="utf-8")
    result = runner.invoke(app, ["fuse", str(colors_dataset), str(tmp_path / "again"), "--class-label", "class",
                                 "--classes", str(listing)])
    assert result.exit_code == 2
    assert "labels.txt:3: class 'red' is listed again (first on line 1)" in result.stderr
    assert not (tmp_path / "again").exists()


def test_an_export_without_a_class_label_has_no_class_column(colors_dataset, tmp_path):
    fuse(colors_dataset, tmp_path / "fused", format="arrow")
    metadata = read_fused_metadata(tmp_path / "fused")
    assert "class_id" not in metadata["columns"] and "classes" not in metadata
    data = FusedDataset(tmp_path / "fused", split="train")
    assert data.classes == () and "class_id" not in data[0]
    assert "class_id" not in collate_fused([data[0], data[1]])


@pytest.mark.parametrize("sequences", ["pad", "ragged"])
def test_kept_sequences_carry_the_class_ids_through_the_staged_pass(tmp_path, sequences):
    import soundfile as sf

    corpus = tmp_path / "tones"
    (corpus / "audio").mkdir(parents=True)
    rows = []
    for i in range(9):  # tones of three pitches, of several lengths; ids sort across the splits
        seconds = 0.2 + 0.1 * (i % 4)
        t = np.arange(int(16000 * seconds)) / 16000
        sf.write(str(corpus / "audio" / f"{i}.wav"), (0.3 * np.sin(2 * np.pi * (200 + 200 * (i % 3)) * t)), 16000)
        rows.append({"id": f"z{8 - i}", "audio": f"audio/{i}.wav", "split": ["train", "test", "train"][i % 3],
                     "class": ["low", "mid", "high"][i % 3]})
    write_manifest(corpus, rows)
    extract("manifest", corpus, tmp_path / "ds", extractors=["librosa-mfcc"], num_workers=0, shard_size=4)
    out = tmp_path / "fused"
    report = fuse(tmp_path / "ds", out, format="arrow", sequences=sequences, class_label="class")
    assert report.classes == ["high", "low", "mid"]
    truth = {r["id"]: r["class"] for r in rows}
    for split in ("train", "test"):
        data = FusedDataset(out, split=split)
        batch = collate_fused([data[i] for i in range(len(data))])
        assert batch["class_id"].dtype == torch.int64
        assert [data.classes[c] for c in batch["class_id"].tolist()] == [truth[i] for i in batch["sample_id"]]
        assert batch["feature"].ndim == 3
