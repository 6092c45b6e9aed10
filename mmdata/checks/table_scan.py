"""One feature table checked by `check_dataset`: its shards scanned batch by batch, then checked whole.

`_check_table` scans a table's shards once (`_scan`: ids and features, plus intervals for a timed
sequence table), checking each batch's nulls, NaN/Inf values and, for sequence tables, interval
counts, order, spans, coverage and frame counts (`_check_sequence`); then its shard footers, manifest
entry, provenance and ids against the samples table. It returns the table's statistics.
"""
from __future__ import annotations

import contextvars
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks import captions as caption_checks
from mmdata.checks import events as event_checks
from mmdata.checks import manifest as manifest_checks
from mmdata.checks import tables as table_checks
from mmdata.checks import temporal
from mmdata.checks.issues import Issue, IssueCollector, make_issue
from mmdata.checks.scan_context import ScanStopped, _Context
from mmdata.checks.stream import (
    ID_SCHEMA, SCAN_BATCH_ROWS, ShardInfo, fixed_rows, iter_shard_batches, read_column, row_starts, sequence_rows,
    valid_mask,
)
from mmdata.checks.update_state import check_grown_table
from mmdata.environment import usable_cpus
from mmdata.errors import ShardReadError
from mmdata.store.grown_samples import may_lack_added_samples
from mmdata.store.layout import shard_files
from mmdata.store.metadata import FeatureSpec, feature_schema
from mmdata.store.shards import parquet_pool, release_unused_memory

#: Shards between two hand-backs of what the Parquet decoding threads freed.
RELEASE_EVERY = 16


def check_tables(context: _Context, names: Sequence[str]) -> list[tuple[dict[str, Any], list[Issue]]]:
    """(statistics, issues in the order found) of each table in `names` (`_check_table`), in that order.

    Tables are scanned side by side on one thread per CPU, at most one per table (one thread: one after
    the other in the calling thread): the NaN/Inf reductions, the memory-mapped page reads and Parquet's
    decoding release the GIL. On 2 CPUs a check of three 100k-row tables of 512, 384 and 74 dims (Arrow IPC)
    took 0.355 s instead of 0.388 s (medians). Side by side, each scan decodes its Parquet shards in its own
    thread, none ahead (`_Context.decode_threads`), so memory holds about one shard or batch per thread, as
    one scan with its read-ahead did. When one scan raises (or Ctrl-C comes), the others stop at their
    next batch and the error is raised."""
    threads = min(len(names), usable_cpus())

    def check_one(name: str) -> tuple[dict[str, Any], list[Issue]]:
        release_unused_memory()  # before the next scan: flat peak memory
        issues: list[Issue] = []
        return _check_table(context, name, issues), issues

    if threads <= 1:
        return [check_one(name) for name in names]
    context.decode_threads = 0
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mmdata-check")
    try:
        # each scan sees the caller's context variables, as a scan in the calling thread would
        futures = [pool.submit(contextvars.copy_context().run, check_one, name) for name in names]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:  # a failed scan is raised now, not after the tables before it
            if future.done() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]
    except BaseException:
        context.stop.set()  # the scans still running end at their next batch
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _check_table(context: _Context, name: str, collector: IssueCollector | list[Issue]) -> dict[str, Any]:
    dataset, options = context.dataset, context.options
    entry = dataset.entry(name)
    spec = FeatureSpec.from_json(entry.spec)
    shards: list[ShardInfo] = []  # every shard's footer, filled in by the scan
    stats: dict[str, Any] = {"rows": 0, "shards": 0, "null": 0, "kind": spec.kind, "dim": spec.dim}
    coverage: list[np.ndarray] = []
    columns = ["sample_id", "feature", "intervals"] if spec.kind == "sequence" and spec.intervals else ["sample_id", "feature"]
    present = np.zeros(len(context.sample_ids), bool)  # samples with a feature in the table
    try:
        aligned = _check_rows(context, name, spec, columns, shards, stats, coverage, collector, present)
    except ShardReadError as e:
        collector.extend([make_issue("shard-unreadable", "error", str(e), table=name)])
        stats["shards"] = len(shard_files(dataset.table_dir(name)))
        stats["partial"] = True  # rows and nulls of the shards read before the unreadable one
        return stats
    stats["shards"] = len(shards)
    state = table_checks.check_table_state(name, entry, shards)
    # a table an `extract --update` left without the added samples' rows: one issue says so and names the run
    growth = context.samples_growth() if may_lack_added_samples(dataset.manifest, name) else None
    if growth is None:
        collector.extend(state)
    if not shards:
        if growth is not None:
            collector.extend(check_grown_table(dataset, name, growth, pa.array([], pa.string()), context.sample_ids,
                                               max_examples=options.max_examples))
        return stats
    starts = row_starts(shards)
    if not state:  # a complete table: its manifest entry must count what its shards hold (all of them:
        # `stats["rows"]` leaves out a shard of another type, which is not scanned)
        collector.extend(manifest_checks.check_table_entry(name, entry.rows, entry.errors, int(starts[-1]),
                                                           len(context.failed_ids(name))))
    scanned_all = all(table_checks.shard_type_ok(spec, s) and "sample_id" in s.schema.names for s in shards)
    if aligned and scanned_all and int(starts[-1]) == len(context.sample_ids):
        table_ids = context.sample_ids  # every row's id was compared with the samples table's: no copy
    else:  # something differs: read the ids again for the checks that name it
        table_ids = read_column([s.path for s in shards], "sample_id", ID_SCHEMA)
    first_ids = [table_ids[int(starts[k])].as_py() if s.rows else None for k, s in enumerate(shards)]
    collector.extend(table_checks.check_shard_types(name, spec, shards, first_ids))
    collector.extend(table_checks.check_provenance(
        name, entry, dataset.manifest.samples.get("fingerprint"), shards, first_ids))
    ids_issues = table_checks.check_ids(
        name, table_ids, context.sample_ids, table_shard_rows=[s.rows for s in shards],
        sample_shard_rows=context.sample_shard_rows, max_examples=options.max_examples)
    if growth is not None:  # its missing ids are the grown table's issue
        collector.extend(check_grown_table(dataset, name, growth, table_ids, context.sample_ids,
                                           max_examples=options.max_examples))
        ids_issues = [issue for issue in ids_issues if issue.code != "ids-missing"]
    collector.extend(ids_issues)
    if spec.kind == "sequence" and (spec.intervals or spec.frame_rate):
        collector.extend(temporal.check_known_span(
            name, context.sample_ids, context.spans(name)[1], intervals=spec.intervals,
            max_examples=options.max_examples, media=context.has_media,
            corpus_kind=dataset.manifest.corpus.get("kind"), has_feature=present))
    if event_checks.made_of_events(entry.extractor, entry.config) and context.extra is not None:
        # events past the audio's end: in no frame. A segment ending past it has frames there (and is an
        # `intervals-outside` error of its own), so only samples whose frames stop at the audio's end are judged.
        _, hi, media_end = context.spans(name)
        tolerance = 0.5 / spec.frame_rate if spec.frame_rate else options.interval_tolerance
        with np.errstate(invalid="ignore"):
            judged = present & np.isfinite(media_end) & ~(hi > media_end + tolerance)
        ends = event_checks.last_event_ends(context.extra, judged)
        collector.extend(event_checks.check_events_within_media(name, context.sample_ids, ends, media_end, tolerance,
                                                                max_examples=options.max_examples))
    if coverage:
        values = np.concatenate(coverage)
        values = values[np.isfinite(values)]
        if len(values):
            stats["coverage_mean"] = round(float(values.mean()), 4)
            stats["coverage_min"] = round(float(values.min()), 4)
    return stats


def _check_rows(context: _Context, name: str, spec: FeatureSpec, columns: list[str], shards: list[ShardInfo],
                stats: dict[str, Any], coverage: list[np.ndarray], collector: IssueCollector | list[Issue],
                present: np.ndarray) -> bool:
    """Check every row of a table, shard by shard; True when every row's id is the samples table's
    at the same position. `present` is set for each sample the table holds a feature for."""
    options = context.options
    failed = context.failed_ids(name)
    aligned = True
    # One scan reads the ids with the features; rows whose ids line up with the samples table map to
    # their sample by position, others by an id lookup (the ids check below names what is wrong).
    for row0, _, batch in _scan(context.dataset.table_dir(name), spec, columns, shards, context.decode_threads):
        if context.stop.is_set():
            raise ScanStopped(name)
        n = batch.num_rows
        ids = batch.column("sample_id")
        if ids.equals(context.sample_ids.slice(row0, n)):
            where = np.arange(row0, row0 + n)
        else:
            aligned = False
            where = pc.fill_null(pc.index_in(ids, value_set=context.sample_ids), -1).to_numpy()
        feature = batch.column("feature")
        valid = valid_mask(feature)
        present[where[valid & (where >= 0)]] = True
        stats["rows"] += n
        stats["null"] += int(n - valid.sum())
        collector.extend(table_checks.check_nulls(name, ids, valid, failed, max_examples=options.max_examples))
        if spec.kind == "pooled":
            values, owner = _pooled_values(feature, spec, valid)
            collector.extend(table_checks.check_finite(name, ids, values, owner, max_examples=options.max_examples))
        else:
            collector.extend(_check_sequence(context, name, spec, batch, ids, where, valid, coverage))
    return aligned


def _check_sequence(
    context: _Context, name: str, spec: FeatureSpec, batch: pa.RecordBatch, ids: pa.Array, where: np.ndarray,
    valid: np.ndarray, coverage: list[np.ndarray],
) -> list[Issue]:
    options = context.options
    feature = batch.column("feature")
    issues: list[Issue] = []
    if spec.item_axis == "caption" and context.text_counts is not None:  # one item per caption, in order
        issues += caption_checks.check_caption_counts(
            name, ids, caption_checks.item_counts(feature), context.text_counts, where, valid,
            max_examples=options.max_examples)
    if spec.dim is None:  # list<list<T>>: each value belongs to a frame, each frame to a sample
        values, frame = _ragged_values(pc.list_flatten(feature))
        owner = pc.list_parent_indices(feature).to_numpy()[frame]
        return issues + table_checks.check_finite(name, ids, values, owner, max_examples=options.max_examples)
    offsets, rows = sequence_rows(feature)
    issues += table_checks.check_finite(name, ids, rows, temporal.owner_index(offsets), max_examples=options.max_examples)
    known = where >= 0
    cap = context.max_frames(name)  # video-frames' frames per sample, when capped
    sample_lo, sample_hi, sample_duration = context.spans(name)
    lo = np.where(known, sample_lo[where], 0.0)
    hi = np.where(known, sample_hi[where], np.nan)
    duration = np.where(known, sample_duration[where], np.nan)
    intervals = None
    if spec.intervals:
        iv_offsets, intervals = sequence_rows(batch.column("intervals"))
        counts = temporal.check_interval_counts(name, ids, offsets, iv_offsets, valid)
        issues += counts
        issues += temporal.check_interval_order(name, ids, iv_offsets, intervals)
        if spec.item_axis == "word" and context.dataset.entry(name).source not in context.dataset.manifest.tables:
            # the word table itself: tables aligned to it carry its intervals (and would repeat its finding)
            issues += temporal.check_word_overlap(name, ids, iv_offsets, intervals)
        issues += temporal.check_interval_span(
            name, ids, iv_offsets, intervals, lo, hi, duration, options.interval_tolerance)
        covered = temporal.segment_coverage(iv_offsets, intervals, lo, hi)
        covered[~valid] = np.nan
        coverage.append(covered)
        # a sample capped at max_frames covers what its frames cover, by design
        capped = np.diff(offsets) >= cap if cap else np.zeros(len(covered), bool)
        issues += temporal.check_coverage(name, ids, np.where(capped, np.nan, covered), options.min_coverage)
        if counts:
            return issues
    if spec.frame_rate:
        width = temporal.span_width(offsets, intervals, lo, hi)
        width[~valid] = np.nan
        issues += temporal.check_frame_count(
            name, ids, np.diff(offsets), width, spec.frame_rate, options.frame_tolerance, cap,
            frame_window=spec.frame_window)
    return issues


def _pooled_values(feature: pa.Array, spec: FeatureSpec, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if spec.dim is None:
        return _ragged_values(feature)
    values = fixed_rows(feature)
    if valid.all():
        return values, None
    return values[valid], np.flatnonzero(valid)


def _ragged_values(feature: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """list<T> rows as a (values, 1) column and the row each value belongs to."""
    feature = feature.combine_chunks() if isinstance(feature, pa.ChunkedArray) else feature
    offsets = feature.offsets.to_numpy().astype(np.int64)
    flat = pc.list_flatten(feature).to_numpy(zero_copy_only=False).astype(np.float64)
    return flat.reshape(-1, 1), temporal.owner_index(offsets - offsets[0])


def _scan(table_dir: Path, spec: FeatureSpec, columns: list[str], shards: list[ShardInfo],
          decode_threads: int | None = None) -> Iterator[tuple[int, int, pa.RecordBatch]]:
    """Batches of a table's shards of the declared type, with the table row index of each batch's
    first row and its shard index; every shard's footer goes into `shards` as the scan finds it.

    Each shard is opened once (`stream.iter_shard_batches`): Arrow IPC shards are mapped one at a
    time (mapping them all up front would keep a few pages of every shard resident), Parquet ones
    decoded a few ahead on `decode_threads` threads (None: one per CPU; 0: in this thread, none ahead),
    a big one (whole videos) batch by batch."""
    schema = feature_schema(spec).remove_metadata()
    row0 = 0
    for info, batches in iter_shard_batches(shard_files(table_dir), columns, schema, SCAN_BATCH_ROWS,
                                            threads=decode_threads):
        shards.append(info)
        if batches is not None and table_checks.shard_type_ok(spec, info):
            consumed = 0
            for batch in batches:
                if batch.num_rows:
                    yield row0 + consumed, info.index, batch
                    consumed += batch.num_rows
        row0 += info.rows
        del batches
        if info.index % RELEASE_EVERY == RELEASE_EVERY - 1:
            release_unused_memory(parquet_pool())  # what the decoding threads freed
