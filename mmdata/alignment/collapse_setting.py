"""How an `align` output records its collapse: a name, and for a function a fingerprint of its code.

    collapse_config("mean")                      -> {"collapse": "mean"}
    collapse_config(lambda i, f: f.max(0))       -> {"collapse": "<lambda>", "collapse_code": "3f9c0a..."}

A rerun with the same settings skips what an earlier run wrote, so the settings must tell two
collapse functions apart. Their names alone do not: every lambda is `<lambda>`, and a function
edited between runs keeps its name; a rerun with another function would report the outputs as up to
date and keep the old values. The fingerprint covers the function's bytecode, constants, names,
defaults, the values its closure captured and a `functools.partial`'s arguments; it leaves out line
numbers and memory addresses, so moving a function or starting a new process does not change it.
"""
from __future__ import annotations

import functools
import hashlib
import re
import types
from collections.abc import Callable
from typing import Any

import numpy as np

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def collapse_config(collapse: str | Callable[..., Any]) -> dict[str, str]:
    """The config keys of an aligned table that record `collapse` (a name, or a function)."""
    if isinstance(collapse, str):
        return {"collapse": collapse}
    return {"collapse": _name(collapse), "collapse_code": function_fingerprint(collapse)}


def _name(fn: Any) -> str:
    """`weighted_mean`, `<lambda>`, `partial(quantile)` (a partial's repr holds a memory address)."""
    if isinstance(fn, functools.partial):
        return f"partial({_name(fn.func)})"
    return getattr(fn, "__qualname__", type(fn).__qualname__)


def function_fingerprint(fn: Callable[..., Any], _seen: frozenset[int] = frozenset()) -> str:
    """16 hex digits that change when what `fn` computes may have changed (see the module docstring)."""
    if id(fn) in _seen:  # a recursive function capturing itself
        return "<recursion>"
    return hashlib.sha256("\n".join(_function_parts(fn, _seen | {id(fn)})).encode()).hexdigest()[:16]


def _function_parts(fn: Any, seen: frozenset[int]) -> list[str]:
    if isinstance(fn, functools.partial):
        return ["partial", _stable_repr(fn.args), _stable_repr(sorted(fn.keywords.items())),
                *_function_parts(fn.func, seen)]
    target = fn if hasattr(fn, "__code__") else getattr(type(fn), "__call__", None)  # an instance: its __call__
    code = getattr(target, "__code__", None)
    if code is None:  # a builtin or numpy ufunc: its name says what it computes
        return [f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"]
    cells = getattr(target, "__closure__", None) or ()
    return [*_code_parts(code), _stable_repr(getattr(target, "__defaults__", None)),
            *(_cell_repr(cell, seen) for cell in cells),
            *([_stable_repr(vars(fn))] if target is not fn and hasattr(fn, "__dict__") else [])]


def _code_parts(code: types.CodeType) -> list[str]:
    parts = [code.co_code.hex(), repr(code.co_names)]
    for const in code.co_consts:  # a nested function's code object: its parts, not its address
        parts += _code_parts(const) if isinstance(const, types.CodeType) else [_stable_repr(const)]
    return parts


def _cell_repr(cell: Any, seen: frozenset[int]) -> str:
    try:
        value = cell.cell_contents
    except ValueError:  # an empty cell
        return "<empty>"
    if callable(value) and not isinstance(value, type):
        return function_fingerprint(value, seen)
    return _stable_repr(value)


def _stable_repr(value: Any) -> str:
    """repr without memory addresses; an array by its bytes (numpy shortens the repr of a large one)."""
    if isinstance(value, np.ndarray):
        return f"array{value.shape}{value.dtype}:{hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()}"
    return _ADDRESS.sub("", repr(value))
