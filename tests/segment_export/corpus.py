"""A small whole-video .csd corpus for the segment/export tests: words, COVAREP at 100 Hz (counting
features, so rows can be told apart), FACET at 30 Hz with (T, 2, 2) features, and label segments
(an SDK-ordered file: not sorted by start, overlapping, some past the end of their video)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mmdata.alignment import segment_dataset
from mmdata.pipeline import extract
from tests.fakes.csd import (
    COVAREP_FILE, COVAREP_ROOT, FACET_FILE, FACET_ROOT, LABELS_FILE, LABELS_ROOT, SDK_METADATA, WORDS_FILE, WORDS_ROOT,
    write_sdk_csd,
)

DURATION = {"vA": 6.0, "vB": 3.0}
WORDS = {
    "vA": [("sp", 0.0, 0.5), ("i", 0.5, 1.0), ("loved", 1.0, 2.5), ("it", 3.0, 4.0), ("good", 4.0, 6.0)],
    "vB": [("ok", 0.0, 1.0), ("sp", 1.0, 1.5), ("fine", 1.5, 3.0)],
}
# In file order, as the SDK numbers them: vA[3] starts before vA[2] and overlaps vA[0] and vA[1].
SEGMENTS = {
    "vA": [(0.0, 2.0, 1.5), (2.0, 4.0, -0.5), (4.0, 6.2, 2.0), (1.0, 3.0, 0.5)],
    "vB": [(0.0, 1.5, 0.0), (1.5, 3.0, -1.0)],
}
METADATA = {**SDK_METADATA, "dataset name": "CMU-MOSI"}


def counting(duration: float, rate: float, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames k = 0.. of 1/rate s; feature j of frame k is k * (j + 1)."""
    k = np.arange(int(round(duration * rate)))
    return np.stack([k * (j + 1) for j in range(dim)], 1).astype(np.float32), np.stack([k / rate, (k + 1) / rate], 1)


def label_arrays(segments: list[tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([[v] for *_, v in segments], np.float32), np.array([[a, b] for a, b, _ in segments])


def write_labels(path: Path, segments: dict[str, list[tuple[float, float, float]]], root: str = LABELS_ROOT) -> Path:
    return write_sdk_csd(path, root, {v: label_arrays(s) for v, s in segments.items()}, METADATA)


def write_videos(root: Path) -> Path:
    """The whole-video sequences (no label file in the folder)."""
    words = {v: (np.array([[w.encode()] for w, *_ in ws], "S8"), np.array([[a, b] for _, a, b in ws]))
             for v, ws in WORDS.items()}
    write_sdk_csd(root / WORDS_FILE, WORDS_ROOT, words, METADATA)
    write_sdk_csd(root / COVAREP_FILE, COVAREP_ROOT, {v: counting(d, 100, 3) for v, d in DURATION.items()}, METADATA)
    facet = {}
    for v, d in DURATION.items():
        features, intervals = counting(d, 30, 4)
        facet[v] = (features.reshape(-1, 2, 2), intervals)
    write_sdk_csd(root / FACET_FILE, FACET_ROOT, facet, METADATA)
    return root


def videos_dataset(tmp_path: Path) -> Path:
    """`extract csd -o labels=none` of the whole videos."""
    out = tmp_path / "videos"
    extract("csd", write_videos(tmp_path / "csd"), out, extractors=[], corpus_options={"labels": "none"}, num_workers=0)
    return out


def segmented(tmp_path: Path, segments: dict[str, list[tuple[float, float, float]]] | None = None,
              label_file: str = LABELS_FILE, root: str = LABELS_ROOT) -> tuple[Path, object]:
    """(segment output, its report) of the whole videos cut into `segments` (default SEGMENTS), from a label
    file of that name and root name."""
    labels = write_labels(tmp_path / "labels" / label_file, segments or SEGMENTS, root)
    report = segment_dataset(videos_dataset(tmp_path), tmp_path / "segments", labels)
    return tmp_path / "segments", report
