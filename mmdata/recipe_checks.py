"""How a recipe file's mistakes are found and named: TOML syntax errors with their line and column,
unknown sections and keys with their line and where they belong (another section, the command line, or
the closest key), and `$NAME`/`~` in a recipe's values.

Every error names the recipe file; a key's line is found by a plain scan of the text (a dotted or
inline key has none, and the message names the key alone).
"""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmdata.corpora.base import available_corpora, get_corpus_kind, short_repr
from mmdata.errors import ConfigError, CorpusNotFoundError
from mmdata.options import did_you_mean
from mmdata.records import MODALITIES

CORPUS_KEYS = ("kind", "split", "options")
RUN_KEYS = ("batch_size", "num_workers", "on_error", "shard_size", "table_format")
MODULES_KEY = "modules"


def read_recipe_text(path: Path) -> str:
    """The recipe file's text. Raises CorpusNotFoundError (no such file) or ConfigError (not UTF-8)."""
    if path.is_dir():
        raise CorpusNotFoundError(f"recipe {path} is a folder; expected a .toml file (recipes/*.toml)")
    if not path.is_file():
        raise CorpusNotFoundError(f"recipe file not found: {path} (from {Path.cwd()}); a KIND ending in .toml is "
                                  "read as a recipe file: check the path")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not valid UTF-8 (byte offset {e.start}); a TOML file is UTF-8") from e


def toml_syntax_error(path: Path, text: str, error: tomllib.TOMLDecodeError) -> str:
    """`FILE: line N, column C: invalid TOML: what; got LINE; hint` from tomllib's message, which ends
    with "(at line N, column C)" (or "(at end of document)")."""
    found = re.fullmatch(r"(.*) \(at (?:line (\d+), column (\d+)|end of document)\)", str(error), flags=re.S)
    what, line, column = found.groups() if found else (str(error), None, None)
    what = what[:1].lower() + what[1:]
    if line is None:
        place, got = "at the end", ""
    else:
        place = f"line {line}, column {column}"
        lines = text.splitlines()
        got = f"; got {short_repr(lines[int(line) - 1].strip())}" if int(line) <= len(lines) else ""
    return (f"{path}: {place}: invalid TOML: {what}{got}; check the quotes, brackets and commas there and on the "
            "lines above (text is quoted: kind = \"coco\"; a list is [\"a\", \"b\"])")


#: Keys a recipe does not take because the command line gives them, with where they go.
_COMMAND_LINE_KEYS = {
    **dict.fromkeys(("root", "corpus_root", "corpus_dir", "dir", "path", "data_dir", "output", "output_dir", "out"),
                    "the corpus and output folders are given on the command line (mmdata extract RECIPE.toml "
                    "CORPUS_ROOT OUTPUT_DIR, or extract_recipe's arguments), so that one recipe serves any copy"),
    **{key: f"{key} is the command's flag --{key.replace('_', '-')}, not a recipe key"
       for key in ("executor", "address", "force", "quiet")},
}


def refuse_unknown_sections(data: dict[str, Any], path: Path, text: str) -> None:
    """A recipe's top level holds [corpus] and [extract]; anything else is refused where it is, with the
    section meant, the section a key belongs in, or the command line as the hint."""
    for key, value in data.items():
        if key in ("corpus", "extract"):
            continue
        line = _line_of(text, "", key)
        at = f" (line {line})" if line else ""
        if isinstance(value, dict) or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
            hint = did_you_mean(key, ("corpus", "extract")).replace("'", "")  # ("[[key]]" is a list of tables)
            hint = re.sub(r"did you mean (.+)\?$", r"did you mean [\1]?", hint) or _command_line_hint(key)
            raise ConfigError(f"{path}: unknown section [{key}]{at}; expected [corpus] and [extract]{hint}")
        corpus = data.get("corpus")
        home = _home_of(key, loader_option_names(corpus.get("kind") if isinstance(corpus, dict) else None))
        hint = f"; {key!r} belongs under {home}: put it below that line" if home else _command_line_hint(key)
        raise ConfigError(f"{path}: unknown top-level key {key!r}{at}; expected [corpus] and [extract]{hint}")


def refuse_unknown_keys(table: dict[str, Any], allowed: Sequence[str], section: str, path: Path, text: str,
                         loader_options: set[str]) -> None:
    """Refuse keys of [corpus] or [extract] it does not take: the first named with its line, and where
    it belongs (another section, the command line) or the closest allowed key."""
    bad = [key for key in table if key not in allowed]
    if not bad:
        return
    key = bad[0]
    line = _line_of(text, section, key)
    home = _home_of(key, loader_options)
    if home and home != f"[{section}]":
        hint = f"; {key!r} belongs under {home}"
    else:
        hint = _command_line_hint(key) or did_you_mean(key, allowed)
    raise ConfigError(f"{path}: unknown keys in [{section}]: {sorted(bad)}{f' (line {line})' if line else ''}; "
                      f"expected {list(allowed)}{hint}")


def _home_of(key: str, loader_options: set[str]) -> str | None:
    """The section a recipe key belongs in, or None for a key no section takes."""
    if key in CORPUS_KEYS:
        return "[corpus]"
    if key in RUN_KEYS or key in MODALITIES or key == MODULES_KEY:
        return "[extract]"
    return "[corpus.options]" if key in loader_options else None


def _command_line_hint(key: str) -> str:
    hint = _COMMAND_LINE_KEYS.get(key)
    return f"; {hint}" if hint else ""


def loader_option_names(kind: Any) -> set[str]:
    """The option names of corpus kind `kind`, or none when it names no kind (the recipe's error is elsewhere)."""
    if not isinstance(kind, str) or kind not in available_corpora():
        return set()
    return {f.name for f in dataclasses.fields(get_corpus_kind(kind).options_type)}


def _line_of(text: str, section: str, key: str) -> int | None:
    """The line of `key = ...` in table `section` ("" for the top level), or of its `[section.key]`
    header, in a recipe's text; None when it is not written there plainly (a dotted or inline key)."""
    current = ""
    table = f"{section}.{key}" if section else key
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            current = header.group(1).replace(" ", "")
            if current == table:
                return number
            continue
        assignment = _ASSIGNMENT.match(line)
        if assignment and current == section and next(g for g in assignment.groups() if g is not None) == key:
            return number
    return None


_HEADER = re.compile(r"\s*\[\[?([^\[\]]+)\]\]?\s*(?:#.*)?$")
_ASSIGNMENT = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*=""")


def expand_variables(value: Any, *, home: bool) -> Any:
    """A recipe's text value (or each text item of a list) with `$NAME`/`${NAME}` replaced by the
    environment variable and, where `home`, a leading `~` by the home folder.

    Raises:
        ConfigError: a variable that is not set.
    """
    if isinstance(value, list):
        return [expand_variables(item, home=home) for item in value]
    if not isinstance(value, str):
        return value
    for braced, plain in _ENV_VARIABLE.findall(value):
        if (braced or plain) not in os.environ:
            raise ConfigError(f"environment variable ${braced or plain} in {short_repr(value)} is not set; set it, "
                              "or write the path out")
    value = os.path.expandvars(value)
    return os.path.expanduser(value) if home else value


_ENV_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
