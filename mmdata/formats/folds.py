"""Fold files: which video belongs to which split (train / valid / test).

Two forms are read:
    folds.json                {"train": ["03bSnISJMiM", ...], "valid": [...], "test": [...]}
    cmu_mosi_std_folds.py     standard_train_fold=['2iD-tVS8NPw', ...]  (the SDK's module; parsed
                              with `ast` and never executed, so a fold file cannot run code)
In a .py file, the lists assigned to names containing train / valid (or dev) / test are the splits
(dev is read as valid, as the SDK's modules name it; other lists are ignored; two lists for one
split, or one holding anything but strings, are errors). In JSON the split names are kept as
written. A video in two folds is an error. Video ids are strings, also those that look like
numbers ("0042" is not 42), so a number in a fold is an error naming the split and the item.

`report_fold_coverage` names the videos of a corpus in no fold and the fold ids that are no video
of it (a folds file of another corpus, or one whose videos were dropped).
"""
from __future__ import annotations

import ast
import json
import logging
from collections.abc import Iterable
from pathlib import Path

from mmdata.corpora.base import read_json, read_text
from mmdata.errors import CorpusFormatError, CorpusNotFoundError

log = logging.getLogger(__name__)
_FORMS = "a JSON object {split: [video ids]} or the SDK's *_std_folds.py (standard_train_fold = [...])"


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


#: The SDK's fold names, as a JSON dump of its `*_std_folds` keeps them, and the splits they are.
SDK_FOLD_SPLITS = {"standard_train_fold": "train", "standard_valid_fold": "valid", "standard_test_fold": "test"}


def read_folds(path: Path) -> dict[str, str]:
    """video id -> split, from JSON {split: [ids]} (the SDK's names `standard_train_fold`, ... are the
    splits train, valid and test) or assignments `standard_train_fold = [...]` in a .py file."""
    if not path.is_file():
        raise CorpusNotFoundError(f"folds file not found: {path}")
    if path.suffix == ".py":
        folds = _read_python_folds(path)
    else:
        try:
            folds = read_json(path)
        except CorpusFormatError as e:
            raise CorpusFormatError(f"{e}; expected {_FORMS}") from e
        _check_json_folds(path, folds)
    out: dict[str, str] = {}
    for fold, ids in folds.items():
        split = SDK_FOLD_SPLITS.get(fold, fold)
        for vid in ids:
            if vid in out and out[vid] != split:
                raise CorpusFormatError(f"{path}: video {vid!r} is in both folds {out[vid]!r} and {split!r}; expected one fold per video")
            out[vid] = split
    return out


def report_fold_coverage(path: Path, split_of: dict[str, str], video_ids: Iterable[str]) -> tuple[list[str], list[str]]:
    """(videos in no fold, fold ids that are no video), both sorted; a warning names a few of each."""
    videos = set(video_ids)
    unassigned, unknown = sorted(videos - set(split_of)), sorted(set(split_of) - videos)
    if unassigned:
        log.warning("%s: %d of %d videos are in no fold (split 'unassigned'), e.g. %s; expected the folds of this "
                    "corpus", path, len(unassigned), len(videos), ", ".join(unassigned[:3]))
    if unknown:
        log.warning("%s: %d of %d fold ids are no video of the corpus (or were dropped while loading), e.g. %s",
                    path, len(unknown), len(split_of), ", ".join(unknown[:3]))
    return unassigned, unknown


def _check_json_folds(path: Path, folds: object) -> None:
    if not isinstance(folds, dict):
        raise CorpusFormatError(f"{path}: expected {_FORMS}, got {json.dumps(folds)[:80]}")
    for split, ids in folds.items():
        if not isinstance(ids, list):
            raise CorpusFormatError(f"{path}: fold {split!r} is {json.dumps(ids)[:80]}; expected a list of video ids")
        for i, vid in enumerate(ids):
            if not isinstance(vid, str):
                hint = f'; quote ids that look like numbers: "{vid}"' if isinstance(vid, (int, float)) else ""
                raise CorpusFormatError(f"{path}: fold {split!r} item {i} is {json.dumps(vid)[:80]}; expected a video "
                                        f"id as a string{hint}")


def _read_python_folds(path: Path) -> dict[str, list[str]]:
    """Split -> ids from the module's list-of-strings assignments whose names say a split (`x = [...]`
    and `x, y = [...], [...]`); other assignments are left alone. Two lists naming one split are an
    error: which one the module meant cannot be told."""
    try:
        tree = ast.parse(read_text(path), filename=str(path))
    except SyntaxError as e:
        raise CorpusFormatError(f"{path}:{e.lineno}: not valid Python ({e.msg})") from e
    folds: dict[str, list[str]] = {}
    named: dict[str, str] = {}  # split -> the variable that gave it
    for node in tree.body:
        for name, value, line in _list_assignments(node):
            split = _split_name(name)
            if split is None:
                continue
            if split in folds:
                raise CorpusFormatError(f"{path}:{line}: {name} names split {split!r}, as {named[split]} does; "
                                        "expected one list per split (train, valid/dev, test)")
            bad = next((v for v in value if not isinstance(v, str)), None)
            if bad is not None:
                raise CorpusFormatError(f"{path}:{line}: {name} holds {bad!r}; expected video ids as strings "
                                        f"(quote ids that look like numbers: '{bad}')")
            folds[split], named[split] = value, name
    if not folds:
        raise CorpusFormatError(f"{path}: no `<split>_fold = [video ids]` assignments found (a name containing train, "
                                "valid, dev or test); expected e.g. standard_train_fold = [...]")
    return folds


def _list_assignments(node: ast.stmt) -> list[tuple[str, list[object], int]]:
    """(variable, list, line) for each name that `node` assigns a literal list or tuple."""
    if not isinstance(node, ast.Assign) or len(node.targets) != 1:
        return []
    target, value = node.targets[0], node.value
    if isinstance(target, ast.Name):
        pairs = [(target, value)]
    elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
            and len(target.elts) == len(value.elts):
        pairs = list(zip(target.elts, value.elts))
    else:
        return []
    out = []
    for name, expression in pairs:
        try:
            literal = ast.literal_eval(expression)
        except ValueError:
            continue
        if isinstance(name, ast.Name) and isinstance(literal, (list, tuple)):
            out.append((name.id, list(literal), node.lineno))
    return out


def _split_name(variable: str) -> str | None:
    """The split a variable's name says (dev is valid), or None."""
    lowered = variable.lower()
    for key, split in (("train", "train"), ("valid", "valid"), ("dev", "valid"), ("test", "test")):
        if key in lowered:
            return split
    return None
