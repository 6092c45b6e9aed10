"""The card's code examples run on any dataset (a table that failed on every item, rows without a fixed
dim), its Splits table follows the header's split order, and no option names a producer's folder."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

import tests.share_publish.extractors  # noqa: F401  (registers test-fails-always, test-word-lengths, test-caption-word-lengths)
from mmdata.pipeline import extract
from mmdata.share import share_dataset
from mmdata.store import open_dataset
from tests.fakes.csd import FOLDS, write_mosi_csd
from tests.sample_corpus import copy_sample_corpus
from tests.share.corpus import extract_mixed


@pytest.fixture(scope="module")
def coco_corpus(tmp_path_factory) -> Path:
    return copy_sample_corpus("coco", tmp_path_factory.mktemp("coco"))


def shared(corpus: Path, tmp_path: Path, extractors: list[str]) -> Path:
    extract("coco", corpus, tmp_path / "ds", extractors=extractors, num_workers=0)
    share_dataset(tmp_path / "ds", tmp_path / "hf")
    return tmp_path / "hf"


def card(share: Path) -> tuple[dict, str]:
    _, header, body = (share / "README.md").read_text().split("---\n", 2)
    return yaml.safe_load(header), body


def run_card_code(share: Path, tmp_path: Path, monkeypatch) -> list[tuple[str, dict]]:
    """Run every python block of the card in a copy of the share, in order, in one scope; after each
    block, (the block, a copy of the scope)."""
    copy = tmp_path / "copy"
    shutil.copytree(share, copy)
    monkeypatch.chdir(copy)
    scope: dict = {}
    steps = []
    for block in re.findall(r"```python\n(.*?)```", card(copy)[1], flags=re.S):
        exec(compile(block, "README.md", "exec"), scope)
        steps.append((block, dict(scope)))
    return steps


def test_card_examples_use_a_table_with_features_when_the_first_failed_on_every_item(
        coco_corpus, tmp_path, monkeypatch, datasets_cache):
    share = shared(coco_corpus, tmp_path, ["test-fails-always", "pixel-stats"])
    steps = run_card_code(share, tmp_path, monkeypatch)
    assert len(steps) == 5
    code = "".join(block for block, _ in steps)
    assert "image.test-fails-always" not in code
    torch_block, scope = next((b, s) for b, s in steps if "DataLoader(train" in b)
    assert next(iter(scope["loader"]))["feature"].shape == (8, 12)
    fuse_block, scope = next((b, s) for b, s in steps if "fuse(" in b)
    assert "tables=('image.pixel-stats',)" in fuse_block
    assert next(iter(scope["loader"]))["feature"].shape[1] == 12


def test_card_of_a_dataset_whose_only_table_failed_everywhere_loads_the_samples_only(
        coco_corpus, tmp_path, monkeypatch, datasets_cache):
    share = shared(coco_corpus, tmp_path, ["test-fails-always"])
    steps = run_card_code(share, tmp_path, monkeypatch)
    assert "No feature table has a feature for any sample" in card(share)[1]
    [(block, scope)] = steps
    assert "DataLoader" not in block and "fuse(" not in block
    assert len(scope["samples"]) == 8


@pytest.mark.parametrize(("extractor", "ndim"), [("test-word-lengths", 2), ("test-caption-word-lengths", 3)])
def test_card_pads_rows_without_a_fixed_dim_and_leaves_out_the_fuse_example(
        coco_corpus, tmp_path, monkeypatch, datasets_cache, extractor, ndim):
    share = shared(coco_corpus, tmp_path, [extractor])
    steps = run_card_code(share, tmp_path, monkeypatch)
    assert len(steps) == 4 and not any("fuse(" in block for block, _ in steps)
    torch_block, scope = next((b, s) for b, s in steps if "DataLoader(train" in b)
    assert "collate_fn=pad_batch" in torch_block
    batch = next(iter(scope["loader"]))
    assert batch["feature"].ndim == ndim and batch["feature"].shape[0] == 8
    assert batch["feature"].shape[1] == int(batch["length"].max())
    assert "different lengths, zero-padded per batch" in card(share)[1]


def test_a_fixed_dim_table_is_preferred_for_the_examples_over_one_without(coco_corpus, tmp_path):
    share = shared(coco_corpus, tmp_path, ["test-caption-word-lengths", "pixel-stats"])
    loading = card(share)[1].split("## Loading", 1)[1]
    assert '"image.pixel-stats", split="val2017"' in loading and "tables=('image.pixel-stats',)" in loading
    assert "text.test-caption-word-lengths" not in loading


def test_splits_table_follows_the_split_order_of_the_header(tmp_path):
    dataset = extract_mixed(tmp_path, ["pixel-stats"])
    assert list(open_dataset(dataset).manifest.samples["splits"]) == ["test", "train", "val"]  # as recorded
    share_dataset(dataset, tmp_path / "hf")
    header, body = card(tmp_path / "hf")
    yaml_order = [f["split"] for f in header["configs"][0]["data_files"]]
    section = body.split("## Splits\n", 1)[1].split("\n## ", 1)[0]
    card_order = re.findall(r"^\| `(\w+)` \|", section, flags=re.M)
    assert yaml_order == card_order == ["train", "val", "test"]


@pytest.mark.parametrize(("where", "shown"), [("corpus/meta/folds.json", "meta/folds.json"),
                                              ("elsewhere/my-folds.json", "my-folds.json")])
def test_absolute_option_paths_are_not_published(tmp_path, where, shown):
    write_mosi_csd(tmp_path / "corpus")
    folds = tmp_path / where
    folds.parent.mkdir(parents=True, exist_ok=True)
    folds.write_text(json.dumps(FOLDS))
    extract("csd", tmp_path / "corpus", tmp_path / "ds", extractors=[], corpus_options={"folds": str(folds)},
            num_workers=0)
    share_dataset(tmp_path / "ds", tmp_path / "hf")
    assert open_dataset(tmp_path / "hf").manifest.corpus["options"] == {"folds": shown}
    assert f"the options `folds={shown}`; the splits are the folds of `{shown}`." in card(tmp_path / "hf")[1]
    for path in (tmp_path / "hf").rglob("*"):
        assert not path.is_file() or str(tmp_path).encode() not in path.read_bytes(), path


def test_shareable_options_keep_relative_paths_and_other_values():
    from mmdata.share.card import shareable_options

    options = {"folds": "folds.json", "dataset": "cmu-mosi", "files": ["/data/c/a.txt", "/srv/b.txt"], "n": 3}
    assert shareable_options(options, "/data/c") == {"folds": "folds.json", "dataset": "cmu-mosi",
                                                     "files": ["a.txt", "b.txt"], "n": 3}
