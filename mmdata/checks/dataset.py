"""`check_dataset`: run every check over a dataset directory, streaming shard by shard.

    report = check_dataset("out/mosi")
    if not report.ok: ...            # any error-severity issue

Memory stays bounded: the samples table's small columns (ids, splits, spans, labels) are read
whole, feature tables are scanned in record batches, and only per-table counters and the first
few offending sample ids are kept.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks import captions as caption_checks
from mmdata.checks import manifest as manifest_checks
from mmdata.checks import samples as sample_checks
from mmdata.checks import tables as table_checks
from mmdata.checks import temporal
from mmdata.checks.aligned import aligned_reference, check_aligned_in_step
from mmdata.checks.issues import Issue, IssueCollector, make_issue
from mmdata.checks.splits import check_split_counts, check_split_leaks, count_splits
from mmdata.checks.stream import (
    ID_SCHEMA, SCAN_BATCH_ROWS, ShardInfo, fixed_rows, iter_shard_batches, read_column, row_starts, scan_samples,
    sequence_rows, valid_mask,
)
from mmdata.corpora.base import REPEATED_ENTRY, UNCAPTIONED_SPLITS_KEY
from mmdata.errors import ConfigError, ShardReadError
from mmdata.options import convert_value, dataset_path, optional_name_list, short_repr
from mmdata.records import duration_keys, media_spans
from mmdata.store.layout import LOADER_ERRORS_TABLE, shard_files
from mmdata.store.metadata import FeatureSpec, feature_schema
from mmdata.store.reader import Dataset, open_dataset
from mmdata.store.shards import parquet_pool, release_unused_memory

log = logging.getLogger(__name__)

_SAMPLE_COLUMNS = ["sample_id", "split", "group_id", "image", "video", "label"]
#: Shards between two hand-backs of what the Parquet decoding threads freed.
RELEASE_EVERY = 16
_SPAN_COLUMNS = ["start", "end", "audio"]
#: Read with them, checked shard by shard (`samples.check_text`) and not kept.
_TEXT_COLUMNS = ["corpus", "captions", "transcript"]


@dataclass(frozen=True)
class CheckOptions:
    """Tolerances and ranges of `check_dataset`.

    label_range: (low, high) of `label`; None takes it from the corpus kind (MOSI [-3, 3], ...).
    interval_tolerance: seconds an interval may stick out of its segment or media duration.
    frame_tolerance: allowed relative difference of frame count vs duration x frame rate.
    min_coverage: a temporal table covering less of a segment than this is a warning.
    """

    label_range: tuple[float, float] | None = None
    interval_tolerance: float = 0.05
    frame_tolerance: float = 0.1
    min_coverage: float = 0.5
    max_examples: int = 5


@dataclass(repr=False)
class CheckReport:
    """Issues found in a dataset plus a few statistics; `ok` when no issue is an error."""

    dataset_dir: Path
    issues: list[Issue]
    splits: dict[str, int] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows_checked: int = 0
    seconds: float = 0.0

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def codes(self) -> set[str]:
        return {i.code for i in self.issues}

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset_dir": str(self.dataset_dir),
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "issues": [i.to_json() for i in self.issues],
            "splits": self.splits,
            "tables": self.tables,
            "rows_checked": self.rows_checked,
            "seconds": round(self.seconds, 4),
        }

    #: Issues a repr lists one line each; the rest are counted.
    REPR_ISSUES = 20

    def __repr__(self) -> str:
        from mmdata.checks.report import summary_line

        lines = [f"dataset_dir={str(self.dataset_dir)!r}", summary_line(self)]
        lines += [f"{issue.severity}: {issue.one_line()}" for issue in self.issues[:self.REPR_ISSUES]]
        if len(self.issues) > self.REPR_ISSUES:
            lines.append(f"... {len(self.issues) - self.REPR_ISSUES} more issues (report.issues)")
        return short_repr(type(self).__name__, lines)


def check_dataset(
    dataset_dir: str | Path | Dataset, options: CheckOptions | None = None, *,
    tables: Sequence[str] | str | None = None,
) -> CheckReport:
    """Check that a dataset's tables agree with its samples table and with what its manifest declares.

    Args:
        dataset_dir: the dataset directory, or a `Dataset` (`open_dataset`).
        options: tolerances and ranges (`CheckOptions`); None: the defaults.
        tables: feature tables to check, as a list or a comma-separated string (default: every table
            in the manifest).

    Raises:
        ConfigError: `options` is not a CheckOptions, or `tables` are not names.
        CorpusNotFoundError, DatasetError: not a dataset directory.
        UnknownNameError: a table in `tables` is not in the manifest.

    Example:
        >>> report = check_dataset("out/coco")
        >>> report.ok, [i.code for i in report.errors]
    """
    started = time.perf_counter()
    if options is not None and not isinstance(options, CheckOptions):
        raise ConfigError(f"options: expected a CheckOptions (or None for the defaults), got {options!r} "
                          f"({type(options).__name__}); pass tables=... by name")
    options = options or CheckOptions()
    tables = optional_name_list(tables, argument="tables")
    dataset = open_dataset(dataset_path(dataset_dir))
    names = list(dict.fromkeys(tables)) if tables is not None else dataset.table_names
    for name in names:
        dataset.entry(name)  # unknown names fail before any work
    specs = [FeatureSpec.from_json(dataset.entry(n).spec) for n in names]
    context = _Context.build(dataset, options, needs_spans=any(s.kind == "sequence" for s in specs),
                             needs_text_counts=any(s.item_axis == "caption" for s in specs))
    collector = IssueCollector(options.max_examples)
    collector.extend(_check_samples(dataset, context, options))
    report = CheckReport(dataset_dir=dataset.root, issues=[], splits=count_splits(context.samples.column("split")))
    context.samples = pa.table({"sample_id": context.sample_ids})  # the table scans need ids (and spans) only
    for name in names:
        release_unused_memory()  # before the next scan: flat peak memory
        stats = _check_table(context, name, collector)
        report.tables[name] = stats
        report.rows_checked += stats["rows"]
    collector.extend(check_aligned_in_step(dataset, names, max_examples=options.max_examples))
    report.issues = collector.issues()
    report.seconds = time.perf_counter() - started
    log.info("checked %s: %d rows x tables in %.2f s", dataset.root, report.rows_checked, report.seconds)
    return report


def _captions_expected(dataset: Dataset) -> tuple[list[str], bool]:
    """(splits the corpus publishes without captions, whether images without captions were kept on
    purpose), from what the loader recorded and the options the corpus was loaded with."""
    uncaptioned = (dataset.manifest.extra.get("loader") or {}).get(UNCAPTIONED_SPLITS_KEY) or []
    kept = (dataset.manifest.corpus.get("options") or {}).get("keep_images_without_captions", False)
    # read as the loader read it (`-o` values are recorded as typed: "on", "yes", "1" ...)
    return list(uncaptioned), convert_value(kept, bool, owner="corpus option keep_images_without_captions")


@dataclass
class _Context:
    dataset: Dataset
    options: CheckOptions
    samples: pa.Table
    sample_ids: pa.Array
    sample_shard_rows: list[int]
    failed: pa.Table
    lo: np.ndarray
    end: np.ndarray  # each sample's end, NaN for a whole file (its media's duration bounds it)
    extra: pa.ChunkedArray | None  # the samples' `extra`, where durations are read (None: no sequence table)
    text_issues: list[Issue]
    #: Some sample names an audio or video file (a `.csd` or pickle corpus names none).
    has_media: bool = True
    #: Samples without a start (a whole clip, or one cut only at its end): they begin where their medium does.
    start_null: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    #: Texts per sample (`captions.text_counts`), for caption-level tables; None when none is checked.
    text_counts: np.ndarray | None = None
    _spans: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)

    def max_frames(self, table: str) -> int | None:
        """The frames per sample a `video-frames` table was capped at (its config's `max_frames`), or None."""
        entry = self.dataset.manifest.tables.get(table)
        cap = entry.config.get("max_frames") if entry is not None and entry.extractor == "video-frames" else None
        return cap if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0 else None

    def spans(self, table: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lo, hi, media_end) of every sample for `table`: the segment's start (a whole clip's: where
        its medium starts, `records.START_KEYS`, else 0), its end (else the end of the table's medium),
        and where that medium ends, its start + duration (`records.duration_keys`; NaN: none given).
        An aligned table (`X@REF`) carries REF's intervals over its own medium's features: it is held
        to both media (`temporal.union_spans`)."""
        own = self._modality_spans(self.dataset.entry(table).modality)
        reference = self._reference_modality(table)
        return own if reference is None else temporal.union_spans(own, self._modality_spans(reference))

    def _modality_spans(self, modality: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`spans` of a medium, computed once per set of duration keys, not per batch."""
        keys = duration_keys(modality)
        if keys not in self._spans:
            self._spans[keys] = self._spans_for(keys)
        return self._spans[keys]

    def _reference_modality(self, table: str) -> str | None:
        """The modality of the table `table` was aligned to (the part of its name before the first '.'
        when the dataset no longer holds it); None for a table not aligned."""
        entry = self.dataset.entry(table)
        reference = aligned_reference(table, entry.extractor, entry.config)
        if reference is None:
            return None
        found = self.dataset.manifest.tables.get(reference)
        return found.modality if found is not None else reference.partition(".")[0]

    def _spans_for(self, keys: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.extra is None:
            media_start = media_end = np.full(len(self.sample_ids), np.nan)
        else:
            media_start, duration = media_spans(self.extra, keys)
            media_end = media_start + duration
        lo = np.where(self.start_null & np.isfinite(media_start), np.fmax(self.lo, media_start), self.lo)
        hi = np.where(np.isfinite(self.end), self.end, media_end)
        # A whole clip of unknown start and end is measured by its intervals at both ends (NaN here:
        # `temporal` takes its first interval's start), as its end already is: its stream may start after 0.
        lo = np.where(self.start_null & ~np.isfinite(hi), np.nan, lo)
        return lo, hi, media_end

    @classmethod
    def build(cls, dataset: Dataset, options: CheckOptions, needs_spans: bool,
              needs_text_counts: bool = False) -> _Context:
        """One scan of the samples table: its small columns are kept, its text is checked shard by
        shard (`text_issues`) and dropped (counted per sample first when `needs_text_counts`), and
        the rows of each shard are counted."""
        text_issues: list[Issue] = []
        text_counts: list[np.ndarray] = []

        uncaptioned, optional = _captions_expected(dataset)

        loader = dataset.manifest.extra.get("loader") or {}
        aux_labels = sample_checks.AuxLabelCheck(
            sample_checks.corpus_dataset(dataset.manifest.corpus, loader), max_examples=options.max_examples,
            label_names=loader.get("label_names"))

        def check_text(shard: pa.Table) -> None:
            text_issues.extend(sample_checks.check_text(shard, max_examples=options.max_examples,
                                                        uncaptioned_splits=uncaptioned, captions_optional=optional))
            aux_labels.add(shard)
            if needs_text_counts:
                text_counts.append(caption_checks.text_counts(shard.column("captions"), shard.column("transcript")))

        keep = _SAMPLE_COLUMNS + (_SPAN_COLUMNS if needs_spans else [])
        # `extra` is read only for corpora with further labels in it (CH-SIMS, CMU-MOSEI), or with transcripts
        # (its word lists tell a segment lying in a pause from a lost transcript)
        needs_extra = bool(aux_labels.ranges) or sample_checks.reads_words(dataset.manifest.corpus)
        read = keep + _TEXT_COLUMNS + (["extra"] if needs_extra else [])
        samples, sample_shard_rows = scan_samples(dataset, read, keep, check_text)
        text_issues += aux_labels.issues()
        ids = samples.column("sample_id").combine_chunks()
        lo = end = np.empty(0)  # segment spans: only sequence tables are checked against them
        start_null = np.empty(0, dtype=bool)
        extra = None
        if needs_spans:
            extra = dataset.samples_table(columns=["extra"]).column("extra")
            start = samples.column("start").to_numpy(zero_copy_only=False).astype(np.float64)
            end = samples.column("end").to_numpy(zero_copy_only=False).astype(np.float64)
            lo = np.nan_to_num(start, nan=0.0)
            start_null = np.isnan(start)
        errors = dataset.errors().select(["table", "sample_id", "error_type"])
        has_media = any(c in samples.column_names and samples.column(c).null_count < len(samples) for c in ("audio", "video"))
        return cls(dataset, options, samples, ids, sample_shard_rows, errors, lo, end, extra, text_issues, has_media,
                   start_null=start_null,
                   text_counts=np.concatenate(text_counts) if needs_text_counts else None)

    def failed_ids(self, table: str) -> pa.Array:
        rows = self.failed.filter(pc.equal(self.failed.column("table"), table))
        return rows.column("sample_id").combine_chunks()


def _check_samples(dataset: Dataset, context: _Context, options: CheckOptions) -> list[Issue]:
    samples = context.samples
    loader = context.failed.filter(pc.equal(context.failed.column("table"), LOADER_ERRORS_TABLE))
    failed_ids = loader.column("sample_id")
    repeated = pc.fill_null(pc.equal(loader.column("error_type"), REPEATED_ENTRY), False).to_pylist()
    kept = pc.fill_null(pc.is_in(failed_ids, value_set=context.sample_ids), False).to_pylist()
    issues = manifest_checks.check_loaded(len(context.sample_ids), failed_ids.to_pylist(), kept=kept,
                                          repeated=repeated, max_examples=options.max_examples)
    issues += manifest_checks.check_samples_entry(dataset.manifest.samples, len(context.sample_ids),
                                                  count_splits(samples.column("split")), len(failed_ids))
    issues += table_checks.check_unique_ids(None, context.sample_ids, max_examples=options.max_examples)
    issues += check_split_counts(samples.column("split"))
    issues += check_split_leaks(samples, max_examples=options.max_examples)
    issues += context.text_issues
    label_range = options.label_range or sample_checks.label_range_for(dataset.manifest.corpus,
                                                                         dataset.manifest.extra.get("loader"))
    issues += sample_checks.check_labels(samples, label_range, max_examples=options.max_examples)
    return issues


def _check_table(context: _Context, name: str, collector: IssueCollector) -> dict[str, Any]:
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
    collector.extend(state)
    if not shards:
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
    collector.extend(table_checks.check_ids(
        name, table_ids, context.sample_ids, table_shard_rows=[s.rows for s in shards],
        sample_shard_rows=context.sample_shard_rows, max_examples=options.max_examples))
    if spec.kind == "sequence" and (spec.intervals or spec.frame_rate):
        collector.extend(temporal.check_known_span(
            name, context.sample_ids, context.spans(name)[1], intervals=spec.intervals,
            max_examples=options.max_examples, media=context.has_media,
            corpus_kind=dataset.manifest.corpus.get("kind"), has_feature=present))
    if coverage:
        values = np.concatenate(coverage)
        values = values[np.isfinite(values)]
        if len(values):
            stats["coverage_mean"] = round(float(values.mean()), 4)
            stats["coverage_min"] = round(float(values.min()), 4)
    return stats


def _check_rows(context: _Context, name: str, spec: FeatureSpec, columns: list[str], shards: list[ShardInfo],
                stats: dict[str, Any], coverage: list[np.ndarray], collector: IssueCollector,
                present: np.ndarray) -> bool:
    """Check every row of a table, shard by shard; True when every row's id is the samples table's
    at the same position. `present` is set for each sample the table holds a feature for."""
    options = context.options
    failed = context.failed_ids(name)
    aligned = True
    # One scan reads the ids with the features; rows whose ids line up with the samples table map to
    # their sample by position, others by an id lookup (the ids check below names what is wrong).
    for row0, _, batch in _scan(context.dataset.table_dir(name), spec, columns, shards):
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


def _scan(table_dir: Path, spec: FeatureSpec, columns: list[str],
          shards: list[ShardInfo]) -> Iterator[tuple[int, int, pa.RecordBatch]]:
    """Batches of a table's shards of the declared type, with the table row index of each batch's
    first row and its shard index; every shard's footer goes into `shards` as the scan finds it.

    Each shard is opened once (`stream.iter_shard_batches`): Arrow IPC shards are mapped one at a
    time (mapping them all up front would keep a few pages of every shard resident), Parquet ones
    decoded a few ahead on threads, a big one (whole videos) batch by batch."""
    schema = feature_schema(spec).remove_metadata()
    row0 = 0
    for info, batches in iter_shard_batches(shard_files(table_dir), columns, schema, SCAN_BATCH_ROWS):
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
