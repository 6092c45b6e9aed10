"""Publishing a share folder: one share at a time into a folder, and a replacement that a kill
cannot leave half done.

Beside OUT, while a share runs:
    .OUT.lock                    the lock file (`store.lock.output_lock`; removed when the run ends)
    .OUT.partial-XXXXXXXX/       the share being written (8 random hex digits: each run its own)
    .OUT.replaced/               the share being replaced, between moving it aside and deleting it
"""
from __future__ import annotations

import errno
import json
import logging
import os
import re
import secrets
import shutil
from pathlib import Path

from mmdata.errors import DatasetError
from mmdata.share.checksums import CHECKSUMS_NAME, IGNORED_FILES, IGNORED_PREFIXES, sha256_file
from mmdata.store import layout
from mmdata.store.output_files import refuse_inside_tables

log = logging.getLogger(__name__)

CARD_NAME = "README.md"


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


def check_out_dir(source: Path, out_dir: Path, overwrite: bool, overwrite_card: bool) -> None:
    """Refuse an `out_dir` a share may not be written to: one overlapping the dataset, lying in another
    dataset's tables or inside a fused export (`refuse_inside_tables`), holding the current directory, an
    existing folder without `overwrite`, one that is no share, or a share whose card was edited by hand
    without `overwrite_card`.

    Raises:
        DatasetError: which of these, and the way out.
        OutputPathError: `out_dir` lies in a dataset's tables or inside a fused export.
    """
    src, dst = source.resolve(), out_dir.resolve()
    if dst == src or src in dst.parents or dst in src.parents:
        raise DatasetError(f"output folder {out_dir} overlaps the dataset {source}; choose a folder outside it")
    refuse_inside_tables(out_dir, "output folder")
    cwd = Path.cwd().resolve()
    if out_dir.exists() and (dst == cwd or dst in cwd.parents):
        raise DatasetError(f"output folder {out_dir} is or holds the current directory, and the finished share "
                           f"replaces it as a whole; run the command from outside it (e.g. `cd {dst.parent}`, then "
                           f"--out {dst.name})")
    if not out_dir.exists() or (out_dir.is_dir() and not any(out_dir.iterdir())):
        return
    ours = (out_dir / CHECKSUMS_NAME).is_file() and (out_dir / layout.MANIFEST_NAME).is_file()
    if not overwrite:
        raise DatasetError(f"output folder {out_dir} already exists; choose another or pass force=True (--force) to "
                           "replace it")
    if not ours:
        raise DatasetError(
            f"output folder {out_dir} exists and is not a shared mmdata dataset (no {CHECKSUMS_NAME} and "
            f"{layout.MANIFEST_NAME}); refusing to replace it, choose another folder"
        )
    if not overwrite_card:
        _require_generated_card(out_dir)


def _require_generated_card(out_dir: Path) -> None:
    """Refuse to replace a share whose README.md is not the card mmdata wrote (its SHA-256 is in the
    share's manifest): the user's edits, the licence first, would be lost.

    Raises:
        DatasetError: naming README.md, with the option that replaces it anyway.
    """
    card = out_dir / CARD_NAME
    if not card.is_file():
        return
    recorded = _recorded_card_sha256(out_dir)
    if recorded is not None and sha256_file(card) == recorded:
        return
    why = ("differs from the card mmdata wrote (edited by hand: the licence, say)" if recorded is not None else
           "may have been edited by hand: the share records no checksum of the card mmdata wrote (made by an "
           "older mmdata)")
    raise DatasetError(
        f"{card} {why}; force=True (--force) would replace it with a new card. Keep a copy of your edits and pass "
        "overwrite_card=True (--overwrite-card) to replace it (then put the edits into the new card and run "
        "`mmdata checksum`), "
        "or share into another folder"
    )


def _recorded_card_sha256(out_dir: Path) -> str | None:
    """The SHA-256 of the card mmdata wrote, from the share's manifest; None when not recorded or unreadable."""
    try:
        manifest = json.loads((out_dir / layout.MANIFEST_NAME).read_text(encoding="utf-8"))
        recorded = manifest["extra"]["share"]["card_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return recorded if isinstance(recorded, str) else None
