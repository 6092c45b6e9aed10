"""The metrics JSON says what its numbers are (units, conventions, tie rule); the values keep their scales."""
from __future__ import annotations

import json

from mmdata.metrics import RETRIEVAL_DEFINITIONS, SENTIMENT_KEYS
from mmdata.models.report import ResultRow
from mmdata.models.retrieval_recipe import RetrievalReport
from mmdata.models.sentiment_recipe import SentimentRecipeConfig, run_sentiment_recipe

from .conftest import FAST


def test_the_sentiment_json_defines_every_key_and_keeps_fractions(tiny_export, tmp_path):
    out = tmp_path / "s.json"
    report = run_sentiment_recipe(tiny_export, out, SentimentRecipeConfig(models=("early",), train=FAST))
    written = json.loads(out.read_text())
    definitions = written["metric_definitions"]
    assert set(definitions["keys"]) == set(SENTIMENT_KEYS)
    assert "fraction" in definitions["units"] and "MMSA" in definitions["reference"]
    assert "exactly 0 dropped" in definitions["keys"]["acc2_non0"]
    early = written["results"][1]["metrics"]
    assert 0 <= early["acc2_has0"] <= 1 and 0 <= early["f1_non0"] <= 1  # fractions, as before
    legend = report.text().splitlines()[len(report.table().splitlines())]
    assert "Acc/F1 in % (JSON: fractions)" in legend and "has0" in legend and "non0" in legend


def test_the_retrieval_json_defines_percent_ties_and_medr():
    report = RetrievalReport(rows=[ResultRow("chance", "reference", ["image", "text"], {"i2t_r1": 0.5})], folded={},
                             info={"metric_definitions": RETRIEVAL_DEFINITIONS})
    written = report.to_json()["metric_definitions"]
    assert "percent" in written["units"] and "pessimistic" in written["ties"]
    assert "1" in written["keys"]["i2t_medr"] and "VSE++" in written["reference"]
    assert "Recall@K in %" in report.text().splitlines()[-1]
