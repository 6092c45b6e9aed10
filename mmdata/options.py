"""Typed option dataclasses built from `key=value` strings (CLI flags, recipe files).

Option strings as users type them (in an extractor spec `NAME:KEY=VALUE,...`, or `-o KEY=VALUE`):

    bins=8, decode_size=64           spaces around separators are ignored
    weights=/models/a,b.pth          in a spec, a piece without its own `KEY=` belongs to the previous value
    weights="/models/a=b,c.pth"      quotes (single or double) keep a value whole, and are removed
    f_max=none                       none, null or an empty value is None for an optional field
    normalize=yes                    booleans: true/false, yes/no, on/off, 1/0
    bins=8.0                         a whole number written as a float is an int (8.5 is an error)
    fps=2                            an int is a float where a float is expected (nan and inf are errors)
    tables=a+b                       a list or tuple field takes items separated by '+'

A key given twice, an unknown key (the valid ones listed, the closest suggested) and a value that
does not fit its field are `ConfigError`s naming the owner, the key and what was expected.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import re
import types
import typing
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, Literal, get_args, get_origin

from mmdata.errors import ConfigError

_KEY_RE = re.compile(r"\s*[A-Za-z_][A-Za-z0-9_-]*\s*=")
_QUOTES = ("'", '"')


def build_options(options_type: type, values: Mapping[str, Any], *, owner: str) -> Any:
    """Instantiate `options_type` from a mapping, converting strings to the declared field types.

    Keys may be written with '-' for '_' (`decode-size` = `decode_size`).

    Raises:
        ConfigError: an unknown key (listing the known ones), a key given twice, a value of the wrong
            type, or a value the dataclass rejects (its ValueError, as one line naming `owner`).
    """
    fields = {f.name: f for f in dataclasses.fields(options_type)}
    hints = typing.get_type_hints(options_type)
    kwargs = {}
    for key, raw in values.items():
        name = key.replace("-", "_")
        if name not in fields:
            raise ConfigError(f"{owner}: unknown option {key!r}; options: {sorted(fields) or 'none'}"
                              f"{did_you_mean(name, fields)}")
        if name in kwargs:
            raise ConfigError(f"{owner}: option {name!r} is given twice; give it once")
        kwargs[name] = convert_value(raw, hints[name], owner=f"{owner} option {key!r}")
    try:
        return options_type(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{owner}: {e}") from e


def split_options(text: str, *, owner: str) -> dict[str, str]:
    """Parse `key=value,key=value` (the part of an extractor spec after ':') into a dict.

    A comma separates options only where a `KEY=` follows it, so values may hold commas
    (`weights=/models/a,b.pth`); a value in quotes is taken whole, quotes removed.

    Raises:
        ConfigError: a piece that is not KEY=VALUE, or a key given twice.
    """
    items: list[str] = []
    piece, quote = "", None
    for char in text:
        if quote is None and char in _QUOTES and "=" in piece and not piece.partition("=")[2].strip():
            quote = char  # a quote opening a value
        elif char == quote:
            quote = None
        elif char == "," and quote is None:
            items.append(piece)
            piece = ""
            continue
        piece += char
    if quote is not None:
        raise ConfigError(f"{owner}: unclosed {quote} in {text!r}; close the quoted value")
    items.append(piece)
    merged: list[str] = []
    for item in (i for i in items if i.strip()):
        if merged and not _KEY_RE.match(item):
            merged[-1] += "," + item  # a comma inside a value, not a separator
        else:
            merged.append(item)
    return parse_key_values(merged, owner=owner)


def parse_key_values(items: list[str] | tuple[str, ...], *, owner: str) -> dict[str, str]:
    """Parse ['a=1', 'b=x'] into {'a': '1', 'b': 'x'} (spaces around key and value stripped, quotes
    around the value removed).

    Raises:
        ConfigError: an item that is not KEY=VALUE, or a key given twice.
    """
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ConfigError(f"{owner}: expected KEY=VALUE, got {item.strip()!r}")
        if len(value) >= 2 and value[0] in _QUOTES and value[-1] == value[0]:
            value = value[1:-1]
        if any(k.replace("-", "_") == key.replace("-", "_") for k in out):
            raise ConfigError(f"{owner}: option {key!r} is given twice; give it once")
        out[key] = value
    return out


def convert_value(raw: Any, hint: Any, *, owner: str) -> Any:
    """`raw` as a value of the type `hint`: strings are parsed, numbers and booleans checked.

    Raises:
        ConfigError: `raw` cannot be read as `hint` (the message names `owner` and what was expected).
    """
    origin, args = get_origin(hint), get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (raw is None or (isinstance(raw, str) and raw.lower() in ("none", "null", ""))):
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return convert_value(raw, arg, owner=owner)
            except ConfigError:
                continue
        expected = " or ".join(_type_name(a) for a in args)
        raise ConfigError(f"{owner}: expected {expected}, got {raw!r}")
    if origin is Literal:
        if raw not in args:
            raise ConfigError(f"{owner}: {raw!r} is not one of {list(args)}{did_you_mean(raw, args)}")
        return raw
    if isinstance(raw, (list, tuple)) and origin in (tuple, list):
        items = [convert_value(item, args[0] if args else str, owner=owner) for item in raw]
        return tuple(items) if origin is tuple else items
    if hint in (bool, int, float):
        return _convert_scalar(raw, hint, owner=owner)
    if not isinstance(raw, str):
        return raw
    if origin in (tuple, list):
        item_type = args[0] if args else str
        items = [convert_value(part.strip(), item_type, owner=owner) for part in raw.split("+") if part.strip()]
        return tuple(items) if origin is tuple else items
    return raw


def _convert_scalar(raw: Any, hint: type, *, owner: str) -> Any:
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        lowered = str(raw).strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{owner}: expected true/false, got {raw!r} (yes/no, on/off and 1/0 work too)")
    number: Any = math.nan
    if isinstance(raw, str):
        text = raw.strip()
        if hint is int and re.fullmatch(r"[+-]?\d+", text):
            return int(text)  # exact, whatever its size
        try:
            number = float(text)
        except ValueError:
            pass
    elif isinstance(raw, numbers.Real) and not isinstance(raw, bool):
        number = raw
    if hint is int and isinstance(number, numbers.Integral):
        return int(number)
    try:
        if math.isfinite(number) and (hint is float or float(number).is_integer()):
            return hint(number)  # int(8.0) = 8
    except OverflowError:
        pass
    raise ConfigError(f"{owner}: expected {'int' if hint is int else 'a finite float'}, got {raw!r}")


def option_text(value: Any) -> str:
    """`value` as the VALUE of `KEY=VALUE` text that `convert_value` reads back: booleans as
    true/false, None as none, lists and tuples as '+'-separated items.

    Raises:
        ConfigError: a value of another kind (a table, a list of lists).
    """
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        return "+".join(str(v) for v in value)
    shown = repr(value)
    raise ConfigError(f"expected a string, number, boolean or list of them, got "
                      f"{shown if len(shown) <= 80 else shown[:77] + '...'}")


def did_you_mean(value: Any, choices: typing.Iterable[Any]) -> str:
    """A "; did you mean 'x'?" suffix naming the choice closest to `value` ('_'/'-' and case ignored),
    or "" when none is close."""
    if not isinstance(value, str):
        return ""
    by_norm = {_normalized(str(c)): c for c in choices}
    close = difflib.get_close_matches(_normalized(value), list(by_norm), n=1)
    return f"; did you mean {by_norm[close[0]]!r}?" if close else ""


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-")


def _type_name(hint: Any) -> str:
    return "none" if hint is type(None) else getattr(hint, "__name__", str(hint))


def options_to_json(options: Any) -> dict[str, Any]:
    """An options dataclass as the JSON a table's provenance records (and a resume compares with
    what the manifest read back): tuples, nested ones too, as lists, paths as strings, numpy
    scalars as numbers; nested dataclasses as objects.

    Raises:
        ConfigError: a field holds a value JSON cannot hold (a set, an arbitrary object), naming the
            field and its type.
    """
    owner = type(options).__name__
    return {f.name: _json_value(getattr(options, f.name), f"{owner} field {f.name!r}") for f in dataclasses.fields(options)}


def _json_value(value: Any, where: str) -> Any:
    """`value` as the value json.loads gives back after json.dumps, or ConfigError naming `where`."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)  # numpy integers too
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):  # json.dumps writes NaN/Infinity, which strict JSON parsers refuse
            raise ConfigError(f"{where} is {float(value)!r}, which a table's provenance cannot record as JSON; expected "
                              "a finite number (use None for 'no value')")
        return float(value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(item, where) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json_value(getattr(value, f.name), f"{where}.{f.name}") for f in dataclasses.fields(value)}
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _json_value(v, where) for k, v in value.items()}
    shown = repr(value)
    raise ConfigError(f"{where} holds {shown if len(shown) <= 80 else shown[:77] + '...'} ({type(value).__name__}), "
                      "which a table's provenance cannot record as JSON; expected None, a string, number, boolean or "
                      "path, or a list, tuple or str-keyed dict of them: give the field one of these types")
