"""The `clip-text` extractor: CLIP's projected text embeddings, in the space `clip` embeds images in.

Each text is tokenized by the checkpoint's CLIP tokenizer and embedded with `CLIPModel.get_text_features`,
as transformers' own pipeline does (`tokenizer(texts, padding=True, truncation=True)`), except that a
special-token string in a text ("<|endoftext|>") is read as plain text (`split_special_tokens`): CLIP's text
embedding is its state at the first end token, so such a string would end the text there. CLIP reads at
most 77 tokens (its `max_position_embeddings`), start and end tokens included: a longer text is embedded
from its first tokens only, and a warning says how many texts of a batch were cut, naming the first
samples (and caption indices at caption level). Which model, and how it is recorded:
`mmdata.features.clip_models`.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mmdata.errors import ConfigError, MissingWeightsError
from mmdata.features.base import register_extractor
from mmdata.features.clip_models import (
    DEFAULT_CLIP_MODEL, WEIGHT_FILES, ClipCheckpoint, ClipModelSource, check_clip_config, check_clip_model, finish,
    projected, projection_dim, read_json, require_files,
)
from mmdata.features.image_models import check_device, provenance_without_runtime
from mmdata.features.text_base import TextExtractor, TextLevel, check_level, first_labels
from mmdata.features.text_models import offline_hub
from mmdata.store.metadata import FeatureSpec

log = logging.getLogger(__name__)

#: The tokenizer files transformers builds a CLIP tokenizer from (tokenizer.json, or the BPE's two files).
TOKENIZER_FILES = ("tokenizer.json", "vocab.json")
BPE_FILES = ("vocab.json", "merges.txt")


@dataclass(frozen=True)
class ClipTextConfig:
    #: A local CLIP checkpoint directory, or a Hugging Face repo id read from the local cache only.
    model: str = DEFAULT_CLIP_MODEL
    #: L2-normalize the projected embeddings (CLIP's scores are cosines); False keeps their norms.
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
        check_clip_model(self.model)
        if self.encode_batch_size < 1:
            raise ValueError(f"encode_batch_size must be >= 1, got {self.encode_batch_size}")


@functools.lru_cache(maxsize=2)
def load_clip_tokenizer(model_dir: str, fingerprint: str) -> Any:
    """The tokenizer saved in a local CLIP checkpoint, once per process for the same files.

    Raises:
        ConfigError: transformers cannot build a tokenizer from the files (a truncated tokenizer.json).
    """
    with offline_hub():
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError) as e:  # a JSON error is a ValueError
            raise ConfigError(f"extractor 'clip-text': cannot build the tokenizer of {model_dir} ({type(e).__name__}: "
                              f"{e}); expected the tokenizer files CLIPProcessor.save_pretrained writes") from e


def require_bpe_pair(source: ClipModelSource) -> None:
    """Without tokenizer.json, transformers builds CLIP's tokenizer from vocab.json and merges.txt together.

    Raises:
        MissingWeightsError: one of the two is there without the other.
    """
    if (source.path / "tokenizer.json").is_file():
        return
    missing = [name for name in BPE_FILES if not (source.path / name).is_file()]
    if missing:
        raise MissingWeightsError(
            f"extractor 'clip-text': CLIP model {source.model!r} at {source.path} has no tokenizer.json and lacks "
            f"{' and '.join(missing)}; expected tokenizer.json, or vocab.json with merges.txt, as "
            "CLIPProcessor.save_pretrained writes them; save or fetch it again")


@register_extractor
class ClipText(ClipCheckpoint, TextExtractor):
    """CLIP's projected text embedding (512-d for ViT-B/32), in the space of `clip`."""

    name: ClassVar[str] = "clip-text"
    config_type: ClassVar[type] = ClipTextConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "torch", "transformers", "tokenizers")

    def check_ready(self) -> None:
        """The checkpoint's config (a CLIP model's), weights and tokenizer files are there and the tokenizer
        builds (the model is not loaded)."""
        source = self.source()
        require_files(self.name, source, {"config.json": ("config.json",), "the weights": WEIGHT_FILES,
                                          "the tokenizer": TOKENIZER_FILES})
        require_bpe_pair(source)
        check_clip_config(self.name, source)
        load_clip_tokenizer(str(source.path), source.fingerprint())

    def output_spec(self) -> FeatureSpec:
        return self.sequence_or_pooled(projection_dim(self.name, self.source()))

    def provenance(self) -> dict[str, Any]:
        out = provenance_without_runtime(self)
        out["runtime"]["encode_batch_size"] = out["config"].pop("encode_batch_size")
        source = self.source()
        out["model"] = {**source.record(), "output": "get_text_features", "normalized": self.config.normalize}
        out["preprocessing"] = {"tokenizer": type(self.load_tokenizer()).__name__, "max_tokens": self.max_tokens(),
                                "truncation": "first tokens"}
        out["versions"].update(source.versions())
        return out

    @property
    def normalized(self) -> bool:
        return self.config.normalize

    def max_tokens(self) -> int:
        """How many tokens the text model reads (77 for OpenAI's CLIP), start and end tokens included."""
        config = read_json(self.name, self.source().path / "config.json")
        return int((config.get("text_config") or {}).get("max_position_embeddings", 77))

    def load_tokenizer(self) -> Any:
        self.check_ready()
        source = self.source()
        return load_clip_tokenizer(str(source.path), source.fingerprint())

    def embed(self, texts: list[str], labels: Sequence[str] | None = None) -> np.ndarray:
        import torch

        tokenizer, (model, device), limit = self.load_tokenizer(), self.load_model(), self.max_tokens()
        self._warn_about_truncation(tokenizer, texts, limit, labels)
        step = self.config.encode_batch_size
        out = []
        for start in range(0, len(texts), step):
            inputs = tokenizer(texts[start : start + step], padding=True, truncation=True, max_length=limit,
                               split_special_tokens=True, return_tensors="pt").to(device)
            with torch.inference_mode():
                vectors = projected(model.get_text_features(input_ids=inputs["input_ids"],
                                                            attention_mask=inputs["attention_mask"]))
                out.append(finish(vectors, self.config.normalize))
        return np.concatenate(out).astype(np.float32, copy=False)

    def _warn_about_truncation(self, tokenizer: Any, texts: list[str], limit: int,
                               labels: Sequence[str] | None = None) -> None:
        """Log how many `texts` are cut at CLIP's `limit` tokens, naming the first samples (`labels`)."""
        # One token past the limit is enough to tell; the count includes the start and end tokens.
        lengths = tokenizer(texts, truncation=True, max_length=limit + 1, return_length=True,
                            split_special_tokens=True, return_attention_mask=False)["length"]
        too_long = [length > limit for length in lengths]
        cut = sum(too_long)
        if cut:
            labels = labels if labels is not None else [f"text {i} of the batch" for i in range(len(texts))]
            log.warning("%s: %d of %d texts are longer than %s's %d tokens (samples %s); they are embedded from "
                        "their first %d tokens; split long texts to embed all of them", self.table_name, cut,
                        len(texts), self.config.model, limit, first_labels(labels, too_long), limit)
