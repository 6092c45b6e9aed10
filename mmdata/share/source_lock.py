"""Reading a dataset to share while no writer changes it.

A writer (`mmdata extract`, `mmdata align`) holds an exclusive `flock` on the dataset directory while it
runs (`store.lock.writing`). A share takes a shared one on the same directory for as long as it reads:
a dataset being written now is refused at once, a writer started meanwhile is refused by its own lock,
and two shares of one dataset (into two folders, say with and without embedded media) run side by side.
Like the writer's, the lock is the kernel's: a killed share holds nothing.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mmdata.store.lock import directory_lock


@contextmanager
def no_writer(root: Path) -> Iterator[None]:
    """Hold a shared lock on the dataset directory `root` while the block reads it.

    Raises:
        DatasetBusyError: an extract or align writes the dataset now.
    """
    busy = (f"{root} is being written by another mmdata process (an extract or align running now); share it "
            "when that one has finished")
    with directory_lock(root, busy, shared=True):
        yield
