"""One writer per dataset directory at a time.

Every command that adds to a dataset (extract, align) reads its manifest, writes tables and writes
the manifest back. Two of them running at once on one directory, say an image and a text extraction
started side by side, would each write back the manifest they read, and the second would drop the
first one's table. So a writer holds an exclusive lock on the dataset directory itself (`flock` on
the directory: no lock file that `share` or `checksum` would pick up) while it runs; a second writer
is refused at once with an error saying why. Readers (check, info, fuse) take no lock.

The lock is the kernel's: it goes with the process, a killed writer holds nothing. It guards one
machine; on a network file system whose `flock` is local to each client, run the writers of one
dataset from one machine (a Ray cluster's driver is one process).
"""
from __future__ import annotations

import contextlib
import logging
import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mmdata.errors import DatasetBusyError, DatasetError
from mmdata.store.files import missing_folders
from mmdata.store.layout import CHECKSUMS_NAME
from mmdata.store.output_files import refuse_inside_tables

log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # not on POSIX: no lock, as before
    fcntl = None  # type: ignore[assignment]


def _warn_if_checksummed(root: Path, what: str) -> None:
    """A dataset with a checksums file (a share, or one `mmdata checksum` sealed) is about to change:
    the new files will not be in it, and `mmdata verify` would report them."""
    if (root / CHECKSUMS_NAME).is_file():
        log.warning("%s holds %s (a shared or sealed dataset): what this %s writes is not in it; run "
                    "`mmdata checksum %s` afterwards, or `mmdata verify` will report the new files",
                    root, CHECKSUMS_NAME, what, shlex.quote(str(root)))


#: Where a writer's temporary files lie (`store.files.create_temporary`): shards of every table, their
#: moments, the errors tables and the manifest.
_TEMPORARIES = (".mmdata.json.*.tmp", "samples/.part-*.tmp", "features/*/.part-*.tmp", "features/*/*/.part-*.tmp",
                "errors/*/.part-*.tmp")


def remove_stale_temporaries(root: Path) -> None:
    """Remove the temporary files killed writers left in a dataset (run with the writer lock held, so
    none is being written): a table a later run does not claim again kept them for good."""
    for pattern in _TEMPORARIES:
        for path in root.glob(pattern):
            path.unlink(missing_ok=True)


@contextmanager
def writing(dataset_dir: str | Path, what: str) -> Iterator[Path]:
    """Hold the dataset directory's writer lock (creating the directory) while `what` writes to it.

    Raises:
        DatasetBusyError: another process writes to the directory now.
        DatasetError: the path exists and is not a directory.
        OutputPathError: the directory is or lies in another dataset's table folder, or inside a fused
            export (`refuse_inside_tables`): a dataset written there would damage that one.
    """
    root = Path(dataset_dir)
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root} is a file; expected a dataset directory (a new one, or one written earlier)")
    refuse_inside_tables(root, "output directory")
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    busy = (f"{root} is being written by another mmdata process (an extract or align running now, or a share "
            f"reading it); run this {what} when that one has finished, or write to another directory")
    try:
        with directory_lock(root, busy):
            _warn_if_checksummed(root, what)
            remove_stale_temporaries(root)
            yield root
    finally:
        if created and not any(root.iterdir()):
            root.rmdir()  # a run that failed before writing anything leaves no empty directory either


@contextmanager
def directory_lock(root: Path, busy: str, *, shared: bool = False) -> Iterator[None]:
    """Hold the dataset directory's writer lock (`flock` on the directory) while the block runs;
    `shared`: a reader's lock, which keeps writers out but not other readers (`mmdata share`).
    Without `fcntl` (not POSIX) nothing is held.

    Raises:
        DatasetBusyError: with the message `busy`, when another process holds the lock now (a
            shared one only when that is a writer's).
    """
    fd = os.open(root, os.O_RDONLY) if fcntl is not None else None
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DatasetBusyError(busy) from None
        yield
    finally:
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock


#: The lock file beside an output folder that `output_lock` holds: `.<name>.lock`.
OUTPUT_LOCK_SUFFIX = ".lock"


@contextmanager
def output_lock(target: Path, command: str, shown: Path | None = None) -> Iterator[None]:
    """Hold the lock of the output folder `target` (share, fuse and segment write whole folders) while
    `command` checks and writes it: a lock file `.<name>.lock` beside it, so that two runs writing one
    folder at once cannot both check that it may be written and then replace each other's output.
    One lock file for every command: a fuse and a share into one folder exclude each other too.

    The lock is the kernel's (`flock`): a killed run holds nothing. The file is removed while still
    locked; a run that locked a file removed so meanwhile locks the new one instead. Folders made
    for the lock file are removed again when the run leaves nothing else in them.

    Raises:
        DatasetBusyError: another run writes to `target` now (the message names `shown`, the path
            as the user gave it, else `target`).
    """
    lock_path = target.with_name(f".{target.name}{OUTPUT_LOCK_SUFFIX}")
    created = missing_folders(target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # not on POSIX: no lock, as the dataset writer lock
        yield
        return
    fd = _locked_file(lock_path, shown or target, command)
    try:
        yield
    finally:
        lock_path.unlink(missing_ok=True)
        os.close(fd)  # closing the descriptor releases the lock
        for folder in created:
            with contextlib.suppress(OSError):  # not empty: the output, or something else put there
                folder.rmdir()


def _locked_file(lock_path: Path, shown: Path, command: str) -> int:
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DatasetBusyError(
                f"output folder {shown} is being written by another mmdata process now (a share, fuse or segment "
                f"holds {lock_path}); run this {command} when that one has finished, or write into another folder"
            ) from None
        if _same_file(fd, lock_path):
            return fd
        os.close(fd)  # the run that held it removed it: lock the file that is there now


def _same_file(fd: int, path: Path) -> bool:
    try:
        here = os.stat(path)
    except FileNotFoundError:
        return False
    there = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
