"""Extractors of the extension tests, as a user's module would define them (top level, registered by
decorator), so that decode workers could import them too."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmdata.features.base import Extractor, register_extractor
from mmdata.features.image_stats import ColorHistogram
from mmdata.store.metadata import FeatureSpec


@register_extractor
class VersionedHist(ColorHistogram):
    """color-hist under another name, with a version of its own (changed by the tests)."""

    name: ClassVar[str] = "test-versioned-hist"
    version: ClassVar[str | None] = "1"


@dataclass(frozen=True)
class LossyConfig:
    #: What compute returns for the items whose sample id ends with '0' (the others get [1, 2]).
    bad: str = "fraction"


#: Values an int32 table cannot store as they are, by `LossyConfig.bad`.
LOSSY_VALUES: dict[str, Any] = {
    "fraction": np.array([0.7, 2.9]),
    "nan": np.array([3e10, np.nan]),
    "out-of-range": np.array([2**31, 0], dtype=np.int64),
    "bool": np.array([True, False]),
    "complex": np.array([1 + 2j, 0]),
    "strings": ["1.5", "2"],
}


@register_extractor
class LossyInts(Extractor):
    """int32 features of dim 2; the items whose sample id ends with '0' get values int32 cannot hold."""

    name: ClassVar[str] = "test-lossy-ints"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = LossyConfig
    safe_decoder: ClassVar[bool] = True

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=2, dtype="int32")

    def decode(self, row: dict[str, Any], corpus_root: Path) -> str:
        return row["sample_id"]

    def compute(self, items: list[str]) -> list[Any]:
        return [LOSSY_VALUES[self.config.bad] if sid.endswith("0") else np.array([1.0, 2.0]) for sid in items]


@dataclass(frozen=True)
class PathAndPairsConfig:
    lut: Path = Path("/models/lut.npy")
    ranges: tuple[tuple[int, int], ...] = ((0, 10), (10, 20))
    weights: tuple[float, ...] = (0.5, 0.5)
    names: dict[str, tuple[int, ...]] = field(default_factory=lambda: {"a": (1, 2)})


@register_extractor
class PathAndPairs(Extractor):
    """A config of a Path, nested tuples and a dict of tuples; one constant feature per sample."""

    name: ClassVar[str] = "test-path-and-pairs"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = PathAndPairsConfig
    safe_decoder: ClassVar[bool] = True

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=1)

    def decode(self, row: dict[str, Any], corpus_root: Path) -> str:
        return row["sample_id"]

    def compute(self, items: list[str]) -> list[np.ndarray]:
        return [np.ones(1, np.float32) for _ in items]


class SpecOf(Extractor):
    """Returns the spec it is given (`spec`, set on a subclass); counts its compute calls."""

    modality: ClassVar = "image"
    safe_decoder: ClassVar[bool] = True
    spec: ClassVar[Any] = None
    computed: ClassVar[int] = 0

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(**self.spec)

    def decode(self, row: dict[str, Any], corpus_root: Path) -> str:
        return row["sample_id"]

    def compute(self, items: list[str]) -> list[np.ndarray]:
        type(self).computed += len(items)
        return [np.ones(2, np.float32) for _ in items]


@register_extractor
class DimZero(SpecOf):
    name: ClassVar[str] = "test-dim-zero"
    spec: ClassVar[Any] = {"dim": 0}


@register_extractor
class PooledIntervals(SpecOf):
    name: ClassVar[str] = "test-pooled-intervals"
    spec: ClassVar[Any] = {"dim": 2, "intervals": True}
