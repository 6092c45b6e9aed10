"""The file system's refusals of a write, named: `named_write_errors`.

A full disk, a quota or a file-size limit met by pyarrow's writers, or by a manifest's `write()`,
raises an OSError without a file name ("[Errno 28] Error writing bytes to file"), which the command
line takes for a bug and prints with its traceback. Inside `named_write_errors(path)` such an error
names the file or folder being written instead, so it reaches the user as one line: what the system
said, where, and the hint to free space or fix permissions. Other errors pass as they are.

The store's writers (`write_table_atomic`, `ShardWriter`, `write_text_atomic`) name the file they
write; a whole output written in a hidden folder beside it (`output_dirs.staged_dir`: fuse,
segment) names the output folder, which the user knows, rather than the hidden one, gone by then;
`extract`, `align` and `segment` name their dataset or output folder for whatever else refuses a
write.
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
def named_write_errors(path: str | Path, *, hidden: str | Path | None = None) -> Iterator[None]:
    """Run the block; an OSError of `WRITE_REFUSALS` that names no file, or names `hidden` or a file in
    it (a temporary file or folder the user never sees), is raised again naming `path`.

    Raises:
        OSError: (errno, the system's words for it, `path`), from the error the block raised.
    """
    try:
        yield
    except OSError as e:
        if e.errno not in WRITE_REFUSALS or not (e.filename is None or _within(e.filename, hidden)):
            raise
        raise OSError(e.errno, os.strerror(e.errno), str(path)) from e


def _within(filename: object, hidden: str | Path | None) -> bool:
    """Whether `filename` is `hidden` or lies inside it (False without one)."""
    if hidden is None or not isinstance(filename, (str, os.PathLike)):
        return False
    return Path(filename) == Path(hidden) or Path(hidden) in Path(filename).parents
