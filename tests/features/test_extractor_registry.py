from __future__ import annotations

import pickle
import subprocess
import sys
from typing import ClassVar

import pytest

from mmdata.errors import ConfigError, UnknownExtractorError
from mmdata.features import available_extractors, create_extractor, get_extractor_class, register_extractor
from mmdata.features.image_models import ResNet18
from mmdata.features.text import HashedBow, HashedBowConfig

MODEL_EXTRACTORS = {"resnet18", "resnet50", "vit-b-16", "minilm", "hashed-bow", "tokens"}


def test_registry_lists_the_model_and_text_extractors_by_modality():
    assert MODEL_EXTRACTORS <= set(available_extractors())
    assert {"resnet18", "resnet50", "vit-b-16"} <= set(available_extractors("image"))
    assert set(available_extractors("text")) >= {"minilm", "hashed-bow", "tokens"}
    assert "minilm" not in available_extractors("image")


def test_unknown_extractor_lists_what_is_available():
    with pytest.raises(UnknownExtractorError, match=r"unknown extractor 'resnet-19'; available: \[.*'resnet18'.*\]"):
        get_extractor_class("resnet-19")


def test_registering_a_taken_name_raises():
    class Impostor(HashedBow):
        name: ClassVar[str] = "hashed-bow"

    with pytest.raises(ValueError, match="'hashed-bow' is already registered"):
        register_extractor(Impostor)
    assert get_extractor_class("hashed-bow") is HashedBow


def test_create_extractor_parses_name_and_typed_options():
    extractor = create_extractor("hashed-bow:dim=32,weighting=binary,level=caption")
    assert extractor.config == HashedBowConfig(dim=32, weighting="binary", level="caption")
    assert extractor.table_name == "text.hashed-bow.caption"
    assert create_extractor("resnet18:weights=random,seed=3").config.seed == 3


@pytest.mark.parametrize(
    "spec, message",
    [
        ("hashed-bow:dims=32", r"unknown option 'dims'; options: \['dim', 'level', 'weighting'\]"),
        ("hashed-bow:weighting=idf", r"'idf' is not one of \['tf', 'binary'\]"),
        ("hashed-bow:dim=0", r"dim must be in \[1, 65536\], got 0"),
        ("minilm:level=word", r"'word' is not one of \['sample', 'caption'\]"),
        ("resnet18:device=gpu", r"device must be 'cpu', 'auto', 'cuda', 'cuda:N' or 'mps', got 'gpu'"),
    ],
)
def test_create_extractor_rejects_bad_options(spec, message):
    with pytest.raises(ConfigError, match=message):
        create_extractor(spec)


def test_create_extractor_checks_the_modality():
    with pytest.raises(ConfigError, match="extractor 'minilm' is for text, not image"):
        create_extractor("minilm", modality="image")


def test_pickled_image_extractor_decodes_in_a_fresh_process_without_torch(fake_coco):
    # Workers are started with forkserver: they import the module and unpickle the extractor.
    # Neither may import torch (slow start, threads); the preprocessing travels resolved.
    extractor = create_extractor("resnet18:weights=random")
    sample_id = next(iter(fake_coco.captions))
    payload = pickle.dumps((extractor, fake_coco.row(sample_id), fake_coco.root))
    script = (
        "import pickle, sys\n"
        "extractor, row, root = pickle.loads(sys.stdin.buffer.read())\n"
        "item = extractor.decode(row, root)\n"
        "assert item.shape == (224, 224, 3) and item.dtype.name == 'uint8', item.shape\n"
        "assert extractor._model is None\n"
        "import mmdata.features.text\n"
        "print(sorted(m for m in ('torch', 'torchvision', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], input=payload, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "[]"
    assert isinstance(pickle.loads(pickle.dumps(ResNet18())), ResNet18)
