"""The README's quickstart runs as written: the COCO commands on the shipped sample corpus, then its
DataLoader snippet on their export; the `.csd` commands on a small fake CMU-MOSI corpus."""
from __future__ import annotations

import contextlib
import io
import json
import shlex
from pathlib import Path

from typer.testing import CliRunner

from mmdata.cli import app
from tests.fakes.csd import write_mosi_csd

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()


def _block(section: str, language: str) -> str:
    """The first code block of `language` after `section` in the README."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text[text.index(section):].split(f"```{language}\n", 1)[1].split("```", 1)[0]


def _commands(section: str) -> list[list[str]]:
    block = _block(section, "bash").replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def _run(argv: list[str], replace: dict[str, str]) -> None:
    assert argv[0] == "mmdata"
    argv = [replace.get(a, a) for a in argv[1:]]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, (argv, result.output)


def test_the_coco_quickstart_and_its_dataloader_run_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    commands = _commands("### Images and captions")
    assert [c[:2] for c in commands] == [["mmdata", "extract"], ["mmdata", "info"], ["mmdata", "check"],
                                         ["mmdata", "fuse"]]
    for argv in commands:
        _run(argv, {"mmdata/sample_data/coco": str(REPO / "mmdata" / "sample_data" / "coco")})
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(_block("### Images and captions", "python"), "README.md", "exec"), {"__name__": "__main__"})
    batches = printed.getvalue().splitlines()
    assert len(batches) == 2 and all(line.endswith("torch.Size([4, 432])") for line in batches), batches


def test_the_csd_quickstart_runs_as_written(tmp_path, monkeypatch):
    fake = write_mosi_csd(tmp_path / "CMU_MOSI")
    (fake.root / "folds.json").write_text(json.dumps({"train": ["abc", "x9Y_z-1"], "test": ["abcd"]}))
    monkeypatch.chdir(tmp_path)
    commands = _commands("### Time-aligned sequences")
    assert [c[:2] for c in commands] == [["mmdata", "extract"], ["mmdata", "align"], ["mmdata", "check"],
                                         ["mmdata", "fuse"]]
    for argv in commands:
        _run(argv, {"/data/CMU_MOSI": str(fake.root)})
    assert json.loads((tmp_path / "check.json").read_text())["ok"]
    fused = json.loads((tmp_path / "out" / "mosi-fused" / "fused.json").read_text())
    assert (fused["sequences"]["mode"], fused["format"]) == ("pad", "arrow")
