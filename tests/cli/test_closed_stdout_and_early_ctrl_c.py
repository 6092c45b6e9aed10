"""A reader of stdout that leaves (`mmdata info DIR | head -1`) ends a command quietly with 141, never a
traceback or 1 ("found errors"); check and verify keep their verdict. Ctrl-C while the command line is
still loading is one line and 130, as during a command."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from tests.processes import run_with_stdout_closed
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The COCO sample corpus with 4-bin colour histograms and hashed bags of words."""
    tmp = tmp_path_factory.mktemp("closed-stdout")
    corpus = copy_sample_corpus("coco", tmp)
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp / "ds"), "--image", "color-hist:bins=4",
                                 "--text", "hashed-bow", "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    return tmp / "ds"


@pytest.mark.parametrize("words", [["info", "{ds}"], ["info", "{ds}", "--json"], ["fuse", "{ds}", "{tmp}/fused",
                                                                                  "--stats-split", "val2017"]])
def test_a_closed_stdout_ends_the_command_with_141_and_no_traceback(dataset, tmp_path, words):
    status, stderr = run_with_stdout_closed(*(w.format(ds=dataset, tmp=tmp_path) for w in words))
    assert (status, stderr) == (141, "")


def test_check_keeps_its_verdict_when_stdout_closes(dataset):
    assert run_with_stdout_closed("check", str(dataset)) == (0, "")


def test_verify_keeps_its_verdict_when_stdout_closes(dataset, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(3):
        (folder / f"f{i}.txt").write_text(str(i))
    assert runner.invoke(app, ["checksum", str(folder)]).exit_code == 0
    (folder / "f1.txt").write_text("changed")
    status, stderr = run_with_stdout_closed("verify", str(folder))
    assert status == 1 and stderr.startswith("error: 1 files differ") and "Traceback" not in stderr


INTERRUPT_WHILE_LOADING = """
import os, signal, sys

class CtrlC:
    '''Sends the process a real SIGINT when the command modules begin to load.'''
    def find_spec(self, name, path=None, target=None):
        if name == "mmdata.cli.check":
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
sys.argv = ["mmdata", "--version"]
from mmdata.cli import main
main()
"""

INTERRUPT_WHILE_BUILDING = """
import os, signal, sys
import typer.main

build = typer.main.get_command

def build_after_ctrl_c(app):
    '''Sends the process a real SIGINT as the commands are built, before any command runs.'''
    os.kill(os.getpid(), signal.SIGINT)
    return build(app)

typer.main.get_command = build_after_ctrl_c
sys.argv = ["mmdata", "--version"]
from mmdata.cli import main
main()
"""


@pytest.mark.parametrize("script", [INTERRUPT_WHILE_LOADING, INTERRUPT_WHILE_BUILDING], ids=["loading", "building"])
def test_ctrl_c_before_the_command_runs_is_one_line_and_130(script):
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "interrupted\n")

