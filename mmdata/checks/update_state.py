"""What an `extract --update` left in a dataset, as `mmdata info` and `mmdata check` tell it.

An update appends the samples a corpus gained and marks every feature table incomplete
(`mmdata.samples_update`); the tables the update run named are completed, the others stay incomplete
until an extract names them. Such a table was not left by an interrupted run: its rows end where the
samples table ended before it grew, and an extract naming its extractor computes the rest. Two facts
on disk tell this apart from an interrupted extract:

- the manifest's `extra.update` marker: an update is running now or was interrupted, and the same
  `extract --update` command finishes it;
- the samples fingerprint: an update keeps the one the dataset was made with, so after one that added
  samples it names a proper prefix of the samples table's ids, as long as the rows there were before.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks.issues import Issue, make_issue
from mmdata.errors import MmdataError
from mmdata.samples_update import DERIVED_EXTRACTORS, UPDATE_KEY
from mmdata.store.manifest import Manifest, TableEntry
from mmdata.store.reader import Dataset

#: Tables an extract writes without naming an extractor: read again from the corpus files (`.csd`, pickles).
_READ_FROM_CORPUS = ("precomputed",)
#: Where the manifest marks an update under way, as messages name it.
MANIFEST_MARKER = f"the manifest's extra.{UPDATE_KEY}"


@dataclass(frozen=True)
class SamplesGrowth:
    """How `extract --update` grew the samples table: the rows it had before, and whether the update is
    still unfinished (its marker is in the manifest)."""

    rows_before: int
    interrupted: bool


def may_lack_added_samples(entry: TableEntry) -> bool:
    """Whether an incomplete table may be one an update left: any but those `align` and `segment` derive
    (an update refuses a dataset holding them)."""
    return not entry.complete and entry.extractor not in DERIVED_EXTRACTORS


def interrupted_update(manifest: Manifest) -> SamplesGrowth | None:
    """The update the manifest marks as under way (running now, or killed), or None."""
    marker = manifest.extra.get(UPDATE_KEY)
    if not isinstance(marker, dict):
        return None
    return SamplesGrowth(rows_before=int(marker.get("rows_before", 0)), interrupted=True)


def samples_growth(manifest: Manifest, sample_ids: Iterable[str]) -> SamplesGrowth | None:
    """How an update grew the samples table whose ids are `sample_ids` (in table order), or None when
    none did: no update marker, and the manifest's fingerprint names all the ids (or none of their
    prefixes: a samples table changed some other way, which `check` reports as such)."""
    interrupted = interrupted_update(manifest)
    if interrupted is not None:
        return interrupted
    rows_before = fingerprinted_prefix(sample_ids, str(manifest.samples.get("fingerprint") or ""))
    return None if rows_before is None else SamplesGrowth(rows_before=rows_before, interrupted=False)


def fingerprinted_prefix(sample_ids: Iterable[str], fingerprint: str) -> int | None:
    """The length of the proper prefix of `sample_ids` whose fingerprint (`samples_loading.fingerprint_ids`)
    is `fingerprint`, or None (all of them have it, or no prefix does). One pass over the ids."""
    digest = hashlib.sha256()
    found, count = None, 0
    for count, sample_id in enumerate(sample_ids, 1):
        digest.update(sample_id.encode())
        digest.update(b"\0")
        if found is None and digest.copy().hexdigest()[:16] == fingerprint:
            found = count
    return found if found is not None and found < count else None


def incomplete_after_growth(dataset: Dataset, name: str, growth: SamplesGrowth, *, rows: int, total: int) -> str:
    """Why table `name`, holding `rows` of the `total` samples, is incomplete after `growth`, and the
    command that completes it (one line, for `info` and `check`)."""
    if growth.interrupted:  # the dataset-level line (`update_interrupted_message`) spells out the command
        return (f"the `mmdata extract --update` adding samples to the {growth.rows_before} there were is running now "
                "or was interrupted before it computed this table's rows for them; the same `extract --update` "
                "command run again finishes it")
    missing = total - rows
    command = _quoted(completing_commands(dataset, [name]))
    grew = f"the samples table grew from {growth.rows_before} to {total} samples (`mmdata extract --update`)"
    if missing <= 0:  # every row written, the run stopped before it marked the table complete
        return f"{grew}; the table has a row for each, but no extract marked it complete since: run {command}"
    return f"{grew} and the table lacks the rows of {missing} of them; run {command} to compute them"


def check_grown_table(dataset: Dataset, name: str, growth: SamplesGrowth, table_ids: pa.Array, sample_ids: pa.Array,
                      *, max_examples: int = 5) -> list[Issue]:
    """The one issue of a table left incomplete by `growth` (`table-incomplete`, an error: the dataset is
    not ready to train on), counting and naming the samples it has no row for, which `ids-missing`
    would name again; it replaces that issue for the table."""
    missing = sample_ids.filter(pc.invert(pc.is_in(sample_ids, value_set=table_ids)))
    rows, total = len(sample_ids) - len(missing), len(sample_ids)
    message = (f"the table holds rows for {rows} of the {total} samples: "
               + incomplete_after_growth(dataset, name, growth, rows=rows, total=total))
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


def finish_update_hint(dataset: Dataset) -> str:
    """How an interrupted update is finished: the same command again (spelled out naming every table)."""
    return (f"run the same `mmdata extract ... --update` command again to finish it (naming every table's extractor: "
            f"{_quoted(completing_commands(dataset, sorted(dataset.manifest.tables), '--update'))}); a run without "
            "--update is refused until then")


def completing_commands(dataset: Dataset, names: Sequence[str], *flags: str) -> list[str]:
    """The `mmdata extract` command lines that compute the missing rows of tables `names` of the dataset
    (one per table format among them; `extract_refusals.extract_command` spells each), then `flags`."""
    from mmdata.extract_refusals import extract_command  # the pipeline's modules, only when a hint is due

    by_format: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        entry = dataset.manifest.tables[name]
        extractors = by_format.setdefault(entry.format, [])
        if entry.extractor not in _READ_FROM_CORPUS:
            extractors.append((entry.modality, _extractor_spelling(entry)))
    return [extract_command(dataset, extractors, table_format, *flags)
            for table_format, extractors in by_format.items()]


def _extractor_spelling(entry: TableEntry) -> str:
    """The entry's extractor as the command line takes it (`extract_refusals.extractor_spec`); its bare
    name when its config cannot be rebuilt here (an extractor of your own not imported, weights gone)."""
    from mmdata.extract_refusals import extractor_spec
    from mmdata.features.base import get_extractor_class

    try:
        return extractor_spec(get_extractor_class(entry.extractor)(dict(entry.config)))
    except (MmdataError, OSError):
        return entry.extractor


def _quoted(commands: Sequence[str]) -> str:
    return ", then ".join(f"`{command}`" for command in commands)
