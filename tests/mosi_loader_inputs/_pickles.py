"""Small MMSA / MulT pickles written by the tests of this folder (real numpy arrays, real files)."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np


def mmsa_split(tag: str, n: int, seed: int = 0, length: int = 4, dim: int = 3) -> dict[str, Any]:
    """One MMSA split of `n` samples: string ids `<tag>vid<i>$_$<i>`, audio (n, length, dim), lengths, labels."""
    rng = np.random.default_rng(seed)
    return {
        "id": [f"{tag}vid{i}$_${i}" for i in range(n)],
        "raw_text": [f"{tag} text {i}" for i in range(n)],
        "audio": rng.standard_normal((n, length, dim)).astype(np.float32),
        "audio_lengths": np.array([1 + i % length for i in range(n)], dtype=np.int64),
        "regression_labels": (np.arange(n, dtype=np.float32) / 10 - 0.2).astype(np.float32),
    }


def write_pickle(folder: Path, data: Any, protocol: int = 4, name: str = "data.pkl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    return path


def mmsa_file(folder: Path, protocol: int = 4, **splits: dict[str, Any]) -> Path:
    """An MMSA pickle of the given splits (default: train 3, valid 2, test 2)."""
    data = splits or {"train": mmsa_split("tr", 3, 1), "valid": mmsa_split("va", 2, 2), "test": mmsa_split("te", 2, 3)}
    return write_pickle(folder, data, protocol)
