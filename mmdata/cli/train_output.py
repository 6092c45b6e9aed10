"""Where `train sentiment|retrieval|classify` put their metrics JSON, and what they print around it.

`--json PATH|-` names it, as every command's JSON (`mmdata.cli.json_output`); `--out/-o PATH` is its earlier
spelling, kept working. With `-` the JSON alone goes to stdout and the table to stderr, so that
`mmdata train sentiment EXPORT --json - | jq .results` reads it.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from mmdata.cli.json_output import to_stdout
from mmdata.cli.parsing import STDOUT
from mmdata.errors import ConfigError


def metrics_destination(json_path: Path | None, out: Path | None, default: Path) -> Path | str:
    """The metrics file (checked before any training), `-` for stdout, or `default` when neither option is given.

    Raises:
        ConfigError: both `--json` and its alias `--out/-o` are given.
        OutputPathError: the file may not be written (a directory, a dataset's own file, another file).
    """
    from mmdata.models.report import metrics_file

    if json_path is not None and out is not None:
        raise ConfigError(f"--json {json_path} and --out {out} both name the metrics JSON (--out/-o is the earlier "
                          "spelling of --json); give one of them")
    chosen, option = (json_path, "--json") if json_path is not None else (out, "--out")
    if chosen is None:
        return default
    if to_stdout(chosen):
        return STDOUT
    return metrics_file(chosen, option, default.name)


def run_with_metrics(run: Callable[[Path | None], Any], destination: Path | str) -> Any:
    """Run a recipe (`run(metrics_path)`) and print its report: the table and the metrics path, or, for `-`,
    the table on stderr and the metrics JSON on stdout. Returns the report."""
    if destination != STDOUT:
        report = run(Path(destination))
        typer.echo(report.text())
        typer.echo(f"metrics: {destination}")
        return report
    report = run(None)
    typer.echo(report.text(), err=True)
    typer.echo(_metrics_json_text(report), nl=False)
    return report


def _metrics_json_text(report: Any) -> str:
    """The metrics JSON exactly as a file would hold it (NaN as null), through the recipes' own writer."""
    from mmdata.models.report import write_metrics_json

    with tempfile.TemporaryDirectory(prefix="mmdata-metrics-") as tmp:
        return write_metrics_json(Path(tmp) / "metrics.json", report.to_json()).read_text(encoding="utf-8")
