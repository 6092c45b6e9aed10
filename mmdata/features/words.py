"""`word-embeddings`: one vector per spoken word, with the word's (start, end) times.

The words come from the samples table only: a row's `extra` JSON holds them as
    {"words": [["hello", 0.12, 0.40], ["sp", 0.40, 0.55], ["world", 0.55, 0.98]], ...}
(seconds of the sample's media file, in time order; loaders such as `mosi-raw` fill it when the
corpus gives word timings). The table is a sequence table (`item_axis='word'`) with per-word
intervals, ready to be the reference of `mmdata align`.

Methods:
- `minilm` (table `text.word-embeddings`; `model=DIR` for a sentence-transformers directory of
  one's own, recorded by a fingerprint of its files and its token limit, as `minilm` records it): the words of a sample are tokenized together as one
  text (so each word is embedded in its context), run through the MiniLM transformer, and each
  word's vector is the mean of its tokens' last hidden states (384-d). A sample longer than the
  model's limit (256 tokens for all-MiniLM-L6-v2) is run in overlapping windows cut at word
  boundaries: each window keeps the vectors of its middle words, which have up to `limit // 4`
  tokens of context on either side (63 for all-MiniLM-L6-v2), so only words near the start or end of
  a sample see context on one side only; every word gets exactly one vector. A word the tokenizer
  reduces to nothing (only control or zero-width characters) gets a zero row.
- `hashed` (table `text.word-embeddings-hashed`, no model): the signed hashing trick over the
  lowercased word (in Unicode normal form NFC) and its character 3- to 5-grams (fastText-style,
  so spelling variants share components), L2-normalized, `dim` wide. The hash is crc32, so vectors are the same in every
  process and on every machine (unlike Python's salted `hash`).

Pause tokens (`sp`, P2FA's silences in CMU-MOSI word sequences) are `pauses='zero'` zero vectors
kept in place (default), `'drop'` removed with their intervals, or `'embed'` treated as words.
A sample whose word list is empty (or holds only pauses, with 'drop') gets a row of zero words.
Rows follow the order of the words, so their intervals are sorted by start.
"""
from __future__ import annotations

import functools
import json
import math
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mmdata.errors import CorpusFormatError
from mmdata.features.base import Extractor, register_extractor
from mmdata.features.image_models import check_device, provenance_without_runtime, resolve_device
from mmdata.features.text import (
    BUNDLED_MINILM, BUNDLED_MINILM_DIM, check_model, is_bundled, model_fingerprint, model_versions, offline_hub,
    resolve_text_model,
)
from mmdata.features.text_models import ShipsTextModelDirectory
from mmdata.records import PAUSE_TOKENS, row_extra
from mmdata.store.metadata import FeatureSpec

Method = Literal["minilm", "hashed"]
Pauses = Literal["zero", "drop", "embed"]


@dataclass(frozen=True)
class TimedWords:
    """The words of one sample, as read from its `extra`."""

    words: list[str]
    intervals: np.ndarray  # (n, 2) float64 seconds


@dataclass(frozen=True)
class WordEmbeddingsConfig:
    method: Method = "minilm"
    #: For method=minilm (not recorded with method=hashed): 'all-MiniLM-L6-v2' (bundled) or a local
    #: sentence-transformers directory.
    model: str = BUNDLED_MINILM
    #: For method=hashed (not recorded with method=minilm): the vector width.
    dim: int = 64
    #: Pause tokens (`PAUSE_TOKENS`): 'zero' rows kept in place, 'drop'ped with their intervals, or 'embed'ded
    #: as words.
    pauses: Pauses = "zero"
    #: Windows of words per forward pass (method=minilm; a runtime option, recorded under `runtime`).
    encode_batch_size: int = 64
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_device(self.device)
        check_model(self.model)
        if not 1 <= self.dim <= 65536:
            raise ValueError(f"dim must be in [1, 65536], got {self.dim}")
        if self.encode_batch_size < 1:
            raise ValueError(f"encode_batch_size must be >= 1, got {self.encode_batch_size}")


def read_timed_words(row: dict[str, Any]) -> TimedWords:
    """The `extra['words']` of a samples-table row, validated.

    Raises:
        CorpusFormatError: no word list, a malformed entry (a word that is not a string or is blank, a
            time that is missing, not finite or negative, end < start), or words out of time order.
    """
    sample_id = row.get("sample_id")
    entries = row_extra(row).get("words")
    if not isinstance(entries, list):
        raise CorpusFormatError(
            f"sample {sample_id!r} has no word timings: expected extra['words'] = [[word, start, end], ...] "
            f"(seconds), got {entries!r:.80}; use a corpus with word timings (e.g. mosi-raw with a words.csv)"
        )
    words, times = [], np.zeros((len(entries), 2), np.float64)
    for index, entry in enumerate(entries):
        ok = isinstance(entry, (list, tuple)) and len(entry) == 3 and isinstance(entry[0], str) and bool(entry[0].strip())
        ok = ok and all(isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) for t in entry[1:])
        if not ok or not 0 <= entry[1] <= entry[2]:
            raise CorpusFormatError(
                f"sample {sample_id!r}: extra['words'][{index}] = {entry!r:.80}; "
                "expected [word, start, end] with a non-blank word and finite 0 <= start <= end (seconds); "
                "a silence is a pause token such as 'sp'"
            )
        if index and entry[1] < times[index - 1, 0]:
            raise CorpusFormatError(
                f"sample {sample_id!r}: extra['words'][{index}] starts at {entry[1]}, before the previous word "
                f"({times[index - 1, 0]}); expected words in time order"
            )
        words.append(entry[0])
        times[index] = entry[1:]
    return TimedWords(words, times)


def hashed_word_vectors(words: list[str], dim: int) -> np.ndarray:
    """(len(words), dim) signed-hash vectors of each word and its character 3-5-grams, L2-normalized.

    Each of the lowercased word (NFC: a precomposed 'é' and 'e' + combining accent are the same
    characters) and its grams (of `<word>`) adds +-1 to bucket `crc32 % dim`, the sign from the top
    bit of the crc32: deterministic across processes and machines.
    """
    out = np.zeros((len(words), dim), np.float32)
    for row, word in enumerate(words):
        lowered = unicodedata.normalize("NFC", word.lower())
        padded = f"<{lowered}>"
        grams = [lowered] + [padded[i : i + n] for n in (3, 4, 5) for i in range(len(padded) - n + 1)]
        for gram in grams:
            code = zlib.crc32(gram.encode("utf-8"))
            out[row, code % dim] += 1.0 if code & 0x80000000 else -1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, np.finfo(np.float32).tiny)


@register_extractor
class WordEmbeddings(ShipsTextModelDirectory, Extractor):
    """Per-word vectors (MiniLM token states mean-pooled per word, or hashed) with word intervals."""

    name: ClassVar[str] = "word-embeddings"
    modality: ClassVar = "text"
    config_type: ClassVar[type] = WordEmbeddingsConfig
    decode_in_workers: ClassVar[bool] = False
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "torch", "transformers", "tokenizers")

    @property
    def table_name(self) -> str:
        return "text.word-embeddings" + ("-hashed" if self.config.method == "hashed" else "")

    def output_spec(self) -> FeatureSpec:
        cfg = self.config
        if cfg.method == "hashed":
            dim = cfg.dim
        elif is_bundled(self.model):
            dim = BUNDLED_MINILM_DIM
        else:
            dim = int(self._load_model().transformer.config.hidden_size)
        return FeatureSpec(dim=dim, kind="sequence", intervals=True, item_axis="word")

    def inapplicable_options(self) -> frozenset[str]:
        # `dim` is the width of hashed vectors; `model` the transformer of minilm.
        return frozenset({"model"} if self.config.method == "hashed" else {"dim"})

    def provenance(self) -> dict[str, Any]:
        out = provenance_without_runtime(self)
        out["runtime"]["encode_batch_size"] = out["config"].pop("encode_batch_size")
        if self.config.method == "hashed":
            out["versions"] = {k: v for k, v in out["versions"].items() if k in ("mmdata", "numpy")}
            # lower() and NFC follow Python's Unicode database
            out["versions"]["unicode"] = unicodedata.unidata_version
        else:
            # the bundled model: its package's version; a directory of one's own: its files' fingerprint
            out["versions"].update(model_versions(self.model))
            if not is_bundled(self.model):
                out["model"] = self._model_description()
        return out

    def _model_description(self) -> dict[str, Any]:
        """What decides the vectors of a model directory of one's own besides the code: its files'
        fingerprint and the token limit its windows are cut at (from its sentence_bert_config.json)."""
        model_dir = resolve_text_model(self.model)
        return {"path": str(model_dir.resolve()), "sha256": model_fingerprint(model_dir),
                "max_seq_length": self._load_model().max_tokens}

    def decode(self, row: dict[str, Any], corpus_root: Path) -> TimedWords:
        timed = read_timed_words(row)
        if self.config.pauses == "drop":
            keep = [i for i, w in enumerate(timed.words) if w.lower() not in PAUSE_TOKENS]
            return TimedWords([timed.words[i] for i in keep], timed.intervals[keep].reshape(-1, 2))
        return timed

    def compute(self, items: list[TimedWords]) -> list[tuple[np.ndarray, np.ndarray]]:
        skip_pauses = self.config.pauses == "zero"
        # Words that get a vector from the method; pauses (when zeroed) stay zero rows.
        spoken = [[i for i, w in enumerate(t.words) if not (skip_pauses and w.lower() in PAUSE_TOKENS)] for t in items]
        texts = [[t.words[i] for i in keep] for t, keep in zip(items, spoken)]
        if self.config.method == "hashed":
            vectors = [hashed_word_vectors(words, self.config.dim) for words in texts]
        else:
            vectors = self._embed_minilm(texts)
        dim = self.output_spec().dim
        out = []
        for timed, keep, vecs in zip(items, spoken, vectors):
            rows = np.zeros((len(timed.words), dim), np.float32)
            rows[keep] = vecs
            out.append((rows, timed.intervals))
        return out

    def _load_model(self) -> TokenModel:
        return load_token_model(str(resolve_text_model(self.model)), resolve_device(self.config.device))

    def _embed_minilm(self, texts: list[list[str]]) -> list[np.ndarray]:
        import torch

        model = self._load_model()
        tokenizer, transformer = model.tokenizer, model.transformer
        limit = model.max_tokens - 2  # room for [CLS] and [SEP]
        windows = [w for i, words in enumerate(texts) for w in _word_windows(i, words, tokenizer, limit)]
        dim = int(transformer.config.hidden_size)
        out = [np.zeros((len(words), dim), np.float32) for words in texts]
        device = next(transformer.parameters()).device
        step = self.config.encode_batch_size
        for begin in range(0, len(windows), step):
            batch = windows[begin : begin + step]
            encoded = tokenizer(
                [texts[w.sample][w.first : w.stop] for w in batch], is_split_into_words=True, truncation=True,
                max_length=limit + 2, padding=True, return_tensors="pt",
            )
            with torch.inference_mode():
                states = transformer(**{k: v.to(device) for k, v in encoded.items()}).last_hidden_state.float().cpu().numpy()
            for row, window in enumerate(batch):
                size = window.stop - window.first
                word_ids = np.array([-1 if w is None else w for w in encoded.word_ids(row)])
                mask = word_ids >= 0
                sums = np.zeros((size, dim), np.float32)
                np.add.at(sums, word_ids[mask], states[row][mask])
                counts = np.bincount(word_ids[mask], minlength=size)[:, None]
                means = sums / np.maximum(counts, 1)
                # Only the window's core words are kept: the others are context, embedded by their own window.
                kept = means[window.begin - window.first : window.end - window.first]
                out[window.sample][window.begin : window.end] = kept
        return out


@dataclass(frozen=True)
class TokenModel:
    tokenizer: Any
    transformer: Any
    max_tokens: int


@functools.lru_cache(maxsize=2)
def load_token_model(model_dir: str, device: str) -> TokenModel:
    """The tokenizer and transformer of a local sentence-transformers (or Hugging Face) model directory,
    loaded offline once per process. Only the transformer is needed for token states, so this skips
    importing sentence-transformers (seconds of start-up)."""
    root = Path(model_dir)
    transformer_dir, max_tokens = root, None
    modules = root / "modules.json"
    if modules.is_file():
        entries = json.loads(modules.read_text())
        sub = next((m.get("path", "") for m in entries if str(m.get("type", "")).endswith("models.Transformer")), "")
        transformer_dir = root / sub
    config = transformer_dir / "sentence_bert_config.json"
    if config.is_file():
        max_tokens = json.loads(config.read_text()).get("max_seq_length")
    with offline_hub():
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        # The weight-loading bar would interleave with mmdata's own progress bars.
        transformers_logging.disable_progress_bar()
        tokenizer = AutoTokenizer.from_pretrained(str(transformer_dir), local_files_only=True)
        transformer = AutoModel.from_pretrained(str(transformer_dir), local_files_only=True).to(device).eval()
    limit = min(int(max_tokens or tokenizer.model_max_length), int(tokenizer.model_max_length))
    return TokenModel(tokenizer, transformer, limit)


@dataclass(frozen=True)
class _Window:
    """Words [first, stop) of sample `sample` run together; the vectors of words [begin, end) are kept."""

    sample: int
    first: int
    begin: int
    end: int
    stop: int


def _word_windows(sample: int, words: list[str], tokenizer: Any, limit: int) -> list[_Window]:
    """Windows of at most `limit` tokens whose cores cover every word exactly once, in order.

    A sample that fits is one window. Otherwise each core is flanked by up to `limit // 4` tokens of
    the words before and after it, so no word is embedded at the edge of its window unless it is at
    the edge of the sample. A single word longer than `limit` tokens is a core of its own (truncated).
    """
    if not words:
        return []
    # Only counting tokens here (verbose=False: no warning about lengths past the model's limit).
    encoded = tokenizer(words, is_split_into_words=True, add_special_tokens=False, verbose=False)
    counts = np.bincount([w for w in encoded.word_ids() if w is not None], minlength=len(words)).tolist()
    if sum(counts) <= limit:
        return [_Window(sample, 0, 0, len(words), len(words))]
    context = limit // 4
    remaining = sum(counts)  # tokens of the words from `begin` on
    windows, begin = [], 0
    while begin < len(words):
        first, used = begin, 0
        while first > 0 and used + counts[first - 1] <= context:
            first -= 1
            used += counts[first]
        end = begin
        if used + remaining <= limit:  # the rest fits: the last window
            end = len(words)
        else:
            while end == begin or (end < len(words) and used + counts[end] <= limit - context):
                used += counts[end]
                end += 1
        stop = end
        while stop < len(words) and used + counts[stop] <= limit:
            used += counts[stop]
            stop += 1
        windows.append(_Window(sample, first, begin, end, stop))
        remaining -= sum(counts[begin:end])
        begin = end
    return windows
