"""The sentiment recipe picks its metric set by the export's corpus name, not by its label range: CH-SIMS names
(kind or `dataset` option) get the SIMS metrics, MOSI/MOSEI names (and a corpus of no known name) MOSI's; a MELD
export, whose labels -1, 0, 1 lie in CH-SIMS's [-1, 1] but are sentiment classes, is refused in one line that
says to fuse `--class-label sentiment` and run `mmdata train classify`."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.models.sentiment_checks import metric_set_of
from mmdata.models.sentiment_recipe import SentimentRecipeConfig, run_sentiment_recipe
from mmdata.models.trainer import TrainConfig
from tests.cli_errors import one_line_error

FAST = SentimentRecipeConfig(models=("early",), train=TrainConfig(epochs=2, batch_size=16, patience=0))
COUNTS = {"train": 30, "valid": 10, "test": 10}
#: MELD's labels as its loader writes them: the sentiment as -1, 0, 1.
MELD_LABELS = {split: [float(i % 3 - 1) for i in range(n)] for split, n in COUNTS.items()}


def of_corpus(export, corpus, loader=None):
    """`export` with its fused.json's source naming `corpus` (and the dataset the loader recognised)."""
    path = export / "fused.json"
    metadata = json.loads(path.read_text())
    metadata["source"] = {**metadata["source"], "corpus": corpus, "loader": loader}
    path.write_text(json.dumps(metadata))
    return export


@pytest.mark.parametrize("corpus, loader, expected", [
    ({"kind": "ch-sims"}, None, "sims"),
    ({"kind": "mmsa", "options": {"dataset": "CH-SIMS"}}, None, "sims"),
    ({"kind": "mmsa-raw", "options": {"dataset": "sims-v2"}}, None, "sims"),
    ({"kind": "cmu-mosi", "options": {}}, None, "mosi"),
    ({"kind": "mmsa", "options": {"dataset": "mosei"}}, None, "mosi"),
    ({"kind": "csd", "options": {}}, {"dataset": "cmu-mosi"}, "mosi"),
    ({"kind": "manifest", "options": {}}, None, "mosi"),  # no known name: MOSI's, as before
])
def test_the_metric_set_is_chosen_by_the_corpus_name(write_export, corpus, loader, expected):
    assert metric_set_of(of_corpus(write_export("export", COUNTS), corpus, loader)) == expected


def test_a_meld_export_has_no_sentiment_metric_set_though_its_labels_lie_in_sims_range(write_export):
    export = of_corpus(write_export("export", COUNTS, labels=MELD_LABELS), {"kind": "meld", "options": {}})
    with pytest.raises(DatasetError, match=r"is of 'meld', whose labels are sentiment classes \(negative -1, neutral "
                                           r"0, positive 1\), not scores to regress"):
        metric_set_of(export)


def test_the_recipe_refuses_a_meld_export_before_training_naming_class_label_sentiment(write_export):
    export = of_corpus(write_export("export", COUNTS, labels=MELD_LABELS), {"kind": "meld", "options": {}})
    with pytest.raises(DatasetError, match=r"`mmdata fuse DATASET OUT --class-label sentiment` \(or --class-label "
                                           r"emotion\) and run `mmdata train classify OUT` \(scored by weighted-F1"):
        run_sentiment_recipe(export, export / "metrics.json", FAST)
    assert not (export / "metrics.json").exists()


def test_the_cli_refuses_a_meld_export_in_one_line(write_export):
    export = of_corpus(write_export("export", COUNTS, labels=MELD_LABELS), {"kind": "meld", "options": {}})
    line = one_line_error(CliRunner().invoke(app, ["train", "sentiment", str(export)]))
    assert "'meld'" in line and "--class-label sentiment" in line and "mmdata train classify" in line


def test_a_sims_export_is_still_scored_with_the_sims_metrics(write_export):
    export = of_corpus(write_export("export", COUNTS, labels=MELD_LABELS), {"kind": "ch-sims", "options": {}})
    report = run_sentiment_recipe(export, None, FAST)
    assert report.info["metrics"] == "sims" and "acc3" in report.row("mean").metrics
