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
import functools
import gc
import io
import json
import math
import os
import posixpath
import re
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdata.corpora.json_keys import RepeatedKey, line_and_column, newline_offsets, parse_json
from mmdata.corpora.json_keys import skip_json_space as _skip_space
from mmdata.errors import CorpusFormatError, CorpusNotFoundError, UnknownCorpusError
from mmdata.options import build_options, did_you_mean
from mmdata.records import Modality, Sample
from mmdata.store.metadata import FeatureSpec

if TYPE_CHECKING:
    import _csv


@dataclass(frozen=True)
class LoadProblem:
    """A sample-level problem found while loading (becomes an errors-table row)."""

    sample_id: str | None
    path: str  # `file:line` or a media path
    reason: str
    #: `REPEATED_ENTRY` for an entry left out because an earlier one loaded its sample (the id has a
    #: row, but not from this entry); the errors table's `error_type`.
    error_type: str = "CorpusFormatError"


#: The `error_type` of a `LoadProblem` for an annotation entry that repeats a sample already loaded.
REPEATED_ENTRY = "RepeatedEntry"


@dataclass(frozen=True)
class PrecomputedRow:
    """One sample's stored values in a precomputed table, or why it has none.

    `features` is (T, D) for a sequence table (with `intervals` (T, 2) seconds when the spec has
    intervals) or (D,) for a pooled one; `columns` holds the values of the table's extra columns
    (e.g. the word strings of `text.words`); `nonfinite` counts -inf/NaN values met (already
    replaced or kept per the loader's policy). A failed row has `error` set and no features.
    """

    sample_id: str
    features: Any = None
    intervals: Any = None
    columns: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    path: str | None = None
    nonfinite: int = 0


@dataclass(frozen=True)
class PrecomputedTable:
    """A feature table whose values are already in the corpus files (.csd sequences, processed pickles).

    `read(sample_ids)` yields one `PrecomputedRow` per id, in order; it is called once per samples
    shard and should read lazily (one video at a time) so memory stays bounded. The pipeline writes
    the table shard-aligned with the samples during `prepare_dataset`.
    """

    name: str  # "<modality>.<name>", e.g. "audio.covarep", "text.words", "video.facet-41"
    modality: Modality
    source: str  # where the values come from, e.g. "CMU_MOSI_COVAREP.csd (root 'COAVAREP')"
    spec: FeatureSpec
    read: Callable[[Sequence[str]], Iterable[PrecomputedRow]]
    config: dict[str, Any] = field(default_factory=dict)  # recorded in the manifest (file, root name, policies)
    extra_columns: dict[str, Any] = field(default_factory=dict)  # column name -> pyarrow type


@dataclass
class LoadResult:
    samples: list[Sample]
    problems: list[LoadProblem] = field(default_factory=list)
    #: Feature tables read from the corpus files themselves (no extractor to run).
    tables: list[PrecomputedTable] = field(default_factory=list)
    #: Corpus-level facts to keep in the manifest (`extra["loader"]`), e.g. the label file's metadata.
    metadata: dict[str, Any] = field(default_factory=dict)


#: Key of `LoadResult.metadata` listing the splits published without captions (COCO's test images):
#: `check` expects none there.
UNCAPTIONED_SPLITS_KEY = "uncaptioned_splits"

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
        raise UnknownCorpusError(f"unknown corpus kind {name!r}; available: {available_corpora()}"
                                 f"{did_you_mean(name, available_corpora())}") from None


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
    if root.is_file():
        raise CorpusNotFoundError(f"corpus root {root} is a file; expected the corpus folder (e.g. {root.parent})")
    if not root.is_dir():
        raise CorpusNotFoundError(f"corpus root not found: {root}")
    return root


def given_image_dir(image_dir: str) -> str:
    """The `image_dir` option as given: relative to the corpus root, or absolute (a trailing '/' dropped,
    a leading one kept: stripping it made `/data/imgs` the root's `data/imgs`). A folder that is not
    there is not refused here: a text-only extraction needs no images."""
    return image_dir.rstrip("/") or image_dir[:1]


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


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a parse builds its objects (a parse makes no cycles; on a
    50 MB annotation file the collector's passes over the growing objects cost more than the parse)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_json(path: Path, repeated_entries: list[RepeatedKey] | None = None,
              entries_at: tuple[str | int, ...] = ()) -> Any:
    """Parse a JSON annotation file; errors name `file:line:column`.

    A key an object names twice is refused (`json.loads` would keep the last value silently), except, when
    `repeated_entries` is given, a key of the object of entries at `entries_at` (the top level by default,
    `("database",)` for `{"database": {<id>: ...}}`): its first value is kept and the later ones are appended
    there for the caller to record as problems (see `json_keys.parse_json`).
    """
    text = read_text(path)
    try:
        return parse_json(path, text, repeated_entries, entries_at)
    except json.JSONDecodeError as e:
        raise CorpusFormatError(f"{path}:{e.lineno}:{e.colno}: invalid JSON ({e.msg})") from e
    except RecursionError as e:
        raise CorpusFormatError(f"{path}: JSON nested too deeply") from e


def expect(condition: bool, path: Path | str, message: str) -> None:
    """Raise CorpusFormatError(`path: message`) unless `condition` holds."""
    if not condition:
        raise CorpusFormatError(f"{path}: {message}")


def read_csv_rows(path: Path, *, delimiter: str = ",", text: str | None = None,
                  first_line: int = 1) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) pairs of a CSV file, values stripped.

    A row's line number is the line where its record starts (a quoted value may span lines). The
    unnamed index column pandas writes (`df.to_csv()` without `index=False`: header "" first, or
    "Unnamed: 0" once read back and saved again) is left out, header and rows. Any other empty
    header name, or a name given twice, is an error: the row dicts are keyed by name, so one
    column would silently hide the other. `text` is the file already decoded (a loader that reads other
    encodings than UTF-8); `path` then only names the file in errors. `first_line` is the file's line
    that `text` starts at (a loader that left out a line before the header, Excel's `sep=;`).
    """
    text = read_text(path) if text is None else text
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CorpusFormatError(f"{path}:{first_line}: empty file, expected a header row") from None
    except csv.Error as e:
        raise CorpusFormatError(f"{path}:{first_line}: {e}") from e
    kept = _named_columns(f"{path}:{first_line}", header, delimiter)
    rows = []
    for line, values in csv_records(path, reader, first_line=first_line):
        if len(values) != len(header):
            raise CorpusFormatError(
                f"{path}:{line}: expected {len(header)} fields ({delimiter.join(header)}), "
                f"got {len(values)}: {delimiter.join(values)[:120]!r}"
            )
        rows.append((line, {header[i]: values[i].strip() for i in kept}))
    return [header[i] for i in kept], rows


def csv_records(path: Path, reader: _csv.Reader, *, first_line: int = 1,
                hint: str = "") -> Iterator[tuple[int, list[str]]]:
    """(line number, fields as read) of each record `reader` (a `csv.reader`) reads from here on, blank records
    (every field empty or spaces) left out: the record loop of `read_csv_rows` (after its header) and of the
    loaders that read the header themselves or have none (ESC-50, VGGSound). A record's line number is the
    line where it starts (a quoted value may span lines); `first_line` is the file's line that the reader's
    text starts at. `path` only names the file in errors.

    Raises:
        CorpusFormatError: a record csv cannot read (a quote left open that runs past csv's field size limit, or
            one never closed where the reader is `strict`), named `file:line` at the line it starts on, `hint`
            (what the rows should be) appended.
    """
    start = reader.line_num + first_line
    try:
        for values in reader:
            line, start = start, reader.line_num + first_line
            if any(v.strip() for v in values):
                yield line, values
    except csv.Error as e:
        raise CorpusFormatError(f"{path}:{start}: {e} (in the record starting at line {start})"
                                + (f"; {hint}" if hint else "")) from e


def read_csv_records(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every non-blank CSV record of `path`, whatever its number of fields, header
    included (`csv_records` over the whole file): for loaders that check the header themselves (ESC-50,
    Kinetics).

    Raises:
        CorpusFormatError: the file is not UTF-8, or a record csv cannot read (a quote left open that runs past
            csv's field size limit), named at the line it starts on.
    """
    return list(csv_records(path, csv.reader(io.StringIO(read_text(path)))))


#: Header names pandas gives an unnamed (index) column when it reads a CSV: "Unnamed: 0", "Unnamed: 0.1".
_PANDAS_UNNAMED = re.compile(r"Unnamed: \d+(\.\d+)?")


def _is_pandas_index_column(header: list[str], i: int) -> bool:
    """Whether column `i` is the unnamed index column pandas writes: "" as the first header name
    (`to_csv()` with the default index=True), or "Unnamed: N" (such a file read back and saved again)."""
    return (i == 0 and header[i] == "" and len(header) > 1) or bool(_PANDAS_UNNAMED.fullmatch(header[i]))


def _named_columns(where: str, header: list[str], delimiter: str) -> list[int]:
    """Positions of the header's columns that are kept (pandas' unnamed index columns left out);
    an empty name elsewhere or a name given twice is a CorpusFormatError naming `where` (`file:line`)."""
    kept, first_at = [], {}
    for i, name in enumerate(header):
        if _is_pandas_index_column(header, i):
            continue
        if name == "":
            raise CorpusFormatError(
                f"{where}: column {i + 1} of the header has no name ({delimiter.join(header)[:120]!r}); expected "
                "a name for every column; name it, or drop the column")
        if name in first_at:
            raise CorpusFormatError(
                f"{where}: repeated column names in the header: {name!r} is columns {first_at[name] + 1} and "
                f"{i + 1}; expected each column name once; rename or drop one of them")
        first_at[name] = i
        kept.append(i)
    return kept


def json_number(value: Any) -> bool:
    """A JSON number that is a finite float: not a bool, NaN or infinity, nor an integer literal too large
    for a float (`float()` and `math.isfinite` raise OverflowError on one of over 308 digits)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= sys.float_info.max


def seconds_or_none(text: str) -> float | None:
    """A time in seconds from a CSV field (`30`, `30.000`, ` 7.5`): None where it is no finite number >= 0 (the
    caller names the row)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse_number(text: str | None, where: str, what: str, *, required: bool = False) -> float | None:
    """A finite number from a CSV cell; empty gives None (or an error when `required`)."""
    if text is None or text == "":
        if required:
            raise CorpusFormatError(f"{where}: empty {what}; expected a number")
        return None
    try:
        value = float(text)
    except ValueError:
        raise CorpusFormatError(f"{where}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CorpusFormatError(f"{where}: {what} {text!r} is not finite; expected a number")
    return value


def safe_relative_path(
    corpus_dir: Path, relative: str, *, where: str | Callable[[], str], allow_outside: bool = False
) -> str:
    """Validate a media path from an annotation file and return it relative to the corpus root.

    Paths that escape the root (`../`, absolute paths, symlinks out) are refused unless
    `allow_outside` is set, in which case the absolute resolved path is returned. A path inside the
    root comes back relative to it: an absolute one made relative, `a/../x.jpg` as `x.jpg`. Folders are
    resolved once and cached (a corpus has many files in few folders); the file itself costs one
    lstat, and only a symlink is resolved further. `where` (the annotation's location, for errors)
    may be a function, called only on failure.
    """
    if callable(where):
        try:
            return safe_relative_path(corpus_dir, relative, where="", allow_outside=allow_outside)
        except CorpusFormatError as e:
            raise CorpusFormatError(f"{where()}{e}") from e.__cause__
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        raise CorpusFormatError(f"{where}: expected a non-empty media path, got {relative!r}")
    absolute = os.path.isabs(relative)
    try:
        resolved_root = _resolved(str(corpus_dir))
        resolved = _resolved_file(relative if absolute else os.path.join(str(corpus_dir), relative))
    except (OSError, ValueError) as e:  # a name too long, not encodable for the file system, ...
        raise CorpusFormatError(f"{where}: media path {relative[:200]!r} is not usable here ({e})") from e
    inside = resolved == resolved_root or resolved.startswith(resolved_root.rstrip(os.sep) + os.sep)
    if inside and not absolute:
        return posix_path(posixpath.normpath(relative) if ".." in relative.split("/") else relative)
    if inside:  # an absolute path into the root: kept relative, so that the dataset can move with it
        spelled = os.path.relpath(os.path.normpath(relative), os.path.abspath(str(corpus_dir)))
        return posix_path(spelled if not spelled.startswith("..") else os.path.relpath(resolved, resolved_root))
    if allow_outside:
        return resolved
    raise CorpusFormatError(
        f"{where}: media path {relative!r} points outside the corpus root {corpus_dir}; "
        "pass the option allow_outside_root=true if that is intended"
    )


def posix_path(relative: str) -> str:
    """`Path(relative).as_posix()` (empty and `.` segments and a trailing '/' dropped), without
    building a Path for a plain name, which most media paths are (a Path per image was a fifth of
    loading the 123,287 images of a Karpathy COCO file)."""
    if "//" in relative or "/./" in relative or relative.startswith("./") or relative.endswith(("/", "/.")) \
            or relative == "." or os.sep != "/":
        return Path(relative).as_posix()
    return relative


@functools.lru_cache(maxsize=4096)
def _resolved(folder: str) -> str:
    return os.path.realpath(folder)


def _resolved_file(path: str) -> str:
    """`os.path.realpath(path)`, with the parent folder's resolution cached."""
    name = os.path.basename(path)
    if name in ("", ".", "..") or os.path.islink(path):
        return os.path.realpath(path)
    return os.path.join(_resolved(os.path.dirname(path)), name)


def expect_text(value: Any, where: Path | str | Callable[[], str], what: str, *, allow_empty: bool = False) -> str:
    """Return `value` if it is a string storable as UTF-8 (and non-empty unless allowed), else raise
    CorpusFormatError naming `what` and the value found. `where` may be a function, called only on failure
    (e.g. `lambda: locate.where("images", i)`)."""
    problem = text_problem(value, what, allow_empty=allow_empty)
    if problem is None:
        return value
    raise CorpusFormatError(f"{where() if callable(where) else where}: {problem}")


def text_problem(value: Any, what: str, *, allow_empty: bool = False) -> str | None:
    """Why `value` is no text `expect_text` accepts (`expected a caption as a string, got 3`), else None: for a
    loader that leaves the entry out and names it in the errors table instead of stopping the load."""
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        got = "nothing (the key is missing or null)" if value is None else short_repr(value)
        return f"expected {what} as a{'' if allow_empty else ' non-empty'} string, got {got}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON escapes can produce
        return f"{what} is not valid Unicode text: {short_repr(value)}"
    return None


class JsonLocator:
    """Finds where an item of a parsed JSON file sits in the text, to name it in errors.

    Real annotation files are large and usually valid, so nothing is computed until an error or a
    problem asks: `where("images", 12)` then scans the file once for `images` and gives
    `"<file>:<line>:<column>: images[12]"`; steps past the located depth only extend the label.

        >>> JsonLocator(path).where("images", 12, "sentences", 0)
        '/data/dataset_coco.json:40:5: images[12].sentences[0]'
    """

    def __init__(self, path: Path, *, first_of_repeated: bool = False):
        """`first_of_repeated`: a key an object names twice is located at its first occurrence, the one
        `read_json(path, repeated_entries)` keeps; else at its last, the one `json.loads` keeps."""
        self.path = path
        self._first_of_repeated = first_of_repeated
        self._text: str | None = None
        self._members: dict[tuple[str | int, ...], dict[str | int, int] | None] = {}
        self._decoder = json.JSONDecoder()
        self._newlines: array | None = None  # offsets of the newlines, for O(log n) line numbers

    def where(self, *steps: str | int) -> str:
        label = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps).lstrip(".")
        offset = self._offset(steps)
        if offset is None:
            return f"{self.path}: {label}" if label else str(self.path)
        text = self._text or ""
        if self._newlines is None:
            self._newlines = newline_offsets(text)
        line, column = line_and_column(self._newlines, offset)
        return f"{self.path}:{line}:{column}" + (f": {label}" if label else "")

    def _offset(self, steps: tuple[str | int, ...]) -> int | None:
        if self._text is None:
            try:
                self._text = read_text(self.path)
            except (OSError, CorpusFormatError):
                return None
        offset = _skip_space(self._text, 0)
        for depth in range(len(steps)):
            members = self._scan(steps[:depth], offset)
            if members is None or steps[depth] not in members:
                break
            offset = members[steps[depth]]
        return offset

    def _scan(self, key: tuple[str | int, ...], start: int) -> dict[str | int, int] | None:
        """Offsets of the members of the object or array starting at `start` (cached per container)."""
        if key not in self._members:
            self._members[key] = self._scan_members(start)
        return self._members[key]

    def _scan_members(self, start: int) -> dict[str | int, int] | None:
        text, members = self._text or "", {}
        try:
            opening = text[start]
            if opening not in "[{":
                return None
            pos, index = _skip_space(text, start + 1), 0
            while text[pos] not in "]}":
                if opening == "{":
                    name, pos = self._decoder.raw_decode(text, pos)
                    pos = _skip_space(text, _skip_space(text, pos) + 1)  # past ':'
                    if not (self._first_of_repeated and name in members):
                        members[name] = pos
                else:
                    members[index] = pos
                    index += 1
                _, pos = self._decoder.raw_decode(text, pos)
                pos = _skip_space(text, pos)
                if text[pos] == ",":
                    pos = _skip_space(text, pos + 1)
        except (IndexError, ValueError, RecursionError):
            return None
        return members


def short_repr(value: Any, limit: int = 80) -> str:
    """`repr(value)` cut to `limit` characters, for error messages."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def resolve_media(corpus_root: Path, relative: str) -> Path:
    """The absolute path of a media reference from the samples table (relative or absolute)."""
    path = Path(relative)
    return path if path.is_absolute() else corpus_root / path


def _load_builtin_loaders() -> None:
    import mmdata.corpora.builtin  # noqa: F401
