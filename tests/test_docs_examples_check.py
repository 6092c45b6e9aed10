"""docs/check.md names every key of the JSON report `check --json` writes, and of each issue in it."""
from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from mmdata.cli import app
from tests.fakes.csd import write_mosi_csd

REPO = Path(__file__).resolve().parent.parent


def _json_report_bullet() -> str:
    text = (REPO / "docs" / "check.md").read_text(encoding="utf-8")
    return text.split("- The JSON report holds", 1)[1].split("\n- ", 1)[0]


def test_check_md_names_the_keys_of_the_json_report_and_of_its_issues(tmp_path):
    fake = write_mosi_csd(tmp_path / "CMU_MOSI")
    runner = CliRunner()
    assert runner.invoke(app, ["extract", "csd", str(fake.root), str(tmp_path / "ds"), "--text", "hashed-bow"]
                         ).exit_code == 0
    result = runner.invoke(app, ["check", str(tmp_path / "ds"), "--json", str(tmp_path / "check.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "check.json").read_text())
    named = set(re.findall(r"`(\w+)`", _json_report_bullet()))
    assert set(report) <= named
    assert report["issues"] and set(report["issues"][0]) <= named
