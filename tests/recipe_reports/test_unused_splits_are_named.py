"""Labelled rows of a split the recipe does not use (an `unassigned` fold, a split named otherwise) are
named in a warning instead of being left out without a word."""
from __future__ import annotations

from dataclasses import replace

from mmdata.models.sentiment_recipe import run_sentiment_recipe
from tests.recipe_reports.conftest import TINY_SENTIMENT


def test_a_split_the_recipe_leaves_out_is_named(tiny_export, tmp_path, caplog):
    config = replace(TINY_SENTIMENT.recipe, test_split="valid")  # 'test' is then used by nothing
    with caplog.at_level("WARNING", logger="mmdata.models.sentiment_recipe"):
        run_sentiment_recipe(tiny_export, tmp_path / "metrics.json", config)
    (message,) = [r.getMessage() for r in caplog.records if "are not used" in r.getMessage()]
    assert "split(s) 'test' (" in message and "labelled rows) are not used" in message
    assert "--test-split" in message


def test_no_warning_when_every_labelled_split_is_used(tiny_export, tmp_path, caplog):
    with caplog.at_level("WARNING", logger="mmdata.models.sentiment_recipe"):
        run_sentiment_recipe(tiny_export, tmp_path / "metrics.json", TINY_SENTIMENT.recipe)
    assert not [r for r in caplog.records if "are not used" in r.getMessage()]
