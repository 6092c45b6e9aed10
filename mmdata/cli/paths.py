"""Output paths given on the command line, checked before any work starts.

A report path that names a directory, or an export directory under a file, would otherwise fail
late, deep in an atomic write, with an OSError traceback; here it is a one-line error naming the
path, what was expected and a path that would do.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mmdata.errors import MmdataError


class OutputPathError(MmdataError, ValueError):
    """An output path is a directory where a file is written, a file where a directory is, or lies under a file."""


def output_file(path: Path, what: str, example: str) -> Path:
    """`path` if it can become a file; `what` names it in the error (an option), `example` is a file
    name to suggest inside it when it is a directory."""
    with _unusable_as_error(path, what):
        if path.is_dir():
            raise OutputPathError(f"{what} {path} is a directory; expected a file path, e.g. {path / example}")
        _check_parents(path, what)
    return path


def output_dir(path: Path, what: str) -> Path:
    """`path` if it can be (or already is) a directory; `what` names it in the error."""
    with _unusable_as_error(path, what):
        if path.exists() and not path.is_dir():
            raise OutputPathError(f"{what} {path} is a file; expected a directory (a new one, or one written "
                                  "earlier); choose another path or remove the file")
        _check_parents(path, what)
    return path


@contextmanager
def _unusable_as_error(path: Path, what: str) -> Iterator[None]:
    """A path the system refuses to look at (a name over 255 bytes, say) as a one-line error."""
    try:
        yield
    except OSError as e:
        raise OutputPathError(f"{what} {str(path)[:200]}: {e.strerror or e}; choose a shorter or other path") from e


def _check_parents(path: Path, what: str) -> None:
    """The nearest existing ancestor of `path` must be a directory."""
    for parent in path.parents:
        if parent.is_dir():
            return
        if parent.exists():
            raise OutputPathError(f"{what} {path} lies under the file {parent}; expected a path inside a directory, "
                                  f"e.g. {parent.parent / path.name}")
