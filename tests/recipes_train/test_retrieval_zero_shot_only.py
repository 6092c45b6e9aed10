"""Zero-shot-only retrieval: on a dataset without a train split (the embedded COCO sample holds `val2017` only)
`zero_shot_only` / `--zero-shot-only` trains nothing and scores the chance, text-only and zero-shot rows of the
test split, equal to a NumPy reference read from the two tables, in the trained recipe's JSON shape; tables
that are not one embedding space are refused in one line saying why and what to extract; without the flag,
the refusal of a dataset with no train split names the flag when the tables are one space."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError
from mmdata.metrics import chance_recall, retrieval_metrics, tied_queries
from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, run_retrieval_recipe
from mmdata.pipeline import extract
from mmdata.sample_data import sample_corpus_dir
from mmdata.store import open_dataset
from tests.fakes.clip_model import write_tiny_clip

CLIP = {"image_tables": ("image.clip",), "text_table": "text.clip-text.caption"}
UNRELATED = {"image_tables": ("image.color-hist",), "text_table": "text.hashed-bow.caption"}
SPLIT = "val2017"
#: The metrics JSON's top-level keys, those of a trained run.
JSON_KEYS = {"recipe", "dataset", "image_tables", "text_table", "train_splits", "test_split", "train_images",
             "train_captions", "test_images", "test_captions", "protocol", "left_out", "notes", "zero_shot",
             "metric_definitions", "config", "environment", "results", "folded_1k", "failures"}


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    """The embedded COCO sample (val2017 only) with one tiny CLIP's image and caption tables, beside a colour
    histogram and hashed captions (12-d both: equal dims, no model)."""
    root = tmp_path_factory.mktemp("zero-shot-only")
    clip = write_tiny_clip(root / "tiny-clip")
    out = root / "data"
    extract("coco", sample_corpus_dir("coco"), out, num_workers=0, extractors=[
        f"clip:model={clip}", f"clip-text:model={clip},level=caption", "color-hist:bins=4",
        "hashed-bow:dim=12,level=caption"])
    return out


def stored_vectors(dataset_dir):
    """The val2017 images' CLIP vectors and their caption vectors, read from the tables in sample-id order."""
    data = open_dataset(dataset_dir)
    ids = sorted(row["sample_id"] for row in data.samples_table(columns=["sample_id", "split"]).to_pylist()
                 if row["split"] == SPLIT)
    images, captions = (dict(zip(*data.table(name).to_table(columns=["sample_id", "feature"]).to_pydict().values()))
                        for name in ("image.clip", "text.clip-text.caption"))
    image_vectors = np.array([images[s] for s in ids], dtype=np.float64)
    caption_vectors = np.array([v for s in ids for v in captions[s]], dtype=np.float64)
    caption_image = np.repeat(np.arange(len(ids)), [len(captions[s]) for s in ids])
    return ids, image_vectors, caption_vectors, caption_image


def unit(vectors):
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def caption_to_caption_reference(captions, caption_image):
    """t2t Recall@1/5/10 by a loop: a caption's rank is how many captions of other images score at least as
    high as its best other caption of its own image (itself excluded)."""
    scores = unit(captions) @ unit(captions).T
    ranks = []
    for query, image in enumerate(caption_image):
        own = [scores[query, j] for j in range(len(captions)) if caption_image[j] == image and j != query]
        wrong = [scores[query, j] for j in range(len(captions)) if caption_image[j] != image]
        ranks.append(sum(w >= max(own) for w in wrong) if own else len(captions))
    return {f"t2t_r{k}": 100.0 * np.mean(np.asarray(ranks) < k) for k in (1, 5, 10)}


def test_zero_shot_only_on_the_val2017_sample_equals_a_numpy_reference(dataset_dir, tmp_path):
    out = tmp_path / "metrics.json"
    report = run_retrieval_recipe(dataset_dir, out, RetrievalRecipeConfig(**CLIP, zero_shot_only=True))

    assert [row.model for row in report.rows] == ["chance", "text-only", "zero-shot"]
    ids, images, captions, caption_image = stored_vectors(dataset_dir)
    scores = unit(images) @ unit(captions).T
    chance, text_only, zero_shot = report.rows
    assert zero_shot.metrics == pytest.approx(retrieval_metrics(scores, caption_image), abs=1e-9)
    assert zero_shot.details["tied_queries"] == tied_queries(scores, caption_image)
    assert chance.metrics == pytest.approx(chance_recall(np.bincount(caption_image)))
    assert text_only.metrics == pytest.approx(caption_to_caption_reference(captions, caption_image), abs=1e-9)
    assert text_only.details["scores"].startswith("cosines of the caption vectors as extracted")
    assert not report.failed()

    saved = json.loads(out.read_text())
    assert set(saved) == JSON_KEYS
    assert saved["test_split"] == SPLIT and saved["train_splits"] == [] and saved["train_images"] == 0
    assert saved["test_images"] == len(ids) == 8 and saved["test_captions"] == len(caption_image)
    assert saved["left_out"] == {"train": {"images": 0, "first": []}, "test": {"images": 0, "first": []}}
    assert saved["zero_shot"]["evaluated"] is True
    assert saved["config"]["zero_shot_only"] is True and saved["config"]["models"] == []
    assert [row["model"] for row in saved["results"]] == ["chance", "text-only", "zero-shot"]
    assert saved["results"][2]["metrics"]["i2t_r1"] == pytest.approx(zero_shot.metrics["i2t_r1"])
    assert "zero-shot only: no model trained" in report.text()


def test_a_named_split_is_scored_and_a_missing_one_is_refused(dataset_dir):
    named = run_retrieval_recipe(dataset_dir, None, RetrievalRecipeConfig(**CLIP, zero_shot_only=True,
                                                                          test_split=SPLIT))
    assert named.info["test_split"] == SPLIT and named.info["test_images"] == 8
    with pytest.raises(DatasetError, match=r"splits \['test'\] are not in .*; splits: \['val2017'\]"):
        run_retrieval_recipe(dataset_dir, None, RetrievalRecipeConfig(**CLIP, zero_shot_only=True, test_split="test"))


def test_the_flickr_sample_split_all_is_scored_when_named(tmp_path):
    """The embedded Flickr30K sample's one split is `all`, which names no test split: the refusal says to
    pass it, and named it is scored."""
    clip = write_tiny_clip(tmp_path / "tiny-clip")
    extract("flickr30k", sample_corpus_dir("flickr30k"), tmp_path / "flickr", num_workers=0,
            extractors=[f"clip:model={clip}", f"clip-text:model={clip},level=caption"])
    with pytest.raises(DatasetError, match=r"cannot tell the test split of .* \(splits: \['all'\]\); pass test_split"):
        run_retrieval_recipe(tmp_path / "flickr", None, RetrievalRecipeConfig(zero_shot_only=True))
    report = run_retrieval_recipe(tmp_path / "flickr", None,
                                  RetrievalRecipeConfig(zero_shot_only=True, test_split="all"))
    assert [row.model for row in report.rows] == ["chance", "text-only", "zero-shot"]
    assert report.info["test_split"] == "all" and report.info["test_images"] > 0


def test_zero_shot_only_takes_no_train_splits():
    with pytest.raises(ConfigError, match="zero_shot_only trains nothing, so it takes no train splits"):
        RetrievalRecipeConfig(zero_shot_only=True, train_splits=("train",))


@pytest.mark.parametrize("tables, note", [
    (UNRELATED, "zero-shot: image.color-hist and text.hashed-bow.caption are not one embedding space"),
    ({"image_tables": ("image.clip", "image.color-hist"), "text_table": "text.clip-text.caption"},
     "zero-shot: 2 image tables (image.clip, image.color-hist) are concatenated, which is no model's embedding "
     "space; image.clip alone is (--image image.clip)"),
])
def test_tables_that_are_not_one_space_are_refused_saying_what_to_extract(dataset_dir, tmp_path, tables, note):
    out = tmp_path / "metrics.json"
    with pytest.raises(DatasetError) as refused:
        run_retrieval_recipe(dataset_dir, out, RetrievalRecipeConfig(**tables, zero_shot_only=True))
    message = str(refused.value)
    assert message.startswith(note) and "\n" not in message
    assert "--image clip --text clip-text:level=caption" in message
    assert not out.exists()


def test_without_the_flag_the_refusal_names_it_when_the_tables_are_one_space(dataset_dir):
    with pytest.raises(DatasetError, match="cannot tell the train and test splits") as clip:
        run_retrieval_recipe(dataset_dir, None, RetrievalRecipeConfig(**CLIP))
    assert str(clip.value).endswith("score the zero-shot row of image.clip and text.clip-text.caption only: "
                                    "zero_shot_only=True (CLI: --zero-shot-only)")
    with pytest.raises(DatasetError, match="cannot tell the train and test splits") as unrelated:
        run_retrieval_recipe(dataset_dir, None, RetrievalRecipeConfig(**UNRELATED))
    assert "--zero-shot-only" not in str(unrelated.value)  # no row to offer: the flag would be refused


def test_cli_zero_shot_only_prints_and_writes_the_rows(dataset_dir, tmp_path):
    runner = CliRunner()
    common = ["train", "retrieval", str(dataset_dir), "--text", "text.clip-text.caption"]
    result = runner.invoke(app, [*common, "--image", "image.clip", "--zero-shot-only", "-o", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("zero-shot "))
    saved = json.loads((tmp_path / "m.json").read_text())["results"][2]["metrics"]
    assert row.split()[3:10] == [f"{saved[k]:.1f}" for k in ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5",
                                                             "t2i_r10", "rsum")]

    without = runner.invoke(app, [*common, "--image", "image.clip"])
    assert without.exit_code == 2 and "(CLI: --zero-shot-only)" in without.output


@pytest.mark.parametrize("args, error", [
    (["--image", "image.color-hist", "--text", "text.hashed-bow.caption"],
     "error: zero-shot: image.color-hist and text.hashed-bow.caption are not one embedding space"),
    (["--image", "image.clip", "--text", "text.clip-text.caption", "-m", "cca", "--epochs", "2"],
     "error: --zero-shot-only trains no model, so --model, --epochs would be ignored"),
])
def test_cli_zero_shot_only_refusals_are_one_line(dataset_dir, args, error):
    result = CliRunner().invoke(app, ["train", "retrieval", str(dataset_dir), "--zero-shot-only", *args])
    assert result.exit_code == 2
    assert result.output.startswith(error) and result.output.count("\n") == 1


def test_the_recipe_script_takes_zero_shot_only_too(dataset_dir, tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "recipes" / "train_retrieval.py"
    spec = importlib.util.spec_from_file_location("train_retrieval", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "script.json"
    module.main([str(dataset_dir), "--image", "image.clip", "--text", "text.clip-text.caption", "--zero-shot-only",
                 "-o", str(out)])
    saved = json.loads(out.read_text())
    assert [row["model"] for row in saved["results"]] == ["chance", "text-only", "zero-shot"]
    assert "zero-shot" in capsys.readouterr().out
