"""The card of a share with failed items names each errors table (where, how many, why, which samples), the
way to read it, and states a dim that varies as `variable`; the share of such a corpus (odd split names, a
very long sample id) still loads split by split with `datasets` and its card parses with `huggingface_hub`."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import tests.share_publish.extractors  # noqa: F401  (registers test-word-lengths: rows without a fixed dim)
from mmdata.pipeline import extract
from mmdata.sample_data import sample_corpus_dir
from mmdata.share import share_dataset
from mmdata.share.failed import failed_items_section

LONG_ID = "long-" + "x" * 600
SPLITS = {"s0": "Train", "s1": "Train", "s2": "val2017", "s3": "unassigned", "s4": "dev-clean"}


def write_corpus(root: Path) -> Path:
    """Five photographs over odd split names, a corrupt image with a very long id, a missing image, and a
    row repeating an id (left out by the loader)."""
    images = sorted((sample_corpus_dir("coco") / "val2017").glob("*.jpg"))
    (root / "images").mkdir(parents=True)
    rows = []
    for (sample_id, split), image in zip(SPLITS.items(), images):
        shutil.copy(image, root / "images" / image.name)
        rows.append({"id": sample_id, "image": f"images/{image.name}", "caption": f"a photo named {sample_id}",
                     "split": split})
    (root / "images" / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    rows.append({"id": LONG_ID, "image": "images/bad.jpg", "caption": "a broken photo", "split": "Train"})
    rows.append({"id": "gone", "image": "images/missing.jpg", "caption": "a lost photo", "split": "val2017"})
    rows.append({"id": "s0", "image": rows[1]["image"], "caption": "the same id again", "split": "Train"})
    (root / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


@pytest.fixture(scope="module")
def share(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("failed")
    extract("manifest", write_corpus(tmp / "corpus"), tmp / "ds", extractors=["color-hist", "test-word-lengths"],
            num_workers=0)
    share_dataset(tmp / "ds", tmp / "hf")
    return tmp / "hf"


def section(share: Path, heading: str) -> str:
    return (share / "README.md").read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_card_names_each_errors_table_its_rows_reasons_and_samples(share):
    text = section(share, "Failed items")
    color = next(line for line in text.splitlines() if "`errors/image.color-hist/`" in line)
    assert "| 2 |" in color and "MediaError: 2" in color and "`gone`" in color
    assert "`long-xxx" in color and "x" * 100 not in color  # a very long id is cut in the card ...
    loader = next(line for line in text.splitlines() if "`errors/loader/`" in line)
    assert "| 1 |" in loader and "not in `samples`" in loader and "`s0`" in loader
    assert 'pd.read_parquet("errors/' in text


def test_the_errors_table_the_card_names_reads_with_pandas_and_holds_every_id_whole(share):
    errors = pd.read_parquet(share / "errors" / "image.color-hist")
    assert sorted(errors["sample_id"]) == ["gone", LONG_ID]  # ... and whole in the errors table
    assert set(errors["error_type"]) == {"MediaError"}


def test_a_dim_that_varies_is_stated_as_variable_not_none(share):
    configs, extractors = section(share, "Configs"), section(share, "Extractors")
    assert "| `text.test-word-lengths` | text | `test-word-lengths` | 7 | variable | int32 |" in configs
    assert "dim variable, int32" in extractors and "None" not in configs + extractors


def test_every_split_loads_under_its_datasets_name_and_the_card_parses(share, tmp_path):
    import datasets
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCard

    info = DatasetInfosDict.from_dataset_card_data(DatasetCard.load(share / "README.md").data)
    expected = {"Train": 3, "val2017": 2, "unassigned": 1, "dev_clean": 1}
    for config in ("samples", "image.color-hist", "text.test-word-lengths"):
        assert {split: s.num_examples for split, s in info[config].splits.items()} == expected
    for split, rows in expected.items():
        samples = datasets.load_dataset(str(share), split=split, cache_dir=str(tmp_path))
        colors = datasets.load_dataset(str(share), "image.color-hist", split=split, cache_dir=str(tmp_path))
        assert samples.num_rows == rows and list(samples["sample_id"]) == list(colors["sample_id"])
    train = datasets.load_dataset(str(share), "image.color-hist", split="Train", cache_dir=str(tmp_path))
    assert {row["sample_id"]: row["feature"] is None for row in train}[LONG_ID]


def test_a_share_without_failed_items_has_no_such_section():
    assert failed_items_section([]) == []
