"""docs/extract.md's lists stay complete and its exit statuses true: every `train` command with `--json` is
named under JSON output, every `level=caption` table name under Table names, and Ctrl-C and SIGTERM end a
command as its exit-status table says."""
from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from mmdata.cli import app
from mmdata.features.base import available_extractors, create_extractor

REPO = Path(__file__).resolve().parent.parent
EXTRACT = (REPO / "docs" / "extract.md").read_text(encoding="utf-8")


def _section(heading: str) -> str:
    return EXTRACT.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _train_commands_with_json() -> list[str]:
    train = typer.main.get_command(app).commands["train"]
    return sorted(name for name, command in train.commands.items()
                  if any("--json" in param.opts for param in command.params))


def test_json_output_names_every_train_command_that_takes_json():
    named = _section("JSON output").split("`train ", 1)[1].split("`", 1)[0].split("|")
    assert sorted(named) == _train_commands_with_json()


@pytest.mark.parametrize("name", [n for n in available_extractors("text")
                                  if "level" in {f.name for f in dataclasses.fields(create_extractor(n).config)}])
def test_table_names_list_every_caption_level_table(name):
    assert f"`{create_extractor(f'{name}:level=caption').table_name}`" in _section("Table names")


def _exit_status_row(status: int) -> str:
    return next(line for line in _section("Exit status").splitlines() if line.startswith(f"| {status} |"))


def test_sigterm_ends_a_command_with_143_and_no_line_as_the_exit_status_table_says():
    child = subprocess.Popen([sys.executable, "-c", (
        "import time; from mmdata.cli import exit_on_sigterm\n"
        "exit_on_sigterm(); print('ready', flush=True); time.sleep(600)\n")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGTERM)
    assert child.wait(30) == 143
    assert child.stderr.read() == ""
    assert "143 after SIGTERM, the same clean-up without the line" in _exit_status_row(130)


def test_ctrl_c_during_extract_ends_it_with_130_and_one_interrupted_line(tmp_path):
    corpus, out = REPO / "mmdata" / "sample_data" / "coco", tmp_path / "out"
    child = subprocess.Popen([sys.executable, "-c", (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        f"sys.argv = ['mmdata', 'extract', 'coco', {str(corpus)!r}, {str(out)!r}, '--split', 'val2017',"
        " '--text', 'minilm', '-q']\n"
        "from mmdata.cli import main; main()\n")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "samples").is_dir() and time.monotonic() < deadline:  # the command runs: MiniLM loads next
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    assert child.wait(60) == 130
    lines = child.stderr.read().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted: the finished shards"), lines
    assert "one line `interrupted: ...`" in _exit_status_row(130)
