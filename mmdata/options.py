"""Typed option dataclasses built from `key=value` strings (CLI flags, recipe files)."""
from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin

from mmdata.errors import ConfigError


def build_options(options_type: type, values: Mapping[str, Any], *, owner: str) -> Any:
    """Instantiate `options_type` from a mapping, converting strings to the declared field types.

    Raises:
        ConfigError: an unknown key (listing the known ones) or a value of the wrong type.
    """
    fields = {f.name: f for f in dataclasses.fields(options_type)}
    hints = typing.get_type_hints(options_type)
    kwargs = {}
    for key, raw in values.items():
        name = key.replace("-", "_")
        if name not in fields:
            raise ConfigError(f"{owner}: unknown option {key!r}; options: {sorted(fields) or 'none'}")
        kwargs[name] = convert_value(raw, hints[name], owner=f"{owner} option {key!r}")
    try:
        return options_type(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{owner}: {e}") from e


def parse_key_values(items: list[str] | tuple[str, ...], *, owner: str) -> dict[str, str]:
    """Parse ['a=1', 'b=x'] into {'a': '1', 'b': 'x'}."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{owner}: expected KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def convert_value(raw: Any, hint: Any, *, owner: str) -> Any:
    if not isinstance(raw, str):
        return raw
    origin, args = get_origin(hint), get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if raw.lower() in ("none", "null", "") and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return convert_value(raw, arg, owner=owner)
            except ConfigError:
                continue
        raise ConfigError(f"{owner}: cannot read {raw!r} as {hint}")
    if origin is Literal:
        if raw not in args:
            raise ConfigError(f"{owner}: {raw!r} is not one of {list(args)}")
        return raw
    if origin in (tuple, list):
        item_type = args[0] if args else str
        items = [convert_value(part.strip(), item_type, owner=owner) for part in raw.split("+") if part.strip()]
        return tuple(items) if origin is tuple else items
    if hint is bool:
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{owner}: expected true/false, got {raw!r}")
    if hint in (int, float):
        try:
            return hint(raw)
        except ValueError:
            raise ConfigError(f"{owner}: expected {hint.__name__}, got {raw!r}") from None
    return raw


def options_to_json(options: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(options).items()}
