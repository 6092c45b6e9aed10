"""`mmdata verify DIR`: compare every file with checksums.sha256; name each missing, extra or altered file."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from mmdata.cli.app import FOUND_ERRORS_EXIT_CODE, command
from mmdata.cli.console import verdict_kept_if_stdout_closes
from mmdata.share import CHECKSUMS_NAME, verify_checksums
from mmdata.share.checksums import shown_name

#: Exit status when the files differ from the checksums (2 means the check could not run).
MISMATCH_EXIT_CODE = FOUND_ERRORS_EXIT_CODE


@command("verify")
def verify_command(
    dataset_dir: Annotated[Path, typer.Argument(help=f"Folder with a {CHECKSUMS_NAME} (made by `mmdata share` or `mmdata checksum`).")],
) -> None:
    """Check every file against checksums.sha256; exit 1 naming each missing, extra or altered file."""
    report = verify_checksums(dataset_dir)
    checksums = shown_name(str(dataset_dir / CHECKSUMS_NAME))  # a folder name that is not UTF-8 is printed escaped
    with verdict_kept_if_stdout_closes():
        for line in [f"ok: {report.checked} files match {checksums}"] if report.ok else report.problems():
            typer.echo(line)
    if report.ok:
        return
    typer.echo(f"error: {report.differing} files differ from {checksums}; get them again from "
               f"where the dataset came from, or, if the change was yours (an edited README.md), record it with "
               f"`mmdata checksum {shlex.quote(str(dataset_dir))}`", err=True)
    raise typer.Exit(MISMATCH_EXIT_CODE)
