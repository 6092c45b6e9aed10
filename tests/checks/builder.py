"""Build small dataset directories directly with the store API (no corpus, no extractor run).

    samples = image_text_samples()                         # 12 COCO-like samples over 3 splits
    root = build_dataset(tmp_path / "ds", samples, [pooled_table("image.a", samples, dim=4)])

Each `FakeTable` holds one value per sample (None = failed) and optional per-table defects:
other ids, another spec for one shard, other provenance, missing errors-table rows, and shards
edited after the writer built them (defects the writer itself refuses to write).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mmdata.pipeline import fingerprint_ids
from mmdata.records import Sample, samples_to_table
from mmdata.store import layout
from mmdata.store.manifest import Manifest, TableEntry, write_manifest
from mmdata.store.metadata import FeatureSpec
from mmdata.store.writer import FeatureBatchBuilder, errors_table, write_table_atomic


@dataclass
class FakeTable:
    name: str  # "<modality>.<extractor>"
    spec: FeatureSpec
    values: list[Any]  # one per sample, in samples order; None = extraction failed
    intervals: list[Any] | None = None
    ids: list[str] | None = None  # the ids written (default: the samples' ids)
    shard_specs: dict[int, FeatureSpec] = field(default_factory=dict)  # another spec for some shards
    metadata: dict[str, Any] = field(default_factory=dict)  # overrides of the shard provenance
    shard_metadata: dict[int, dict[str, Any]] = field(default_factory=dict)  # ... of some shards only
    config: dict[str, Any] = field(default_factory=lambda: {"size": 1})
    record_failures: bool = True  # write an errors-table row per None value
    complete: bool = True
    shard_size: int | None = None  # another shard size than the samples table's
    source: str | None = None
    table_format: str = layout.DEFAULT_FEATURE_FORMAT  # shard files: "arrow" or "parquet"
    edit: Callable[[int, pa.Table], pa.Table] | None = None  # (shard index, built shard) -> shard written

    @property
    def modality(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def extractor(self) -> str:
        return self.name.split(".", 1)[1]


def build_dataset(
    root: Path, samples: Sequence[Sample], tables: Sequence[FakeTable], *, corpus_kind: str = "coco",
    shard_size: int = 5, corpus_options: dict[str, Any] | None = None,
) -> Path:
    """Write the samples table, every feature table and the manifest; returns `root`."""
    table = samples_to_table(samples)
    ids = table.column("sample_id").to_pylist()
    for index, start in enumerate(range(0, max(len(table), 1), shard_size)):
        write_table_atomic(table.slice(start, shard_size), layout.samples_dir(root) / layout.shard_name(index))
    fingerprint = fingerprint_ids(ids)
    splits: dict[str, int] = {}
    for split in table.column("split").to_pylist():
        splits[split] = splits.get(split, 0) + 1
    manifest = Manifest(
        corpus={"kind": corpus_kind, "root": str(root / "corpus"), "split": None, "options": corpus_options or {}},
        samples={"path": layout.SAMPLES_DIR, "rows": len(table), "shard_size": shard_size,
                 "fingerprint": fingerprint, "loader_errors": 0, "splits": splits,
                 "shards": [min(shard_size, len(table) - s) for s in range(0, len(table), shard_size)]},
    )
    order = np.argsort(np.array([s.sample_id for s in samples]), kind="stable")
    for fake in tables:
        manifest.tables[fake.name] = _write_table(root, fake, [samples[i] for i in order], order, fingerprint, shard_size)
    write_manifest(root, manifest)
    return root


def _write_table(root: Path, fake: FakeTable, samples: list[Sample], order: np.ndarray, fingerprint: str,
                 shard_size: int) -> TableEntry:
    provenance = {"table": fake.name, "modality": fake.modality, "extractor": fake.extractor, "config": fake.config,
                  "spec": fake.spec.to_json(), "versions": {"mmdata": "0.1.0"}, "samples_fingerprint": fingerprint}
    ids = fake.ids if fake.ids is not None else [s.sample_id for s in samples]
    values = [fake.values[i] for i in order] if fake.ids is None else list(fake.values)
    intervals = None if fake.intervals is None else ([fake.intervals[i] for i in order] if fake.ids is None else list(fake.intervals))
    errors = []
    shard_size = fake.shard_size or shard_size
    for shard, start in enumerate(range(0, len(ids), shard_size)):
        spec = fake.shard_specs.get(shard, fake.spec)
        builder = FeatureBatchBuilder(spec, {**provenance, "spec": spec.to_json(), **fake.metadata,
                                             **fake.shard_metadata.get(shard, {})})
        for row in range(start, min(start + shard_size, len(ids))):
            builder.add(ids[row], values[row], None if intervals is None else intervals[row])
            if values[row] is None and fake.record_failures:
                errors.append({"table": fake.name, "sample_id": ids[row], "path": None, "stage": "decode",
                               "error_type": "MediaError", "reason": "cannot decode"})
        built = builder.build() if fake.edit is None else fake.edit(shard, builder.build())
        write_table_atomic(built, layout.feature_dir(root, fake.name) / layout.shard_name(shard, fake.table_format))
    if errors:
        write_table_atomic(errors_table(errors), layout.errors_dir(root, fake.name) / layout.shard_name(0))
    return TableEntry(name=fake.name, path=f"{layout.FEATURES_DIR}/{fake.name}", modality=fake.modality,
                      extractor=fake.extractor, config=fake.config, spec=fake.spec.to_json(),
                      versions={"mmdata": "0.1.0"}, rows=len(ids), errors=len(errors), complete=fake.complete,
                      source=fake.source, format=fake.table_format)


# ---- ready-made clean datasets -------------------------------------------------------------------

SPLITS = ("train", "train", "train", "train", "train", "train", "val", "val", "test", "test", "train", "val")


def image_text_samples(n: int = 12) -> list[Sample]:
    """COCO-like samples, one per image, each with 2 captions, spread over train/val/test."""
    return [
        Sample(sample_id=f"{i:012d}", corpus="coco", split=SPLITS[i % len(SPLITS)], group_id=str(i),
               image=f"img/{i:012d}.jpg", captions=(f"a photo number {i}", f"picture {i}"))
        for i in range(n)
    ]


def pooled_table(name: str, samples: Sequence[Sample], dim: int, *, seed: int = 0,
                 transform: Callable[[np.ndarray], np.ndarray] | None = None) -> FakeTable:
    """A pooled float32 table with a deterministic random vector per sample."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(len(samples), dim)).astype(np.float32) * (seed + 1) + seed
    if transform is not None:
        values = transform(values)
    return FakeTable(name, FeatureSpec(dim=dim), [v for v in values])


def mosi_samples(videos: int = 4, segments: int = 3) -> list[Sample]:
    """MOSI-like segments `vid[k]`: 2 s each, 0.5 s apart; one video per fold, labels in [-3, 3]."""
    folds = ("train", "train", "valid", "test", "train", "train")
    out = []
    for v in range(videos):
        for k in range(segments):
            start = 0.5 + 2.5 * k
            out.append(Sample(
                sample_id=f"vid{v}[{k}]", corpus="mosi-raw", split=folds[v % len(folds)], group_id=f"vid{v}",
                audio=f"Raw/Audio/vid{v}.wav", video=f"Raw/Video/vid{v}.mp4", start=start, end=start + 2.0,
                transcript=f"words of segment {k}", label=-3.0 + (v * segments + k) * 0.5,
                extra={"duration": 0.5 + 2.5 * segments},
            ))
    return out


def frames_table(name: str, samples: Sequence[Sample], dim: int, frame_rate: float, *, seed: int = 0,
                 window: float | None = None) -> FakeTable:
    """A sequence table with one row per frame at `frame_rate` over each sample's [start, end]."""
    rng = np.random.default_rng(seed)
    values, intervals = [], []
    window = window if window is not None else 1.0 / frame_rate
    for s in samples:
        count = int(round((s.end - s.start) * frame_rate))
        starts = s.start + np.arange(count) / frame_rate
        intervals.append(np.stack([starts, np.minimum(starts + window, s.end)], axis=1))
        values.append(rng.normal(size=(count, dim)).astype(np.float32) + seed)
    spec = FeatureSpec(dim=dim, kind="sequence", intervals=True, frame_rate=frame_rate, item_axis="time")
    return FakeTable(name, spec, values, intervals)


def clip_table(name: str, samples: Sequence[Sample], dim: int, frame_rate: float, seconds: float) -> FakeTable:
    """A sequence table over whole clips (start/end null): frames at `frame_rate` over [0, `seconds`)."""
    count = int(round(seconds * frame_rate))
    starts = np.arange(count) / frame_rate
    intervals = np.stack([starts, starts + 1.0 / frame_rate], axis=1)
    spec = FeatureSpec(dim=dim, kind="sequence", intervals=True, frame_rate=frame_rate, item_axis="time")
    return FakeTable(name, spec, [np.zeros((count, dim), np.float32) for _ in samples], [intervals] * len(samples))


def aligned_table(name: str, samples: Sequence[Sample], dim: int, steps: int, *, seed: int = 0) -> FakeTable:
    """A table aligned to a common reference: `steps` equal intervals per sample (no frame rate)."""
    rng = np.random.default_rng(seed)
    values, intervals = [], []
    for s in samples:
        edges = np.linspace(s.start, s.end, steps + 1)
        intervals.append(np.stack([edges[:-1], edges[1:]], axis=1))
        values.append(rng.normal(size=(steps, dim)).astype(np.float32) + seed)
    spec = FeatureSpec(dim=dim, kind="sequence", intervals=True, item_axis="word")
    return FakeTable(name, spec, values, intervals, source="text.words")


def with_value(fake: FakeTable, index: int, value: Any, intervals: Any = None) -> FakeTable:
    """A copy of `fake` with sample `index` (in the given samples order) replaced."""
    values = list(fake.values)
    values[index] = value
    out = replace(fake, values=values)
    if intervals is not None:
        ivs = list(fake.intervals or [])
        ivs[index] = intervals
        out = replace(out, intervals=ivs)
    return out
