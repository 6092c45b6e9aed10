"""A base for the tests' fake extractors: decode does the test's work, compute passes it on."""
from __future__ import annotations

from typing import Any, ClassVar

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
