"""Writing the tables a loader reads straight from the corpus files (.csd sequences, processed
pickles), shard-aligned with the samples table and resumable like extracted tables."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import pyarrow as pa

from mmdata.corpora.base import PrecomputedTable
from mmdata.errors import DatasetError, ExtractionError, SchemaMismatchError
from mmdata.features.base import library_versions
from mmdata.store import layout
from mmdata.store.manifest import write_manifest
from mmdata.store.metadata import read_table_metadata
from mmdata.store.reader import Dataset
from mmdata.store.shards import read_shard
from mmdata.store.tables import (
    MixedVersionsError, TableReport, claim_again_if_other_versions, claim_table, finish_table, put_back,
    refuse_mixed_versions, shard_path,
)
from mmdata.store.writer import FeatureBatchBuilder, errors_table, write_table_atomic

log = logging.getLogger(__name__)


def write_precomputed_tables(
    dataset: Dataset, tables: Sequence[PrecomputedTable], *, on_error: Literal["fail", "skip"] = "skip",
    table_format: str = layout.DEFAULT_FEATURE_FORMAT, force: bool = False,
) -> list[TableReport]:
    """Write the loader's precomputed tables shard by shard (finished shards are skipped).

    Non-finite values each table met are counted per shard (shard metadata) and summed into the
    manifest's `extra["nonfinite_values"]`.
    """
    return [_write_table(dataset, table, on_error, table_format, force) for table in tables]


def _write_table(dataset: Dataset, table: PrecomputedTable, on_error: str, table_format: str,
                 force: bool = False) -> TableReport:
    provenance = {"table": table.name, "modality": table.modality, "extractor": "precomputed", "config": table.config,
                  "spec": table.spec.to_json(), "versions": library_versions(("mmdata", "numpy", "pyarrow", "h5py")),
                  "source": table.source, "samples_fingerprint": dataset.manifest.samples["fingerprint"]}
    before = dataset.manifest.tables.get(table.name)
    table_dir = claim_table(dataset, provenance, force=force, source=table.source, table_format=table_format)
    samples_shards = layout.shard_files(layout.samples_dir(dataset.root))
    pending = [i for i in range(len(samples_shards)) if not shard_path(dataset, table.name, i).is_file()]
    if force and pending and claim_again_if_other_versions(dataset, provenance, source=table.source,
                                                           table_format=table_format):
        pending = list(range(len(samples_shards)))
    try:
        refuse_mixed_versions(dataset, table.name, provenance["versions"], len(pending))
    except MixedVersionsError:
        put_back(dataset, {table.name: before})
        raise
    written = 0
    for index, samples_shard in enumerate(samples_shards):
        out_path = shard_path(dataset, table.name, index)
        if index not in pending:
            continue
        ids = read_shard(samples_shard, ["sample_id"]).column(0).to_pylist()
        out, errors = _build_shard(table, provenance, ids, samples_shard, on_error)
        if errors:
            write_table_atomic(errors_table(errors), layout.errors_dir(dataset.root, table.name) / layout.shard_name(index))
        write_table_atomic(out, out_path)
        written += 1
    shards = layout.shard_files(table_dir)
    nonfinite = sum(int(read_table_metadata(s).get("nonfinite_values", 0)) for s in shards)
    dataset.manifest.extra.setdefault("nonfinite_values", {})[table.name] = nonfinite
    if nonfinite:
        policy = table.config.get("nonfinite")
        hint = "; -o nonfinite=zero sets them to 0, as MulT and MMSA do" if policy == "error" else ""
        log.warning("%s: %d non-finite values (-inf/NaN) in %s (policy %s%s)", table.name, nonfinite, table.source,
                    policy, hint)
    write_manifest(dataset.root, dataset.manifest)
    return finish_table(dataset, table.name, written=written)


def _build_shard(table: PrecomputedTable, provenance: dict, ids: list[str], samples_shard, on_error: str) -> tuple[pa.Table, list[dict]]:
    rows = list(table.read(ids))
    if [r.sample_id for r in rows] != ids:
        raise DatasetError(f"precomputed table {table.name!r} did not return one row per sample of {samples_shard}, in order")
    builder = FeatureBatchBuilder(table.spec, {**provenance, "nonfinite_values": sum(r.nonfinite for r in rows)})
    errors = []
    for row in rows:
        # A row may name its error type (the csd loader's label segments past the end of their video, or
        # with no row: what `mmdata segment` names them); a bad file's row is a CorpusFormatError.
        error, error_type = row.error, getattr(row, "error_type", None) or "CorpusFormatError"
        if error is None:
            try:
                builder.add(row.sample_id, row.features, row.intervals if table.spec.intervals else None)
                continue
            except SchemaMismatchError as e:  # values the table cannot hold (beyond float32's range): the row's fault
                error, error_type = str(e), type(e).__name__
        if on_error == "fail":
            raise ExtractionError(f"sample {row.sample_id!r} ({row.path}): {error}; fix the file, or re-run "
                                  "with --on-error skip to record it and go on")
        builder.add(row.sample_id, None)
        # A row without its own path (values the writer refused) is named by the table's source file and key.
        errors.append({"table": table.name, "sample_id": row.sample_id, "path": row.path or table.source, "stage": "load",
                       "error_type": error_type, "reason": error})
    failed = {e["sample_id"] for e in errors}
    out = builder.build()
    for name, arrow_type in table.extra_columns.items():
        values = [None if r.sample_id in failed else r.columns.get(name) for r in rows]
        out = out.append_column(pa.field(name, arrow_type), pa.array(values, arrow_type))
    return out, errors
