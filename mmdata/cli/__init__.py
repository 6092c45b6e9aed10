"""mmdata's command line: a thin layer over the library (one module per command)."""
from __future__ import annotations

import logging
import signal

from mmdata.cli import commands  # noqa: F401  (registers every command on `app`)
from mmdata.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    exit_on_sigterm()
    app()


def exit_on_sigterm() -> None:
    """SIGTERM (`kill`, `timeout`, `docker stop`, Slurm) ends the command as Ctrl-C does: through its
    clean-up (temporary folders removed, workers stopped), with exit status 128 + 15."""
    signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
