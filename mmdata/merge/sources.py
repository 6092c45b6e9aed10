"""The datasets a merge reads: their names, their splits, and the tables every one of them holds alike.

A table is merged when each dataset holds it complete and made the same way: the same extractor, options
(`same_config`, but for those naming a dataset's own files or rows: `comparable_config`), feature spec, columns
and library versions (mmdata's by minor series), and, for an aligned table, inputs that would merge too. A table
some dataset lacks, holds incomplete or made otherwise is skipped (and said why) unless it was asked for by
name, which refuses it instead.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mmdata.errors import ConfigError, DatasetError
from mmdata.options import did_you_mean
from mmdata.store.layout import MERGED_KIND
from mmdata.store.manifest import TableEntry
from mmdata.store.reader import Dataset, open_dataset
from mmdata.store.shards import shard_schema
from mmdata.store.tables import DESCRIPTIVE_SPEC_FIELDS, same_config

#: A dataset's name in a merge: the prefix of its sample ids, so no '/' or ':' (those separate it).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class MergeSource:
    """One dataset of a merge: its name (its samples' id prefix), the dataset, the split every sample of it is
    put in (None: the splits it has)."""

    name: str
    dataset: Dataset
    split: str | None = None


def open_sources(paths: Sequence[Path], names: Sequence[str] | None,
                 splits: Mapping[str, str] | None) -> list[MergeSource]:
    """The datasets at `paths`, named `names` (default: their folders' names), with the splits `splits` gives.

    Raises:
        ConfigError: fewer than two datasets, one given twice, names that are not one per dataset, not unique
            or not of the allowed form, a split for a name no dataset has.
        DatasetError: a dataset that cannot be opened, or that is itself a merge.
    """
    if len(paths) < 2:
        raise ConfigError(f"merge takes two datasets or more, got {len(paths)}: {[str(p) for p in paths]}")
    resolved: dict[Path, Path] = {}
    for path in paths:
        key = Path(path).resolve()
        if key in resolved:
            raise ConfigError(f"dataset {path} is given twice (as {resolved[key]} too); give each dataset once")
        resolved[key] = Path(path)
    datasets = [open_dataset(p) for p in paths]
    for data in datasets:
        if data.manifest.corpus.get("kind") == MERGED_KIND:
            raise DatasetError(f"{data.root} is a merged dataset already; merge the datasets it was made of "
                               f"({', '.join(s['name'] for s in data.manifest.extra.get('merge', {}).get('sources', []))}) "
                               "with the others instead")
    chosen = _names(datasets, names)
    splits = dict(splits or {})
    for name, split in splits.items():
        if name not in chosen:
            raise ConfigError(f"split for {name!r}: no dataset of the merge is named so; the names: {chosen}"
                              f"{did_you_mean(name, chosen)} (--split NAME=SPLIT, --name)")
        if not isinstance(split, str) or not split.strip() or split != split.strip():
            raise ConfigError(f"split for {name!r}: expected a split name (e.g. test), got {split!r}")
    return [MergeSource(name, data, splits.get(name)) for name, data in zip(chosen, datasets)]


def _names(datasets: Sequence[Dataset], names: Sequence[str] | None) -> list[str]:
    if names is None:
        chosen = [data.root.name or data.root.resolve().name for data in datasets]  # the folder as given
        seen: dict[str, Path] = {}
        for name, data in zip(chosen, datasets):
            if name in seen:
                raise ConfigError(f"two datasets are in folders named {name!r} ({seen[name]} and {data.root}): a merge "
                                  "names each dataset's samples by its folder; give each a name (--name, names=...)")
            seen[name] = data.root
    else:
        chosen = list(names)
        if len(chosen) != len(datasets):
            raise ConfigError(f"{len(chosen)} names for {len(datasets)} datasets: give one name per dataset, in their "
                              f"order (--name, names=...); got {chosen}")
        repeated = sorted({n for n in chosen if chosen.count(n) > 1})
        if repeated:
            raise ConfigError(f"name {repeated[0]!r} is given to two datasets; each dataset needs its own name")
    for name in chosen:
        if not isinstance(name, str) or not NAME.fullmatch(name):
            given = "given" if names is not None else "its folder's name"
            raise ConfigError(f"dataset name {name!r} ({given}): expected letters, digits, '.', '_' or '-' (no '/' or "
                              "':', which separate it from a sample's id), starting with a letter or digit; give "
                              "each dataset a name (--name, names=...)")
    return chosen


def choose_tables(sources: Sequence[MergeSource], tables: Sequence[str] | None,
                  any_versions: bool) -> tuple[list[str], dict[str, str]]:
    """(the tables to merge, in name order or the order asked; {table: why it is skipped}).

    Raises:
        DatasetError: a table asked for that some dataset lacks or holds otherwise; no table to merge at all.
    """
    every = sorted({name for s in sources for name in s.dataset.manifest.tables})
    if tables is not None:
        for name in tables:
            if name not in every:
                raise DatasetError(f"table {name!r} is in none of the datasets; their tables: {every}{did_you_mean(name, every)}")
            why = why_not_merged(sources, name, any_versions)
            if why is not None:
                hint = "" if "; " in why else ("; extract it the same way into each dataset, or leave it out of --table "
                                               "(tables=)")
                raise DatasetError(f"table {name!r} cannot be merged: {why}{hint}")
        return list(dict.fromkeys(tables)), {}
    chosen, skipped = [], {}
    for name in every:
        why = why_not_merged(sources, name, any_versions)
        if why is None:
            chosen.append(name)
        else:
            skipped[name] = why
    if not chosen:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped.items()) or "they hold no feature tables"
        versions_only = skipped and all(VERSIONS_HINT in why for why in skipped.values())
        hint = ("merge them anyway with --any-versions (any_versions=True)" if versions_only else
                "extract the same table with the same options into each dataset first (`mmdata extract ... -e EXTRACTOR`)")
        raise DatasetError(f"no feature table is in every dataset and made the same way ({reasons}); {hint}")
    return chosen, skipped


#: Config keys that describe a dataset's files rather than how a table's rows are computed: a `.csd` table's
#: file, root name and metadata (CMU_MOSI_COVAREP.csd and CMU_MOSEI_COVAREP.csd hold rows computed alike), an
#: MMSA pickle's array shapes per split and the padding each split kept.
SOURCE_FILE_KEYS = frozenset({"file", "root_name", "metadata", "shapes", "padding_by_split"})
#: Per extractor, further keys of that kind: an aligned table's fingerprint of its inputs' configs and rows (the
#: inputs themselves are compared instead), a segmented table's label file and source table's rows.
DATASET_KEYS = {"align": frozenset({"inputs"}), "segment": frozenset({"labels", "source"})}
#: What the refusal of other library versions ends with.
VERSIONS_HINT = "merge anyway with --any-versions"


def why_not_merged(sources: Sequence[MergeSource], name: str, any_versions: bool, depth: int = 0) -> str | None:
    """Why table `name` cannot be merged (a dataset lacks it, holds it incomplete, with other columns or made
    otherwise), or None. An aligned table's inputs, where every dataset holds them, must be mergeable too."""
    lacking = [s.name for s in sources if name not in s.dataset.manifest.tables]
    if lacking:
        return f"not in {', '.join(lacking)}"
    incomplete = [s.name for s in sources if not s.dataset.manifest.tables[name].complete]
    if incomplete:
        return (f"incomplete in {', '.join(incomplete)} (an interrupted or updated extraction: run it again to "
                "finish the table)")
    first = sources[0]
    reference = first.dataset.manifest.tables[name]
    for other in sources[1:]:
        differ = entries_differ(reference, other.dataset.manifest.tables[name], any_versions)
        if differ:
            return f"made otherwise in {other.name} than in {first.name}: {differ}"
    columns = {s.name: table_columns(s, name) for s in sources}
    if len({tuple(c) for c in columns.values()}) > 1:
        return ("other columns: " + "; ".join(f"{n} {c}" for n, c in columns.items())
                + "; extract (or align) the table the same way into each dataset")
    if reference.extractor == "align" and depth < 2:
        for input_name in dict.fromkeys((reference.config.get("table"), reference.config.get("reference"))):
            if isinstance(input_name, str) and input_name != name and all(
                    input_name in s.dataset.manifest.tables for s in sources):
                why = why_not_merged(sources, input_name, any_versions, depth + 1)
                if why is not None:
                    return f"its input {input_name} is {why}"
    return None


def table_columns(source: MergeSource, name: str) -> list[str]:
    """The columns of the first shard of table `name` in `source` (its footer read only)."""
    files = source.dataset.table_files(name)
    return shard_schema(files[0]).names if files else []


def comparable_config(entry: TableEntry) -> dict[str, object]:
    """The options of a table entry that say how its rows are computed: those describing a dataset's own files or
    rows left out (`SOURCE_FILE_KEYS`, `DATASET_KEYS`); a segmented table keeps its source table's extractor."""
    skipped = SOURCE_FILE_KEYS | DATASET_KEYS.get(entry.extractor, frozenset())
    config: dict[str, object] = {k: v for k, v in entry.config.items() if k not in skipped}
    source = entry.config.get("source")
    if entry.extractor == "segment" and isinstance(source, dict):
        config["source_extractor"] = source.get("extractor")
        if source.get("extractor") != "precomputed":  # a table read from a corpus file: its config names the file
            config["source_config"] = source.get("config")
    return config


def entries_differ(first: TableEntry, other: TableEntry, any_versions: bool) -> str | None:
    """How `other` was made otherwise than `first` (extractor, options, spec, library versions), or None."""
    if (first.modality, first.extractor) != (other.modality, other.extractor):
        return f"extractor {other.modality}.{other.extractor}, not {first.modality}.{first.extractor}"
    mine, theirs = comparable_config(first), comparable_config(other)
    if not same_config(theirs, {"config": mine}):
        keys = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        return ("options " + ", ".join(f"{k}={theirs.get(k)!r}, not {mine.get(k)!r}" for k in keys)
                + "; extract the table with the same options into each dataset")
    spec_first = {k: v for k, v in first.spec.items() if k not in DESCRIPTIVE_SPEC_FIELDS}
    spec_other = {k: v for k, v in other.spec.items() if k not in DESCRIPTIVE_SPEC_FIELDS}
    if spec_first != spec_other:
        keys = sorted(k for k in set(spec_first) | set(spec_other) if spec_first.get(k) != spec_other.get(k))
        return "feature " + ", ".join(f"{k} {spec_other.get(k)!r}, not {spec_first.get(k)!r}" for k in keys)
    if not any_versions:
        libraries = sorted(k for k in set(first.versions) | set(other.versions)
                           if _release(k, first.versions.get(k)) != _release(k, other.versions.get(k)))
        if libraries:
            return ("library versions " + ", ".join(f"{lib} {other.versions.get(lib, 'absent')}, not "
                                                    f"{first.versions.get(lib, 'absent')}" for lib in libraries)
                    + f"; extract it again with one install, or {VERSIONS_HINT} (any_versions=True)")
    return None


def _release(library: str, version: str | None) -> str | None:
    """The version that decides whether two tables were computed alike: mmdata's minor series (the releases of
    one series make the same tables, CHANGELOG), any other library's whole version."""
    if library == "mmdata" and version:
        return ".".join(version.split(".")[:2])
    return version
