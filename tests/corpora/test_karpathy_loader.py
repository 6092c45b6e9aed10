"""Karpathy split files: splits, restval, ids shared with the coco/flickr30k loaders, image folders, errors."""
from __future__ import annotations

import json
import shutil

import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError
from tests.fakes.imagetext import write_fake_karpathy


def rewrite(path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def test_split_filters_and_restval_stays_apart_by_default(fake_karpathy):
    counts = {split: len(load_corpus("karpathy", fake_karpathy.root, split=split).samples)
              for split in ("train", "val", "test", "restval")}
    assert counts == {"train": 2, "val": 1, "test": 1, "restval": 1}


def test_restval_as_train_maps_restval_into_train(fake_karpathy):
    options = {"restval_as_train": "true"}
    train = load_corpus("karpathy", fake_karpathy.root, split="train", options=options).samples
    assert len(train) == 3 and {s.split for s in train} == {"train"}
    assert sorted(s.extra["karpathy_split"] for s in train) == ["restval", "train", "train"]
    with pytest.raises(ConfigError, match="restval"):
        load_corpus("karpathy", fake_karpathy.root, split="restval", options=options)


def test_unknown_split_lists_the_karpathy_splits(fake_karpathy):
    with pytest.raises(ConfigError, match=r"unknown Karpathy split 'val2014'.*'train', 'val', 'test', 'restval'"):
        load_corpus("karpathy", fake_karpathy.root, split="val2014")


def test_coco_ids_paths_and_groups_match_the_coco_loader(fake_karpathy):
    # A COCO captions file for the same val2014 images: both kinds must name them identically.
    data = json.loads(fake_karpathy.annotation_file.read_text(encoding="utf-8"))
    val = [i for i in data["images"] if i["filepath"] == "val2014"]
    coco = {"images": [{"id": i["cocoid"], "file_name": i["filename"]} for i in val],
            "annotations": [{"id": s["sentid"], "image_id": i["cocoid"], "caption": s["raw"]}
                            for i in val for s in i["sentences"]]}
    (fake_karpathy.root / "annotations").mkdir()
    (fake_karpathy.root / "annotations" / "captions_val2014.json").write_text(json.dumps(coco), encoding="utf-8")
    ours = {s.sample_id: (s.image, s.group_id, s.captions)
            for s in load_corpus("karpathy", fake_karpathy.root).samples}
    theirs = {s.sample_id: (s.image, s.group_id, s.captions)
              for s in load_corpus("coco", fake_karpathy.root, split="val2014").samples}
    assert len(theirs) == 3 and theirs.items() <= ours.items()
    assert all(len(sid) == 12 and sid.isdigit() for sid in ours)


def test_coco_extra_keeps_native_ids(fake_karpathy):
    sample = min(load_corpus("karpathy", fake_karpathy.root).samples, key=lambda s: s.extra["imgid"])
    assert sample.sample_id == "000000391895" and sample.group_id == "391895"
    assert sample.extra == {"dataset": "coco", "imgid": 0, "cocoid": 391895, "sentids": [0, 1, 2, 3, 4],
                            "karpathy_split": "train"}


@pytest.mark.parametrize(("dataset", "folder"), [
    ("flickr30k", "flickr30k-images"), ("flickr30k", "images"), ("flickr8k", "Flicker8k_Dataset"), ("flickr8k", ""),
])
def test_flickr_images_are_found_in_the_usual_folders(tmp_path, dataset, folder):
    fake = write_fake_karpathy(tmp_path, dataset)
    source = fake.root / ("flickr30k-images" if dataset == "flickr30k" else "Flicker8k_Dataset")
    if folder != source.name:
        for image in list(source.iterdir()):
            (fake.root / folder).mkdir(exist_ok=True)
            shutil.move(image, fake.root / folder / image.name)
        source.rmdir()
    samples = load_corpus("karpathy", fake.root).samples
    assert {s.image for s in samples} == {f"{folder}/{s.sample_id}.jpg".lstrip("/") for s in samples}
    assert all(s.group_id == s.sample_id and not s.sample_id.endswith(".jpg") for s in samples)


def test_image_dir_option_overrides_detection(tmp_path):
    fake = write_fake_karpathy(tmp_path, "flickr30k")
    samples = load_corpus("karpathy", fake.root, options={"image_dir": "elsewhere"}).samples
    assert all(s.image == f"elsewhere/{s.sample_id}.jpg" for s in samples)


def test_several_split_files_need_annotation_file(tmp_path):
    write_fake_karpathy(tmp_path, "flickr30k")
    write_fake_karpathy(tmp_path, "flickr8k")
    with pytest.raises(ConfigError, match="several Karpathy split files.*annotation_file"):
        load_corpus("karpathy", tmp_path)
    chosen = load_corpus("karpathy", tmp_path, options={"annotation_file": "dataset_flickr8k.json"})
    assert {s.extra["dataset"] for s in chosen.samples} == {"flickr8k"}


def test_malformed_entries_name_the_index_path_and_line(fake_karpathy):
    rewrite(fake_karpathy.annotation_file, lambda d: d["images"][2].update(split="holdout"))
    with pytest.raises(CorpusFormatError, match=r"dataset_coco.json:\d+:\d+: images\[2\]\.split: "
                                                r"expected 'split' in \['train', 'val', 'test', 'restval'\], got 'holdout'"):
        load_corpus("karpathy", fake_karpathy.root)
    rewrite(fake_karpathy.annotation_file, lambda d: (d["images"][2].update(split="val"),
                                                      d["images"][1]["sentences"][3].update(raw=None)))
    lines = fake_karpathy.annotation_file.read_text().split("\n")
    raw_line = [n for n, line in enumerate(lines, 1) if '"raw": null' in line][0]
    with pytest.raises(CorpusFormatError, match=rf":{raw_line}:\d+: images\[1\]\.sentences\[3\]\.raw: expected 'raw'"):
        load_corpus("karpathy", fake_karpathy.root)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["images"][0].pop("cocoid"), r"images\[0\]\.cocoid: expected integer 'cocoid'"),
    (lambda d: d["images"][0].pop("filepath"), r"images\[0\]\.filepath: expected 'filepath'"),
    (lambda d: d["images"][0].update(sentences="a caption"), r"images\[0\]\.sentences: expected a list"),
    (lambda d: d.update(images={}), "expected a JSON object with an 'images' list"),
    (lambda d: d["images"][1].update(imgid="1"), r"images\[1\]\.imgid: expected integer 'imgid', got '1'"),
])
def test_wrong_types_raise_format_errors(fake_karpathy, change, message):
    rewrite(fake_karpathy.annotation_file, change)
    with pytest.raises(CorpusFormatError, match=message):
        load_corpus("karpathy", fake_karpathy.root)


def test_duplicate_image_and_foreign_sentence_are_problems(tmp_path):
    fake = write_fake_karpathy(tmp_path, "flickr30k")

    def change(d):
        d["images"].append(dict(d["images"][0], split="test"))
        d["images"][1]["sentences"][0]["imgid"] = 42

    rewrite(fake.annotation_file, change)
    result = load_corpus("karpathy", fake.root)
    assert len(result.samples) == fake.num_examples
    reasons = sorted(p.reason for p in result.problems)
    assert len(reasons) == 2
    assert reasons[0] == ("duplicate image '1000092795' (first at images[0]): it is in split 'train' there and in "
                          "'test' here, a leak between them; kept in 'train', this entry left out")
    assert "sentence names imgid 42 but sits in image imgid 1" in reasons[1]


def test_image_path_escaping_the_root_is_refused(fake_karpathy):
    rewrite(fake_karpathy.annotation_file, lambda d: d["images"][0].update(filepath="../../etc"))
    with pytest.raises(CorpusFormatError, match="outside the corpus root"):
        load_corpus("karpathy", fake_karpathy.root)
    result = load_corpus("karpathy", fake_karpathy.root, options={"allow_outside_root": "true"})
    assert len(result.samples) == fake_karpathy.num_examples
