"""The text extractor contract: a sample's texts in, one vector per sample or per caption out.

`TextExtractor` decodes a sample's texts (`records.text_items`), refusing a sample without text or
with a blank one or one that is not Unicode text, warns about HTML character references (texts are
read as written), and regroups the vectors its subclasses' `embed` gives for a batch's flat list of
texts; the helpers here (labels naming samples in messages, level checks, normalization) are shared
by the text extractors (`mmdata.features.text_minilm`, `text_bow`, `text_tokens`).
"""
from __future__ import annotations

import html.entities
import logging
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mmdata.errors import MediaError
from mmdata.features.base import Extractor
from mmdata.records import BLANK_CATEGORIES, text_items
from mmdata.store.metadata import FeatureSpec

log = logging.getLogger(__name__)

TextLevel = Literal["sample", "caption"]

#: An HTML character reference closed by ';' (`&amp;`, `&#39;`, `&#x27;`), as some corpora ship their texts
#: (Flickr30K's `&amp;`); a name counts when HTML5 defines it. Only the closed form: `html.unescape` also
#: reads a few names without ';' ("&not" in "&nothing"), which plain text holds.
_CHARACTER_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


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


def has_character_reference(text: str) -> bool:
    """True when `text` holds an HTML character reference that stands for a character (`&amp;` for '&')."""
    return any(reference[1] == "#" or reference[1:] in html.entities.html5
               for reference in _CHARACTER_REFERENCE.findall(text))


def unencodable_at(text: str) -> int | None:
    """The index of the first character UTF-8 cannot encode (a lone surrogate such as '\\ud800', which a
    JSON escape can make), or None: tokenizers and Arrow refuse such a text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return e.start
    return None


def warn_about_character_references(table: str, texts: Sequence[str], labels: Sequence[str]) -> None:
    """Log how many `texts` hold HTML character references, naming the first samples: an extractor reads
    them as written (`&amp;` is '&', 'amp', ';' to a tokenizer, the word 'amp' to `hashed-bow`)."""
    found = [has_character_reference(text) for text in texts]
    if any(found):
        log.warning("%s: %d of %d texts hold HTML character references such as '&amp;' (samples %s); they are read "
                    "as written, not as the characters they stand for; unescape them in the corpus "
                    "(html.unescape) if they are markup", table, sum(found), len(texts), first_labels(labels, found))


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
            what = f"caption {index}" if row.get("captions") else "the transcript"
            if not isinstance(text, str) or is_blank_text(text):
                raise MediaError(
                    f"sample {row['sample_id']!r}: {what} is {text!r:.80}; expected a non-blank string; "
                    "fix or remove it in the corpus (blank: only whitespace, control or zero-width characters)"
                )
            at = unencodable_at(text)
            if at is not None:
                raise MediaError(
                    f"sample {row['sample_id']!r}: {what} holds {text[at]!r} at character {at}, a lone surrogate "
                    "that is not Unicode text (a JSON escape such as \"\\ud800\" without its pair); expected valid "
                    "text; fix the escape in the corpus"
                )
        return SampleTexts(texts, row.get("sample_id"), captions=bool(row.get("captions")))

    def compute(self, items: list[list[str]]) -> list[np.ndarray]:
        flat = [text for texts in items for text in texts]
        labels = text_labels(items, self.config.level)
        warn_about_character_references(self.table_name, flat, labels)
        # all texts of the batch in one call
        vectors = self.embed(flat, labels=labels)
        return group_per_sample(vectors, [len(t) for t in items], level=self.config.level, normalize=self.normalized)

    @property
    def normalized(self) -> bool:
        return False

    def embed(self, texts: list[str], labels: Sequence[str] | None = None) -> np.ndarray:
        """(len(texts), dim) float32 vectors; `labels` name each text's sample in messages."""
        raise NotImplementedError
