"""Publishing a share folder: one share at a time into a folder, and a replacement that a kill
cannot leave half done.

Beside OUT, while a share runs:
    .OUT.lock                    the lock file (`store.lock.output_lock`; removed when the run ends)
    .OUT.partial-XXXXXXXX/       the share being written (8 random hex digits: each run its own)
    .OUT.replaced/               the share being replaced, between moving it aside and deleting it
"""
from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import shutil
from pathlib import Path

from mmdata.share.checksums import IGNORED_FILES, IGNORED_PREFIXES

log = logging.getLogger(__name__)


def recover_interrupted_share(target: Path) -> None:
    """Clear what a killed share into `target` left (run with the lock held, so no share is running):
    a replaced share whose successor is in place is deleted (tool folders carried over first), one
    whose successor never arrived goes back to `target`; temporary folders are deleted."""
    aside = _aside_path(target)
    if os.path.lexists(aside):
        if os.path.lexists(target):
            _finish_replacement(aside, target)
        else:
            log.warning("moving back %s: a killed `mmdata share --force` had moved it aside", target)
            os.rename(aside, target)
    pattern = re.compile(rf"{re.escape(_partial_prefix(target))}[0-9a-z_]{{8}}|\.{re.escape(target.name)}\.partial")
    for leftover in target.parent.iterdir():
        if pattern.fullmatch(leftover.name) and leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)


def new_partial_folder(target: Path) -> Path:
    """A new, empty folder `.<name>.partial-XXXXXXXX` beside `target` for one run to write its share
    into: made by `mkdir` with a fresh random name (as `tempfile.mkdtemp` does, but with the mode the
    user's umask gives, which the published share keeps; mkdtemp's is 0700)."""
    for _ in range(100):
        partial = target.with_name(f"{_partial_prefix(target)}{secrets.token_hex(4)}")
        try:
            partial.mkdir()
        except FileExistsError:
            continue
        return partial
    raise FileExistsError(errno.EEXIST, "no free name for a temporary folder", str(target.parent))


def replace_folder(new: Path, target: Path) -> None:
    """Move the complete share `new` to `target`: an existing folder is moved aside first and deleted
    after (what tools keep in it carried over): between the two renames only the aside folder holds a
    share, which `recover_interrupted_share` moves back should the run be killed there."""
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    aside = _aside_path(target)
    os.rename(target, aside)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(aside, target)
        raise
    _finish_replacement(aside, target)


def _finish_replacement(aside: Path, target: Path) -> None:
    carry_tool_files(aside, target)
    shutil.rmtree(aside, ignore_errors=True)
    if os.path.lexists(aside):
        log.warning("could not delete all of %s (the share %s replaced); delete it by hand", aside, target)


def carry_tool_files(old: Path, new: Path) -> None:
    """Move what tools keep in a share folder (a git clone's `.git/`, `hf download`'s `.cache/huggingface/`,
    the Hub's `.gitattributes`: not part of the dataset, see `share.checksums`) from `old` to `new`."""
    for relative in [prefix.rstrip("/") for prefix in IGNORED_PREFIXES] + sorted(IGNORED_FILES):
        source, destination = old / relative, new / relative
        if os.path.lexists(source) and not os.path.lexists(destination):
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.rename(source, destination)


def _aside_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.replaced")


def _partial_prefix(target: Path) -> str:
    return f".{target.name}.partial-"
