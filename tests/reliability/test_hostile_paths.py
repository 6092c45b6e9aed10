"""Media paths that leave the corpus root (`../`, absolute, symlinks out) are refused unless allowed."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.features.image_stats import color_histogram
from mmdata.media.image import load_rgb_array
from mmdata.store import open_dataset
from tests.reliability.fake_coco import SPLIT, image_bytes, write_fake_coco

runner = CliRunner()
ESCAPES = ("dotdot", "absolute", "symlink")


@pytest.fixture
def secret(tmp_path) -> Path:
    """An image outside every corpus root."""
    path = tmp_path / "outside" / "secret.jpg"
    path.parent.mkdir()
    path.write_bytes(image_bytes(np.random.default_rng(7)))
    return path


def hostile_coco(tmp_path: Path, secret: Path, escape: str) -> tuple[Path, str]:
    """A 3-image COCO corpus whose image 2 points at `secret`; returns (root, offending path)."""
    corpus = write_fake_coco(tmp_path / "coco", 3)
    ann = corpus.root / "annotations" / f"captions_{SPLIT}.json"
    data = json.loads(ann.read_text())
    if escape == "dotdot":
        data["images"][1]["file_name"] = f"../../{secret.parent.name}/{secret.name}"
        offending = f"{SPLIT}/{data['images'][1]['file_name']}"  # file_name is relative to the image folder
    elif escape == "absolute":
        # file_name is relative to the image folder; with the images in the root itself, an
        # absolute file_name is taken as it is, and must be refused.
        for image in (corpus.root / SPLIT).iterdir():
            image.rename(corpus.root / image.name)
        (corpus.root / SPLIT).rmdir()
        offending = str(secret)
        data["images"][1]["file_name"] = offending
    else:
        link = corpus.root / SPLIT / "000000000002.jpg"
        link.unlink()
        link.symlink_to(secret)
        offending = f"{SPLIT}/000000000002.jpg"
    ann.write_text(json.dumps(data))
    return corpus.root, offending


def hostile_manifest(tmp_path: Path, secret: Path, escape: str) -> tuple[Path, str]:
    """A 3-row JSONL manifest whose row 2 points at `secret`; returns (root, offending path)."""
    root = tmp_path / "manifest"
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        (root / "images" / name).write_bytes(image_bytes(rng))
    offending = {"dotdot": f"images/../../{secret.parent.name}/{secret.name}", "absolute": str(secret),
                 "symlink": "images/b.jpg"}[escape]
    if escape == "symlink":
        (root / "images" / "b.jpg").unlink()
        (root / "images" / "b.jpg").symlink_to(secret)
    rows = [{"id": "a", "image": "images/a.jpg", "caption": "first"},
            {"id": "b", "image": offending, "caption": "second"},
            {"id": "c", "image": "images/c.jpg", "caption": "third"}]
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root, offending


CORPORA = {"coco": hostile_coco, "manifest": hostile_manifest}


def invoke(kind: str, root: Path, out: Path, *options: str):
    return runner.invoke(app, ["extract", kind, str(root), str(out), "--image", "color-hist:bins=4",
                               "-j", "0", "-q", *[a for o in options for a in ("-o", o)]])


@pytest.mark.parametrize("escape", ESCAPES)
@pytest.mark.parametrize("kind", sorted(CORPORA))
def test_paths_escaping_the_corpus_root_are_refused_by_default(kind, escape, tmp_path, secret):
    root, offending = CORPORA[kind](tmp_path, secret, escape)
    out = tmp_path / "out"
    result = invoke(kind, root, out)
    assert result.exit_code == 2, result.output
    assert f"media path {offending!r} points outside the corpus root" in result.stderr
    assert "allow_outside_root=true" in result.stderr
    assert not out.exists() or not list(out.rglob("*.parquet"))


@pytest.mark.parametrize("escape", ESCAPES)
@pytest.mark.parametrize("kind", sorted(CORPORA))
def test_paths_escaping_the_corpus_root_are_read_when_explicitly_allowed(kind, escape, tmp_path, secret):
    root, _ = CORPORA[kind](tmp_path, secret, escape)
    out = tmp_path / "out"
    result = invoke(kind, root, out, "allow_outside_root=true")
    assert result.exit_code == 0, result.output
    dataset = open_dataset(out)
    samples = dataset.samples_table().to_pylist()
    assert [s["image"] for s in samples].count(str(secret.resolve())) == 1
    features = dict(zip(*dataset.table("image.color-hist").to_table().to_pydict().values()))
    row = next(s for s in samples if s["image"] == str(secret.resolve()))
    np.testing.assert_allclose(features[row["sample_id"]], color_histogram(load_rgb_array(secret, min_size=128), 4))
    assert dataset.errors().num_rows == 0


def test_a_symlink_that_stays_inside_the_root_is_fine(tmp_path, secret):
    root, _ = hostile_manifest(tmp_path, secret, "symlink")
    link = root / "images" / "b.jpg"
    link.unlink()
    shutil.copy(root / "images" / "a.jpg", root / "images" / "real-b.jpg")
    link.symlink_to(root / "images" / "real-b.jpg")
    result = invoke("manifest", root, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert open_dataset(tmp_path / "out").samples_table().column("image").to_pylist()[1] == "images/b.jpg"
