"""The shipped recipes run as their first lines say, on the sample corpora mmdata embeds (and a fake
Karpathy split and manifest): the tables, dims and rows they promise; a second run resumes and writes
nothing; the model recipes read weights from the torch hub cache only, and say how to get them."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import mmdata
from mmdata.cli import app
from mmdata.sample_data import sample_corpus_dir
from tests.fakes import write_jpeg
from tests.fakes.imagetext import write_fake_karpathy
from tests.recipes.refusals import refusal

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
runner = CliRunner()


def _extract(recipe: str, corpus: Path, out: Path, *flags: str) -> str:
    result = runner.invoke(app, ["extract", str(RECIPES / recipe), str(corpus), str(out), "-q", *flags])
    assert result.exit_code == 0, result.output
    return result.output


def _shards(out: Path) -> dict[str, int]:
    """Every table file (samples, features, statistics) and when it was written."""
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.parent != out}


def test_the_colorhist_minilm_recipe_writes_what_it_says_and_a_second_run_writes_nothing(tmp_path):
    out = tmp_path / "coco-val2017"
    _extract("coco-colorhist-minilm.toml", sample_corpus_dir("coco"), out, "--split", "val2017")
    data = mmdata.open_dataset(out)
    dims = {name: data.table_metadata(name)["spec"]["dim"] for name in data.table_names}
    assert dims == {"image.color-hist": 48, "image.pixel-stats": 12, "text.minilm": 384, "text.minilm.caption": 384}
    assert all(data.read_table(name).num_rows == 8 for name in dims) and data.errors().num_rows == 0
    shards, manifest = _shards(out), (out / "mmdata.json").read_text()
    again = _extract("coco-colorhist-minilm.toml", sample_corpus_dir("coco"), out, "--split", "val2017")
    assert again.count("0 shards written, 1 already done") == 4
    assert _shards(out) == shards and (out / "mmdata.json").read_text() == manifest  # nothing written twice or added


def test_the_manifest_recipe_runs_on_a_manifest_named_as_its_comment_does(tmp_path):
    corpus = tmp_path / "my-corpus"
    write_jpeg(corpus / "a.jpg", seed=1)
    write_jpeg(corpus / "b.jpg", seed=2)
    (corpus / "train.jsonl").write_text('{"image": "a.jpg", "text": "a red cat"}\n{"image": "b.jpg", "text": "a dog"}\n')
    out = tmp_path / "out"
    _extract("manifest-colorhist-hashedbow.toml", corpus, out, "-o", "manifest_file=train.jsonl")
    data = mmdata.open_dataset(out)
    assert sorted(data.table_names) == ["image.color-hist", "text.hashed-bow", "text.tokens"]
    assert all(data.read_table(name).num_rows == 2 for name in data.table_names) and data.errors().num_rows == 0


@pytest.fixture
def empty_hub(tmp_path, monkeypatch) -> Path:
    """A torch hub cache with no weights in it (torch.hub.get_dir() follows TORCH_HOME)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.mark.parametrize(("recipe", "corpus", "weights"), [
    ("coco-resnet50-minilm.toml", "coco", "resnet50-11ad3fa6.pth"),
    ("karpathy-coco-resnet50-minilm.toml", "coco", "resnet50-11ad3fa6.pth"),
    ("flickr30k-vitb16-minilm.toml", "flickr30k", "vit_b_16-c867db91.pth"),
])
def test_a_model_recipe_without_weights_says_where_to_put_them_and_writes_nothing(
        empty_hub, tmp_path, monkeypatch, recipe, corpus, weights):
    monkeypatch.chdir(tmp_path)
    line = refusal(RECIPES / recipe, corpus=sample_corpus_dir(corpus))
    assert f"not found at {empty_hub / weights}; mmdata never downloads. Fetch them with `curl" in line


def test_the_resnet50_recipes_read_the_weights_from_the_hub_cache(empty_hub, tmp_path):
    import torch
    import torchvision

    empty_hub.mkdir(parents=True)
    torch.save(torchvision.models.resnet50().state_dict(), empty_hub / "resnet50-11ad3fa6.pth")
    karpathy = write_fake_karpathy(tmp_path / "karpathy", "coco")
    for recipe, corpus, split, rows in [("coco-resnet50-minilm.toml", sample_corpus_dir("coco"), "val2017", 8),
                                        ("karpathy-coco-resnet50-minilm.toml", karpathy.root, "test", 1)]:
        out = tmp_path / recipe
        _extract(recipe, corpus, out, "--split", split)
        data = mmdata.open_dataset(out)
        assert sorted(data.table_names) == ["image.resnet50", "text.minilm", "text.minilm.caption"]
        assert data.table_metadata("image.resnet50")["spec"]["dim"] == 2048
        assert all(data.read_table(name).num_rows == rows for name in data.table_names) and data.errors().num_rows == 0
