"""`mmdata check DIR [--json PATH|-]`: prove a dataset's tables agree before training on it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from mmdata.checks import CheckOptions, check_dataset
from mmdata.checks.report import render_report, write_report_json
from mmdata.checks.samples import parse_label_range
from mmdata.cli.app import FOUND_ERRORS_EXIT_CODE, command, table_names
from mmdata.cli.console import cli_console, verdict_kept_if_stdout_closes
from mmdata.cli.json_output import JSON_METAVAR, to_stdout
from mmdata.cli.paths import check_report_file

#: Exit status when the check ran and found error-severity issues (2 means it could not run).
ISSUES_EXIT_CODE = FOUND_ERRORS_EXIT_CODE


@command("check")
def check_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset directory written by `mmdata extract`.")],
    json_path: Annotated[Optional[Path], typer.Option(
        "--json", metavar=JSON_METAVAR, help="Also write the report as JSON to this file (a new one, or a check report "
                                             "written earlier; no other file is replaced); - (or a bare --json) writes "
                                             "it to stdout (and the table to stderr).")] = None,
    table: Annotated[Optional[list[str]], typer.Option(
        "--table", "--tables", "-t", help="Check only this table (repeat or comma list); default: every table.")] = None,
    label_range: Annotated[Optional[str], typer.Option(help="Label range LOW,HIGH (default: from the corpus kind).")] = None,
    min_coverage: Annotated[float, typer.Option(min=0.0, max=1.0, help="Warn below this segment coverage.")] = 0.5,
) -> None:
    """Check ids, dims, values, intervals, text, labels, splits and provenance; exit 1 on any error.

    Exit status: 0 no error-severity issue, 1 some (listed), 2 the check could not run: no dataset there, a bad
    option or output path, or a manifest, samples or errors table that cannot be read (the one-line error names it).
    """
    json_to_stdout = to_stdout(json_path)
    if json_path is not None and not json_to_stdout:
        check_report_file(json_path, "--json", "check.json")  # before the check runs, and never exit 1 for it
    options = CheckOptions(label_range=parse_label_range(label_range) if label_range else None, min_coverage=min_coverage)
    chosen = table_names(table)
    report = check_dataset(dataset_dir, options, tables=chosen)
    if json_path is not None and not json_to_stdout:
        write_report_json(report, json_path)
    with verdict_kept_if_stdout_closes():
        render_report(report, cli_console(stderr=json_to_stdout))
        if json_to_stdout:
            typer.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    if not report.ok:
        raise typer.Exit(ISSUES_EXIT_CODE)
