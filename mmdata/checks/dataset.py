"""`check_dataset`: run every check over a dataset directory, streaming shard by shard.

    report = check_dataset("out/mosi")
    if not report.ok: ...            # any error-severity issue

Memory stays bounded: the samples table's small columns (ids, splits, spans, labels) are read
whole, feature tables are scanned in record batches, and only per-table counters and the first
few offending sample ids are kept.

This module holds `check_dataset`, its options and its report, and the checks of the samples table;
the rest lives in:
    mmdata.checks.scan_context   `_Context`: what every table's scan needs, read once from the samples table
    mmdata.checks.table_scan     one feature table scanned batch by batch and checked
The names moved there stay importable from here.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks import manifest as manifest_checks
from mmdata.checks import samples as sample_checks
from mmdata.checks import tables as table_checks
from mmdata.checks.aligned import check_aligned_in_step
from mmdata.checks.issues import Issue, IssueCollector
from mmdata.checks.scan_context import (  # noqa: F401 - also re-exported from here
    _SAMPLE_COLUMNS, _SPAN_COLUMNS, _TEXT_COLUMNS, _captions_expected, _Context,
)
from mmdata.checks.splits import check_split_counts, check_split_leaks, count_splits
from mmdata.checks.table_scan import (  # noqa: F401 - also re-exported from here
    RELEASE_EVERY, _check_rows, _check_sequence, _check_table, _pooled_values, _ragged_values, _scan, check_tables,
)
from mmdata.checks.update_state import check_update_finished
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.entry_arguments import checked_check_options
from mmdata.options import dataset_path, optional_name_list, short_repr
from mmdata.store.layout import LOADER_ERRORS_TABLE
from mmdata.store.metadata import FeatureSpec
from mmdata.store.reader import Dataset, open_dataset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckOptions:
    """Tolerances and ranges of `check_dataset`.

    label_range: (low, high) of `label`; None takes it from the corpus kind (MOSI [-3, 3], ...).
    interval_tolerance: seconds an interval may stick out of its segment or media duration.
    frame_tolerance: allowed relative difference of frame count vs duration x frame rate.
    min_coverage: a temporal table covering less of a segment than this is a warning.
    """

    label_range: tuple[float, float] | None = None
    interval_tolerance: float = 0.05
    frame_tolerance: float = 0.1
    min_coverage: float = 0.5
    max_examples: int = 5


@dataclass(repr=False)
class CheckReport:
    """Issues found in a dataset plus a few statistics; `ok` when no issue is an error."""

    dataset_dir: Path
    issues: list[Issue]
    splits: dict[str, int] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows_checked: int = 0
    seconds: float = 0.0

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def codes(self) -> set[str]:
        return {i.code for i in self.issues}

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset_dir": str(self.dataset_dir),
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "issues": [i.to_json() for i in self.issues],
            "splits": self.splits,
            "tables": self.tables,
            "rows_checked": self.rows_checked,
            "seconds": round(self.seconds, 4),
        }

    #: Issues a repr lists one line each; the rest are counted.
    REPR_ISSUES = 20

    def __repr__(self) -> str:
        from mmdata.checks.report import summary_line

        lines = [f"dataset_dir={str(self.dataset_dir)!r}", summary_line(self)]
        lines += [f"{issue.severity}: {issue.one_line()}" for issue in self.issues[:self.REPR_ISSUES]]
        if len(self.issues) > self.REPR_ISSUES:
            lines.append(f"... {len(self.issues) - self.REPR_ISSUES} more issues (report.issues)")
        return short_repr(type(self).__name__, lines)


def check_dataset(
    dataset_dir: str | Path | Dataset, options: CheckOptions | None = None, *,
    tables: Sequence[str] | str | None = None,
) -> CheckReport:
    """Check that a dataset's tables agree with its samples table and with what its manifest declares.

    Args:
        dataset_dir: the dataset directory, or a `Dataset` (`open_dataset`).
        options: tolerances and ranges (`CheckOptions`); None: the defaults.
        tables: feature tables to check, as a list or a comma-separated string (default: every table
            in the manifest).

    Returns:
        A `CheckReport`: `ok` (no error-severity issue), `issues`, `errors`, `warnings`, `to_json()`.

    Raises:
        ConfigError: `options` is not a CheckOptions or holds a value it does not take (a negative
            tolerance, a label range that is not two numbers low <= high), or `tables` are not names.
        CorpusNotFoundError, DatasetError: not a dataset directory.
        UnknownNameError: a table in `tables` is not in the manifest.

    Example:
        >>> report = check_dataset("out/coco")
        >>> report.ok, [i.code for i in report.errors]
    """
    started = time.perf_counter()
    options = checked_check_options(options)
    tables = optional_name_list(tables, argument="tables")
    dataset = open_dataset(dataset_path(dataset_dir))
    names = list(dict.fromkeys(tables)) if tables is not None else dataset.table_names
    for name in names:
        dataset.entry(name)  # unknown names fail before any work
    specs = [FeatureSpec.from_json(dataset.entry(n).spec) for n in names]
    context = _Context.build(dataset, options, needs_spans=any(s.kind == "sequence" for s in specs),
                             needs_text_counts=any(s.item_axis == "caption" for s in specs))
    collector = IssueCollector(options.max_examples)
    collector.extend(_check_samples(dataset, context, options))
    report = CheckReport(dataset_dir=dataset.root, issues=[], splits=count_splits(context.samples.column("split")))
    context.samples = pa.table({"sample_id": context.sample_ids})  # the table scans need ids (and spans) only
    for name, (stats, issues) in zip(names, check_tables(context, names)):
        collector.extend(issues)
        report.tables[name] = stats
        report.rows_checked += stats["rows"]
    collector.extend(check_aligned_in_step(dataset, names, max_examples=options.max_examples))
    report.issues = collector.issues()
    report.seconds = time.perf_counter() - started
    log.info("checked %s: %d rows x tables in %.2f s", dataset.root, report.rows_checked, report.seconds)
    return report


def _check_samples(dataset: Dataset, context: _Context, options: CheckOptions) -> list[Issue]:
    samples = context.samples
    loader = context.failed.filter(pc.equal(context.failed.column("table"), LOADER_ERRORS_TABLE))
    failed_ids = loader.column("sample_id")
    repeated = pc.fill_null(pc.equal(loader.column("error_type"), REPEATED_ENTRY), False).to_pylist()
    # Without loader errors (the usual case) no hash set of every sample id is built.
    kept = pc.fill_null(pc.is_in(failed_ids, value_set=context.sample_ids), False).to_pylist() if len(failed_ids) else []
    issues = manifest_checks.check_loaded(len(context.sample_ids), failed_ids.to_pylist(), kept=kept,
                                          repeated=repeated, max_examples=options.max_examples)
    unfinished = check_update_finished(dataset, len(context.sample_ids))
    issues += unfinished  # then the manifest's counts describe the samples before the update: not compared
    if not unfinished:
        issues += manifest_checks.check_samples_entry(dataset.manifest.samples, len(context.sample_ids),
                                                      count_splits(samples.column("split")), len(failed_ids))
    issues += table_checks.check_unique_ids(None, context.sample_ids, max_examples=options.max_examples)
    issues += check_split_counts(samples.column("split"))
    issues += check_split_leaks(samples, max_examples=options.max_examples)
    issues += context.text_issues
    label_range = options.label_range or sample_checks.label_range_for(dataset.manifest.corpus,
                                                                         dataset.manifest.extra.get("loader"))
    issues += sample_checks.check_labels(samples, label_range, max_examples=options.max_examples)
    return issues
