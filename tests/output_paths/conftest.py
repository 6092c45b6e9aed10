"""A small dataset and a share of it (the COCO sample corpus, two cheap image tables), copied per test."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mmdata.pipeline import extract
from mmdata.share import share_dataset
from tests.sample_corpus import copy_sample_corpus


@pytest.fixture(scope="session")
def pristine_dataset(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("verify-info")
    corpus = copy_sample_corpus("coco", tmp)
    extract("coco", corpus, tmp / "ds", extractors=["pixel-stats", "color-hist:bins=4"], num_workers=0)
    return tmp / "ds"


@pytest.fixture(scope="session")
def pristine_share(pristine_dataset) -> Path:
    share_dataset(pristine_dataset, pristine_dataset.parent / "shared")
    return pristine_dataset.parent / "shared"


@pytest.fixture
def dataset(pristine_dataset, tmp_path) -> Path:
    return Path(shutil.copytree(pristine_dataset, tmp_path / "ds"))


@pytest.fixture
def shared(pristine_share, tmp_path) -> Path:
    return Path(shutil.copytree(pristine_share, tmp_path / "shared"))
