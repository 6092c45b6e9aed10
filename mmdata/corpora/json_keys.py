"""Repeated keys in a JSON annotation file: found while parsing, named `file:line:column`.

`json.loads` keeps the last value of a key an object names twice and says nothing, so an ActivityNet
video listed twice in train.json would lose its first entry's sentences without a word. `parse_json`
parses with a check on every object (the C parser still does the work; the check is one `dict` and a
length compare per object) and, only when a repeat is found, scans the text again to name where it is.
"""
from __future__ import annotations

import bisect
import json
import re
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdata.corpora import base  # the module, for gc_paused at call time: base imports this module first
from mmdata.errors import CorpusFormatError


class RepeatedKeyFound(Exception):
    """An object of the text names `key` twice (raised by `UNIQUE_KEYS_DECODER`; `repeated_keys` says where)."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        raise RepeatedKeyFound(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return obj


_PLAIN = json.JSONDecoder()
#: A JSON decoder that raises `RepeatedKeyFound` for an object naming a key twice (a row of a JSONL file).
UNIQUE_KEYS_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)

#: What a repeated-key error or problem asks for.
REPEATED_KEY_HINT = "merge the two entries into one or remove one, then load again"


@dataclass(frozen=True)
class RepeatedKey:
    """A key that an object of a JSON file names again."""

    steps: tuple[str | int, ...]  # the steps from the top to the object (() for the top-level object)
    key: str
    first: str  # `line:column` of its first occurrence
    where: str  # `file:line:column` of this occurrence
    #: This occurrence's value and the first's (read only for a key of the object of entries, see `parse_json`).
    value: Any = None
    first_value: Any = None

    @property
    def label(self) -> str:
        """`the object at videos[3].meta` (steps named as `JsonLocator` names them); `the top-level object`."""
        label = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in self.steps).lstrip(".")
        return f"the object at {label}" if label else "the top-level object"


def parse_json(path: Path, text: str, repeated_entries: list[RepeatedKey] | None = None,
               entries_at: tuple[str | int, ...] = ()) -> Any:
    """The JSON value in `text` (read from `path`), refusing a key an object names twice.

    With `repeated_entries`, a key that the object of entries at `entries_at` repeats (the top level by
    default: an id-keyed file such as ActivityNet's train.json listing a video twice; `("database",)` for
    YouCook2's) keeps its first value and each later one is appended there, for the caller to record as a
    problem; a repeat in any other object is still refused.

    Raises:
        json.JSONDecodeError: invalid JSON.
        RecursionError: nested too deeply.
        CorpusFormatError: a repeated key, named `file:line:column` with the object it is in.
    """
    try:
        with base.gc_paused():
            return UNIQUE_KEYS_DECODER.decode(text)
    except RepeatedKeyFound:
        pass
    if repeated_entries is None:
        raise repeated_key_error(next(repeated_keys(path, text)))
    with base.gc_paused():
        data = _PLAIN.decode(text)  # the whole text is checked for syntax before the repeats are scanned
    for repeat in repeated_keys(path, text, values_at=entries_at):
        if repeat.steps != entries_at:
            raise repeated_key_error(repeat)
        repeated_entries.append(repeat)
    entries = data
    for step in entries_at if repeated_entries else ():
        entries = entries[step]
    for repeat in repeated_entries:  # the first value of each repeated key, as a loader reads entries in order
        entries[repeat.key] = repeat.first_value
    return data


def repeated_key_error(repeat: RepeatedKey) -> CorpusFormatError:
    """The error refusing a file for `repeat`."""
    return CorpusFormatError(
        f"{repeat.where}: repeated key {repeat.key!r} in {repeat.label} (first at line {repeat.first}); expected "
        f"each key once in a JSON object: a JSON reader keeps only one of the values, so an entry would be lost "
        f"silently; {REPEATED_KEY_HINT}")


def repeated_keys(path: Path, text: str, start: int = 0, steps: tuple[str | int, ...] = (), *,
                  values_at: tuple[str | int, ...] = (), lines: _Lines | None = None) -> Iterator[RepeatedKey]:
    """Each repeated key of the JSON value at `start`, in the order of the text (the text up to the first is
    valid JSON when the parse stopped there). A repeat in the object at `values_at` (the top level by
    default) carries its value and its first's. `lines`: the text's line starts, found once for all the
    repeats named (counting the newlines before each one anew made thousands of repeats in a 50 MB file take
    minutes)."""
    lines = lines or _Lines(text)
    start = skip_json_space(text, start)
    opening = text[start]
    if opening not in "[{":
        return
    pos, index, seen = skip_json_space(text, start + 1), 0, {}
    while text[pos] not in "]}":
        if opening == "{":
            key_at = pos
            step, pos = _PLAIN.raw_decode(text, pos)
            pos = skip_json_space(text, skip_json_space(text, pos) + 1)  # past ':'
            if step in seen:
                first_key_at, first_value_at = seen[step]
                values = (_value_at(text, pos), _value_at(text, first_value_at)) if steps == values_at else (None, None)
                yield RepeatedKey(steps, step, lines.line_column(first_key_at), f"{path}:{lines.line_column(key_at)}",
                                  *values)
            else:
                seen[step] = (key_at, pos)
        else:
            step, index = index, index + 1
        value_at = pos
        try:
            _, pos = UNIQUE_KEYS_DECODER.raw_decode(text, pos)
        except RepeatedKeyFound:
            yield from repeated_keys(path, text, value_at, (*steps, step), values_at=values_at, lines=lines)
            _, pos = _PLAIN.raw_decode(text, value_at)
        pos = skip_json_space(text, pos)
        if text[pos] == ",":
            pos = skip_json_space(text, pos + 1)


def skip_json_space(text: str, pos: int) -> int:
    """The offset of the first character at or after `pos` that is not JSON white space."""
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _value_at(text: str, pos: int) -> Any:
    """The JSON value at `pos` (a top-level repeat's, or its first's)."""
    return _PLAIN.raw_decode(text, pos)[0]


def newline_offsets(text: str) -> array:
    """The offsets of the text's newlines, in order (what `line_and_column` counts lines with)."""
    return array("q", (match.start() for match in re.finditer("\n", text)))


def line_and_column(newlines: Sequence[int], pos: int) -> tuple[int, int]:
    """1-based (line, column) of offset `pos`, counted as `json.JSONDecodeError` counts them, from the text's
    `newline_offsets` (found once for every position asked: `text.rfind` per position is quadratic)."""
    before = bisect.bisect_left(newlines, pos)  # newlines before pos
    return before + 1, pos - newlines[before - 1] if before else pos + 1


class _Lines:
    """Where the lines of a text start, found at the first position asked (only a file with a repeat asks)."""

    def __init__(self, text: str):
        self.text = text
        self.newlines: array | None = None

    def line_column(self, pos: int) -> str:
        """`line:column` of offset `pos`, counted as `json.JSONDecodeError` counts them."""
        if self.newlines is None:
            self.newlines = newline_offsets(self.text)
        line, column = line_and_column(self.newlines, pos)
        return f"{line}:{column}"


__all__ = ["REPEATED_KEY_HINT", "UNIQUE_KEYS_DECODER", "RepeatedKey", "RepeatedKeyFound", "parse_json", "repeated_key_error", "repeated_keys", "skip_json_space"]
