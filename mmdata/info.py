"""A description of a dataset directory: tables, rows, dims, provenance (what `mmdata info` shows).

Rows are counted from the shards' footers (no data is read), so the description says what the files
hold, not only what the manifest recorded: a shard or a table folder that is gone or cannot be read,
or shards holding other rows than the manifest counts, is a problem naming the file and the fix.
`mmdata check` reads every row; this looks at the files only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.checks.update_state import update_interrupted_message
from mmdata.errors import DatasetError
from mmdata.store.grown_samples import (
    SamplesGrowth, dataset_growth, incomplete_after_growth, interrupted_update, may_lack_added_samples,
)
from mmdata.store.layout import ERRORS_DIR, FEATURES_DIR, MANIFEST_NAME, shard_files
from mmdata.store.layout import samples_dir as layout_samples_dir
from mmdata.store.manifest import TableEntry
from mmdata.store.reader import Dataset, open_dataset
from mmdata.store.shards import RESTORE_SAMPLES, shard_rows

#: Why a table is incomplete when no `extract --update` explains it, and how it is finished.
INTERRUPTED_HINT = ("the `mmdata extract` or `mmdata align` writing it is running now or was interrupted; run it "
                    "again to finish the table")

#: How a feature table's missing shards are made again: the command that wrote it resumes it.
_RERUN = ("run the `mmdata extract` (or `mmdata align`) that wrote the table again, which computes missing shards "
          "again, or restore the files from a copy")


@dataclass
class ShardSurvey:
    """What a table's folder holds: rows of its readable shards (from their footers), and problems."""

    rows: int = 0
    problems: list[str] = field(default_factory=list)


def describe_dataset(path: str | Path | Dataset) -> dict[str, Any]:
    """One JSON-able object naming the samples table and every feature table.

    Each table: name, path, format (arrow or parquet shards), modality, extractor, config, rows,
    dim, dtype, kind, frame_rate, errors, complete, incomplete, versions, source, problems. Rows are
    those of the table's shards, from their footers (of an unfinished table: the shards written so far).
    `incomplete` (null for a complete table) says why and what finishes it: `cause` is
    "samples-grew" (an `extract --update` added samples no extract computed this table's rows for),
    "update-interrupted" (an update is running or was killed: the same command finishes it) or
    "interrupted" (the extract or align writing it is running or was killed), with `missing_rows`
    and `hint`, one line naming the command to run. `update` (null unless it explains an incomplete
    table or is unfinished) holds `rows_before` (the samples before the update), `interrupted`, and for
    an unfinished update a `message` naming the command that finishes it.
    `problems` (also per table) lists, one line each naming the file and the fix, a table folder or
    shard that is gone or cannot be read and rows that differ from the manifest's count;
    `unlisted_tables` names folders in features/ the manifest does not list (no command reads them).

    Args:
        path: the dataset directory, or a `Dataset` (`open_dataset`; its files are looked at anew).

    Returns:
        A dict (what `mmdata info --json` prints): dataset, layout_version, mmdata_version, corpus,
        samples, update, tables (a list, one dict per table), errors, problems, unlisted_tables.

    Raises:
        DatasetError: not a dataset (see `open_dataset`), or its path is not valid UTF-8.
        ArgumentTypeError: `path` is not a str, Path or Dataset.
    """
    dataset = open_dataset(path)
    manifest = dataset.manifest
    unfinished = interrupted_update(manifest)
    # an unfinished update has written some of the grown samples table's shards: not what the manifest counts yet
    samples = survey_shards(layout_samples_dir(dataset.root), None if unfinished else manifest.samples["rows"],
                            "the samples table", RESTORE_SAMPLES)
    tables = [_describe_table(dataset, name) for name in dataset.table_names]
    growth = _growth(dataset, samples, unfinished)
    for table in tables:
        entry = manifest.tables[table["name"]]
        if not entry.complete:
            table["incomplete"] = _incomplete(dataset, table, growth if may_lack_added_samples(manifest, table["name"])
                                              else None, samples.rows)
    errors_rows, errors_problems = _errors_rows(dataset.root)
    errors_dir = dataset.root / ERRORS_DIR
    return {
        "dataset": str(dataset.root),
        "layout_version": manifest.layout_version,
        "mmdata_version": manifest.mmdata_version,
        "corpus": manifest.corpus,
        "samples": {
            "path": str(dataset.root / manifest.samples["path"]),
            "rows": samples.rows,
            "splits": manifest.samples.get("splits", {}),
            "loader_errors": manifest.samples.get("loader_errors", 0),
            # what `mmdata fuse --labels` can export besides `label` (names the loader recorded)
            "aux_labels": list((manifest.extra.get("loader") or {}).get("label_names") or []),
        },
        "update": _update(dataset, growth, samples.rows),
        "tables": tables,
        # null when no item failed: there is no errors folder to read then
        "errors": {"rows": errors_rows, "path": str(errors_dir) if errors_dir.is_dir() else None},
        "problems": samples.problems + [p for t in tables for p in t["problems"]] + errors_problems,
        "unlisted_tables": _unlisted_tables(dataset),
    }


def survey_shards(folder: Path, listed_rows: int | None, what: str, fix: str) -> ShardSurvey:
    """Rows of the shards in `folder` from their footers, and what is wrong: no folder or no shard where
    the manifest counts rows, a shard that cannot be read, or (`listed_rows` given, for a finished
    table) other rows than the manifest counts. An unfinished table (`listed_rows` None) is compared
    with nothing: its shards are being written, or were when its run stopped."""
    survey = ShardSurvey()
    if not folder.is_dir():
        if listed_rows:
            survey.problems.append(f"{folder}: no such folder, while {MANIFEST_NAME} counts {listed_rows} rows of "
                                   f"{what} there; {fix}")
        return survey
    try:
        os.listdir(folder)  # a folder that cannot be listed holds no shard to `shard_files`: say why
        files = shard_files(folder)
    except OSError as e:
        survey.problems.append(f"cannot list {folder} ({e.strerror or e}); make the folder readable")
        return survey
    except DatasetError as e:  # shards of two formats
        survey.problems.append(str(e))
        return survey
    if not files and listed_rows:
        survey.problems.append(f"{folder}: no finished shard, while {MANIFEST_NAME} counts {listed_rows} rows of "
                               f"{what}; {fix}")
    for shard in files:
        try:
            survey.rows += shard_rows(shard)
        except DatasetError as e:  # ShardReadError: names the shard and how to replace it
            survey.problems.append(str(e))
    if listed_rows is not None and files and not survey.problems and survey.rows != listed_rows:
        survey.problems.append(f"{folder}: its shards hold {survey.rows} rows, while {MANIFEST_NAME} counts "
                               f"{listed_rows} rows of {what}; {fix}")
    return survey


def _describe_table(dataset: Dataset, name: str) -> dict[str, Any]:
    entry: TableEntry = dataset.manifest.tables[name]
    spec = entry.spec
    survey = survey_shards(dataset.root / entry.path, entry.rows if entry.complete else None, f"table {name!r}",
                           _RERUN)
    return {
        "name": name,
        "path": str(dataset.root / entry.path),
        "format": entry.format,
        "modality": entry.modality,
        "extractor": entry.extractor,
        "config": entry.config,
        "rows": survey.rows,
        "dim": spec.get("dim"),
        "dtype": spec.get("dtype"),
        "kind": spec.get("kind"),
        "frame_rate": spec.get("frame_rate"),
        "errors": entry.errors,
        "complete": entry.complete,
        "incomplete": None,  # why not, and what finishes it: filled in by `describe_dataset`
        "versions": entry.versions,
        "source": entry.source,
        "problems": survey.problems,
    }


def _growth(dataset: Dataset, samples: ShardSurvey, unfinished: SamplesGrowth | None) -> SamplesGrowth | None:
    """How an `extract --update` grew the samples table, when that can explain an incomplete table or an
    update is unfinished (`unfinished`: the manifest's `interrupted_update`; else `grown_samples.dataset_growth`:
    the manifest's record; the samples' ids are read, one column, only when a table is incomplete in a dataset
    whose manifest records no count)."""
    lacking = any(may_lack_added_samples(dataset.manifest, name) for name in dataset.manifest.tables)
    if unfinished is not None or not lacking or samples.problems:
        return unfinished
    try:
        return dataset_growth(dataset)
    except DatasetError:
        return None  # a samples shard that cannot be read: a problem of its own already


def _incomplete(dataset: Dataset, table: dict[str, Any], growth: SamplesGrowth | None,
                total: int) -> dict[str, Any]:
    """Why an incomplete table is incomplete, its missing rows, and the one-line hint naming what finishes it."""
    missing = max(total - table["rows"], 0)
    if growth is None:
        return {"cause": "interrupted", "missing_rows": missing, "hint": INTERRUPTED_HINT}
    return {"cause": "update-interrupted" if growth.interrupted else "samples-grew", "missing_rows": missing,
            "hint": incomplete_after_growth(dataset, table["name"], growth, rows=table["rows"], total=total)}


def _update(dataset: Dataset, growth: SamplesGrowth | None, rows_now: int) -> dict[str, Any] | None:
    """The `update` entry of the description (see `describe_dataset`)."""
    if growth is None:
        return None
    described: dict[str, Any] = {"rows_before": growth.rows_before, "interrupted": growth.interrupted}
    if growth.interrupted:
        described["message"] = update_interrupted_message(dataset, growth, rows_now=rows_now)
    return described


def _errors_rows(root: Path) -> tuple[int, list[str]]:
    """Rows of the errors tables (the loader's and every feature table's), from their footers, and a
    problem for each shard that cannot be read."""
    rows, problems = 0, []
    for shard in sorted((root / ERRORS_DIR).glob("*/part-*.parquet")):
        try:
            rows += shard_rows(shard)
        except DatasetError as e:
            problems.append(str(e))
    return rows, problems


def _unlisted_tables(dataset: Dataset) -> list[str]:
    """Folders in features/ that no manifest entry names (hidden ones are a writer's temporaries)."""
    features = dataset.root / FEATURES_DIR
    if not features.is_dir():
        return []
    listed = {(dataset.root / entry.path).resolve() for entry in dataset.manifest.tables.values()}
    return sorted(str(p) for p in features.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.resolve() not in listed)
