"""Output tables put back as they were when a command writing them is refused midway.

    with restored_on_refusal(dataset, ["audio.covarep@text.words"], ".align-previous"):
        ...  # claim the tables (force removes their files), write shards; an MmdataError undoes it all

The tables' shards and errors folders are hard-linked into a hidden folder of the dataset first (no
data copied), moved back on a refusal, and the manifest entries restored (`tables.put_back`).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from mmdata.errors import MmdataError
from mmdata.store import layout
from mmdata.store.reader import Dataset
from mmdata.store.tables import put_back


@contextmanager
def restored_on_refusal(dataset: Dataset, outs: list[str], hidden: str) -> Iterator[None]:
    """Run the block; when it raises an `MmdataError`, put the output tables `outs` back as they were:
    files and manifest entries. `hidden` names the dataset's folder that keeps them meanwhile.

    Claiming an output with force removes its files, and every shard written replaces one, before a
    refusal found while writing can come (for `align`: on_missing='error' meeting an uncovered interval, an
    inconsistent input shard, on_error='fail'): a refused `--force` run would leave the finished
    outputs of an earlier run deleted. So their files are first hard-linked into a hidden folder
    (no data is copied: a shard replaced or removed keeps its old file there) and moved back on a
    refusal. Any other exception (Ctrl-C, a bug) keeps what the run wrote, to resume as after a
    kill; a killed run's folder is removed by the next run (its manifest has moved on since).
    """
    previous = dataset.root / hidden
    shutil.rmtree(previous, ignore_errors=True)
    entries = {out: dataset.manifest.tables.get(out) for out in outs}
    folders = [folder for out in outs for folder in _output_folders(dataset.root, out)]
    new_parents = {folder.parent for folder in folders if not folder.parent.exists()}  # errors/, in a dataset without
    for folder in folders:
        _link_tree(folder, previous / folder.relative_to(dataset.root))
    try:
        yield
    except MmdataError:
        _put_folders_back(dataset.root, folders, previous, new_parents)
        put_back(dataset, entries)
        shutil.rmtree(previous, ignore_errors=True)
        raise
    except BaseException:
        shutil.rmtree(previous, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)


def _output_folders(root: Path, out: str) -> tuple[Path, Path]:
    """An output table's shards folder and its errors folder."""
    return layout.feature_dir(root, out), layout.errors_dir(root, out)


def _link_tree(source: Path, target: Path) -> None:
    """`source`'s files hard-linked under `target` (copied where the file system has no hard links)."""
    if not source.is_dir():
        return
    try:
        shutil.copytree(source, target, copy_function=os.link)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)


def _put_folders_back(root: Path, folders: list[Path], previous: Path, new_parents: set[Path]) -> None:
    """Replace what a refused run left in `folders` by what `previous` kept of them (nothing kept: no folder),
    and remove the parent folders the run made for them."""
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
        kept = previous / folder.relative_to(root)
        if kept.is_dir():
            os.replace(kept, folder)
    for parent in new_parents:
        with suppress(OSError):  # not empty: another table's files are in it
            parent.rmdir()
