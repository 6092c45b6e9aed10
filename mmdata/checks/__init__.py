"""Alignment and consistency checks of a dataset: pure functions returning `Issue`s.

    from mmdata.checks import check_dataset
    report = check_dataset("out/mosi")      # CheckReport: .ok, .issues, .to_json()

Modules: `issues` (the Issue record and its codes), `tables` (ids, types, provenance, NaN/Inf,
nulls), `temporal` (intervals, coverage, frame counts), `samples` (text, labels), `splits`
(leakage, counts), `dataset` (the streaming runner), `scan_context` (what every table's scan needs
from the samples table, read once), `table_scan` (one feature table scanned shard by shard, then
checked whole), `report` (rich and JSON output).
"""
from mmdata.checks.dataset import CheckOptions, CheckReport, check_dataset
from mmdata.checks.issues import CODES, Issue, Severity

__all__ = ["CODES", "CheckOptions", "CheckReport", "Issue", "Severity", "check_dataset"]
