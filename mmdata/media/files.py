"""What a media path names, checked before any decoder opens it, for every media kind.

An image path may also name a member of an uncompressed tar (`shard.tar/key.jpg`, a webdataset shard read like
a folder: `mmdata.media.tar_members`): the tar is checked as a file, then the member must be in it and not empty.

A row's image, audio or video path can name something other than a readable file: a folder, a
link to nothing, a file without read permission, an empty file, a FIFO, socket or device. Saying
"file not found" for all of them sends the user looking for a file that is there; each gets its own
reason instead. A FIFO is recognised from `os.stat` and never opened: opening one for reading waits
for a writer, which would hang the run.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from mmdata.errors import MediaError
from mmdata.media.tar_members import TarMember, member_size, tar_member

_SPECIAL_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                  (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def check_media_file(path: str | Path, kind: str = "media") -> int:
    """The size in bytes of the regular, readable, non-empty file at `path`.

    `kind` ('image', 'audio', 'video', 'clip', ...) names the file in the message. For an image, `path` may
    name a member of a tar (`shard.tar/key.jpg`): the member's size then.

    Raises:
        MediaError: the path is missing, a broken link or a link loop, a folder, not a regular file
            (FIFO, socket, device), empty, or cannot be opened for reading (permission denied); the
            message says which, names the path, and says what to do; for a tar member, the tar is not
            readable, the member is not in it or is empty, or the kind is not 'image' (only images are read
            from inside a tar).
    """
    member = tar_member(path)
    if member is not None:
        return _tar_member_size(member, kind)
    path = Path(path)
    try:
        info = path.stat()
    except OSError as e:
        raise MediaError(_unreachable(path, kind, e)) from e
    if stat.S_ISDIR(info.st_mode):
        raise MediaError(f"{kind} path is a folder, not {_article(kind)} {kind} file: {path}{_via_link(path)}; "
                         "expected a file (does the row name the folder instead of a file in it?)")
    if not stat.S_ISREG(info.st_mode):
        raise MediaError(f"{kind} path is not a regular file ({_special_kind(info.st_mode)}): {path}{_via_link(path)}; "
                         f"expected {_article(kind)} {kind} file (a FIFO, socket or device is never read: reading one "
                         "can wait forever)")
    if info.st_size == 0:
        raise MediaError(f"{kind} file is empty (0 bytes): {path}; the copy or download that wrote it may have "
                         "failed: fetch it again")
    _check_readable(path, kind)
    return info.st_size


def media_file_problem(path: str | Path, kind: str = "media") -> str | None:
    """What `check_media_file` would say about `path`, or None for a readable file: for a loader
    that records a problem and goes on instead of raising."""
    try:
        check_media_file(path, kind)
    except MediaError as e:
        return str(e)
    return None


def is_regular_file(path: str | Path) -> bool:
    """`path` is (or links to) a regular file: safe to open for reading without blocking."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _tar_member_size(member: TarMember, kind: str) -> int:
    if kind != "image":
        raise MediaError(f"{kind} path names a member of a tar: {member}; only images are read from inside a tar "
                         f"({member.tar}); extract it (tar -xf) and point the rows at the files")
    check_media_file(member.tar, "tar")
    return member_size(member, kind)


def _check_readable(path: Path, kind: str) -> None:
    """Open and close the file: the one test that is right for root too (`os.access` says yes to
    root for any mode, while some files refuse even root). O_NONBLOCK: never waits, whatever it is."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except PermissionError as e:
        raise MediaError(f"{kind} file cannot be read (permission denied): {path}{_via_link(path)}; make it "
                         "readable by the user running mmdata (e.g. chmod a+r)") from e
    except OSError as e:
        raise MediaError(f"{kind} file cannot be opened ({e.strerror or type(e).__name__}): {path}") from e
    os.close(fd)


def _unreachable(path: Path, kind: str, error: OSError) -> str:
    """The reason for a path `stat` cannot follow: missing, a broken link, a link loop, a folder on
    the way that cannot be searched."""
    if os.path.islink(path):
        if error.errno == errno.ELOOP:
            return (f"{kind} path is a link loop: {path} (a link that leads back to itself); "
                    "point the link at the file")
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return (f"{kind} path is a broken link to {_link_target(path)}: {path}; that target does not exist: "
                    "restore it or point the link at the file")
    if isinstance(error, PermissionError):
        return (f"{kind} file cannot be reached (permission denied on a folder on its path): {path}; "
                "make its folders searchable by the user running mmdata (e.g. chmod a+x)")
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"{kind} file not found: {path}"
    return f"{kind} file cannot be examined ({error.strerror or type(error).__name__}): {path}"


def _link_target(path: Path) -> str:
    """Where a link leads in the end, following every link on the way (the part that is missing)."""
    target = os.readlink(path)
    final = os.path.realpath(path)
    return target if os.path.isabs(target) and target == final else f"{target} ({final})"


def _via_link(path: Path) -> str:
    return f" (a link to {os.path.realpath(path)})" if os.path.islink(path) else ""


def _special_kind(mode: int) -> str:
    return next((name for test, name in _SPECIAL_KINDS if test(mode)), "not a file or folder")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
