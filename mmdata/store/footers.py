"""Shard footers read once per run: `footers_read_once()`.

Deciding that a complete table is up to date read every shard's footer five times: the refusal
check and `claim_table` each compare every shard's recorded config (`tables._conflict`), the resume
loop checks its sample ids and counts its rows, and `finish_table` counts them again. Inside
`footers_read_once()` (one `extract` run) `shards.shard_footer` reads a file's footer once and then
hands back what it read, as long as the file is the same one: the same path, device, inode, size
and modification time; reading a Parquet shard's columns then (`shards.open_shard`) starts from that
footer too. A shard written again is a new file renamed over the old one, so another inode: it is
read afresh. Outside the block, and on threads that do not run in the block's context (the shard
writer's), every call reads the file, as before.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
#: What the footers read in the current run hold, by file identity (`_identity`); None outside a run.
_FOOTERS: ContextVar[dict[tuple[str, int, int, int, int], object] | None] = ContextVar("mmdata_footers", default=None)


@contextmanager
def footers_read_once() -> Iterator[None]:
    """Within the block, each shard footer is read once (`cached_footer`); a block inside another
    shares the outer one's footers. They are dropped when the outermost block ends."""
    if _FOOTERS.get() is not None:
        yield
        return
    token = _FOOTERS.set({})
    try:
        yield
    finally:
        _FOOTERS.reset(token)


def cached_footer(path: Path, read: Callable[[Path], T]) -> T:
    """`read(path)`, or what it returned for this same file earlier in a `footers_read_once` block."""
    footers = _FOOTERS.get()
    if footers is None:
        return read(path)
    try:
        key = _identity(path)
    except OSError:
        return read(path)  # gone or unreadable: `read` names the file in its error
    if key not in footers:
        footers[key] = read(path)
    return footers[key]  # type: ignore[return-value]


def known_footer(path: Path) -> object | None:
    """What `cached_footer` read for this same file in the current block, without reading it; None when
    it has not (or outside a block)."""
    footers = _FOOTERS.get()
    if not footers:
        return None
    try:
        return footers.get(_identity(path))
    except OSError:
        return None


def _identity(path: Path) -> tuple[str, int, int, int, int]:
    """What tells one file from another at a path, a file renamed over it included (another inode)."""
    info = os.stat(path)
    return os.fspath(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns
