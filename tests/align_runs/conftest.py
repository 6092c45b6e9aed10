"""A fake CMU-MOSI .csd corpus whose last video has words no COVAREP frame overlaps, extracted in one shard per video."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mmdata.pipeline import extract
from tests.fakes.csd import COVAREP_FILE, COVAREP_ROOT, write_mosi_csd, write_sdk_csd

UNCOVERED = "x9Y_z-1"  # the last samples shard: the words after 2.5 s have no COVAREP frame


def snapshot(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every file of the dataset, hidden ones included."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def gapped_dataset(tmp_path) -> Path:
    """Three videos, one a samples shard; COVAREP of the last one stops at 2.5 s (its words run to 5 s)."""
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    features, intervals = fake.data[COVAREP_FILE][UNCOVERED]
    short = intervals[:, 1] <= 2.5
    write_sdk_csd(fake.root / COVAREP_FILE, COVAREP_ROOT,
                  {**fake.data[COVAREP_FILE], UNCOVERED: (features[short], intervals[short])})
    out = tmp_path / "out"
    extract("csd", fake.root, out, extractors=[], shard_size=1, num_workers=0)
    return out
