"""The dataset manifest (`mmdata.json`): which tables exist and how each was made.

Written atomically (temporary file + rename), so a reader never sees a half-written manifest.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from mmdata.errors import DatasetError
from mmdata.jsonfile import json_kind, read_json_object
from mmdata.store.files import write_text_atomic
from mmdata.store.layout import LAYOUT_VERSION, MANIFEST_NAME, TABLE_FORMATS
from mmdata.store.metadata import FeatureSpec


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

    def corpus_location(self) -> Path | None:
        """Where the corpus was read from, when the manifest records a place: a shared dataset keeps
        only the corpus folder's name, which names no place on this machine (None)."""
        root = self.corpus.get("root")
        return Path(root) if root and Path(root).is_absolute() else None

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


#: What to do about a manifest that was damaged or edited by hand.
DAMAGED_HINT = (f"the file is damaged or was edited: restore {MANIFEST_NAME} from a copy, "
                "or extract the corpus again into a new output directory")


def manifest_path(dataset_dir: Path) -> Path:
    return Path(dataset_dir) / MANIFEST_NAME


def read_manifest(dataset_dir: str | Path) -> Manifest:
    """Read and validate a dataset's manifest.

    Raises:
        DatasetError: no manifest, unreadable JSON, a field of the wrong shape or a value of the wrong
            type (named by its key path, `tables["image.color-hist"].versions`), or a layout version
            this mmdata does not know.
    """
    path = manifest_path(Path(dataset_dir))
    if not path.is_file():
        raise DatasetError(
            f"{dataset_dir} is not an mmdata dataset: no {MANIFEST_NAME} found; "
            "create one with `mmdata extract KIND CORPUS_ROOT OUTPUT_DIR`"
        )
    data = read_json_object(path, "manifest", "an object with corpus, samples and tables", DAMAGED_HINT)
    version = data.get("layout_version")
    if version != LAYOUT_VERSION:
        raise DatasetError(
            f"{path}: dataset layout version {version!r}, this mmdata reads version {LAYOUT_VERSION}; "
            "re-create the dataset with `mmdata extract` (or use the mmdata release that wrote it)"
        )
    _check_fields(path, data)
    try:
        return Manifest.from_json(data)
    except (KeyError, TypeError) as e:
        raise DatasetError(f"{path}: manifest is missing or has a malformed field ({e}); {DAMAGED_HINT}") from e


def _check_fields(path: Path, data: dict[str, Any]) -> None:
    """Each field readers use has the shape `write_manifest` gives it."""
    _expect_object(path, "corpus", data, ("kind", "root"))
    _expect_object(path, "samples", data, ("path", "rows"))
    tables = data.get("tables", {})
    if not isinstance(tables, dict):
        raise DatasetError(f"{path}: manifest field 'tables' is {json_kind(tables)}, expected an object "
                           f"of table name -> entry; {DAMAGED_HINT}")
    required = tuple(f.name for f in fields(TableEntry) if f.default is MISSING and f.default_factory is MISSING)
    for name, entry in tables.items():
        _expect_object(path, name, tables, required, where="table")
        unknown = sorted(set(entry) - {f.name for f in fields(TableEntry)})
        if unknown:
            raise DatasetError(f"{path}: table {name!r} has unknown fields {unknown}; {DAMAGED_HINT}")
        if entry.get("format", "parquet") not in TABLE_FORMATS:
            raise DatasetError(f"{path}: table {name!r} has format {entry['format']!r}, expected one of "
                               f"{sorted(TABLE_FORMATS)}; {DAMAGED_HINT}")
        try:
            FeatureSpec.from_json(entry["spec"])
        except TypeError as e:
            raise DatasetError(f"{path}: table {name!r} has a malformed spec ({e}), expected an object with the "
                               f"fields of a FeatureSpec (dim, dtype, kind, ...); {DAMAGED_HINT}") from e
    _check_types(path, data)


def _check_types(path: Path, data: dict[str, Any]) -> None:
    """Each value readers use has the JSON type `write_manifest` gives it (a hand edit may change it)."""
    corpus, samples = data["corpus"], data["samples"]
    for key in ("kind", "root"):
        _expect_value(path, f"corpus.{key}", corpus[key], _is_text, "a string")
    _expect_value(path, "samples.path", samples["path"], _is_text, "a string (the samples folder)")
    _expect_value(path, "samples.rows", samples["rows"], _is_count, _COUNT)
    if "loader_errors" in samples:
        _expect_value(path, "samples.loader_errors", samples["loader_errors"], _is_count, _COUNT)
    if "splits" in samples:
        _expect_mapping(path, "samples.splits", samples["splits"], _is_count, "an object of split name -> row count",
                        _COUNT)
    for name, entry in data.get("tables", {}).items():
        _check_table_types(path, f"tables[{json.dumps(name)}]", entry)


def _check_table_types(path: Path, where: str, entry: dict[str, Any]) -> None:
    """The values of one table entry (`where` is its key path, `tables["image.color-hist"]`)."""
    for key in ("name", "path", "modality", "extractor"):
        _expect_value(path, f"{where}.{key}", entry[key], _is_text, "a string")
    _expect_value(path, f"{where}.config", entry["config"], lambda v: isinstance(v, dict),
                  "an object (the extractor's options)")
    for key in ("rows", "errors"):
        if key in entry:
            _expect_value(path, f"{where}.{key}", entry[key], _is_count, _COUNT)
    if "complete" in entry:
        _expect_value(path, f"{where}.complete", entry["complete"], lambda v: isinstance(v, bool), "true or false")
    if "source" in entry:
        _expect_value(path, f"{where}.source", entry["source"], lambda v: v is None or _is_text(v), "a string or null")
    if "versions" in entry:
        _expect_mapping(path, f"{where}.versions", entry["versions"], _is_text,
                        "an object of library name -> version string", "a version string")


#: What a count in the manifest is.
_COUNT = "a whole number >= 0"


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _expect_mapping(path: Path, key_path: str, value: Any, valid_item: Callable[[Any], bool], expected: str,
                    expected_item: str) -> None:
    """`value` is a JSON object each of whose values passes `valid_item`."""
    _expect_value(path, key_path, value, lambda v: isinstance(v, dict), expected)
    for key, item in value.items():
        _expect_value(path, f"{key_path}[{json.dumps(key)}]", item, valid_item, expected_item)


def _expect_value(path: Path, key_path: str, value: Any, valid: Callable[[Any], bool], expected: str) -> None:
    """`valid(value)`, else a DatasetError naming the manifest, the key path, what was expected and found."""
    if not valid(value):
        raise DatasetError(f"{path}: {key_path} is {_found(value)}, expected {expected}; {DAMAGED_HINT}")


def _found(value: Any) -> str:
    """'JSON null', 'a JSON array', 'a JSON string "eight"', 'a JSON number -3' for a message."""
    if value is None or isinstance(value, (list, dict)):
        return json_kind(value)
    shown = json.dumps(value)
    return f"{json_kind(value)} {shown if len(shown) <= 40 else shown[:37] + '...'}"


def _expect_object(path: Path, key: str, parent: dict[str, Any], keys: tuple[str, ...], *,
                   where: str = "manifest field") -> None:
    """`parent[key]` is a JSON object holding each of `keys`."""
    if key not in parent or not isinstance(parent[key], dict):
        got = f"is {json_kind(parent[key])}" if key in parent else "is missing"
        raise DatasetError(f"{path}: {where} {key!r} {got}, expected an object with {', '.join(keys)}; {DAMAGED_HINT}")
    missing = [k for k in keys if k not in parent[key]]
    if missing:
        raise DatasetError(f"{path}: {where} {key!r} has no {', '.join(map(repr, missing))}; {DAMAGED_HINT}")


def write_manifest(dataset_dir: str | Path, manifest: Manifest) -> None:
    """Write the manifest atomically."""
    from mmdata import __version__

    manifest.mmdata_version = __version__
    write_text_atomic(manifest_path(Path(dataset_dir)), json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n")


def records_extra(dataset_dir: str | Path, key: str) -> bool:
    """Whether the manifest in `dataset_dir` holds `extra[key]`, the record only the command writing such a dataset
    leaves (`segment`, `merge`): what `--force` may replace. False for no manifest or an unreadable one."""
    try:
        extra = json.loads(manifest_path(Path(dataset_dir)).read_text(encoding="utf-8")).get("extra")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(extra, dict) and key in extra
