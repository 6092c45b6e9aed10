"""Writing the tables a loader reads straight from the corpus files (.csd sequences, processed
pickles), shard-aligned with the samples table and resumable like extracted tables."""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import pyarrow as pa

from mmdata.corpora.base import PrecomputedTable
from mmdata.errors import DatasetError, ExtractionError, SchemaMismatchError
from mmdata.features.base import library_versions
from mmdata.store import layout
from mmdata.store.manifest import write_manifest
from mmdata.store.metadata import NONFINITE_VALUES_KEY, decode_metadata, read_table_metadata, with_metadata
from mmdata.store.reader import Dataset
from mmdata.store.shards import read_shard
from mmdata.store.tables import (
    MixedVersionsError, TableReport, claim_again_if_other_versions, claim_table, finish_table, put_back,
    refuse_mixed_versions, shard_path,
)
from mmdata.store.writer import FeatureBatchBuilder, ShardWriter, errors_table, write_table_atomic

log = logging.getLogger(__name__)

#: Bytes of feature values and intervals a shard is built and written in at a time (a Parquet row
#: group each): 1,000 whole MOSI videos of COVAREP (80 s x 100 Hz x 74 floats) are ~2.4 GB.
PIECE_BYTES = 64 * 2**20
#: Rows of a piece at most, whatever their size.
PIECE_ROWS = 65_536


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
        errors_path = layout.errors_dir(dataset.root, table.name) / layout.shard_name(index)
        _write_shard(_shard_pieces(table, provenance, ids, samples_shard, on_error), out_path, errors_path)
        written += 1
    shards = layout.shard_files(table_dir)
    nonfinite = sum(int(read_table_metadata(s).get(NONFINITE_VALUES_KEY, 0)) for s in shards)
    dataset.manifest.extra.setdefault(NONFINITE_VALUES_KEY, {})[table.name] = nonfinite
    if nonfinite:
        policy = table.config.get("nonfinite")
        hint = "; -o nonfinite=zero sets them to 0, as MulT and MMSA do" if policy == "error" else ""
        log.warning("%s: %d non-finite values (-inf/NaN) in %s (policy %s%s)", table.name, nonfinite, table.source,
                    policy, hint)
    write_manifest(dataset.root, dataset.manifest)
    return finish_table(dataset, table.name, written=written)


class _Piece(NamedTuple):
    """The next rows of a shard: their table, their errors and their non-finite values."""

    table: pa.Table
    errors: list[dict]
    nonfinite: int


def _write_shard(pieces: Iterator[_Piece], path: Path, errors_path: Path) -> None:
    """Write one shard from its pieces, holding about one piece at a time, then its errors table.

    A Parquet shard goes to its hidden temporary file one row group a piece and is renamed over
    `path` when complete (a shard of one piece is the file `write_table_atomic` writes); an Arrow
    IPC shard is one record batch (memory-mappable), so its pieces are joined. Either way the
    shard's metadata counts the non-finite values of all its pieces (known only at the end), and
    its errors are written before the shard: a run killed in between writes both again.
    """
    errors, nonfinite = [], 0
    with ShardWriter(path) as shard:
        for piece in pieces:
            shard.write(piece.table)
            errors += piece.errors
            nonfinite += piece.nonfinite
        _write_errors(errors, errors_path)
        shard.set_metadata(_counted_schema(shard.schema, nonfinite))


def _counted_schema(schema: pa.Schema, nonfinite: int) -> pa.Schema:
    return with_metadata(schema, {**decode_metadata(schema), NONFINITE_VALUES_KEY: nonfinite})


def _write_errors(errors: list[dict], errors_path: Path) -> None:
    if errors:
        write_table_atomic(errors_table(errors), errors_path)


def _shard_pieces(table: PrecomputedTable, provenance: dict, ids: list[str], samples_shard: Path,
                  on_error: str) -> Iterator[_Piece]:
    """The shard of `ids` in pieces of at most `PIECE_BYTES` of values (or `PIECE_ROWS` rows), read
    lazily from the table's source (one video at a time), so that a shard of whole videos never
    sits in memory at once."""
    rows = iter(table.read(ids))
    done = 0
    while piece := list(_next_rows(rows)):
        if [r.sample_id for r in piece] != ids[done:done + len(piece)]:
            raise _not_one_row_per_sample(table, samples_shard)
        done += len(piece)
        yield _build_piece(table, provenance, piece, on_error)
    if done != len(ids):
        raise _not_one_row_per_sample(table, samples_shard)
    if not ids:
        yield _build_piece(table, provenance, [], on_error)


def _not_one_row_per_sample(table: PrecomputedTable, samples_shard: Path) -> DatasetError:
    return DatasetError(f"precomputed table {table.name!r} did not return one row per sample of {samples_shard}, in order")


def _next_rows(rows: Iterator) -> Iterator:
    """Rows from `rows` up to `PIECE_BYTES` of values and intervals or `PIECE_ROWS` rows, whichever first."""
    size = 0
    for count, row in enumerate(rows, start=1):
        yield row
        size += sum(getattr(v, "nbytes", 0) for v in (row.features, row.intervals))
        if size >= PIECE_BYTES or count >= PIECE_ROWS:
            return


def _build_piece(table: PrecomputedTable, provenance: dict, rows: list, on_error: str) -> _Piece:
    builder = FeatureBatchBuilder(table.spec, provenance)
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
    return _Piece(out, errors, sum(r.nonfinite for r in rows))
