"""Ctrl-C before a command runs: a line `interrupted` and exit status 130, as during a command.

Loading every command's libraries (pyarrow, pandas, rich) takes seconds on a busy machine; a Ctrl-C then
would otherwise print a traceback of the import machinery. Only `mmdata.cli` loads under this guard,
and it is the command line's own package: a library user imports `mmdata`, which it does not touch.
A Ctrl-C while click parses the arguments (or prints help) reaches Typer, which exits 130 without a word;
`interrupt_reported_outside_commands` adds the line there.
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
        raise SystemExit(report_interrupted()) from None


@contextmanager
def interrupt_reported_outside_commands() -> Iterator[None]:
    """Around the whole app: a Ctrl-C that Typer caught outside a command's body (parsing the arguments,
    printing help) says `interrupted` too, as one inside a command does. It costs nothing until an exit."""
    try:
        yield
    except SystemExit as end:
        if not (end.code == INTERRUPTED_EXIT_CODE and _typer_caught_a_ctrl_c(end)):
            raise
        raise SystemExit(report_interrupted()) from None


def _typer_caught_a_ctrl_c(end: SystemExit) -> bool:
    """Whether `end` is Typer's own exit after a KeyboardInterrupt: it raises `Exit(130)` *from* the
    interrupt, then exits while handling that Exit. A command's own exit 130 (which already said
    `interrupted`) is raised from None, so it is not counted twice."""
    typer_exit = end.__context__
    return typer_exit is not None and isinstance(typer_exit.__cause__, KeyboardInterrupt)


def report_interrupted() -> int:
    """Say `interrupted` on stderr; returns the exit status after Ctrl-C. Every Ctrl-C the command line
    reports goes through here, during a command (`mmdata.cli.app.command`) or outside one; it writes
    as `typer.echo(..., err=True)` does (flushed, nothing without a stderr), without loading Typer,
    which a Ctrl-C here may have interrupted the import of."""
    if sys.stderr is not None:
        print("interrupted", file=sys.stderr, flush=True)
    return INTERRUPTED_EXIT_CODE
