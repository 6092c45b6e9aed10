"""`mmdata merge DATASET... OUTPUT_DIR`: datasets made with the same extractors as one (`merge_datasets`)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mmdata.cli.app import command, table_names
from mmdata.cli.paths import output_dir as check_output_dir
from mmdata.errors import ConfigError
from mmdata.merge import merge_datasets


@command("merge")
def merge_command(
    paths: Annotated[list[Path], typer.Argument(metavar="DATASET... OUTPUT_DIR", help="Two datasets or more, then the dataset directory to create.")],
    name: Annotated[Optional[list[str]], typer.Option("--name", "--names", "-n", help="Each dataset's name, in order (repeat or comma list): its samples' id prefix and extra.source_dataset; default: the folders' names.")] = None,
    table: Annotated[Optional[list[str]], typer.Option("--table", "--tables", "-t", help="Table to merge (repeat or comma list); default: every table each dataset holds complete and made the same way.")] = None,
    split: Annotated[Optional[list[str]], typer.Option("--split", "-s", metavar="NAME=SPLIT", help="Put every sample of dataset NAME in SPLIT (repeat), e.g. ravdess=test; the others keep their splits.")] = None,
    shared_groups: Annotated[bool, typer.Option("--shared-groups", help="Keep group ids as they are (corpora naming the same media alike); default: <corpus>:<group>.")] = False,
    any_versions: Annotated[bool, typer.Option("--any-versions", help="Merge tables made with other library versions (each dataset's recorded).")] = False,
    corpus_root: Annotated[Optional[list[str]], typer.Option("--corpus-root", metavar="NAME=DIR", help="Where dataset NAME's corpus lies (repeat): for a shared dataset, or a corpus moved since extraction.")] = None,
    shard_size: Annotated[Optional[int], typer.Option("--shard-size", min=1, help="Samples per shard of the merged dataset; default: the largest of the datasets'.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing OUTPUT_DIR written by an earlier `mmdata merge`.")] = False,
) -> None:
    """Merge datasets made with the same extractors into one: samples renamed <name>/<id>, tables concatenated."""
    if len(paths) < 3:
        raise ConfigError(f"mmdata merge takes two datasets or more, then OUTPUT_DIR; got {len(paths)} paths "
                          "(e.g. `mmdata merge out/crema-d out/ravdess out/emotion`)")
    *datasets, output = paths
    check_output_dir(output, "OUTPUT_DIR")
    report = merge_datasets(datasets, output, names=table_names(name), tables=table_names(table),
                            splits=_pairs(split or [], "--split", "SPLIT", "the split for all its samples", "ravdess=test"),
                            corpus_roots=_pairs(corpus_root or [], "--corpus-root", "DIR", "the folder holding its corpus",
                                                "ravdess=/data/RAVDESS", comma_lists=False), shared_groups=shared_groups, any_versions=any_versions,
                            shard_size=shard_size, force=force)
    typer.echo(f"samples: {sum(report.samples.values())} ("
               + ", ".join(f"{n} {count}" for n, count in report.samples.items()) + f") -> {report.output_dir}")
    typer.echo("splits: " + ", ".join(f"{s} {count}" for s, count in sorted(report.splits.items())))
    for t in report.tables:
        typer.echo(f"table {t.name}: {t.rows} rows, {t.errors} failed -> {t.path}")
    for table_name, why in report.skipped.items():
        typer.echo(f"table {table_name}: skipped ({why})")
    for dataset, why in report.unlinked.items():
        typer.echo(f"media of {dataset}: not reachable ({why})", err=True)
    for dataset, columns in report.left_out.items():
        typer.echo(f"samples of {dataset}: columns {columns} left out (not of the samples table: a share's "
                   "embedded media; the merged samples name media by path)", err=True)


def _pairs(values: list[str], option: str, value: str, meaning: str, example: str, *,
           comma_lists: bool = True) -> dict[str, str]:
    """{name: value} from NAME=VALUE options (each may be a comma list where `comma_lists`; a folder may hold a
    comma, so not a --corpus-root)."""
    out: dict[str, str] = {}
    for item in (v for given in values for v in (given.split(",") if comma_lists else [given])):
        name, sep, text = item.partition("=")
        if not sep or not name.strip() or not text.strip():
            raise ConfigError(f"{option} {item!r}: expected NAME={value}, a dataset's name and {meaning}, e.g. "
                              f"{option} {example}")
        if name.strip() in out:
            raise ConfigError(f"{option} names dataset {name.strip()!r} twice; give each dataset one {value.lower()}")
        out[name.strip()] = text.strip()
    return out
