"""What worker processes get of an extractor: it travels as its pickle (its class, by module and
name, and its config), and each worker rebuilds it from that.

    receive_extractor(payload)                   -> in a worker: the error unpickling raises, or None
    cannot_receive_message(ext, error, ...)      -> why workers cannot rebuild it, and what to do
    check_state_reaches(ext, received, ...)      -> raises when state outside the config would be lost
    lost_in_workers(ext, received)               -> the attributes the copy lacks

Shared by the local executor's decode workers and the Ray workers.
"""
from __future__ import annotations

import dataclasses
import enum
import inspect
import os
import pickle
import sys
from typing import Any

from mmdata.errors import ConfigError
from mmdata.features.base import Extractor


def receive_extractor(payload: bytes) -> str | None:
    """Runs in a worker: unpickle an extractor, as a task that carries it does (importing its class's
    module); the error that stops it, as text, or None. A task that cannot be unpickled kills its
    worker before it runs, so that error would only read as a crash."""
    try:
        pickle.loads(payload)
    except (Exception, SystemExit) as e:  # noqa: BLE001 - reported by the main process, naming the extractor
        return f"{type(e).__name__}: {e}"
    return None


def cannot_receive_message(extractor: Extractor, error: str, receivers: str, hint: str) -> str:
    """Why `receivers` cannot receive `extractor`: unpickling it there, which imports its class's module,
    raised `error`; `hint` says what else to do."""
    cls = type(extractor)
    return (f"{receivers} cannot receive extractor {extractor.name!r}: rebuilding it there, which imports its "
            f"class {cls.__module__}.{cls.__qualname__}, fails ({error}); its module {cls.__module__!r} must "
            f"import in a fresh Python process as it does here: install the package that has it, or put its "
            f"folder on PYTHONPATH, {hint}")


def check_state_reaches(extractor: Extractor, received: Extractor, receivers: str, hint: str) -> None:
    """Raise when `received` (`extractor` as `receivers` rebuild it from its pickle: from its config)
    lacks state that `extractor` holds, so that they would compute other features than this process.

    Raises:
        ConfigError: naming each attribute, its value here and there, and the config type it belongs in.
    """
    lost = lost_in_workers(extractor, received)
    if not lost:
        return
    config = type(extractor).config_type.__name__
    values = "; ".join(f"{name} = {here!r} here, {there} there" for name, here, there in lost)
    reads = ", ".join(f"self.config.{name.rpartition('.')[2]}" for name, _, _ in lost)
    raise ConfigError(
        f"extractor {extractor.name!r} (class {type(extractor).__qualname__}) holds state outside its config that "
        f"{receivers} would not get: {values}; they rebuild the extractor from its config ({config}) alone, so "
        f"its features would depend on where it runs, and the table's provenance would not record the value. Make "
        f"each a field of the extractor's config dataclass (its `config_type`) and read it as {reads}, {hint}")


#: The value an attribute has where the copy does not have it at all.
_ABSENT = object()


def lost_in_workers(extractor: Extractor, received: Extractor, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(attribute, value here, value in the copy) for each instance attribute of `extractor` that
    `received`, its copy as workers get it, does not hold: one set from a constructor argument or after
    construction. The config is sent as it is. Only plain values are compared (numbers, strings, paths,
    arrays, and containers of them): others (a loaded model, a cache, an open file) are built by each
    process for itself, as is a value either holds as None (one loaded on first use, or reset). An extractor held
    by another (`video-frames`' image extractor) is compared in turn."""
    theirs = getattr(received, "__dict__", {})
    lost = []
    for name, value in getattr(extractor, "__dict__", {}).items():
        if name == "config":
            continue
        other = theirs.get(name, _class_default(type(received), name))
        if isinstance(value, Extractor) and type(other) is type(value):
            lost += lost_in_workers(value, other, f"{prefix}{name}.")
        elif value is not None and other is not None and _is_plain(value) and (
                other is _ABSENT or not _same_value(value, other)):
            lost.append((prefix + name, value, "unset" if other is _ABSENT else repr(other)))
    return lost


def _class_default(cls: type, name: str) -> Any:
    """What an instance of `cls` without its own `name` reads: a plain class attribute; None for a
    descriptor (a property, a cached_property: computed in each process), `_ABSENT` without one."""
    default = inspect.getattr_static(cls, name, _ABSENT)
    if default is _ABSENT or _is_plain(default):
        return default
    return None


#: The largest container whose items are compared (larger ones are taken as data each process loads).
_MAX_COMPARED_ITEMS = 1000


def _is_plain(value: Any, depth: int = 0) -> bool:
    """Whether `value` is plain data compared by value: None, numbers, strings, bytes, paths, enums,
    NumPy arrays and scalars, dataclass instances, and small tuples, lists, sets and dicts of these."""
    numpy = sys.modules.get("numpy")
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, os.PathLike, enum.Enum)):
        return True
    if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)):
        return True
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return True
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (tuple, list, set, frozenset)):
        return depth < 4 and len(value) <= _MAX_COMPARED_ITEMS and all(_is_plain(v, depth + 1) for v in value)
    return False


def _same_value(here: Any, there: Any) -> bool:
    """Whether two plain values are equal (arrays by their items); values that cannot be compared are
    taken as equal (nothing to report)."""
    numpy = sys.modules.get("numpy")
    try:
        if numpy is not None and (isinstance(here, numpy.ndarray) or isinstance(there, numpy.ndarray)):
            return bool(numpy.array_equal(here, there))
        return bool(here == there)
    except Exception:  # noqa: BLE001 - an __eq__ that fails or returns an array: not reported
        return True
