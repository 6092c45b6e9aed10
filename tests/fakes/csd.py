"""Fake CMU-MOSI-style corpora in their native formats.

`.csd` files are written with h5py directly, in the SDK's layout (root group named differently from
the file, data/<vid>/features|intervals, metadata as one-element variable-length strings holding
JSON, words as bytes of shape (T, 1) with `sp` pauses); processed pickles are written with
`pickle.dump` of dicts of numpy arrays, as the MMSA and MulT releases are.
"""
from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tests.fakes import ExpectedSample, FakeCorpus, register_fake

WORDS_FILE = "CMU_MOSI_TimestampedWords.csd"
WORDS_ROOT = "CMU_MOSI_ModifiedTimestampedWords"  # differs from the file name, as in the real release
COVAREP_FILE, COVAREP_ROOT, COVAREP_DIM = "CMU_MOSI_COVAREP.csd", "COAVAREP", 4
FACET_FILE, FACET_ROOT, FACET_DIM = "CMU_MOSI_Visual_Facet_41.csd", "FACET 4.1", 3
LABELS_FILE, LABELS_ROOT = "CMU_MOSI_Opinion_Labels.csd", "Opinion Segment Labels"
FOLDS = {"train": ["abc"], "valid": ["abcd"], "test": ["x9Y_z-1"]}
# video -> [(word, start, end)], contiguous; segments (label intervals) end on word boundaries
WORDS = {
    "abc": [("sp", 0.0, 0.5), ("i", 0.5, 1.0), ("loved", 1.0, 2.0), ("it", 2.0, 3.0),
            ("sp", 3.0, 3.25), ("really", 3.25, 4.5), ("good", 4.5, 6.0)],
    "abcd": [("not", 0.5, 1.5), ("sp", 1.5, 2.0), ("great", 2.0, 4.0)],
    "x9Y_z-1": [("so", 0.0, 1.0), ("so", 1.0, 2.5), ("sp", 2.5, 3.0), ("bad", 3.0, 5.0)],
}
SEGMENTS = {  # video -> [(start, end, sentiment)]
    "abc": [(0.0, 3.0, 2.5), (3.0, 6.0, 1.25)],
    "abcd": [(0.5, 4.0, -1.4)],
    "x9Y_z-1": [(0.0, 2.5, 0.0), (2.5, 5.0, -3.0)],
}
DURATION = {"abc": 6.0, "abcd": 4.0, "x9Y_z-1": 5.0}
SDK_METADATA = {
    "computational sequence description": "fake", "dimension names": None, "computational sequence version": "1.0",
    "alignment compatible": True, "dataset name": "CMU-MOSI", "dataset version": "1.0", "creator": "tests",
    "contact": "tests@example.org", "featureset bib citation": "", "dataset bib citation": "",
}


@dataclass
class FakeCsd:
    """What a fake .csd corpus holds, for assertions beyond the contract."""

    root: Path
    files: dict[str, Path]
    data: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)  # file -> vid -> arrays


def write_sdk_csd(path: Path, root_name: str, data: dict[str, tuple[Any, Any]], metadata: dict[str, Any] | None = None,
                  *, plain: tuple[str, ...] = ()) -> Path:
    """A .csd in the SDK's layout; metadata keys in `plain` hold a plain string instead of JSON."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        root = h5.create_group(root_name)
        group = root.create_group("data")
        for vid, (features, intervals) in data.items():
            entry = group.create_group(vid)
            entry.create_dataset("features", data=features)
            entry.create_dataset("intervals", data=intervals)
        meta = root.create_group("metadata")
        for key, value in {"root name": root_name, **(metadata if metadata is not None else SDK_METADATA)}.items():
            meta.create_dataset(key, (1,), dtype=h5py.special_dtype(vlen=str))[0] = value if key in plain else json.dumps(value)
    return path


def frames(duration: float, rate: float, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Regular frames over [0, duration): features (T, dim) float32, intervals (T, 2)."""
    count = int(round(duration * rate))
    starts = np.arange(count) / rate
    intervals = np.stack([starts, starts + 1 / rate], axis=1)
    features = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return features, intervals


def word_arrays(vid: str) -> tuple[np.ndarray, np.ndarray]:
    words = WORDS[vid]
    return (np.array([w.encode() for w, _, _ in words], dtype="S12").reshape(-1, 1),
            np.array([[s, e] for _, s, e in words], dtype=np.float64))


def write_mosi_csd(root: Path, *, labels: bool = True, videos: tuple[str, ...] = tuple(WORDS)) -> FakeCsd:
    """Words (root name != file name, plain-string description), COVAREP at 100 Hz, FACET at 30 Hz, labels."""
    fake = FakeCsd(root, {})
    contents = {
        WORDS_FILE: (WORDS_ROOT, {v: word_arrays(v) for v in videos}),
        COVAREP_FILE: (COVAREP_ROOT, {v: frames(DURATION[v], 100, COVAREP_DIM, i) for i, v in enumerate(videos)}),
        FACET_FILE: (FACET_ROOT, {v: frames(DURATION[v], 30, FACET_DIM, 10 + i) for i, v in enumerate(videos)}),
    }
    if labels:
        contents[LABELS_FILE] = (LABELS_ROOT, {
            v: (np.array([[s] for _, _, s in SEGMENTS[v]], np.float32), np.array([[a, b] for a, b, _ in SEGMENTS[v]]))
            for v in videos})
    for name, (root_name, data) in contents.items():
        metadata = {**SDK_METADATA, "computational sequence description": f"fake {root_name}"}
        fake.files[name] = write_sdk_csd(root / name, root_name, data, metadata,
                                         plain=("computational sequence description",) if name == WORDS_FILE else ())
        fake.data[name] = data
    return fake


def transcript(vid: str, start: float = 0.0, end: float = float("inf")) -> str:
    return " ".join(w for w, s, e in WORDS[vid] if w != "sp" and s >= start - 1e-9 and e <= end + 1e-9)


def _garble(path: Path) -> str:
    path.write_bytes(b"this is not an HDF5 file")
    return str(path)


@register_fake("csd", "segments")
def write_fake_csd_segments(root: Path) -> FakeCorpus:
    """Three videos, five labelled segments, folds.json: samples are segments `vid[i]`."""
    fake = write_mosi_csd(root)
    (root / "folds.json").write_text(json.dumps(FOLDS))
    split_of = {v: s for s, vids in FOLDS.items() for v in vids}
    expected = {f"{v}[{i}]": ExpectedSample(split=split_of[v], transcript=transcript(v, a, b))
                for v, segs in SEGMENTS.items() for i, (a, b, _) in enumerate(segs)}
    return FakeCorpus("csd", root, fake.files[LABELS_FILE], expected, options={"folds": "folds.json"},
                      corrupt=lambda: _garble(fake.files[LABELS_FILE]))


@register_fake("csd", "videos")
def write_fake_csd_videos(root: Path) -> FakeCorpus:
    """No label file: samples are whole videos."""
    fake = write_mosi_csd(root, labels=False)
    expected = {v: ExpectedSample(transcript=transcript(v)) for v in WORDS}
    return FakeCorpus("csd", root, fake.files[WORDS_FILE], expected, corrupt=lambda: _garble(fake.files[COVAREP_FILE]))


# --- processed pickles ----------------------------------------------------------------------------

MMSA_SIZES = {"train": 3, "valid": 1, "test": 2}
MMSA_DIMS = {"audio": (7, 5), "vision": (4, 3), "text": (6, 8)}  # key -> (L, D)


def mmsa_split(split: str, n: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    ids = [f"vid{split}{k // 2}$_${k % 2 + 1}" for k in range(n)]
    part: dict[str, Any] = {"id": ids, "raw_text": [f"{split} text {k}" for k in range(n)],
                            "regression_labels": rng.uniform(-3, 3, n).astype(np.float32),
                            "annotations": ["Positive"] * n, "classification_labels": np.full(n, 2.0, np.float32)}
    for key, (length, dim) in MMSA_DIMS.items():
        part[key] = rng.normal(size=(n, length, dim)).astype(np.float32)
    part["audio_lengths"] = np.array([min(length, 3 + k) for k, length in enumerate([MMSA_DIMS["audio"][0]] * n)])
    part["vision_lengths"] = np.array([1 + k % MMSA_DIMS["vision"][0] for k in range(n)])
    tokens = rng.integers(100, 2000, size=(n, MMSA_DIMS["text"][0]))
    mask = (np.arange(MMSA_DIMS["text"][0])[None, :] < (3 + np.arange(n) % 3)[:, None]).astype(np.int64)
    part["text_bert"] = np.stack([tokens * mask, mask, np.zeros_like(mask)], axis=1).astype(np.float32)
    return part


def write_mmsa_pickle(path: Path) -> dict[str, Any]:
    data = {s: mmsa_split(s, n, i) for i, (s, n) in enumerate(MMSA_SIZES.items())}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(data, f)
    return data


def mult_split(split: str, n: int, seed: int, length: int = 5) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    ids = np.array([[f"v{split}{k}".encode(), f"{1.5 * k:.3f}".encode(), f"{1.5 * k + 1.25:.3f}".encode()]
                    for k in range(n)])
    audio = rng.normal(size=(n, length, 5)).astype(np.float32)
    audio[0, 0, 1] = -np.inf  # the released MOSI audio holds -inf
    return {"vision": rng.normal(size=(n, length, 20)).astype(np.float32),
            "text": rng.normal(size=(n, length, 300)).astype(np.float32), "audio": audio,
            "labels": rng.uniform(-3, 3, size=(n, 1, 1)).astype(np.float32), "id": ids}


def write_mult_pickle(path: Path) -> dict[str, Any]:
    data = {s: mult_split(s, n, i) for i, (s, n) in enumerate(MMSA_SIZES.items())}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=2)  # the old releases are protocol-2 pickles
    return data


def _truncate(path: Path) -> str:
    path.write_bytes(path.read_bytes()[:100])
    return str(path)


@register_fake("mmsa")
def write_fake_mmsa(root: Path) -> FakeCorpus:
    path = root / "Processed" / "unaligned_50.pkl"
    data = write_mmsa_pickle(path)
    expected = {sid: ExpectedSample(split=s, transcript=part["raw_text"][k])
                for s, part in data.items() for k, sid in enumerate(part["id"])}
    return FakeCorpus("mmsa", root, path, expected, corrupt=lambda: _truncate(path))


@register_fake("mult")
def write_fake_mult(root: Path) -> FakeCorpus:
    path = root / "mosi_data_noalign.pkl"
    data = write_mult_pickle(path)
    expected = {"_".join(v.decode() for v in row): ExpectedSample(split=s) for s, part in data.items() for row in part["id"]}
    return FakeCorpus("mult", root, path, expected, corrupt=lambda: _truncate(path))
