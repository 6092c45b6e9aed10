"""MELD trained and scored as its papers do, end to end on the fake MELD.Raw: `extract meld` (a bag of words and a
log-mel of each clip's sound), `fuse --class-label emotion` (or `sentiment`), `train classify`, whose JSON gives each
split's weighted-F1; `train sentiment` refuses the plain export of the same dataset in one line, naming the way."""
from __future__ import annotations

import json

import pytest

from tests.cli_errors import one_line_error
from tests.corpora.cli_extract import invoke_mmdata, run_extract, run_mmdata
from tests.fakes.meld import UTTERANCES, write_fake_meld

FEATURES = ("--text", "hashed-bow", "--audio", "librosa-logmel")


@pytest.fixture(scope="module")
def meld(tmp_path_factory):
    """(work folder, the dataset extracted from the fake MELD)."""
    tmp = tmp_path_factory.mktemp("meld-classify")
    fake = write_fake_meld(tmp / "MELD.Raw")
    return tmp, run_extract("meld", fake.root, tmp / "meld", FEATURES).root


@pytest.mark.parametrize("label, classes", [("emotion", sorted({u.emotion for u in UTTERANCES})),
                                            ("sentiment", ["negative", "neutral", "positive"])])
def test_fuse_class_label_then_train_classify_reports_weighted_f1_per_split(meld, label, classes):
    tmp, dataset = meld
    fused, metrics = tmp / f"meld-{label}", tmp / f"meld-{label}.json"
    run_mmdata("fuse", str(dataset), str(fused), "--class-label", label)
    result = run_mmdata("train", "classify", str(fused), "--json", str(metrics))
    assert "Weighted-F1" in result.output
    info = json.loads(metrics.read_text())
    assert info["classes"] == classes
    assert info["source"]["corpus"]["kind"] == "meld"
    scored = {(r["model"], r["details"]["split"]): r["metrics"] for r in info["results"]}
    assert set(scored) == {(model, split) for model in ("majority", "linear") for split in ("val", "test")}
    for metrics_of_row in scored.values():
        assert 0.0 <= metrics_of_row["weighted_f1"] <= 1.0
    assert "weighted_f1" in info["metric_definitions"]


def test_train_sentiment_refuses_the_meld_export_naming_class_label_sentiment(meld):
    tmp, dataset = meld
    run_mmdata("fuse", str(dataset), str(tmp / "meld-plain"))
    line = one_line_error(invoke_mmdata("train", "sentiment", str(tmp / "meld-plain")))
    assert "is of 'meld'" in line and "--class-label sentiment" in line and "`mmdata train classify OUT`" in line


def test_train_sentiment_on_a_meld_export_of_class_ids_says_to_train_classify_on_it(meld):
    tmp, dataset = meld
    export = tmp / "meld-emotion-ids"
    run_mmdata("fuse", str(dataset), str(export), "--class-label", "emotion")
    line = one_line_error(invoke_mmdata("train", "sentiment", str(export)))
    assert f"it holds class ids of extra.emotion: run `mmdata train classify {export}`" in line
    assert "DATASET" not in line
