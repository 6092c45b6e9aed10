"""Every `mmdata` command line in the README and the user docs names options its command has, and every
extractor spec they quote (`--image resnet50`, `` `minilm:level=caption` ``) is one `create_extractor` takes."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from mmdata.cli import app
from mmdata.features.base import available_extractors, create_extractor

REPO = Path(__file__).resolve().parent.parent
PAGES = ["README.md", *(f"docs/{name}.md" for name in
                        ("check", "dataset-layout", "extract", "extractors", "sharing", "temporal"))]
CODE_BLOCK = re.compile(r"```(?:bash|sh)\n(.*?)```", flags=re.S)
SPEC = re.compile(r"(?:--(?:image|text|audio|video)\s+|`)([a-z0-9-]+:[^`\s]+)")


def _command_lines(page: str) -> list[str]:
    text = (REPO / page).read_text(encoding="utf-8")
    lines = [line for block in CODE_BLOCK.findall(text) for line in block.replace("\\\n", " ").splitlines()]
    lines += re.findall(r"`(mmdata [^`]+)`", text)
    return [line.strip() for line in lines if line.strip().startswith("mmdata ")]


def _options_of(argv: list[str]) -> tuple[str, set[str], list[str]]:
    """The command `argv` runs, the option names it takes and the rest of `argv`."""
    command, used = typer.main.get_command(app), 0
    while hasattr(command, "commands") and used < len(argv) and argv[used] in command.commands:
        command, used = command.commands[argv[used]], used + 1
    names = {o for p in command.params for o in (*p.opts, *getattr(p, "secondary_opts", []))} | {"--help"}
    return command.name, names, argv[used:]


@pytest.mark.parametrize("page", PAGES)
def test_command_lines_name_only_options_their_command_has(page):
    lines = _command_lines(page)
    assert lines
    for line in lines:
        name, options, rest = _options_of(shlex.split(line, comments=True)[1:])
        unknown = [a.split("=")[0] for a in rest if re.match(r"--?[a-zA-Z]", a) and a.split("=")[0] not in options]
        assert not unknown, f"{page}: `mmdata {name}` has no option {unknown}: {line}"


@pytest.mark.parametrize("page", PAGES)
def test_extractor_specs_quoted_are_ones_create_extractor_takes(page):
    names = set(available_extractors())
    specs = {s.strip("'\"") for s in SPEC.findall((REPO / page).read_text(encoding="utf-8"))}
    for spec in sorted(s for s in specs if s.split(":")[0] in names):
        create_extractor(spec)  # raises ConfigError naming the option it does not take
