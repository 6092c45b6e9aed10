"""Files written atomically: a hidden temporary file beside the target, renamed over it when done.

The temporary file is created as `open()` creates a file (mode 0o666 less the process umask), not
as `tempfile.mkstemp` does (always 0o600): the rename keeps the mode, so a dataset on a shared
disk stays readable by the people the umask lets read it. The kernel applies the umask when the
file is created, so nothing here reads or changes it (changing it is not thread-safe).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from mmdata.store.write_errors import named_write_errors

#: Mode a new file is created with before the umask applies (what `open(path, "w")` uses).
FILE_MODE = 0o666
_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_ATTEMPTS = 100


def create_temporary(path: str | Path, *, suffix: str = ".tmp") -> tuple[int, Path]:
    """(open descriptor, path) of a new, empty hidden file `.<name>.<random><suffix>` beside `path`.

    Created exclusively (never an existing file) with the mode `open()` would give; the caller
    closes the descriptor, then renames the file over `path` or removes it. `path`'s folder is
    made if missing. Readers skip names starting with '.'. A caller that must never leave the
    file behind (a Ctrl-C arriving just as it is made) uses `temporary_file` instead.
    """
    for tmp in _temporary_names(path, suffix):
        try:
            return os.open(tmp, _FLAGS, FILE_MODE), tmp
        except FileExistsError:
            continue
    raise _no_free_name(Path(path), suffix)


def temporary_beside(path: str | Path, *, suffix: str = ".tmp") -> Path:
    """`create_temporary`, closed: the path of a new, empty hidden file beside `path`."""
    fd, tmp = create_temporary(path, suffix=suffix)
    os.close(fd)
    return tmp


@contextlib.contextmanager
def temporary_file(path: str | Path, *, suffix: str = ".tmp") -> Iterator[tuple[int, Path]]:
    """`create_temporary` as a block: (open descriptor, path) of a new hidden file beside `path`,
    removed when the block raises. Its name is known before the file exists, so a Ctrl-C that
    arrives the moment it is created (before any caller could hold its name) removes it too."""
    tmp: Path | None = None
    try:
        for candidate in _temporary_names(path, suffix):
            tmp = candidate
            try:
                fd = os.open(candidate, _FLAGS, FILE_MODE)
            except FileExistsError:
                tmp = None  # another writer's file
                continue
            yield fd, candidate
            return
        raise _no_free_name(Path(path), suffix)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):  # never created (a read-only folder): the first error is the one
                tmp.unlink(missing_ok=True)
        raise


def _temporary_names(path: str | Path, suffix: str) -> Iterator[Path]:
    """`_ATTEMPTS` random hidden names `.<name>.<random><suffix>` beside `path`, whose folder is made."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(_ATTEMPTS):
        yield path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}"


def _no_free_name(path: Path, suffix: str) -> FileExistsError:
    return FileExistsError(f"{path.parent}: no free temporary name for {path.name} after {_ATTEMPTS} tries; "
                           f"remove the leftover .{path.name}.*{suffix} files there")


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` so that readers see the old file or the whole new one, never part of it.

    The temporary file goes whatever stops the write, a Ctrl-C the moment it is created included.

    Raises:
        OSError: the system refused the write (a full disk), naming `path` (`named_write_errors`).
    """
    path = Path(path)
    with named_write_errors(path), temporary_file(path) as (fd, tmp):
        with os.fdopen(fd, "w", encoding=encoding) as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return path


def missing_folders(folder: Path) -> list[Path]:
    """`folder` and those of its parents that do not exist yet, deepest first (to remove again, in that
    order, when what was made for them fails)."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def sha256_file(path: str | Path) -> str:
    """The hex SHA-256 of a file, read in 1 MiB chunks (a model's weights need not fit in memory twice)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
