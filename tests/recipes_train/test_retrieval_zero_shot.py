"""The retrieval recipe's zero-shot row: with one CLIP checkpoint's image and caption tables it scores the
stored vectors by cosine (no training, no fitted normalization) on the trained rows' test set, equal to a
NumPy reference read from the two tables; unrelated tables (other models, equal dims, several image
tables, another CLIP of the same dim) get no row and a note saying why."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.demo_corpora.shapes_demo import ShapesDemoConfig, write_shapes_demo
from mmdata.metrics import retrieval_metrics, tied_queries
from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, run_retrieval_recipe
from mmdata.models.trainer import TrainConfig
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.clip_model import PROJECTION_DIM, write_tiny_clip

FAST = TrainConfig(epochs=2, batch_size=16, patience=0)
CLIP_TABLES = ("image.clip",), "text.clip-text.caption"
TEST_SPLIT = "val2017"


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Two tiny CLIPs of one dim and one directory name, different weights: different spaces."""
    root = tmp_path_factory.mktemp("clips")
    return write_tiny_clip(root / "a" / "tiny-clip", seed=0), write_tiny_clip(root / "b" / "tiny-clip", seed=1)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A shapes corpus whose first test image is broken: its extraction fails, so it is left out."""
    info = write_shapes_demo(tmp_path_factory.mktemp("shapes") / "corpus",
                             ShapesDemoConfig(num_train=10, num_val=15, captions_per_image=2, seed=2))
    broken = next(image for image in info.images if image.split == TEST_SPLIT)
    (info.root / broken.split / broken.file_name).write_bytes(b"\xff\xd8 not a jpeg")
    return info.root, f"{broken.image_id:012d}"


@pytest.fixture(scope="module")
def dataset_dir(clips, corpus, tmp_path_factory):
    """CLIP image and caption tables of one checkpoint beside unrelated ones: resnet18 (512-d) with minilm
    captions (384-d), and a 12-d colour histogram with 12-d hashed captions (equal dims, no model)."""
    out = tmp_path_factory.mktemp("data") / "data"
    extract("coco", corpus[0], out, num_workers=0, extractors=[
        f"clip:model={clips[0]}", f"clip-text:model={clips[0]},level=caption", "resnet18:weights=random",
        "minilm:level=caption", "color-hist:bins=4", "hashed-bow:dim=12,level=caption"])
    return out


def reference_metrics(dataset_dir, image_table, text_table):
    """Recall and ties of raw cosines computed from the two tables directly: the test images with an image
    vector and caption vectors (a sample whose extraction failed has a null row), every caption of each."""
    data = open_dataset(dataset_dir)
    test_ids = {row["sample_id"] for row in data.samples_table(columns=["sample_id", "split"]).to_pylist()
                if row["split"] == TEST_SPLIT}
    images, captions = (dict(zip(*data.table(name).to_table(columns=["sample_id", "feature"]).to_pydict().values()))
                        for name in (image_table, text_table))
    ids = sorted(s for s in test_ids if images.get(s) is not None and captions.get(s))  # a failed row is null
    image_vectors = np.array([images[s] for s in ids], dtype=np.float64)
    caption_vectors = np.array([v for s in ids for v in captions[s]], dtype=np.float64)
    caption_image = np.repeat(np.arange(len(ids)), [len(captions[s]) for s in ids])
    image_vectors /= np.linalg.norm(image_vectors, axis=1, keepdims=True)
    caption_vectors /= np.linalg.norm(caption_vectors, axis=1, keepdims=True)
    scores = image_vectors @ caption_vectors.T
    return ids, retrieval_metrics(scores, caption_image), tied_queries(scores, caption_image)


def test_zero_shot_row_equals_raw_cosine_recall_from_the_two_tables(dataset_dir, corpus, tmp_path):
    out = tmp_path / "metrics.json"
    config = RetrievalRecipeConfig(image_tables=CLIP_TABLES[0], text_table=CLIP_TABLES[1], models=("cca",), train=FAST)
    report = run_retrieval_recipe(dataset_dir, out, config)

    assert [row.model for row in report.rows] == ["chance", "text-only", "zero-shot", "cca"]
    row = report.rows[2]
    ids, metrics, ties = reference_metrics(dataset_dir, "image.clip", "text.clip-text.caption")
    assert row.metrics == pytest.approx(metrics, abs=1e-9) and row.details["tied_queries"] == ties
    assert row.train_seconds == 0 and row.kind == "cross-modal" and not row.failed
    # The same test set and left-out accounting as the trained row: the broken image is out of both.
    assert len(ids) == report.info["test_images"] == 14 and corpus[1] not in ids
    assert report.info["left_out"]["test"] == {"images": 1, "first": [corpus[1]]}

    saved = json.loads(out.read_text())
    zero_shot = saved["results"][2]
    assert zero_shot["model"] == "zero-shot"
    assert zero_shot["details"]["scores"].startswith("raw cosines of the stored vectors")
    assert saved["zero_shot"]["evaluated"] is True
    fingerprint = open_dataset(dataset_dir).entry("image.clip").versions["model:tiny-clip"]
    assert saved["zero_shot"]["fingerprint"] == row.details["model_fingerprint"] == fingerprint
    assert "zero-shot" in saved["metric_definitions"]["keys"] and "chance" in saved["metric_definitions"]["keys"]
    assert "zero-shot: cosine of the vectors as extracted" in report.text()


def test_the_zero_shot_row_does_not_depend_on_training(dataset_dir):
    """Other models and epochs train differently; the zero-shot row scores the same stored vectors."""
    first = run_retrieval_recipe(dataset_dir, None, RetrievalRecipeConfig(
        image_tables=CLIP_TABLES[0], text_table=CLIP_TABLES[1], models=("cca",), train=FAST))
    second = run_retrieval_recipe(dataset_dir, None, RetrievalRecipeConfig(
        image_tables=CLIP_TABLES[0], text_table=CLIP_TABLES[1], models=("mse",), train=FAST.override(epochs=1)))
    assert first.rows[2].metrics == second.rows[2].metrics


@pytest.mark.parametrize("image_tables, text_table, note", [
    (("image.resnet18",), "text.minilm.caption",
     "zero-shot: image.resnet18 and text.minilm.caption are not one embedding space"),
    (("image.color-hist",), "text.hashed-bow.caption",
     "zero-shot: image.color-hist and text.hashed-bow.caption are not one embedding space"),
    (("image.clip", "image.color-hist"), "text.clip-text.caption",
     "zero-shot: 2 image tables (image.clip, image.color-hist) are concatenated, which is no model's embedding "
     "space; image.clip alone is (--image image.clip)"),
    (("image.color-hist", "image.resnet18"), "text.minilm.caption",
     "zero-shot: 2 image tables (image.color-hist, image.resnet18) are concatenated, which is no model's embedding "
     "space\n"),
])
def test_no_zero_shot_row_for_tables_that_are_not_one_space(dataset_dir, image_tables, text_table, note):
    report = run_retrieval_recipe(dataset_dir, None, RetrievalRecipeConfig(
        image_tables=image_tables, text_table=text_table, models=("cca",), train=FAST))
    assert [row.model for row in report.rows] == ["chance", "text-only", "cca"]
    assert not report.rows[2].failed and report.info["image_tables"] == list(image_tables)
    assert report.info["zero_shot"]["evaluated"] is False and f"{report.info['zero_shot']['note']}\n".startswith(note)
    assert note in f"{report.text()}\n" and "cosine of the vectors as extracted" not in report.text()


def test_two_clip_checkpoints_of_one_dim_and_name_are_not_one_space(clips, corpus, tmp_path):
    """Image vectors of one CLIP, caption vectors of another: equal dims and equal `versions` keys
    ("model:tiny-clip"), different weights, so no zero-shot row."""
    extract("coco", corpus[0], tmp_path / "mixed", num_workers=0,
            extractors=[f"clip:model={clips[1]}", f"clip-text:model={clips[0]},level=caption"])
    data = open_dataset(tmp_path / "mixed")
    assert data.entry("image.clip").spec["dim"] == data.entry("text.clip-text.caption").spec["dim"] == PROJECTION_DIM
    assert set(data.entry("image.clip").versions) >= {"model:tiny-clip"}
    report = run_retrieval_recipe(tmp_path / "mixed", None, RetrievalRecipeConfig(models=("cca",), train=FAST))
    assert [row.model for row in report.rows] == ["chance", "text-only", "cca"]
    assert report.info["zero_shot"]["note"].startswith(
        "zero-shot: image.clip and text.clip-text.caption are not one embedding space")


def test_cli_prints_the_zero_shot_row_or_why_it_is_absent(dataset_dir, tmp_path):
    runner = CliRunner()
    common = ["train", "retrieval", str(dataset_dir), "-m", "cca", "--epochs", "1", "--text", "text.clip-text.caption"]
    result = runner.invoke(app, [*common, "--image", "image.clip", "-o", str(tmp_path / "one.json")])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("zero-shot"))
    saved = json.loads((tmp_path / "one.json").read_text())["results"][2]["metrics"]
    assert row.split()[3:10] == [f"{saved[k]:.1f}" for k in ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5",
                                                             "t2i_r10", "rsum")]
    result = runner.invoke(app, [*common, "-o", str(tmp_path / "all.json")])
    assert result.exit_code == 0, result.output
    assert not any(line.startswith("zero-shot ") for line in result.output.splitlines())
    assert "zero-shot: 3 image tables (image.clip, image.color-hist, image.resnet18) are concatenated" in result.output
