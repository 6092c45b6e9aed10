"""The text extractor contract: a sample's texts in, one vector per sample or per caption out.

`TextExtractor` decodes a sample's texts (`records.text_items`), refusing a sample without text or
with a blank one, and regroups the vectors its subclasses' `embed` gives for a batch's flat list of
texts; the helpers here (labels naming samples in messages, level checks, normalization) are shared
by the text extractors (`mmdata.features.text_minilm`, `text_bow`, `text_tokens`).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mmdata.errors import MediaError
from mmdata.features.base import Extractor
from mmdata.records import BLANK_CATEGORIES, text_items
from mmdata.store.metadata import FeatureSpec

TextLevel = Literal["sample", "caption"]


def is_blank_text(text: str) -> bool:
    """True when `text` (in NFC) holds nothing but `BLANK_CATEGORIES` characters: what `str.strip()`
    leaves, and also zero-width and control characters, which would give a vector of no content.
    Emoji and punctuation are content."""
    return all(unicodedata.category(c) in BLANK_CATEGORIES for c in unicodedata.normalize("NFC", text))


class SampleTexts(list):
    """A sample's texts (`decode`'s output) with the sample's id, so that warnings can name it."""

    def __init__(self, texts: Sequence[str], sample_id: str | None = None, captions: bool = True):
        super().__init__(texts)
        self.sample_id = sample_id
        #: the texts are captions (else: a transcript)
        self.captions = captions


def text_labels(items: Sequence[Sequence[str]], level: TextLevel) -> list[str]:
    """One label per text of a batch, for messages: the sample id (`SampleTexts.sample_id`, else the
    item's position in the batch) with the caption index at caption level ("'s1' caption 2")."""
    labels = []
    for position, texts in enumerate(items):
        sample = getattr(texts, "sample_id", None)
        name = repr(sample) if sample is not None else f"item {position} of the batch"
        for index in range(len(texts)):
            labels.append(f"{name} caption {index}" if level == "caption" and getattr(texts, "captions", True)
                          else name)
    return labels


def first_labels(labels: Sequence[str], where: Sequence[bool], limit: int = 5) -> str:
    """The first `limit` distinct labels where `where` is true, comma-separated, '...' past them."""
    chosen = list(dict.fromkeys(label for label, hit in zip(labels, where) if hit))
    return ", ".join(chosen[:limit]) + (", ..." if len(chosen) > limit else "")


def check_level(level: str) -> None:
    """Raise ValueError unless `level` is 'sample' or 'caption'."""
    if level not in ("sample", "caption"):
        raise ValueError(f"level must be 'sample' or 'caption', got {level!r}")


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm; all-zero rows stay zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.finfo(np.float32).tiny)


def group_per_sample(vectors: np.ndarray, counts: list[int], *, level: TextLevel, normalize: bool) -> list[np.ndarray]:
    """Split the (sum(counts), dim) text vectors of a batch back into samples.

    level='caption': one (count_i, dim) array per sample. level='sample': the mean of each sample's rows
    (re-normalized when `normalize`). Every count must be >= 1.
    """
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    if level == "caption":
        return [vectors[s : s + n] for s, n in zip(starts, counts)]
    means = np.add.reduceat(vectors.astype(np.float32, copy=False), starts, axis=0) / np.asarray(counts)[:, None]
    if normalize:
        means = l2_normalize(means)
    return list(means.astype(np.float32, copy=False))


class TextExtractor(Extractor):
    """Texts of a sample in, one vector per sample (or per caption) out; subclasses embed a flat list."""

    modality: ClassVar = "text"
    decode_in_workers: ClassVar[bool] = False

    @property
    def table_name(self) -> str:
        base = f"{self.modality}.{self.name}"
        return f"{base}.caption" if self.config.level == "caption" else base

    def sequence_or_pooled(self, dim: int | None, dtype: str = "float32") -> FeatureSpec:
        if self.config.level == "caption":
            return FeatureSpec(dim=dim, dtype=dtype, kind="sequence", item_axis="caption")  # type: ignore[arg-type]
        return FeatureSpec(dim=dim, dtype=dtype)  # type: ignore[arg-type]

    def decode(self, row: dict[str, Any], corpus_root: Path) -> SampleTexts:
        texts = text_items(row)
        if not texts:
            raise MediaError(
                f"sample {row['sample_id']!r} has no text: no captions and no transcript; "
                "a text feature needs at least one"
            )
        for index, text in enumerate(texts):
            if not isinstance(text, str) or is_blank_text(text):
                what = f"caption {index}" if row.get("captions") else "the transcript"
                raise MediaError(
                    f"sample {row['sample_id']!r}: {what} is {text!r:.80}; expected a non-blank string; "
                    "fix or remove it in the corpus (blank: only whitespace, control or zero-width characters)"
                )
        return SampleTexts(texts, row.get("sample_id"), captions=bool(row.get("captions")))

    def compute(self, items: list[list[str]]) -> list[np.ndarray]:
        flat = [text for texts in items for text in texts]
        # all texts of the batch in one call
        vectors = self.embed(flat, labels=text_labels(items, self.config.level))
        return group_per_sample(vectors, [len(t) for t in items], level=self.config.level, normalize=self.normalized)

    @property
    def normalized(self) -> bool:
        return False

    def embed(self, texts: list[str], labels: Sequence[str] | None = None) -> np.ndarray:
        """(len(texts), dim) float32 vectors; `labels` name each text's sample in messages."""
        raise NotImplementedError
