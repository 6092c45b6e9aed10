"""mmdata's command line: a thin layer over the library (one module per command)."""
from __future__ import annotations

import logging

from mmdata.cli import commands  # noqa: F401  (registers every command on `app`)
from mmdata.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
