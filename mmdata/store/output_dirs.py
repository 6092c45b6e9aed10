"""Output directories written whole: staged in a hidden folder beside them, then swapped into place.

`staged_dir` gives a writer of a whole directory (a fused export, a segmented or aligned dataset) a
hidden `.<name>.tmp-<pid>` folder; when the block ends the folder replaces the output (the old one is
set aside as `.<name>.old-<pid>` and removed once the new one is in place), and when it raises it goes.
Folders a killed write left behind are restored or removed by the next write. `check_replaceable`
refuses, before any work, an output directory whose replacement would destroy input.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from mmdata.errors import DatasetError
from mmdata.store import layout
from mmdata.store.files import missing_folders
from mmdata.store.output_files import refuse_inside_tables
from mmdata.store.write_errors import named_write_errors

@contextlib.contextmanager
def staged_dir(output_dir: Path) -> Iterator[Path]:
    """A hidden temporary directory beside `output_dir` to write a whole output into.

    When the block ends it is moved onto `output_dir` (an existing one only goes once the new one
    is in place: readers see the old or the new, never half of either; a process killed between
    the two renames leaves the old one aside, and the next write of `output_dir` moves it back
    first); when the block raises it is removed, with the parent folders made for it, so a failure
    leaves nothing behind. A write the system refuses in the block (a full disk) is raised as an
    OSError naming `output_dir` (`named_write_errors`), not a file of the hidden folder, gone by then."""
    tmp = output_dir.parent / f".{output_dir.name}.tmp-{os.getpid()}"  # the name `staging_folders` finds
    _restore_interrupted_publish(output_dir)  # first: a killed writer may have had this process's pid
    shutil.rmtree(tmp, ignore_errors=True)
    _remove_abandoned(output_dir)
    created = missing_folders(output_dir.parent)
    tmp.mkdir(parents=True)
    try:
        with named_write_errors(output_dir, hidden=tmp):  # the folder the user named, not the hidden one
            yield tmp
        _publish_dir(tmp, output_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:
            with contextlib.suppress(OSError):  # not empty: something else was put there meanwhile
                folder.rmdir()
        raise


def staging_folders(output_dir: Path) -> list[Path]:
    """The hidden folders `staged_dir` is writing `output_dir` in now, or a killed write left behind."""
    return sorted(output_dir.parent.glob(f"{_hidden_pattern(output_dir)}.tmp-*"))


def _restore_interrupted_publish(output_dir: Path) -> None:
    """Move back the earlier output that a write killed between the two renames of `_publish_dir` set
    aside: it left no `output_dir`, only `.<name>.old-<pid>` (the earlier output, whole) beside the new
    one's `.<name>.tmp-<pid>` (an `.old-<pid>` without it was being removed, after the new output was in
    place). Without this, `_remove_abandoned` would remove both, and a crash at that step would lose
    the old output as well as the new."""
    if output_dir.exists() or not output_dir.parent.is_dir():
        return
    for old in sorted(output_dir.parent.glob(f"{_hidden_pattern(output_dir)}.old-*")):
        pid = old.name.rsplit("-", 1)[-1]
        if _abandoned(old) and (output_dir.parent / f".{output_dir.name}.tmp-{pid}").is_dir():
            os.replace(old, output_dir)
            return


def _remove_abandoned(output_dir: Path) -> None:
    """Remove the temporary folders of earlier writes of `output_dir` whose process is gone (killed,
    so its own clean-up never ran): `.<name>.tmp-<pid>` and `.<name>.old-<pid>`."""
    if not output_dir.parent.is_dir():
        return
    for kind in ("tmp", "old"):
        for folder in output_dir.parent.glob(f"{_hidden_pattern(output_dir)}.{kind}-*"):
            if _abandoned(folder):
                shutil.rmtree(folder, ignore_errors=True)


def _hidden_pattern(output_dir: Path) -> str:
    """`.<name>` as a glob pattern matching that name only (`out[1]` holds a character class)."""
    return glob.escape(f".{output_dir.name}")


def _abandoned(folder: Path) -> bool:
    """A `.<name>.tmp-<pid>` or `.<name>.old-<pid>` folder whose writing process is gone. One named
    with this process's pid is abandoned too (a killed writer's pid, reused): it is only asked before
    this process writes there."""
    pid = folder.name.rsplit("-", 1)[-1]
    return folder.is_dir() and pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def check_replaceable(output_dir: Path, inputs: Sequence[Path], *, force: bool, marker: str, what: str) -> None:
    """Refuse an output directory that would destroy input: one that is an input or holds one; one
    inside an input's own tables (`samples/`, `features/`, `errors/`: its files would sit among the
    dataset's), or any other dataset's, or inside a fused export (`refuse_inside_tables`); and, with
    `force`, an existing directory that is not an earlier output (it lacks `marker`). Without `force`
    an existing directory is refused. A new folder elsewhere inside a dataset is fine (`DATASET/fused`).

    Raises:
        DatasetError: naming the directory and why.
        OutputPathError: the directory lies in another dataset's tables or inside a fused export.
    """
    out = output_dir.resolve()
    for source in (Path(p).resolve() for p in inputs):
        if out == source or source.is_relative_to(out):
            where = "is" if out == source else "holds"
            raise DatasetError(f"output directory {output_dir} {where} the input {source}; {what} writes a new "
                               "directory beside it: choose another path")
        reserved = next((d for d in (layout.SAMPLES_DIR, layout.FEATURES_DIR, layout.ERRORS_DIR)
                         if out.is_relative_to(source / d)), None)
        if reserved is not None:
            raise DatasetError(f"output directory {output_dir} lies inside the {reserved}/ folder of the input {source}, "
                               f"among its tables; choose a path outside it (e.g. {source / 'fused'} or beside the dataset)")
    refuse_inside_tables(output_dir, f"{what} output directory")
    if not output_dir.exists():
        return
    if not output_dir.is_dir():
        raise DatasetError(f"output {output_dir} is a file; expected a directory: choose another path")
    if not force:
        raise DatasetError(f"output directory {output_dir} already exists; choose another or pass force=True "
                           "(--force)")
    if not (output_dir / marker).is_file() and any(output_dir.iterdir()):
        raise DatasetError(f"output directory {output_dir} exists and is not an earlier {what} output (no {marker}); "
                           "force=True (--force) replaces those only: choose another path, or remove it yourself")


def _publish_dir(tmp: Path, output_dir: Path) -> None:
    if output_dir.exists():
        old = output_dir.parent / f".{output_dir.name}.old-{os.getpid()}"
        os.replace(output_dir, old)
        os.replace(tmp, output_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, output_dir)
