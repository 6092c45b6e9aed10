"""Reading a classes file (`FuseOptions.classes_file`, `--classes`): the class names in id order.

    read_classes_file("classes.txt")                      -> ["playing guitar", ...]   line order = id

Three forms, told by the first lines (`read_classes_file`):
  - plain names, one per line (Kinetics', ImageNet's label files): a byte order mark, blank lines and the
    spaces around a name ignored; a name twice refused;
  - a table whose header is `index,mid,display_name` (AudioSet's class_labels_indices.csv,
    `_is_class_table`, `_class_table_names`): the display names, id = index;
  - `<mid><TAB><display name>` lines, a header line skipped (AudioSet's strong labels'
    mid_to_display_name.tsv, `_mid_name_rows`, `_mid_name_table_names`): the display names in line order.

`mmdata.fusion.classes` numbers a fused export's classes with it (and re-exports these names);
`mmdata.fusion.targets` and `mmdata.features.event_targets` name the targets' columns with it.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from mmdata.errors import ConfigError


def read_classes_file(path: str | Path) -> list[str]:
    """Class names in line order (id = position): UTF-8, a byte order mark, blank lines and surrounding spaces ignored;
    or, where the first line is `index,mid,display_name` (AudioSet's class_labels_indices.csv), the display names
    in index order (id = index); or, where the first line (after a header line, if any) is `<mid><TAB><display
    name>` (AudioSet's strong labels' mid_to_display_name.tsv), the display names in line order, every other line
    held to that form.

    Raises:
        ConfigError: the file cannot be read or decoded, names no class, or names one twice (both lines); a bad
            table row (`_class_table_names`).
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"--classes {path}: cannot read the classes file ({e}); expected a UTF-8 text file, one "
                          "class name per line") from e
    if _is_class_table(text):
        return _class_table_names(path, text)
    try:
        mid_rows = _mid_name_rows(text)
    except _MidRowError as e:
        raise ConfigError(f"{path}:{e.number}: {e.line[:120]!r} is not `<mid><TAB><display name>`, as the lines "
                          "before it are (AudioSet's mid_to_display_name.tsv); expected one such line per class") from e
    if mid_rows is not None:
        return _mid_name_table_names(path, mid_rows)
    names: list[str] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        if not name:
            continue
        if name in first_line:
            raise ConfigError(f"{path}:{number}: class {name!r} is listed again (first on line {first_line[name]}); "
                              "expected each class name once (its line number is its id)")
        first_line[name] = number
        names.append(name)
    if not names:
        raise ConfigError(f"--classes {path}: the file names no class; expected one class name per line")
    return names


#: The header of AudioSet's class_labels_indices.csv, a classes file read as a table: id = its index column.
CLASS_TABLE_HEADER = ("index", "mid", "display_name")


def _is_class_table(text: str) -> bool:
    """Whether a classes file is an AudioSet-style class table: its first non-blank line is `index,mid,display_name`."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return tuple(f.strip().lower() for f in next(csv.reader([first]), [])) == CLASS_TABLE_HEADER  # quoted or not


def _class_table_names(path: Path, text: str) -> list[str]:
    """The display names of an `index,mid,display_name` table (`0,/m/09x0r,"Speech"`; a name with a comma quoted)
    in index order: the id of a class is its index, as PANNs' 527 outputs are numbered.

    Raises:
        ConfigError: a row that is not three fields, an index that is no whole number or is given twice, indices
            that are not 0..N-1, an empty name or a name given twice, named `file:line`.
    """
    name_of: dict[int, str] = {}
    line_of: dict[tuple[str, int | str], int] = {}  # ("index", 3) / ("class", "Speech") -> its line
    rows = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    for number, line in rows[1:]:
        values = next(csv.reader([line]), [])
        index_text, name = (values[0].strip(), values[2].strip()) if len(values) == 3 else ("", "")
        if not (index_text.isascii() and index_text.isdigit()) or not name:  # ('²'.isdigit(), yet no int)
            raise ConfigError(f"{path}:{number}: {line[:120]!r} is not a class row; expected index,mid,display_name "
                              '(e.g. 0,/m/09x0r,"Speech"; a name with a comma quoted)')
        for key in (("index", int(index_text)), ("class", name)):
            if key in line_of:
                raise ConfigError(f"{path}:{number}: {key[0]} {key[1]!r} is listed again (first on line "
                                  f"{line_of[key]}); expected each index and each display name once")
            line_of[key] = number
        name_of[int(index_text)] = name
    if not name_of:
        raise ConfigError(f"--classes {path}: the table names no class; expected index,mid,display_name rows")
    gap = next((i for i in range(len(name_of)) if i not in name_of), None)
    if gap is not None:
        raise ConfigError(f"--classes {path}: the indices are not 0..{len(name_of) - 1} (no index {gap}); expected "
                          "the index column to number the classes from 0, as their ids")
    return [name_of[i] for i in range(len(name_of))]


#: A line of AudioSet's mid_to_display_name.tsv: a MID (`/m/09x0r`, `/t/dd00088`, `/g/11b630rrvh`), a tab, a name.
MID_NAME_LINE = re.compile(r"/[a-z]/[0-9A-Za-z_]+\t[^\t]*\S[^\t]*")


def _mid_name_rows(text: str) -> list[tuple[int, str]] | None:
    """The (line number, line) of a `<mid><TAB><display name>` classes file (mid_to_display_name.tsv), without a
    header line (`mid<TAB>display_name` or any first line of one tab followed by such rows); None for a file of
    another form, told by its first rows: a first row (after such a header) of a MID, a tab and a name.

    Raises:
        ConfigError: a later line that is not `<mid><TAB><display name>`, named `file:line` (as a class table's
            bad row is): one such file is read whole or refused, never as names holding tabs.
    """
    rows = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if len(rows) > 1 and "\t" in rows[0][1] and not MID_NAME_LINE.fullmatch(rows[0][1]) \
            and MID_NAME_LINE.fullmatch(rows[1][1]):
        rows = rows[1:]  # a header line
    if not rows or not MID_NAME_LINE.fullmatch(rows[0][1]):
        return None
    for number, line in rows:
        if not MID_NAME_LINE.fullmatch(line):
            raise _MidRowError(number, line)
    return rows


class _MidRowError(Exception):
    """A line of a `<mid><TAB><display name>` classes file that is not one (`_mid_name_rows`)."""

    def __init__(self, number: int, line: str):
        super().__init__(number, line)
        self.number, self.line = number, line


def _mid_name_table_names(path: Path, rows: list[tuple[int, str]]) -> list[str]:
    """The display names of a `<mid><TAB><display name>` file's rows in line order (id = position among the names).

    Raises:
        ConfigError: a MID or a display name given twice, named `file:line` with the line it was first on.
    """
    names: list[str] = []
    line_of: dict[tuple[str, str], int] = {}  # ("mid", "/m/09x0r") / ("class", "Speech") -> its line
    for number, line in rows:
        mid, _, name = line.partition("\t")
        for key in (("mid", mid), ("class", name.strip())):
            if key in line_of:
                raise ConfigError(f"{path}:{number}: {key[0]} {key[1]!r} is listed again (first on line "
                                  f"{line_of[key]}); expected each MID and each display name once (a name's line "
                                  "order is its id)")
            line_of[key] = number
        names.append(name.strip())
    return names
