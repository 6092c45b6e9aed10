"""The dataset manifest (`mmdata.json`): which tables exist and how each was made.

Written atomically (temporary file + rename), so a reader never sees a half-written manifest.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmdata.errors import DatasetError
from mmdata.store.layout import LAYOUT_VERSION, MANIFEST_NAME


@dataclass
class TableEntry:
    """One feature table of a dataset, as recorded in the manifest."""

    name: str
    path: str  # relative to the dataset directory
    modality: str
    extractor: str
    config: dict[str, Any]
    spec: dict[str, Any]
    versions: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    errors: int = 0
    complete: bool = False
    source: str | None = None  # e.g. the .csd file or the reference table it was aligned to
    format: str = "parquet"  # shard files: "arrow" (IPC) or "parquet" (manifests before formats: parquet)


@dataclass
class Manifest:
    """Everything a dataset directory holds, in one JSON file."""

    corpus: dict[str, Any]
    samples: dict[str, Any]
    tables: dict[str, TableEntry] = field(default_factory=dict)
    layout_version: int = LAYOUT_VERSION
    mmdata_version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tables"] = {name: asdict(entry) for name, entry in sorted(self.tables.items())}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        tables = {name: TableEntry(**entry) for name, entry in data.get("tables", {}).items()}
        return cls(
            corpus=data["corpus"],
            samples=data["samples"],
            tables=tables,
            layout_version=data.get("layout_version", 0),
            mmdata_version=data.get("mmdata_version", ""),
            extra=data.get("extra", {}),
        )


def manifest_path(dataset_dir: Path) -> Path:
    return Path(dataset_dir) / MANIFEST_NAME


def read_manifest(dataset_dir: str | Path) -> Manifest:
    """Read and validate a dataset's manifest.

    Raises:
        DatasetError: no manifest, unreadable JSON, or a layout version this mmdata does not know.
    """
    path = manifest_path(Path(dataset_dir))
    if not path.is_file():
        raise DatasetError(
            f"{dataset_dir} is not an mmdata dataset: no {MANIFEST_NAME} found; "
            "create one with `mmdata extract KIND CORPUS_ROOT OUTPUT_DIR`"
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}:{e.lineno}: manifest is not valid JSON ({e.msg})") from e
    version = data.get("layout_version")
    if version != LAYOUT_VERSION:
        raise DatasetError(
            f"{path}: dataset layout version {version!r}, this mmdata reads version {LAYOUT_VERSION}; "
            "re-create the dataset with `mmdata extract` (or use the mmdata release that wrote it)"
        )
    try:
        return Manifest.from_json(data)
    except (KeyError, TypeError) as e:
        raise DatasetError(f"{path}: manifest is missing or has a malformed field ({e})") from e


def write_manifest(dataset_dir: str | Path, manifest: Manifest) -> None:
    """Write the manifest atomically."""
    from mmdata import __version__

    manifest.mmdata_version = __version__
    write_text_atomic(manifest_path(Path(dataset_dir)), json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
