"""The `hashed-bow` extractor: a hashed bag of words, no model needed.

Its tokens (`bow_tokens`) are lowercase word runs with their combining marks, and single CJK
ideographs and kana; each is counted into a bucket by a crc32 stable across runs and machines. Which
characters are letters and marks is Python's Unicode database, whose version the table records
(`versions["unicode"]`): another Python may know characters this one does not.
"""
from __future__ import annotations

import functools
import re
import sys
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from mmdata.features.base import register_extractor
from mmdata.features.text_base import TextExtractor, TextLevel, check_level, l2_normalize
from mmdata.store.metadata import FeatureSpec

# Tokens: lowercase word runs; CJK ideographs and kana are one token each (Chinese has no spaces): kana,
# the unified ideographs and extension A, compatibility ideographs, half-width katakana, and the
# supplementary and tertiary ideographic planes (extensions B to I, as Cantonese and names use them).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003ffff"


@functools.cache
def token_pattern() -> re.Pattern[str]:
    """A CJK ideograph or kana, or a run of word characters and the combining marks within it.

    `\\w` leaves out combining marks (Unicode category M): the vowel signs and viramas of Devanagari
    and the other Indic scripts, the accents of a decomposed text. Without them a Hindi word would
    fall apart into its consonants. (Built on first use: listing the marks takes a fraction of a second.)
    """
    marks = [c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)).startswith("M")]
    ranges, start = [], marks[0]
    for previous, code in zip(marks, marks[1:] + [-1]):
        if code != previous + 1:
            ranges.append(re.escape(chr(start)) + ("" if previous == start else "-" + re.escape(chr(previous))))
            start = code
    return re.compile(rf"[{_CJK}]|[^\W{_CJK}](?:[^\W{_CJK}]|[{''.join(ranges)}])*")


def bow_tokens(text: str) -> list[str]:
    """The hashed-bow tokens of a text: `token_pattern()` matches in the lowercased text, in Unicode
    normal form NFC (so that a precomposed 'é' and an 'e' followed by a combining accent are one token)."""
    return token_pattern().findall(unicodedata.normalize("NFC", text.lower()))


def hash_token(token: str, dim: int) -> int:
    """Bucket of a token: crc32 of its UTF-8 bytes modulo `dim` (stable across runs and machines)."""
    return zlib.crc32(token.encode("utf-8")) % dim


@dataclass(frozen=True)
class HashedBowConfig:
    dim: int = 1024
    #: 'tf' counts occurrences, 'binary' marks presence; either way each text's vector is L2-normalized.
    weighting: Literal["tf", "binary"] = "tf"
    level: TextLevel = "sample"

    def __post_init__(self) -> None:
        check_level(self.level)
        if not 1 <= self.dim <= 65536:
            raise ValueError(f"dim must be in [1, 65536], got {self.dim}")


@register_extractor
class HashedBow(TextExtractor):
    """Hashed bag of words, no model needed.

    Feature definition: each text's tokens (`bow_tokens`) are counted into `dim` buckets
    (`hash_token`); with weighting='binary' a count becomes 1; the vector is L2-normalized (a text
    without tokens gives zeros). level='sample' averages a sample's text vectors and re-normalizes.
    """

    name: ClassVar[str] = "hashed-bow"
    config_type: ClassVar[type] = HashedBowConfig

    def output_spec(self) -> FeatureSpec:
        return self.sequence_or_pooled(self.config.dim)

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        # The tokens depend on which characters Python's Unicode database calls letters and marks.
        out["versions"]["unicode"] = unicodedata.unidata_version
        return out

    @property
    def normalized(self) -> bool:
        return True

    def embed(self, texts: list[str], labels: Sequence[str] | None = None) -> np.ndarray:
        dim = self.config.dim
        buckets = [[hash_token(t, dim) for t in bow_tokens(text)] for text in texts]
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), [len(b) for b in buckets])
        cols = np.fromiter((c for b in buckets for c in b), dtype=np.int64, count=len(rows))
        counts = np.bincount(rows * dim + cols, minlength=len(texts) * dim).reshape(len(texts), dim)
        if self.config.weighting == "binary":
            counts = np.minimum(counts, 1)
        return l2_normalize(counts.astype(np.float32))
