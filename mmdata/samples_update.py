"""`extract --update`: the samples a grown corpus gained, appended to a dataset's samples table.

    added = update_samples(output_dir, manifest, result, root=corpus_root)   # 0: up to date

The corpus is loaded again and compared with the samples table by sample id. Samples the dataset
lacks are appended after its rows (in the order a first run writes them: by id), so every row it
has keeps its position and every feature shard of a full samples shard stays valid. A sample whose
row changed (any column of the samples table) or that left the corpus is refused before anything
is written: the dataset's rows would no longer say what the corpus holds.

Shard k of every table holds rows [k * shard_size, (k + 1) * shard_size). Appending rewrites the
samples table from shard `first` = rows // shard_size on (the partial last shard gets the new rows)
and leaves the shards before it alone. The writes, in this order, each atomic:

    1. the manifest: every table marked incomplete and listed as left so by an update
       (`extra.update_left`, which the run completing a table or starting it anew takes it out of), and
       `extra.update` marks an update under way
    2. every table's shards (with their errors and moments) from `first` on: they pair with samples
       shards about to change; a precomputed table's (.csd, pickle) shards all go, since the corpus
       files they are read from changed to hold the new samples, and so do the shards of a table `mmdata
       align` made from one (`first_shard_to_drop`)
    3. the samples shards from `first` on, then the loader's errors as the loader reports them now
    4. the manifest: the grown samples table, the marker gone

A run killed anywhere leaves the samples table's shards as a prefix of the grown table (old rows,
then some of the new ones, shard by shard), and the marker: the same command run again compares the
corpus with what is on disk, appends the rest, and goes on from the step it stopped at. The extract
that follows computes the missing shards of the tables it names, as on a resume; the others stay
incomplete until an extract names them. A table `mmdata align` made is completed by the same `align`
command run again once its input tables are complete: it aligns the missing shards only (its kept shards
pair with input shards the update left alone). The samples fingerprint stays the one the dataset was made
with, which every kept shard (and its moments) records: the rows it names keep their places; the
manifest's `samples.fingerprint_rows` counts them (the rows before the first update), so that readers
tell a grown samples table without hashing its ids (`mmdata.store.grown_samples`).
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mmdata.corpora.base import LoadResult
from mmdata.corpora.sources import SOURCES_KEY, source_names, stat_sources
from mmdata.errors import DatasetError
from mmdata.records import SAMPLES_SCHEMA, samples_to_table
from mmdata.samples_loading import _check_unique_ids, samples_entry, samples_shards, write_loader_errors
from mmdata.store import layout
from mmdata.store.grown_samples import (
    FINGERPRINT_ROWS_KEY, covered_prefix, record_tables_update_left,
)
from mmdata.store.manifest import Manifest, TableEntry, write_manifest
from mmdata.store.moments import MOMENTS_DIR
from mmdata.store.shards import RESTORE_SAMPLES, read_shard, shard_rows
from mmdata.store.tables import recount_table
from mmdata.store.writer import write_table_atomic

log = logging.getLogger(__name__)

#: Key of the manifest's `extra` while an update appends samples: {"rows_before": the rows it had}.
UPDATE_KEY = "update"
#: Extractor names of tables that other commands derive from the samples as they are.
DERIVED_EXTRACTORS = ("align", "segment")
#: Extractor names of derived tables an update refuses: their rows are cut from another dataset's samples.
CUT_EXTRACTORS = ("segment",)
#: What a refused update suggests instead.
NEW_OUTPUT_HINT = "extract the corpus into a new OUTPUT_DIR to read it as it is now; nothing was written"


def update_samples(output_dir: Path, manifest: Manifest, result: LoadResult, *, root: Path) -> int:
    """Append the samples of `result` (the corpus loaded again) that the dataset lacks to its samples
    table, and return how many the dataset gained (0: it is up to date with the corpus). Finishes an
    update that was interrupted. The caller holds the dataset's writer lock (`store.lock.writing`).

    Raises:
        DatasetError: a sample changed or left the corpus, the dataset holds tables `segment` cut, or
            its samples table is not the one the manifest describes; nothing written.
        CorpusFormatError: the corpus yields a sample id twice.
    """
    _refuse_segmented(output_dir, manifest)
    shard_size = recorded_shard_size(manifest)
    interrupted = manifest.extra.get(UPDATE_KEY)
    kept = _read_samples(output_dir, manifest, shard_size, interrupted=bool(interrupted))
    corpus = samples_to_table(result.samples)
    _check_unique_ids(corpus)
    refuse_changed_samples(output_dir, kept, corpus)
    known = kept.column("sample_id").combine_chunks()
    new = corpus.filter(pc.invert(pc.is_in(corpus.column("sample_id"), value_set=known)))
    if not len(new) and not interrupted:
        return 0
    _refuse_cut_tables(output_dir, manifest)
    rows_before = int(interrupted["rows_before"]) if isinstance(interrupted, dict) else int(manifest.samples["rows"])
    grown = pa.concat_tables([kept, new])
    first = len(kept) // shard_size  # the partial last shard, or the first new one
    _mark_update(output_dir, manifest, rows_before)
    _drop_shards_from(output_dir, manifest, first)
    for rows, path in samples_shards(output_dir, grown, shard_size=shard_size, first=first):
        write_table_atomic(rows, path)
    write_loader_errors(output_dir, result.problems)
    _record_grown_samples(output_dir, manifest, grown, shard_size, result, root, rows_before=rows_before)
    return len(grown) - rows_before


def recorded_shard_size(manifest: Manifest) -> int:
    """The rows per shard the dataset was made with (a manifest without `shard_size`: its first shard's)."""
    recorded = manifest.samples.get("shard_size")
    if isinstance(recorded, int) and recorded > 0:
        return recorded
    shards = manifest.samples.get("shards") or [manifest.samples["rows"]]
    return max(int(shards[0]), 1)


def refuse_changed_samples(output_dir: Path, kept: pa.Table, corpus: pa.Table) -> None:
    """Refuse, naming the first sample in the dataset's order, samples that left the corpus or whose
    row (any column of the samples table) differs from the one the corpus yields now.

    Raises:
        DatasetError: one line: the first sample and what changed, how many others, the hint.
    """
    positions = pc.index_in(kept.column("sample_id"), value_set=corpus.column("sample_id").combine_chunks())
    gone = positions.is_null()
    offences: dict[int, str] = {int(row): "is no longer in the corpus"
                                for row in pc.indices_nonzero(gone).to_pylist()}
    now = corpus.take(pc.fill_null(positions, 0))
    for name in SAMPLES_SCHEMA.names[1:]:
        for row, before, after in _differing_rows(kept.column(name), now.column(name)):
            if row not in offences:
                offences[row] = f"changed in the corpus since the dataset was made ({name}: {_shown(before)} there, " \
                                f"{_shown(after)} now)"
    if not offences:
        return
    row = min(offences)
    others = len(offences) - 1
    more = f" ({others} other sample{'s' if others > 1 else ''} changed or left the corpus too)" if others else ""
    raise DatasetError(f"{output_dir}: sample {kept.column('sample_id')[row].as_py()!r} {offences[row]}{more}; "
                       f"--update only appends new samples and keeps every row the dataset has: {NEW_OUTPUT_HINT}")


def _differing_rows(before: pa.ChunkedArray, after: pa.ChunkedArray) -> list[tuple[int, Any, Any]]:
    """(row, value there, value now) where two columns differ; NaN equals NaN. Arrow compares the
    columns whole first: a row-by-row comparison runs only for a column that differs (or holds NaN)."""
    if before.equals(after):
        return []
    return [(row, a, b) for row, (a, b) in enumerate(zip(before.to_pylist(), after.to_pylist())) if not _same(a, b)]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _read_samples(output_dir: Path, manifest: Manifest, shard_size: int, *, interrupted: bool) -> pa.Table:
    """The samples table as its shards hold it, in order. They must be whole shards of `shard_size`
    rows but the last, with the rows the manifest counts (an interrupted update: any such prefix of
    the grown table), in the samples table's schema.

    Raises:
        DatasetError: a shard of other rows or another schema, naming it and the fix.
    """
    files = layout.shard_files(layout.samples_dir(output_dir))
    rows = [shard_rows(path) for path in files]
    uneven = next((path for path, n in zip(files[:-1], rows[:-1]) if n != shard_size), None)
    counted = [int(n) for n in manifest.samples.get("shards") or ()]
    if not files or uneven is not None or (not interrupted and sum(rows) != int(manifest.samples["rows"])):
        where = f"{uneven} holds {rows[files.index(uneven)]} rows, not {shard_size}" if uneven is not None else \
            f"its shards hold {sum(rows)} rows, {layout.MANIFEST_NAME} counts {manifest.samples['rows']} ({counted})"
        raise DatasetError(f"{output_dir}: the samples table is not the one the dataset was made with ({where}), so "
                           f"--update cannot tell which rows to keep; {RESTORE_SAMPLES}")
    tables = [read_shard(path) for path in files]
    fields = [(f.name, f.type) for f in SAMPLES_SCHEMA]
    other = next((path for path, t in zip(files, tables) if [(f.name, f.type) for f in t.schema] != fields), None)
    if other is not None:
        raise DatasetError(f"{output_dir}: samples shard {other} has the columns of another mmdata version "
                           f"({tables[files.index(other)].schema.names}); --update appends rows of this version's "
                           f"columns: {NEW_OUTPUT_HINT}")
    return pa.concat_tables([t.cast(SAMPLES_SCHEMA) for t in tables])


def _refuse_segmented(output_dir: Path, manifest: Manifest) -> None:
    """Refuse a dataset `mmdata segment` wrote (its manifest records the segmentation): its samples are
    label segments of another dataset's videos, which the corpus does not yield.

    Raises:
        DatasetError: naming the dataset and the way out.
    """
    if "segment" in manifest.extra:
        raise DatasetError(f"{output_dir} was written by `mmdata segment`: its samples are label segments of another "
                           "dataset's videos, not the corpus's samples, and --update extends a dataset `mmdata "
                           "extract` wrote; extract the grown corpus into a new OUTPUT_DIR and segment it there; "
                           "nothing was written")


def _refuse_cut_tables(output_dir: Path, manifest: Manifest) -> None:
    """Refuse to append samples to a dataset holding tables `mmdata segment` cut (`CUT_EXTRACTORS`): their
    rows are label segments of another dataset's samples, which no run here computes for new ones. Tables
    `mmdata align` made are not refused: the update leaves them incomplete like the others, and `align`
    completes them (`first_shard_to_drop`).

    Raises:
        DatasetError: naming the tables and the way out.
    """
    cut = sorted(name for name, entry in manifest.tables.items() if entry.extractor in CUT_EXTRACTORS)
    if cut:
        raise DatasetError(f"{output_dir} holds tables cut from another dataset's samples ({', '.join(cut)}, "
                           "written by `mmdata segment`), which --update cannot extend; extract the grown corpus into "
                           "a new OUTPUT_DIR and segment it there; nothing was written")


def _mark_update(output_dir: Path, manifest: Manifest, rows_before: int) -> None:
    """Step 1: every table incomplete (none has rows for the samples to come) and listed as one the update
    left (`grown_samples.record_tables_update_left`: readers blame the update for those only), the update
    marked."""
    manifest.extra[UPDATE_KEY] = {"rows_before": rows_before}
    for entry in manifest.tables.values():
        entry.complete = False
    record_tables_update_left(manifest, manifest.tables)
    write_manifest(output_dir, manifest)


def _drop_shards_from(output_dir: Path, manifest: Manifest, first: int) -> None:
    """Step 2: the shards numbered `first` or more of every table (`first_shard_to_drop`: all of a
    precomputed table's), their moments before them and their errors after them (a shard without its
    errors is computed again with them)."""
    for name, entry in manifest.tables.items():
        start = first_shard_to_drop(manifest, entry, first)
        table_dir = layout.feature_dir(output_dir, name)
        for path in _numbered_from(table_dir / MOMENTS_DIR, start) + _numbered_from(table_dir, start) \
                + _numbered_from(layout.errors_dir(output_dir, name), start):
            path.unlink(missing_ok=True)


def first_shard_to_drop(manifest: Manifest, entry: TableEntry, first: int) -> int:
    """The first shard of table `entry` an update appending from samples shard `first` removes: `first`, or 0
    for a precomputed table (read again whole from the grown corpus files) and for a table `mmdata align`
    made from one (its kept shards would pair with rows read again). An aligned table's inputs are the table
    and the reference its config names (`alignment.dataset._provenance`)."""
    if entry.extractor == "precomputed":
        return 0
    if entry.extractor == "align":
        config = entry.config if isinstance(entry.config, dict) else {}
        inputs = [manifest.tables.get(str(config.get(key))) for key in ("table", "reference")]
        if any(source is None or source.extractor == "precomputed" for source in inputs):
            return 0
    return first


def _numbered_from(folder: Path, first: int) -> list[Path]:
    """The files `part-NNNNN.*` of `folder` numbered `first` or more."""
    if not folder.is_dir():
        return []
    return [path for path in folder.glob("part-*")
            if path.is_file() and (number := layout.shard_number(path)) is not None and number >= first]


def _record_grown_samples(output_dir: Path, manifest: Manifest, grown: pa.Table, shard_size: int,
                          result: LoadResult, root: Path, *, rows_before: int) -> None:
    """Step 4: the manifest describes the grown samples table (its fingerprint kept: see the module's
    docstring, and how many leading ids that covers: `_fingerprint_rows`), the loader's facts and the
    corpus files as they are now; each table's counts are its remaining shards'; the update marker goes."""
    covered = _fingerprint_rows(manifest, grown, rows_before)
    manifest.samples = {**manifest.samples, **samples_entry(grown, shard_size, loader_errors=len(result.problems),
                                                            precomputed=[t.name for t in result.tables],
                                                            fingerprint=manifest.samples["fingerprint"])}
    if covered is not None:
        manifest.samples[FINGERPRINT_ROWS_KEY] = covered
    else:  # a count the ids do not confirm is not carried on
        manifest.samples.pop(FINGERPRINT_ROWS_KEY, None)
    _set_or_drop(manifest.extra, "loader", result.metadata)
    _set_or_drop(manifest.extra, SOURCES_KEY, stat_sources(root, source_names(result)))
    manifest.extra.pop(UPDATE_KEY, None)
    for name, entry in manifest.tables.items():
        recount_table(output_dir, name, entry)
    write_manifest(output_dir, manifest)


def _fingerprint_rows(manifest: Manifest, grown: pa.Table, rows_before: int) -> int | None:
    """How many leading ids of the grown samples table the kept fingerprint covers, which readers then
    take from the manifest instead of hashing the ids (`grown_samples.recorded_growth`): the count an
    earlier update recorded (it kept the same fingerprint), once confirmed (`valid_fingerprint_rows`, and
    the fingerprint of that many ids: the ids are at hand), else the prefix the fingerprint names, looked
    for from `rows_before` (the rows before this update, where it ends unless an update of mmdata 0.5.2,
    which recorded no count, grew the dataset before); None when no prefix has it (the samples table was
    changed some other way: readers hash the ids then, and `check` reports it)."""
    return covered_prefix(grown.column("sample_id"), str(manifest.samples["fingerprint"]),
                          manifest.samples.get(FINGERPRINT_ROWS_KEY), likely_from=rows_before)


def _set_or_drop(mapping: dict[str, Any], key: str, value: dict[str, Any]) -> None:
    if value:
        mapping[key] = value
    else:
        mapping.pop(key, None)


def incomplete_tables(manifest: Manifest) -> list[str]:
    """The tables the manifest marks incomplete, sorted (after an update: those no extract named since)."""
    return sorted(name for name, entry in manifest.tables.items() if not entry.complete)


__all__ = ["UPDATE_KEY", "incomplete_tables", "recorded_shard_size", "refuse_changed_samples", "update_samples"]
