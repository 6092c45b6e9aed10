"""What a fused export records of its `targets` column (`fuse --targets TABLE`): fused.json's `targets`.

    {"table": "audio.event-targets", "dim": 456, "kind": "sequence", "frame_rate": 10.0,
     "pool": "max" (pooled rows; null for kept sequences), "classes": [...456 names] or null,
     "classes_file": {"path": ..., "count": 456, "sha256": ...} or null,
     "present_flag": 2 (with missing='zero': the targets' flag in `present`, after the features'; else null)}

The class names are the columns' names when the targets table records the classes file it was made from
(`event-targets` does) and that file still holds those names (its sha256 matches); otherwise null, and
`classes_file` says where they were.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mmdata.errors import ConfigError
from mmdata.fusion.classes import names_fingerprint, read_classes_file
from mmdata.fusion.plan import FusePlan, TablePlan

log = logging.getLogger(__name__)


def targets_metadata(plan: FusePlan, present_flag: bool = False) -> dict[str, Any] | None:
    """fused.json's `targets` record, or None when the export has no targets column. present_flag: the export
    has a `present` column (missing='zero'), where the targets' flag follows the feature tables'."""
    table = plan.target_table
    if table is None:
        return None
    return {
        "table": table.name,
        "dim": table.dim,
        "kind": table.spec.kind,
        "frame_rate": table.spec.frame_rate,
        "pool": "max" if table.spec.kind == "sequence" and not plan.keeps_sequences else None,
        "classes": target_class_names(table),
        "classes_file": table.classes_record,
        "present_flag": len(plan.feature_tables) if present_flag else None,
    }


def target_class_names(table: TablePlan) -> list[str] | None:
    """The targets' column names from the classes file the table records, when it still holds them; else None."""
    record = table.classes_record
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
