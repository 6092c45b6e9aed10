"""mmdata's command line: a thin layer over the library (one module per command)."""
from __future__ import annotations

import logging
import signal

from mmdata.cli.startup import interrupt_reported_outside_commands, quiet_interrupt

with quiet_interrupt():  # Ctrl-C while the commands load (seconds on a busy machine): one line, exit 130
    from mmdata.cli import commands  # noqa: F401  (registers every command on `app`)
    from mmdata.cli.app import app, report_interrupted
    from mmdata.cli.console import closed_stdout_exits_141

__all__ = ["app", "main"]


def main() -> None:
    try:  # a Ctrl-C from the first instruction on is one line and exit 130, as inside a command
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        exit_on_sigterm()
        with closed_stdout_exits_141(), interrupt_reported_outside_commands():  # help, parsing: as in a command
            app()
    except KeyboardInterrupt:  # before a command runs (building the commands, parsing): as inside one
        raise SystemExit(report_interrupted()) from None


def exit_on_sigterm() -> None:
    """SIGTERM (`kill`, `timeout`, `docker stop`, Slurm) ends the command as Ctrl-C does: through its
    clean-up (temporary folders removed, workers stopped), with exit status 128 + 15."""
    signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
