"""What the commands print through: rich consoles that suit a pipe, and the end of a command whose reader left.

A console on a terminal takes the terminal's width; piped or redirected it prints every line whole, however
long (a summary line that `grep` or a log reads is never wrapped at 80 columns). When the reader of stdout
goes away (`mmdata info DIR | head -1`), the command ends quietly with status 141 (128 + SIGPIPE, as shells
report a command a closed pipe ended), never with a traceback, and never with 1, which means "found errors";
`check` and `verify`, whose verdict is known by then, exit with their verdict instead (0 or 1). Help and
`--version`, which Typer and rich print outside any command, end the same way (`closed_stdout_exits_141`).
"""
from __future__ import annotations

import io
import os
import select
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

#: Width of a console whose stream is not a terminal (a pipe, a file): no line is cut or wrapped.
UNLIMITED_WIDTH = 1_000_000
#: Exit status when the reader of stdout went away: 128 + SIGPIPE.
BROKEN_PIPE_EXIT_CODE = 141


class PipeConsole(Console):
    """A rich console that lets a closed pipe surface as `BrokenPipeError`, which the `command` decorator
    turns into a quiet exit 141 (rich itself would exit with status 1, the status of a check that failed)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def cli_console(*, stderr: bool = False) -> Console:
    """A console for stdout (or stderr): a terminal's width when it is one, else lines as long as they are,
    so that a pipe or a file gets every value and every summary whole."""
    console = PipeConsole(stderr=stderr)
    return console if console.is_terminal else PipeConsole(stderr=stderr, width=UNLIMITED_WIDTH)


def stdout_is_closed() -> bool:
    """Whether stdout is a pipe whose reader went away: a BrokenPipeError from elsewhere (a worker's pipe)
    is not the user leaving `| head` early, and keeps its traceback."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False  # a stdout without a file descriptor (a test runner's buffer)


def silence_closed_stdout() -> int:
    """After stdout's reader left: point stdout at /dev/null, so that the interpreter's last flush of what
    is still buffered raises nothing at exit; returns the exit status to end with."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass  # a stdout without a file descriptor (a test runner's buffer): nothing is flushed at exit
    return BROKEN_PIPE_EXIT_CODE


@contextmanager
def closed_stdout_exits_141() -> Iterator[None]:
    """Around the whole app: what Typer and rich print outside a command (help, usage, `--version`) to a stdout
    whose reader left ends quietly with 141 too. Left alone, rich (help) re-points stdout at /dev/null and exits
    1, and Typer (`--version`) exits 1: the status of "found errors" (`mmdata --help | head -1`)."""
    stdout_before = _stdout_identity()
    try:
        yield
    except SystemExit as end:
        if not (end.code == 1 and isinstance(end.__context__, BrokenPipeError)):
            raise
        if not (stdout_is_closed() or _stdout_identity() != stdout_before):
            raise  # another pipe than stdout (a worker's): the exit stays what it was
        raise SystemExit(silence_closed_stdout()) from None


def _stdout_identity() -> tuple[int, int] | None:
    """(device, inode) of what stdout's file descriptor points at, to see rich re-point it at /dev/null."""
    try:
        info = os.fstat(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None  # a stdout without a file descriptor (a test runner's buffer)
    return info.st_dev, info.st_ino


@contextmanager
def verdict_kept_if_stdout_closes() -> Iterator[None]:
    """Around the printing of a verdict already reached (`check`, `verify`): a reader of stdout that left
    stops the printing, not the command, which then exits with its verdict (0 or 1) rather than 141."""
    try:
        yield
    except BrokenPipeError:
        if not stdout_is_closed():
            raise
        silence_closed_stdout()
