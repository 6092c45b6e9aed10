"""Test extractors for the card's code examples: one that fails on every item, and two whose rows
have no fixed dim (a vector of word lengths per sample; one such vector per caption), like `tokens`."""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmdata.errors import MediaError
from mmdata.features.base import Extractor, NoConfig, register_extractor
from mmdata.store.metadata import FeatureSpec


@register_extractor
class FailsAlways(Extractor):
    """Pooled, dim 4; every item fails in decode (its table's name sorts before `image.pixel-stats`)."""

    name: ClassVar[str] = "test-fails-always"
    modality: ClassVar[str] = "image"
    config_type: ClassVar[type] = NoConfig

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=4)

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        raise MediaError(f"{row['image']}: cannot decode (a test extractor that fails on every item)")

    def compute(self, items: list[Any]) -> list[Any]:
        return [np.zeros(4, np.float32) for _ in items]


@register_extractor
class WordLengths(Extractor):
    """Pooled, no fixed dim: the int32 lengths of the words of a sample's captions, joined."""

    name: ClassVar[str] = "test-word-lengths"
    modality: ClassVar[str] = "text"
    config_type: ClassVar[type] = NoConfig

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=None, dtype="int32")

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        return " ".join(row["captions"])

    def compute(self, items: list[str]) -> list[Any]:
        return [np.array([len(w) for w in text.split()], np.int32) for text in items]


@register_extractor
class CaptionWordLengths(Extractor):
    """A sequence over captions, no fixed dim: per caption, the int32 lengths of its words."""

    name: ClassVar[str] = "test-caption-word-lengths"
    modality: ClassVar[str] = "text"
    config_type: ClassVar[type] = NoConfig

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=None, dtype="int32", kind="sequence", item_axis="caption")

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        return list(row["captions"])

    def compute(self, items: list[list[str]]) -> list[Any]:
        return [[np.array([len(w) for w in caption.split()], np.int32) for caption in captions] for captions in items]
