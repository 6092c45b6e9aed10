"""A path written with `~` means the home folder wherever the Python API takes one, as in a shell: left as
it was, `extract(..., "~/out")` made folders under a directory named `~` in the working directory while
Arrow wrote its shards into the home folder, and `open_dataset("~/ds")` said the dataset was not found."""
from __future__ import annotations

import shutil

import pytest

import mmdata
from tests.checks.builder import build_dataset, image_text_samples, pooled_table

SAMPLES = image_text_samples()  # 12 samples: train, val and test


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder in tmp_path, and a working directory beside it where a folder named `~` would appear."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path / "home"


def test_extract_writes_a_tilde_output_dir_into_the_home_folder(home):
    shutil.copytree(mmdata.sample_corpus_dir("coco"), home / "coco")
    report = mmdata.extract("coco", "~/coco", "~/out/coco", extractors=["color-hist:bins=2"], num_workers=0)
    assert report.dataset_dir == home / "out" / "coco" and report.ok
    assert (home / "out" / "coco" / "mmdata.json").is_file()
    assert list(home.parent.joinpath("cwd").iterdir()) == []  # no folder named `~` here


def test_open_describe_check_and_fuse_read_a_tilde_dataset_dir(home):
    build_dataset(home / "ds", SAMPLES, [pooled_table("image.p", SAMPLES, 3)])
    assert mmdata.open_dataset("~/ds").root == home / "ds"
    assert mmdata.describe_dataset("~/ds")["dataset"] == str(home / "ds")
    assert mmdata.check_dataset("~/ds").ok
    report = mmdata.fuse("~/ds", "~/fused", format="arrow")
    assert report.output_dir == home / "fused"
    assert mmdata.read_fused_metadata("~/fused")["rows"] == {"test": 2, "train": 7, "val": 3}
    data = mmdata.FusedDataset("~/fused", "val")
    assert data.export_dir == home / "fused" and len(data) == 3
    assert list(home.parent.joinpath("cwd").iterdir()) == []


def test_a_missing_tilde_dataset_is_named_by_its_expanded_path(home):
    with pytest.raises(mmdata.DatasetNotFoundError, match=f"^dataset directory not found: {home}/nope$"):
        mmdata.open_dataset("~/nope")
