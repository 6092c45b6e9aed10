"""Flickr8K loader: the official layout and its split files, Kaggle's copy, image folders, options."""
from __future__ import annotations

import json
import shutil

import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusNotFoundError
from tests.fakes.flickr8k import SPLIT_FILE_NAMES, official_name, write_fake_flickr8k

SPLITS = ("train", "train", "val", "test", None)  # the last image is in no split file


def load(root, split=None, **options):
    return load_corpus("flickr8k", root, split=split, options=options)


def test_official_layout_gives_the_published_splits_and_captions_in_index_order(tmp_path):
    fake = write_fake_flickr8k(tmp_path, splits=SPLITS)
    result = load(tmp_path)
    assert result.problems == []
    got = {s.sample_id: (s.image, s.captions, s.split) for s in result.samples}
    assert got == {sid: (e.image, e.captions, e.split) for sid, e in fake.expected.items()}
    first = result.samples[0]  # its captions are written #4 to #0 in the token file
    assert first.sample_id == official_name(0).removesuffix(".jpg")
    assert first.extra["caption_numbers"] == [0, 1, 2, 3, 4] and first.captions[0].startswith("Image ")
    assert {s.corpus for s in result.samples} == {"flickr8k"}
    assert not any("lemma" in c for s in result.samples for c in s.captions)  # the lemmatized file is not read
    assert result.metadata["split_files"] == {"train": "Flickr_8k.trainImages.txt",
                                              "val": "Flickr_8k.devImages.txt", "test": "Flickr_8k.testImages.txt"}


@pytest.mark.parametrize(("split", "indexes"), [("train", [0, 1]), ("val", [2]), ("test", [3]), ("unassigned", [4]),
                                                ("all", [0, 1, 2, 3, 4])])
def test_each_split_loads_only_its_images(tmp_path, split, indexes):
    write_fake_flickr8k(tmp_path, splits=SPLITS)
    result = load(tmp_path, split)
    assert [s.sample_id for s in result.samples] == [official_name(i).removesuffix(".jpg") for i in indexes]
    assert result.problems == []


def test_images_in_no_split_file_are_kept_in_unassigned_with_one_warning(tmp_path, caplog):
    write_fake_flickr8k(tmp_path, splits=("train", None, None))
    with caplog.at_level("WARNING", logger="mmdata.corpora.flickr8k"):
        result = load(tmp_path)
    assert [s.split for s in result.samples] == ["train", "unassigned", "unassigned"]
    assert result.metadata["unassigned"] == 2 and result.problems == []
    [record] = caplog.records
    assert record.getMessage().startswith("2 images with captions are in no split file (e.g. ")
    assert "kept in split 'unassigned'" in record.getMessage()
    caplog.clear()
    with caplog.at_level("WARNING", logger="mmdata.corpora.flickr8k"):
        assert [s.split for s in load(tmp_path, "train").samples] == ["train"]
    assert caplog.records == []  # nothing unassigned is loaded: nothing to warn about


def test_dev_split_is_named_val(tmp_path):
    write_fake_flickr8k(tmp_path)
    with pytest.raises(ConfigError, match=r"split 'dev' is named 'val' here.*Flickr_8k.devImages.txt.*--split val"):
        load(tmp_path, "dev")
    with pytest.raises(ConfigError, match=r"unknown split 'training'; expected one of \['all', 'train'"):
        load(tmp_path, "training")


@pytest.mark.parametrize("image_dir", ["Flicker8k_Dataset", "Flickr8k_Dataset", "Flickr8k_Dataset/Flicker8k_Dataset",
                                       "Images", ""])
def test_images_are_found_in_each_folder_the_releases_use(tmp_path, image_dir):
    fake = write_fake_flickr8k(tmp_path, image_dir=image_dir)
    assert {s.sample_id: s.image for s in load(tmp_path).samples} == {k: e.image for k, e in fake.expected.items()}


def test_the_image_folder_is_found_when_the_first_images_are_missing(tmp_path):
    fake = write_fake_flickr8k(tmp_path, image_dir="Flickr8k_Dataset", missing_images=(0, 1))
    (tmp_path / "Flicker8k_Dataset").mkdir()  # an empty folder of the other spelling, looked in first
    assert [s.image for s in load(tmp_path).samples] == [e.image for e in fake.expected.values()]


def test_kaggle_copy_reads_captions_txt_into_split_all(tmp_path):
    fake = write_fake_flickr8k(tmp_path, "kaggle")
    result = load(tmp_path)
    assert {s.sample_id: (s.image, s.captions, s.split) for s in result.samples} == {
        k: (e.image, e.captions, "all") for k, e in fake.expected.items()}
    with pytest.raises(ConfigError, match=r"split 'train' asked, but no Flickr8K split file .*karpathy_file="):
        load(tmp_path, "train")


def test_kaggle_copy_with_the_official_split_files_gets_their_splits(tmp_path):
    write_fake_flickr8k(tmp_path / "official", splits=SPLITS)
    write_fake_flickr8k(tmp_path / "kaggle", "kaggle", splits=SPLITS)
    shutil.copytree(tmp_path / "official" / "Flickr8k_text", tmp_path / "kaggle" / "Flickr8k_text")
    (tmp_path / "kaggle" / "Flickr8k_text" / "Flickr8k.token.txt").unlink()  # captions.txt is the only captions file
    assert [s.split for s in load(tmp_path / "kaggle").samples] == ["train", "train", "val", "test", "unassigned"]


def test_split_dir_names_where_the_split_files_are(tmp_path):
    write_fake_flickr8k(tmp_path, splits=SPLITS)
    (tmp_path / "splits").mkdir()
    for name in SPLIT_FILE_NAMES.values():
        (tmp_path / "Flickr8k_text" / name).rename(tmp_path / "splits" / name)
    assert {s.split for s in load(tmp_path).samples} == {"all"}  # not found where they are looked for
    assert [s.split for s in load(tmp_path, split_dir="splits").samples] == ["train", "train", "val", "test",
                                                                             "unassigned"]
    with pytest.raises(CorpusNotFoundError, match=r"no Flickr8K split file .* in .*nowhere \(option split_dir\)"):
        load(tmp_path, split_dir="nowhere")


def test_a_missing_split_file_is_warned_about_and_its_split_refused(tmp_path, caplog):
    write_fake_flickr8k(tmp_path, splits=SPLITS)
    (tmp_path / "Flickr8k_text" / "Flickr_8k.testImages.txt").unlink()
    with caplog.at_level("WARNING", logger="mmdata.corpora.flickr8k"):
        result = load(tmp_path)
    assert [s.split for s in result.samples] == ["train", "train", "val", "unassigned", "unassigned"]
    assert any("has no Flickr_8k.testImages.txt" in r.getMessage() for r in caplog.records)
    with pytest.raises(ConfigError, match=r"split 'test' asked, but .* has no Flickr_8k.testImages.txt"):
        load(tmp_path, "test")


def write_karpathy_flickr8k(root, dataset: str, entries: list[tuple[int, str]]) -> str:
    """`dataset_<dataset>.json` listing fake images by index with a split each."""
    images = [{"filename": official_name(i), "imgid": n, "split": split,
               "sentences": [{"raw": f"karpathy sentence of {i}", "tokens": []}]}
              for n, (i, split) in enumerate(entries)]
    path = root / f"dataset_{dataset}.json"
    path.write_text(json.dumps({"dataset": dataset, "images": images}, indent=1), encoding="utf-8")
    return path.name


def test_karpathy_file_gives_the_splits_instead_of_the_split_files(tmp_path):
    fake = write_fake_flickr8k(tmp_path, splits=SPLITS)
    name = write_karpathy_flickr8k(tmp_path, "flickr8k", [(0, "test"), (1, "train"), (2, "val"), (3, "train")])
    result = load(tmp_path, karpathy_file=name)
    assert [s.split for s in result.samples] == ["test", "train", "val", "train", "unassigned"]
    assert [s.captions for s in result.samples] == [e.captions for e in fake.expected.values()]  # captions: token file
    assert [s.sample_id for s in load(tmp_path, "unassigned", karpathy_file=name).samples] == [
        official_name(4).removesuffix(".jpg")]
    with pytest.raises(ConfigError, match="no entry of .* has split 'restval'"):
        load(tmp_path, "restval", karpathy_file=name)
    # the ids are those the karpathy loader gives the same images, so the two kinds join
    karpathy = load_corpus("karpathy", tmp_path, options={"annotation_file": name})
    assert {s.sample_id for s in karpathy.samples} < {s.sample_id for s in result.samples}


def test_a_flickr30k_karpathy_file_is_refused(tmp_path):
    write_fake_flickr8k(tmp_path)
    name = write_karpathy_flickr8k(tmp_path, "flickr30k", [(0, "train")])
    with pytest.raises(ConfigError, match=r"is the Karpathy split file of Flickr30K .*Flickr8K's is dataset_flickr8k"):
        load(tmp_path, karpathy_file=name)


def test_options_captions_file_and_image_dir(tmp_path):
    fake = write_fake_flickr8k(tmp_path / "corpus", image_dir="photos/all")
    (tmp_path / "corpus" / "Flickr8k_text").rename(tmp_path / "corpus" / "text")
    result = load(tmp_path / "corpus", captions_file="text/Flickr8k.token.txt", image_dir="photos/all")
    assert {s.sample_id: (s.image, s.split) for s in result.samples} == {
        k: (e.image, e.split) for k, e in fake.expected.items()}  # split files found next to the captions file
    with pytest.raises(CorpusNotFoundError, match=r"Flickr8K captions file not found: .*nope.txt \(option captions_file\)"):
        load(tmp_path / "corpus", captions_file="nope.txt")
