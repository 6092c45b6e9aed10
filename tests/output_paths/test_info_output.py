"""`mmdata info` piped or redirected prints every value and name whole; a share's corpus root names no place."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mmdata.cli import app

runner = CliRunner()


def _info(folder, columns: str = "80") -> str:
    result = runner.invoke(app, ["info", str(folder)], env={"COLUMNS": columns})  # CliRunner's stdout is no terminal
    assert result.exit_code == 0, result.output
    return result.stdout


def _table_rows(out: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in out.splitlines() if line.startswith("│")]


@pytest.mark.parametrize("columns", ["80", "40"])
def test_piped_info_neither_cuts_nor_wraps_a_value(dataset, columns):
    out = _info(dataset, columns)
    assert "…" not in out
    assert _table_rows(out) == [
        ["image.color-hist", "image", "color-hist", "8", "12", "float32", "pooled", "0", "parquet"],
        ["image.pixel-stats", "image", "pixel-stats", "8", "12", "float32", "pooled", "0", "parquet"],
    ]
    assert any(line.startswith("image.pixel-stats: config {") and "mmdata " in line for line in out.splitlines())


def test_a_dataset_names_its_corpus_root(dataset):
    first = _info(dataset).splitlines()[0]
    assert first.startswith(f"{dataset}  corpus coco at /") and first.endswith("coco-corpus")


def test_a_share_shows_its_corpus_root_as_recorded_not_as_a_place(shared):
    first = _info(shared).splitlines()[0]
    assert first == f"{shared}  corpus coco (root recorded as coco-corpus, relative to where the data was extracted)"
    assert " at " not in first
