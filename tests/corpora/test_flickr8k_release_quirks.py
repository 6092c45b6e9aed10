"""Flickr8K's release quirks: the token file's `2258277193_586949ec62.jpg.1`, the lemmatized token file,
split files with CRLF ends and blank lines, images listed twice or without captions; and a Flickr8K
folder given to the `flickr30k` kind."""
from __future__ import annotations

import logging
import re

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from tests.fakes.flickr8k import NUMBERED_NAME, official_name, write_fake_flickr8k

SPLITS = ("train", "train", "val", "test")


def load(root, split=None, **options):
    return load_corpus("flickr8k", root, split=split, options=options)


def stem(i: int) -> str:
    return official_name(i).removesuffix(".jpg")


def test_the_numbered_name_of_the_token_file_is_left_out_and_reported_with_file_and_line(tmp_path):
    fake = write_fake_flickr8k(tmp_path, splits=SPLITS, numbered_name=True)
    result = load(tmp_path)
    assert [s.sample_id for s in result.samples] == [stem(i) for i in range(4)]
    [problem] = result.problems
    first_line = 4 * 5 + 1  # after the 4 images' 5 captions
    assert problem.path == f"{fake.annotation_file}:{first_line}"
    assert problem.sample_id == "2258277193_586949ec62"
    assert problem.reason.startswith(f"{NUMBERED_NAME!r} is not an image file name (expected a name ending in .jpg")
    assert problem.reason.endswith("its 5 captions left out")
    assert load(tmp_path, "train").problems == []  # it is in no split file: not a problem of split train


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_split_files_with_crlf_ends_trailing_blank_lines_and_spaces_read_the_same(tmp_path, ending):
    write_fake_flickr8k(tmp_path, splits=SPLITS, split_file_ending=ending)
    train = tmp_path / "Flickr8k_text" / "Flickr_8k.trainImages.txt"
    train.write_bytes(b"  " + train.read_bytes() + b"\t \r\n\r\n")
    result = load(tmp_path)
    assert [s.split for s in result.samples] == ["train", "train", "val", "test"] and result.problems == []


def test_without_the_token_file_the_lemmatized_one_is_named_not_read(tmp_path):
    write_fake_flickr8k(tmp_path)
    (tmp_path / "Flickr8k_text" / "Flickr8k.token.txt").unlink()
    with pytest.raises(CorpusNotFoundError, match=r"no Flickr8K captions file \(Flickr8k.token.txt, captions.txt\) "
                                                  r".*Flickr8k.lemma.token.txt holds the lemmatized captions, read "
                                                  r"only where captions_file names it"):
        load(tmp_path)


def test_the_lemmatized_file_named_by_captions_file_is_read_with_a_warning(tmp_path, caplog):
    write_fake_flickr8k(tmp_path)
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.flickr8k"):
        result = load(tmp_path, captions_file="Flickr8k_text/Flickr8k.lemma.token.txt")
    assert result.samples[0].captions[0] == f"lemma 0 of {official_name(0)}"
    assert any("holds the lemmatized captions" in r.getMessage() for r in caplog.records)


def append_line(path, line: str) -> int:
    """Append a line to a split file that ends in blank lines; return its line number."""
    lines = path.read_text().rstrip("\n").split("\n") + [line]
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def test_an_image_in_two_split_files_keeps_the_first_and_the_repeat_is_reported(tmp_path):
    write_fake_flickr8k(tmp_path, splits=SPLITS)
    test_file = tmp_path / "Flickr8k_text" / "Flickr_8k.testImages.txt"
    number = append_line(test_file, official_name(0))  # a train image listed in test too
    everything = load(tmp_path)
    assert [s.split for s in everything.samples] == ["train", "train", "val", "test"]
    [problem] = everything.problems
    assert (problem.sample_id, problem.path, problem.error_type) == (stem(0), f"{test_file}:{number}", REPEATED_ENTRY)
    assert re.fullmatch(rf"{official_name(0)} is in split 'train' \(.*Flickr_8k.trainImages.txt:1\) and in 'test' "
                        r"here, a leak between them; kept in 'train', this line ignored", problem.reason)
    [in_test] = load(tmp_path, "test").problems  # the image has no row in split test
    assert in_test.error_type != REPEATED_ENTRY and "which split 'test' leaves out" in in_test.reason
    assert load(tmp_path, "val").problems == []


def test_an_image_listed_twice_in_one_split_file_is_a_duplicate(tmp_path):
    write_fake_flickr8k(tmp_path, splits=SPLITS)
    val_file = tmp_path / "Flickr8k_text" / "Flickr_8k.devImages.txt"
    number = append_line(val_file, official_name(2))
    [problem] = load(tmp_path, "val").problems
    assert problem.path == f"{val_file}:{number}" and problem.error_type == REPEATED_ENTRY
    assert problem.reason == f"{official_name(2)} is listed again (first at {val_file}:1); this line ignored"


def test_an_image_listed_without_captions_is_reported_in_its_split(tmp_path):
    write_fake_flickr8k(tmp_path, splits=SPLITS)
    val_file = tmp_path / "Flickr8k_text" / "Flickr_8k.devImages.txt"
    number = append_line(val_file, "9999999999_0123456789.jpg")
    [problem] = load(tmp_path, "val").problems
    assert (problem.sample_id, problem.path) == ("9999999999_0123456789", f"{val_file}:{number}")
    assert problem.reason == ("9999999999_0123456789.jpg is listed in split 'val' but has no caption in "
                              "Flickr8k.token.txt; left out")
    assert load(tmp_path, "train").problems == []


def test_a_split_file_line_that_is_not_one_file_name_names_file_and_line(tmp_path):
    write_fake_flickr8k(tmp_path, splits=SPLITS)
    train = tmp_path / "Flickr8k_text" / "Flickr_8k.trainImages.txt"
    train.write_text(f"{official_name(0)}\n{official_name(1)}#0\tA caption .\n")
    with pytest.raises(CorpusFormatError, match=re.escape(f"{train}:2: expected one image file name per line")):
        load(tmp_path)


def test_flickr30k_on_the_official_flickr8k_folder_names_the_flickr8k_kind(tmp_path):
    write_fake_flickr8k(tmp_path)
    with pytest.raises(CorpusNotFoundError, match=r"no Flickr30K captions file .*; this looks like Flickr8K "
                                                  r"\(Flickr8k_text/Flickr8k.token.txt is there\): use the corpus "
                                                  r"kind flickr8k"):
        load_corpus("flickr30k", tmp_path)


def test_flickr30k_on_kaggles_flickr8k_copy_loads_and_warns_naming_flickr8k(tmp_path, caplog):
    fake = write_fake_flickr8k(tmp_path, "kaggle")
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.flickr30k"):
        result = load_corpus("flickr30k", tmp_path)
    assert {s.sample_id: s.captions for s in result.samples} == {k: e.captions for k, e in fake.expected.items()}
    [record] = caplog.records
    assert "look like Flickr8K's" in record.getMessage() and "`mmdata extract flickr8k`" in record.getMessage()
