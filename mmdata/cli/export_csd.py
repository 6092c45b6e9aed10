"""`mmdata export-csd DATASET_DIR CSD_DIR`: temporal tables -> .csd files the CMU-MultimodalSDK reads."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from mmdata.cli.app import command, table_names
from mmdata.cli.paths import output_dir as checked_dir
from mmdata.formats.csd_export import export_csd


@command("export-csd")
def export_csd_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset directory written by `mmdata extract`.")],
    csd_dir: Annotated[Path, typer.Argument(help="Folder to write the .csd files into.")],
    table: Annotated[Optional[list[str]], typer.Option(
        "--table", "--tables", "-t", help="Table to write (repeat or comma list); default: every temporal table.")] = None,
    labels: Annotated[bool, typer.Option("--labels/--no-labels", help="Also write the segment labels as a .csd.")] = True,
    keys: Annotated[Literal["sample", "sdk"], typer.Option(help=(
        "Keys to write: sample ids, or the SDK's keys (e.g. Xy9[0] for the raw clip Xy9_1) from extra.sdk_key, "
        "with rows moved onto the full video's time line."))] = "sample",
    force: Annotated[bool, typer.Option("--force", help="Write into a CSD_DIR that already holds .csd files (or "
                                                        "a folds file), replacing those of the same names and "
                                                        "removing the other files an earlier export-csd wrote "
                                                        "there.")] = False,
) -> None:
    """Write temporal tables (and segment labels) as SDK computational sequences, and the splits as its fold lists."""
    chosen = table_names(table)
    checked_dir(csd_dir, "CSD_DIR")
    written = export_csd(dataset_dir, csd_dir, tables=chosen, labels=labels, keys=keys, force=force)
    for path in [*written, *([written.folds] if written.folds else [])]:
        typer.echo(f"wrote {path}")
    for path in written.removed:
        typer.echo(f"removed {path} (an earlier export-csd wrote it)")
    for warning in written.warnings:
        typer.echo(f"warning: {warning}")
