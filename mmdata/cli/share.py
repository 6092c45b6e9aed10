"""`mmdata share DIR --out OUT`: a folder ready to publish on the Hugging Face Hub or copy anywhere."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer

from mmdata.cli.app import command
from mmdata.cli.paths import output_dir as checked_dir
from mmdata.share import share_dataset


@command("share")
def share_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset directory written by `mmdata extract`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write (Parquet per split and table, README.md card, checksums).")],
    media: Annotated[str, typer.Option(help="reference: keep media paths; embed: store image/audio files in the samples table.")] = "reference",
    corpus_root: Annotated[Optional[Path], typer.Option(help="Where the corpus lies now (for --media embed; needed "
                                                             "when the dataset is itself a share).")] = None,
    allow_failed_checks: Annotated[bool, typer.Option(help="Share even when `mmdata check` finds errors.")] = False,
    shard_size: Annotated[Optional[int], typer.Option(min=1, help="Rows per output shard.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing share folder at --out (its .git/ and "
                                                        ".cache/huggingface/ are kept).")] = False,
    overwrite_card: Annotated[bool, typer.Option("--overwrite-card", help="With --force, replace a README.md edited "
                                                                          "by hand (refused without it).")] = False,
) -> None:
    """Write a publishable copy: Parquet per split and table, a dataset card for `datasets`, SHA-256 checksums."""
    report = share_dataset(dataset_dir, checked_dir(out, "--out"), media=media, corpus_root=corpus_root,  # type: ignore[arg-type]
                           allow_failed_checks=allow_failed_checks, shard_size=shard_size, overwrite=force,
                           overwrite_card=overwrite_card)
    splits = ", ".join(f"{k}: {v}" for k, v in report.splits.items())
    typer.echo(f"shared {dataset_dir} -> {report.out_dir}: {report.rows} samples ({splits}), configs {report.configs}, "
               f"{report.files} files, {report.bytes:,} bytes, media {report.media}")
    if report.missing_media:
        typer.echo(f"warning: {len(report.missing_media)} media files could not be embedded (first: "
                   f"{report.missing_media[0].path}: {report.missing_media[0].reason})", err=True)
    if not report.checks.ok:
        typer.echo(f"warning: shared with {len(report.checks.errors)} failing checks (listed in the card)", err=True)
    typer.echo(f"load it with: datasets.load_dataset({str(report.out_dir)!r}, {report.configs[-1]!r}); "
               f"publish it with: hf upload USER/NAME {shlex.quote(str(report.out_dir))} --repo-type dataset")
