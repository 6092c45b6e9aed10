"""The Typer application object and the `command` decorator every command module uses.

`@command("name")` registers a function on the app and turns an `MmdataError`, or an OSError
about a path (permission denied, disk full), into a one-line `error: ...` on stderr and exit
status 2 (also under Typer's CliRunner), Ctrl-C into `interrupted` and exit status 130, and a
reader of stdout that went away (`| head`) into a quiet exit 141; any other exception is a bug and
keeps its traceback. Help texts are shown as written: `vid[i]` is text, not rich markup. Before a
command parses its arguments, a bare `--json` becomes `--json -`, and an option that takes one value
given twice is refused (`mmdata.cli.parsing`).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer import core as typer_core

from mmdata import __version__
from mmdata.cli.console import BROKEN_PIPE_EXIT_CODE, silence_closed_stdout, stdout_is_closed
from mmdata.cli.parsing import prepared_args
from mmdata.cli.startup import INTERRUPTED_EXIT_CODE, report_interrupted  # (also imported from here)
from mmdata.errors import MmdataError

#: Exit status when the data has errors: `check` found error-severity issues, `verify` altered files,
#: `extract` a table whose every item failed, `train` a model that failed (the others are reported).
FOUND_ERRORS_EXIT_CODE = 1
#: Exit status of a usage or input error: a bad option, argument or path, no dataset there (one `error:` line).
ERROR_EXIT_CODE = 2
#: The exit statuses, once for every command (`mmdata --help`; docs/extract.md#exit-status).
EXIT_STATUS_HELP = (
    f"Exit status: 0 done; {FOUND_ERRORS_EXIT_CODE} the data has errors (check, verify; extract: a table whose "
    f"every item failed; train: a model failed); {ERROR_EXIT_CODE} usage or input error (one error: line); "
    f"{INTERRUPTED_EXIT_CODE} interrupted (Ctrl-C; 143 terminated); {BROKEN_PIPE_EXIT_CODE} stdout closed (| head)."
)

app = typer.Typer(
    name="mmdata",
    help="Multimodal corpora to aligned, validated, self-describing Arrow feature tables.",
    epilog=EXIT_STATUS_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"mmdata {__version__}")
        raise typer.Exit()


@app.callback()  # options of `mmdata` itself, before the command
def main_options(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_print_version,
                                          help="Show mmdata's version and exit.")] = False,
) -> None:
    pass


def table_names(values: list[str] | None) -> list[str] | None:
    """Table names from a repeatable option that also takes comma lists (`-t a -t b,c`); None when none."""
    names = [name.strip() for value in values or [] for name in value.split(",") if name.strip()]
    return names or None


class LiteralHelpCommand(typer_core.TyperCommand):
    """A command whose help texts are escaped for rich (square brackets in them stay visible), whose
    arguments are named in capitals as the help texts name them (OUTPUT_DIR), whose bare `--json` means
    stdout, and which refuses a one-value option given twice."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.param_type_name == "argument" and not param.metavar and param.name:
                param.metavar = param.name.upper()  # the name the help texts and errors use (OUTPUT_DIR)
        if not (typer_core.HAS_RICH and self.rich_markup_mode == "rich"):
            return  # plain click help prints the texts as they are
        self.help, self.short_help, self.epilog = (escape(t) if t else t for t in (self.help, self.short_help, self.epilog))
        for param in self.params:
            if getattr(param, "help", None):
                param.help = escape(param.help)  # type: ignore[attr-defined]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, prepared_args(self, ctx, args))


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
            except KeyboardInterrupt:
                raise typer.Exit(report_interrupted()) from None
            except BrokenPipeError:
                if not stdout_is_closed():
                    raise  # another pipe (a worker's): not the user's `| head`
                raise typer.Exit(silence_closed_stdout()) from None  # `| head` has what it wanted
            except OSError as e:
                if e.filename is None or not e.strerror:
                    raise  # not about a path: a bug, with its traceback
                # The system refused a path (no permission, read-only or full disk, /proc): the user's to fix.
                typer.echo(f"error: {e.strerror}: {e.filename}; check that the path can be written there "
                           "(permissions, free space, a real folder)", err=True)
                raise typer.Exit(ERROR_EXIT_CODE) from None

        (group or app).command(name, cls=LiteralHelpCommand, **kwargs)(wrapper)
        return func

    return decorate
