"""`mmdata align DATASET_DIR --reference TABLE`: temporal tables -> `<table>@<reference>`, SDK semantics."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from mmdata.alignment.dataset import absent_note, align_dataset
from mmdata.cli.app import command, table_names


@command("align")
def align_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset directory written by `mmdata extract`.")],
    reference: Annotated[str, typer.Option("--reference", "-r", help="Temporal table whose intervals the others are aligned to (e.g. text.words; not an output of align).")],
    table: Annotated[Optional[list[str]], typer.Option("--table", "--tables", "-t", help="Table to align (repeat or comma list; not an output of align); default: every temporal table.")] = None,
    collapse: Annotated[Literal["mean", "max", "first", "last"], typer.Option(help="How the rows inside a reference interval become one vector.")] = "mean",
    on_missing: Annotated[Literal["drop", "impute", "error"], typer.Option(help="A reference interval a table does not overlap: drop it everywhere, zero-fill it, or stop.")] = "drop",
    skip_pauses: Annotated[bool, typer.Option("--skip-pauses", help="Leave out reference words that are pauses (sp).")] = False,
    on_error: Annotated[Literal["skip", "fail"], typer.Option(help="A sample without input features: record it and go on, or stop.")] = "skip",
    on_absent: Annotated[Literal["drop", "keep"], typer.Option(help="A sample one table lacks: null in every output, or in that table's alone (the others aligned without it).")] = "drop",
    force: Annotated[bool, typer.Option("--force", help="Redo outputs aligned earlier with other settings.")] = False,
) -> None:
    """Align temporal tables to a reference table's intervals and write them into the dataset."""
    chosen = table_names(table)
    report = align_dataset(dataset_dir, reference, tables=chosen, collapse=collapse, on_missing=on_missing,
                           skip_pauses=skip_pauses, on_error=on_error, on_absent=on_absent, force=force)
    if report.up_to_date:
        typer.echo(f"reference {reference}: the aligned tables {', '.join(t.name for t in report.tables)} are already "
                   f"there (every shard written by an earlier run); nothing recomputed")
    else:
        resumed = (f" in the {report.shards_aligned} shards aligned now ({report.shards_done} already done)"
                   if report.shards_done else "")
        typer.echo(f"reference {reference}: {report.intervals} intervals{resumed}, {report.kept} aligned, {report.dropped} "
                   f"dropped (no overlap), {report.skipped} skipped (zero-length or pause)")
    if report.empty_samples:
        typer.echo(f"{len(report.empty_samples)} samples aligned to no interval (no reference row, or every one dropped "
                   f"or skipped), e.g. {report.empty_samples[0]!r}: empty sequences in every output")
    for t in report.tables:
        imputed = report.imputed.get(t.name.removesuffix(f"@{reference}"), 0)
        absent = report.absent.get(t.name.removesuffix(f"@{reference}"), 0)
        typer.echo(f"table {t.name}: {t.rows} rows, {t.errors} failed" + (f", {imputed} intervals imputed" if imputed else "")
                   + absent_note(absent)
                   + f" ({t.shards_written} shards written, {t.shards_skipped} already done) -> {t.path}")
