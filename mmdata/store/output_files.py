"""Where an output file may be written: the rules every writer of a user-named file applies first.

A report path that names a directory, or an export directory under a file, would otherwise fail
late, deep in an atomic write, with an OSError traceback; here it is a one-line error naming the
path, what was expected and a path that would do. No output file replaces a file of a dataset
(its manifest, card, checksums or shards): `write_report("out/ds", "out/ds/mmdata.json")` would
leave a dataset that no longer opens; nor does an output directory (a dataset, an export, a share)
lie in a dataset's table folders or inside a fused export (`refuse_inside_tables`). A report
replaces no file but an earlier report of its kind (or an empty file), so a mistyped path does not
turn a script into HTML.

The library writers (`mmdata.report.write_report`, `mmdata.checks.report.write_report_json`, the
training recipes' metrics) apply these rules themselves; the CLI applies the same ones before any
work starts, naming the option (`--out`, `--json`) as `what`.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mmdata.errors import ConfigError
from mmdata.store.layout import CHECKSUMS_NAME, ERRORS_DIR, FEATURES_DIR, MANIFEST_NAME, SAMPLES_DIR

#: The files at the top of a dataset folder (a share's too), by what they are to the dataset.
DATASET_FILES = {MANIFEST_NAME: "manifest", "README.md": "dataset card", CHECKSUMS_NAME: "checksums file"}
#: The folders of a dataset whose files are its tables.
DATASET_FOLDERS = {SAMPLES_DIR: "samples table", FEATURES_DIR: "feature tables", ERRORS_DIR: "errors tables"}
#: The file at the top of a fused export (`mmdata.fusion.formats.FUSED_METADATA`), named here because the
#: store does not import the fusion package.
FUSED_EXPORT_MARKER = "fused.json"
#: What marks a page `mmdata report` wrote (its generator tag; pages written before it had only the
#: <title> of `mmdata.report.html.render_page`).
REPORT_MARKER = b'<meta name="generator" content="mmdata report">'
_OLDER_REPORT_MARKER = b"<title>mmdata report: "
#: The keys every JSON check report holds (`CheckReport.to_json`); `dataset_dir` comes first.
CHECK_REPORT_KEYS = ("dataset_dir", "ok", "issues", "rows_checked")
_REPORT_HEAD_BYTES = 4096


class OutputPathError(ConfigError):
    """An output path is a directory where a file is written, a file where a directory is, lies under
    a file, or names a file that must not be replaced (a dataset's own, or one a report may not replace)."""


def output_file(path: str | Path, what: str, example: str) -> Path:
    """`path` if it can become a file; `what` names it in the error (an option), `example` is a file
    name to suggest inside it when it is a directory. A file of a dataset is refused too.

    Raises:
        OutputPathError: `path` is a directory, lies under a file, or is (or lies in a table folder of) a dataset.
    """
    path = Path(path)
    with _unusable_as_error(path, what):
        if path.is_dir():
            raise OutputPathError(f"{what} {path} is a directory; expected a file path, e.g. {path / example}")
        _check_parents(path, what)
        _refuse_dataset_file(path, what, example)
    return path


def report_file(path: str | Path, what: str, example: str) -> Path:
    """`output_file`, and not an existing file other than an earlier page of `mmdata report` (or an empty file).

    Raises:
        OutputPathError: as `output_file`, or `path` is another existing file (it is kept).
    """
    return _replacing_only(path, what, example, _is_html_report,
                           f"an mmdata report (no {REPORT_MARKER.decode()!r} in its first {_REPORT_HEAD_BYTES} bytes)",
                           "a report written earlier")


def check_report_file(path: str | Path, what: str, example: str) -> Path:
    """`output_file`, and not an existing file other than a JSON check report written earlier (or an empty file).

    Raises:
        OutputPathError: as `output_file`, or `path` is another existing file (it is kept).
    """
    return _replacing_only(path, what, example, _is_check_report,
                           f"an mmdata check report (no JSON object with the keys {', '.join(CHECK_REPORT_KEYS)})",
                           "a check report written earlier")


def output_dir(path: str | Path, what: str) -> Path:
    """`path` if it can be (or already is) a directory, outside every dataset's tables
    (`refuse_inside_tables`); `what` names it in the error."""
    path = Path(path)
    with _unusable_as_error(path, what):
        if path.exists() and not path.is_dir():
            raise OutputPathError(f"{what} {path} is a file; expected a directory (a new one, or one written "
                                  "earlier); choose another path or remove the file")
        _check_parents(path, what)
        refuse_inside_tables(path, what)
    return path


def refuse_inside_tables(path: str | Path, what: str) -> None:
    """Refuse an output directory (links followed) that is or lies in a table folder (`DATASET_FOLDERS`)
    of any dataset above it, or lies inside a fused export (a folder holding `FUSED_EXPORT_MARKER`).

    Readers take every file of a table folder for a shard, `pyarrow.dataset.dataset(DATASET/samples)`
    included: a dataset, export or share written into `DATASET/samples/x` made the dataset unreadable
    ("Parquet magic bytes not found" in the nested mmdata.json). A fused export's folders are its data
    (`data/`, a folder per split), and `mmdata fuse --overwrite` replaces the export whole. A new folder
    elsewhere inside a dataset (`DATASET/fused`, `DATASET/sub`) is fine: no reader of the dataset lists it.

    Raises:
        OutputPathError: naming the dataset or export it would damage, and a path beside it.
    """
    target = Path(path).resolve()
    for folder in target.parents:
        beside = folder.parent / f"{folder.name}-{target.name}"
        first = target.relative_to(folder).parts[0]
        if first in DATASET_FOLDERS and (folder / MANIFEST_NAME).is_file():
            raise OutputPathError(
                f"{what} {path} lies in the {DATASET_FOLDERS[first]} folder {first}/ of the dataset {folder}, whose "
                "files mmdata and pyarrow read as its tables; writing there would damage that dataset for every "
                f"reader; choose a folder outside it, e.g. {beside}")
        if (folder / FUSED_EXPORT_MARKER).is_file():
            raise OutputPathError(
                f"{what} {path} lies inside the fused export {folder}, whose folders hold its data and which "
                f"`mmdata fuse --overwrite` replaces whole; choose a folder outside it, e.g. {beside}")


def checksums_file(dataset_dir: str | Path) -> Path:
    """The checksums file of `dataset_dir`, unless a directory stands where it is written."""
    path = Path(dataset_dir) / CHECKSUMS_NAME
    if path.is_dir():
        raise OutputPathError(f"{path} is a directory; expected the file `mmdata verify` reads there; remove or "
                              "rename that directory")
    return path


def _replacing_only(path: str | Path, what: str, example: str, earlier: Callable[[bytes, Path], bool],
                    not_one: str, replaced: str) -> Path:
    """`output_file`, and an existing `path` only if empty or `earlier(head, path)` says a report wrote it."""
    path = output_file(path, what, example)
    with _unusable_as_error(path, what):
        if path.exists() and not _replaceable(path, earlier):
            raise OutputPathError(
                f"{what} {path} is an existing file that is not {not_one}; expected a new file, or {replaced}, which is "
                f"replaced; choose another path, e.g. {path.with_name(example)}, or remove the file if it may go")
    return path


@contextmanager
def _unusable_as_error(path: Path, what: str) -> Iterator[None]:
    """A path the system refuses to look at (a name over 255 bytes, say) as a one-line error."""
    try:
        yield
    except OSError as e:
        raise OutputPathError(f"{what} {str(path)[:200]}: {e.strerror or e}; choose a shorter or other path") from e


def _check_parents(path: Path, what: str) -> None:
    """The nearest existing ancestor of `path` must be a directory."""
    for parent in path.parents:
        if parent.is_dir():
            return
        if parent.exists():
            raise OutputPathError(f"{what} {path} lies under the file {parent}; expected a path inside a directory, "
                                  f"e.g. {parent.parent / path.name}")


def _refuse_dataset_file(path: Path, what: str, example: str) -> None:
    """`path` (links followed) must not be a top-level file of a dataset folder, nor lie in one of its
    table folders: writing there would destroy the dataset (a report over its manifest, say)."""
    target = path.resolve()
    dataset = _enclosing_dataset(target)
    if dataset is None:
        return
    rel = target.relative_to(dataset)
    name = rel.as_posix()
    elsewhere = dataset.parent / f"{dataset.name}-{example}"
    if name in DATASET_FILES:
        raise OutputPathError(f"{what} {path} is the {DATASET_FILES[name]} of the dataset {dataset}; writing there would "
                              f"destroy it; expected a path that is not one of the dataset's files, e.g. {elsewhere}")
    if rel.parts[0] in DATASET_FOLDERS and len(rel.parts) > 1:
        raise OutputPathError(f"{what} {path} lies in the {DATASET_FOLDERS[rel.parts[0]]} folder {rel.parts[0]}/ of the "
                              f"dataset {dataset}, whose files mmdata reads as its tables; expected a path outside it, "
                              f"e.g. {elsewhere}")


def _enclosing_dataset(target: Path) -> Path | None:
    """The nearest folder above `target` (an absolute path) that holds a manifest, if any."""
    for folder in target.parents:
        if (folder / MANIFEST_NAME).is_file():
            return folder
    return None


def _replaceable(path: Path, earlier: Callable[[bytes, Path], bool]) -> bool:
    """An empty file, or one `earlier` recognises from its first bytes (and its path)."""
    if not path.is_file():
        return False  # a device, a socket: nothing a report replaces
    with open(path, "rb") as f:
        head = f.read(_REPORT_HEAD_BYTES)
    return not head or earlier(head, path)


def _is_html_report(head: bytes, path: Path) -> bool:
    """A page an earlier `mmdata report` wrote: its marker near the start."""
    return REPORT_MARKER in head or _OLDER_REPORT_MARKER in head


def _is_check_report(head: bytes, path: Path) -> bool:
    """A JSON check report: `dataset_dir` near the start (its first key), and its keys."""
    return is_json_object_with(head, path, CHECK_REPORT_KEYS)


def is_json_object_with(head: bytes, path: Path, keys: tuple[str, ...]) -> bool:
    """Whether the file `path`, whose first bytes are `head`, is a JSON object holding `keys`, the first
    of which a writer puts first (so it shows in `head`): the whole file is read only once its start
    looks like one, so that a large data file is not parsed."""
    if not head.lstrip().startswith(b"{") or f'"{keys[0]}"'.encode() not in head:
        return False
    try:
        document = json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(document, dict) and all(key in document for key in keys)
