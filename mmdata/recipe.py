"""Extraction recipes: a TOML file naming a corpus kind and the extractors per modality.

recipes/coco-resnet50-minilm.toml looks like:
    [corpus]
    kind = "coco"
    split = "val2017"            # optional
    [corpus.options]             # optional, the loader's options
    keep_images_without_captions = false
    [extract]
    image = ["resnet50"]
    text = ["minilm", "minilm:level=caption"]
    batch_size = 64              # optional: batch_size, num_workers, on_error, shard_size, table_format
"""
from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.corpora.base import get_corpus_kind
from mmdata.errors import ConfigError, CorpusNotFoundError, MmdataError
from mmdata.features.base import create_extractor
from mmdata.records import MODALITIES

RUN_KEYS = ("batch_size", "num_workers", "on_error", "shard_size", "table_format")


@dataclass
class Recipe:
    kind: str
    split: str | None = None
    corpus_options: dict[str, Any] = field(default_factory=dict)
    extractors: dict[str, list[str]] = field(default_factory=dict)  # modality -> extractor specs
    run: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def extractor_specs(self) -> list[str]:
        return [spec for modality in MODALITIES for spec in self.extractors.get(modality, [])]


def is_recipe_path(value: str) -> bool:
    return value.endswith(".toml")


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe (corpus kind and extractor names must be registered).

    Raises:
        CorpusNotFoundError: the file does not exist.
        ConfigError: bad TOML, unknown keys, or unknown corpus kind / extractor.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusNotFoundError(f"recipe file not found: {path}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML ({e})") from e
    unknown = set(data) - {"corpus", "extract"}
    if unknown:
        raise ConfigError(f"{path}: unknown sections {sorted(unknown)}; expected [corpus] and [extract]")
    corpus = data.get("corpus", {})
    if "kind" not in corpus:
        raise ConfigError(f"{path}: [corpus] needs kind = \"coco\" (or another corpus kind)")
    with _naming(path, "[corpus] kind"):
        get_corpus_kind(corpus["kind"])
    extract = data.get("extract", {})
    bad = set(extract) - set(MODALITIES) - set(RUN_KEYS)
    if bad:
        raise ConfigError(f"{path}: unknown keys in [extract]: {sorted(bad)}; expected {list(MODALITIES) + list(RUN_KEYS)}")
    extractors = {}
    for modality in MODALITIES:
        specs = extract.get(modality, [])
        specs = [specs] if isinstance(specs, str) else list(specs)
        for spec in specs:
            with _naming(path, f"[extract] {modality}"):
                create_extractor(spec, modality=modality)  # validates name, modality and options
        if specs:
            extractors[modality] = specs
    return Recipe(
        kind=corpus["kind"],
        split=corpus.get("split"),
        corpus_options={k: str(v).lower() if isinstance(v, bool) else v for k, v in corpus.get("options", {}).items()},
        extractors=extractors,
        run={k: extract[k] for k in RUN_KEYS if k in extract},
        path=path,
    )


@contextmanager
def _naming(path: Path, key: str) -> Iterator[None]:
    """Errors about a recipe's value name the recipe file and the key (the same error type)."""
    try:
        yield
    except MmdataError as e:
        raise type(e)(f"{path}: {key}: {e}") from e
