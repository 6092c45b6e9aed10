"""The torchvision backbones (image and video clip models) record the SHA-256 of the weights file they
load, so that a table is never made of rows of two models saved under one file name: a resume after
the file changed is refused as one after a library upgrade, the same file again resumes."""
from __future__ import annotations

import re

import pyarrow.dataset as ds
import pytest
import torch
import torchvision

from mmdata.errors import DatasetError
from mmdata.features import create_extractor
from mmdata.features.image_models import WeightsSource
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.files import sha256_file
from mmdata.store.manifest import write_manifest
from tests.sample_corpus import copy_sample_corpus

TABLE = "image.resnet18"
BACKBONES = ["resnet18", "resnet50", "vit-b-16", "r3d-18", "mc3-18", "r2plus1d-18", "s3d"]


@pytest.fixture
def coco(tmp_path):
    return copy_sample_corpus("coco", tmp_path)


def save_resnet18(path, seed: int) -> str:
    """A ResNet-18 state dict initialised under `seed` saved at `path`; its SHA-256."""
    torch.manual_seed(seed)
    torch.save(torchvision.models.resnet18().state_dict(), path)
    return sha256_file(path)


def _extract(coco, out, weights, **kwargs):
    return extract("coco", coco, out, extractors=[f"resnet18:weights={weights}"], num_workers=0, shard_size=3,
                   **kwargs)


def _interrupt(out, shard: str) -> None:
    """As a run killed before `shard` was written: the shard missing, the table incomplete."""
    (out / "features" / TABLE / shard).unlink()
    data = open_dataset(out)
    data.manifest.tables[TABLE].complete = False
    write_manifest(out, data.manifest)


@pytest.mark.parametrize("name", BACKBONES)
def test_a_weights_file_is_recorded_by_its_sha256(name, tmp_path):
    weights = tmp_path / "model.pth"
    weights.write_bytes(b"a checkpoint of " + name.encode())  # recorded as it is: provenance does not load it
    provenance = create_extractor(f"{name}:weights={weights}").provenance()
    digest = sha256_file(weights)
    assert provenance["weights"] == {"kind": "file", "file": "model.pth", "name": None, "sha256": digest}
    assert provenance["versions"]["weights:model.pth"] == digest[:16]
    assert "seed" not in provenance["config"]


@pytest.mark.parametrize("name", BACKBONES)
def test_the_hub_cache_file_is_recorded_by_its_sha256(name, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    extractor = create_extractor(name)
    cached = extractor.weights_source().path
    assert cached.parent == tmp_path / "torch" / "hub" / "checkpoints"  # the file the model loads
    assert extractor.provenance()["weights"]["sha256"] is None  # not fetched yet: check_ready refuses the run
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"the hub's " + name.encode())
    provenance = create_extractor(name).provenance()
    digest = sha256_file(cached)
    assert provenance["weights"] == {"kind": "hub", "file": cached.name, "name": extractor.weights_source().name,
                                     "sha256": digest}
    assert provenance["versions"][f"weights:{cached.name}"] == digest[:16]


def test_the_hash_is_of_the_hub_cache_file_the_model_loads(coco, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    extractor = create_extractor("resnet18")
    cached = extractor.weights_source().path
    cached.parent.mkdir(parents=True)
    digest = save_resnet18(cached, seed=0)
    extract("coco", coco, tmp_path / "out", extractors=["resnet18"], num_workers=0)
    recorded = open_dataset(tmp_path / "out").table_metadata(TABLE)
    assert recorded["weights"]["sha256"] == digest and recorded["weights"]["file"] == "resnet18-f37072fd.pth"
    assert open_dataset(tmp_path / "out").entry(TABLE).versions["weights:resnet18-f37072fd.pth"] == digest[:16]


def test_a_resume_after_the_file_changed_is_refused_and_the_same_file_resumes(coco, tmp_path):
    weights, out = tmp_path / "model.pth", tmp_path / "out"
    first = save_resnet18(weights, seed=0)
    _extract(coco, out, weights)
    before = ds.dataset(out / "features" / TABLE).to_table()
    _interrupt(out, "part-00001.parquet")

    kept = tmp_path / "kept.pth"
    weights.rename(kept)
    second = save_resnet18(weights, seed=1)  # a fine-tuned checkpoint saved under the same name
    with pytest.raises(DatasetError, match=rf"made with weights:model\.pth {first[:16]} \(this install: "
                                           rf"{second[:16]}\); computing 1 of its shards again would mix rows"):
        _extract(coco, out, weights)
    assert not (out / "features" / TABLE / "part-00001.parquet").exists()  # nothing computed

    kept.replace(weights)  # the file the table was made with, back again
    report = _extract(coco, out, weights)
    assert (report.tables[0].shards_written, report.tables[0].shards_skipped) == (1, 2)
    assert report.tables[0].made_with is None
    after = ds.dataset(out / "features" / TABLE).to_table()
    assert after.column("feature").equals(before.column("feature"))


def test_a_table_made_before_weights_were_hashed_is_kept_and_not_resumed(coco, tmp_path, monkeypatch):
    """Tables of earlier versions record no hash: kept when complete, refused new shards (as after an upgrade)."""
    weights, out = tmp_path / "model.pth", tmp_path / "out"
    digest = save_resnet18(weights, seed=0)
    with monkeypatch.context() as earlier:
        earlier.setattr(WeightsSource, "versions", lambda self: {})
        _extract(coco, out, weights)
    made_with = open_dataset(out).entry(TABLE).versions
    assert not any(key.startswith("weights:") for key in made_with)

    report = _extract(coco, out, weights)
    assert (report.tables[0].shards_written, report.tables[0].shards_skipped) == (0, 3)
    assert report.tables[0].made_with == f"weights:model.pth absent (this install: {digest[:16]})"
    assert open_dataset(out).entry(TABLE).versions == made_with  # the manifest still says what made the rows

    _interrupt(out, "part-00002.parquet")
    with pytest.raises(DatasetError, match=re.escape(f"weights:model.pth absent (this install: {digest[:16]})")):
        _extract(coco, out, weights)
    report = _extract(coco, out, weights, force=True)
    assert report.tables[0].shards_written == 3
    assert open_dataset(out).entry(TABLE).versions["weights:model.pth"] == digest[:16]


def test_random_weights_record_the_seed_and_no_file(coco, tmp_path):
    provenance = create_extractor("r3d-18:weights=random,seed=3").provenance()
    assert provenance["weights"] == {"kind": "random", "file": None, "name": None, "sha256": None}
    assert provenance["config"]["seed"] == 3
    assert not any(key.startswith("weights:") for key in provenance["versions"])

    out = tmp_path / "out"
    _extract(coco, out, "random")
    _interrupt(out, "part-00001.parquet")
    report = _extract(coco, out, "random")
    assert (report.tables[0].shards_written, report.tables[0].shards_skipped) == (1, 2)
