"""The `tokens` extractor: a text model's tokenizer ids as variable-length int32 vectors.

Whose tokenizer, and how a model directory of one's own is recorded: `mmdata.features.text_models`.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mmdata.errors import ConfigError
from mmdata.features.base import register_extractor
from mmdata.features.text_base import (
    TextExtractor, TextLevel, check_level, first_labels, text_labels, warn_about_character_references,
)
from mmdata.features.text_models import (
    BUNDLED_MINILM, ShipsTextModelDirectory, check_model, load_tokenizer, model_versions, resolve_text_model,
)
from mmdata.store.metadata import FeatureSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokensConfig:
    #: Whose tokenizer: 'all-MiniLM-L6-v2' (bundled) or a local model directory.
    model: str = BUNDLED_MINILM
    level: TextLevel = "sample"
    #: Truncate each id sequence to this many ids (0 = keep all); with add_special_tokens, at least the
    #: tokenizer's special tokens ([CLS] and [SEP]: 2), which stay.
    max_length: int = 0
    add_special_tokens: bool = True

    def __post_init__(self) -> None:
        check_level(self.level)
        check_model(self.model)
        if self.max_length < 0:
            raise ValueError(f"max_length must be >= 0, got {self.max_length}")


@register_extractor
class Tokens(ShipsTextModelDirectory, TextExtractor):
    """Tokenizer ids as variable-length int32 vectors.

    Each text is tokenized with special-token strings taken as plain text (`split_special_tokens`): a
    caption that says "[SEP]" gets the ids of '[', 'sep', ']', never the separator's id, so the ids
    of special tokens are only those the extractor adds and caption boundaries can be recovered.
    level='caption': one id vector per text. level='sample': the ids of the sample's texts joined by
    the tokenizer's separator id (MiniLM/BERT: [CLS] caption1 [SEP] caption2 [SEP]); a tokenizer
    without a separator token tokenizes the texts joined by a space, as one. With `max_length`, the
    ids of the texts are cut to fit, the special tokens kept, and a log line says how many texts were
    cut, naming the first samples; with max_length=0 every id is kept, with no warning about lengths.
    """

    name: ClassVar[str] = "tokens"
    config_type: ClassVar[type] = TokensConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "transformers", "tokenizers")

    def output_spec(self) -> FeatureSpec:
        return self.sequence_or_pooled(None, "int32")

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        out["versions"].update(model_versions(self.model, kind="tokenizer"))
        return out

    def load_tokenizer(self) -> Any:
        return load_tokenizer(str(resolve_text_model(self.model)))

    def compute(self, items: list[list[str]]) -> list[Any]:
        tokenizer = self.load_tokenizer()
        budget = self._content_budget(tokenizer)
        labels = text_labels(items, self.config.level)
        warn_about_character_references(self.table_name, [text for texts in items for text in texts], labels)
        if self.config.level == "sample":
            contents = [self._sample_content(tokenizer, texts) for texts in items]
            labels = [labels[i] for i in np.cumsum([0] + [len(t) for t in items[:-1]])] if items else []
        else:
            contents = content_ids(tokenizer, [text for texts in items for text in texts])
        self._log_cut(contents, budget, labels)
        ids = [np.asarray(with_special_tokens(tokenizer, c[:budget] if budget is not None else c,
                                              self.config.add_special_tokens), dtype=np.int32) for c in contents]
        if self.config.level == "sample":
            return ids
        out, start = [], 0
        for texts in items:
            out.append(ids[start : start + len(texts)])
            start += len(texts)
        return out

    def _content_budget(self, tokenizer: Any) -> int | None:
        """How many ids of the texts fit in `max_length` beside the special tokens; None: all of them.

        Raises:
            ConfigError: max_length leaves no room for the special tokens.
        """
        max_length = self.config.max_length or None
        if max_length is None:
            return None
        specials = tokenizer.num_special_tokens_to_add() if self.config.add_special_tokens else 0
        if max_length < specials:
            raise ConfigError(
                f"tokens: max_length={max_length} leaves no room for the {specials} special tokens "
                f"{self.config.model}'s tokenizer adds; use max_length >= {specials}, or add_special_tokens=false"
            )
        return max_length - specials

    def _sample_content(self, tokenizer: Any, texts: Sequence[str]) -> list[int]:
        """The ids of a sample's texts, joined by the separator id (or, without one, of the texts
        joined by a space), without the special tokens around them."""
        separator = getattr(tokenizer, "sep_token_id", None)
        if separator is None:
            return content_ids(tokenizer, [" ".join(texts)])[0]
        joined: list[int] = []
        for index, ids in enumerate(content_ids(tokenizer, list(texts))):
            joined += ([separator] if index else []) + ids
        return joined

    def _log_cut(self, contents: Sequence[Sequence[int]], budget: int | None, labels: Sequence[str]) -> None:
        """Log how many id sequences `max_length` cuts, naming the first samples."""
        if budget is None:
            return
        cut = [len(c) > budget for c in contents]
        if any(cut):
            log.warning("%s: %d of %d texts have more than max_length=%d ids (samples %s); their ids are cut to "
                        "the first %d (and the special tokens); raise max_length, or set 0 to keep every id",
                        self.table_name, sum(cut), len(contents), self.config.max_length, first_labels(labels, cut),
                        budget)


def content_ids(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """The ids of each text without special tokens, special-token strings ("[SEP]") taken as plain
    text, uncut (verbose=False: no warning about sequences past the model's length; the caller cuts)."""
    if not texts:
        return []
    return tokenizer(texts, add_special_tokens=False, split_special_tokens=True, verbose=False,
                     return_attention_mask=False, return_token_type_ids=False)["input_ids"]


@functools.lru_cache(maxsize=8)
def _special_token_frame(tokenizer: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The ids a tokenizer puts before and after a single text's ids ([CLS] and [SEP] for BERT), found
    by tokenizing one word with and without special tokens (transformers 5 tokenizers do not all
    expose `build_inputs_with_special_tokens`)."""
    bare = content_ids(tokenizer, ["a"])[0]
    full = tokenizer(["a"], split_special_tokens=True, verbose=False, return_attention_mask=False,
                     return_token_type_ids=False)["input_ids"][0]
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return tuple(full[:start]), tuple(full[start + len(bare):])
    raise ConfigError(f"tokens: cannot tell where this tokenizer puts its special tokens ({full} around {bare}); "
                      "use add_special_tokens=false")


def with_special_tokens(tokenizer: Any, ids: Sequence[int], add: bool) -> list[int]:
    """`ids` framed by the tokenizer's special tokens as it frames one text ([CLS] ids [SEP]), or as they are."""
    if not add:
        return list(ids)
    before, after = _special_token_frame(tokenizer)
    return [*before, *ids, *after]
