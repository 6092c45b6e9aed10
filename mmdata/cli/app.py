"""The Typer application object and the `command` decorator every command module uses.

`@command("name")` registers a function on the app and turns an `MmdataError` into a one-line
`error: ...` on stderr and exit status 2 (also under Typer's CliRunner); any other exception is a
bug and keeps its traceback.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer

from mmdata.errors import MmdataError

app = typer.Typer(
    name="mmdata",
    help="Multimodal corpora to aligned, validated, self-describing Arrow feature tables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ERROR_EXIT_CODE = 2


def command(name: str, *, group: typer.Typer | None = None, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a command on the app, or on `group` (a sub-app added with `app.add_typer`)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kw: Any) -> Any:
            try:
                return func(*args, **kw)
            except MmdataError as e:
                typer.echo(f"error: {e}", err=True)
                raise typer.Exit(ERROR_EXIT_CODE) from None

        (group or app).command(name, **kwargs)(wrapper)
        return func

    return decorate
