"""A model extractor asked to run on a device this machine lacks (`cuda:N` past the GPUs torch sees,
`mps` off macOS) is refused in one line before the run writes anything: no samples table, no output
directory. `auto` runs wherever it is. With Ray the GPUs may be on other nodes, so this machine's are not
asked: the cluster's are, once Ray is connected (tests/ray/test_ray_unavailable_device.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from mmdata import extract
from mmdata.cli import app
from mmdata.errors import ConfigError
from mmdata.features.image_models import DEVICE_HINT, device_missing_here
from tests.fakes.clip_model import write_tiny_clip

runner = CliRunner()
#: A CUDA device no machine running these tests has.
MISSING = "cuda:99"


def what_torch_sees() -> str:
    """The start of what the refusal says this machine has instead."""
    if not torch.cuda.is_available():
        return "torch sees no CUDA device (torch.cuda.is_available() is False)"
    return f"{torch.cuda.device_count()} CUDA device"


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    """A tiny COCO (images and captions) and a manifest of one video and one audio file (never read:
    the refusal comes first)."""
    from tests.features.conftest import write_fake_coco

    root = tmp_path_factory.mktemp("corpora")
    coco = write_fake_coco(root / "coco").root
    media = root / "media"
    media.mkdir()
    (media / "manifest.jsonl").write_text(json.dumps({"id": "one", "video": "one.mp4", "audio": "one.wav"}) + "\n")
    return {"coco": coco, "manifest": media}


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    return write_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


#: One extractor of each model family: (corpus, modality flag, spec without the device).
FAMILIES = {
    "torchvision": ("coco", "--image", "resnet18:weights=random"),
    "minilm": ("coco", "--text", "minilm"),
    "word-embeddings": ("coco", "--text", "word-embeddings"),
    "clip": ("coco", "--image", "clip:model={clip}"),
    "clip-text": ("coco", "--text", "clip-text:model={clip}"),
    "video": ("manifest", "--video", "r3d-18:weights=random"),
    "speech": ("manifest", "--audio", "hubert-base:weights=random"),
    "video-frames": ("manifest", "--video", "video-frames:image_extractor=resnet18,image_options=weights=random"),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_missing_cuda_device_is_refused_in_one_line_before_anything_is_written(family, corpora, clip_dir, tmp_path):
    corpus, flag, spec = FAMILIES[family]
    spec = spec.format(clip=clip_dir)
    spec = f"{spec}{(';' if 'image_options' in spec else ',') if ':' in spec else ':'}device={MISSING}"
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract", corpus, str(corpora[corpus]), str(out), flag, spec, "-q"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: extractor {spec!r}: device {MISSING!r} is not available: "
                                    f"{what_torch_sees()}")
    assert result.stderr.endswith(f"; {DEVICE_HINT}\n") and result.stderr.count("\n") == 1
    assert not out.exists()


def test_an_existing_dataset_is_left_as_it_was(corpora, tmp_path):
    out = tmp_path / "out"
    coco = str(corpora["coco"])
    assert runner.invoke(app, ["extract", "coco", coco, str(out), "--image", "color-hist", "-q"]).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    spec = f"resnet18:weights=random,device={MISSING}"
    result = runner.invoke(app, ["extract", "coco", coco, str(out), "--image", spec])
    assert result.exit_code == 2 and "is not available" in result.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_auto_runs_on_this_machine(corpora, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract", "coco", str(corpora["coco"]), str(out), "--image",
                                 "resnet18:weights=random,device=auto", "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "features" / "image.resnet18").is_dir()


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps"])
def test_a_device_is_missing_exactly_when_torch_does_not_see_it(device):
    seen = {"cuda": torch.cuda.is_available(), "cuda:0": torch.cuda.device_count() > 0,
            "mps": torch.backends.mps.is_available()}[device]
    assert (device_missing_here(device) is None) == seen
    assert device_missing_here("cpu") is None and device_missing_here("auto") is None


def test_the_library_refuses_the_same_way(corpora, tmp_path):
    with pytest.raises(ConfigError, match=r"^extractor 'minilm:device=cuda:99': device 'cuda:99' is not available: "):
        extract("coco", corpora["coco"], tmp_path / "out", extractors=[f"minilm:device={MISSING}"])
    assert not (tmp_path / "out").exists()


def test_with_ray_the_device_is_left_to_the_cluster(corpora, tmp_path):
    """The GPUs may be on worker nodes only: the run goes on to the executor, which refuses here for
    its own reason (a Ray Client address), not the device."""
    with pytest.raises(ConfigError, match="Ray Client"):
        extract("coco", corpora["coco"], tmp_path / "out", extractors=[f"minilm:device={MISSING}"],
                executor="ray", ray_address="ray://head:10001")
