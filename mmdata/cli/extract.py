"""`mmdata extract KIND CORPUS_ROOT OUTPUT_DIR`: corpus -> samples table -> feature tables."""
from __future__ import annotations

import inspect
import shlex
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

from mmdata.cli.app import FOUND_ERRORS_EXIT_CODE, INTERRUPTED_EXIT_CODE, command
from mmdata.cli.paths import output_dir as check_output_dir
from mmdata.corpora.base import available_corpora
from mmdata.errors import ConfigError
from mmdata.features.base import available_extractors, create_extractor
from mmdata.options import parse_key_values
from mmdata.pipeline import DEFAULT_EXTRACTORS, ON_ERROR_CHOICES, ExtractReport, extract
from mmdata.progress import RichProgress
from mmdata.recipe import Recipe, extract_recipe, is_recipe_path, load_recipe
from mmdata.records import MODALITIES
from mmdata.store.layout import DEFAULT_SHARD_SIZE, TABLE_FORMATS

#: The library's default, shown in the help (the option defaults to None so that a recipe's value applies).
DEFAULT_BATCH_SIZE = inspect.signature(extract).parameters["batch_size"].default


def _extractor_option(modality: str) -> Any:
    """The option of one modality's extractors; the names come from the registry."""
    return typer.Option(help=f"{modality.capitalize()} extractor NAME[:KEY=VALUE,...] "
                             f"({', '.join(available_extractors(modality))}); repeat for several. When no extractor "
                             f"is named: {', '.join(DEFAULT_EXTRACTORS[modality])}, if the corpus holds {modality} data.")


@command("extract")
def extract_command(
    kind: Annotated[str, typer.Argument(help=f"Corpus kind ({', '.join(available_corpora())}) or a recipe .toml file.")],
    corpus_root: Annotated[Path, typer.Argument(help="Root folder of the corpus as it lies on disk.")],
    output_dir: Annotated[Path, typer.Argument(help="Dataset directory to create or resume.")],
    image: Annotated[Optional[list[str]], _extractor_option("image")] = None,
    text: Annotated[Optional[list[str]], _extractor_option("text")] = None,
    audio: Annotated[Optional[list[str]], _extractor_option("audio")] = None,
    video: Annotated[Optional[list[str]], _extractor_option("video")] = None,
    split: Annotated[Optional[str], typer.Option("--split", "-s", help="Corpus split (e.g. val2017, test).")] = None,
    option: Annotated[Optional[list[str]], typer.Option("--option", "-o", help="Corpus loader option KEY=VALUE; repeat for several.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(
        "--batch-size", "-b", min=1, help=f"Items per extractor call (default: {DEFAULT_BATCH_SIZE}).")] = None,
    num_workers: Annotated[Optional[int], typer.Option(
        "--num-workers", "-j", min=0, help="Decode processes; 0: none (default: started only where decoding pays for them). "
             "With --executor ray: decode tasks at once (default or 0: one per CPU of the cluster).")] = None,
    on_error: Annotated[Optional[str], typer.Option(
        help="skip (default): record failed items in the errors table and go on; fail: stop at the first.")] = None,
    shard_size: Annotated[Optional[int], typer.Option(
        min=1, help=f"Rows per shard, the unit of resumption (default: {DEFAULT_SHARD_SIZE}).")] = None,
    table_format: Annotated[Optional[str], typer.Option(
        help="Feature table files: parquet (default) or arrow (Arrow IPC: memory-mapped, zero-copy reads; "
             "reading ~2x, check ~1.4x and fuse to Parquet 1.3-1.5x faster in benchmarks/README.md).")] = None,
    executor: Annotated[str, typer.Option(help="local (process pool) or ray (Ray Data).")] = "local",
    address: Annotated[Optional[str], typer.Option(
        help="With --executor ray: the Ray cluster to join from one of its nodes (auto, HOST:PORT); remote: `ray job submit`.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Compute the named extractors' tables from scratch, replacing them (another config's included).")] = False,
    update: Annotated[bool, typer.Option(
        "--update", help="Read the corpus again and append the samples it gained since OUTPUT_DIR was made after its "
                         "rows, computing only theirs; a sample changed or gone is refused, nothing written.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Load a corpus and write per-modality feature tables (resumes an interrupted run; --update adds new samples)."""
    check_output_dir(output_dir, "OUTPUT_DIR")
    recipe = load_recipe(kind) if is_recipe_path(kind) else Recipe(kind=kind)
    if address is not None and executor != "ray":
        raise ConfigError(f"--address {address} joins a Ray cluster; it needs --executor ray")
    specs = {"image": image, "text": text, "audio": audio, "video": video}
    named = [create_extractor(s, modality=m) for m in MODALITIES for s in specs[m] or []]
    run = {k: v for k, v in dict(batch_size=batch_size, num_workers=num_workers, on_error=on_error,
                                 shard_size=shard_size, table_format=table_format).items() if v is not None}
    try:
        report = extract_recipe(  # the flags override the recipe's values (a bare KIND: an empty recipe)
            recipe, corpus_root, output_dir, extractors=named, split=split,
            corpus_options=parse_key_values(option or [], owner="--option"), executor=executor,
            ray_address=address, progress=RichProgress(quiet=quiet), force=force, update=update, **_checked_run(run),
        )
    except KeyboardInterrupt:
        raise_interrupted(output_dir)
    print_report(report)
    fail_if_every_item_failed(report)


def fail_if_every_item_failed(report: ExtractReport) -> None:
    """Exit with status 1 when a table has rows and every one failed: the dataset is written (and the
    errors table says why), but a script or CI job should not take it for a success."""
    dead = [t.name for t in report.tables if t.rows and t.errors == t.rows]
    if dead:
        typer.echo(f"error: every item of {', '.join(dead)} failed; the reasons are in "
                   f"{report.dataset_dir / 'errors'} (`mmdata info {shlex.quote(str(report.dataset_dir))}`)", err=True)
        raise typer.Exit(FOUND_ERRORS_EXIT_CODE)


def raise_interrupted(output_dir: Path) -> NoReturn:
    """After Ctrl-C: say what is kept and how to go on."""
    typer.echo(f"interrupted: the finished shards in {output_dir} are kept; run the same command again to resume",
               err=True)
    raise typer.Exit(INTERRUPTED_EXIT_CODE) from None


def _checked_run(run: dict) -> dict:
    if run.get("on_error", "skip") not in ON_ERROR_CHOICES:
        raise ConfigError(f"--on-error must be skip or fail, got {run['on_error']!r}")
    if run.get("table_format", "parquet") not in TABLE_FORMATS:
        raise ConfigError(f"--table-format must be one of {sorted(TABLE_FORMATS)}, got {run['table_format']!r}")
    return run


def print_report(report: ExtractReport) -> None:
    typer.echo(f"dataset: {report.dataset_dir}")
    typer.echo(f"samples: {report.samples} ({report.dataset_dir / 'samples'})"
               + (f", {report.loader_errors} loader errors" if report.loader_errors else "")
               + ("; kept from the run that made the dataset: the corpus is not read again (--update adds the "
                  "samples it gained since)" if report.samples_reused else "") + _added(report))
    if report.changed_sources:
        typer.echo(f"warning: corpus files changed since the dataset was made: {', '.join(report.changed_sources)}; "
                   "the dataset keeps what it read then: extract into a new output directory to read them again")
    for table in report.tables:
        status = f"{table.shards_written} shards written, {table.shards_skipped} already done"
        if table.shards_redone:
            status += f"; {table.shards_redone} of the written ones replaced shards that no longer matched the samples"
        if table.made_with:
            status += f"; kept as made with {table.made_with}: --force computes it again"
        typer.echo(f"table {table.name}: {table.rows} rows, {table.errors} failed ({status}) -> {table.path}")
        if table.decoded_in and table.shards_written:  # (a run that computed nothing decoded nothing)
            typer.echo(f"  decoded in {table.decoded_in}")
    if report.incomplete_tables:
        typer.echo(f"incomplete: {', '.join(report.incomplete_tables)} (no rows for the added samples yet: an extract "
                   "naming their extractors completes them; an aligned one, `mmdata align` run again after it)")
    if report.loader_errors or any(t.errors for t in report.tables):
        typer.echo(f"errors: {report.dataset_dir / 'errors'} (read with pyarrow.dataset or `mmdata info`)")


def _added(report: ExtractReport) -> str:
    """What an update did to the samples table, for the `samples:` line ('' without --update)."""
    if report.samples_added is None:
        return ""
    if not report.samples_added:
        return "; up to date with the corpus: no sample to add"
    return f"; {report.samples_added} added from the corpus, after the {report.samples - report.samples_added} there were"
