"""A share publishes no folder of the producer's machine: paths given to extractors (`minilm:model=/abs/dir`,
`resnet18:weights=/abs/r18.pth`) keep their name, or their path relative to the corpus root when under it, in
the card, the share's mmdata.json and every Parquet file's metadata alike; the models' fingerprints stay."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.features.text import resolve_text_model
from mmdata.pipeline import extract
from mmdata.share import share_dataset, verify_checksums
from mmdata.share.export import shareable_provenance
from mmdata.store import open_dataset
from mmdata.store.metadata import read_table_metadata
from tests.sample_corpus import copy_sample_corpus

MODEL_NAME = "my-sentence-model"
TABLES = ("text.minilm", "image.resnet18")


@pytest.fixture(scope="module")
def producer(tmp_path_factory) -> dict[str, Path]:
    """A COCO dataset made with a sentence model outside the corpus and ResNet-18 weights inside it, and its share."""
    import torch
    import torchvision

    root = tmp_path_factory.mktemp("producer-home")
    corpus = copy_sample_corpus("coco", root)
    model = root / "models" / MODEL_NAME
    shutil.copytree(resolve_text_model("all-MiniLM-L6-v2"), model)
    weights = corpus / "ckpt" / "r18.pth"
    weights.parent.mkdir()
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    dataset = root / "dataset"
    extract("coco", corpus, dataset, extractors=[f"minilm:model={model}", f"resnet18:weights={weights}"],
            progress=False)
    manifest_before = (dataset / "mmdata.json").read_bytes()
    share = root / "share"
    share_dataset(dataset, share, media="embed")
    return {"root": root, "dataset": dataset, "share": share, "manifest_before": manifest_before}


def share_files(share: Path) -> list[Path]:
    return sorted(p for p in share.rglob("*") if p.is_file())


def test_no_file_of_the_share_holds_a_path_of_the_producers_machine(producer):
    root = str(producer["root"]).encode()
    files = share_files(producer["share"])
    assert {p.suffix for p in files} >= {".md", ".json", ".parquet", ".sha256"}
    assert [p for p in files if root in p.read_bytes()] == []
    for path in files:  # the Parquet metadata decoded too, not only its bytes
        if path.suffix == ".parquet":
            assert str(producer["root"]) not in json.dumps(read_table_metadata(path))


def test_paths_keep_their_name_or_their_place_in_the_corpus_everywhere(producer):
    share = producer["share"]
    card = (share / "README.md").read_text()
    assert f'"model": "{MODEL_NAME}"' in card and '"weights": "ckpt/r18.pth"' in card
    tables = json.loads((share / "mmdata.json").read_text())["tables"]
    assert tables["text.minilm"]["config"]["model"] == MODEL_NAME
    assert tables["image.resnet18"]["config"]["weights"] == "ckpt/r18.pth"
    for name in TABLES:
        for path in sorted((share / "features" / name).glob("*.parquet")):
            metadata = read_table_metadata(path)
            assert metadata["config"] == tables[name]["config"]  # one spelling: the checks compare them
    minilm = read_table_metadata(next((share / "features" / "text.minilm").glob("*.parquet")))
    assert minilm["model"]["path"] == MODEL_NAME


def test_fingerprints_stay_and_the_source_dataset_is_untouched(producer):
    source, shared = open_dataset(producer["dataset"]), open_dataset(producer["share"])
    for name in TABLES:
        assert shared.entry(name).versions == source.entry(name).versions
    assert f"model:{MODEL_NAME}" in shared.entry("text.minilm").versions
    source_model = read_table_metadata(source.table_dir("text.minilm"))["model"]
    shared_model = read_table_metadata(shared.table_dir("text.minilm"))["model"]
    assert shared_model == {**source_model, "path": MODEL_NAME}
    assert (producer["dataset"] / "mmdata.json").read_bytes() == producer["manifest_before"]
    assert Path(source.entry("text.minilm").config["model"]).is_absolute()


def test_the_share_still_verifies_checks_and_loads(producer, tmp_path):
    import datasets

    share = producer["share"]
    assert verify_checksums(share).ok
    report = check_dataset(share)
    assert report.ok and not [i for i in report.issues if i.code.startswith("provenance")], report.issues
    result = CliRunner().invoke(app, ["check", str(share)])
    assert result.exit_code == 0, result.output
    loaded = datasets.load_dataset(str(share), "text.minilm", split="val2017", cache_dir=str(tmp_path / "cache"))
    assert loaded.num_rows == open_dataset(share).entry("text.minilm").rows


def test_option_text_and_segment_records_are_made_shareable():
    video = {"config": {"image_extractor": "resnet18", "image_options": "decode_size=64;weights=/home/me/r18.pth"}}
    assert shareable_provenance(video, "/data/corpus")["config"]["image_options"] == "decode_size=64;weights=r18.pth"
    extra = {"segment": {"source": "/home/me/out/mosi", "labels": {"path": "/data/corpus/labels/l.csd", "file": "l.csd"},
                         "folds": None, "epsilon": 1e-6}}
    assert shareable_provenance(extra, "/data/corpus")["segment"] == {
        "source": "mosi", "labels": {"path": "labels/l.csd", "file": "l.csd"}, "folds": None, "epsilon": 1e-6}
