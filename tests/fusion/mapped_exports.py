"""Small fused exports holding every per-row column a `FusedDataset` item reads: ids, labels with nulls,
auxiliary labels with nulls, a class id or multi-hot targets, presence, and sequences (pooled, padded,
ragged) of several lengths, in shards of a few rows so the Arrow files hold several record batches."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from mmdata.fusion import fuse
from mmdata.store.manifest import read_manifest, write_manifest
from tests.checks.builder import aligned_table, build_dataset, mosi_samples, pooled_table, with_value

#: Where the manifest says each auxiliary label lies in a sample's `extra`, as the csd loader records it.
LOADER = {"label_names": ["happy", "sad"], "label_fields": {"happy": ["labels", 0], "sad": ["labels", 1]}}


def labelled_samples(videos: int = 6, segments: int = 4) -> list:
    """MOSI-like segments with two auxiliary labels (the second null for every third), a class name, a
    list of tags and no label for every fifth segment."""
    samples = []
    for i, s in enumerate(mosi_samples(videos, segments)):
        extra = {"labels": [0.25 * i, None if i % 3 == 0 else -0.5 * i], "kind": f"k{i % 3}",
                 "tags": [f"t{i % 4}", f"t{(i + 1) % 4}"]}
        samples.append(replace(s, extra=extra, label=None if i % 5 == 0 else s.label))
    return samples


def labelled_dataset(root: Path) -> Path:
    """A dataset of `labelled_samples`: a pooled table and a word-aligned sequence table whose samples hold
    3 steps, one 5 and one 1, and whose sample 2 failed (so `--missing zero` marks it absent)."""
    samples = labelled_samples()
    words = aligned_table("text.w", samples, 3, 3, seed=1)
    for index, steps in ((1, 5), (4, 1)):
        s = samples[index]
        edges = np.linspace(s.start, s.end, steps + 1)
        words = with_value(words, index, np.full((steps, 3), index, np.float32), np.stack([edges[:-1], edges[1:]], 1))
    words = with_value(words, 2, None)
    build_dataset(root, samples, [pooled_table("image.p", samples, 2), words], corpus_kind="mosi-raw", shard_size=4)
    manifest = read_manifest(root)
    manifest.extra["loader"] = LOADER
    write_manifest(root, manifest)
    return root


def export(dataset: Path, out: Path, fmt: str, sequences: str, class_label: str = "kind") -> Path:
    """`fuse` of the dataset into `out` with labels, a class label and --missing zero; the Arrow files of an
    arrow or hf export rewritten in record batches of 3 rows (a large export holds many batches)."""
    fuse(dataset, out, format=fmt, sequences=sequences, missing="zero", labels="all", class_label=class_label,
         normalize="none", stats_splits=("train", "valid", "test"))
    for path in [*out.glob("data/*.arrow"), *out.glob("*/data-*.arrow")]:
        rebatch(path, 3, stream=fmt == "hf")
    return out


def rebatch(path: Path, rows: int, *, stream: bool) -> None:
    """Rewrite an Arrow IPC file (or stream) in record batches of `rows` rows, values and schema unchanged."""
    source = pa.py_buffer(path.read_bytes())  # not mapped: the file is rewritten below
    table = (pa.ipc.open_stream(source) if stream else pa.ipc.open_file(source)).read_all()
    new = pa.ipc.new_stream if stream else pa.ipc.new_file
    with pa.OSFile(str(path), "wb") as sink, new(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=rows):
            writer.write_batch(batch)


def large_dataset(root: Path, rows: int) -> Path:
    """A dataset of `rows` samples (ids `clip0000000[0]`..., 80/10/10 train/valid/test) with one pooled table of
    dim 2 and the two auxiliary labels, written with the store API in shards of 50,000 (no per-sample
    Python records: a few seconds for 200,000 rows)."""
    from mmdata.pipeline import fingerprint_ids
    from mmdata.records import SAMPLES_SCHEMA
    from mmdata.store import layout
    from mmdata.store.manifest import Manifest, TableEntry
    from mmdata.store.metadata import FeatureSpec, feature_schema
    from mmdata.store.writer import write_table_atomic

    shard, rng = 50_000, np.random.default_rng(0)
    ids = [f"clip{i // 10:07d}[{i % 10}]" for i in range(rows)]
    splits = np.array(["train"] * 8 + ["valid", "test"])[np.arange(rows) % 10]
    values = rng.uniform(-3, 3, (rows, 3)).round(3)
    extra = [f'{{"labels": [{a}, {b}]}}' for a, b in values[:, 1:].tolist()]
    nulls = {name: pa.nulls(rows, pa.string()) for name in ("audio", "video", "transcript")}
    samples = pa.table({
        "sample_id": ids, "corpus": ["manifest"] * rows, "split": splits, "group_id": ids, "image": ids, **nulls,
        "start": pa.nulls(rows, pa.float64()), "end": pa.nulls(rows, pa.float64()),
        "captions": pa.nulls(rows, pa.list_(pa.string())), "label": values[:, 0], "extra": extra,
    }).select(SAMPLES_SCHEMA.names).cast(SAMPLES_SCHEMA)
    for k, start in enumerate(range(0, rows, shard)):
        write_table_atomic(samples.slice(start, shard), layout.samples_dir(root) / layout.shard_name(k))
    fingerprint = fingerprint_ids(ids)
    spec = FeatureSpec(dim=2)
    schema = feature_schema(spec, {"table": "image.p", "modality": "image", "extractor": "p", "config": {},
                                   "spec": spec.to_json(), "versions": {"mmdata": "0.1.0"},
                                   "samples_fingerprint": fingerprint})
    features = pa.FixedSizeListArray.from_arrays(pa.array(rng.normal(size=2 * rows).astype(np.float32)),
                                                 type=schema.field("feature").type)
    for k, start in enumerate(range(0, rows, shard)):
        table = pa.Table.from_arrays([pa.array(ids[start:start + shard]), features.slice(start, shard)], schema=schema)
        write_table_atomic(table, layout.feature_dir(root, "image.p") / layout.shard_name(k, "arrow"))
    manifest = Manifest(
        corpus={"kind": "manifest", "root": str(root / "corpus"), "split": None, "options": {}},
        samples={"path": layout.SAMPLES_DIR, "rows": rows, "shard_size": shard, "fingerprint": fingerprint,
                 "loader_errors": 0, "splits": {s: int((splits == s).sum()) for s in ("train", "valid", "test")}},
        extra={"loader": LOADER})
    manifest.tables["image.p"] = TableEntry(name="image.p", path="features/image.p", modality="image", extractor="p",
                                            config={}, spec=spec.to_json(), versions={"mmdata": "0.1.0"}, rows=rows,
                                            complete=True, format="arrow")
    write_manifest(root, manifest)
    return root
