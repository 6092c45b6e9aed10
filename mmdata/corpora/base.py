"""The loader contract and registry: every corpus kind has the same signature.

    @register_corpus("coco", CocoOptions)
    def load_coco(corpus_dir: Path, options: CocoOptions, split: str | None) -> LoadResult: ...

A loader parses the corpus's native annotation files strictly (a malformed line raises
`CorpusFormatError` with `file:line`), returns `Sample` records with media paths relative to
`corpus_dir`, and reports per-sample problems (a caption naming an unknown image, a duplicate
id) as `LoadProblem`s instead of dropping them silently; the pipeline records them in the
errors table or stops, per `on_error`.
"""
from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.errors import CorpusFormatError, CorpusNotFoundError, MediaError, UnknownCorpusError
from mmdata.options import build_options
from mmdata.records import Sample


@dataclass(frozen=True)
class LoadProblem:
    """A sample-level problem found while loading (becomes an errors-table row)."""

    sample_id: str | None
    path: str  # `file:line` or a media path
    reason: str


@dataclass
class LoadResult:
    samples: list[Sample]
    problems: list[LoadProblem] = field(default_factory=list)


Loader = Callable[[Path, Any, "str | None"], LoadResult]


@dataclass(frozen=True)
class CorpusKind:
    name: str
    load: Loader
    options_type: type
    description: str


_REGISTRY: dict[str, CorpusKind] = {}


def register_corpus(name: str, options_type: type) -> Callable[[Loader], Loader]:
    """Decorator registering a loader function under a stable kebab-case corpus kind."""

    def decorate(load: Loader) -> Loader:
        if name in _REGISTRY:
            raise ValueError(f"corpus kind {name!r} is already registered")
        doc = (load.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = CorpusKind(name, load, options_type, doc[0] if doc else "")
        return load

    return decorate


def available_corpora() -> list[str]:
    _load_builtin_loaders()
    return sorted(_REGISTRY)


def get_corpus_kind(name: str) -> CorpusKind:
    _load_builtin_loaders()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownCorpusError(f"unknown corpus kind {name!r}; available: {available_corpora()}") from None


def load_corpus(kind: str, corpus_dir: str | Path, *, split: str | None = None, options: dict[str, Any] | None = None) -> LoadResult:
    """Load any registered corpus kind into samples.

    Example:
        >>> result = load_corpus("coco", "/data/coco", split="val2017")
        >>> len(result.samples)
    """
    corpus = get_corpus_kind(kind)
    root = require_dir(corpus_dir)
    opts = build_options(corpus.options_type, options or {}, owner=f"corpus {kind!r}")
    return corpus.load(root, opts, split)


# --- helpers shared by loaders -------------------------------------------------------------


def require_dir(path: str | Path) -> Path:
    root = Path(path)
    if not root.is_dir():
        raise CorpusNotFoundError(f"corpus root not found: {root}")
    return root


def require_file(path: Path, what: str, hint: str = "") -> Path:
    if not path.is_file():
        raise CorpusNotFoundError(f"{what} not found: {path}" + (f"; {hint}" if hint else ""))
    return path


def read_text(path: Path) -> str:
    """Read a UTF-8 annotation file; bad bytes raise CorpusFormatError with the line number."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise CorpusFormatError(
            f"{path}:{line}: not valid UTF-8 (byte {data[e.start]:#04x} at offset {e.start}); "
            "re-encode the file as UTF-8"
        ) from e


def read_json(path: Path) -> Any:
    """Parse a JSON annotation file; errors name `file:line:column`."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CorpusFormatError(f"{path}:{e.lineno}:{e.colno}: invalid JSON ({e.msg})") from e
    except RecursionError as e:
        raise CorpusFormatError(f"{path}: JSON nested too deeply") from e


def expect(condition: bool, path: Path | str, message: str) -> None:
    """Raise CorpusFormatError(`path: message`) unless `condition` holds."""
    if not condition:
        raise CorpusFormatError(f"{path}: {message}")


def read_csv_rows(path: Path, *, delimiter: str = ",") -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) pairs of a CSV file, values stripped."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CorpusFormatError(f"{path}:1: empty file, expected a header row") from None
    except csv.Error as e:
        raise CorpusFormatError(f"{path}:1: {e}") from e
    rows = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise CorpusFormatError(
                    f"{path}:{reader.line_num}: expected {len(header)} fields ({delimiter.join(header)}), "
                    f"got {len(values)}: {delimiter.join(values)[:120]!r}"
                )
            rows.append((reader.line_num, {h: v.strip() for h, v in zip(header, values)}))
    except csv.Error as e:
        raise CorpusFormatError(f"{path}:{reader.line_num}: {e}") from e
    return header, rows


def safe_relative_path(corpus_dir: Path, relative: str, *, where: str, allow_outside: bool = False) -> str:
    """Validate a media path from an annotation file and return it relative to the corpus root.

    Paths that escape the root (`../`, absolute paths, symlinks out) are refused unless
    `allow_outside` is set, in which case the absolute resolved path is returned.
    """
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        raise CorpusFormatError(f"{where}: expected a non-empty media path, got {relative!r}")
    candidate = Path(relative)
    resolved_root = corpus_dir.resolve()
    resolved = (corpus_dir / candidate).resolve() if not candidate.is_absolute() else candidate.resolve()
    inside = resolved == resolved_root or resolved_root in resolved.parents
    if inside and not candidate.is_absolute():
        return candidate.as_posix()
    if allow_outside:
        return str(resolved)
    raise CorpusFormatError(
        f"{where}: media path {relative!r} points outside the corpus root {corpus_dir}; "
        "pass the option allow_outside_root=true if that is intended"
    )


def resolve_media(corpus_root: Path, relative: str) -> Path:
    """The absolute path of a media reference from the samples table (relative or absolute)."""
    path = Path(relative)
    return path if path.is_absolute() else corpus_root / path


def check_media_file(path: Path) -> None:
    if not path.is_file():
        raise MediaError(f"media file not found: {path}")
    if os.path.getsize(path) == 0:
        raise MediaError(f"media file is empty (0 bytes): {path}")


def _load_builtin_loaders() -> None:
    import mmdata.corpora.builtin  # noqa: F401
