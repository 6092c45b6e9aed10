"""`mmdata checksum DIR`: record the SHA-256 of every file in DIR/checksums.sha256 (`mmdata verify` checks it)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mmdata.cli.app import command
from mmdata.share import write_checksums
from mmdata.share.checksums import read_checksums


@command("checksum")
def checksum_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset or share folder (e.g. after editing its README.md).")],
) -> None:
    """Write checksums.sha256 listing the SHA-256 of every other file of the folder."""
    path = write_checksums(dataset_dir)
    typer.echo(f"wrote {len(read_checksums(path))} checksums to {path}")
