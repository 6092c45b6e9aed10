"""Ctrl-C while the command line loads: a line `interrupted` and exit status 130, as during a command.

Loading every command's libraries (pyarrow, pandas, rich) takes seconds on a busy machine; a Ctrl-C then
would otherwise print a traceback of the import machinery. Only `mmdata.cli` loads under this guard,
and it is the command line's own package: a library user imports `mmdata`, which it does not touch.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it (`mmdata.cli.app.INTERRUPTED_EXIT_CODE`).
INTERRUPTED_EXIT_CODE = 130


@contextmanager
def quiet_interrupt() -> Iterator[None]:
    """Turn a KeyboardInterrupt inside the block into `interrupted` on stderr and SystemExit(130)."""
    try:
        yield
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(INTERRUPTED_EXIT_CODE) from None
