"""COCO captions loader: options, problems, strict errors with file:line, paths kept inside the root."""
from __future__ import annotations

import json
import os

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.pipeline import prepare_dataset
from tests.fakes.imagetext import write_fake_coco


def rewrite(path, change) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return data


def line_of(path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().split("\n"), 1) if text in line)


def test_one_sample_per_image_with_all_captions_in_annotation_order(fake_coco):
    result = load_corpus("coco", fake_coco.root, split="val2017")
    by_id = {s.sample_id: s for s in result.samples}
    assert [len(by_id[sid].captions) for sid in sorted(by_id)] == [5, 6, 7]
    sample = by_id["000000000100"]
    assert sample.captions == fake_coco.expected["000000000100"].captions
    assert sample.group_id == "100"
    assert sample.extra == {"image_id": 100, "width": 10, "height": 10,
                            "caption_ids": [1000, 1003, 1006, 1009, 1012]}


def test_images_without_captions_are_dropped_with_a_problem_or_kept_by_option(tmp_path):
    fake = write_fake_coco(tmp_path, captions_per_image=(5, 5), uncaptioned=1)
    dropped = load_corpus("coco", fake.root, split="val2017")
    assert len(dropped.samples) == 2
    assert [(p.sample_id, "no captions" in p.reason) for p in dropped.problems] == [("000000000114", True)]
    kept = load_corpus("coco", fake.root, split="val2017", options={"keep_images_without_captions": "true"})
    assert {s.sample_id: s.captions for s in kept.samples}["000000000114"] == ()
    assert kept.problems == []


def test_caption_of_unknown_image_is_a_problem_naming_its_line(fake_coco):
    rewrite(fake_coco.annotation_file,
            lambda d: d["annotations"].append({"image_id": 999, "id": 5000, "caption": "orphan"}))
    result = load_corpus("coco", fake_coco.root, split="val2017")
    assert len(result.samples) == 3
    [problem] = result.problems
    line = line_of(fake_coco.annotation_file, '"image_id": 999') - 1  # the object's opening brace
    assert problem.path.startswith(f"{fake_coco.annotation_file}:{line}:")
    assert "annotations[18]" in problem.path and "unknown image id 999" in problem.reason


def test_duplicate_image_id_is_a_problem_and_the_first_entry_wins(fake_coco):
    rewrite(fake_coco.annotation_file,
            lambda d: d["images"].append({"id": 100, "file_name": "other.jpg"}))
    result = load_corpus("coco", fake_coco.root, split="val2017")
    assert {s.sample_id: s.image for s in result.samples}["000000000100"] == "val2017/000000000100.jpg"
    [problem] = result.problems
    assert problem.sample_id == "000000000100" and "duplicate image id 100" in problem.reason
    assert "images[3]" in problem.path


def test_duplicate_caption_id_is_a_problem(fake_coco):
    rewrite(fake_coco.annotation_file,
            lambda d: d["annotations"].append({"image_id": 100, "id": 1000, "caption": "again"}))
    result = load_corpus("coco", fake_coco.root, split="val2017")
    assert "again" not in {c for s in result.samples for c in s.captions}
    assert ["duplicate caption id 1000" in p.reason for p in result.problems] == [True]


def test_malformed_entry_names_file_line_index_and_value(fake_coco):
    rewrite(fake_coco.annotation_file, lambda d: d["images"][1].update(id="one-hundred-seven"))
    line = line_of(fake_coco.annotation_file, '"one-hundred-seven"') - 1
    with pytest.raises(CorpusFormatError, match=rf"captions_val2017.json:{line}:\d+: images\[1\]: "
                                                r"expected integer 'id', got 'one-hundred-seven'"):
        load_corpus("coco", fake_coco.root, split="val2017")


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("images"), "expected key 'images' holding a list of image objects .*, got no such key"),
    (lambda d: d.pop("annotations"), r"captions_val2017.json:1:1: expected key 'annotations' holding a list of caption "
                                     r"objects \(id, image_id, caption\), got no such key; is this a COCO captions file"),
    (lambda d: d.update(annotations={"a": 1}), "expected key 'annotations' holding a list of caption objects .*, got dict"),
    (lambda d: d["annotations"][0].update(caption=["a", "list"]), r"annotations\[0\]: expected 'caption' as a string"),
    (lambda d: d["annotations"][1].pop("caption"),
     r"annotations\[1\]: expected 'caption' as a string, got nothing \(the key is missing or null\)"),
    (lambda d: d["annotations"][2].update(image_id=True), r"annotations\[2\]: expected integer 'image_id', got True"),
    (lambda d: d["images"][0].update(file_name=""), r"images\[0\]: expected 'file_name' as a non-empty string"),
    (lambda d: d["images"].insert(0, "not an object"), r"images\[0\]: expected an object"),
])
def test_wrong_types_raise_format_errors(fake_coco, change, message):
    rewrite(fake_coco.annotation_file, change)
    with pytest.raises(CorpusFormatError, match=message):
        load_corpus("coco", fake_coco.root, split="val2017")


def test_image_path_escaping_the_root_is_refused_unless_allowed(fake_coco, tmp_path):
    rewrite(fake_coco.annotation_file, lambda d: d["images"][0].update(file_name="../../secret.jpg"))
    with pytest.raises(CorpusFormatError, match="outside the corpus root.*allow_outside_root=true"):
        load_corpus("coco", fake_coco.root, split="val2017")
    result = load_corpus("coco", fake_coco.root, split="val2017", options={"allow_outside_root": "true"})
    outside = {s.sample_id: s.image for s in result.samples}["000000000100"]
    assert os.path.isabs(outside) and outside == str((fake_coco.root.parent / "secret.jpg").resolve())  # val2017/../../


def test_symlinked_image_folder_pointing_outside_is_refused(tmp_path):
    fake = write_fake_coco(tmp_path / "elsewhere", image_dir="val2017")
    root = tmp_path / "corpus"
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "captions_val2017.json").write_bytes(fake.annotation_file.read_bytes())
    (root / "val2017").symlink_to(fake.root / "val2017", target_is_directory=True)
    with pytest.raises(CorpusFormatError, match="outside the corpus root"):
        load_corpus("coco", root, split="val2017")
    assert len(load_corpus("coco", root, split="val2017", options={"allow_outside_root": "1"}).samples) == 3


def test_split_none_loads_every_caption_file_of_one_release(tmp_path):
    write_fake_coco(tmp_path, split="train2017", captions_per_image=(5,), first_id=500)
    write_fake_coco(tmp_path, split="val2017", captions_per_image=(5, 5))
    result = load_corpus("coco", tmp_path)
    assert sorted((s.split, s.image) for s in result.samples) == [
        ("train2017", "train2017/000000000500.jpg"), ("val2017", "val2017/000000000100.jpg"),
        ("val2017", "val2017/000000000107.jpg")]
    assert result.problems == []


def test_split_none_with_two_releases_asks_for_a_split(tmp_path):
    write_fake_coco(tmp_path, split="val2014", captions_per_image=(5,))
    write_fake_coco(tmp_path, split="val2017", captions_per_image=(5,))
    with pytest.raises(ConfigError, match="several COCO releases.*2014, 2017"):
        load_corpus("coco", tmp_path)
    assert [s.image for s in load_corpus("coco", tmp_path, split="val2014").samples] == ["val2014/000000000100.jpg"]


def test_same_image_in_two_split_files_is_a_problem(tmp_path):
    write_fake_coco(tmp_path, split="train2017", captions_per_image=(5,))
    write_fake_coco(tmp_path, split="val2017", captions_per_image=(5,))  # the same image id 100
    result = load_corpus("coco", tmp_path)
    assert [s.split for s in result.samples] == ["train2017"]
    assert [p.reason for p in result.problems] == [
        "image id 100 is in captions_train2017.json (split train2017) and in captions_val2017.json (split val2017): "
        "an image in two splits leaks between them; kept in train2017, this entry and its 5 captions left out "
        "(remove it from one of the files, or extract one split with --split)"]
    assert [p.error_type for p in result.problems] == [REPEATED_ENTRY]


def test_missing_split_file_names_what_was_looked_for(fake_coco):
    with pytest.raises(CorpusNotFoundError, match="captions_train2017.json not found"):
        load_corpus("coco", fake_coco.root, split="train2017")


def test_image_dir_option_and_images_folder_are_used(tmp_path):
    fake = write_fake_coco(tmp_path / "a", image_dir="images")
    assert {s.image for s in load_corpus("coco", fake.root, split="val2017").samples} == {
        e.image for e in fake.expected.values()}
    custom = load_corpus("coco", fake.root, split="val2017", options={"image_dir": "pics/"})
    assert all(s.image.startswith("pics/") for s in custom.samples)


def test_loader_problems_become_errors_table_rows(fake_coco, tmp_path):
    rewrite(fake_coco.annotation_file,
            lambda d: d["annotations"].append({"image_id": 999, "id": 5000, "caption": "orphan"}))
    dataset = prepare_dataset("coco", fake_coco.root, tmp_path / "out", split="val2017")
    errors = dataset.errors().to_pylist()
    assert len(errors) == 1 and "unknown image id 999" in json.dumps(errors)
    with pytest.raises(CorpusFormatError, match="unknown image id 999"):
        prepare_dataset("coco", fake_coco.root, tmp_path / "out2", split="val2017", on_error="fail")


def test_a_captions_file_without_annotations_fails_the_extraction(tmp_path):
    from typer.testing import CliRunner

    from mmdata.cli import app
    from tests.sample_corpus import copy_sample_corpus

    corpus = copy_sample_corpus("coco", tmp_path)
    rewrite(corpus / "annotations" / "captions_val2017.json", lambda d: d.pop("annotations"))
    result = CliRunner().invoke(app, ["extract", "coco", str(corpus), str(tmp_path / "out"), "--image", "color-hist", "-q"])
    assert result.exit_code == 2 and "expected key 'annotations' holding a list" in result.output
    assert not (tmp_path / "out").exists()
