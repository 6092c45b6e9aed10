"""The folder `export-csd` writes into: one export at a time, no leftovers of killed ones, and which
`.csd` files there an earlier export wrote.

- Lock: an exclusive `flock` on the folder itself while an export writes into it (no lock file,
  which the SDK's `mmdataset("folder/")` would not mind but a user would); a second export into the
  same folder is refused at once. The lock goes with the process: a killed export holds nothing.
- Leftovers: `write_csd` writes `X.csd` as the hidden `.X.csd.<8 hex digits>.tmp` beside it and
  renames it over `X.csd` when complete (`store.files.create_temporary`); a killed export (SIGKILL,
  the OOM killer) leaves that file for good. With the lock held no export is writing one, so the
  files of exactly that pattern are leftovers and are removed; nothing else is touched.
- Files already there: a folder that holds `.csd` files is refused unless forced (`refuse_existing_files`):
  the files keep the names of the corpus's own (CMU_MOSI_COVAREP.csd, the label file), so an export may
  replace files of the same name that are no export's.
- Marker: every file an export writes carries the metadata key `EXPORT_MARKER_KEY` (the table it
  holds), so that `--force` can remove an earlier export's files that this one does not replace
  (whole-video and segment files would otherwise mix in one folder), and leave every other `.csd`
  (a corpus's own files, files an older mmdata wrote) in place.
"""
from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mmdata.errors import DatasetBusyError, MmdataError
from mmdata.formats.csd import CSD_SUFFIX, CsdFile
from mmdata.formats.csd_folds import FOLDS_FILE, FOLDS_KEY
from mmdata.store.output_files import OutputPathError

try:
    import fcntl
except ImportError:  # not on POSIX: no lock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: Metadata key of every `.csd` file `export-csd` writes; its value names the table (or "labels").
EXPORT_MARKER_KEY = "mmdata export-csd"
#: Metadata key of the table each exported file holds, for `extract csd` to name it back: {"name": table,
#: "reference": what an aligned table `X@REF` was aligned to, "media_ends": {video: seconds its medium
#: runs, where the samples record it}} (the last two only when known), and how the file is keyed
#: (`csd_export_keys`: "keys", "empty"). Real SDK files lack it.
TABLE_IDENTITY_KEY = "mmdata table"
#: `write_csd`'s temporary file for `<name>.csd`: `.<name>.csd.<8 hex digits>.tmp`.
_TEMPORARY = re.compile(r"\.(?P<target>.+\.csd)\.[0-9a-f]{8}\.tmp")


@contextmanager
def exporting_into(csd_dir: Path) -> Iterator[None]:
    """Hold the folder's export lock, the folder made first when it is new (two exports into a new
    folder would otherwise both go on, the second removing the first's temporary files).

    Raises:
        DatasetBusyError: another export holds it.
    """
    if fcntl is None:
        yield
        return
    csd_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(csd_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatasetBusyError(
                f"{csd_dir} is being written by another `mmdata export-csd` now; run this export when that one has "
                "finished, or write to another folder") from None
        yield
    finally:
        os.close(fd)  # releases the lock


def refuse_existing_files(csd_dir: Path, *, force: bool) -> None:
    """Refuse, unless `force`, a `csd_dir` that already holds `.csd` files or a folds file (`FOLDS_FILE`):
    the files written keep the names of the corpus's `.csd` files, so an export there may replace files of
    the same name.

    Raises:
        OutputPathError: `csd_dir` holds a `.csd` file or the folds file, and `force` is False.
    """
    existing = sorted(csd_dir.glob(f"*{CSD_SUFFIX}")) if csd_dir.is_dir() else []
    what = f".csd files (e.g. {existing[0].name})" if existing else f"a folds file {FOLDS_FILE}"
    if (existing or (csd_dir / FOLDS_FILE).is_file()) and not force:
        raise OutputPathError(f"CSD_DIR {csd_dir} already holds {what}, which this export may replace; choose a new "
                              "or empty folder, or pass force=True (--force)")


def earlier_folds_file(csd_dir: Path) -> Path | None:
    """The folds file in `csd_dir` that the `.csd` files an earlier export wrote there record (read before
    this export replaces them), for `--force` to remove when this export writes none; None if none does."""
    path = csd_dir / FOLDS_FILE
    if not path.is_file():
        return None
    for csd_path in sorted(csd_dir.glob(f"*{CSD_SUFFIX}")):
        try:
            with CsdFile(csd_path) as csd:
                if csd.metadata.get(FOLDS_KEY) == FOLDS_FILE and EXPORT_MARKER_KEY in csd.metadata:
                    return path
        except (MmdataError, OSError, RuntimeError):  # a damaged file records nothing
            continue
    return None


def remove_stale_temporaries(csd_dir: Path) -> list[Path]:
    """Remove the temporary files killed exports left in `csd_dir` (run with the lock held); the removed paths."""
    if not csd_dir.is_dir():
        return []
    removed = [p for p in csd_dir.iterdir() if _TEMPORARY.fullmatch(p.name) and p.is_file()]
    for path in removed:
        path.unlink(missing_ok=True)
    if removed:
        log.info("%s: removed %d temporary files a killed export left (e.g. %s)", csd_dir, len(removed),
                 removed[0].name)
    return removed


def written_by_export(path: Path) -> bool:
    """Whether `path` is a `.csd` file export-csd wrote (its metadata holds `EXPORT_MARKER_KEY`)."""
    try:
        with CsdFile(path) as csd:
            return EXPORT_MARKER_KEY in csd.metadata
    except (MmdataError, OSError, RuntimeError):  # h5py raises RuntimeError on a damaged object name
        return False


def remove_earlier_exports(csd_dir: Path, written: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(removed, kept): the other `.csd` files in `csd_dir` than `written`, removed when an earlier export
    wrote them, kept when not (`kept_files_warning` says why they are still there)."""
    keep = {p.name for p in written}
    others = sorted(p for p in csd_dir.glob(f"*{CSD_SUFFIX}") if p.name not in keep and p.is_file())
    removed = [p for p in others if written_by_export(p)]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed, [p for p in others if p not in removed]


def kept_files_warning(csd_dir: Path, kept: list[Path]) -> str:
    return (f"{csd_dir}: kept {len(kept)} .csd files that export-csd did not write (no {EXPORT_MARKER_KEY!r} metadata: "
            f"a corpus's own files, or an older mmdata's export), e.g. {', '.join(p.name for p in kept[:3])}; the SDK "
            "loads every .csd of a folder, so remove them if they do not belong with this export")
