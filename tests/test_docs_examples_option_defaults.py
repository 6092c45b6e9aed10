"""The defaults the docs' option tables quote are the commands' own: `(default: X)` or `` `X` (default) `` in
an option's row equals what the command uses when the option is not given (the Typer option's default, or,
where that is None, the library function's)."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import typer

import mmdata
from mmdata.cli import app

REPO = Path(__file__).resolve().parent.parent
QUOTED_DEFAULT = (re.compile(r"\(default: ([^);,]+)"), re.compile(r"`([^`]+)`[^`|]*?\((?:[^()`|]*, )?(?:the )?default\)"))

# (page, section heading, command, option, library function behind a None default)
ROWS = [
    ("check.md", "Options and exit status", "check", "--min-coverage", None),
    ("extract.md", "Arguments", "extract", "--batch-size", mmdata.extract),
    ("extract.md", "Arguments", "extract", "--shard-size", mmdata.extract),
    ("extract.md", "Arguments", "extract", "--on-error", mmdata.extract),
    ("extract.md", "Arguments", "extract", "--table-format", mmdata.extract),
    ("extract.md", "Arguments", "extract", "--executor", None),
    ("temporal.md", "`align`", "align", "--collapse", None),
    ("temporal.md", "`align`", "align", "--on-missing", None),
    ("temporal.md", "`align`", "align", "--on-error", None),
    ("temporal.md", "`export-csd`: back to `.csd` files", "export-csd", "--keys", None),
    ("sharing.md", "`mmdata share`", "share", "--media", None),
]


def _row(page: str, heading: str, option: str) -> str:
    text = (REPO / "docs" / page).read_text(encoding="utf-8")
    section = re.split(r"\n## .*\n", text.split(f"\n## {heading}", 1)[1], maxsplit=1)[0]
    return next(line for line in section.splitlines() if line.startswith(f"| `{option}`"))


def _quoted_default(row: str) -> str:
    for pattern in QUOTED_DEFAULT:
        if found := pattern.search(row.split("|")[2]):
            return found.group(1).strip()
    raise AssertionError(f"no default quoted in {row!r}")


def _code_default(command: str, option: str, library: object) -> object:
    cli = typer.main.get_command(app).commands[command]
    param = next(p for p in cli.params if option in p.opts)
    if param.default is None and library is not None:
        return inspect.signature(library).parameters[param.name].default
    return param.default


@pytest.mark.parametrize(("page", "heading", "command", "option", "library"), ROWS,
                         ids=[f"{r[2]} {r[3]}" for r in ROWS])
def test_a_default_quoted_in_an_option_table_is_the_commands(page, heading, command, option, library):
    assert _quoted_default(_row(page, heading, option)) == str(_code_default(command, option, library))


def test_the_report_gallery_default_quoted_in_sharing_md_is_the_commands():
    sharing = (REPO / "docs" / "sharing.md").read_text(encoding="utf-8")
    quoted = re.search(r"`--gallery N` sets the gallery's size,\s+default (\d+)", sharing).group(1)
    assert quoted == str(_code_default("report", "--gallery", None))
