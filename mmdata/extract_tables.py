"""One feature table computed: claimed in the manifest, its pending shards run through the executor
and written, resumable at shard granularity.

`_extract_table` claims the table and drops or puts back what a failed run leaves; `_fill_table`
keeps the finished shards whose rows still match the samples table (and their moments), and
computes the others; `_run_shards` streams every pending shard's batches through the runner as one
stream and cuts its results into chunks of feature rows (about `CHUNK_BYTES`), which a background
thread writes as shards, each after its errors table and before its moments.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mmdata.batch_work import ItemResult, item_failure
from mmdata.errors import ExtractionError, SchemaMismatchError
from mmdata.features.base import Extractor
from mmdata.progress import ProgressSink
from mmdata.store import layout
from mmdata.store.metadata import FeatureSpec, feature_schema
from mmdata.store.moments import feature_moments, has_moments, stored_moments, write_shard_moments
from mmdata.store.reader import Dataset
from mmdata.store.shard_writer import BackgroundShardWriter
from mmdata.store.shards import read_shard, shard_rows
from mmdata.store.tables import (
    MixedVersionsError, TableReport, claim_table, drop_table, finish_table, put_back, refuse_mixed_versions,
    shard_path, versions_differ,
)
from mmdata.store.writer import FeatureBatchBuilder, errors_table, write_table_atomic

if TYPE_CHECKING:
    from mmdata.pipeline import OnError

log = logging.getLogger(__name__)


def _table_provenance(dataset: Dataset, extractor: Extractor) -> dict[str, Any]:
    """What the extractor's table records of how it was made, this dataset's samples included."""
    provenance = extractor.provenance()
    provenance["samples_fingerprint"] = dataset.manifest.samples["fingerprint"]
    return provenance


def _extract_table(
    dataset: Dataset, extractor: Extractor, corpus_root: Path, runner: Any, batch_size: int,
    on_error: OnError, progress: ProgressSink, table_format: str,
) -> TableReport:
    name = extractor.table_name
    provenance = _table_provenance(dataset, extractor)
    spec = extractor.output_spec()
    before = dataset.manifest.tables.get(name)
    claim_table(dataset, provenance, table_format=table_format)
    try:
        return _fill_table(dataset, extractor, provenance, spec, corpus_root, runner, batch_size, on_error, progress)
    except MixedVersionsError:
        put_back(dataset, {name: before})  # a refused run leaves the table as it found it
        raise
    except BaseException:
        if not layout.shard_files(layout.feature_dir(dataset.root, name)):
            drop_table(dataset, name)  # failed before its first shard (weights missing, a bad option): no trace
        raise


def _fill_table(
    dataset: Dataset, extractor: Extractor, provenance: dict[str, Any], spec: FeatureSpec, corpus_root: Path,
    runner: Any, batch_size: int, on_error: OnError, progress: ProgressSink,
) -> TableReport:
    """Compute the claimed table's pending shards (and those that no longer match the samples)."""
    name = extractor.table_name
    shards = layout.shard_files(layout.samples_dir(dataset.root))
    total_rows = int(dataset.manifest.samples["rows"])
    progress.start(f"{name}", total_rows)
    pending = []
    fingerprint = provenance["samples_fingerprint"]
    redone = 0
    for index, samples_shard in enumerate(shards):
        out_path = shard_path(dataset, name, index)
        if out_path.is_file() and not _rows_match(out_path, samples_shard):
            # edited or replaced since it was written: computed again (and written atomically over it)
            log.warning("%s: %s does not hold the rows of samples shard %s; computing it again", name, out_path,
                        samples_shard.name)
            redone += 1
            pending.append((index, samples_shard))
        elif out_path.is_file():
            _count_as_already_done(progress, shard_rows(out_path))
            if has_moments(spec) and stored_moments(out_path, int(spec.dim or 0), fingerprint) is None:
                # interrupted between the two writes, or the moments file was damaged or outlived its shard
                _write_moments(out_path, read_shard(out_path, ["feature"]), samples_shard, spec, fingerprint)
        else:
            pending.append((index, samples_shard))
    refuse_mixed_versions(dataset, name, provenance["versions"], len(pending))
    if hasattr(runner, "stream_shards"):  # Ray: one execution over every pending shard
        runner.stream_shards(extractor, [s for _, s in pending], corpus_root, batch_size)
    pooled_floats = has_moments(spec)
    written = 0
    try:
        # Shards are written on a thread as their chunks arrive, while the next rows are computed.
        with BackgroundShardWriter(feature_schema(spec, provenance), keep_rows=pooled_floats) as writer:
            for index, chunk, errors in _run_shards(extractor, spec, provenance, pending, corpus_root, runner,
                                                    batch_size, on_error, progress):
                out_path = shard_path(dataset, name, index)
                writer.add(out_path, chunk)
                if errors is None:  # more rows of this shard to come
                    continue
                err_path = layout.errors_dir(dataset.root, name) / layout.shard_name(index)
                moments = partial(_write_moments, out_path, samples_shard=shards[index], spec=spec,
                                  fingerprint=fingerprint) if pooled_floats else None
                writer.finish(out_path, before=partial(_write_errors, err_path, errors), then=moments)
                written += 1
    finally:
        progress.finish()
    report = finish_table(dataset, name, written=written)
    report.decoded_in = getattr(runner, "decisions", {}).get(name)
    report.shards_redone = redone
    report.made_with = versions_differ(dataset.manifest.tables[name].versions, provenance["versions"])
    return report


def _count_as_already_done(progress: ProgressSink, rows: int) -> None:
    """Rows of a shard an earlier run wrote: shown as done, but not as this run's throughput, where
    the sink tells them apart (`RichProgress.already_done`); others just advance."""
    getattr(progress, "already_done", progress.advance)(rows)


def _rows_match(shard: Path, samples_shard: Path) -> bool:
    """The feature shard holds exactly the sample ids of its samples shard, in order (a finished
    shard a re-run may keep)."""
    return read_shard(shard, ["sample_id"]).column(0).equals(read_shard(samples_shard, ["sample_id"]).column(0))


def _write_errors(path: Path, errors: list[dict[str, Any]]) -> None:
    """The shard's errors table (before the shard itself: a finished shard always has its errors)."""
    if errors:
        write_table_atomic(errors_table(errors), path)
    else:
        path.unlink(missing_ok=True)


def _write_moments(path: Path, features: pa.Table, samples_shard: Path, spec: FeatureSpec, fingerprint: str | None) -> None:
    """Per-split moments of a pooled shard next to it, so `fuse` need not read it again for its statistics."""
    splits = read_shard(samples_shard, ["split"]).column("split").to_numpy(zero_copy_only=False)
    write_shard_moments(path, feature_moments(features.column("feature"), splits), int(spec.dim or 0), fingerprint)


#: A shard's rows go to the writer in chunks of about this many feature bytes (Parquet row groups).
CHUNK_BYTES = 8 << 20


def _run_shards(
    extractor: Extractor, spec: FeatureSpec, provenance: dict[str, Any], pending: list[tuple[int, Path]],
    corpus_root: Path, runner: Any, batch_size: int, on_error: OnError, progress: ProgressSink,
) -> Iterator[tuple[int, Callable[[], pa.Table], list[dict[str, Any]] | None]]:
    """Yield (shard index, feature rows, error records) per chunk of each pending samples shard:
    the error records come with a shard's last chunk, None with the chunks before it. The rows
    come as a function that builds their Arrow table, for the shard writer's thread to call.

    The batches of every pending shard go to the runner as one stream, so the workers stay busy
    across shard boundaries while a finished shard is written. A batch never spans two shards.
    """
    boundaries: deque[tuple[int, int]] = deque()  # (shard index, rows), appended as the stream reads ahead

    def batches() -> Iterator[list[dict[str, Any]]]:
        for index, samples_shard in pending:
            rows = read_shard(samples_shard).to_pylist()
            boundaries.append((index, len(rows)))
            yield from _batches(rows, batch_size)

    builder, errors, handed = FeatureBatchBuilder(spec, provenance), [], 0  # handed: rows of this shard yielded

    def ready_chunks() -> Iterator[tuple[int, Callable[[], pa.Table], list[dict[str, Any]] | None]]:
        nonlocal builder, errors, handed
        while boundaries and handed + len(builder) == boundaries[0][1]:
            index, _ = boundaries.popleft()
            yield index, builder.build, errors
            builder, errors, handed = FeatureBatchBuilder(spec, provenance), [], 0
        # A chunk is cut at CHUNK_BYTES, and before a shard's last batch when it holds a quarter of
        # that: the writer is then left with one batch's rows to encode once the computing is over.
        last_batch_next = boundaries and 0 < boundaries[0][1] - handed - len(builder) <= batch_size
        if boundaries and (builder.nbytes >= CHUNK_BYTES or (last_batch_next and builder.nbytes >= CHUNK_BYTES // 4)):
            handed += len(builder)
            yield boundaries[0][0], builder.build, None
            builder = FeatureBatchBuilder(spec, provenance)

    stream = batches()
    for batch_rows, results in runner.run(extractor, stream, corpus_root):
        for row, result in zip(batch_rows, results):
            if result.ok:
                unfit = _add_feature(builder, spec, result)
                if unfit is None:
                    continue
                result = _unfit_output(extractor, spec, row, unfit)
            if on_error == "fail":
                raise ExtractionError(
                    f"sample {result.sample_id!r}" + (f" ({result.path})" if result.path else "")
                    + f": {result.stage} failed in {extractor.table_name}: {result.error_type}: {result.reason}"
                    + "; fix or remove the item, or re-run with --on-error skip to record it and go on"
                )
            builder.add(row["sample_id"], None)
            errors.append(_error_record(extractor.table_name, result))
        progress.advance(len(batch_rows))
        yield from ready_chunks()
    for _ in stream:  # shards with no rows left in the stream (empty samples table)
        pass
    yield from ready_chunks()


def _add_feature(builder: FeatureBatchBuilder, spec: FeatureSpec, result: ItemResult) -> Exception | None:
    """Add the item's feature to the shard's rows; a feature the table cannot hold (None, another
    shape, values that are not numbers) adds nothing and is returned, to fail that item alone."""
    if result.value is None:
        return SchemaMismatchError("the extractor returned no feature (None) for this item")
    if spec.intervals and not (isinstance(result.value, (tuple, list)) and len(result.value) == 2):
        return SchemaMismatchError(f"the extractor declares intervals, so compute must return (features (T, D), "
                                   f"intervals (T, 2)) per item; got {type(result.value).__name__}")
    try:
        if spec.intervals:
            values, intervals = result.value
            builder.add(result.sample_id, values, intervals)
        else:
            builder.add(result.sample_id, result.value)
    except (SchemaMismatchError, ValueError, TypeError) as e:  # the builder added nothing
        return e
    return None


def _unfit_output(extractor: Extractor, spec: FeatureSpec, row: dict[str, Any], error: Exception) -> ItemResult:
    """The failure of an item whose computed feature does not fit the extractor's declared output."""
    failure = item_failure(row, extractor, "compute", error)
    declared = f"{spec.kind} {spec.dtype} features of dim {spec.dim if spec.dim is not None else 'any'}"
    return replace(failure, reason=f"extractor {extractor.name!r} declares {declared}, and this item's cannot be "
                                   f"stored as one: {failure.reason}")


def _error_record(table: str, result: ItemResult) -> dict[str, Any]:
    return {"table": table, "sample_id": result.sample_id, "path": result.path, "stage": result.stage,
            "error_type": result.error_type, "reason": result.reason}


def _batches(rows: list[dict[str, Any]], batch_size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), batch_size):
        yield rows[start : start + batch_size]
