"""The checks' verdict on a dataset, as sharing and the report use it.

`run_checks` runs `mmdata.checks.check_dataset` (what `mmdata check` runs); `require_passing`
refuses to go on when any check fails, listing the failing ones, unless the caller allows it.
"""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from mmdata.errors import ChecksFailedError  # defined with the other errors; still importable from here
from mmdata.store.reader import Dataset

if TYPE_CHECKING:
    from mmdata.checks import CheckReport


def run_checks(dataset: Dataset) -> CheckReport:
    """Run every dataset check over a dataset."""
    from mmdata.checks import check_dataset

    return check_dataset(dataset.root)


def require_passing(report: CheckReport, *, allow_failed_checks: bool, action: str) -> None:
    """Raise `ChecksFailedError` listing the failing checks, unless `allow_failed_checks`.

    `action` names what is refused ('share', 'report') in the message.
    """
    if report.ok or allow_failed_checks:
        return
    lines = "\n".join(f"  {issue.one_line()}" for issue in report.errors)
    raise ChecksFailedError(
        f"refusing to {action} {report.dataset_dir}: {len(report.errors)} checks fail:\n{lines}\n"
        f"fix the dataset (details: `mmdata check {report.dataset_dir}`) or pass --allow-failed-checks "
        f"to {action} it anyway"
    )


def severity_counts(report: CheckReport) -> dict[str, int]:
    """Number of issues per severity (error, warning, info), all three keys present."""
    counter = Counter(i.severity for i in report.issues)
    return {severity: counter.get(severity, 0) for severity in ("error", "warning", "info")}


def checks_summary(report: CheckReport) -> dict[str, Any]:
    """A small JSON-able summary (verdict, counts, codes) to record in a shared dataset's manifest."""
    return {
        "ok": report.ok,
        "counts": severity_counts(report),
        "codes": sorted({i.code for i in report.issues}),
    }
