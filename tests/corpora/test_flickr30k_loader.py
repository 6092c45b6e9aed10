"""Flickr30K loader: token-file edge cases, the results.csv variant and its known quirk, Karpathy splits."""
from __future__ import annotations

import shutil

import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.sample_data import sample_corpus_dir
from tests.fakes import write_jpeg
from tests.fakes.imagetext import write_fake_flickr30k, write_fake_karpathy


def write_token(root, text: str):
    root.mkdir(parents=True, exist_ok=True)
    (root / "results_20130124.token").write_text(text, encoding="utf-8")
    return root


def captions_of(root, **options) -> dict[str, tuple[str, ...]]:
    return {s.sample_id: s.captions for s in load_corpus("flickr30k", root, options=options).samples}


def test_two_digit_indexes_split_on_the_last_hash_and_order_by_index(tmp_path):
    lines = [f"1000092795.jpg#{k}\tcaption {k}" for k in (10, 2, 0, 11, 1, 3, 4, 5, 6, 7, 8, 9)]
    root = write_token(tmp_path, "\n".join(lines) + "\n")
    assert captions_of(root) == {"1000092795": tuple(f"caption {k}" for k in range(12))}


def test_hash_inside_file_name_is_kept(tmp_path):
    root = write_token(tmp_path, "odd#name.jpg#0\tfirst\nodd#name.jpg#1\tsecond\n")
    [sample] = load_corpus("flickr30k", root).samples
    assert (sample.sample_id, sample.image, sample.captions) == ("odd#name", "odd#name.jpg", ("first", "second"))


def test_tab_inside_caption_blank_lines_and_crlf(tmp_path):
    root = write_token(tmp_path, "\n1.jpg#0\ta dog\tand a cat\r\n\n   \n1.jpg#1\t  trailing spaces  \r\n")
    assert captions_of(root) == {"1": ("a dog\tand a cat", "trailing spaces")}


@pytest.mark.parametrize(("line", "number"), [
    ("1.jpg#0 no tab here", 2), ("1.jpg#x\tcaption", 2), ("1.jpg\tno index", 2), ("#0\tno image", 2),
])
def test_malformed_token_lines_name_file_line_and_text(tmp_path, line, number):
    root = write_token(tmp_path, "1.jpg#1\tfine\n" + line + "\n")
    with pytest.raises(CorpusFormatError, match=rf"results_20130124.token:{number}: expected "
                                                r"'<image>#<n>\\t<caption>', got"):
        load_corpus("flickr30k", root)


def test_duplicate_index_and_empty_caption_are_problems(tmp_path):
    root = write_token(tmp_path, "1.jpg#0\tfirst\n1.jpg#0\tagain\n1.jpg#1\t   \n")
    result = load_corpus("flickr30k", root)
    assert [s.captions for s in result.samples] == [("first",)]
    assert [(p.path.rsplit(":", 1)[1], p.reason.split(";")[0]) for p in result.problems] == [
        ("2", "duplicate caption #0 of 1.jpg"), ("3", "empty caption")]


def test_results_csv_matches_the_token_file(tmp_path):
    token = write_fake_flickr30k(tmp_path / "token", "token")
    csv = write_fake_flickr30k(tmp_path / "csv", "csv")
    assert captions_of(token.root) == captions_of(csv.root) == {k: e.captions for k, e in csv.expected.items()}


def test_results_csv_row_missing_a_delimiter_is_reported_with_file_line(tmp_path):
    fake = write_fake_flickr30k(tmp_path, "csv")
    lines = fake.annotation_file.read_text().split("\n")
    lines[5] = "1000092795.jpg| 4 A dog runs across the grass ."  # the quirk of the real Kaggle file
    fake.annotation_file.write_text("\n".join(lines))
    result = load_corpus("flickr30k", fake.root)
    assert len(result.samples) == 3
    captions = {s.sample_id: s for s in result.samples}["1000092795"].captions
    assert len(captions) == 5 and captions[4] == "A dog runs across the grass ."  # the caption is kept
    [problem] = result.problems
    assert problem.path == f"{fake.annotation_file}:6" and problem.sample_id == "1000092795"
    assert "expected 3 '|'-separated fields" in problem.reason and "A dog runs" in problem.reason
    assert "read as comment_number and comment" in problem.reason


def test_results_csv_row_missing_a_delimiter_and_its_number_is_skipped(tmp_path):
    (tmp_path / "results.csv").write_text("image_name| comment_number| comment\n1.jpg| 0| a dog\n1.jpg| a cat\n")
    result = load_corpus("flickr30k", tmp_path)
    assert [s.captions for s in result.samples] == [("a dog",)]
    [problem] = result.problems
    assert "row skipped (add the missing '|' to keep it)" in problem.reason


def test_results_csv_pipe_inside_comment_is_kept(tmp_path):
    root = tmp_path
    (root / "results.csv").write_text("image_name| comment_number| comment\n1.jpg| 0| a | b\n")
    assert captions_of(root) == {"1": ("a | b",)}


@pytest.mark.parametrize(("text", "message"), [
    ("image| number| comment\n", r"results.csv:1: expected the header 'image_name\| comment_number\| comment'"),
    ("image_name| comment_number| comment\n1.jpg| one| a dog\n", r"results.csv:2: expected an integer comment_number"),
    ("\n\n", r"results.csv:1: empty file"),
])
def test_results_csv_errors(tmp_path, text, message):
    (tmp_path / "results.csv").write_text(text)
    with pytest.raises(CorpusFormatError, match=message):
        load_corpus("flickr30k", tmp_path)


def test_kaggle_layout_is_found_automatically(tmp_path):
    fake = write_fake_flickr30k(tmp_path / "staging", "csv", image_dir="")
    root = tmp_path / "kaggle"
    (root / "flickr30k_images" / "flickr30k_images").mkdir(parents=True)
    shutil.move(fake.annotation_file, root / "flickr30k_images" / "results.csv")
    for image in fake.root.glob("*.jpg"):
        shutil.move(image, root / "flickr30k_images" / "flickr30k_images" / image.name)
    samples = load_corpus("flickr30k", root).samples
    assert {s.image for s in samples} == {f"flickr30k_images/flickr30k_images/{k}.jpg" for k in fake.expected}


def test_splits_come_from_a_karpathy_file(tmp_path):
    fake = write_fake_flickr30k(tmp_path, "token", num_images=4)
    karpathy = write_fake_karpathy(tmp_path / "k", "flickr30k", splits=("train", "val", "test"))
    shutil.move(karpathy.annotation_file, fake.root / "dataset_flickr30k.json")
    options = {"karpathy_file": "dataset_flickr30k.json"}
    everything = load_corpus("flickr30k", fake.root, options=options)
    assert sorted(s.split for s in everything.samples) == ["all", "test", "train", "val"]
    [problem] = everything.problems
    assert "not in dataset_flickr30k.json; kept with split 'all'" in problem.reason
    val = load_corpus("flickr30k", fake.root, split="val", options=options)
    assert [s.sample_id for s in val.samples] == ["1000093808"]


def test_split_without_karpathy_file_is_a_config_error(fake_flickr30k):
    assert len(load_corpus("flickr30k", fake_flickr30k.root, split="all").samples) == 3
    with pytest.raises(ConfigError, match="carry no split.*karpathy_file"):
        load_corpus("flickr30k", fake_flickr30k.root, split="train")
    with pytest.raises(CorpusNotFoundError, match="Karpathy split file not found"):
        load_corpus("flickr30k", fake_flickr30k.root, split="train", options={"karpathy_file": "nope.json"})


def test_same_stem_twice_is_a_problem(tmp_path):
    root = write_token(tmp_path, "1.jpg#0\ta\n1.png#0\tb\n")
    result = load_corpus("flickr30k", root)
    assert [(s.image, s.captions) for s in result.samples] == [("1.jpg", ("a",))]
    assert ["same sample id '1'" in p.reason for p in result.problems] == [True]


def test_image_names_escaping_the_root_are_refused(tmp_path):
    write_jpeg(tmp_path / "outside.jpg")
    root = write_token(tmp_path / "corpus", "../outside.jpg#0\tescape\n")
    with pytest.raises(CorpusFormatError, match=r"results_20130124.token:1: media path '\.\./outside.jpg' points outside"):
        load_corpus("flickr30k", root)
    [sample] = load_corpus("flickr30k", root, options={"allow_outside_root": "true"}).samples
    assert sample.image == str((tmp_path / "outside.jpg").resolve())


def test_embedded_sample_corpus_loads():
    root = sample_corpus_dir("flickr30k")
    lines = [line for line in (root / "results_20130124.token").read_text().split("\n") if line.strip()]
    result = load_corpus("flickr30k", root)
    assert len(result.samples) == 8 and result.problems == []
    assert sum(len(s.captions) for s in result.samples) == len(lines)
    assert all((root / s.image).is_file() and s.image.startswith("flickr30k-images/") for s in result.samples)
