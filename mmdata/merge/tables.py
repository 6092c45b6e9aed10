"""A merged feature table: every dataset's shards read in turn, their rows renamed and cut again into the
merged samples table's shards.

    dataset a  part-0 (1000) part-1 (412)  ─┐
    dataset b  part-0 (1000) part-1 (87)   ─┴─▶ rows renamed "<name>/<id>" ─▶ merged part-0 (1000) part-1 (1000) part-2 (499)

A source shard is read in pieces (a Parquet shard in batches of about `PIECE_BYTES`, an Arrow IPC shard over
its memory map) and each piece goes to the output shard as soon as it is checked against the merged samples
table's rows (the same ids, in order): a Parquet output shard takes it as a row group, so a shard of whole
videos is never in memory whole (an Arrow IPC shard is one record batch, assembled at its end, as `extract`
writes it). Every output shard records the merged table's provenance (`merged_entry`: the first dataset's
extractor, options and library versions; each dataset's own are in the manifest's `extra.merge`), the metadata
of the first source shard it takes rows from otherwise, and the merged samples fingerprint. Pooled float tables
get their per-split moments again (fuse's statistics), as the merge may move samples to another split. A
source's errors rows go to the output shard that holds their sample.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.errors import DatasetError
from mmdata.merge.samples import merged_errors, prefixed
from mmdata.merge.sources import MergeSource
from mmdata.store import layout
from mmdata.store.metadata import NONFINITE_VALUES_KEY, FeatureSpec, decode_metadata, with_metadata
from mmdata.store.moments import feature_moments, has_moments, write_shard_moments
from mmdata.store.reader import Dataset
from mmdata.store.shards import map_shard, open_shard_batches, shard_schema
from mmdata.store.tables import claim_table
from mmdata.store.writer import ShardWriter, write_table_atomic

#: Decoded bytes of a Parquet source shard read at a time: about the store's row groups.
PIECE_BYTES = 64 << 20
#: Rows of a Parquet source shard read at a time, at most.
PIECE_ROWS = 1 << 16
#: Shard metadata that counts one source shard's rows (a table read from corpus files counts the non-finite
#: values it kept): not copied to an output shard, whose rows are others (the manifest keeps the table's total).
PER_SHARD_KEYS = frozenset({NONFINITE_VALUES_KEY})


@dataclass(frozen=True)
class MergedEntry:
    """How a merged table is recorded: its manifest options (`config`), where its rows come from (`source`), and,
    for an aligned table, the input tables its `inputs` fingerprint is made of (the shards' `input_tables`)."""

    config: dict[str, Any]
    source: str | None
    input_tables: dict[str, list[Any]] | None = None


def merged_entries(sources: Sequence[MergeSource], names: Sequence[str]) -> dict[str, MergedEntry]:
    """Each merged table's entry: the first dataset's options, but that an aligned table whose inputs are merged
    too records the fingerprint of the merged inputs (their options and rows), as `align` would on the merged
    dataset, so that aligning there again finds it made from its inputs as they are."""
    from mmdata.alignment.dataset import config_fingerprint

    entries: dict[str, MergedEntry] = {}
    aligned_last = sorted(names, key=lambda n: sources[0].dataset.manifest.tables[n].extractor == "align")
    for _ in range(2):  # an aligned table aligned again takes its input's merged config: twice settles it
        for name in aligned_last:
            firsts = [s.dataset.manifest.tables[name] for s in sources]
            same_source = len({e.source for e in firsts}) == 1
            source = firsts[0].source if same_source else "merged from " + ", ".join(s.name for s in sources)
            config = dict(firsts[0].config)
            inputs = None
            if firsts[0].extractor == "align":
                wanted = list(dict.fromkeys((config.get("table"), config.get("reference"))))
                if all(isinstance(n, str) and n in names for n in wanted):
                    inputs = {n: [entries[n].config if n in entries else sources[0].dataset.manifest.tables[n].config,
                                  sum(s.dataset.manifest.tables[n].rows for s in sources)] for n in wanted}
                    config["inputs"] = config_fingerprint(inputs)
            entries[name] = MergedEntry(config, source, inputs)
    return {name: entries[name] for name in names}


def claim_merged_table(out: Dataset, sources: Sequence[MergeSource], name: str, entry: MergedEntry) -> None:
    """Register table `name` in the merged dataset's manifest as `entry` and the first dataset describe it."""
    first = sources[0].dataset.manifest.tables[name]
    provenance = {"table": name, "modality": first.modality, "extractor": first.extractor, "config": entry.config,
                  "spec": first.spec, "versions": first.versions,
                  "samples_fingerprint": out.manifest.samples["fingerprint"]}
    claim_table(out, provenance, source=entry.source, table_format=first.format)


def write_merged_shards(out: Dataset, sources: Sequence[MergeSource], name: str, entry: MergedEntry,
                        samples: pa.Table) -> int:
    """Write the shards, moments and errors rows of table `name` (claimed) of the merged dataset `out`, whose
    samples table `samples` is written already; returns the shards written. Touches no manifest: tables are
    written on threads of their own."""
    first = sources[0].dataset.manifest.tables[name]
    recorded = {"config": entry.config, "spec": first.spec, "versions": first.versions,
                "samples_fingerprint": out.manifest.samples["fingerprint"]}
    if entry.input_tables is not None:
        from mmdata.alignment.dataset import INPUT_TABLES

        recorded[INPUT_TABLES] = entry.input_tables
    spec = FeatureSpec.from_json(first.spec)
    sizes = list(out.manifest.samples["shards"])
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    ids, splits = samples.column("sample_id"), samples.column("split").to_numpy(zero_copy_only=False)
    table_dir = layout.feature_dir(out.root, name)
    sink = _ShardSink(sizes, lambda index, metadata, schema: ShardWriter(
        table_dir / layout.shard_name(index, first.format),
        with_metadata(schema, {**{k: v for k, v in metadata.items() if k not in PER_SHARD_KEYS}, **recorded})))
    moments = has_moments(spec) and bool(spec.dim)
    for index, shard, features in sink.shards(_renamed_pieces(sources, name), ids, name, sources, keep=moments):
        path = shard.path
        shard.commit()
        if moments:
            found = feature_moments(pa.chunked_array(features, type=features[0].type) if features else
                                    pa.chunked_array([], type=pa.list_(pa.float32(), spec.dim)),
                                    splits[starts[index]:starts[index + 1]])
            write_shard_moments(path, found, spec.dim, recorded["samples_fingerprint"])
    _write_errors(out, sources, name, ids, starts)
    return len(sizes)


class _ShardSink:
    """Pieces of rows cut into output shards of `sizes` rows: each output shard a `ShardWriter` opened by
    `open(index, metadata of its first piece, writer schema)` when its first rows come."""

    def __init__(self, sizes: Sequence[int], open_writer: Any):
        self.sizes, self.open_writer = list(sizes), open_writer

    def shards(self, pieces: Iterator[tuple[pa.Table, dict[str, Any], Path]], ids: pa.ChunkedArray, name: str,
               sources: Sequence[MergeSource], *, keep: bool) -> Iterator[tuple[int, ShardWriter, list[pa.Array]]]:
        """Yield (index, its writer holding all its rows, the `feature` chunks it holds where `keep`) per output
        shard, in order; the caller commits each.

        Raises:
            DatasetError: rows not those of the merged samples in order, or more or fewer rows than they."""
        index, filled, start = 0, 0, 0
        writer: ShardWriter | None = None
        schema: pa.Schema | None = None
        features: list[pa.Array] = []
        try:
            for piece, metadata, path in pieces:
                schema = _writer_schema(piece.schema) if schema is None else schema
                offset = 0
                while offset < piece.num_rows:
                    while index < len(self.sizes) and self.sizes[index] == 0:  # an empty samples shard
                        yield index, self.open_writer(index, metadata, schema), []
                        index += 1
                    if index == len(self.sizes):
                        raise DatasetError(f"table {name!r}: {path} holds rows past the end of its dataset's samples "
                                           f"table (the merge has {start + filled}); run `mmdata check` on that "
                                           "dataset and extract the table again")
                    if writer is None:
                        writer, features = self.open_writer(index, metadata, schema), []
                    take = min(self.sizes[index] - filled, piece.num_rows - offset)
                    part = _cast(piece.slice(offset, take), schema, name, path)
                    _check_rows(part, ids.slice(start + filled, take), name, sources, start + filled)
                    writer.write(part)
                    if keep:
                        features += part.column("feature").chunks
                    filled, offset = filled + take, offset + take
                    if filled == self.sizes[index]:
                        yield index, writer, features
                        writer, start, filled, index = None, start + filled, 0, index + 1
            while index < len(self.sizes) and self.sizes[index] == 0 and schema is not None:
                yield index, self.open_writer(index, {}, schema), []
                index += 1
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
        if index != len(self.sizes):
            wanted = ids[start + filled].as_py()
            root = next((s.dataset.root for s in sources if wanted.startswith(f"{s.name}/")), "its dataset")
            raise DatasetError(f"table {name!r} of {root}: no row for sample {wanted.split('/', 1)[-1]!r} (the table's "
                               f"shards end before its samples table does: {start + filled} of the merge's "
                               f"{sum(self.sizes)} rows); run `mmdata check` on that dataset and extract the table again")


def _renamed_pieces(sources: Sequence[MergeSource], name: str) -> Iterator[tuple[pa.Table, dict[str, Any], Path]]:
    """Every source shard of table `name` in pieces, in order, with its sample ids renamed, its metadata and file."""
    for source in sources:
        for path in source.dataset.table_files(name):
            schema = shard_schema(path)
            metadata = decode_metadata(schema)
            if path.suffix == ".arrow":
                batches: Iterator[pa.RecordBatch] = iter(map_shard(path).to_batches())
            else:
                _, _, batches = open_shard_batches(path, schema.names, PIECE_BYTES, PIECE_ROWS)
            for batch in batches:
                piece = pa.Table.from_batches([batch])
                position = piece.schema.get_field_index("sample_id")
                piece = piece.set_column(position, piece.schema.field(position),
                                         prefixed(piece.column("sample_id"), f"{source.name}/"))
                yield piece.replace_schema_metadata(None), metadata, path


def _writer_schema(schema: pa.Schema) -> pa.Schema:
    """The output shards' fields: the first piece's, every one but `sample_id` nullable (a source shard without a
    failed row may declare its vectors non-null, the next one not)."""
    return pa.schema([f if f.name == "sample_id" else f.with_nullable(True) for f in schema])


def _cast(piece: pa.Table, schema: pa.Schema, name: str, path: Path) -> pa.Table:
    if piece.schema.equals(schema):
        return piece
    try:
        return piece.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as e:
        raise DatasetError(f"table {name!r}: {path} holds columns {piece.schema} where the first dataset's shards hold "
                           f"{schema} ({e}); extract the table the same way into each dataset") from e


def _check_rows(table: pa.Table, expected: pa.ChunkedArray, name: str, sources: Sequence[MergeSource], start: int) -> None:
    """The piece holds the merged samples' rows start..start+n, in order."""
    got = table.column("sample_id")
    if pc.all(pc.equal(got, expected)).as_py() in (True, None):
        return
    row = pc.index(pc.not_equal(got, expected), True).as_py()
    found, wanted = got[row].as_py(), expected[row].as_py()
    source = (wanted or "").split("/", 1)[0]
    root = next((s.dataset.root for s in sources if s.name == source), source)
    raise DatasetError(f"table {name!r} of {root}: row {start + row} of the merge holds sample {found!r} where its "
                       f"samples table has {wanted!r}; the table is not row-aligned with its samples: run `mmdata "
                       "check` on that dataset and extract the table again")


def _write_errors(out: Dataset, sources: Sequence[MergeSource], name: str, ids: pa.ChunkedArray,
                  starts: np.ndarray) -> None:
    """Every source's errors rows of table `name`, in the output shard holding their sample (shard 0 for rows
    of no sample of the merge)."""
    errors = pa.concat_tables([merged_errors(s, name) for s in sources])
    if not errors.num_rows:
        return
    positions = pc.index_in(errors.column("sample_id"), value_set=ids.combine_chunks())
    rows = pc.fill_null(positions, 0).to_numpy(zero_copy_only=False)
    shards = np.searchsorted(starts, rows, side="right") - 1
    folder = layout.errors_dir(out.root, name)
    for shard in np.unique(shards):
        write_table_atomic(errors.filter(pa.array(shards == shard)), folder / layout.shard_name(int(shard)))


def source_tables(sources: Sequence[MergeSource], names: Sequence[str]) -> list[Mapping[str, Any]]:
    """Per dataset, how it made each merged table ({table: {config, versions, source}}): what the merged entry,
    the first dataset's, does not say of the others."""
    return [{name: {"config": s.dataset.manifest.tables[name].config,
                    "versions": s.dataset.manifest.tables[name].versions,
                    "source": s.dataset.manifest.tables[name].source} for name in names} for s in sources]
