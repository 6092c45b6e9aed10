"""Class maps: the class a corpus's class name counts as, applied to the names at `extra[class_label]` before
class ids are made (`FuseOptions.class_map`, `fuse --class-map FILE|NAME`).

Corpora name one class differently (RAVDESS's `fearful`, CREMA-D's `fear`; MELD's `joy`, IEMOCAP's `happiness`),
and a model trained on one and tested on another, or on both merged, needs one set of names. A map file is
UTF-8 CSV, or TSV where its first non-blank line holds a tab, of two columns:

    name,class              an optional header line (case aside: `Name,Class` too)
    fearful,fear            RAVDESS's `fearful` counts as class `fear`
    calm,                   an empty class: a sample named `calm` has no class (missing_class decides)

or a `.json` file of one object {"fearful": "fear", "calm": null}. A name the file does not list keeps its own
name. A map does not chain: `a,b` and `b,c` map `a` to `b`, not to `c`.

A built-in map (`BUILTIN_CLASS_MAPS`, shipped in class_maps/) is strict: its classes, sorted, are the class ids
(as a `--classes` file's lines are, so two exports mapped by it share ids even when one lacks a class), and a
name it does not list is refused. `emotions` maps RAVDESS's, CREMA-D's, IEMOCAP's (`emotion` and `emotion4`)
and MELD's emotions onto Ekman's six and neutral (angry, disgust, fear, happy, neutral, sad, surprise):
IEMOCAP's `excited` counts as happy, as most IEMOCAP work merges the two (and the loader's `emotion4` does);
RAVDESS's `calm` and IEMOCAP's frustration, other and no-agreement have no class: none is one of the seven (some
work merges `calm` into neutral, which a map file of your own with `calm,neutral` does).

`emotions4` maps them onto the four classes of most cross-corpus speech emotion work, IEMOCAP's four (angry, happy,
neutral, sad; excited counting as happy, MELD's joy too): every other emotion has no class.

A value given to `class_map` names a file where such a path exists, else a built-in map.
"""
from __future__ import annotations

import csv
import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.errors import ConfigError, DatasetError

#: The folder of the built-in maps, shipped as package data: <name>.csv each.
BUILTIN_DIR = Path(__file__).resolve().parent / "class_maps"
#: The built-in maps' names (`fuse --class-map emotions`).
BUILTIN_CLASS_MAPS = ("emotions", "emotions4")
#: The header line a map file may start with (case aside).
MAP_HEADER = ("name", "class")
#: Names a refusal lists.
SHOWN = 3
#: How close a listed name must be to an unlisted one to be suggested (difflib's ratio).
CLOSE_CUTOFF = 0.6


@dataclass(frozen=True)
class ClassMap:
    """A read class map: name -> class (None: no class), where it came from, and its bytes' sha256.

    source: the built-in name, or the file path as given; classes: a built-in map's classes in id order
    (sorted), None for a map file (whose unlisted names keep their own name).
    """

    source: str
    builtin: bool
    mapping: dict[str, str | None]
    sha256: str

    @property
    def classes(self) -> list[str] | None:
        if not self.builtin:
            return None
        return sorted({c for c in self.mapping.values() if c is not None})

    def describe(self) -> str:
        """How a message names the map: "built-in class map 'emotions'" or "class map maps/mine.csv"."""
        return f"built-in class map {self.source!r}" if self.builtin else f"class map {self.source}"

    def apply(self, values: pa.Array, sample_ids: pa.ChunkedArray | pa.Array, key: str) -> tuple[pa.Array, MapCount]:
        """Each sample's name(s) mapped: a string array (a name mapped to no class -> null), or a list<string> array
        of each list's items mapped, those of no class dropped, each class once (first place kept); a list the map
        empties becomes null (a sample without a class, as `missing_class` decides), an empty list stays empty.

        Raises:
            DatasetError: a blank name in a list (as without a map), or a name a built-in map does not list, naming
                the sample (and the closest listed name, where one is close).
        """
        from mmdata.fusion.class_targets import refuse_blank_item

        is_list = pa.types.is_list(values.type)
        items = pc.list_flatten(values) if is_list else values
        if is_list:
            blank = pc.or_kleene(pc.is_null(items), pc.equal(pc.utf8_length(pc.fill_null(items, "")), 0))
            if pc.any(blank).as_py():
                refuse_blank_item(values, sample_ids, key, pc.list_parent_indices(values)[pc.index(blank, True).as_py()]
                                  .as_py())
        index = pc.index_in(items, value_set=pa.array(list(self.mapping), pa.string()))
        listed = pc.is_valid(index)
        unlisted = pc.and_(pc.invert(listed), pc.is_valid(items))
        if self.builtin and pc.any(unlisted).as_py():
            position = pc.index(unlisted, True).as_py()
            row = pc.list_parent_indices(values)[position].as_py() if is_list else position
            self._refuse_unlisted(items[position].as_py(), sample_ids[row].as_py(), key,
                                  len(pc.unique(pc.filter(items, unlisted))))
        targets = pa.array(list(self.mapping.values()), pa.string())
        mapped = pc.if_else(listed, pc.take(targets, index), items)
        renamed = pc.and_(listed, pc.fill_null(pc.not_equal(mapped, items), False))
        dropped = pc.and_(listed, pc.is_null(mapped))
        dropped_names = pc.unique(pc.filter(items, dropped)).to_pylist()[:SHOWN]
        if not is_list:
            return mapped, MapCount(int(pc.sum(renamed).as_py() or 0), int(pc.sum(dropped).as_py() or 0), dropped_names)
        parents = pc.list_parent_indices(values).to_numpy(zero_copy_only=False)
        emptied = (pc.fill_null(pc.list_value_length(values), 0).to_numpy(zero_copy_only=False) > 0) & (
            np.bincount(parents[~dropped.to_numpy(zero_copy_only=False)], minlength=len(values)) == 0)
        lists = _kept_items(values, parents, mapped, pc.or_(pc.is_null(values), pa.array(emptied)))
        renamed_rows = np.unique(parents[renamed.to_numpy(zero_copy_only=False)])
        return lists, MapCount(len(renamed_rows), int(emptied.sum()), dropped_names)

    def to_json(self, count: MapCount) -> dict[str, Any]:
        """fused.json's `class_label.class_map`: which map, its bytes' sha256, and what it did."""
        return {"map": self.source, "builtin": self.builtin, "sha256": self.sha256, "renamed": count.renamed,
                "classless": count.classless}

    def unknown_name_hint(self, before: str, name: str) -> tuple[str, str]:
        """(what to say of a name a classes file lacks, the way out) where this map made the name `name` of the
        corpus's `before`: the classes file or the map is to change."""
        if before != name:
            return (f" {before!r}, which the {self.describe()} maps to {name!r}",
                    f"map {before!r} to a class the file lists in the class map, or add {name!r} to the classes file")
        return (f", a name the {self.describe()} does not list",
                f"map {name!r} to a class the file lists in the class map, or add it to the classes file")

    def _refuse_unlisted(self, name: str, sample_id: str, key: str, names: int) -> None:
        if not name.strip():
            raise DatasetError(f"sample {sample_id!r}: extra[{key!r}] is {name!r}, a blank class name; expected a class "
                               f"name the {self.describe()} lists (no value for a sample of no class): fix the corpus "
                               "and extract it again")
        close = difflib.get_close_matches(name, list(self.mapping), n=1, cutoff=CLOSE_CUTOFF)
        closest = f"; the closest name it lists is {close[0]!r}" if close else ""
        classes = self.classes or []
        raise DatasetError(f"sample {sample_id!r}: class {name!r} (extra[{key!r}]) is not listed in the {self.describe()} "
                           f"({names} such name{'s' if names != 1 else ''}){closest}; a built-in map refuses names it "
                           f"does not list: copy the lines of {BUILTIN_DIR / f'{self.source}.csv'} into a map file of "
                           f"your own, add {name!r} with the class it counts as (or none), and pass that file with "
                           f"--class-map FILE and --classes FILE, a file listing its {len(classes)} classes "
                           f"({', '.join(classes)}) one a line, to keep its ids (a map file does not fix them)")


@dataclass(frozen=True)
class MapCount:
    """What a map did: samples it renamed (any item of a list), samples it left without a class (a list: every
    item dropped), and the first names it mapped to no class."""

    renamed: int
    classless: int
    dropped_names: list[str]


def map_class_names(values: pa.Array, sample_ids: pa.ChunkedArray | pa.Array, key: str, class_map: str | Path,
                    where: str) -> tuple[pa.Array, ClassMap, dict[str, Any], str]:
    """(`values` mapped by the class map `class_map` names, the map, fused.json's record of it, what a refusal of
    samples without a class adds about those the map made so: "" when none).

    Raises:
        ConfigError: the map cannot be read (`read_class_map`), or it leaves no sample a class.
        DatasetError: a name a built-in map does not list."""
    mapping = read_class_map(class_map)
    values, count = mapping.apply(values, sample_ids, key)
    dropped = ", ".join(map(repr, count.dropped_names))
    classless = (f"; the {mapping.describe()} made {count.classless} of them classless (it maps {dropped} to no class)"
                 if count.classless else "")
    left = pc.list_flatten(values) if pa.types.is_list(values.type) else values
    if count.dropped_names and left.null_count == len(left):
        raise ConfigError(f"the {mapping.describe()} maps every class name at extra[{key!r}] of dataset {where} to no "
                          f"class (it maps {dropped} to no class): no sample has a class to export; expected a class "
                          "for at least one name in the map")
    return values, mapping, mapping.to_json(count), classless


def builtin_class_map(value: str | Path) -> str | None:
    """The built-in map `value` names, or None where it is a path (one that exists wins over a built-in name)."""
    text = str(value)
    return text if text in BUILTIN_CLASS_MAPS and not Path(text).expanduser().is_file() else None  # a folder: no map


def class_map_bytes(value: str | Path) -> bytes | None:
    """The bytes of the map `value` names (a built-in's package file), None where it cannot be read."""
    name = builtin_class_map(value)
    try:
        return (BUILTIN_DIR / f"{name}.csv").read_bytes() if name else Path(value).expanduser().read_bytes()
    except OSError:
        return None


def read_class_map(value: str | Path) -> ClassMap:
    """The class map of a file (CSV, TSV or `.json`) or a built-in name (`BUILTIN_CLASS_MAPS`).

    Raises:
        ConfigError: no such file and no such built-in (the built-ins listed), a file that cannot be read or
            decoded, a line without exactly two fields, a blank name or a name listed twice (file:line), a JSON
            file that is not an object of names to a class name or null, a map that lists no name.
    """
    name = builtin_class_map(value)
    path = BUILTIN_DIR / f"{name}.csv" if name else Path(value).expanduser()
    if name is None and not path.is_file():
        raise ConfigError(f"--class-map {value}: no such file, and no built-in class map of that name (built-in: "
                          f"{', '.join(BUILTIN_CLASS_MAPS)}); expected a CSV or TSV file of name,class lines, a .json "
                          "file of one object, or a built-in name")
    try:
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"--class-map {path}: cannot read the class map file ({e}); expected a UTF-8 CSV or TSV file "
                          "of name,class lines, or a .json file of one object") from e
    mapping = _json_map(path, text) if path.suffix.lower() == ".json" else _table_map(path, text)
    if not mapping:
        raise ConfigError(f"--class-map {path}: the map lists no name; expected name,class lines (an empty class: the "
                          "name counts as no class)")
    return ClassMap(name or str(value), name is not None, mapping, hashlib.sha256(data).hexdigest())


def _table_map(path: Path, text: str) -> dict[str, str | None]:
    """name -> class (None for an empty class) of a CSV or TSV map: `name,class` lines, a header line skipped."""
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    delimiter = "\t" if lines and "\t" in lines[0][1] else ","
    mapping: dict[str, str | None] = {}
    first_line: dict[str, int] = {}
    for place, (number, line) in enumerate(lines):
        fields = [f.strip() for f in next(csv.reader([line], delimiter=delimiter))]
        if place == 0 and tuple(f.lower() for f in fields) == MAP_HEADER:
            continue
        shown = "name<TAB>class" if delimiter == "\t" else "name,class"
        if len(fields) != 2:
            raise ConfigError(f"{path}:{number}: {line.strip()[:120]!r} has {len(fields)} field(s); expected 2: {shown} "
                              "(an empty class: the name counts as no class; a name holding the delimiter quoted)")
        name, target = fields
        if not name:
            raise ConfigError(f"{path}:{number}: {line.strip()[:120]!r} has no name; expected {shown}, the name as the "
                              "corpus writes it first")
        if name in first_line:
            raise ConfigError(f"{path}:{number}: name {name!r} is listed again (first on line {first_line[name]}); "
                              "expected each name once, with the one class it counts as")
        first_line[name] = number
        mapping[name] = target or None
    return mapping


def _json_map(path: Path, text: str) -> dict[str, str | None]:
    """name -> class (None for null or "") of a JSON map: one object {name: class or null}."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        written: dict[str, str] = {}  # stripped name -> the name as the object first writes it
        for name, target in items:
            if name.strip() in written:
                first = written[name.strip()]
                as_first = "" if first == name else f" (first as {first!r})"
                raise ConfigError(f"{path}: name {name!r} is listed twice in one object{as_first}; expected each name "
                                  "once (spaces around a name are ignored)")
            written[name.strip()] = name
            seen[name] = target
        return seen

    try:
        parsed = json.loads(text, object_pairs_hook=pairs)
    except ValueError as e:
        line = f":{e.lineno}" if isinstance(e, json.JSONDecodeError) else ""
        raise ConfigError(f"{path}{line}: not JSON ({e}); expected one object {{name: class or null}}") from e
    if not isinstance(parsed, dict):
        raise ConfigError(f"{path}: the JSON is a {type(parsed).__name__}, expected one object {{name: class or null}}")
    mapping: dict[str, str | None] = {}
    for name, target in parsed.items():
        if target is not None and not isinstance(target, str) or not name.strip():
            raise ConfigError(f"{path}: name {name!r} maps to {target!r}; expected a non-blank name and a class name "
                              "(a string) or null (no class)")
        mapping[name.strip()] = target.strip() or None if isinstance(target, str) else None
    return mapping


def _kept_items(values: pa.Array, parents: np.ndarray, mapped: pa.Array, null_rows: pa.Array) -> pa.Array:
    """The lists of `mapped` items (flattened from `values`, `parents` their rows) without the null ones (those
    mapped to no class: `apply` refuses a null item before) and without an item already earlier in its list;
    the rows of `null_rows` null."""
    keep = pc.is_valid(mapped).to_numpy(zero_copy_only=False)
    table = pa.table({"row": pa.array(parents[keep], pa.int64()), "name": pc.filter(mapped, pc.is_valid(mapped)),
                      "place": pa.array(np.flatnonzero(keep), pa.int64())})
    if table.num_rows:
        table = table.group_by(["row", "name"], use_threads=False).aggregate([("place", "min")])
        table = table.sort_by("place_min")
    rows = table.column("row").to_numpy()
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(values)))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), table.column("name").combine_chunks(),
                                    mask=null_rows)
