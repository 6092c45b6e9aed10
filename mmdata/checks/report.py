"""Rendering a `CheckReport`: a rich table for the terminal and a JSON file for machines."""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mmdata.checks.dataset import CheckReport
from mmdata.store.files import write_text_atomic
from mmdata.store.metadata import shown_dim
from mmdata.store.output_files import check_report_file

_STYLES = {"error": "bold red", "warning": "yellow", "info": "dim"}


def render_report(report: CheckReport, console: Console | None = None) -> None:
    """Print the issues as a table, then per-table statistics and a one-line verdict."""
    console = console or Console()
    if report.issues:
        table = Table(title=Text(f"mmdata check: {report.dataset_dir}"), show_lines=False)
        for column in ("severity", "code", "table", "sample", "count", "message"):
            table.add_column(column, overflow="fold")
        for issue in report.issues:
            # Paths, ids and messages are data, not markup: `out [i]/ds` or `vid[3]` print as they are.
            table.add_row(
                Text(issue.severity, style=_STYLES[issue.severity]), Text(issue.code), Text(issue.table or ""),
                Text(issue.sample_id or ""), str(issue.count), Text(issue.message),
            )
        console.print(table)
    if report.tables:
        stats = Table(title="feature tables")
        for column in ("table", "kind", "dim", "rows", "null", "coverage"):
            stats.add_column(column)
        for name, s in report.tables.items():
            coverage = f"{s['coverage_mean']:.3f} (min {s['coverage_min']:.3f})" if "coverage_mean" in s else ""
            stats.add_row(Text(name), str(s["kind"]), shown_dim(s["dim"]), str(s["rows"]), str(s["null"]), coverage)
        console.print(stats)
    console.print(summary_line(report), markup=False)


def summary_line(report: CheckReport) -> str:
    """`ok: ...` or `FAILED: ...` with counts and throughput."""
    verdict = "ok" if report.ok else "FAILED"
    rate = report.rows_checked / report.seconds if report.seconds > 0 else 0.0
    splits = ", ".join(f"{k}: {v}" for k, v in report.splits.items())
    return (
        f"{verdict}: {len(report.errors)} errors, {len(report.warnings)} warnings; {len(report.tables)} tables, "
        f"splits {{{splits}}}; {report.rows_checked} rows x tables in {report.seconds:.2f} s ({rate:,.0f}/s)"
    )


def write_report_json(report: CheckReport, path: str | Path) -> Path:
    """Write the machine-readable report atomically; returns its path.

    Raises:
        OutputPathError: `path` is a directory, a file of a dataset (its manifest, a shard, any file in its
            samples/, features/ or errors/ folder), or an existing file that is not an earlier JSON check
            report (an earlier one, or an empty file, is replaced); nothing is written.
    """
    path = check_report_file(path, "check report path", "check.json")
    write_text_atomic(path, json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n")
    return path
