"""Hugging Face `datasets` types for mmdata tables: features, split names, schema metadata.

Arrow type -> `datasets` feature, as `load_dataset` must see them:

    sample_id: string                                  -> Value("string")
    feature: fixed_size_list<float32>[D]               -> List(Value("float32"), length=D)
    feature: list<fixed_size_list<float32>[D]>         -> List(List(Value("float32"), length=D))
    intervals: list<fixed_size_list<float64>[2]>       -> List(List(Value("float64"), length=2))
    image / audio: struct<bytes: binary, path: string> -> Image() / Audio()   (embedded media)

The features are written twice: into the card's YAML (`dataset_info.features`, which the Parquet
builder casts to) and into each Parquet file's schema metadata under b"huggingface", so the files
keep their types even when read without the card.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal

import pyarrow as pa

from mmdata.errors import DatasetError

if TYPE_CHECKING:
    import datasets

MediaKind = Literal["image", "audio"]
HF_METADATA_KEY = b"huggingface"
#: Arrow type of an embedded image or audio file (what `datasets.Image`/`Audio` store).
MEDIA_TYPE = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])
#: Split names `datasets` accepts (`datasets.naming._split_re`).
_SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")
#: `datasets` reserves "all" (any case) for the union of the splits and refuses it as a split of
#: its own; mmdata puts an unsplit corpus in split "all", which becomes what `datasets` calls an
#: unsplit dataset's only split.
_RESERVED_SPLIT, _UNSPLIT_NAME = "all", "train"
#: Usual split order; other names follow alphabetically.
_SPLIT_ORDER = ("train", "restval", "val", "validation", "dev", "valid", "test")


def hf_features(schema: pa.Schema, media: Mapping[str, MediaKind] | None = None) -> datasets.Features:
    """The `datasets.Features` of an Arrow schema, with `media` columns typed as Image/Audio."""
    import datasets

    plain = pa.schema([field.with_nullable(True) for field in schema]).remove_metadata()
    features = datasets.Features.from_arrow_schema(plain)
    for column, kind in (media or {}).items():
        features[column] = datasets.Image() if kind == "image" else datasets.Audio()
    return features


def with_hf_metadata(schema: pa.Schema, features: datasets.Features) -> pa.Schema:
    """`schema` with the features under b"huggingface" (other metadata, e.g. b"mmdata", kept)."""
    metadata = dict(schema.metadata or {})
    metadata[HF_METADATA_KEY] = json.dumps({"info": {"features": features.to_dict()}}, sort_keys=True).encode()
    return schema.with_metadata(metadata)


def hf_split_names(splits: Iterable[str]) -> dict[str, str]:
    """{mmdata split: datasets split name}, in the usual order (train, val, test, then the rest).

    Characters `datasets` does not accept in split names become '_' (`dev-clean` -> `dev_clean`);
    `all`, which `datasets` reserves, becomes `train` (its name for an unsplit dataset's rows).

    Raises:
        DatasetError: two splits map to the same name.
    """
    names: dict[str, str] = {}
    for split in split_order(splits):
        name = split if _SPLIT_NAME.match(split) else re.sub(r"\W", "_", split).strip("_") or "split"
        if name.lower() == _RESERVED_SPLIT:
            name = _UNSPLIT_NAME
        clash = next((other for other, taken in names.items() if taken == name), None)
        if clash is not None:
            raise DatasetError(
                f"splits {clash!r} and {split!r} both become the `datasets` split name {name!r}; "
                "rename one of them (split names may hold letters, digits, '_' and '.'; "
                f"{_RESERVED_SPLIT!r} is reserved by `datasets` and becomes {_UNSPLIT_NAME!r})"
            )
        names[split] = name
    return names


def split_order(splits: Iterable[str]) -> list[str]:
    """Distinct split names in the usual order: train, restval, val, validation, dev, valid, test, then the rest."""
    return sorted(set(splits), key=_split_sort_key)


def _split_sort_key(split: str) -> tuple[int, str]:
    lowered = split.lower()
    rank = _SPLIT_ORDER.index(lowered) if lowered in _SPLIT_ORDER else len(_SPLIT_ORDER)
    return rank, split
