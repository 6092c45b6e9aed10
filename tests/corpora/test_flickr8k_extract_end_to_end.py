"""`mmdata extract flickr8k` on the official layout, end to end: rows, splits, captions in index order,
the token file's numbered name and a missing image in the errors table, and `--split` as the split files say."""
from __future__ import annotations

import json

import pytest

from mmdata.checks import check_dataset
from tests.corpora.cli_extract import run_extract
from tests.fakes.flickr8k import official_name, write_fake_flickr8k

SPLITS = ("train", "train", "val", "test", None)
MISSING = 3  # the test image has no JPEG
COLORS_AND_WORDS = ("--image", "color-hist:bins=4", "--text", "hashed-bow")  # the features extracted


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flickr8k")
    fake = write_fake_flickr8k(tmp / "corpus", splits=SPLITS, numbered_name=True, missing_images=(MISSING,))
    return fake, run_extract("flickr8k", fake.root, tmp / "out", COLORS_AND_WORDS)


def test_every_captioned_image_is_a_row_in_its_split_with_captions_in_index_order(extracted):
    fake, data = extracted
    samples = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert {sid: (row["split"], row["image"], tuple(row["captions"]), row["corpus"]) for sid, row in samples.items()} \
        == {sid: (e.split, e.image, e.captions, "flickr8k") for sid, e in fake.expected.items()}
    first = samples[official_name(0).removesuffix(".jpg")]  # its token lines run #4 to #0
    assert json.loads(first["extra"])["caption_numbers"] == [0, 1, 2, 3, 4]
    assert [e.split for e in fake.expected.values()] == ["train", "train", "val", "test", "unassigned"]


def test_feature_tables_have_every_row_and_the_missing_image_and_numbered_name_are_in_the_errors_table(extracted):
    fake, data = extracted
    image_ids, _ = data.to_numpy("image.color-hist")
    text_ids, text = data.to_numpy("text.hashed-bow")
    everyone = sorted(fake.expected)
    missing = official_name(MISSING).removesuffix(".jpg")
    assert sorted(text_ids) == everyone and text.shape == (5, 1024)
    assert sorted(image_ids) == [sid for sid in everyone if sid != missing]
    errors = sorted(data.errors().to_pylist(), key=lambda e: e["table"])
    assert [(e["table"], e["sample_id"], e["error_type"]) for e in errors] == [
        ("image.color-hist", missing, "MediaError"), ("loader", "2258277193_586949ec62", "CorpusFormatError")]
    assert errors[0]["reason"].startswith("image file not found: ") and errors[0]["path"] == fake.expected[missing].image
    assert errors[1]["path"] == f"{fake.annotation_file}:26"  # after 5 images x 5 captions
    assert "'2258277193_586949ec62.jpg.1' is not an image file name" in errors[1]["reason"]
    issues = {i.code: i for i in check_dataset(data.root).issues}
    assert issues["loader-errors"].severity == "warning" and issues["feature-failed"].severity == "warning"


def test_split_train_holds_the_train_file_images_and_no_error_of_other_splits(extracted, tmp_path):
    fake, _ = extracted
    data = run_extract("flickr8k", fake.root, tmp_path / "train", COLORS_AND_WORDS, "--split", "train")
    assert data.samples_table().column("sample_id").to_pylist() == [official_name(i).removesuffix(".jpg") for i in (0, 1)]
    assert data.errors().num_rows == 0  # the missing image is in test, the numbered name in no split
