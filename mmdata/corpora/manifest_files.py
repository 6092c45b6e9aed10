r"""Reading the file of a `manifest` corpus: JSONL (or one JSON array), CSV/TSV, Parquet.

Every reader gives (number, row) pairs: the 1-based line where the row starts in a text file, as an
editor shows it (a quoted CSV cell may span lines), or the row's position in a Parquet file. Files come
as spreadsheets and annotation tools write them:
    manifest.csv from Excel ("CSV UTF-8", `;` where `,` is the decimal comma, CRLF; `mmdata.corpora.manifest_csv`):
        \ufeffid;image;caption;label
        007;images/cat.jpg;"a cat; sitting";-0,5
    manifest.json from an annotation tool (one array instead of one object per line):
        [{"image": "images/cat.jpg", "captions": ["a cat"]},
         {"image": "images/dog.jpg", "captions": ["a dog"]}]
"""
from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from mmdata.corpora.base import LoadProblem, short_repr
from mmdata.corpora.manifest_csv import parse_cells, read_delimited
from mmdata.corpora.json_keys import REPEATED_KEY_HINT, UNIQUE_KEYS_DECODER, RepeatedKeyFound
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError

ManifestFormat = Literal["auto", "jsonl", "json", "csv", "tsv", "parquet"]
Rows = list[tuple[int, dict[str, Any]]]
#: Looked for in the corpus root, in this order.
MANIFEST_FILES = ("manifest.jsonl", "manifest.csv", "manifest.tsv")
#: Suffixes of the only such file in a root without one of MANIFEST_FILES, taken as its manifest.
_FALLBACK_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".tsv")
#: Taken last, in a root without the files above: a `manifest.json` is as often something else (a
#: dataset's metadata), and a root that loaded its CSV before keeps loading it.
_LAST_RESORT_FILES = ("manifest.json", "manifest.parquet")
_FORMAT_OF_SUFFIX: dict[str, Literal["jsonl", "json", "csv", "tsv", "parquet"]] = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".parquet": "parquet", ".pq": "parquet"}
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
#: Columns pandas writes for a DataFrame's index in a Parquet file (`df.to_parquet()` of a filtered frame).
_PANDAS_INDEX_COLUMN = re.compile(r"__index_level_\d+__")


def find_manifest_file(corpus_dir: Path, manifest_file: str | None = None) -> Path:
    """The manifest of a corpus root: the named file, `manifest.jsonl|csv|tsv`, the only JSONL/CSV/TSV file,
    else `manifest.json|parquet`."""
    if manifest_file is not None:
        path = corpus_dir / manifest_file
        if not path.is_file():
            raise CorpusNotFoundError(f"manifest file not found: {path} (option manifest_file)")
        return path
    if not corpus_dir.is_dir():
        raise CorpusNotFoundError(f"corpus root not found: {corpus_dir}")
    for name in MANIFEST_FILES:
        if (corpus_dir / name).is_file():
            return corpus_dir / name
    found = sorted(p for p in corpus_dir.iterdir() if p.suffix.lower() in _FALLBACK_SUFFIXES and p.is_file())
    if not found:
        found = [corpus_dir / name for name in _LAST_RESORT_FILES if (corpus_dir / name).is_file()][:1]
    if not found:
        raise CorpusNotFoundError(
            f"no manifest ({', '.join(MANIFEST_FILES + _LAST_RESORT_FILES)} or another *.jsonl/*.csv/*.tsv) in "
            f"{corpus_dir}; name another .json or .parquet file with the option manifest_file=<name>")
    if len(found) > 1:
        raise ConfigError(
            f"several possible manifests in {corpus_dir}: {[p.name for p in found]}; "
            "choose one with manifest_file=<name>")
    return found[0]


def format_of(path: Path) -> Literal["jsonl", "json", "csv", "tsv", "parquet"]:
    """The manifest format its file suffix names."""
    try:
        return _FORMAT_OF_SUFFIX[path.suffix.lower()]
    except KeyError:
        raise ConfigError(f"cannot tell the format of manifest {path.name!r} from its suffix; pass "
                          "file_format=jsonl|json|csv|tsv|parquet") from None


def row_location(path: Path, file_format: str, number: int) -> str:
    """Where row `number` is, for messages: `file:line` in a text file, `file row N` in a Parquet file."""
    return f"{path} row {number}" if file_format == "parquet" else f"{path}:{number}"


def read_manifest_rows(path: Path, file_format: str, encoding: str, problems: list[LoadProblem],
                       columns: Iterable[str], delimiter: str | None = None) -> Rows:
    """(number, row) per row of a manifest file, columns that name one of `columns` in another case or
    with spaces (`Image `, `Split`) renamed to it; CSV cells as strings (separated by `delimiter`, None:
    as the file shows), empty cells left out, `captions` cells split into captions, decimal commas of a
    `;`-separated file as points; Parquet nulls left out (an empty cell)."""
    columns, header, delimited = frozenset(columns), None, None
    if file_format == "parquet":
        rows, header = _read_parquet(path), str(path)
    elif file_format in ("csv", "tsv"):
        text = decode_text(path, path.read_bytes(), encoding)
        delimited = read_delimited(path, text, file_format, delimiter, columns)
        rows, header = delimited.rows, f"{path}:{delimited.header_line}"
    elif file_format == "json":
        rows = _read_json_array(path, decode_text(path, path.read_bytes(), encoding))
    else:
        rows = read_jsonl_rows(path, problems, encoding)
    rows = _canonical_columns(rows, columns, lambda n: row_location(path, file_format, n), header)
    return rows if delimited is None else parse_cells(path, rows, delimited.delimiter)


def check_encoding(encoding: str) -> None:
    """Raise ConfigError unless Python knows `encoding` (option encoding)."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(f"unknown encoding {encoding!r} (option encoding); expected a Python codec name such as "
                          "utf-8, cp1252 (Excel's plain 'CSV' on Windows) or latin-1") from None


def decode_text(path: Path, data: bytes, encoding: str = "utf-8") -> str:
    """`data` as text: UTF-8 without its byte order mark, a UTF-16 file by its byte order mark (Excel's
    'Unicode Text'), else `encoding`; old Mac line ends (CR only) read as line ends.

    Raises:
        CorpusFormatError: `file:line:column` of the first byte that is not `encoding`, with the ways out.
    """
    codec = "utf-16" if data.startswith(_UTF16_BOMS) else "utf-8-sig" if _is_utf8(encoding) else encoding
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        column = len(data[line_start:e.start].decode(codec, errors="replace")) + 1
        hint = ("save it as 'CSV UTF-8' or re-encode it as UTF-8, or pass the option encoding=cp1252 if it is "
                "Windows text (Excel's plain 'CSV')") if _is_utf8(encoding) else "pass the option encoding=<the file's>"
        line, name = data.count(b"\n", 0, e.start) + 1, "UTF-8" if _is_utf8(encoding) else encoding
        raise CorpusFormatError(f"{path}:{line}:{column}: byte {data[e.start]:#04x} is not valid {name}; "
                                f"expected {name} text: {hint}") from e
    return text.replace("\r", "\n") if "\r" in text and "\n" not in text else text


def read_jsonl_rows(path: Path, problems: list[LoadProblem] | None = None, encoding: str = "utf-8") -> Rows:
    """(line number, object) for each non-blank line of a JSONL file; a file that is one JSON array
    (`df.to_json(orient="records")` without `lines=True`) is read as its items.

    With `problems`, a line that is not valid UTF-8 is left out and reported there (one bad
    caption costs one row, recorded in the errors table); without, it fails the whole file.

    Raises:
        CorpusFormatError: `file:line:column: invalid JSON (...)` or a line that is not an object.
    """
    data = path.read_bytes()
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):  # no JSONL line starts so: one JSON array
        return _read_json_array(path, decode_text(path, data, encoding))
    per_line = problems is not None and _is_utf8(encoding) and not data.startswith(_UTF16_BOMS)
    lines = _utf8_lines(path, data, problems) if per_line else decode_text(path, data, encoding).split("\n")
    rows = []
    for number, line in enumerate(lines, start=1):
        if line is None or not line.strip():
            continue
        try:
            row = UNIQUE_KEYS_DECODER.decode(line)
        except json.JSONDecodeError as e:
            raise CorpusFormatError(f"{path}:{number}:{e.colno}: invalid JSON ({e.msg}) in {short_repr(line)}") from e
        except RepeatedKeyFound as e:
            raise _repeated_key_error(f"{path}:{number}", e.key) from e
        except RecursionError as e:
            raise CorpusFormatError(f"{path}:{number}: JSON nested too deeply") from e
        if not isinstance(row, dict):
            raise CorpusFormatError(f"{path}:{number}: expected a JSON object per line, got {short_repr(row)}")
        rows.append((number, row))
    return rows


def _utf8_lines(path: Path, data: bytes, problems: list[LoadProblem]) -> list[str | None]:
    """The lines of a file; one that is not valid UTF-8 becomes None and a LoadProblem naming `file:line`."""
    if b"\r" in data and b"\n" not in data:
        data = data.replace(b"\r", b"\n")
    lines: list[str | None] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as e:
            problems.append(LoadProblem(None, f"{path}:{number}", f"not valid UTF-8 (byte {raw[e.start]:#04x} at "
                                        f"column {e.start + 1}); row left out, re-encode the file as UTF-8"))
            lines.append(None)
    return lines


def _repeated_key_error(where: str, key: str) -> CorpusFormatError:
    """A row (an object on a JSONL line, or an item of a JSON array starting at `where`) naming `key` twice."""
    return CorpusFormatError(f"{where}: repeated key {key!r} in this row; expected each key once in a JSON object: "
                             f"a JSON reader keeps only one of the values, so a field would be lost silently; "
                             f"{REPEATED_KEY_HINT}")


def _read_json_array(path: Path, text: str) -> Rows:
    """(line number, object) for each item of a file holding one JSON array of objects."""
    decoder, rows = UNIQUE_KEYS_DECODER, []
    pos = _JSON_SPACE.match(text, 0).end()
    if not text.startswith("[", pos):
        raise CorpusFormatError(f"{_at(path, text, pos)}: expected a JSON array of objects (one per sample), got "
                                f"{short_repr(text[pos:pos + 40])}; or pass file_format=jsonl for one object per line")
    pos = _JSON_SPACE.match(text, pos + 1).end()
    line, counted = 1, 0
    while not (text.startswith("]", pos) and not rows):  # `[]` holds no rows; `[{...},]` fails in raw_decode
        line, counted = line + text.count("\n", counted, pos), pos
        try:
            row, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise CorpusFormatError(f"{path}:{e.lineno}:{e.colno}: invalid JSON ({e.msg})") from e
        except RepeatedKeyFound as e:
            raise _repeated_key_error(f"{path}:{line}", e.key) from e
        except RecursionError as e:
            raise CorpusFormatError(f"{path}:{line}: JSON nested too deeply") from e
        if not isinstance(row, dict):
            raise CorpusFormatError(f"{path}:{line}: expected a JSON object per array item, got {short_repr(row)}")
        rows.append((line, row))
        pos = _JSON_SPACE.match(text, pos).end()
        if text.startswith(",", pos):
            pos = _JSON_SPACE.match(text, pos + 1).end()
        elif text.startswith("]", pos):
            break
        else:
            raise CorpusFormatError(f"{_at(path, text, pos)}: invalid JSON (expected ',' or ']' after an array item)")
    end = _JSON_SPACE.match(text, pos + 1).end()
    if end < len(text):
        raise CorpusFormatError(f"{_at(path, text, end)}: invalid JSON (extra data after the array)")
    return rows


def _at(path: Path, text: str, pos: int) -> str:
    """`file:line:column` of offset `pos` of `text`."""
    newline = "\n"
    return f"{path}:{text.count(newline, 0, pos) + 1}:{pos - text.rfind(newline, 0, pos)}"


def _read_parquet(path: Path) -> Rows:
    """(row number, row) per row of a Parquet table; nulls and pandas' index columns left out, values that
    JSON lacks (timestamps, decimals) as text so that they can go to `extra`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as e:
        raise CorpusFormatError(f"{path}: not a readable Parquet file ({e}); expected a Parquet table with one "
                                "row per sample, or pass file_format=jsonl|json|csv|tsv") from e
    names = [n for n in table.column_names if not _PANDAS_INDEX_COLUMN.fullmatch(n)]
    return [(number, {k: _plain(v) for k, v in row.items() if v is not None})
            for number, row in enumerate(table.select(names).to_pylist(), start=1)]


def _plain(value: Any) -> Any:
    """A Parquet value as JSON holds it: lists and dicts kept, timestamps in ISO 8601, other values as text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _canonical_columns(rows: Rows, columns: frozenset[str], where: Callable[[int], str], header: str | None) -> Rows:
    """`rows` with each column whose name is one of `columns` but for case and surrounding spaces
    (`Image`, ` split`) renamed to it. A header (`header`: where a CSV or Parquet file names its columns)
    or a JSON row naming one column twice so is a CorpusFormatError."""
    names = {k for _, row in rows for k in row}
    renames = {k: k.strip().lower() for k in names if k.strip().lower() in columns and k != k.strip().lower()}
    if not renames:
        return rows
    twice = sorted((k, renames[k]) for k in renames if renames[k] in names)
    if header is not None and twice:
        raise CorpusFormatError(f"{header}: columns {twice[0][0]!r} and {twice[0][1]!r} both name {twice[0][1]!r}; "
                                "expected each column once: rename or drop one of them")
    out = []
    for number, row in rows:
        if any(k in renames for k in row):
            named: dict[str, str] = {}
            for k in row:
                name = renames.get(k, k)
                if name in named:
                    raise CorpusFormatError(f"{where(number)}: columns {named[name]!r} and {k!r} both name {name!r}; "
                                            "expected each column once: rename or drop one of them")
                named[name] = k
            row = {name: row[k] for name, k in named.items()}
        out.append((number, row))
    return out


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"
