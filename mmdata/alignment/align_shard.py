"""One samples shard aligned (`_align_shard`): every table's rows for the shard streamed side by side,
each sample's rows aligned to the reference's (`core.align_video`), and the shard of every output
table written with its `keys`, `words` and errors.

Tables are row-aligned with the samples shard by shard, so a shard is the unit a run resumes by;
`mmdata.alignment.dataset` decides which shards to align and claims the outputs.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from mmdata.alignment.core import CollapseSpec, OnAbsent, OnMissing, align_video, interval_problem
from mmdata.alignment.row_batches import batch_sequences, shard_row_batches
from mmdata.corpora.csd import is_pause
from mmdata.errors import DatasetError, ExtractionError
from mmdata.pipeline import OnError
from mmdata.store import layout
from mmdata.store.reader import Dataset
from mmdata.store.shards import shard_rows, shard_schema
from mmdata.store.tables import shard_path
from mmdata.store.writer import FeatureBatchBuilder, errors_table, write_table_atomic

if TYPE_CHECKING:
    from mmdata.alignment.dataset import AlignReport

STRINGS = pa.list_(pa.string())


@dataclass
class _ShardOutput:
    """What one samples shard adds to every output table."""

    builders: dict[str, FeatureBatchBuilder]
    keys: list[list[str] | None] = field(default_factory=list)
    words: dict[str, list[list[str] | None]] = field(default_factory=dict)
    errors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    absent: dict[str, list[int]] = field(default_factory=dict)  # rows (of `keys`) null in that table alone

    def keys_of(self, name: str) -> list[list[str] | None]:
        """The `keys` column of table `name`'s output: null where the table lacked the sample."""
        if not self.absent.get(name):
            return self.keys
        keys = list(self.keys)
        for row in self.absent[name]:
            keys[row] = None
        return keys


def _align_shard(dataset: Dataset, index: int, reference: str, names: list[str], outputs: dict[str, Any],
                 collapse: CollapseSpec, on_missing: OnMissing, skip_pauses: bool, on_error: OnError,
                 on_absent: OnAbsent, report: AlignReport) -> None:
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
        if absent and (on_absent == "drop" or reference in absent):
            lacking = reference if reference in absent else absent[0]  # with 'keep', the reference: nothing to align to
            _add_failed(out, outputs, names, sample_id, _no_features(lacking), on_error, ExtractionError)
            continue
        for name in absent:  # on_absent='keep': the sample is aligned in the tables that have it
            del by_name[name]
        _check_rows_match(shard, sample_id, by_name)
        bad_times = _bad_times(by_name, reference)
        if bad_times:
            _add_failed(out, outputs, names, sample_id, bad_times, on_error, DatasetError)
            continue
        ref_features, ref_intervals = by_name[reference][1]
        keep = None
        if skip_pauses and reference in word_tables:
            keep = np.array([not is_pause(w) for w in by_name[reference][2]], dtype=bool)
        aligned = align_video(ref_intervals, {n: by_name[n][1] for n in by_name if n != reference}, collapse=collapse,
                              on_missing=on_missing, keep=keep, where=f"sample {sample_id!r} aligned to {reference!r}")
        report.intervals += len(ref_intervals)
        report.kept += len(aligned.index)
        report.dropped += aligned.dropped
        report.skipped += len(ref_intervals) - len(aligned.index) - aligned.dropped
        if not len(aligned.index):
            report.empty_samples.append(sample_id)
        out.keys.append([f"{sample_id}[{i}]" for i in aligned.index])
        out.builders[reference].add(sample_id, ref_features[aligned.index], aligned.intervals)
        for name in names[1:]:
            if name in absent:
                _add_absent(out, outputs, name, sample_id)
                report.absent[name] += 1
                continue
            out.builders[name].add(sample_id, aligned.features[name], aligned.intervals)
            report.imputed[name] += aligned.imputed[name]
        for name in word_tables:
            out.words[name].append(None if name in absent else
                                   _aligned_words(by_name[name][2], aligned, None if name == reference else name))
    for name in names:
        out_name = outputs[name][0]
        keys = pa.array(out.keys_of(name), STRINGS)
        table = out.builders[name].build().append_column(pa.field("keys", STRINGS), keys)
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


def _no_features(absent: str) -> str:
    return (f"no features in {absent!r} for this sample (see its errors); nothing to align; expected features in "
            "every table aligned")


def _bad_times(by_name: dict[str, Any], reference: str) -> str | None:
    """Why the sample's intervals cannot be aligned (a NaN, an end before its start, an unsorted
    reference), naming the table, or None. The aligned rows follow the reference's order, so its
    rows must be sorted as `mmdata check` requires; other tables' rows are sorted here, as the SDK does."""
    for name, (_, (_, intervals), _) in by_name.items():
        problem = interval_problem(intervals, require_sorted=name == reference)
        if problem:
            hint = (" (extract .csd rows sorted: -o unsorted=sort)" if "not sorted" in problem else "")
            return (f"table {name!r}: {problem}; nothing aligned for this sample; fix the "
                    f"table's times, e.g. extract it again{hint} (`mmdata check` names such rows)")
    return None


def _add_failed(out: _ShardOutput, outputs: dict[str, Any], names: list[str], sample_id: str, reason: str,
                on_error: OnError, error: type[Exception]) -> None:
    """Null outputs for the sample, its reason in each output's errors table; or `error` with on_error='fail'."""
    if on_error == "fail":
        raise error(f"sample {sample_id!r}: {reason}; `--on-error skip` (on_error='skip') gives it null outputs, "
                    "recorded in the errors table")
    for name in names:
        out.builders[name].add(sample_id, None)
        out.errors[name].append({"table": outputs[name][0], "sample_id": sample_id, "stage": "align",
                                 "error_type": "DatasetError", "reason": reason})
    out.keys.append(None)
    for name in out.words:
        out.words[name].append(None)


def _add_absent(out: _ShardOutput, outputs: dict[str, Any], name: str, sample_id: str) -> None:
    """A null row for the sample in table `name`'s output alone, its reason in that output's errors table
    (on_absent='keep': the other outputs hold the sample, aligned without this table)."""
    out.builders[name].add(sample_id, None)
    out.absent.setdefault(name, []).append(len(out.keys) - 1)
    reason = f"{_no_features(name)}; aligned in the other tables without it (on_absent='keep')"
    out.errors[name].append({"table": outputs[name][0], "sample_id": sample_id, "stage": "align",
                             "error_type": "DatasetError", "reason": reason})


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
