"""`mmdata info DIR [--json [PATH|-]]`: tables, rows, dims and provenance of a dataset.

Exit status 0; 2 when DIR is no dataset, and when a table's files are gone, cannot be read or hold
other rows than the manifest counts (each an `error:` line on stderr, as every command's errors; the
description is printed all the same).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from mmdata.cli.app import ERROR_EXIT_CODE, command
from mmdata.cli.console import cli_console
from mmdata.cli.json_output import JSON_METAVAR, info_json_file, info_json_text, to_stdout, write_info_json
from mmdata.info import describe_dataset
from mmdata.store.layout import MANIFEST_NAME
from mmdata.store.metadata import shown_dim, shown_kind


@command("info")
def info_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset directory written by `mmdata extract`.")],
    json_path: Annotated[Optional[Path], typer.Option(
        "--json", metavar=JSON_METAVAR, help="The description as one JSON object: also written to this file (a new one, "
                                             "or an info JSON written earlier); with - (or a bare --json) on stdout "
                                             "instead of the text.")] = None,
) -> None:
    """Show the samples table and every feature table with rows, dims and provenance."""
    # Paths, table names and configs are printed as text, never read as rich markup: `out [i]/ds` stays whole.
    json_file = info_json_file(json_path) if json_path is not None and not to_stdout(json_path) else None
    info = describe_dataset(dataset_dir)
    if json_file is not None:  # first: a reader of the text that leaves early (`| head`) does not stop it
        write_info_json(info, json_file)
    if to_stdout(json_path):
        typer.echo(info_json_text(info), nl=False)
    else:
        _print_info(info)
    for problem in info["problems"]:
        typer.echo(f"error: {problem}", err=True)
    if info["problems"]:
        raise typer.Exit(ERROR_EXIT_CODE)


def _print_info(info: dict[str, Any]) -> None:
    """The description as text: heading, samples, one row per table, each table's config and versions."""
    console = cli_console()
    console.print(_heading(info), soft_wrap=True)
    splits = ", ".join(f"{k}: {v}" for k, v in sorted(info["samples"]["splits"].items()))
    console.print(f"samples: {info['samples']['rows']} rows ({splits})", markup=False)
    if info["samples"]["aux_labels"]:
        console.print("labels besides label (fuse --labels): " + ", ".join(info["samples"]["aux_labels"]),
                      markup=False, soft_wrap=True)
    if info["tables"]:
        console.print(_tables(info["tables"]))
    else:
        console.print("no feature tables yet: `mmdata extract` with this dataset as OUTPUT_DIR adds them", markup=False)
    for t in info["tables"]:
        console.print(f"{t['name']}: config {json.dumps(t['config'], sort_keys=True)}, "
                      + ", ".join(f"{k} {v}" for k, v in sorted(t["versions"].items())), soft_wrap=True, markup=False)
    if (info.get("update") or {}).get("message"):
        console.print(info["update"]["message"], soft_wrap=True, markup=False)
    for t in info["tables"]:
        if not t["complete"]:
            console.print(f"{t['name']} is incomplete ({t['rows']} of {info['samples']['rows']} rows in finished "
                          f"shards): {t['incomplete']['hint']}", soft_wrap=True, markup=False)
    for folder in info["unlisted_tables"]:
        console.print(f"{folder}: a table folder {MANIFEST_NAME} does not list, so no command reads it (left by an "
                      "earlier run?); move it away, or extract that table again", soft_wrap=True, markup=False)
    if info["errors"]["rows"]:
        console.print(f"errors table: {info['errors']['rows']} rows in {info['errors']['path']}", markup=False)


def _tables(tables: list[dict[str, Any]]) -> Table:
    """One row per feature table; a table with problems is marked `(damaged)` (the problems follow on stderr)."""
    table = Table("table", "modality", "extractor", "rows", "dim", "dtype", "kind", "failed", "files")
    table.columns[0].no_wrap = table.columns[2].no_wrap = True  # names stay whole; in a narrow terminal others give way
    for t in tables:
        kind = shown_kind(t["kind"], t.get("frame_rate"))
        state = " (damaged)" if t["problems"] else "" if t["complete"] else " (incomplete)"
        table.add_row(*map(Text, (t["name"] + state, t["modality"], t["extractor"], str(t["rows"]), shown_dim(t["dim"]),
                                  t["dtype"], kind, str(t["errors"]), t["format"])))
    return table


def _heading(info: dict[str, Any]) -> Text:
    """`DIR  corpus KIND at ROOT (split S)`; a root recorded without its place (a share keeps only the corpus
    folder's name) is named as recorded, not as a place here."""
    corpus = info["corpus"]
    return Text.assemble((str(info["dataset"]), "bold"), f"  corpus {corpus['kind']}{_corpus_root(str(corpus['root']))}"
                         + (f" (split {corpus['split']})" if corpus.get("split") else ""))


def _corpus_root(root: str) -> str:
    """` at ROOT` for a place; for a bare folder name (a share's), that name as recorded and what it is."""
    if Path(root).is_absolute():
        return f" at {root}"
    return f" (root recorded as {root}, relative to where the data was extracted)" if root else ""
