"""`mmdata checksum DIR`: record the SHA-256 of every file in DIR/checksums.sha256 (`mmdata verify` checks it)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mmdata.cli.app import command
from mmdata.share.checksums import CHECKSUMS_NAME, record_checksums


@command("checksum")
def checksum_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset or share folder (e.g. after editing its README.md).")],
) -> None:
    """Write checksums.sha256 listing the SHA-256 of every other file of the folder, naming each changed file.

    A file is named when it changed since the checksums.sha256 this one replaces."""
    written = record_checksums(dataset_dir)
    typer.echo(f"wrote {written.files} checksums to {written.path}")
    if written.previous_damaged:
        typer.echo(f"replaced a damaged {CHECKSUMS_NAME} ({written.previous_damaged})")
    elif written.previous is not None and not written.previous.ok:
        typer.echo(f"changed since the {CHECKSUMS_NAME} it replaces ({written.previous.differing} files; "
                   "if the change was not yours, those files are damaged: get them again):")
        for line in written.previous.problems():
            typer.echo(f"  {line}")
