"""Fixtures for the training recipes' checks: pooled fused exports written as `mmdata fuse` writes its npy
format (labels and features chosen per test), and a tiny captioned-image dataset made by `mmdata extract`
from the shapes demo corpus (copied per test before it is damaged)."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdata.demo_corpora.shapes_demo import ShapesDemoConfig, write_shapes_demo
from mmdata.models.trainer import limit_threads
from mmdata.pipeline import extract

#: Modalities of the written exports: (table, dim), in the export's column order.
TABLES = {"text": ("text.t", 4), "audio": ("audio.t", 3), "video": ("video.t", 2)}
MOSI = {"kind": "cmu-mosi", "options": {}}
SHAPES_EXTRACTORS = ["color-hist:bins=4", "hashed-bow:dim=64,level=caption"]
ExportWriter = Callable[..., Path]


@pytest.fixture(autouse=True)
def one_thread():
    """Small models train fastest on one thread when the CPU is shared."""
    with limit_threads(1):
        yield


@pytest.fixture
def write_export(tmp_path) -> ExportWriter:
    """`write_export(name, counts, labels=None, features=None)`: a pooled npy export under tmp_path.

    Labels default to a signed score the text columns predict (1.5 tanh of their sum, rounded to 0.1);
    `labels` / `features` map a split to the values to write instead."""

    def write(name: str, counts: dict[str, int], *, labels: dict[str, list[float]] | None = None,
              features: dict[str, np.ndarray] | None = None) -> Path:
        root = tmp_path / name
        root.mkdir()
        rng = np.random.default_rng(0)
        slices, start = {}, 0
        for table, dim in TABLES.values():
            slices[table], start = [start, start + dim], start + dim
        for split, count in counts.items():
            x = features[split] if features and split in features else rng.normal(size=(count, start)).astype(np.float32)
            y = labels[split] if labels and split in labels else np.round(1.5 * np.tanh(x[:, :4].sum(1)), 1)
            (root / split).mkdir()
            np.save(root / split / "features.npy", x)
            pq.write_table(pa.table({"sample_id": [f"{split}-{i}" for i in range(count)],
                                     "label": pa.array(list(y), pa.float64())}), root / split / "index.parquet")
        metadata = {
            "layout_version": 1, "mmdata_version": "0.test", "format": "npy", "dim": start, "rows": counts,
            "rows_kind": "pooled", "tables": [t for t, _ in TABLES.values()], "modalities": list(TABLES),
            "slices": slices, "files": {}, "source": {"dataset_dir": None, "corpus": MOSI},
            "normalization": {"stats_splits": ["train"], "tables": {t: {"method": "zscore"} for t, _ in TABLES.values()}},
        }
        (root / "fused.json").write_text(json.dumps(metadata))
        return root

    return write


@pytest.fixture(scope="session")
def shapes_corpus(tmp_path_factory) -> Path:
    """The shapes demo corpus in COCO layout: 30 train2017 and 12 val2017 images, 3 captions each."""
    root = tmp_path_factory.mktemp("shapes") / "corpus"
    write_shapes_demo(root, ShapesDemoConfig(num_train=30, num_val=12, captions_per_image=3, seed=3))
    return root


@pytest.fixture(scope="session")
def shapes_dataset(shapes_corpus, tmp_path_factory) -> Path:
    """`mmdata extract` of the shapes corpus: image.color-hist and text.hashed-bow.caption (do not modify)."""
    out = tmp_path_factory.mktemp("shapes-dataset") / "dataset"
    extract("coco", shapes_corpus, out, extractors=SHAPES_EXTRACTORS, num_workers=0, on_error="fail")
    return out


@pytest.fixture
def shapes_copy(shapes_dataset, tmp_path) -> Path:
    """A copy of the shapes dataset that a test may damage."""
    return Path(shutil.copytree(shapes_dataset, tmp_path / "dataset"))


def extract_with_broken_images(corpus: Path, work: Path, broken: dict[str, int]) -> Path:
    """Extract a copy of `corpus` whose first `broken[split]` images of each split are not images: their
    samples fail (recorded in the errors tables) and have no image vector."""
    copy = Path(shutil.copytree(corpus, work / "corpus"))
    for split, count in broken.items():
        for image in sorted((copy / split).iterdir())[:count]:
            image.write_bytes(b"not an image")
    out = work / "dataset"
    extract("coco", copy, out, extractors=SHAPES_EXTRACTORS, num_workers=0, on_error="skip")
    return out
