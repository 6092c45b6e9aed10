"""The numbers the recipes report are the standard metrics of their models' own predictions, recomputed
here in plain NumPy (MOSI: MAE, Pearson, Acc-2 and weighted F1 in both conventions, Acc-7/Acc-5;
retrieval: Recall@K and median ranks, ties against the query), and `--seed` repeats them exactly."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.models.data import standardize
from mmdata.models.retrieval import create_retrieval_model
from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, load_retrieval_split, run_retrieval_recipe
from mmdata.models.sentiment import create_sentiment_model
from mmdata.models.sentiment_recipe import (
    SentimentRecipeConfig, load_sentiment_splits, predict_sentiment, run_sentiment_recipe, train_sentiment_model,
)
from mmdata.models.trainer import TrainConfig, seed_everything
from mmdata.store import open_dataset

SENTIMENT = SentimentRecipeConfig(models=("early", "late"), train=TrainConfig(epochs=6, batch_size=16, patience=0))
RETRIEVAL = RetrievalRecipeConfig(train=TrainConfig(epochs=4, batch_size=32, patience=0))


def weighted_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    """sklearn's f1_score(average='weighted') of two boolean arrays, by hand."""
    total = 0.0
    for positive in (False, True):
        tp = np.sum((pred == positive) & (truth == positive))
        fp = np.sum((pred == positive) & (truth != positive))
        fn = np.sum((pred != positive) & (truth == positive))
        total += (2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0) * np.mean(truth == positive)
    return float(total)


def mosi_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    nonzero = truth != 0
    return {
        "mae": float(np.mean(np.abs(pred - truth))),
        "corr": float(np.corrcoef(pred, truth)[0, 1]),
        "acc2_has0": float(np.mean((pred >= 0) == (truth >= 0))),
        "f1_has0": weighted_f1(truth >= 0, pred >= 0),
        "acc2_non0": float(np.mean((pred[nonzero] > 0) == (truth[nonzero] > 0))),
        "f1_non0": weighted_f1(truth[nonzero] > 0, pred[nonzero] > 0),
        "acc7": float(np.mean(np.round(np.clip(pred, -3, 3)) == np.round(np.clip(truth, -3, 3)))),
        "acc5": float(np.mean(np.round(np.clip(pred, -2, 2)) == np.round(np.clip(truth, -2, 2)))),
    }


def recalls(scores: np.ndarray, caption_image: np.ndarray) -> dict[str, float]:
    """Recall@1/5/10 and medr by explicit loops: a wrong item scoring as high as the right one ranks first."""
    i2t = [np.sum(np.delete(row, np.flatnonzero(caption_image == i)) >= row[caption_image == i].max())
           for i, row in enumerate(scores)]
    t2i = [np.sum(np.delete(scores[:, j], caption_image[j]) >= scores[caption_image[j], j])
           for j in range(scores.shape[1])]
    out = {f"{side}_r{k}": 100.0 * np.mean(np.asarray(ranks) < k)
           for side, ranks in (("i2t", i2t), ("t2i", t2i)) for k in (1, 5, 10)}
    return out | {"i2t_medr": np.floor(np.median(i2t)) + 1, "t2i_medr": np.floor(np.median(t2i)) + 1}


def test_sentiment_metrics_are_those_of_the_models_predictions(write_export):
    labels = {"test": list(np.round(np.linspace(-2.9, 2.9, 30), 1))}  # holds 0.0 and both signs
    export = write_export("export", {"train": 60, "valid": 20, "test": 30}, labels=labels)
    report = run_sentiment_recipe(export, None, SENTIMENT)
    train, valid, test, _ = load_sentiment_splits(export, SENTIMENT)
    dims = {m: x.shape[1] for m, x in train.features.items()}
    assert report.row("mean").metrics["mae"] == pytest.approx(np.mean(np.abs(np.mean(train.labels) - test.labels)))
    for name in SENTIMENT.models:
        seed_everything(SENTIMENT.train.seed)
        model = create_sentiment_model(name, dims, SENTIMENT.model)
        train_sentiment_model(model, train, valid, SENTIMENT.train)
        expected = mosi_metrics(predict_sentiment(model, test), test.labels)
        reported = report.row(name).metrics
        assert {k: reported[k] for k in expected} == pytest.approx(expected, abs=1e-12)


def test_retrieval_recalls_are_those_of_the_models_scores(shapes_dataset):
    report = run_retrieval_recipe(shapes_dataset, None, RETRIEVAL)
    dataset = open_dataset(shapes_dataset)
    tables = (("image.color-hist",), "text.hashed-bow.caption")
    train = load_retrieval_split(dataset, *tables, ("train2017",), "train")
    test = load_retrieval_split(dataset, *tables, ("val2017",))
    train.images, test.images = standardize(train.images, test.images)
    train.texts, test.texts = standardize(train.texts, test.texts)
    rows = {row.model: row for row in report.rows}
    for name in RETRIEVAL.models:
        seed_everything(RETRIEVAL.train.seed)
        model = create_retrieval_model(name, RETRIEVAL.model)
        model.fit(train.images, train.texts, train.caption_image, RETRIEVAL.train)
        expected = recalls(model.scores(test.images, test.texts), test.caption_image)
        assert {k: rows[name].metrics[k] for k in expected} == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("task", ["sentiment", "retrieval"])
def test_the_same_seed_repeats_every_number_and_another_seed_changes_them(task, write_export, shapes_dataset, tmp_path):
    source = write_export("export", {"train": 40, "valid": 20, "test": 20}) if task == "sentiment" else shapes_dataset
    runs = {}
    for name, seed in (("first", "3"), ("again", "3"), ("other", "4")):
        out = tmp_path / f"{name}.json"
        result = CliRunner().invoke(app, ["train", task, str(source), "--seed", seed, "--epochs", "3", "-o", str(out)])
        assert result.exit_code == 0, result.output
        runs[name] = [(row["model"], row["metrics"]) for row in json.loads(out.read_text())["results"]]
    assert runs["first"] == runs["again"]
    assert runs["first"] != runs["other"]
