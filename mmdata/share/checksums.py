"""SHA-256 checksums of every file of a dataset directory, in `sha256sum` format.

`checksums.sha256` sits at the top of the directory and lists every other file, sorted by path,
one line each (the format `sha256sum -c` reads, so no mmdata is needed to check a download):

    3b5d3c7d207e37dceeedd301e35e2e58a5e2a4d1a8fd0a6e0f3d1c6e4a3f8d2b  features/image.color-hist/part-00000-train.parquet
    9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  mmdata.json

A name holding a backslash, a line feed or a carriage return is written as GNU `sha256sum` writes it: the
line starts with a backslash and the name has `\\\\`, `\\n`, `\\r` for them. Files other tools write are read
too: uppercase hex, a `*` (binary mode) before the name, a leading `./` (`find . -exec sha256sum {} +`),
a UTF-8 byte order mark and CRLF line ends.

`verify_checksums` names every missing, extra or altered file. What tools add to a copy (`.git/`,
the `.cache/huggingface/` of `hf download --local-dir`, the `.gitattributes` the Hub puts into every
new repository) is not part of the dataset. The files are those `hf upload` sends: regular files,
symbolic links to files included, but not the files under a symbolic link to a folder, nor a link
whose target is gone. A folder that cannot be listed is an error, never a folder without files.

`record_checksums` (`mmdata checksum`) says how the files differ from the checksums file it replaces,
so that a damaged file is named rather than recorded unnoticed; it refuses a name that is not valid
UTF-8 (the checksums file is UTF-8 text, as the Hub's paths are) and a dataset an `mmdata extract` or
`mmdata align` is writing now.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mmdata.errors import DatasetError, DatasetNotFoundError
from mmdata.store.files import sha256_file, write_text_atomic
from mmdata.store.layout import CHECKSUMS_NAME, MANIFEST_NAME
from mmdata.store.lock import directory_lock
from mmdata.store.output_files import checksums_file

log = logging.getLogger(__name__)

#: Paths (relative, POSIX) that belong to the tools around a dataset, not to the dataset.
IGNORED_PREFIXES = (".git/", ".cache/huggingface/")
IGNORED_FILES = frozenset({".gitattributes"})
#: `<64 hex digits> <space or *><name>`, after an optional backslash that says the name is escaped.
_LINE = re.compile(r"^(\\?)([0-9a-fA-F]{64}) [ *](.+)$", re.DOTALL)
#: What GNU sha256sum escapes in a name (then starting the line with a backslash), and back.
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r"}
_UNESCAPE = re.compile(r"\\(.?)", re.DOTALL)
_BOM = "\ufeff"
#: A checksums file that cannot be parsed proves nothing about the files: get it again, or vouch for them anew.
_DAMAGED_HINT = (f"the {CHECKSUMS_NAME} is damaged: get it again from where the dataset came from, or, if you trust the "
                 f"files as they are, write a new one with `mmdata checksum DIR`")


@dataclass
class VerifyReport:
    """The outcome of `verify_checksums`: files that differ from the recorded checksums."""

    dataset_dir: Path
    checked: int
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.altered)

    @property
    def differing(self) -> int:
        """How many files differ (each is missing, extra or altered, never two of these)."""
        return len(set(self.missing) | set(self.extra) | set(self.altered))

    def problems(self) -> list[str]:
        """One line per offending file: `missing: PATH`, `altered: PATH`, `extra: PATH` (a name with a line
        break or bytes that are not UTF-8 shown quoted and escaped, `shown_name`)."""
        return (
            [f"missing: {shown_name(p)}" for p in self.missing]
            + [f"altered: {shown_name(p)}" for p in self.altered]
            + [f"extra: {shown_name(p)}" for p in self.extra]
        )


@dataclass
class ChecksumsWritten:
    """The outcome of `record_checksums`: the file written, and how the files differed from the
    checksums file it replaced (`previous`: None when there was none; `previous_damaged`: it could
    not be read, the reason)."""

    path: Path
    files: int
    previous: VerifyReport | None = None
    previous_damaged: str | None = None


def shown_name(rel: str) -> str:
    """A file name as one printable line: as it is when it is; else quoted, with a line break or another
    control character escaped (`\\n`) and each byte that is not UTF-8 as `\\xNN`."""
    if rel.isprintable():
        return rel
    out = []
    for c in rel:
        if 0xDC80 <= ord(c) <= 0xDCFF:  # a byte the file system name holds that is not UTF-8 (surrogateescape)
            out.append(f"\\x{ord(c) - 0xDC00:02x}")
        else:
            out.append(c if c.isprintable() else repr(c)[1:-1])
    return "'" + "".join(out) + "'"


def list_dataset_files(dataset_dir: Path) -> list[str]:
    """Every file under `dataset_dir` (relative POSIX paths, sorted), except the checksums file itself
    and what tools add (`IGNORED_PREFIXES`, `IGNORED_FILES`).

    Raises:
        DatasetError: a folder in it cannot be listed (its files would silently count as missing).
    """
    files = []
    try:
        # os.walk does not descend into a link to a folder (`hf upload` does not either)
        for folder, subfolders, names in os.walk(dataset_dir, onerror=_raise):
            inside = Path(folder).relative_to(dataset_dir).as_posix()
            # the tools' folders (.git/) are not read at all: they can be large, or not readable
            subfolders[:] = [d for d in subfolders if not _not_checked(f"{d}/" if inside == "." else f"{inside}/{d}/")]
            for name in names:
                path = Path(folder, name)
                if not path.is_file():  # links to nothing (which `hf upload` leaves out too), FIFOs, sockets
                    continue
                rel = path.relative_to(dataset_dir).as_posix()
                if not _not_checked(rel):
                    files.append(rel)
    except OSError as e:
        where = Path(e.filename) if e.filename else dataset_dir
        raise DatasetError(f"cannot list {_shown_path(where)} ({e.strerror or e}); every file of the folder is "
                           "checksummed: make the folder readable, or move it out of the folder") from e
    return sorted(files)


def _raise(error: OSError) -> None:
    raise error


def _not_checked(rel: str) -> bool:
    """The checksums file itself, and what tools add to a copy (`IGNORED_PREFIXES`, `IGNORED_FILES`)."""
    return rel == CHECKSUMS_NAME or rel in IGNORED_FILES or rel.startswith(IGNORED_PREFIXES)


def compute_checksums(dataset_dir: str | Path) -> dict[str, str]:
    """{relative path: sha256} for every file of the directory.

    Raises:
        DatasetError: a file cannot be read (its path and the reason in the message).
    """
    root = _existing_dir(dataset_dir)
    return {rel: _checksum(root, rel) for rel in list_dataset_files(root)}


def write_checksums(dataset_dir: str | Path) -> Path:
    """Write (or rewrite) `checksums.sha256` for every file of the directory; returns its path
    (`record_checksums` says what changed since the file it replaces).

    Example:
        >>> write_checksums("out/coco-shared")   # then: mmdata verify out/coco-shared
    """
    return record_checksums(dataset_dir).path


def record_checksums(dataset_dir: str | Path) -> ChecksumsWritten:
    """Write (or rewrite) `checksums.sha256` for every file of the directory, and compare the files
    with the checksums file it replaces: a file altered since then is named, not recorded unnoticed.

    Raises:
        DatasetNotFoundError: the directory does not exist.
        DatasetBusyError: an `mmdata extract` or `mmdata align` writes the dataset now.
        DatasetError: it is a file, holds no file, a file in it cannot be read, a name in it is not
            valid UTF-8, or the checksums file cannot be written there.

    Example:
        >>> record_checksums("out/coco-shared").previous.altered   # ['README.md'] after editing the card
    """
    root = _existing_dir(dataset_dir)
    path = checksums_file(root)  # a directory there is named before any file is hashed
    with _no_writer(root):
        names = list_dataset_files(root)
        _require_utf8_names(root, names)
        if not names:
            raise DatasetError(f"{root} holds no file to checksum; expected a dataset or share folder (the one "
                               "`mmdata extract` or `mmdata share` wrote)")
        previous, damaged = _previous_checksums(path)
        sums = {rel: _checksum(root, rel) for rel in names}
        try:
            write_text_atomic(path, "".join(checksum_line(rel, digest) for rel, digest in sums.items()))
        except OSError as e:
            raise DatasetError(f"cannot write {path} ({e.strerror or e}); `mmdata checksum` writes the file into "
                               "the folder it checksums: make the folder writable, or checksum a copy") from e
    log.info("wrote %d checksums to %s", len(sums), path)
    return ChecksumsWritten(path, len(sums), None if previous is None else _difference(root, previous, set(sums), sums.__getitem__), damaged)


def _previous_checksums(path: Path) -> tuple[dict[str, str] | None, str | None]:
    """(the checksums file about to be replaced, parsed; None if there is none or it cannot be read,
    with the reason in the second place)."""
    if not path.is_file():
        return None, None
    try:
        return read_checksums(path), None
    except DatasetError as e:
        return None, str(e).split("; ")[0]


def _difference(root: Path, recorded: dict[str, str], present: set[str], digest: Callable[[str], str]) -> VerifyReport:
    """How the files `present` (`digest(rel)` gives a file's checksum, asked only of recorded files) differ
    from the `recorded` checksums. A list `find . -type f -exec sha256sum {} +` made names the tools' files
    too: they are not the dataset's files, and are left out."""
    recorded = {rel: value for rel, value in recorded.items() if not _not_checked(rel)}
    report = VerifyReport(dataset_dir=root, checked=len(recorded))
    report.missing = sorted(set(recorded) - present)
    report.extra = sorted(present - set(recorded))
    report.altered = sorted(rel for rel in set(recorded) & present if digest(rel) != recorded[rel])
    return report


def _require_utf8_names(root: Path, names: list[str]) -> None:
    """The checksums file is UTF-8 text (and the Hub takes UTF-8 paths only): a name holding bytes that
    are not UTF-8 cannot be recorded."""
    for rel in names:
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            raise DatasetError(f"{_shown_path(root / rel)}: the file name is not valid UTF-8, and "
                               f"{CHECKSUMS_NAME} records UTF-8 names (as the Hub takes them); rename the file, or "
                               "move it out of the folder") from None


def _no_writer(root: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the dataset's writer lock (`store.lock.directory_lock`) while the files are hashed: an extract
    or align writing the dataset now is refused, and none starts meanwhile, so the checksums are of one
    state of the files."""
    return directory_lock(root, f"{root} is being written by another mmdata process (an extract or align "
                                "running now); checksum it when that one has finished")


def checksum_line(rel: str, digest: str) -> str:
    """One line of the checksums file, as GNU `sha256sum` writes it (a name with a backslash, line feed
    or carriage return escaped, the line then starting with a backslash)."""
    if not any(c in rel for c in _ESCAPES):
        return f"{digest}  {rel}\n"
    return "\\" + f"{digest}  " + "".join(_ESCAPES.get(c, c) for c in rel) + "\n"


def read_checksums(path: Path) -> dict[str, str]:
    """Parse a `sha256sum`-format file: {relative path: lowercase hex sha256}.

    Raises:
        DatasetError: the file does not exist (or is not a file), or a line is not `<64 hex>  <path>`.
    """
    sums: dict[str, str] = {}
    for number, line in enumerate(_checksum_text(path).split("\n"), start=1):
        line = line.removesuffix("\r")  # CRLF line ends (sha256sum -c reads them too)
        if not line.strip():
            continue
        rel, digest = _parse_line(path, number, line)
        sums[rel] = digest
    return sums


def _checksum_text(path: Path) -> str:
    """The text of the checksums file, without a UTF-8 byte order mark."""
    if path.is_dir():
        raise DatasetError(f"{path} is a directory; expected the {CHECKSUMS_NAME} file `mmdata checksum` writes; remove "
                           f"or rename that directory, then write the file with `mmdata checksum {path.parent}`")
    if not path.is_file():
        raise DatasetError(
            f"{path.parent} has no {CHECKSUMS_NAME}; write one with `mmdata checksum {path.parent}` "
            "(`mmdata share` writes one into every folder it makes)"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not UTF-8 text (byte {e.start}), expected lines '<64 hex digits>  <relative path>'; "
                           f"{_DAMAGED_HINT}") from e
    return text.removeprefix(_BOM)


def _parse_line(path: Path, number: int, line: str) -> tuple[str, str]:
    """(relative path, lowercase digest) of one line; a leading `./` is dropped from the path."""
    match = _LINE.match(line)
    name = match and (_unescape(match.group(3)) if match.group(1) else match.group(3))
    if not name:
        raise DatasetError(f"{path}:{number}: expected '<64 hex digits>  <relative path>', got {line[:80]!r}; "
                           f"{_DAMAGED_HINT}")
    return name.removeprefix("./"), match.group(2).lower()


def _unescape(name: str) -> str | None:
    """A name GNU-escaped (`\\\\`, `\\n`, `\\r`) as it is; None when it holds another escape."""
    reverse = {escaped[1]: c for c, escaped in _ESCAPES.items()}
    if any(m.group(1) not in reverse for m in _UNESCAPE.finditer(name)):
        return None
    return _UNESCAPE.sub(lambda m: reverse[m.group(1)], name)


def verify_checksums(dataset_dir: str | Path) -> VerifyReport:
    """Compare every file of the directory with `checksums.sha256`.

    Args:
        dataset_dir: a folder holding `checksums.sha256` (a share, or a dataset after `mmdata checksum`).

    Returns:
        A `VerifyReport` naming each missing, extra (unlisted) and altered file; `report.ok` is True
        when the directory holds exactly the recorded files with the recorded contents.

    Raises:
        DatasetNotFoundError: the directory does not exist.
        DatasetError: it is a file, has no readable checksums file, or a file in it cannot be read.
    """
    root = _existing_dir(dataset_dir)
    recorded = read_checksums(root / CHECKSUMS_NAME)
    return _difference(root, recorded, set(list_dataset_files(root)), lambda rel: _checksum(root, rel))


def _checksum(root: Path, rel: str) -> str:
    try:
        return sha256_file(root / rel)
    except OSError as e:
        raise DatasetError(f"cannot read {root / rel} ({e.strerror or e}); every file of the folder is checksummed: "
                           "make it readable, or move it out of the folder") from e


def _existing_dir(dataset_dir: str | Path) -> Path:
    root = Path(dataset_dir)
    if root.is_file():
        parent = root.parent
        beside = root.name == CHECKSUMS_NAME or any((parent / n).is_file() for n in (CHECKSUMS_NAME, MANIFEST_NAME))
        raise DatasetError(f"{root} is a file; expected the dataset folder that holds {CHECKSUMS_NAME} "
                           + (f"(e.g. {parent})" if beside else "(a dataset or share folder: give the folder, not a "
                              "file in it)"))
    if not root.is_dir():
        raise DatasetNotFoundError(f"dataset directory not found: {root}")
    return root


def _shown_path(path: Path) -> str:
    """`path` as printable text (`shown_name`), unquoted when it is plain."""
    return shown_name(str(path))
