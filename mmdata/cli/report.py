"""`mmdata report DIR --out report.html`: a self-contained HTML page about a dataset."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mmdata.cli.app import command
from mmdata.cli.paths import report_file
from mmdata.report import write_report


@command("report")
def report_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset directory written by `mmdata extract` (or `mmdata share`).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write: a new one, or a report written earlier "
                                                          "(no other file is replaced).")] = Path("report.html"),
    corpus_root: Annotated[Optional[Path], typer.Option(help="Where the corpus lies now (for the gallery).")] = None,
    allow_failed_checks: Annotated[bool, typer.Option(help="Report even when `mmdata check` finds errors (the page "
                                                          "lists them; tables that cannot be read are named, not shown).")] = False,
    gallery: Annotated[int, typer.Option(min=0, help="Samples in the gallery.")] = 12,
) -> None:
    """Tables, plots (norms, PCA, coverage, labels), a gallery and the checks' results, in one HTML file."""
    summary = write_report(dataset_dir, report_file(out, "--out", "report.html"), corpus_root=corpus_root,
                           allow_failed_checks=allow_failed_checks, max_gallery=gallery)
    counts = summary.severities
    verdict = "checks passed" if summary.checks_ok else "checks FAILED"
    left_out = (f" ({len(summary.unreadable)} more left out, they cannot be read: {', '.join(sorted(summary.unreadable))})"
                if summary.unreadable else "")
    typer.echo(f"report: {summary.out_path} ({summary.bytes:,} bytes): {summary.tables} tables{left_out}, {summary.figures} plots, "
               f"{summary.gallery} gallery samples, {verdict} ({counts['error']} errors, {counts['warning']} warnings, "
               f"{counts['info']} notes; listed on the page)")
