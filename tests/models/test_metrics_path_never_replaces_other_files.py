"""The metrics JSON replaces only metrics written earlier (or an empty file): never the export's own
fused.json or data files, another file, or a device/FIFO (the atomic rename would put a file in its place)."""
from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.models.report import metrics_file
from mmdata.models.sentiment_recipe import SentimentRecipeConfig, run_sentiment_recipe
from mmdata.models.trainer import TrainConfig
from mmdata.store.output_files import OutputPathError
from tests.cli_errors import one_line_error

FAST = SentimentRecipeConfig(models=("early",), train=TrainConfig(epochs=1, batch_size=16, patience=0))
COUNTS = {"train": 30, "valid": 10, "test": 10}


@pytest.mark.parametrize("name", ["fused.json", "train/index.parquet", "train/features.npy"])
def test_a_file_of_the_export_is_refused_and_kept(write_export, name):
    export = write_export("export", COUNTS)
    before = (export / name).read_bytes()
    result = CliRunner().invoke(app, ["train", "sentiment", str(export), "-o", str(export / name)])
    line = one_line_error(result)
    assert f"is a file of the fused export {export}; writing there would destroy the export" in line
    assert (export / name).read_bytes() == before


def test_another_existing_file_is_refused_and_kept(write_export, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    with pytest.raises(OutputPathError, match="is an existing file that is not a recipe's metrics JSON"):
        run_sentiment_recipe(write_export("export", COUNTS), notes, FAST)
    assert notes.read_text() == "my notes\n"


def test_a_fifo_is_refused_not_replaced_by_a_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputPathError, match="is not a regular file"):
        metrics_file(fifo, "--out", "sentiment-metrics.json")
    assert not fifo.is_file() and fifo.exists()


def test_earlier_metrics_and_an_empty_file_are_replaced(write_export, tmp_path):
    export = write_export("export", COUNTS)
    out = tmp_path / "metrics.json"
    first = run_sentiment_recipe(export, out, FAST)
    again = run_sentiment_recipe(export, out, FAST)  # metrics written earlier: replaced
    assert again.row("early").metrics == first.row("early").metrics
    empty = tmp_path / "empty.json"
    empty.touch()
    run_sentiment_recipe(export, empty, FAST)
    assert empty.read_text().startswith('{\n  "recipe": "sentiment"')
