"""Fixtures over the fake corpora in tests/fakes: each writes a tiny corpus in its native format into
tmp_path and returns a `FakeCorpus` (root, kind, expected samples, `corrupt()`)."""
from __future__ import annotations

import pytest

from tests.fakes import FakeCorpus
from tests.fakes.imagetext import write_fake_coco, write_fake_flickr30k, write_fake_karpathy, write_fake_manifest


@pytest.fixture
def fake_coco(tmp_path) -> FakeCorpus:
    """COCO captions val2017: 3 images with 5, 6 and 7 captions."""
    return write_fake_coco(tmp_path / "coco")


@pytest.fixture
def fake_karpathy(tmp_path) -> FakeCorpus:
    """Karpathy `dataset_coco.json`: 5 images over train/val/test/restval, 5 sentences each."""
    return write_fake_karpathy(tmp_path / "karpathy", "coco")


@pytest.fixture
def fake_flickr30k(tmp_path) -> FakeCorpus:
    """Flickr30K `results_20130124.token`: 3 images with 5 captions each in `flickr30k-images/`."""
    return write_fake_flickr30k(tmp_path / "flickr30k", "token")


@pytest.fixture
def fake_manifest(tmp_path) -> FakeCorpus:
    """A JSONL manifest: two images with captions, two WAV segments with transcripts, one MP4."""
    return write_fake_manifest(tmp_path / "manifest", "jsonl")
