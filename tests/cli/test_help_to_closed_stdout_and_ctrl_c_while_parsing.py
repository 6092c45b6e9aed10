"""What Typer prints or catches outside a command's body ends as inside one: help and `--version` written to a
stdout whose reader left (`mmdata --help | head -1`) end quietly with 141, not 1 ("found errors"); a Ctrl-C
while click parses the arguments prints `interrupted` and exits 130, once."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import run_with_stdout_closed

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("words", [["--help"], ["extract", "--help"], ["info", "--help"], ["--version"], []],
                         ids=["help", "extract-help", "info-help", "version", "no-arguments"])
def test_help_to_a_closed_stdout_ends_with_141_and_no_message(words):
    assert run_with_stdout_closed(*words) == (141, "")


def test_a_usage_error_keeps_its_status_when_stdout_is_closed():
    status, stderr = run_with_stdout_closed("extract")
    assert status == 2 and "Missing argument 'KIND'" in stderr and "Traceback" not in stderr


def test_help_piped_into_head_ends_with_141_or_0_and_prints_no_message():
    """Through a real `| head -1`: the help is either written whole before head leaves (0) or not (141)."""
    shell = f"{sys.executable} -m mmdata --help | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}"
    proc = subprocess.run(["bash", "-c", shell], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() in {"0", "141"} and proc.stderr == ""


# Sends the process a real SIGINT as click parses the arguments of the command named in argv[1]
# (`mmdata` for the top-level group), before any command body runs.
CTRL_C_WHILE_PARSING = """
import os, signal, sys
from mmdata.cli.app import LiteralHelpCommand
from typer import core

at, sys.argv = sys.argv[1], ["mmdata", *sys.argv[2:]]

def ctrl_c_then(parse):
    def parse_args(self, ctx, args):
        if ctx.info_name == at:
            os.kill(os.getpid(), signal.SIGINT)
        return parse(self, ctx, args)
    return parse_args

core.TyperGroup.parse_args = ctrl_c_then(core.TyperGroup.parse_args)
LiteralHelpCommand.parse_args = ctrl_c_then(LiteralHelpCommand.parse_args)
from mmdata.cli import main
main()
"""


@pytest.mark.parametrize("at, words", [("mmdata", ["--version"]), ("mmdata", ["info", "{tmp}"]),
                                       ("info", ["info", "{tmp}"]), ("extract", ["extract", "--help"])],
                         ids=["top-level", "top-level-before-a-command", "command", "command-help"])
def test_ctrl_c_while_the_arguments_are_parsed_is_one_line_and_130(tmp_path, at, words):
    words = [w.format(tmp=tmp_path) for w in words]
    proc = subprocess.run([sys.executable, "-c", CTRL_C_WHILE_PARSING, at, *words], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "interrupted\n")


CTRL_C_IN_A_COMMAND = """
import os, signal, sys
import mmdata.cli.info as info

def describe_after_ctrl_c(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGINT)

info.describe_dataset = describe_after_ctrl_c
sys.argv = ["mmdata", "info", sys.argv[1]]
from mmdata.cli import main
main()
"""


def test_ctrl_c_inside_a_command_still_says_interrupted_once(tmp_path):
    proc = subprocess.run([sys.executable, "-c", CTRL_C_IN_A_COMMAND, str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "interrupted\n")
