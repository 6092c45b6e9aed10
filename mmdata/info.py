"""A description of a dataset directory: tables, rows, dims, provenance (what `mmdata info` shows)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mmdata.errors import ShardReadError
from mmdata.store.layout import shard_files
from mmdata.store.reader import open_dataset
from mmdata.store.shards import shard_rows


def describe_dataset(path: str | Path) -> dict[str, Any]:
    """One JSON-able object naming the samples table and every feature table.

    Each table: name, path, format (arrow or parquet shards), modality, extractor, config, rows,
    dim, dtype, kind, frame_rate, errors, complete, versions. An unfinished table's rows are those of
    the shards written so far (its manifest entry counts rows when the table is finished).
    """
    dataset = open_dataset(path)
    manifest = dataset.manifest
    tables = []
    for name in dataset.table_names:
        entry = manifest.tables[name]
        spec = entry.spec
        tables.append({
            "name": name,
            "path": str(dataset.root / entry.path),
            "format": entry.format,
            "modality": entry.modality,
            "extractor": entry.extractor,
            "config": entry.config,
            "rows": entry.rows if entry.complete else _rows_written(dataset.root / entry.path),
            "dim": spec.get("dim"),
            "dtype": spec.get("dtype"),
            "kind": spec.get("kind"),
            "frame_rate": spec.get("frame_rate"),
            "errors": entry.errors,
            "complete": entry.complete,
            "versions": entry.versions,
            "source": entry.source,
        })
    errors = dataset.errors()
    return {
        "dataset": str(dataset.root),
        "layout_version": manifest.layout_version,
        "mmdata_version": manifest.mmdata_version,
        "corpus": manifest.corpus,
        "samples": {
            "path": str(dataset.root / manifest.samples["path"]),
            "rows": manifest.samples["rows"],
            "splits": manifest.samples.get("splits", {}),
            "loader_errors": manifest.samples.get("loader_errors", 0),
            # what `mmdata fuse --labels` can export besides `label` (names the loader recorded)
            "aux_labels": list((manifest.extra.get("loader") or {}).get("label_names") or []),
        },
        "tables": tables,
        # null when no item failed: there is no errors folder to read then
        "errors": {"rows": errors.num_rows,
                   "path": str(dataset.root / "errors") if (dataset.root / "errors").is_dir() else None},
    }


def _rows_written(table_dir: Path) -> int:
    """Rows of the finished shards of an unfinished table, from their footers (an unreadable one counts none)."""
    total = 0
    for path in shard_files(table_dir):
        try:
            total += shard_rows(path)
        except ShardReadError:
            continue
    return total
