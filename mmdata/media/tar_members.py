"""Files inside an uncompressed tar, read in place: a media path `<...>/00000.tar/000000012.jpg` names the
member `000000012.jpg` of the tar `<...>/00000.tar`, as webdataset shards (img2dataset's `webdataset` output)
hold their images.

The tar is read like a folder, without extracting anything to disk: its headers are scanned once per process
(512-byte blocks read here, pax headers and GNU long names included, seeking past each member's data; `tarfile`
for a tar the scan does not follow) into an index {member name: (data offset, size)}, and a member is read with
one seek and one read. The index is cached per process, keyed by the tar's path, size, inode and
modification time, so a tar rewritten since is scanned again; a worker process (fork or spawn) builds its own
when it first needs one. A path is a tar member only where a component ending in `.tar` before the last one is a
regular file (a folder named `x.tar` is a folder); compressed tars (`.tar.gz`) cannot be read in place and are
not recognised.
"""
from __future__ import annotations

import functools
import logging
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mmdata.errors import MediaError

log = logging.getLogger(__name__)

TAR_SUFFIX = ".tar"
#: Tars whose index a process keeps (rows come sorted by sample id, so a worker reads one tar after another; an
#: index of a 10,000-image shard is ~5 MB).
_CACHED_TARS = 8
#: Header type flags the header scan reads itself: regular files (`0`, and `\0` of old tars), links and folders
#: (skipped), POSIX pax headers (`x`: a path or size for the next member; `g`: global, skipped) and GNU long names
#: (`L`; `K`, a long link name, skipped). Any other (sparse files, ...) leaves the tar to `tarfile`.
_FILE, _SKIPPED, _PAX, _GLOBAL_PAX, _LONG_NAME, _LONG_LINK = (b"0", b"\0"), (b"1", b"2", b"5"), b"x", b"g", b"L", b"K"
_BLOCK = 512


@dataclass(frozen=True)
class TarMember:
    """A member of a tar, named by a media path `<tar>/<member>`."""

    tar: Path
    name: str  # the member's name inside the tar, '/'-separated

    def __str__(self) -> str:
        return f"{self.tar}/{self.name}"


def tar_member(path: str | Path) -> TarMember | None:
    """The tar member `path` names (a component ending in `.tar`, not the last, that is a regular file, and the
    rest of the path), or None for a path that names no member (a plain file, a missing one, a folder `x.tar`)."""
    text = os.fspath(path)
    if TAR_SUFFIX + "/" not in text and TAR_SUFFIX + os.sep not in text:
        return None  # the common case: no work, no system call
    from mmdata.media.files import is_regular_file  # here: `files` imports this module

    parts = Path(text).parts
    for i, part in enumerate(parts[:-1]):
        if part.endswith(TAR_SUFFIX) and len(part) > len(TAR_SUFFIX):
            tar = Path(*parts[: i + 1])
            if is_regular_file(tar):
                return TarMember(tar, "/".join(parts[i + 1:]))
    return None


def member_names(tar: Path) -> dict[str, tuple[int, int]]:
    """The regular-file members of `tar`: {name: (offset of its data, size in bytes)} (a later member of the same
    name wins, as `tar -x` keeps the last); a leading `./` is dropped from names.

    Raises:
        MediaError: the tar cannot be read or is not a tar; the message names it.
    """
    try:
        info = os.stat(tar)
    except OSError as e:
        raise MediaError(f"tar file cannot be examined ({e.strerror or type(e).__name__}): {tar}") from e
    return _index(os.fspath(tar), info.st_size, info.st_ino, info.st_mtime_ns)


def member_size(member: TarMember, kind: str = "media") -> int:
    """The size in bytes of a member that is there and not empty.

    Raises:
        MediaError: the tar is unreadable, the member is not in it, or is empty; the message names both.
    """
    return _located(member, kind)[1]


def _located(member: TarMember, kind: str) -> tuple[int, int]:
    """(data offset, size) of a member that is there and not empty (raises as `member_size`)."""
    names = member_names(member.tar)
    if member.name not in names:
        shown = ", ".join(repr(n) for n in list(names)[:3]) + (", ..." if len(names) > 3 else "")
        raise MediaError(
            f"{kind} file not found: member {member.name!r} is not in the tar {member.tar} ({len(names)} "
            f"member{'s' * (len(names) != 1)}{': ' + shown if names else ''}); expected the path <tar>/<member> to "
            f"name one of its members; list them with `tar -tf {member.tar}`")
    size = names[member.name][1]
    if size == 0:
        raise MediaError(f"{kind} file is empty (0 bytes): member {member.name!r} of the tar {member.tar}; the "
                         "download that wrote it may have failed: fetch it again")
    return names[member.name]


def read_member(member: TarMember, kind: str = "media") -> bytes:
    """The bytes of a member (one seek and one read of the tar).

    Raises:
        MediaError: as `member_size`, or the tar ends before the member's last byte (a truncated tar).
    """
    offset, size = _located(member, kind)
    try:
        with open(member.tar, "rb") as f:
            f.seek(offset)
            data = f.read(size)
    except OSError as e:
        raise MediaError(f"tar file cannot be read ({e.strerror or type(e).__name__}): {member.tar} (member "
                         f"{member.name!r})") from e
    if len(data) != size:
        raise MediaError(f"{kind} file is truncated: member {member.name!r} of the tar {member.tar} should hold "
                         f"{size} bytes, the tar ends after {len(data)} of them; fetch or write the tar again")
    return data


def read_media_bytes(path: str | Path, kind: str = "media") -> bytes:
    """The bytes of a media file, or of the tar member `path` names."""
    member = tar_member(path)
    return Path(path).read_bytes() if member is None else read_member(member, kind)


@functools.lru_cache(maxsize=_CACHED_TARS)
def _index(tar: str, size: int, inode: int, mtime_ns: int) -> dict[str, tuple[int, int]]:
    """Scan the headers of `tar` (size, inode and mtime only key the cache: a rewritten tar is scanned again):
    `_scanned` reads them itself, ~5 times faster than `tarfile`; a tar it does not follow goes to `tarfile`."""
    try:
        with open(tar, "rb") as f:
            index = _scanned(f, size, tar)
    except OSError as e:
        raise MediaError(f"tar file cannot be read ({e.strerror or type(e).__name__}): {tar}") from e
    return index if index is not None else _tarfile_index(tar)


def _scanned(f: BinaryIO, size: int, tar: str) -> dict[str, tuple[int, int]] | None:
    """{name: (data offset, size)} of the regular files of an open tar, read header by header (512-byte blocks,
    checksums checked, pax `path`/`size` and GNU long names applied, names as `tarfile` decodes them); None where
    a header is none it follows (a bad checksum, a sparse file, a base-256 size), left to `tarfile`. A tar cut
    short keeps the members before the cut (one cut inside its data reads as truncated)."""
    if size < _BLOCK:
        return None  # empty, or no whole header: `tarfile` says which
    index: dict[str, tuple[int, int]] = {}
    offset, pax, long_name = 0, {}, None
    while offset + _BLOCK <= size:
        f.seek(offset)
        block = f.read(_BLOCK)
        if len(block) < _BLOCK or block == bytes(_BLOCK):
            break  # the end-of-archive blocks
        kind, length = block[156:157], _octal(block[124:136])
        if length is None or _octal(block[148:156]) != sum(block[:148]) + 256 + sum(block[156:]):
            return None
        data = offset + _BLOCK
        offset = data + (length + _BLOCK - 1) // _BLOCK * _BLOCK
        if kind in (_PAX, _LONG_NAME, _LONG_LINK, _GLOBAL_PAX):
            body = f.read(length) if kind in (_PAX, _LONG_NAME) else b""
            if kind == _PAX:
                pax = _pax_records(body)
                if pax is None:
                    return None
            elif kind == _LONG_NAME:
                long_name = body.split(b"\0", 1)[0]
            continue
        if kind not in _FILE and kind not in _SKIPPED:
            return None
        name = long_name or _ustar_name(block)
        if "path" in pax:
            name = pax["path"]
        if "size" in pax:
            length = int(pax["size"])
            offset = data + (length + _BLOCK - 1) // _BLOCK * _BLOCK
        if kind in _FILE:
            text = name.decode("utf-8", "surrogateescape")
            index[text[2:] if text.startswith("./") else text] = (data, length)
        pax, long_name = {}, None
    if offset > size or 0 < size - offset < _BLOCK:
        log.warning("%s: the tar is cut short after %d members (a member's data or header runs past its end); the "
                    "member cut off reads as truncated; fetch or write the tar again", tar, len(index))
    return index


def _octal(field: bytes) -> int | None:
    """A header's octal number (NUL or space padded), or None where it is none (base-256, garbage)."""
    digits = field.rstrip(b"\0 ").lstrip(b" ")
    if not digits:
        return 0
    try:
        return int(digits, 8)
    except ValueError:
        return None


def _ustar_name(block: bytes) -> bytes:
    """The member name of a header: its name field, after the POSIX ustar prefix field where there is one."""
    name = block[:100].split(b"\0", 1)[0]
    if block[257:263] == b"ustar\x00":
        prefix = block[345:500].split(b"\0", 1)[0]
        if prefix:
            return prefix + b"/" + name
    return name


def _pax_records(body: bytes) -> dict[str, bytes] | None:
    """The `path` and `size` of a pax header's `LENGTH KEY=VALUE\\n` records (the others are not needed), or None
    where the records do not parse."""
    records: dict[str, bytes] = {}
    position = 0
    while position < len(body) and body[position:position + 1] != b"\0":
        space = body.find(b" ", position)
        try:
            length = int(body[position:space]) if space > position else 0
        except ValueError:
            return None
        if length <= space - position or position + length > len(body):
            return None
        key, _, value = body[space + 1:position + length - 1].partition(b"=")
        if key in (b"path", b"size"):
            records[key.decode()] = value
        position += length
    if "size" in records and not records["size"].isdigit():
        return None
    return records


def _tarfile_index(tar: str) -> dict[str, tuple[int, int]]:
    """`_index` by `tarfile`, for the tars `_scanned` leaves to it."""
    index: dict[str, tuple[int, int]] = {}
    try:
        with tarfile.open(tar, mode="r:") as archive:
            try:
                for info in archive:
                    if info.isreg() and not info.issparse():
                        name = info.name[2:] if info.name.startswith("./") else info.name
                        index[name] = (info.offset_data, info.size)
            except tarfile.ReadError as e:  # past the first member: a cut or damaged tar; what came before is read
                log.warning("%s: the tar ends or is damaged after %d members (%s); later members are not read (a "
                            "member cut off reads as truncated); fetch or write the tar again", tar, len(index), e)
    except tarfile.ReadError as e:
        raise MediaError(f"tar file cannot be read: {tar} ({e}); expected an uncompressed tar (a webdataset shard); "
                         "fetch or write it again") from e
    except OSError as e:
        raise MediaError(f"tar file cannot be read ({e.strerror or type(e).__name__}): {tar}") from e
    return index
