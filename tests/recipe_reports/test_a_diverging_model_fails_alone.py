"""A model whose training goes NaN fails on its own: named, with its epoch; the others' results are kept and written."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import mmdata.models.sentiment_recipe as sentiment_recipe
from mmdata.cli import app
from mmdata.models.sentiment_recipe import SentimentRecipeConfig, run_sentiment_recipe
from mmdata.models.trainer import TrainConfig, TrainingDiverged, fit

from .conftest import FAST


def test_fit_stops_at_the_first_non_finite_training_loss_and_names_the_epoch():
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    x, y = torch.randn(64, 3), torch.randn(64)
    loss_fn = lambda model, index: torch.abs(model(x[index]).squeeze(-1) - y[index]).mean()  # noqa: E731
    with pytest.raises(TrainingDiverged, match=r"diverged at epoch \d+ \(training loss (nan|inf)\); try a lower --lr") as e:
        fit(net, loss_fn, 64, TrainConfig(epochs=5, batch_size=8, lr=1e30))
    assert 1 <= e.value.epoch <= 5


def _poison(name: str, monkeypatch) -> None:
    """Make model `name` output NaN from its third training batch on (epoch 3 here: one batch an epoch)."""
    create = sentiment_recipe.create_sentiment_model

    def create_poisoned(model_name, dims, config):
        model = create(model_name, dims, config)
        if model_name == name:
            forward, calls = model.forward, {"n": 0}

            def forward_nan(batch):
                out = forward(batch)
                calls["n"] += model.training
                return out * float("nan") if calls["n"] > 2 else out
            model.forward = forward_nan
        return model

    monkeypatch.setattr(sentiment_recipe, "create_sentiment_model", create_poisoned)


def test_the_recipe_keeps_the_other_models_and_writes_the_json(tiny_export, tmp_path, monkeypatch):
    _poison("tensor", monkeypatch)
    config = SentimentRecipeConfig(models=("early", "tensor", "late"), train=FAST)
    out = tmp_path / "metrics.json"
    report = run_sentiment_recipe(tiny_export, out, config)
    failed = report.row("tensor")
    assert failed.status == "failed" and failed.metrics == {}
    assert failed.error.startswith("model 'tensor' (audio+text+video) diverged at epoch 3 (training loss nan)")
    assert "try a lower --lr" in failed.error
    assert report.row("early").status == "ok" and np.isfinite(report.row("late").metrics["mae"])
    written = json.loads(out.read_text())
    assert [(r["model"], r["status"]) for r in written["results"]] == [
        ("mean", "ok"), ("early", "ok"), ("tensor", "failed"), ("late", "ok")]
    assert written["failures"] == [{"model": "tensor", "modalities": ["audio", "text", "video"], "error": failed.error}]
    text = report.text()
    assert "FAILED" in text.splitlines()[4] and f"FAILED: {failed.error}" in text


def test_the_cli_reports_the_others_and_exits_1_when_a_model_failed(tiny_export, tmp_path, monkeypatch):
    _poison("tensor", monkeypatch)
    out = tmp_path / "m.json"
    result = CliRunner().invoke(app, ["train", "sentiment", str(tiny_export), "-m", "early", "-m", "tensor",
                                      "--epochs", "3", "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "early" in result.output and f"metrics: {out}" in result.output
    assert "1 model(s) failed" in result.output and "model 'tensor'" in result.output
    assert json.loads(out.read_text())["results"][1]["metrics"]["mae"] is not None


def test_a_learning_rate_that_diverges_is_reported_per_model_from_the_cli(tiny_export, tmp_path):
    result = CliRunner().invoke(app, ["train", "sentiment", str(tiny_export), "-m", "early", "--epochs", "2",
                                      "--lr", "1e30", "-o", str(tmp_path / "m.json")])
    assert result.exit_code == 1, result.output
    assert "model 'early' (audio+text+video) diverged at epoch 1" in result.output
