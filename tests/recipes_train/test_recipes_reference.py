"""The training recipes as an experiment must be run: disjoint splits, model selection off the test split,
train-only statistics, labels that are sentiment scores, the right tables, reports equal to their metrics
recomputed independently, and one-line errors with exit status 2 from the CLI and the scripts."""
from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.demo_corpora.mosi_demo import MosiDemoConfig
from mmdata.demo_corpora.shapes_demo import ShapesDemoConfig
from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion import fuse
from mmdata.models.data import read_fused_splits
from mmdata.models.demo import RetrievalDemo, SentimentDemo, run_retrieval_demo, run_sentiment_demo
from mmdata.models.retrieval import create_retrieval_model
from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, load_retrieval_split, run_retrieval_recipe
from mmdata.models.sentiment import create_sentiment_model
from mmdata.models.sentiment_recipe import (
    SentimentRecipeConfig,
    predict_sentiment,
    run_sentiment_recipe,
    train_sentiment_model,
)
from mmdata.models.trainer import TrainConfig, seed_everything
from mmdata.store import open_dataset

REPO = Path(__file__).resolve().parents[2]
FAST = TrainConfig(epochs=4, batch_size=8, patience=2)
SENTIMENT = SentimentDemo(
    corpus=MosiDemoConfig(num_videos=6, segments_per_video=4, audio="tones", seed=5),
    extractors=("hashed-bow:dim=32", "egemaps:level=functionals",
                "video-frames:image_extractor=color-hist,image_options=bins=4,pool=mean,fps=1"),
    recipe=SentimentRecipeConfig(models=("early",), train=FAST),
    num_workers=0,
)
RETRIEVAL = RetrievalDemo(
    corpus=ShapesDemoConfig(num_train=20, num_val=6, captions_per_image=3, seed=5),
    extractors=("color-hist:bins=4", "hashed-bow:dim=32,level=caption"),
    recipe=RetrievalRecipeConfig(models=("cca",), train=FAST),
    num_workers=0,
)


@pytest.fixture(scope="module")
def sentiment_work(tmp_path_factory):
    work = tmp_path_factory.mktemp("sentiment")
    run_sentiment_demo(work, SENTIMENT)
    return work


@pytest.fixture(scope="module")
def retrieval_work(tmp_path_factory):
    work = tmp_path_factory.mktemp("retrieval")
    run_retrieval_demo(work, RETRIEVAL)
    return work


def _npy_export(sentiment_work: Path, out: Path, **options) -> Path:
    fuse(sentiment_work / "dataset", out, tables=("text", "audio", "video"), format="npy", **options)
    return out


def _set_labels(export: Path, split: str, labels: list[float | None]) -> None:
    path = export / split / "index.parquet"
    table = pq.read_table(path)
    column = table.schema.get_field_index("label")
    pq.write_table(table.set_column(column, "label", pa.array(labels, pa.float64())), path)


def test_sentiment_splits_must_be_disjoint(sentiment_work):
    for splits in ({"test_split": "train"}, {"valid_split": "test"}, {"valid_split": "train"}):
        with pytest.raises(ConfigError, match="splits must differ"):
            SentimentRecipeConfig(**splits)
    result = CliRunner().invoke(app, ["train", "sentiment", str(sentiment_work / "fused"), "--valid-split", "test"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the train, validation and test splits must differ")


def test_the_test_split_is_never_chosen_for_early_stopping(sentiment_work):
    # testing on 'valid': the automatic validation split must not be 'valid' too; 15% of train is held out
    report = run_sentiment_recipe(sentiment_work / "fused", None, SentimentRecipeConfig(
        models=("early",), test_split="valid", train=FAST))
    assert report.info["splits"] == {"train": "train", "valid": "train (15% held out)", "test": "valid"}
    assert report.info["rows"]["train"] + report.info["rows"]["valid"] == 16


def test_the_report_equals_its_metrics_recomputed_from_a_retrained_model(sentiment_work):
    report = run_sentiment_recipe(sentiment_work / "fused", None, SentimentRecipeConfig(models=("early",), train=FAST))
    splits = read_fused_splits(sentiment_work / "fused")
    train, valid, test = splits["train"], splits["valid"], splits["test"]
    seed_everything(FAST.seed)
    model = create_sentiment_model("early", {m: x.shape[1] for m, x in train.features.items()})
    result = train_sentiment_model(model, train, valid, FAST)
    pred, truth = predict_sentiment(model, test), test.labels
    metrics = report.row("early").metrics
    assert report.row("early").details["valid_mae"] == pytest.approx(result.best_score)
    assert metrics["mae"] == pytest.approx(np.mean(np.abs(pred - truth)))
    assert metrics["acc2_has0"] == pytest.approx(np.mean((pred >= 0) == (truth >= 0)))
    assert metrics["f1_has0"] == pytest.approx(f1_score(truth >= 0, pred >= 0, average="weighted"))
    assert metrics["acc7"] == pytest.approx(np.mean(np.round(np.clip(pred, -3, 3)) == np.round(np.clip(truth, -3, 3))))
    baseline = report.row("mean").metrics
    assert baseline["mae"] == pytest.approx(np.mean(np.abs(np.mean(train.labels) - truth)))


def test_the_report_records_train_only_statistics_and_warns_when_the_test_split_fed_them(
        sentiment_work, tmp_path, caplog):
    clean = run_sentiment_recipe(sentiment_work / "fused", None, SentimentRecipeConfig(models=("early",), train=FAST))
    assert clean.info["normalization"]["stats_splits"] == ["train"]
    assert set(clean.info["normalization"]["methods"].values()) == {"zscore"}
    leaky = _npy_export(sentiment_work, tmp_path / "leaky", stats_splits=("train", "test"))
    with caplog.at_level(logging.WARNING, logger="mmdata.models.sentiment_recipe"):
        report = run_sentiment_recipe(leaky, None, SentimentRecipeConfig(models=("early",), train=FAST))
    assert report.info["normalization"]["stats_splits"] == ["train", "test"]
    assert "statistics of split(s) ['test'] that the recipe evaluates on" in caplog.text


def test_an_export_without_labels_is_refused_with_a_clear_error(retrieval_work, tmp_path):
    fuse(retrieval_work / "dataset", tmp_path / "unlabelled", tables=("image", "text"), format="arrow",
         stats_splits=("train2017",))
    with pytest.raises(DatasetError, match="has no labels .*needs a labelled corpus"):
        run_sentiment_recipe(tmp_path / "unlabelled", None, SentimentRecipeConfig(
            train_split="train2017", test_split="val2017", train=FAST))


def test_class_id_labels_are_refused_as_not_sentiment_scores(sentiment_work, tmp_path):
    export = _npy_export(sentiment_work, tmp_path / "classes")
    for split, count in (("train", 16), ("valid", 4), ("test", 4)):
        _set_labels(export, split, [float(i % 3) for i in range(count)])
    with pytest.raises(DatasetError, match="non-negative integers \\(0, 1, 2\\): class ids"):
        run_sentiment_recipe(export, None, SentimentRecipeConfig(models=("early",), train=FAST))


def test_a_named_validation_split_without_labels_is_an_error_before_training(sentiment_work, tmp_path):
    export = _npy_export(sentiment_work, tmp_path / "unlabelled-valid")
    _set_labels(export, "valid", [None] * 4)
    with pytest.raises(DatasetError, match="split 'valid' .* has no labelled rows; expected some for early stopping"):
        run_sentiment_recipe(export, None, SentimentRecipeConfig(models=("early",), valid_split="valid", train=FAST))


def test_retrieval_refuses_tables_of_the_wrong_kind(retrieval_work, sentiment_work):
    data = retrieval_work / "dataset"
    with pytest.raises(DatasetError, match="'text.hashed-bow.caption' \\(modality text, sequence\\) is not a pooled"):
        run_retrieval_recipe(data, None, RetrievalRecipeConfig(image_tables=("text.hashed-bow.caption",), train=FAST))
    with pytest.raises(DatasetError, match="'image.color-hist' \\(modality image, item axis None\\) is not a caption"):
        run_retrieval_recipe(data, None, RetrievalRecipeConfig(text_table="image.color-hist", train=FAST))
    # a pooled video table may take the image side (video-text corpora), but a pooled (transcript-level) text
    # table is no caption table
    with pytest.raises(DatasetError, match="'text.hashed-bow' \\(modality text, item axis None\\) is not a caption"):
        run_retrieval_recipe(sentiment_work / "dataset", None, RetrievalRecipeConfig(
            image_tables=("video.frames-color-hist-mean",), text_table="text.hashed-bow", train=FAST))


def test_retrieval_never_tests_on_a_train_split(retrieval_work):
    data = retrieval_work / "dataset"
    with pytest.raises(ConfigError, match="test split 'train2017' is also a train split"):
        run_retrieval_recipe(data, None, RetrievalRecipeConfig(train_splits=("train2017", "val2017"),
                                                               test_split="train2017", train=FAST))
    # the default train splits leave an explicit test split out: nothing is left to train on here
    with pytest.raises(DatasetError, match="cannot tell the train and test splits"):
        run_retrieval_recipe(data, None, RetrievalRecipeConfig(test_split="train2017", train=FAST))


def test_retrieval_report_equals_recall_and_median_rank_recomputed_from_the_scores(retrieval_work):
    data = retrieval_work / "dataset"
    report = run_retrieval_recipe(data, None, RETRIEVAL.recipe)
    dataset = open_dataset(data)
    tables = ("image.color-hist",), "text.hashed-bow.caption"
    train = load_retrieval_split(dataset, *tables, ("train2017",))
    test = load_retrieval_split(dataset, *tables, ("val2017",))
    mean_i, std_i = train.images.mean(0), np.where(train.images.std(0) > 0, train.images.std(0), 1)
    mean_t, std_t = train.texts.mean(0), np.where(train.texts.std(0) > 0, train.texts.std(0), 1)
    model = create_retrieval_model("cca")
    model.fit((train.images - mean_i) / std_i, (train.texts - mean_t) / std_t, train.caption_image, FAST)
    scores = model.scores((test.images - mean_i) / std_i, (test.texts - mean_t) / std_t)
    own = scores[test.caption_image, np.arange(len(test.caption_image))]
    t2i = (scores >= own[None, :]).sum(axis=0) - 1
    metrics = report.rows[2].metrics
    assert metrics["t2i_r1"] == pytest.approx(100 * np.mean(t2i < 1), abs=1e-6)
    assert metrics["t2i_r5"] == pytest.approx(100 * np.mean(t2i < 5), abs=1e-6)
    assert metrics["t2i_medr"] == np.floor(np.median(t2i)) + 1
    assert report.info["test_images"] == 6 and report.info["test_captions"] == 18


def test_retrieval_recipe_repeats_exactly_under_its_seed(retrieval_work):
    config = RetrievalRecipeConfig(models=("infonce", "mse"), train=FAST)
    first = run_retrieval_recipe(retrieval_work / "dataset", None, config)
    second = run_retrieval_recipe(retrieval_work / "dataset", None, config)
    assert [r.metrics for r in first.rows] == [r.metrics for r in second.rows]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name[:-3], REPO / "recipes" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recipe_scripts_turn_user_errors_into_one_line_and_exit_2(sentiment_work, tmp_path, capsys):
    sentiment = _script("train_sentiment.py")
    with pytest.raises(SystemExit) as exit_info:
        sentiment.main([str(tmp_path)])
    assert exit_info.value.code == 2 and capsys.readouterr().err.startswith(f"error: {tmp_path} is not a fused export")
    with pytest.raises(SystemExit) as exit_info:
        sentiment.main([str(sentiment_work / "fused"), "--epochs", "0"])
    assert exit_info.value.code == 2 and "epochs must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        sentiment.main([str(sentiment_work / "fused"), "--valid-split", "test"])
    assert exit_info.value.code == 2 and "splits must differ" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        _script("train_retrieval.py").main([str(sentiment_work / "dataset")])
    assert exit_info.value.code == 2 and "no pooled image table" in capsys.readouterr().err


def test_recipe_scripts_print_where_the_metrics_went(retrieval_work, tmp_path, capsys):
    out = tmp_path / "m.json"
    _script("train_retrieval.py").main([str(retrieval_work / "dataset"), "-m", "cca", "--train-split", "train2017",
                                        "--test-split", "val2017", "-o", str(out)])
    assert f"metrics: {out}" in capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert saved["train_splits"] == ["train2017"] and "t2i_medr" in saved["results"][2]["metrics"]


def test_an_incomplete_table_is_refused_before_training(tmp_path):
    import json

    from mmdata.errors import DatasetError
    from mmdata.models.data import read_pooled
    from mmdata.pipeline import extract
    from mmdata.store.reader import open_dataset
    from tests.sample_corpus import copy_sample_corpus

    corpus = copy_sample_corpus("coco", tmp_path)
    extract("coco", corpus, tmp_path / "ds", extractors=["color-hist:bins=4"], num_workers=0)
    ids, values = read_pooled(open_dataset(tmp_path / "ds"), "image.color-hist")
    assert len(ids) == len(values) > 0
    manifest = json.loads((tmp_path / "ds" / "mmdata.json").read_text())
    manifest["tables"]["image.color-hist"]["complete"] = False  # as an interrupted extraction leaves it
    (tmp_path / "ds" / "mmdata.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match=r"table 'image.color-hist' of .* is incomplete .* before training"):
        read_pooled(open_dataset(tmp_path / "ds"), "image.color-hist")
