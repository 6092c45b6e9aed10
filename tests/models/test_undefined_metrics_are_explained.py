"""A sentiment metric that is undefined reads n/a in the table (null in the JSON) with a note that says
why: the mean row's constant prediction, test labels of one value, test labels all 0 (non0 Acc-2/F1).
The table never prints a bare `nan`."""
from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.models.sentiment_recipe import SentimentRecipeConfig, run_sentiment_recipe
from mmdata.models.trainer import TrainConfig

FAST = SentimentRecipeConfig(models=("early",), train=TrainConfig(epochs=2, batch_size=16, patience=0))
COUNTS = {"train": 30, "valid": 20, "test": 20}


def _cells(report, model: str) -> list[str]:
    line = next(line for line in report.table().splitlines() if line.startswith(model))
    return line.split()


def test_the_mean_rows_correlation_reads_n_a_with_the_reason(write_export):
    report = run_sentiment_recipe(write_export("export", COUNTS), None, FAST)
    assert _cells(report, "mean")[3] == "n/a" and "nan" not in report.text()  # mean has no modality cell
    assert report.info["notes"] == ["Corr n/a for mean: one predicted value for every 'test' row (the mean row predicts "
                                    "the train mean by design), and Pearson's r needs predictions that vary"]
    assert report.info["notes"][0] in report.text().splitlines()


def test_test_labels_of_one_value_leave_every_correlation_undefined_and_say_so(write_export, tmp_path):
    export = write_export("export", COUNTS, labels={"test": [1.0] * 20})
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(app, ["train", "sentiment", str(export), "-m", "early", "--epochs", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Corr n/a: every label of the 'test' split is 1, and Pearson's r needs labels that vary" in result.stdout
    assert "nan" not in result.stdout
    saved = json.loads(out.read_text(), parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    assert [row["metrics"]["corr"] for row in saved["results"]] == [None, None]
    assert saved["notes"] == ["Corr n/a: every label of the 'test' split is 1, and Pearson's r needs labels that vary"]


def test_test_labels_all_zero_explain_the_undefined_non0_columns(write_export):
    export = write_export("export", COUNTS, labels={"test": [0.0] * 20})
    report = run_sentiment_recipe(export, None, FAST)
    assert np.isnan(report.row("early").metrics["acc2_non0"]) and _cells(report, "early")[7:9] == ["n/a", "n/a"]
    assert ("Acc2/F1 non0 n/a: every label of the 'test' split is 0, and non0 leaves label-0 rows out"
            in report.info["notes"])


def test_a_report_with_every_metric_defined_has_no_notes_but_the_mean_rows(write_export):
    report = run_sentiment_recipe(write_export("export", COUNTS), None, FAST)
    assert all(not np.isnan(value) for value in report.row("early").metrics.values())
    assert len(report.info["notes"]) == 1 and report.info["notes"][0].startswith("Corr n/a for mean:")
