"""`--json PATH|-`: where a command's JSON goes, spelled the same in every command that writes JSON.

`info`, `check` and `train sentiment|retrieval` take `--json PATH` (a file) or `--json -` (stdout, the human
text then goes to stderr); a bare `--json` means `-`. Older spellings keep working: `info --json` (JSON on
stdout) is the bare form, and `train ... --out/-o FILE` is an alias of `train ... --json FILE`.

How a bare `--json` is read: `mmdata.cli.parsing`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmdata.cli.parsing import JSON_OPTION, STDOUT
from mmdata.store.files import write_text_atomic
from mmdata.store.output_files import OutputPathError, is_json_object_with, output_file

#: Metavar of the option in the help.
JSON_METAVAR = "PATH|-"
#: The keys every `mmdata info` JSON holds, `corpus` first (the keys are sorted); see `info_json_file`.
INFO_KEYS = ("corpus", "dataset", "samples", "tables", "problems")
_HEAD_BYTES = 4096


def to_stdout(destination: str | Path | None) -> bool:
    """Whether `--json` was given as `-` (or bare): the JSON goes to stdout."""
    return destination is not None and str(destination) == STDOUT


def info_json_file(path: str | Path) -> Path:
    """`path` if `info --json` may write there: a new or empty file, or an info JSON written earlier.

    Raises:
        OutputPathError: as `output_file` (a directory, a dataset's own file), or another existing file (kept).
    """
    path = output_file(path, JSON_OPTION, "info.json")
    if path.exists() and not _replaceable_info(path):
        raise OutputPathError(
            f"{JSON_OPTION} {path} is an existing file that is not an `mmdata info` JSON; expected a new file, or "
            f"an info JSON written earlier, which is replaced; choose another path, e.g. {path.with_name('info.json')}, "
            "or remove the file if it may go")
    return path


def write_info_json(info: dict[str, Any], destination: str | Path) -> None:
    """The description as indented JSON with sorted keys, in one piece (atomically) to a file."""
    write_text_atomic(destination, info_json_text(info))


def info_json_text(info: dict[str, Any]) -> str:
    return json.dumps(info, indent=2, sort_keys=True) + "\n"


def _replaceable_info(path: Path) -> bool:
    if not path.is_file():
        return False  # a device or a socket: never replaced
    with open(path, "rb") as f:
        head = f.read(_HEAD_BYTES)
    return not head or is_json_object_with(head, path, INFO_KEYS)
