"""The life of a feature table in a dataset: claim it in the manifest, write shards, finish it.

Every stage that adds a table (extractors, precomputed corpus tables, alignment) goes through
`claim_table` and `finish_table`, so a table is registered, resumed and counted the same way.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mmdata.errors import ConfigError, DatasetError
from mmdata.options import option_text
from mmdata.store import layout
from mmdata.store.grown_samples import forget_table_update_left, rows_in_finished_shards
from mmdata.store.manifest import TableEntry, write_manifest
from mmdata.store.metadata import read_table_metadata
from mmdata.store.reader import Dataset


@dataclass
class TableReport:
    """What one run did to a table."""

    name: str
    rows: int
    errors: int
    shards_written: int
    shards_skipped: int
    path: Path
    #: Where the run decoded the items ("this process", "2 worker processes", and why), when known.
    decoded_in: str | None = None
    #: Finished shards computed again because their rows no longer matched the samples table's.
    shards_redone: int = 0
    #: A complete table kept as it was, made with other library versions than this install's:
    #: which ones ('librosa 0.10.2 (this install: 0.11.0)'); None when the versions are the same.
    made_with: str | None = None


def claim_table(dataset: Dataset, provenance: dict[str, Any], *, force: bool = False, source: str | None = None,
                table_format: str = layout.DEFAULT_FEATURE_FORMAT) -> Path:
    """Register `provenance["table"]` in the manifest as incomplete and return its directory.

    `table_format` ('arrow' or 'parquet', see `layout.TABLE_FORMATS`) is the format of its shards;
    `shard_path` names them.

    Shards of an interrupted run with the same config are kept (the run resumes); a table or a shard
    made with another config or for other samples is refused, or removed when `force`. A config that
    differs only by options the extractor lists as not applying is the same (`same_config`): the table
    is kept, and its manifest entry keeps the config its shards were recorded with. Shards made
    with other library versions are kept too, and the entry names the versions that made them: the
    caller refuses to compute any shard next to them (`refuse_mixed_versions`, which would mix rows
    computed by two versions) once it knows which shards are pending, and restores the entry then.
    Temporary files a killed writer left behind (of shards, errors and moments) are removed. A table
    whose files are removed starts anew: an `extract --update` no longer explains it being incomplete
    (`grown_samples.forget_table_update_left`).

    `provenance` holds table, modality, extractor, config, spec, versions, samples_fingerprint.
    """
    name = provenance["table"]
    table_dir = layout.feature_dir(dataset.root, name)
    errors_dir = layout.errors_dir(dataset.root, name)
    if table_format not in layout.TABLE_FORMATS:
        raise DatasetError(f"table format {table_format!r} is not one of {sorted(layout.TABLE_FORMATS)}")
    conflict, made_with = _conflict(dataset, provenance, table_dir, table_format)
    if conflict and not force:
        raise DatasetError(f"{conflict}; {WAYS_OUT.format(table_dir=table_dir, errors_dir=errors_dir)}")
    existing = None if conflict else dataset.manifest.tables.get(name)
    if conflict:
        shutil.rmtree(table_dir, ignore_errors=True)
        shutil.rmtree(errors_dir, ignore_errors=True)
        forget_table_update_left(dataset.manifest, name)
    # A kept table an earlier version recorded with options that do not apply keeps the config its shards hold.
    kept_config = None if conflict else _recorded_config(existing, table_dir)
    dataset.manifest.tables[name] = TableEntry(
        name=name,
        path=str(table_dir.relative_to(dataset.root)),
        modality=provenance["modality"],
        extractor=provenance["extractor"],
        config=kept_config if kept_config is not None and same_config(kept_config, provenance) else provenance["config"],
        # A table an earlier version described with fewer fields keeps the spec its shards hold.
        spec=existing.spec if existing is not None and _same_rows(existing.spec, provenance["spec"]) else provenance["spec"],
        # A complete table kept as it is says what made its rows, not what this run has installed.
        versions=made_with or provenance["versions"],
        rows=existing.rows if existing else 0,
        errors=existing.errors if existing else 0,
        complete=False,
        source=source,
        format=table_format,
    )
    write_manifest(dataset.root, dataset.manifest)
    return table_dir


#: How a user gets past a refused claim (`claim_table`), after the reason.
WAYS_OUT = ("pass --force to `mmdata extract` or `mmdata align` to replace the table, remove {table_dir} (and "
            "{errors_dir}), or write to another output directory")


def claim_refusal(dataset: Dataset, provenance: dict[str, Any], *,
                  table_format: str = layout.DEFAULT_FEATURE_FORMAT) -> str | None:
    """Why `claim_table` (without `force`) would refuse the table `provenance` describes, or None; it
    reads the dataset and writes nothing, so a run can learn every refusal before it claims any table."""
    if table_format not in layout.TABLE_FORMATS:
        return f"table format {table_format!r} is not one of {sorted(layout.TABLE_FORMATS)}"
    return _conflict(dataset, provenance, layout.feature_dir(dataset.root, provenance["table"]), table_format)[0]


def drop_table(dataset: Dataset, name: str) -> None:
    """Remove table `name` from the dataset: its shards, its errors and its manifest entry (and its name
    from the tables an `extract --update` left: `--force` computes it anew, `forget_table_update_left`)."""
    shutil.rmtree(layout.feature_dir(dataset.root, name), ignore_errors=True)
    shutil.rmtree(layout.errors_dir(dataset.root, name), ignore_errors=True)
    if dataset.manifest.tables.pop(name, None) is not None:
        forget_table_update_left(dataset.manifest, name)
        write_manifest(dataset.root, dataset.manifest)


def shard_path(dataset: Dataset, name: str, index: int) -> Path:
    """Where shard `index` of table `name` goes, in the table's format."""
    return dataset.table_dir(name) / layout.shard_name(index, dataset.entry(name).format)


def finish_table(dataset: Dataset, name: str, *, written: int) -> TableReport:
    """Count the table's rows and failures from its shards, mark it complete (no longer one an `extract
    --update` left: `forget_table_update_left`), write the manifest."""
    entry = dataset.manifest.tables[name]
    shards = recount_table(dataset.root, name, entry)
    entry.complete = True
    forget_table_update_left(dataset.manifest, name)
    write_manifest(dataset.root, dataset.manifest)
    return TableReport(name, entry.rows, entry.errors, written, shards - written, dataset.root / entry.path)


def recount_table(dataset_dir: Path, name: str, entry: TableEntry) -> int:
    """Set `entry.rows` and `entry.errors` to the rows the finished shards of table `name` and of its
    errors table hold now (`grown_samples.rows_in_finished_shards`, an unreadable shard raising), and
    return how many shards the table has. `finish_table` counts a table so, and `extract --update`
    every table once it removed the shards the new samples replace.

    Raises:
        ShardReadError: a shard's footer cannot be read (naming the shard).
    """
    table_dir = layout.feature_dir(dataset_dir, name)
    entry.rows = rows_in_finished_shards(table_dir, skip_unreadable=False)
    entry.errors = rows_in_finished_shards(layout.errors_dir(dataset_dir, name), skip_unreadable=False)
    return len(layout.shard_files(table_dir))


def versions_differ(made_with: dict[str, str], running: dict[str, str]) -> str | None:
    """'sentence-transformers 5.0.0 (this install: 5.1.0), ...' for the libraries whose versions
    differ between what made a table and this install; None when none does."""
    changed = [f"{lib} {made_with.get(lib, 'absent')} (this install: {running.get(lib, 'absent')})"
               for lib in sorted(set(made_with) | set(running)) if made_with.get(lib) != running.get(lib)]
    return ", ".join(changed) or None


class MixedVersionsError(DatasetError):
    """Shards would be computed next to kept ones made with other library versions."""


def put_back(dataset: Dataset, entries: Mapping[str, TableEntry | None]) -> None:
    """Restore tables' manifest entries as they were before a refused claim ({name: entry, or None
    for a table the manifest did not have}), in one manifest write. `claim_table` replaces an entry
    and never changes it, so the entries taken before it are as they were."""
    for name, entry in entries.items():
        if entry is None:
            dataset.manifest.tables.pop(name, None)
        else:
            dataset.manifest.tables[name] = entry
    write_manifest(dataset.root, dataset.manifest)


def claim_again_if_other_versions(dataset: Dataset, provenance: dict[str, Any], *, source: str | None,
                                  table_format: str) -> bool:
    """`--force` over a claimed table whose kept shards other library versions made: drop it and
    claim it anew, to be computed whole with this install's versions. Whether it did."""
    name = provenance["table"]
    if not versions_differ(dataset.manifest.tables[name].versions, provenance["versions"]):
        return False
    drop_table(dataset, name)
    claim_table(dataset, provenance, source=source, table_format=table_format)
    return True


#: Provenance key listing the options an extractor left out of its recorded `config` because they do not
#: apply under its other options (`Extractor.inapplicable_options`: `dim` of word-embeddings' minilm).
INAPPLICABLE_OPTIONS = "inapplicable_options"


def same_config(recorded: Any, provenance: Mapping[str, Any]) -> bool:
    """Whether a table recorded with config `recorded` was made with the config `provenance` describes:
    the same options, but for those `provenance` lists as not applying (`INAPPLICABLE_OPTIONS`), which an
    earlier version recorded and which change nothing (a `dim` recorded beside method=minilm)."""
    running = provenance.get("config")
    if not isinstance(recorded, Mapping) or not isinstance(running, Mapping):
        return False
    skipped = _inapplicable(provenance)
    return ({key: value for key, value in recorded.items() if key not in skipped}
            == {key: value for key, value in running.items() if key not in skipped})


def _inapplicable(provenance: Mapping[str, Any]) -> frozenset[str]:
    """The options `provenance` lists as not applying (`INAPPLICABLE_OPTIONS`), which no comparison counts."""
    return frozenset(provenance.get(INAPPLICABLE_OPTIONS) or ())


def options_differ(recorded: Any, running: Any, *, ignored: frozenset[str] = frozenset(),
                   what: str = "options") -> str:
    """'bins=16, dim absent, not bins=4, dim=64 (other options equal)': the keys whose values differ
    between what made a table and this run, in sorted order, spelled as a spec takes them (`option_text`),
    a key one side lacks as absent; `ignored` keys are not compared. A refusal leads with these, as two
    whole configs of fifteen options in two key orders hide the one that changed. Either side not a
    mapping (a shard or manifest an older version wrote): both shown whole."""
    if not isinstance(recorded, Mapping) or not isinstance(running, Mapping):
        return f"{what} {recorded!r}, not {running!r}"
    keys = [key for key in sorted(set(recorded) | set(running), key=str) if key not in ignored
            and (key not in recorded or key not in running or recorded[key] != running[key])]
    made, wanted = (", ".join(_key_value(key, side) for key in keys) for side in (recorded, running))
    shared = set(recorded) & set(running)
    return f"{made}, not {wanted}" + (f" (other {what} equal)" if shared - set(keys) - ignored else "")


def _key_value(key: str, options: Mapping[str, Any]) -> str:
    """`key=value` as a spec takes it (`option_text`; a value it cannot spell, as JSON), or `key absent`."""
    if key not in options:
        return f"{key} absent"
    try:
        return f"{key}={option_text(options[key])}"
    except ConfigError:
        return f"{key}={json.dumps(options[key], sort_keys=True)}"


def _recorded_config(existing: TableEntry | None, table_dir: Path) -> dict[str, Any] | None:
    """The config the shards of a table to keep were recorded with: its manifest entry's, or its first
    shard's where the manifest has no entry for it; None when it has no shards (nothing is kept)."""
    shards = layout.shard_files(table_dir)
    if not shards:
        return None
    return existing.config if existing is not None else read_table_metadata(shards[0]).get("config")


#: Feature-spec fields that describe rows without changing them, added by later versions: a table whose
#: spec lacks them holds the same rows (`FeatureSpec.frame_window`, added in 0.2.0, tells `check` how many
#: edge frames an extractor drops).
DESCRIPTIVE_SPEC_FIELDS = frozenset({"frame_window"})


def _same_rows(existing: dict[str, Any], running: dict[str, Any]) -> bool:
    """Whether a table with spec `existing` holds rows as this run's spec `running` describes them: the
    same spec, or one an earlier version wrote without fields it did not know (`DESCRIPTIVE_SPEC_FIELDS`)."""
    if existing == running:
        return True
    added = set(running) - set(existing)
    return (bool(added) and added <= DESCRIPTIVE_SPEC_FIELDS and set(existing) <= set(running)
            and all(existing[key] == running[key] for key in existing))


def refuse_mixed_versions(dataset: Dataset, name: str, running: dict[str, str], shards: int) -> None:
    """Before `shards` shards of table `name` are computed next to ones it keeps: refuse when those
    were made with other library versions (a complete table kept by `claim_table`).

    Raises:
        DatasetError: naming the libraries and both versions, and the way out.
    """
    changed = versions_differ(dataset.manifest.tables[name].versions, running)
    if shards and changed:
        raise MixedVersionsError(
            f"table {name!r} in {dataset.root} was made with {changed}; computing {shards} of its shards again "
            f"would mix rows computed by two versions; pass --force to compute the whole table again, or run "
            "with the versions it was made with")


def _conflict(dataset: Dataset, provenance: dict[str, Any], table_dir: Path,
              table_format: str) -> tuple[str | None, dict[str, str] | None]:
    """(why the table's files cannot be kept, or None; the library versions of a kept shard made with
    other versions than this run's, or None)."""
    name = provenance["table"]
    existing = dataset.manifest.tables.get(name)
    shards = layout.shard_files(table_dir)
    if (existing is not None and (not same_config(existing.config, provenance) or not _same_rows(existing.spec, provenance["spec"]))
            and (shards or layout.shard_files(layout.errors_dir(dataset.root, name)))):
        # (an entry whose shards were all removed is replaced: nothing of it is left to keep)
        if not same_config(existing.config, provenance):
            changed = options_differ(existing.config, provenance["config"], ignored=_inapplicable(provenance))
            return f"table {name!r} in {dataset.root} was made with {changed}", None
        changed = options_differ(existing.spec, provenance["spec"], ignored=DESCRIPTIVE_SPEC_FIELDS - set(existing.spec),
                                 what="fields")
        return (f"table {name!r} in {dataset.root} was made with feature spec {changed}: an earlier mmdata version "
                "described the same extractor differently"), None
    if shards and layout.shard_format(shards[0]) != table_format:
        return (f"table {name!r} in {dataset.root} holds {layout.shard_format(shards[0])} shards, not {table_format}; "
                f"extract it with --table-format {layout.shard_format(shards[0])} to resume"), None
    made_with: dict[str, str] | None = None  # the versions of the first shard made with others than this run's
    for shard in shards:
        meta = read_table_metadata(shard)
        if not same_config(meta.get("config"), provenance):
            changed = options_differ(meta.get("config"), provenance["config"], ignored=_inapplicable(provenance))
            return f"shard {shard} of table {name!r} was written with {changed}", None
        if meta.get("samples_fingerprint") != provenance["samples_fingerprint"]:
            return (f"shard {shard} of table {name!r} was written for other samples (samples fingerprint "
                    f"{meta.get('samples_fingerprint')}, not {provenance['samples_fingerprint']})"), None
        # Kept whatever its versions: `refuse_mixed_versions` refuses once it knows a shard is to be computed.
        if made_with is None and versions_differ(meta.get("versions") or {}, provenance["versions"]):
            made_with = meta.get("versions") or {}
    return None, made_with
