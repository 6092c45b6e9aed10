r"""Reading a CSV/TSV manifest: which character separates its cells, and its cells as the loader reads them.

A `.csv` is comma-separated, unless its header says otherwise. Excel, in locales whose decimal separator
is `,` (German, French, ...), writes `;` between cells and decimal commas in numbers, sometimes after a
line naming the separator:
    sep=;
    id;image;caption;label
    007;images/cat.jpg;"a cat; sitting";-0,5
Such a file is read `;`-separated when its header line shows it: split at `,` it names no column the loader
reads, split at `;` it does. A header that fits both is comma-separated, as before. The option `delimiter`
says it where the header cannot (`-o delimiter=semicolon`).
"""
from __future__ import annotations

import ast
import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from mmdata.corpora.base import read_csv_rows, short_repr
from mmdata.errors import ConfigError, CorpusFormatError
from mmdata.records import START_KEYS

Rows = list[tuple[int, dict[str, Any]]]
#: The values of the option `delimiter` and the character each means; `auto` decides from the file.
DELIMITERS = {"auto": None, ",": ",", "comma": ",", ";": ";", "semicolon": ";", "\t": "\t", "tab": "\t",
              "\\t": "\t"}
#: Columns read as numbers (by the loader, or by `check` from `extra`): in a `;`-separated file their
#: decimal comma (`-0,5`) is a decimal point.
DECIMAL_COMMA_COLUMNS = frozenset(("label", "start", "end", *START_KEYS, *START_KEYS.values()))
#: The first line Excel reads as the separator to use (`sep=;`), not a header.
_EXCEL_SEPARATOR_LINE = re.compile(r"sep=(.)[ \t]*", re.IGNORECASE)
#: A number with a decimal comma, as spreadsheets write it where `,` is the decimal separator.
_DECIMAL_COMMA_NUMBER = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")
#: A number whose `.` may group thousands, as those locales write them (`1.234` is 1234 there).
_THOUSANDS_POINTS = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+")
#: A `|` in a CSV `captions` cell separates captions unless escaped as `\|`.
_CAPTION_SEPARATOR = re.compile(r"(?<!\\)\|")


class DelimitedRows(NamedTuple):
    rows: Rows            # (line, {column: cell}), empty cells left out
    delimiter: str        # the character that separated the cells
    header_line: int      # the header's line: 2 after a `sep=` line


def check_delimiter(option: str, file_format: str) -> str | None:
    """The character the option `delimiter` names, None for `auto`.

    Raises:
        ConfigError: a value that names no delimiter, or one given for a manifest that is not CSV/TSV.
    """
    if option not in DELIMITERS:
        raise ConfigError(f"option delimiter={option!r} names no delimiter; expected auto, ',' (comma), ';' "
                          "(semicolon) or tab (in a shell: -o delimiter=semicolon)")
    if DELIMITERS[option] is not None and file_format not in ("csv", "tsv"):
        raise ConfigError(f"option delimiter={option!r} is for CSV/TSV manifests, but this one is {file_format}; "
                          "leave the option out")
    return DELIMITERS[option]


def read_delimited(path: Path, text: str, file_format: str, delimiter: str | None,
                   columns: Iterable[str]) -> DelimitedRows:
    """The rows of a CSV or TSV manifest (`text`, decoded), separated by `delimiter` if given, else by a
    first `sep=X` line, else by tabs (TSV) or as the header line shows (CSV: module docstring)."""
    first, rest = text.split("\n", 1) if "\n" in text else (text, "")
    separator_line = _EXCEL_SEPARATOR_LINE.fullmatch(first.rstrip("\r"))
    if separator_line:
        delimiter = _separator_line_delimiter(path, first.rstrip("\r"), separator_line.group(1), delimiter)
        text = rest
    elif delimiter is None:
        delimiter = "\t" if file_format == "tsv" else _header_delimiter(path, first.strip(), frozenset(columns))
    header_line = 2 if separator_line else 1
    _, rows = read_csv_rows(path, delimiter=delimiter, text=text, first_line=header_line)
    return DelimitedRows([(line, {k: v for k, v in row.items() if v != ""}) for line, row in rows], delimiter,
                         header_line)


def parse_cells(path: Path, rows: Rows, delimiter: str) -> Rows:
    """`rows` (columns named as the loader reads them) with each `captions` cell split into its captions
    and, in a `;`-separated file, each decimal comma of a number column a decimal point (`-0,5`: `-0.5`).

    Raises:
        CorpusFormatError: `file:line`, the column and the value of a number a `;`-separated file writes
            ambiguously (`1.234`: 1234 or 1.234?) or malformed (`1,2,3`).
    """
    out = []
    for line, row in rows:
        if "captions" in row:
            row = {**row, "captions": _caption_cell(row["captions"])}
        if delimiter == ";" and DECIMAL_COMMA_COLUMNS.intersection(row):
            row = {k: _decimal_point(v, f"{path}:{line}", k) if k in DECIMAL_COMMA_COLUMNS else v
                   for k, v in row.items()}
        out.append((line, row))
    return out


def _separator_line_delimiter(path: Path, line: str, named: str, option: str | None) -> str:
    """The delimiter a `sep=X` first line names; one that is no CSV delimiter, or that the option
    `delimiter` contradicts, is refused."""
    if named not in (",", ";", "\t"):
        raise CorpusFormatError(f"{path}:1: the separator line {line!r} names {named!r}; expected ',', ';' or a tab "
                                "between cells: save the file with one of them")
    if option is not None and option != named:
        raise CorpusFormatError(f"{path}:1: the separator line {line!r} names {named!r}, but the option delimiter "
                                f"names {option!r}; expected one delimiter: leave the option out or fix the line")
    return named


def _header_delimiter(path: Path, first: str, columns: frozenset[str]) -> str:
    """`;` for a header that names no known column split at commas but does split at `;`
    (`id;image;caption`); `,` otherwise, refusing a header that is one column and holds a tab or a
    `;` (before a data row's comma, `a cat, sitting`, blames that row with a wrong column count)."""
    def known(delimiter: str) -> list[str]:
        names = next(csv.reader([first], delimiter=delimiter), [])
        return [n for n in names if n.strip().lower() in columns]

    if known(",") or not first:
        return ","
    if ";" in first and known(";"):
        return ";"
    if len(next(csv.reader([first]), [])) == 1 and "\t" in first:
        raise CorpusFormatError(f"{path}:1: the header {short_repr(first)} is one column; a CSV manifest is "
                                "comma-separated: name the file .tsv or pass file_format=tsv")
    if len(next(csv.reader([first]), [])) == 1 and ";" in first:
        raise CorpusFormatError(
            f"{path}:1: the header {short_repr(first)} is one column, and split at ';' it names no column a manifest "
            "reads (id, image, audio, video, caption, captions, text, label, ...); a CSV manifest is comma-separated: "
            "pass the option delimiter=semicolon if it is ';'-separated, or save it with ',' between cells (Excel: "
            "'CSV UTF-8 (Comma delimited)')")
    return ","


def _decimal_point(cell: str, where: str, column: str) -> str:
    """A number cell of a `;`-separated file with its decimal comma as a point (`-0,5`: `-0.5`); any
    other cell as it is, for the loader's own checks (`0.5`, `3`, a class name)."""
    text = cell.strip()
    if _DECIMAL_COMMA_NUMBER.fullmatch(text):
        return text.replace(",", ".")
    if _THOUSANDS_POINTS.fullmatch(text):
        raise CorpusFormatError(
            f"{where}: column {column!r} holds {short_repr(cell)}, where '.' may group thousands "
            f"({text.replace('.', '')}) or be a decimal point ({text}) in a ';'-separated file; expected a number "
            f"without thousands separators: write {text.replace('.', '')} or {text.replace('.', ',')}")
    if "," in text:
        raise CorpusFormatError(
            f"{where}: expected column {column!r} as a number with at most one decimal comma and no thousands "
            f"separator (-0,5 or 1234,5), got {short_repr(cell)}")
    return cell


def _caption_cell(cell: str) -> list[str]:
    """The captions of a CSV `captions` cell: a list as JSON or pandas' `to_csv` writes one
    (`["a cat", "a mat"]`, `['a cat', 'a mat']`), else `|`-separated (`\\|` a literal `|`) and stripped.

    A blank piece (`a dog| |`) is kept, so that the row reports it as it does a blank caption of a
    JSONL list; a cell of blank pieces only (`|`) is one blank caption, reported the same way.
    """
    listed = _listed_captions(cell)
    if listed is not None:
        return listed
    pieces = [c.replace("\\|", "|").strip() for c in _CAPTION_SEPARATOR.split(cell)]
    return pieces if any(pieces) else [""]


def _listed_captions(cell: str) -> list[str] | None:
    if not (cell.startswith("[") and cell.endswith("]")):
        return None
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(cell)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, list) and all(isinstance(c, str) for c in value):
            return value
    return None
