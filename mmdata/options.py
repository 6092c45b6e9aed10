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

from mmdata.errors import ArgumentTypeError, ConfigError

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


# --- arguments of the Python API ----------------------------------------------------------------------
# What a notebook user passes to `extract`, `align_dataset`, `fuse` ... is checked here, before
# anything is read or written, so a wrong value is one ConfigError naming the argument, not a
# manifest recording it or an error from deep inside a run.


def literal_choices(literal: Any) -> tuple[Any, ...]:
    """The values a `Literal[...]` type allows (nested Literals and Unions of them flattened):
    `literal_choices(OnMissing)` -> ('drop', 'impute', 'error')."""
    choices: list[Any] = []
    for arg in get_args(literal):
        if get_origin(arg) in (Literal, typing.Union, types.UnionType):
            choices += literal_choices(arg)
        elif get_origin(literal) is Literal:
            choices.append(arg)
    return tuple(choices)


def check_choice(argument: str, value: Any, choices: typing.Iterable[Any]) -> None:
    """Refuse `value` unless it is one of `choices`.

    Raises:
        ConfigError: naming the argument, the value, the allowed ones and the closest of them.
    """
    choices = list(choices)
    if isinstance(value, bool) or not isinstance(value, typing.Hashable) or value not in choices:
        raise ConfigError(f"{argument}={value!r} is not one of {choices}{did_you_mean(value, choices)}")


def check_flag(argument: str, value: Any) -> None:
    """Refuse a flag that is not True or False (`skip_pauses="no"` would read as True).

    Raises:
        ConfigError: naming the argument and the value.
    """
    if not isinstance(value, bool):
        raise ConfigError(f"{argument} must be True or False, got {value!r}")


def check_count(argument: str, value: Any, *, minimum: int = 1, optional: bool = False) -> None:
    """Refuse a count that is not a whole number of at least `minimum` (None too, where `optional`).

    Raises:
        ConfigError: naming the argument and the value.
    """
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{argument} must be a whole number, at least {minimum}"
                          f"{' (or None)' if optional else ''}, got {value!r}")


def name_list(value: Any, *, argument: str, item_types: tuple[type, ...] = (str,)) -> list[Any]:
    """A list of names as the API takes them: a string is one name or a comma-separated list of them
    (`"audio.covarep,text.words"`), any other iterable is taken item by item (each a str, or one of
    `item_types`). Without it a string would be read character by character ("no table 'a'").

    Raises:
        ConfigError: a value of another kind, a set (its order changes from run to run, and a table's
            place in a fused vector follows it), or an item that is not a str, naming `argument`.
    """
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (set, frozenset)):  # its order changes from run to run (string hashing is salted)
        raise ConfigError(f"{argument}: got a set, {value!r}, whose order changes from run to run; pass a list or "
                          "tuple in the order wanted (sorted(...) gives name order)")
    if isinstance(value, typing.Iterable) and not isinstance(value, (bytes, Mapping)):
        items = list(value)
        bad = [item for item in items if not isinstance(item, item_types)]
        if not bad:
            return items
        raise ConfigError(f"{argument}: expected names (str), got {bad[0]!r} ({type(bad[0]).__name__}) among {items!r}")
    raise ConfigError(f"{argument}: expected a name, a comma-separated string of names or a list of names, got "
                      f"{value!r} ({type(value).__name__})")


def optional_name_list(value: Any, *, argument: str) -> list[str] | None:
    """`name_list`, with None kept as None (the function's default choice of names)."""
    return None if value is None else name_list(value, argument=argument)


def spec_list(value: Any, *, argument: str, item_types: tuple[type, ...] = (str,)) -> list[Any]:
    """`name_list` for specs with options (`"color-hist:bins=8,decode_size=64,minilm"`): in a string,
    a comma followed by `KEY=` separates options of the spec before it, any other comma two specs.
    A spec whose option value holds a comma is passed in a list, where each item is taken whole."""
    if not isinstance(value, str):
        return name_list(value, argument=argument, item_types=item_types)
    specs: list[str] = []
    for piece in value.split(","):
        if specs and ":" in specs[-1] and _KEY_RE.match(piece):
            specs[-1] += "," + piece
        elif piece.strip():
            specs.append(piece.strip())
    return specs


def key_value_mapping(value: Any, *, argument: str) -> dict[str, Any]:
    """Options as a dict: a mapping with str keys as it is, or `"k=v,k=v"` text read as the command
    line's `-o KEY=VALUE` (`split_options`: quotes keep a value whole); None is no option.

    Raises:
        ConfigError: another kind of value, a key that is not a str, or text that is not KEY=VALUE pieces.
    """
    if value is None:
        return {}
    if isinstance(value, Mapping):
        bad = next((key for key in value if not isinstance(key, str)), None)
        if bad is not None:
            raise ConfigError(f"{argument}: expected str keys, got {bad!r} ({type(bad).__name__})")
        return dict(value)
    if isinstance(value, str):
        return split_options(value, owner=argument)
    raise ConfigError(f"{argument}: expected a dict of options or 'KEY=VALUE,KEY=VALUE' text, got {value!r} "
                      f"({type(value).__name__})")


def dataset_path(value: Any, *, argument: str = "dataset_dir") -> Any:
    """Where a dataset lies: a path (str or os.PathLike) as a Path, or a `Dataset` (what `open_dataset`
    returns) as its root, so that an opened dataset can be passed wherever a directory is taken.

    Raises:
        ConfigError: another kind of value, naming `argument`.
    """
    from mmdata.store.reader import Dataset

    if isinstance(value, Dataset):
        return value.root
    return path_argument(value, argument=argument, what="a dataset directory (str or Path) or a Dataset (`open_dataset`)")


def path_argument(value: Any, *, argument: str, what: str = "a path (str or Path)") -> Any:
    """`value` as a Path, where it is a str or os.PathLike, with a leading `~` expanded to the home folder
    (as a shell does: left as it is, `~/out` was a folder named `~` to Python and the home folder to Arrow).

    Raises:
        ArgumentTypeError: another kind of value (a ConfigError and a TypeError), naming `argument`.
    """
    import os
    from pathlib import Path

    if isinstance(value, (str, os.PathLike)):
        return Path(value).expanduser()
    raise ArgumentTypeError(f"{argument}: expected {what}, got {value!r} ({type(value).__name__})")


def short_repr(kind: str, lines: typing.Iterable[str]) -> str:
    """A report as a notebook shows it: `Kind(` then one indented fact per line, then `)`."""
    return "\n".join([f"{kind}(", *(f"  {line}" for line in lines), ")"])
