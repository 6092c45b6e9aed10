"""`-o` under a missing folder creates it, as every mmdata output file does; the help says so."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from mmdata.cli import app


def test_the_help_says_a_missing_folder_is_created():
    result = CliRunner().invoke(app, ["train", "sentiment", "--help"], env={"COLUMNS": "200"})
    assert "missing folder is created" in " ".join(result.output.split())


def test_the_metrics_json_is_written_into_a_new_folder(tiny_export, tmp_path):
    out = tmp_path / "new" / "deeper" / "m.json"
    result = CliRunner().invoke(app, ["train", "sentiment", str(tiny_export), "-m", "early", "--epochs", "1",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["recipe"] == "sentiment"
