"""`mmdata segment DATASET_DIR OUTPUT_DIR --labels LABELS.csd`: whole videos -> label segments (SDK `align(labels)`)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mmdata.alignment.segment import SegmentReport, segment_dataset
from mmdata.cli.app import command, table_names
from mmdata.cli.paths import output_dir as check_output_dir

SHOWN_PROBLEMS = 5


@command("segment")
def segment_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset of whole videos (e.g. `extract csd -o labels=none`, then `align`).")],
    output_dir: Annotated[Path, typer.Argument(help="Dataset directory to create, one sample per label segment.")],
    labels: Annotated[Path, typer.Option("--labels", "-l", help="Label .csd: one row per segment (keys vid or vid[i]).")],
    table: Annotated[Optional[list[str]], typer.Option("--table", "--tables", "-t", help="Table to cut (repeat or comma list); default: every temporal table.")] = None,
    folds: Annotated[Optional[Path], typer.Option(help="Folds file (JSON or the SDK's *_std_folds.py); default: the videos' splits.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing OUTPUT_DIR written by an earlier `mmdata segment`.")] = False,
) -> None:
    """Cut whole-video sequences into the label segments, clipping rows with the SDK's rules."""
    chosen = table_names(table)
    check_output_dir(output_dir, "OUTPUT_DIR")
    report = segment_dataset(dataset_dir, output_dir, labels, tables=chosen, folds=folds, force=force)
    typer.echo(f"samples: {report.samples} segments of {report.videos} videos -> {report.output_dir}")
    for t in report.tables:
        typer.echo(f"table {t.name}: {t.rows} rows, {t.errors} failed{_failure_causes(report, t.name)} -> {t.path}")
    for name, why in report.skipped.items():
        typer.echo(f"table {name}: skipped ({why})")
    if report.problems:
        typer.echo(f"{len(report.problems)} problems (errors table 'loader'):")
        for p in report.problems[:SHOWN_PROBLEMS]:
            typer.echo(f"  {p.sample_id}: {p.reason}")


def _failure_causes(report: SegmentReport, table: str) -> str:
    """' (2 past the end of their video, 1 with no row; reasons in the errors table)', or '' when none (a third
    cause: segments of a video whose rows have NaN or reversed times)."""
    counts = ((report.overrun.get(table, 0), "past the end of their video"),
              (report.empty.get(table, 0), "with no row"),
              (report.bad_times.get(table, 0), "whose video's rows have NaN or reversed times"))
    shown = [f"{count} {what}" for count, what in counts if count]
    return f" ({', '.join(shown)}; reasons in the errors table)" if shown else ""
