"""The folder `export-csd` writes into: one export at a time, no leftovers of killed ones, and which
`.csd` files there an earlier export wrote.

- Lock: an exclusive `flock` on the folder itself while an export writes into it (no lock file,
  which the SDK's `mmdataset("folder/")` would not mind but a user would); a second export into the
  same folder is refused at once. The lock goes with the process: a killed export holds nothing.
- Whole or nothing: an export writes every file into the hidden folder `STAGING_DIR` inside the
  folder (`staged_export`) and moves them out over the files of their names only once all are
  written (`publish`). A failed, interrupted or killed export leaves the folder's files as they
  were: no half export (some tables new, some missing or of the earlier export) that the SDK would
  load as a whole one, and a rerun of the same command finds the folder as before.
- Leftovers: a killed export leaves its staging folder, and an older mmdata's killed export a hidden
  `.X.csd.<8 hex digits>.tmp` (or `.standard_folds.json.<8 hex digits>.tmp`). With the lock held no
  export is writing them, so they are removed; nothing else is touched.
- Files already there: a folder that holds `.csd` files is refused unless forced (`refuse_existing_files`):
  the files keep the names of the corpus's own (CMU_MOSI_COVAREP.csd, the label file), so an export may
  replace files of the same name that are no export's.
- Marker: every file an export writes carries the metadata key `EXPORT_MARKER_KEY` (the table it
  holds), so that `--force` can remove an earlier export's files that this one does not replace
  (whole-video and segment files would otherwise mix in one folder), and leave every other `.csd`
  (a corpus's own files, files an older mmdata wrote) in place.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mmdata.alignment.write_errors import WRITE_REFUSALS
from mmdata.errors import DatasetBusyError, MmdataError
from mmdata.formats.csd import CSD_SUFFIX, CsdFile
from mmdata.formats.csd_folds import FOLDS_FILE, FOLDS_KEY
from mmdata.store.files import missing_folders, write_text_atomic
from mmdata.store.output_files import OutputPathError, refuse_inside_tables

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
#: A temporary file for `<name>.csd` (`write_csd`) or the folds file, beside it: `.<name>.csd.<8 hex digits>.tmp`.
_TEMPORARY = re.compile(r"\.(?P<target>.+\.csd|" + re.escape(FOLDS_FILE) + r")\.[0-9a-f]{8}\.tmp")
#: The hidden folder inside CSD_DIR that an export writes its files into before moving them out (`staged_export`).
STAGING_DIR = ".export-csd.tmp"
#: In the staging folder while `publish` moves files in: what it replaces (JSON), and the earlier files (hard links).
_PUBLISH_RECORD, _PREVIOUS_DIR = "publishing.json", "previous"


@contextmanager
def exporting_into(csd_dir: Path) -> Iterator[None]:
    """Hold the folder's export lock, the folder made first when it is new (two exports into a new
    folder would otherwise both go on, the second removing the first's temporary files). A folder made
    here is removed again when the export fails and leaves it empty.

    Raises:
        DatasetBusyError: another export holds it.
        OutputPathError: the folder is or lies in a dataset's table folder, or in a fused export.
    """
    refuse_inside_tables(csd_dir, "csd_dir")  # .csd files in a dataset's table folder break its readers
    created = missing_folders(csd_dir)
    csd_dir.mkdir(parents=True, exist_ok=True)
    try:
        with _folder_lock(csd_dir):
            yield
    except BaseException:
        for folder in created:  # deepest first; one holding anything stays
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


@contextmanager
def _folder_lock(csd_dir: Path) -> Iterator[None]:
    if fcntl is None:
        yield
        return
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


@contextmanager
def staged_export(csd_dir: Path) -> Iterator[Path]:
    """The hidden folder (`STAGING_DIR`) to write an export's files into, with the lock held; it is
    removed when the block ends, with whatever `publish` did not move out of it (all of it when the
    block raised: nothing of a failed export reaches `csd_dir`)."""
    staging = csd_dir / STAGING_DIR
    undo_interrupted_publish(csd_dir)
    shutil.rmtree(staging, ignore_errors=True)  # a killed export's
    staging.mkdir()
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, csd_dir: Path, names: list[str], remove: list[str]) -> list[Path]:
    """Move the files `names` from `staging` into `csd_dir` (over the files of those names, in that order)
    and remove the files `remove` of `csd_dir`, as one change: their paths in `csd_dir`.

    The files it replaces or removes are hard-linked into `staging` first, and a record of the change
    is written there before the first rename and removed after the last removal; an export killed in
    between leaves the record, and the next export into the folder puts the earlier files back
    (`undo_interrupted_publish`), so no mix of two exports' files stays."""
    previous = staging / _PREVIOUS_DIR
    previous.mkdir()
    for name in [*names, *remove]:
        if (csd_dir / name).is_file():
            _keep(csd_dir / name, previous / name)
    record = staging / _PUBLISH_RECORD
    write_text_atomic(record, json.dumps({"names": names, "remove": remove}))
    try:
        for name in names:
            os.replace(staging / name, csd_dir / name)
        for name in remove:
            (csd_dir / name).unlink(missing_ok=True)
    except BaseException:  # Ctrl-C, or the system refused a rename: put the folder back before the staging goes
        undo_interrupted_publish(csd_dir)
        raise
    record.unlink()  # the change is made: from here on, nothing is put back
    return [csd_dir / name for name in names]


def publish_interrupted(csd_dir: Path) -> bool:
    """Whether an export was killed while it moved its files into `csd_dir` (`undo_interrupted_publish`
    has not put the folder back yet)."""
    return (csd_dir / STAGING_DIR / _PUBLISH_RECORD).is_file()


def undo_interrupted_publish(csd_dir: Path) -> list[str]:
    """Put back the files of `csd_dir` that an export killed while publishing (`publish`) had replaced or
    removed, and remove those it had added (run with the lock held, before the staging folder goes):
    the folder is as before that export. The names put back or removed."""
    record = csd_dir / STAGING_DIR / _PUBLISH_RECORD
    if not publish_interrupted(csd_dir):
        return []
    change = json.loads(record.read_text(encoding="utf-8"))  # written atomically: whole, or not there
    previous = csd_dir / STAGING_DIR / _PREVIOUS_DIR
    for name in [*change["names"], *change["remove"]]:
        if (previous / name).is_file():
            os.replace(previous / name, csd_dir / name)
        elif name in change["names"]:
            (csd_dir / name).unlink(missing_ok=True)
    record.unlink()
    log.warning("%s: an export was stopped while it moved its files in (%s); the files there before it are put back",
                csd_dir, ", ".join(change["names"][:3]))
    return [*change["names"], *change["remove"]]


def _keep(path: Path, kept: Path) -> None:
    """`path` hard-linked as `kept` (copied where the file system has no hard links)."""
    try:
        os.link(path, kept)
    except OSError:
        shutil.copy2(path, kept)


def in_folder(error: OSError, staging: Path, csd_dir: Path) -> OSError:
    """`error` naming the file of `csd_dir` that a file of `staging` was written for (the staging folder
    is removed, and the user knows the export's files by their names in CSD_DIR); one that names no
    file but says why the system refused a write (a full disk) names `csd_dir`."""
    filename = error.filename
    if filename is None and error.errno in WRITE_REFUSALS:
        return OSError(error.errno, os.strerror(error.errno), str(csd_dir))
    if filename is None or Path(filename).parent != staging:
        return error
    return OSError(error.errno, error.strerror, str(csd_dir / Path(filename).name))


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
    """Remove the temporary files and the staging folder killed exports left in `csd_dir` (run with the
    lock held); the removed paths."""
    if not csd_dir.is_dir():
        return []
    undo_interrupted_publish(csd_dir)
    removed = [p for p in csd_dir.iterdir() if (_TEMPORARY.fullmatch(p.name) and p.is_file())
               or (p.name == STAGING_DIR and p.is_dir())]
    for path in removed:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
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


def earlier_exports(csd_dir: Path, keep: Iterable[str]) -> tuple[list[str], list[Path]]:
    """(to remove, kept): the names of the other `.csd` files in `csd_dir` than `keep` that an earlier export
    wrote (for `publish` to remove), and the paths of those it did not write (`kept_files_warning` says why
    they are still there)."""
    keep = set(keep)
    others = sorted(p for p in csd_dir.glob(f"*{CSD_SUFFIX}") if p.name not in keep and p.is_file())
    removed = [p for p in others if written_by_export(p)]
    return [p.name for p in removed], [p for p in others if p not in removed]


def kept_files_warning(csd_dir: Path, kept: list[Path]) -> str:
    return (f"{csd_dir}: kept {len(kept)} .csd files that export-csd did not write (no {EXPORT_MARKER_KEY!r} metadata: "
            f"a corpus's own files, or an older mmdata's export), e.g. {', '.join(p.name for p in kept[:3])}; the SDK "
            "loads every .csd of a folder, so remove them if they do not belong with this export")
