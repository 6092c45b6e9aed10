"""`mmdata info DIR [--json]`: tables, rows, dims and provenance of a dataset."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mmdata.cli.app import command
from mmdata.info import describe_dataset
from mmdata.store.metadata import shown_dim


@command("info")
def info_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset directory written by `mmdata extract`.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Show the samples table and every feature table with rows, dims and provenance."""
    # Paths, table names and configs are printed as text, never read as rich markup: `out [i]/ds` stays whole.
    info = describe_dataset(dataset_dir)
    if as_json:
        typer.echo(json.dumps(info, indent=2, sort_keys=True))
        return
    console = Console()
    corpus = info["corpus"]
    console.print(Text.assemble((str(info["dataset"]), "bold"), f"  corpus {corpus['kind']} at {corpus['root']}"
                                + (f" (split {corpus['split']})" if corpus.get("split") else "")))
    splits = ", ".join(f"{k}: {v}" for k, v in sorted(info["samples"]["splits"].items()))
    console.print(f"samples: {info['samples']['rows']} rows ({splits})", markup=False)
    if info["samples"]["aux_labels"]:
        console.print("labels besides label (fuse --labels): " + ", ".join(info["samples"]["aux_labels"]),
                      markup=False, soft_wrap=True)
    table = Table("table", "modality", "extractor", "rows", "dim", "dtype", "kind", "failed", "files")
    table.columns[0].overflow = table.columns[2].overflow = "fold"
    for t in info["tables"]:
        kind = t["kind"] + (f" @{t['frame_rate']:g} Hz" if t.get("frame_rate") else "")
        table.add_row(*map(Text, (t["name"] + ("" if t["complete"] else " (incomplete)"), t["modality"], t["extractor"],
                                  str(t["rows"]), shown_dim(t["dim"]), t["dtype"], kind, str(t["errors"]), t["format"])))
    console.print(table)
    for t in info["tables"]:
        console.print(f"{t['name']}: config {json.dumps(t['config'], sort_keys=True)}, "
                      + ", ".join(f"{k} {v}" for k, v in sorted(t["versions"].items())), soft_wrap=True, markup=False)
    if info["errors"]["rows"]:
        console.print(f"errors table: {info['errors']['rows']} rows in {info['errors']['path']}", markup=False)
