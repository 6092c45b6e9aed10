"""An absolute `image_dir` option is the folder it names: COCO, Flickr30K and Karpathy loaders kept only
its leading '/' off, so `/data/imgs` became the corpus root's `data/imgs` and every image failed."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError, UnknownCorpusError
from tests.fakes.imagetext import write_fake_coco, write_fake_flickr30k, write_fake_karpathy


def _corpus_with_images_elsewhere(tmp_path: Path, kind: str) -> tuple[Path, Path]:
    """(corpus root, absolute folder outside it holding the corpus's images)."""
    root = tmp_path / "corpus"
    if kind == "coco":
        write_fake_coco(root, image_dir="val2017")
        images = root / "val2017"
    elif kind == "flickr30k":
        write_fake_flickr30k(root, "csv", image_dir="flickr30k-images")
        images = root / "flickr30k-images"
    else:
        write_fake_karpathy(root, "flickr30k")
        images = root / "flickr30k-images"
    elsewhere = tmp_path / "elsewhere" / "imgs"
    elsewhere.parent.mkdir(parents=True)
    shutil.move(images, elsewhere)
    return root, elsewhere


@pytest.mark.parametrize("kind", ["coco", "flickr30k", "karpathy"])
def test_an_absolute_image_dir_outside_the_root_names_existing_files(tmp_path, kind):
    root, elsewhere = _corpus_with_images_elsewhere(tmp_path, kind)
    options = {"image_dir": f"{elsewhere}/", "allow_outside_root": True}
    samples = load_corpus(kind, root, split="val2017" if kind == "coco" else None, options=options).samples
    assert samples
    for sample in samples:
        assert Path(sample.image).is_absolute() and Path(sample.image).parent == elsewhere.resolve()
        assert Path(sample.image).is_file()


@pytest.mark.parametrize("kind", ["coco", "flickr30k", "karpathy"])
def test_an_absolute_image_dir_outside_the_root_needs_allow_outside_root(tmp_path, kind):
    root, elsewhere = _corpus_with_images_elsewhere(tmp_path, kind)
    with pytest.raises(CorpusFormatError, match=r"points outside the corpus root .*allow_outside_root=true"):
        load_corpus(kind, root, split="val2017" if kind == "coco" else None, options={"image_dir": str(elsewhere)})


def test_an_absolute_image_dir_inside_the_root_gives_paths_relative_to_it(tmp_path):
    fake = write_fake_coco(tmp_path / "corpus", image_dir="images")
    samples = load_corpus("coco", fake.root, split="val2017", options={"image_dir": str(fake.root / "images")}).samples
    assert {s.image for s in samples} == {e.image for e in fake.expected.values()}


def test_a_misspelt_corpus_kind_suggests_the_right_one(tmp_path):
    with pytest.raises(UnknownCorpusError, match=r"unknown corpus kind 'cocoo'; available: \[.*\]; did you mean 'coco'\?$"):
        load_corpus("cocoo", tmp_path)
