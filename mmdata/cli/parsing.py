"""What every command does to its arguments before its own parsing: bare `--json` means stdout, and a
one-value option given twice is refused.

`--json PATH|-` (see `mmdata.cli.json_output`) also works bare, as `info --json` did before it took a value:
a `--json` at the end of the line, before another option or `--`, or before the command's positional argument
when that argument would otherwise be missing (`mmdata info --json DIR`) is read as `--json -`.

An option that takes one value given twice would silently keep the last (`extract -s train -s val` would
extract val alone); it is a usage error instead. Repeatable options (`--image`, `--table`) and flags may repeat.
"""
from __future__ import annotations

from typing import Any

from typer import core as typer_core

#: The click that Typer runs on: its own copy in recent releases, else the click package.
_click: Any = getattr(typer_core, "_click", None)
if _click is None or not hasattr(_click, "exceptions"):  # pragma: no cover - older Typer on the click package
    import click as _click

UsageError = _click.exceptions.UsageError
#: The option every JSON-writing command names its JSON destination with, and its stdout value.
JSON_OPTION = "--json"
STDOUT = "-"


def prepared_args(command: Any, ctx: Any, args: list[str]) -> list[str]:
    """`args` with a bare `--json` made `--json -`; raises UsageError for a one-value option given twice."""
    args = json_args(command, ctx, list(args))
    refuse_repeated_options(command, ctx, args)
    return args


def json_args(command: Any, ctx: Any, args: list[str]) -> list[str]:
    """`args` with every bare `--json` of a command that has the option (taking a value) made `--json -`."""
    option = next((p for p in command.params if JSON_OPTION in getattr(p, "opts", ())), None)
    if option is None or getattr(option, "is_flag", False):
        return args
    args = _dash_after_bare_json(args)
    if _json_took_the_positional(command, ctx, args, option.name):
        at = len(args) - 1 - args[::-1].index(JSON_OPTION)
        args = [*args[:at + 1], STDOUT, *args[at + 1:]]
    return args


def refuse_repeated_options(command: Any, ctx: Any, args: list[str]) -> None:
    """UsageError naming an option that takes one value and was given more than once."""
    parsed = _dry_parse(command, ctx, args)
    if parsed is None:
        return  # the real parse names the mistake
    order = parsed[2]
    for param in dict.fromkeys(order):
        one_value = param.param_type_name == "option" and not (param.multiple or param.count or param.is_flag)
        times = sum(1 for p in order if p is param)
        if one_value and times > 1:
            raise UsageError(f"{' / '.join(param.opts)} was given {times} times, but it takes one value; give it once",
                             ctx)


def _dash_after_bare_json(args: list[str]) -> list[str]:
    """`--json` with no value after it (the end, `--`, or another option) gets `-`."""
    out: list[str] = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg == "--":
            return out + args[i + 1:]
        following = args[i + 1] if i + 1 < len(args) else None
        if arg == JSON_OPTION and (following is None or (following.startswith("-") and len(following) > 1)):
            out.append(STDOUT)
    return out


def _json_took_the_positional(command: Any, ctx: Any, args: list[str], name: str) -> bool:
    """Whether the word after the last `--json` is a required positional argument, missing without it."""
    if JSON_OPTION not in args:
        return False
    parsed = _dry_parse(command, ctx, args)
    if parsed is None:
        return False
    values = parsed[0]  # positional words are in it too, by argument name (None, or a sentinel, when missing)
    missing = any(p.param_type_name == "argument" and p.required and not isinstance(values.get(p.name), (str, list, tuple))
                  for p in command.params)
    after = args[len(args) - args[::-1].index(JSON_OPTION):][:1]
    given = values.get(name)
    return missing and given not in (None, STDOUT) and after == [given]


def _dry_parse(command: Any, ctx: Any, args: list[str]) -> tuple[dict[str, Any], list[str], list[Any]] | None:
    """(values of options and arguments, words left over, parameters in the order given), or None when the
    words do not parse."""
    try:
        return command.make_parser(ctx).parse_args(args=list(args))
    except UsageError:
        return None
