"""What a fused export records of its `targets` column (`fuse --targets TABLE`): fused.json's `targets`.

    {"table": "audio.event-targets", "dim": 456, "kind": "sequence", "frame_rate": 10.0,
     "pool": "max" (pooled rows; null for kept sequences), "classes": [...456 names] or null,
     "classes_file": {"path": ..., "count": 456, "sha256": ...} or null,
     "present_flag": 2 (with missing='zero': the targets' flag in `present`, after the features'; else null)}

The class names are the columns' names when the targets table records the classes file it was made from
(`event-targets` does; an `align` output of it, its source's) and that file still holds those names (its sha256
matches); otherwise null, and `classes_file` says where they were.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pyarrow as pa

from mmdata.errors import ConfigError
from mmdata.fusion.classes import names_fingerprint, read_classes_file
from mmdata.fusion.plan import FusePlan, TablePlan
from mmdata.store.metadata import read_table_metadata

log = logging.getLogger(__name__)


def targets_metadata(plan: FusePlan, present_flag: bool = False) -> dict[str, Any] | None:
    """fused.json's `targets` record, or None when the export has no targets column. present_flag: the export
    has a `present` column (missing='zero'), where the targets' flag follows the feature tables'."""
    table = plan.target_table
    if table is None:
        return None
    record = table.classes_record or _source_classes_record(plan, table)
    return {
        "table": table.name,
        "dim": table.dim,
        "kind": table.spec.kind,
        "frame_rate": table.spec.frame_rate,
        "pool": "max" if table.spec.kind == "sequence" and not plan.keeps_sequences else None,
        "classes": target_class_names(table, record),
        "classes_file": record,
        "present_flag": len(plan.feature_tables) if present_flag else None,
    }


def _source_classes_record(plan: FusePlan, table: TablePlan) -> dict | None:
    """The classes record of the table an `align` output was made from (`X@REF` keeps X's columns), or None."""
    source = table.entry.config.get("table") if table.entry.extractor == "align" else None
    if not isinstance(source, str) or source not in plan.dataset.manifest.tables:
        return None
    try:
        record = read_table_metadata(plan.dataset.table_dir(source)).get("classes")
    except (OSError, ValueError, pa.ArrowException):
        return None  # the source's shards are unreadable: the export names no columns, as without a record
    return record if isinstance(record, dict) else None


def target_class_names(table: TablePlan, record: dict | None) -> list[str] | None:
    """The targets' column names from the classes file `record` names (the table's, or its source's when the
    table is an `align` output), when it still holds them; else None."""
    if not isinstance(record, dict) or not isinstance(record.get("path"), str):
        return None
    path = Path(record["path"])
    try:
        names = read_classes_file(path)
    except ConfigError as e:
        log.warning("targets %r: the classes file it was made from cannot be read (%s); the export names no target "
                    "columns (fused.json targets.classes is null)", table.name, e)
        return None
    if names_fingerprint(names) != record.get("sha256") or len(names) != table.dim:
        log.warning("targets %r: the classes file %s no longer holds the names the table was made with (sha256 "
                    "differs); the export names no target columns (fused.json targets.classes is null)", table.name, path)
        return None
    return names
