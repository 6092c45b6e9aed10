"""Fixtures of the share publishing tests."""
from __future__ import annotations

import pytest


@pytest.fixture()
def datasets_cache(tmp_path, monkeypatch):
    """`datasets` with its cache in the test's folder (nothing written to the user's cache)."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    return datasets
