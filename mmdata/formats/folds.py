"""Fold files: which video belongs to which split (train / valid / test).

Two forms are read:
    folds.json                {"train": ["03bSnISJMiM", ...], "valid": [...], "test": [...]}
    cmu_mosi_std_folds.py     standard_train_fold=['2iD-tVS8NPw', ...]  (the SDK's module; parsed
                              with `ast` and never executed, so a fold file cannot run code)
Variable names containing train / valid (or dev) / test name the splits; a video in two folds is
an error.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

from mmdata.corpora.base import read_json, read_text
from mmdata.errors import CorpusFormatError, CorpusNotFoundError


def resolve_folds_path(folds: str | Path, corpus_dir: Path | None = None) -> Path:
    """The folds file a user named, read as typed: an absolute path as it is; a relative one from
    the current directory when it exists there, else (given `corpus_dir`, as the corpus options
    have always read it) from the corpus root.

    Raises:
        CorpusNotFoundError: the file is in none of those places (the message lists each).
    """
    path = Path(folds)
    tried = [path] if path.is_absolute() else [Path.cwd() / path] + ([corpus_dir / path] if corpus_dir else [])
    for candidate in tried:
        if candidate.is_file():
            return candidate
    order = "" if path.is_absolute() else \
        " (a relative path is read from the current directory" + (", then the corpus root)" if corpus_dir else ")")
    raise CorpusNotFoundError(f"folds file not found: {' or '.join(map(str, tried))}{order}; expected a JSON "
                              "{split: [video ids]} or the SDK's *_std_folds.py")


def read_folds(path: Path) -> dict[str, str]:
    """video id -> split, from JSON {split: [ids]} or assignments `standard_train_fold = [...]` in a .py file."""
    if not path.is_file():
        raise CorpusNotFoundError(f"folds file not found: {path}")
    if path.suffix == ".py":
        folds = _read_python_folds(path)
    else:
        folds = read_json(path)
        ok = isinstance(folds, dict) and all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in folds.values())
        if not ok:
            raise CorpusFormatError(f"{path}: expected a JSON object {{split: [video ids]}}, got {json.dumps(folds)[:80]}")
    out: dict[str, str] = {}
    for split, ids in folds.items():
        for vid in ids:
            if vid in out and out[vid] != split:
                raise CorpusFormatError(f"{path}: video {vid!r} is in both folds {out[vid]!r} and {split!r}; expected one fold per video")
            out[vid] = split
    return out


def _read_python_folds(path: Path) -> dict[str, list[str]]:
    try:
        tree = ast.parse(read_text(path), filename=str(path))
    except SyntaxError as e:
        raise CorpusFormatError(f"{path}:{e.lineno}: not valid Python ({e.msg})") from e
    folds: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                folds[_split_name(node.targets[0].id)] = list(value)
    if not folds:
        raise CorpusFormatError(f"{path}: no `name = [video ids]` assignments found; expected e.g. standard_train_fold = [...]")
    return folds


def _split_name(variable: str) -> str:
    lowered = variable.lower()
    for key, split in (("train", "train"), ("valid", "valid"), ("dev", "valid"), ("test", "test")):
        if key in lowered:
            return split
    return variable
