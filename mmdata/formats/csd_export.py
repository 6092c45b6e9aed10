"""`export_csd`: write a dataset's temporal tables back as `.csd` files the CMU-MultimodalSDK reads.

One file per table, one key per sample (`vid` for whole videos, `vid[i]` for segments, the SDK's
aligned form), rows = the sample's feature rows and intervals. A table read from a .csd keeps its
file name, root name and metadata; other tables (`audio.covarep@text.words`, extractor outputs)
get `<table>.csd` with the table name as root. Word tables are written as bytes of shape (T, 1)
from their `words` column. When the samples are labelled segments (start, end, label), a label
file is written too: one key per video, one row per segment in segment order (the original label
file's name, root and metadata when the dataset came from `.csd` files), or, when the original
label file was one the SDK had aligned, one key `vid[i]` of one row per segment as it was, so the
segment ids (gaps included) survive a round trip. Tables are read one shard at a time, so memory
stays bounded.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.errors import DatasetError
from mmdata.formats.csd import write_csd
from mmdata.store import layout
from mmdata.store.shards import read_shard
from mmdata.store.reader import Dataset, open_dataset

DEFAULT_LABELS_ROOT = "labels"


def export_csd(dataset_dir: str | Path, csd_dir: str | Path, *, tables: list[str] | None = None,
               labels: bool = True) -> list[Path]:
    """Write temporal tables (default: all with intervals) and segment labels as `.csd` files.

    Example:
        >>> export_csd("out/mosi", "out/mosi-csd", tables=["audio.covarep@text.words"])

    Raises:
        DatasetError: a named table is not a sequence table with intervals.
    """
    dataset = open_dataset(dataset_dir)
    csd_dir = Path(csd_dir)
    names = tables or [n for n in dataset.table_names if _is_temporal(dataset, n)]
    written = []
    for name in names:
        if not _is_temporal(dataset, name):
            raise DatasetError(f"table {name!r} is not a sequence table with intervals ({dataset.spec(name)}); "
                               "a .csd needs per-row [start, end] intervals")
        entry = dataset.entry(name)
        from_csd = entry.extractor == "precomputed" and "root_name" in entry.config
        root = entry.config["root_name"] if from_csd else name
        metadata = {k: v for k, v in entry.config.get("metadata", {}).items() if k != "uuid"} if from_csd else {
            "computational sequence description": f"mmdata table {name} ({entry.source or entry.extractor})"}
        path = csd_dir / (entry.config["file"] if from_csd else f"{name}.csd")
        shape = tuple(entry.config.get("feature_shape") or ()) if from_csd else ()
        written.append(write_csd(path, root, _entries(dataset, name, shape), metadata))
    if labels:
        label_path = _export_labels(dataset, csd_dir)
        if label_path is not None:
            written.append(label_path)
    return written


def _entries(dataset: Dataset, name: str, feature_shape: tuple[int, ...]) -> Iterator[tuple[str, Any, np.ndarray]]:
    for shard in layout.shard_files(dataset.table_dir(name)):
        table = read_shard(shard)
        words = table.column("words").to_pylist() if "words" in table.column_names else None
        features = table.column("feature").to_pylist()
        intervals = table.column("intervals").to_pylist()
        for k, sample_id in enumerate(table.column("sample_id").to_pylist()):
            if features[k] is None:
                continue
            ivs = np.asarray(intervals[k], dtype=np.float64).reshape(-1, 2)
            if words is not None:
                values: Any = np.asarray(words[k] or [], dtype=object).reshape(-1, 1)
            else:
                values = np.asarray(features[k], dtype=np.float32).reshape(len(ivs), -1)
                if feature_shape and int(np.prod(feature_shape)) == values.shape[1]:
                    values = values.reshape(len(ivs), *feature_shape)
            yield sample_id, values, ivs


def _export_labels(dataset: Dataset, csd_dir: Path) -> Path | None:
    import json

    samples = dataset.samples_table(columns=["sample_id", "group_id", "start", "end", "label", "extra"]).to_pylist()
    rows = [s for s in samples if s["label"] is not None and s["start"] is not None and s["end"] is not None]
    if not rows:
        return None
    # per video: (segment order, sample id, label values, [start, end])
    by_video: dict[str, list[tuple[float, str, list[float], list[float]]]] = {}
    for s in rows:
        extra = json.loads(s["extra"]) if s["extra"] else {}
        order = extra.get("segment", s["start"])
        values = extra.get("labels") or [s["label"]]
        by_video.setdefault(s["group_id"], []).append((order, s["sample_id"], values, [s["start"], s["end"]]))
    source = dataset.manifest.extra.get("loader", {}).get("labels", {})
    root = source.get("root_name", DEFAULT_LABELS_ROOT)
    metadata = {k: v for k, v in source.get("metadata", {}).items() if k != "uuid"}
    ordered = [(video, sorted(segments, key=lambda r: r[0])) for video, segments in sorted(by_video.items())]
    if source.get("keys") == "segments":
        entries: Iterator[tuple[str, Any, np.ndarray]] = (
            (sample_id, np.asarray([values], dtype=np.float32), np.asarray([interval]))
            for _, segments in ordered for _, sample_id, values, interval in segments)
    else:
        entries = ((video, np.asarray([r[2] for r in segments], dtype=np.float32), np.asarray([r[3] for r in segments]))
                   for video, segments in ordered)
    return write_csd(csd_dir / source.get("file", f"{DEFAULT_LABELS_ROOT}.csd"), root, entries, metadata)


def _is_temporal(dataset: Dataset, name: str) -> bool:
    spec = dataset.spec(name)
    return spec.kind == "sequence" and spec.intervals
