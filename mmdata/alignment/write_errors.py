"""The file system's refusals of a write, named: `named_write_errors`.

A full disk, a quota or a file-size limit met by pyarrow's writers, or by a manifest's `write()`,
raises an OSError without a file name ("[Errno 28] Error writing bytes to file"), which the command
line takes for a bug and prints with its traceback. Inside `named_write_errors(folder)` such an
error names the folder being written instead, so it reaches the user as one line: what the system
said, where, and the hint to free space or fix permissions. Other errors pass as they are.
"""
from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: errno values that say the file system refused a write (the user's to fix, not a bug).
WRITE_REFUSALS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM,
                            errno.EIO})


@contextmanager
def named_write_errors(folder: str | Path) -> Iterator[None]:
    """Run the block; an OSError of `WRITE_REFUSALS` that names no file is raised again naming `folder`.

    Raises:
        OSError: (errno, the system's words for it, `folder`), from the error the block raised.
    """
    try:
        yield
    except OSError as e:
        if e.filename is not None or e.errno not in WRITE_REFUSALS:
            raise
        raise OSError(e.errno, os.strerror(e.errno), str(folder)) from e
