"""What an `extract --update` left in a dataset, as `mmdata info` and `mmdata check` tell it.

An update appends the samples a corpus gained and marks every feature table incomplete
(`mmdata.samples_update`); the tables the update run named are completed, the others stay incomplete
until an extract names them. Such a table was not left by an interrupted run: its rows end where the
samples table ended before it grew, and an extract naming its extractor computes the rest. How that
is told apart from an interrupted extract (the tables the manifest lists as left by the update,
its `extra.update` marker, the samples fingerprint, the count of rows before the update the manifest
records, which `check` confirms against the ids it holds), the words that say so and
the commands that complete such a table are `mmdata.store.grown_samples`, which the readers of a
dataset, `info` and `check` share; this module makes `check`'s issues of them and the dataset-level
line of an unfinished update.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks.issues import Issue, make_issue
from mmdata.samples_update import UPDATE_KEY
from mmdata.store.grown_samples import (  # the readers' share of it: `mmdata.store.reader` cannot import this module
    SamplesGrowth, finish_update_hint, interrupted_update, lacks_added_samples,
)
from mmdata.store.reader import Dataset

#: Where the manifest marks an update under way, as messages name it.
MANIFEST_MARKER = f"the manifest's extra.{UPDATE_KEY}"


def check_grown_table(dataset: Dataset, name: str, growth: SamplesGrowth, table_ids: pa.Array, sample_ids: pa.Array,
                      *, max_examples: int = 5) -> list[Issue]:
    """The one issue of a table left incomplete by `growth` (`table-incomplete`, an error: the dataset is
    not ready to train on), counting and naming the samples it has no row for, which `ids-missing`
    would name again; it replaces that issue for the table."""
    missing = sample_ids.filter(pc.invert(pc.is_in(sample_ids, value_set=table_ids)))
    rows, total = len(sample_ids) - len(missing), len(sample_ids)
    message = lacks_added_samples(dataset, name, growth, rows=rows, total=total, subject="the table")
    return [make_issue("table-incomplete", "error", message, table=name, offenders=missing.to_pylist()[:max_examples],
                       count=len(missing), max_examples=max_examples)]


def check_update_finished(dataset: Dataset, rows_now: int) -> list[Issue]:
    """An `update-interrupted` error when the manifest still marks an update under way, else nothing."""
    growth = interrupted_update(dataset.manifest)
    if growth is None:
        return []
    return [make_issue("update-interrupted", "error", update_interrupted_message(dataset, growth, rows_now=rows_now))]


def update_interrupted_message(dataset: Dataset, growth: SamplesGrowth, *, rows_now: int) -> str:
    """The dataset-level line for an unfinished update (`interrupted_update`): what the samples table
    holds and the command that finishes the update."""
    return (f"an `mmdata extract --update` is running now or was interrupted ({MANIFEST_MARKER} is still set): "
            f"the samples table had {growth.rows_before} rows before it and holds {rows_now} now, and its feature "
            f"tables are incomplete; {finish_update_hint(dataset)}")


__all__ = ["MANIFEST_MARKER", "check_grown_table", "check_update_finished", "update_interrupted_message"]
