"""`align_dataset`: align a dataset's temporal tables to a reference table, writing `<table>@<reference>`.

    report = align_dataset("out/mosi", "text.words", collapse="mean", on_missing="drop")

Streaming: one samples shard at a time (tables are row-aligned with the samples shard by shard),
and within it one sample (a video or a segment) at a time, so memory stays bounded by a shard.
Each chosen table's rows are clipped to the reference rows and collapsed (`core.align_video`, the
SDK's semantics). The outputs are sequence tables whose intervals are the kept reference
intervals, so all `*@<reference>` tables of a dataset line up row for row; a `keys` column names
each row the SDK's way (`<sample_id>[<i>]`, i = the reference row), and word tables keep a `words`
column (the tokens of the pieces, joined by spaces). `<reference>@<reference>` holds the kept
reference rows themselves. Outputs are registered in the manifest like any other table; a rerun
with the same settings skips finished shards, other settings need `force=True`. Tables aligned to
one reference are aligned in one run: with on_missing='drop' the kept intervals depend on every
table of the run, so a run that would rewrite `<reference>@<reference>` while leaving out a table
an earlier run aligned to it (or that changes on_missing/skip_pauses under it) is refused, and so is
an aligned table as the reference or as a table to align (it would be aligned twice).
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mmdata.alignment.core import COLLAPSES, EPSILON, CollapseSpec, OnMissing, collapsed_dim, align_video
from mmdata.corpora.csd import is_pause
from mmdata.errors import ConfigError, DatasetError, ExtractionError
from mmdata.features.base import library_versions
from mmdata.options import (
    check_choice, check_flag, dataset_path, did_you_mean, literal_choices, optional_name_list, short_repr,
)
from mmdata.pipeline import OnError
from mmdata.store import layout
from mmdata.store.lock import writing
from mmdata.store.manifest import write_manifest
from mmdata.store.metadata import FeatureSpec
from mmdata.store.reader import Dataset, open_dataset
from mmdata.store.shards import read_shard, shard_rows, shard_schema, unreadable_as_error
from mmdata.store.tables import (
    TableReport, claim_again_if_other_versions, claim_table, finish_table, put_back, refuse_mixed_versions, shard_path,
)
from mmdata.store.undo import restored_on_refusal
from mmdata.store.writer import FeatureBatchBuilder, errors_table, write_table_atomic

log = logging.getLogger(__name__)
ALIGNED_SEPARATOR = "@"
#: Where a run keeps the earlier outputs until it ends (`store.undo.restored_on_refusal`).
ALIGN_PREVIOUS_DIR = ".align-previous"
#: The hidden folder a run keeps its outputs' earlier files in (hard links) until it ends: put back on a refusal.
STRINGS = pa.list_(pa.string())
BATCH_BYTES = 4 << 20  # about this much feature data (uncompressed) is decoded at a time


@dataclass(repr=False)
class AlignReport:
    """What `align_dataset` wrote, and what happened to the reference intervals."""

    reference: str
    tables: list[TableReport] = field(default_factory=list)
    intervals: int = 0  # reference intervals of the samples aligned
    kept: int = 0  # intervals present in every output table
    dropped: int = 0  # intervals some table did not overlap (on_missing='drop')
    skipped: int = 0  # zero-length (< 1e-5 s) or pause intervals, never aligned
    imputed: dict[str, int] = field(default_factory=dict)  # zero-filled intervals per table (on_missing='impute')
    shards_aligned: int = 0  # samples shards aligned by this call: the counts above are theirs
    shards_done: int = 0  # samples shards whose outputs an earlier run wrote: skipped, not counted above

    @property
    def up_to_date(self) -> bool:
        """Every output was already there: nothing was recomputed (a resumed run that had nothing left)."""
        return self.shards_aligned == 0

    def __repr__(self) -> str:
        lines = [f"reference={self.reference!r}: {self.intervals} intervals, {self.kept} kept, {self.dropped} dropped, "
                 f"{self.skipped} skipped",
                 f"shards: {self.shards_aligned} aligned, {self.shards_done} already done"]
        lines += [f"{t.name}: {t.rows} rows, {t.errors} failed"
                  + (f", {self.imputed[source]} intervals imputed" if self.imputed.get(source := t.name.split(
                      ALIGNED_SEPARATOR)[0]) else "") + f" -> {t.path}" for t in self.tables[:8]]
        if len(self.tables) > 8:
            lines.append(f"... {len(self.tables) - 8} more tables")
        return short_repr(type(self).__name__, lines)


def aligned_name(table: str, reference: str) -> str:
    return f"{table}{ALIGNED_SEPARATOR}{reference}"


def align_dataset(
    dataset_dir: str | Path | Dataset,
    reference: str,
    *,
    tables: Sequence[str] | str | None = None,
    collapse: CollapseSpec = "mean",
    on_missing: OnMissing = "drop",
    skip_pauses: bool = False,
    on_error: OnError = "skip",
    force: bool = False,
) -> AlignReport:
    """Align temporal tables of a dataset to the intervals of `reference` and write `<table>@<reference>`.

    Args:
        dataset_dir: the dataset directory, or a `Dataset` (`open_dataset`).
        reference: the temporal table whose intervals the others are aligned to (`text.words`).
        tables: the tables to align, as a list or a comma-separated string (default: every temporal
            table with intervals, except aligned ones).
        collapse: mean / max / first / last, or f(intervals, features) -> vector (SDK signature).
        on_missing: a reference interval some table does not overlap is dropped from every output,
            zero-filled ('impute'), or raises ('error').
        skip_pauses: leave out reference rows whose word is a pause token (`sp`, any case), with their rows
            (the reference must have words: a word or phone table).
        on_error: a sample that has no features in an input table (it failed earlier) gets null
            outputs recorded in the errors table ('skip'), or stops the run ('fail').

    Raises:
        DatasetError: the reference is not a temporal table, a table is missing, the reference or a
            table is an output of align (`<table>@<reference>`: pass the table it came from), an
            output exists with other settings (use force=True), the run would put tables an earlier
            run aligned to the reference out of step (align them in one run), an input row has not
            one interval per feature row, or on_missing='error' met an uncovered interval.
        ConfigError: an option of another value than it takes (an unknown collapse, on_missing or
            on_error, a flag that is not a bool, tables that are not names), refused before anything
            is written, or skip_pauses with a reference that has no words.

    A refused run (any of these, or on_error='fail' stopping it) leaves the dataset as it was: the
    manifest, and the outputs' shards and errors tables, even those force had replaced before the
    refusal came (`store.undo.restored_on_refusal`). A run interrupted otherwise (Ctrl-C, a kill) resumes.
    """
    dataset_dir = dataset_path(dataset_dir)
    tables = optional_name_list(tables, argument="tables")
    check_options(reference=reference, collapse=collapse, on_missing=on_missing, skip_pauses=skip_pauses,
                  on_error=on_error, force=force)
    if not dataset_dir.is_dir():
        open_dataset(dataset_dir)  # the usual error for a path that is no dataset, before any lock
    with writing(dataset_dir, "alignment"):
        return _align(open_dataset(dataset_dir), reference, tables, collapse, on_missing, skip_pauses, on_error, force)


def check_options(*, reference: Any, collapse: Any, on_missing: Any, skip_pauses: Any, on_error: Any,
                  force: Any) -> None:
    """Refuse, before the dataset is locked or anything written, an option value `align_dataset` does not
    take: recorded in the outputs' config, it would make the next run with the defaults a refusal.

    Raises:
        ConfigError: naming the option, the value and the values it takes.
    """
    if not isinstance(reference, str) or not reference:
        raise ConfigError(f"reference must be a table name (str), got {reference!r}")
    if not callable(collapse) and (not isinstance(collapse, str) or collapse not in COLLAPSES):
        raise ConfigError(f"collapse={collapse!r} is not one of {list(COLLAPSES)}{did_you_mean(collapse, COLLAPSES)} "
                          "(or a function f(intervals, features) -> vector)")
    check_choice("on_missing", on_missing, literal_choices(OnMissing))
    check_choice("on_error", on_error, literal_choices(OnError))
    check_flag("skip_pauses", skip_pauses)
    check_flag("force", force)


def _align(dataset: Dataset, reference: str, tables: list[str] | None, collapse: CollapseSpec, on_missing: OnMissing,
           skip_pauses: bool, on_error: OnError, force: bool) -> AlignReport:
    _check_input(dataset, reference, "reference", reference)
    if skip_pauses:
        _check_has_words(dataset, reference)
    sources = list(dict.fromkeys(tables)) if tables else [n for n in dataset.table_names if n != reference
                                                          and ALIGNED_SEPARATOR not in n and _is_temporal(dataset, n)]
    for name in sources:
        _check_input(dataset, name, "table", reference)
    if not sources:
        raise DatasetError(f"dataset {dataset.root} has no temporal table to align to {reference!r} besides it")
    names = [reference, *[s for s in sources if s != reference]]
    planned = {name: _provenance(dataset, name, reference, collapse, on_missing, skip_pauses) for name in names}
    if not _up_to_date(dataset, planned):
        _refuse_out_of_step(dataset, reference, names, collapse, on_missing, skip_pauses)
    with restored_on_refusal(dataset, [planned[name][0] for name in names], ALIGN_PREVIOUS_DIR):
        outputs = _claim_all(dataset, names, reference, planned, force)
        report = AlignReport(reference=reference, imputed={name: 0 for name in names})
        written = {name: 0 for name in names}
        for index, samples_shard in enumerate(layout.shard_files(layout.samples_dir(dataset.root))):
            if all(shard_path(dataset, out, index).is_file() for out, _, _ in outputs.values()):
                report.shards_done += 1
                continue
            report.shards_aligned += 1
            _align_shard(dataset, index, reference, names, outputs, collapse, on_missing, skip_pauses, on_error, report)
            for name in names:
                written[name] += 1
        for name, (out, spec, provenance) in outputs.items():
            report.tables.append(finish_table(dataset, out, written=written[name]))
        write_manifest(dataset.root, dataset.manifest)
    return report


@dataclass
class _ShardOutput:
    """What one samples shard adds to every output table."""

    builders: dict[str, FeatureBatchBuilder]
    keys: list[list[str] | None] = field(default_factory=list)
    words: dict[str, list[list[str] | None]] = field(default_factory=dict)
    errors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _align_shard(dataset: Dataset, index: int, reference: str, names: list[str], outputs: dict[str, Any],
                 collapse: CollapseSpec, on_missing: OnMissing, skip_pauses: bool, on_error: OnError,
                 report: AlignReport) -> None:
    shard = layout.shard_name(index)  # errors tables are Parquet
    paths = {name: shard_path(dataset, name, index) for name in names}
    for name, path in paths.items():
        if not path.is_file():
            raise DatasetError(f"table {name!r} has no shard {path.name} (incomplete); finish it with `mmdata extract` first")
    row_counts = {name: shard_rows(path) for name, path in paths.items()}
    if len(set(row_counts.values())) != 1:
        raise DatasetError(f"shard {shard} has different row counts across tables ({row_counts}); "
                           "the dataset is inconsistent, re-run `mmdata extract`")
    word_tables = [name for name, path in paths.items() if "words" in shard_schema(path).names]
    out = _ShardOutput({name: FeatureBatchBuilder(outputs[name][1], outputs[name][2]) for name in names},
                       words={name: [] for name in word_tables}, errors={name: [] for name in names})
    streams = [_stream_rows(paths[name], dataset.spec(name).dim) for name in names]
    # record shape between stages: per sample, {table: (sample_id, (features (T, D), intervals (T, 2)) | None, words | None)}
    for rows in zip(*streams):
        sample_id = rows[0][0]
        if any(row[0] != sample_id for row in rows):
            raise DatasetError(f"shard {shard} of the tables {names} does not hold the same samples in the same order "
                               f"({[row[0] for row in rows]}); the dataset is inconsistent, re-run `mmdata extract`")
        by_name = dict(zip(names, rows))
        absent = [name for name in names if by_name[name][1] is None]
        if absent:
            _add_failed(out, outputs, names, sample_id, absent[0], on_error)
            continue
        _check_rows_match(shard, sample_id, by_name)
        ref_features, ref_intervals = by_name[reference][1]
        keep = None
        if skip_pauses and reference in word_tables:
            keep = np.array([not is_pause(w) for w in by_name[reference][2]], dtype=bool)
        aligned = align_video(ref_intervals, {n: by_name[n][1] for n in names if n != reference}, collapse=collapse,
                              on_missing=on_missing, keep=keep, where=f"sample {sample_id!r} aligned to {reference!r}")
        report.intervals += len(ref_intervals)
        report.kept += len(aligned.index)
        report.dropped += aligned.dropped
        report.skipped += len(ref_intervals) - len(aligned.index) - aligned.dropped
        out.keys.append([f"{sample_id}[{i}]" for i in aligned.index])
        out.builders[reference].add(sample_id, ref_features[aligned.index], aligned.intervals)
        for name in names[1:]:
            out.builders[name].add(sample_id, aligned.features[name], aligned.intervals)
            report.imputed[name] += aligned.imputed[name]
        for name in word_tables:
            out.words[name].append(_aligned_words(by_name[name][2], aligned, None if name == reference else name))
    for name in names:
        out_name = outputs[name][0]
        table = out.builders[name].build().append_column(pa.field("keys", STRINGS), pa.array(out.keys, STRINGS))
        if name in word_tables:
            table = table.append_column(pa.field("words", STRINGS), pa.array(out.words[name], STRINGS))
        err_path = layout.errors_dir(dataset.root, out_name) / shard
        if out.errors[name]:
            write_table_atomic(errors_table(out.errors[name]), err_path)
        else:
            err_path.unlink(missing_ok=True)
        write_table_atomic(table, shard_path(dataset, out_name, index))


def _check_rows_match(shard: str, sample_id: str, by_name: dict[str, Any]) -> None:
    """Every table's row for the sample has one interval per feature row (a table written outside mmdata may not)."""
    for name, (_, (features, intervals), _) in by_name.items():
        if len(features) != len(intervals):
            raise DatasetError(f"table {name!r}, sample {sample_id!r} (shard {shard}): {len(features)} feature rows "
                               f"but {len(intervals)} intervals; expected one interval per feature row; the table is "
                               "inconsistent, re-run the command that wrote it (`mmdata extract ... --force`)")


def _add_failed(out: _ShardOutput, outputs: dict[str, Any], names: list[str], sample_id: str, absent: str,
                on_error: OnError) -> None:
    reason = f"no features in {absent!r} for this sample (see its errors); nothing to align"
    if on_error == "fail":
        raise ExtractionError(f"sample {sample_id!r}: {reason}; expected features in every table aligned; "
                              "`--on-error skip` (on_error='skip') gives it null outputs, recorded in the errors table")
    for name in names:
        out.builders[name].add(sample_id, None)
        out.errors[name].append({"table": outputs[name][0], "sample_id": sample_id, "stage": "align",
                                 "error_type": "DatasetError", "reason": reason})
    out.keys.append(None)
    for name in out.words:
        out.words[name].append(None)


def _aligned_words(tokens: list[str], aligned: Any, name: str | None) -> list[str]:
    """The reference's own kept tokens (name None), or per kept interval the tokens of a table's pieces."""
    if name is None:
        return [tokens[i] for i in aligned.index]
    pieces = aligned.pieces[name]
    offsets = pieces.offsets
    return [" ".join(tokens[r] for r in pieces.row_index[offsets[i]:offsets[i + 1]]) for i in aligned.index]


def _stream_rows(path: Path, dim: int | None) -> Iterator[tuple[str, tuple[np.ndarray, np.ndarray] | None, Any]]:
    """(sample_id, (features, intervals) or None, words or None) per row, reading a few rows at a time.

    Whole videos hold ~10^5 frames, and decoding a Parquet shard at once costs several times its
    size, so rows are read in batches of about BATCH_BYTES (one video, or many short segments)
    with a small read buffer: memory stays per batch, not per shard. Arrow IPC shards are
    memory-mapped and sliced: nothing is decoded, pages are touched batch by batch.
    """
    for batch in shard_row_batches(path):
        words = batch.column("words").to_pylist() if "words" in batch.schema.names else [None] * batch.num_rows
        yield from zip(batch.column("sample_id").to_pylist(), batch_sequences(batch, dim), words)


def shard_row_batches(path: Path) -> Iterator[pa.RecordBatch]:
    """The shard's rows in record batches of about BATCH_BYTES of feature data (at most 1024 rows)."""
    def rows_per_batch(row_bytes: float) -> int:
        return int(min(max(BATCH_BYTES // max(row_bytes, 1), 1), 1024))

    if layout.shard_format(path) == "arrow":
        table = read_shard(path)
        yield from table.to_batches(max_chunksize=rows_per_batch(path.stat().st_size / max(table.num_rows, 1)))
        return
    with unreadable_as_error(path):
        file = pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
        meta = file.metadata
        row_bytes = sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups)) / max(meta.num_rows, 1)
        yield from file.iter_batches(batch_size=rows_per_batch(row_bytes), use_threads=False)


def batch_sequences(batch: pa.RecordBatch, dim: int | None) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per row (features (T, D), intervals (T, 2)), or None for a null row, without per-row Arrow calls."""
    feature, intervals = batch.column("feature"), batch.column("intervals")
    flat = feature.values.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim or 1)
    flat_iv = intervals.values.flatten().to_numpy(zero_copy_only=False).reshape(-1, 2)
    f_off, i_off = feature.offsets.to_numpy(), intervals.offsets.to_numpy()
    valid = feature.is_valid().to_numpy(zero_copy_only=False)
    return [(flat[f_off[k]:f_off[k + 1]], flat_iv[i_off[k]:i_off[k + 1]]) if valid[k] else None
            for k in range(len(feature))]


def _provenance(dataset: Dataset, name: str, reference: str, collapse: CollapseSpec, on_missing: OnMissing,
                skip_pauses: bool) -> tuple[str, FeatureSpec, dict[str, Any]]:
    """(output name, spec, provenance) of `name` aligned to `reference` with these settings."""
    out = aligned_name(name, reference)
    source_spec, ref_spec = dataset.spec(name), dataset.spec(reference)
    dim = source_spec.dim if name == reference else collapsed_dim(collapse, np.zeros((1, source_spec.dim or 1)))
    spec = FeatureSpec(dim=dim, kind="sequence", intervals=True, item_axis=ref_spec.item_axis or "interval")
    source_entry = dataset.entry(name)
    config = {
        "reference": reference, "table": name, "on_missing": on_missing, "skip_pauses": skip_pauses, "epsilon": EPSILON,
        "collapse": collapse if isinstance(collapse, str) else getattr(collapse, "__qualname__", repr(collapse)),
        "inputs": config_fingerprint({n: [dataset.entry(n).config, dataset.entry(n).rows] for n in (name, reference)}),
    }
    provenance = {"table": out, "modality": source_entry.modality, "extractor": "align", "config": config,
                  "spec": spec.to_json(), "versions": library_versions(("mmdata", "numpy", "pyarrow")),
                  "samples_fingerprint": dataset.manifest.samples["fingerprint"]}
    return out, spec, provenance


def _claim(dataset: Dataset, name: str, reference: str, out: str, spec: FeatureSpec, provenance: dict[str, Any],
           force: bool) -> tuple[str, FeatureSpec, dict[str, Any]]:
    claim_table(dataset, provenance, force=force, source=f"{name} aligned to {reference}",
                table_format=dataset.entry(reference).format)
    return out, spec, provenance


def _claim_all(dataset: Dataset, names: list[str], reference: str,
               planned: dict[str, tuple[str, FeatureSpec, dict[str, Any]]], force: bool) -> dict[str, Any]:
    """Claim every output table, or none of them.

    A claim refused (an output made with other settings, without force, or a shard to align again
    next to outputs made with other library versions) would leave the outputs
    claimed before it marked incomplete, `<reference>@<reference>` first: a refused run would
    break a finished alignment. Their manifest entries are put back before the error goes on.
    """
    before = {planned[name][0]: dataset.manifest.tables.get(planned[name][0]) for name in names}
    try:
        outputs = {name: _claim(dataset, name, reference, *planned[name], force) for name in names}
        # A shard any output lacks is aligned again for every output: none may keep rows of other versions.
        count = len(layout.shard_files(layout.samples_dir(dataset.root)))
        to_align = sum(not all(shard_path(dataset, out, i).is_file() for out, _, _ in outputs.values())
                       for i in range(count))
        if force and to_align:  # --force: outputs made with other versions are aligned again whole
            for name, (_, _, provenance) in outputs.items():
                claim_again_if_other_versions(dataset, provenance, source=f"{name} aligned to {reference}",
                                              table_format=dataset.entry(reference).format)
        # (an interrupted output first: the refusal names the table the user was resuming)
        for out, _, provenance in sorted(outputs.values(), key=lambda o: bool(before[o[0]] and before[o[0]].complete)):
            refuse_mixed_versions(dataset, out, provenance["versions"], to_align)
        return outputs
    except DatasetError:
        put_back(dataset, before)
        raise


def _up_to_date(dataset: Dataset, planned: dict[str, tuple[str, FeatureSpec, dict[str, Any]]]) -> bool:
    """Every output exists, complete, with these settings and every shard: the run will rewrite nothing."""
    count = len(layout.shard_files(layout.samples_dir(dataset.root)))
    for out, _, provenance in planned.values():
        entry = dataset.manifest.tables.get(out)
        if entry is None or not entry.complete or entry.config != provenance["config"]:
            return False
        if not all(shard_path(dataset, out, index).is_file() for index in range(count)):
            return False
    return True


def _refuse_out_of_step(dataset: Dataset, reference: str, names: list[str], collapse: CollapseSpec,
                        on_missing: OnMissing, skip_pauses: bool) -> None:
    """Refuse a run that would rewrite `<reference>@<reference>` under tables an earlier run aligned to it.

    Which reference intervals are kept depends on the settings and, with on_missing='drop', on every
    table aligned together (an interval one of them does not overlap is dropped from all): aligning
    another table alone would rewrite the reference's rows and leave the earlier outputs out of step
    with them. Tables aligned with 'impute' or 'error' and the same skip_pauses keep the same rows.
    """
    stale = []
    for out in dataset.table_names:
        entry = dataset.manifest.tables[out]
        table = entry.config.get("table")
        if entry.extractor != "align" or entry.config.get("reference") != reference or table in names:
            continue
        if ALIGNED_SEPARATOR in str(table):
            # An earlier mmdata aligned an aligned table: no run can align it again (`_refuse_aligned`),
            # so it cannot be kept in step, and refusing for it would leave no way forward.
            log.warning("table %r of %s was aligned from the aligned table %r, which align no longer accepts; it "
                        "is left as it is and may be out of step with %r: remove it", out, dataset.root, table,
                        aligned_name(reference, reference))
            continue
        if on_missing == "drop" or entry.config.get("on_missing") == "drop" or entry.config.get("skip_pauses") != skip_pauses:
            stale.append((out, table, entry.config.get("on_missing"), entry.config.get("skip_pauses")))
    if stale:
        out, _, their_missing, their_pauses = stale[0]
        flags = " ".join([*(f"-t {n}" for n in [*names[1:], *(table for _, table, _, _ in stale)]),
                          *([f"--collapse {collapse}"] if isinstance(collapse, str) and collapse != "mean" else []),
                          *([f"--on-missing {on_missing}"] if on_missing != "drop" else []),
                          *(["--skip-pauses"] if skip_pauses else [])])
        raise DatasetError(
            f"table {out!r} of {dataset.root} was aligned to {reference!r} by an earlier run (on_missing {their_missing!r}, "
            f"skip_pauses {their_pauses}); aligning {names[1:]} without it (on_missing {on_missing!r}, skip_pauses "
            f"{skip_pauses}) would rewrite {aligned_name(reference, reference)!r} with other reference intervals and "
            f"leave {[o for o, _, _, _ in stale]} out of step (with on_missing 'drop' an interval is kept only where "
            f"every table aligned together overlaps it); expected one run for all of them: "
            f"`mmdata align {dataset.root} -r {reference} {flags} --force`")


def _is_temporal(dataset: Dataset, name: str) -> bool:
    spec = dataset.spec(name)
    return spec.kind == "sequence" and spec.intervals and spec.dim is not None


def _check_has_words(dataset: Dataset, reference: str) -> None:
    """Refuse skip_pauses for a reference without tokens: there would be no pause to leave out, silently."""
    if _has_words(dataset, reference) is False:
        words = [n for n in dataset.table_names if ALIGNED_SEPARATOR not in n and _has_words(dataset, n)]
        raise ConfigError(f"skip_pauses leaves out the reference rows whose word is a pause (sp), but the reference "
                          f"{reference!r} has no words column; expected a word or phone table as the reference "
                          f"(tables with words: {words}), or no --skip-pauses (a word-embeddings table leaves "
                          "pauses out when extracted with pauses=drop)")


def _has_words(dataset: Dataset, name: str) -> bool | None:
    """Whether the table's shards carry a `words` column (None: it has no shard to tell)."""
    shards = layout.shard_files(dataset.table_dir(name))
    return "words" in shard_schema(shards[0]).names if shards else None


def _check_input(dataset: Dataset, name: str, role: str, reference: str) -> None:
    """A table the run reads as `role` ('reference' or 'table'): in the dataset, not aligned, temporal."""
    dataset.entry(name)  # unknown names raise, listing the tables
    _refuse_aligned(name, role, reference)
    _check_temporal(dataset, name, role)


def _refuse_aligned(name: str, role: str, reference: str) -> None:
    """Refuse an output of align (`<table>@<reference>`) as the reference or a table to align.

    Aligning it would align twice (`text.words@text.words` as the reference wrote
    `text.words@text.words@text.words@text.words`); its rows are the intervals of the reference it was
    aligned to, so the table it came from and that reference are what to pass.
    """
    if ALIGNED_SEPARATOR not in name:
        return
    parts = name.split(ALIGNED_SEPARATOR)
    source, aligned_to = parts[0], parts[-1]
    if role == "reference":
        instead = (f"pass `-r {aligned_to}` (its rows are the intervals of {aligned_to!r} that alignment kept; "
                   f"`--force` aligns the tables to it anew)")
    elif source == reference:
        written = aligned_name(reference, reference)
        instead = f"leave it out of -t (every run aligned to {reference!r} writes {written!r})"
    else:
        instead = f"pass `-t {source}` (with `-r {reference}`)"
    raise DatasetError(
        f"{role} {name!r} is an aligned table (an output of `mmdata align`: {source!r} aligned to {aligned_to!r}); "
        f"aligning it again would align twice; expected a table align did not write: {instead}")


def _check_temporal(dataset: Dataset, name: str, role: str) -> None:
    if not _is_temporal(dataset, name):
        temporal = [n for n in dataset.table_names if ALIGNED_SEPARATOR not in n and _is_temporal(dataset, n)]
        raise DatasetError(f"{role} {name!r} is not a temporal table (it has no per-row intervals: {dataset.spec(name)}); "
                           f"align needs sequence tables with intervals; temporal tables: {temporal}")


def config_fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]
