"""Fake extractors of the tests: a base whose decode does the test's work while compute passes it on,
and a probe of the batches compute is given."""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmdata.features.base import Extractor
from mmdata.store.metadata import FeatureSpec


class PassThrough(Extractor):
    """Pooled `dim`-d features: whatever `decode` returns per item, unchanged by `compute`.

    Subclasses set `name`, `modality`, `config_type`, `dim` and `decode`. They live in importable
    modules (not in `__main__`), so worker processes and Ray tasks can unpickle them.
    """

    dim: ClassVar[int] = 1

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=self.dim)

    def compute(self, items: list[Any]) -> list[Any]:
        return items


class BatchProbe(Extractor):
    """Weight-free; the feature of an item is (size of the batch `compute` got, its place in it)."""

    name: ClassVar[str] = "batch-probe"
    modality: ClassVar = "image"

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=2)

    def decode(self, row: dict[str, Any], corpus_root: Path) -> str:
        return row["sample_id"]

    def compute(self, items: list[str]) -> list[np.ndarray]:
        return [np.array([len(items), i], dtype=np.float32) for i in range(len(items))]
