"""The command line ends on SIGTERM as on Ctrl-C: through its clean-up."""
from __future__ import annotations

import signal
import subprocess
import sys


def test_sigterm_ends_a_command_through_its_clean_up(tmp_path):
    """What `mmdata` installs: SIGTERM unwinds like Ctrl-C, so a staged output's temporary folder goes."""
    out = tmp_path / "out"
    child = subprocess.Popen([sys.executable, "-c", (
        "import time; from mmdata.cli import exit_on_sigterm; from mmdata.store.writer import staged_dir\n"
        "exit_on_sigterm()\n"
        f"with staged_dir(__import__('pathlib').Path({str(out)!r})) as tmp:\n"
        "    (tmp / 'half.bin').write_bytes(b'x' * 1000); print('ready', flush=True); time.sleep(600)\n")],
        stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    assert list(tmp_path.glob(".out.tmp-*"))
    child.send_signal(signal.SIGTERM)
    assert child.wait(30) == 143
    assert not list(tmp_path.iterdir())
