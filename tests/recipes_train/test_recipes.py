"""The training recipes end to end on tiny demo exports: library, CLI and scripts."""
from __future__ import annotations

import importlib.util
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.demo_corpora.mosi_demo import MosiDemoConfig
from mmdata.demo_corpora.shapes_demo import ShapesDemoConfig, write_shapes_demo
from mmdata.errors import DatasetError, ShardReadError
from mmdata.models.data import read_fused_splits, read_pooled, read_sequence
from mmdata.models.demo import RetrievalDemo, SentimentDemo, run_retrieval_demo, run_sentiment_demo
from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, run_retrieval_recipe
from mmdata.models.sentiment_recipe import SentimentRecipeConfig, run_sentiment_recipe
from mmdata.models.trainer import TrainConfig
from mmdata.pipeline import extract
from mmdata.store import open_dataset

REPO = Path(__file__).resolve().parents[2]
FAST = TrainConfig(epochs=3, batch_size=16, patience=0)
TINY_SENTIMENT = SentimentDemo(
    corpus=MosiDemoConfig(num_videos=6, segments_per_video=4, audio="tones", seed=3),
    extractors=("hashed-bow:dim=64", "egemaps:level=functionals",
                "video-frames:image_extractor=color-hist,image_options=bins=4,pool=mean,fps=1"),
    recipe=SentimentRecipeConfig(train=FAST),
    num_workers=0,
)
TINY_RETRIEVAL = RetrievalDemo(
    corpus=ShapesDemoConfig(num_train=24, num_val=8, captions_per_image=3, seed=3),
    extractors=("color-hist:bins=4", "pixel-stats", "hashed-bow:dim=64,level=caption"),
    recipe=RetrievalRecipeConfig(train=FAST),
    num_workers=0,
)
SENTIMENT_ROWS = [("mean", []), ("unimodal", ["audio"]), ("unimodal", ["text"]), ("unimodal", ["video"]),
                  ("early", ["audio", "text", "video"]), ("late", ["audio", "text", "video"]),
                  ("intermediate", ["audio", "text", "video"]), ("tensor", ["audio", "text", "video"])]


@pytest.fixture(scope="module")
def sentiment_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("sentiment")
    return work, run_sentiment_demo(work, TINY_SENTIMENT)


@pytest.fixture(scope="module")
def retrieval_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("retrieval")
    return work, run_retrieval_demo(work, TINY_RETRIEVAL)


def _finite(metrics: dict, skip: tuple[str, ...] = ()) -> bool:
    return all(math.isfinite(v) for k, v in metrics.items() if k not in skip)


def test_sentiment_demo_trains_every_model_and_writes_metrics_json(sentiment_run):
    work, report = sentiment_run
    assert [(r.model, r.modalities) for r in report.rows] == SENTIMENT_ROWS
    for row in report.rows:
        assert _finite(row.metrics, skip=("corr",) if row.model == "mean" else ())
        assert 0 <= row.metrics["acc2_has0"] <= 1 and row.metrics["mae"] >= 0
    saved = json.loads((work / "sentiment-metrics.json").read_text())
    assert saved["recipe"] == "sentiment" and saved["rows"] == {"train": 16, "valid": 4, "test": 4}
    assert [r["model"] for r in saved["results"]] == [m for m, _ in SENTIMENT_ROWS]
    assert saved["results"][4]["metrics"]["mae"] == pytest.approx(report.row("early").metrics["mae"])
    assert saved["results"][0]["metrics"]["corr"] is None  # constant predictions: correlation undefined
    assert set(saved["modalities"]) == {"audio", "text", "video"} and saved["modalities"]["text"]["dim"] == 64
    assert report.table().splitlines()[0].split()[:5] == ["model", "kind", "modalities", "MAE", "Corr"]


def test_sentiment_recipe_is_deterministic_under_its_seed(sentiment_run):
    work, _ = sentiment_run
    config = SentimentRecipeConfig(models=("late",), train=FAST)
    first = run_sentiment_recipe(work / "fused", None, config)
    second = run_sentiment_recipe(work / "fused", None, config)
    assert first.row("late").metrics == second.row("late").metrics


def test_fused_export_reads_the_same_in_every_format(sentiment_run, tmp_path):
    from mmdata.fusion import fuse

    work, _ = sentiment_run
    arrow = read_fused_splits(work / "fused")
    for fmt in ("parquet", "npy", "hf"):
        fuse(work / "dataset", tmp_path / fmt, tables=("text", "audio", "video"), format=fmt)
        other = read_fused_splits(tmp_path / fmt)
        for split, data in arrow.items():
            assert list(other[split].sample_ids) == list(data.sample_ids)
            assert np.array_equal(other[split].labels, data.labels)
            for modality, values in data.features.items():
                assert np.allclose(other[split].features[modality], values)
    assert {m: x.shape[1] for m, x in arrow["train"].features.items()} == {"text": 64, "audio": 88, "video": 12}


def test_sentiment_recipe_refuses_sequence_exports_and_missing_splits(sentiment_run, tmp_path):
    work, _ = sentiment_run
    padded = tmp_path / "padded"
    shutil.copytree(work / "fused", padded)
    metadata = json.loads((padded / "fused.json").read_text())
    metadata["rows_kind"] = "padded"
    (padded / "fused.json").write_text(json.dumps(metadata))
    with pytest.raises(DatasetError, match="--sequences pool"):
        run_sentiment_recipe(padded)
    with pytest.raises(DatasetError, match="no labelled rows in split 'holdout'; splits: \\['test', 'train', 'valid'\\]"):
        run_sentiment_recipe(work / "fused", None, SentimentRecipeConfig(test_split="holdout", train=FAST))


def test_a_ch_sims_export_is_scored_with_the_sims_metrics(sentiment_run, tmp_path):
    """An export of a corpus labelled in [-1, 1] (here the demo's, declared CH-SIMS) gets MMSA's SIMS
    metrics: 2/3/5 classes on clipped values, not MOSI's Acc-7/Acc-5 (which collapse on [-1, 1])."""
    work, _ = sentiment_run
    sims = tmp_path / "sims"
    shutil.copytree(work / "fused", sims)
    metadata = json.loads((sims / "fused.json").read_text())
    metadata["source"]["corpus"] = {"kind": "mmsa", "options": {"dataset": "ch-sims"}}
    (sims / "fused.json").write_text(json.dumps(metadata))
    report = run_sentiment_recipe(sims, None, SentimentRecipeConfig(models=("unimodal",), train=FAST))
    assert report.info["metrics"] == "sims"
    assert all(list(row.metrics) == ["mae", "corr", "acc2", "f1", "acc3", "acc5"] for row in report.rows)
    assert report.table().splitlines()[0].split() == ["model", "kind", "modalities", "MAE", "Corr", "Acc2", "F1",
                                                     "Acc3", "Acc5"]
    assert run_sentiment_recipe(work / "fused", None, SentimentRecipeConfig(models=("unimodal",), train=FAST)
                                ).info["metrics"] == "mosi"


def test_retrieval_demo_reports_chance_text_only_and_three_aligners(retrieval_run):
    work, report = retrieval_run
    assert [(r.model, r.kind) for r in report.rows] == [
        ("chance", "reference"), ("text-only", "unimodal"), ("mse", "cross-modal"), ("cca", "cross-modal"),
        ("infonce", "cross-modal")]
    for row in report.rows[2:]:
        assert _finite(row.metrics) and set(row.metrics) >= {"i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r10"}
    assert report.rows[0].metrics["t2i_r1"] == pytest.approx(100 / 8)
    assert set(report.rows[1].metrics) == {"t2t_r1", "t2t_r5", "t2t_r10"}
    saved = json.loads((work / "retrieval-metrics.json").read_text())
    assert saved["test_images"] == 8 and saved["test_captions"] == 24 and saved["train_splits"] == ["train2017"]
    assert saved["image_tables"] == ["image.color-hist", "image.pixel-stats"]
    assert saved["text_table"] == "text.hashed-bow.caption" and saved["folded_1k"] == {}


def test_retrieval_recipe_takes_explicit_tables_and_splits(retrieval_run):
    work, _ = retrieval_run
    config = RetrievalRecipeConfig(image_tables=("image.pixel-stats",), text_table="text.hashed-bow.caption",
                                   train_splits=("val2017",), test_split="train2017", models=("cca",), train=FAST)
    report = run_retrieval_recipe(work / "dataset", None, config)
    assert report.info["test_images"] == 24 and report.info["train_images"] == 8
    with pytest.raises(DatasetError, match="splits \\['test'\\] are not in"):
        run_retrieval_recipe(work / "dataset", None, RetrievalRecipeConfig(test_split="test", train=FAST))


def test_retrieval_recipe_needs_a_caption_level_text_table(sentiment_run):
    work, _ = sentiment_run
    with pytest.raises(DatasetError, match="no pooled image table"):
        run_retrieval_recipe(work / "dataset")


def test_retrieval_drops_images_whose_features_failed(tmp_path):
    corpus = write_shapes_demo(tmp_path / "corpus", ShapesDemoConfig(num_train=6, num_val=3, captions_per_image=2))
    broken = corpus.images[0]
    (corpus.root / broken.split / broken.file_name).write_bytes(b"\xff\xd8 not a jpeg")
    extract("coco", corpus.root, tmp_path / "data", extractors=["color-hist:bins=4", "hashed-bow:dim=32,level=caption"],
            num_workers=0)
    dataset = open_dataset(tmp_path / "data")
    ids, values = read_pooled(dataset, "image.color-hist")
    assert len(ids) == 8 and f"{broken.image_id:012d}" not in set(ids) and values.shape == (8, 12)
    text_ids, flat, offsets = read_sequence(dataset, "text.hashed-bow.caption")
    assert len(text_ids) == 9 and flat.shape == (18, 32) and list(np.diff(offsets)) == [2] * 9
    report = run_retrieval_recipe(tmp_path / "data", None, RetrievalRecipeConfig(models=("cca",), train=FAST))
    assert report.info["train_images"] == 5 and report.info["train_captions"] == 10


def test_demo_rerun_reuses_the_corpus_and_restarts_when_its_settings_change(sentiment_run, tmp_path):
    work, _ = sentiment_run
    labels = work / "corpus" / "labels.csv"
    before = labels.stat().st_mtime_ns
    run_sentiment_demo(work, SentimentDemo(corpus=TINY_SENTIMENT.corpus, extractors=TINY_SENTIMENT.extractors,
                                           recipe=SentimentRecipeConfig(models=("early",), train=FAST), num_workers=0))
    assert labels.stat().st_mtime_ns == before
    other = tmp_path / "other"
    shutil.copytree(work, other)
    changed = SentimentDemo(corpus=MosiDemoConfig(num_videos=3, segments_per_video=2, audio="tones", seed=4),
                            extractors=TINY_SENTIMENT.extractors, recipe=SentimentRecipeConfig(models=("early",), train=FAST),
                            num_workers=0)
    report = run_sentiment_demo(other, changed)
    assert sum(report.info["rows"].values()) == 6


def test_cli_train_commands_print_the_table_and_write_json(sentiment_run, retrieval_run, tmp_path):
    runner = CliRunner()
    out = tmp_path / "s.json"
    result = runner.invoke(app, ["train", "sentiment", str(sentiment_run[0] / "fused"), "-m", "early", "--epochs", "2",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "early" in result.output and f"metrics: {out}" in result.output
    assert json.loads(out.read_text())["config"]["train"]["epochs"] == 2
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["train", "retrieval", str(retrieval_run[0] / "dataset"), "-m", "infonce", "--epochs", "2",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "infonce" in result.output and json.loads(out.read_text())["results"][2]["model"] == "infonce"


def test_cli_train_errors_are_one_line_with_exit_2(tmp_path):
    result = CliRunner().invoke(app, ["train", "sentiment", str(tmp_path)])
    assert result.exit_code == 2 and "is not a fused export" in result.output
    result = CliRunner().invoke(app, ["train", "demo", str(tmp_path), "--task", "nothing"])
    assert result.exit_code == 2 and "demo task must be" in result.output


@pytest.mark.parametrize("fmt", ["arrow", "parquet", "npy", "hf"])
def test_cli_train_names_a_truncated_file_of_the_export(sentiment_run, tmp_path, fmt):
    from mmdata.fusion import fuse, read_fused_metadata

    work, _ = sentiment_run
    out = tmp_path / fmt
    fuse(work / "dataset", out, tables=("text", "audio", "video"), format=fmt)
    data_file = {"arrow": "data/train.arrow", "parquet": read_fused_metadata(out)["files"]["train"][0],
                 "npy": "train/features.npy", "hf": "train/data-00000-of-00001.arrow"}[fmt]
    path = out / data_file
    path.write_bytes(path.read_bytes()[:100])
    result = CliRunner().invoke(app, ["train", "sentiment", str(out), "-m", "early", "--epochs", "1"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {path}: cannot read this file of the fused export")
    assert "re-create the export with `mmdata fuse" in result.stderr


def test_cli_train_names_a_damaged_fused_json(sentiment_run, tmp_path):
    shutil.copytree(sentiment_run[0] / "fused", tmp_path / "fused")
    path = tmp_path / "fused" / "fused.json"
    path.write_text(path.read_text()[:200])
    result = CliRunner().invoke(app, ["train", "sentiment", str(tmp_path / "fused")])
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {path}:") and "not valid JSON" in result.stderr


def test_a_truncated_feature_shard_is_named_when_read_for_training(retrieval_run, tmp_path):
    shutil.copytree(retrieval_run[0] / "dataset", tmp_path / "dataset")
    dataset = open_dataset(tmp_path / "dataset")
    shard = sorted(dataset.table_dir("image.color-hist").glob("part-*"))[-1]
    shard.write_bytes(shard.read_bytes()[:40])
    with pytest.raises(ShardReadError, match=rf"{shard}: cannot read this shard"):
        read_pooled(dataset, "image.color-hist")


@pytest.mark.parametrize("script,run", [("train_sentiment.py", "sentiment_run"), ("train_retrieval.py", "retrieval_run")])
def test_recipe_scripts_train_on_an_export(script, run, request, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(script[:-3], REPO / "recipes" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    work, _ = request.getfixturevalue(run)
    source = work / ("fused" if run == "sentiment_run" else "dataset")
    out = tmp_path / "metrics.json"
    module.main([str(source), "--epochs", "2", "-m", "early" if run == "sentiment_run" else "mse", "-o", str(out)])
    assert json.loads(out.read_text())["results"] and "reference" in capsys.readouterr().out
