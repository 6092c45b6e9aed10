"""COCO, Karpathy and Flickr30K files as re-exports and downloads deviate from the releases: COCO
`file_name`s that carry their folder, ids written as strings, blank Karpathy sentences, BOMs and CRLF
line endings in the Flickr30K caption files. Every caption must be kept once, under the id the release gives.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdata.checks import check_dataset
from mmdata.corpora import load_corpus
from mmdata.pipeline import extract
from tests.fakes import write_jpeg

IDS = (391895, 522418, 184613)


def coco_document(file_name, *, as_text: bool = False) -> dict:
    """A captions file of val2014 with two captions per image; `as_text`: every id a string of digits."""
    ident = (lambda i: f"{i:012d}" if i > 1000 else str(i)) if as_text else (lambda i: i)
    images = [{"license": 3, "file_name": file_name(i), "height": 10, "width": 10, "id": ident(i)} for i in IDS]
    annotations = [{"image_id": ident(i), "id": ident(1 + 2 * n + k), "caption": f" Image {i}, caption {k}.\n"}
                   for k in range(2) for n, i in enumerate(IDS)]
    return {"info": {"year": 2014}, "licenses": [], "images": images, "annotations": annotations}


def write_coco(root: Path, file_name, image_folder: str, **kwargs) -> None:
    path = root / "annotations" / "captions_val2014.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(coco_document(file_name, **kwargs), indent=2), encoding="utf-8")
    for n, i in enumerate(IDS):
        write_jpeg(root / image_folder / f"COCO_val2014_{i:012d}.jpg", seed=n)


def plain(i: int) -> str:
    return f"COCO_val2014_{i:012d}.jpg"


def prefixed(i: int) -> str:
    return f"val2014/COCO_val2014_{i:012d}.jpg"


def summary(root: Path) -> dict:
    result = load_corpus("coco", root, split="val2014")
    assert result.problems == []
    return {s.sample_id: (s.image, s.group_id, s.captions, s.extra["image_id"], s.extra["caption_ids"])
            for s in result.samples}


@pytest.mark.parametrize("image_folder", ["val2014", "images/val2014"])
def test_coco_file_name_carrying_its_folder_is_not_put_under_it_twice(tmp_path, image_folder):
    write_coco(tmp_path / "release", plain, image_folder)
    write_coco(tmp_path / "export", prefixed, image_folder)
    release, export = summary(tmp_path / "release"), summary(tmp_path / "export")
    assert export == release
    assert {s[0] for s in export.values()} == {f"{image_folder}/{plain(i)}" for i in IDS}
    assert all((tmp_path / "export" / s[0]).is_file() for s in export.values())


def test_coco_folder_doubled_on_disk_is_kept(tmp_path):
    """`val2014.zip` unpacked inside a `val2014/` folder: the file names' folder is really there twice."""
    write_coco(tmp_path, prefixed, "val2014/val2014")
    assert {s[0] for s in summary(tmp_path).values()} == {f"val2014/{prefixed(i)}" for i in IDS}


def test_coco_file_names_with_their_folder_extract_and_pass_check(tmp_path):
    write_coco(tmp_path / "coco", prefixed, "val2014")
    report = extract("coco", tmp_path / "coco", tmp_path / "out", split="val2014",
                     extractors=["color-hist:bins=4"], num_workers=0)
    assert report.samples == 3 and [(t.rows, t.errors) for t in report.tables] == [(3, 0)]
    assert check_dataset(tmp_path / "out").ok


def test_coco_ids_written_as_strings_give_the_release_samples(tmp_path):
    write_coco(tmp_path / "release", plain, "val2014")
    write_coco(tmp_path / "export", plain, "val2014", as_text=True)
    export = summary(tmp_path / "export")
    assert export == summary(tmp_path / "release")
    assert sorted(export) == [f"{i:012d}" for i in sorted(IDS)]
    assert export["000000391895"][2:] == (("Image 391895, caption 0.", "Image 391895, caption 1."), 391895, [1, 2])


def test_coco_string_and_integer_ids_name_the_same_image(tmp_path):
    write_coco(tmp_path, plain, "val2014")
    path = tmp_path / "annotations" / "captions_val2014.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    for annotation in document["annotations"]:
        annotation["image_id"] = str(annotation["image_id"])
    document["annotations"].append({"image_id": "391895", "id": "4", "caption": "A repeated id."})
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    result = load_corpus("coco", tmp_path, split="val2014")
    assert [len(s.captions) for s in result.samples] == [2, 2, 2]
    [problem] = result.problems
    assert problem.sample_id == "000000391895" and problem.reason.startswith("duplicate caption id 4;")
    assert problem.path.startswith(f"{path}:") and problem.path.endswith(": annotations[6]")


def test_karpathy_blank_sentence_is_left_out_with_its_sentid(tmp_path):
    sentences = [{"tokens": ["a", "dog"], "raw": "A dog.", "imgid": 0, "sentid": 10},
                 {"tokens": [], "raw": " \n", "imgid": 0, "sentid": 11},
                 {"tokens": ["a", "cat"], "raw": "A cat. ", "imgid": 0, "sentid": 12}]
    image = {"filename": "1000092795.jpg", "imgid": 0, "split": "test", "sentids": [10, 11, 12],
             "sentences": sentences}
    (tmp_path / "dataset_flickr30k.json").write_text(json.dumps({"images": [image], "dataset": "flickr30k"}))
    write_jpeg(tmp_path / "flickr30k-images" / "1000092795.jpg", seed=0)
    result = load_corpus("karpathy", tmp_path)
    [sample] = result.samples
    assert sample.captions == ("A dog.", "A cat.") and sample.extra["sentids"] == [10, 12]
    [problem] = result.problems
    assert problem.reason == "blank sentence; ignored" and problem.path.endswith(": images[0].sentences[1].raw")


@pytest.mark.parametrize(("name", "text"), [
    ("results_20130124.token", "1.jpg#0\tA sign reads #1 .\r\n1.jpg#1\tA dog\tand a cat .\r\n\r\n"),
    ("results.csv", "image_name| comment_number| comment\r\n1.jpg| 0|  A sign reads #1 . \r\n"
                    "1.jpg |1 | A dog\tand a cat .\r\n"),
    ("captions.txt", 'image,caption\r\n1.jpg,A sign reads #1 .\r\n1.jpg,"A dog\tand a cat ."\r\n'),
])
def test_flickr30k_files_with_a_bom_and_crlf_keep_every_caption_once(tmp_path, name, text):
    (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = load_corpus("flickr30k", tmp_path)
    assert result.problems == []
    assert [(s.sample_id, s.captions) for s in result.samples] == [("1", ("A sign reads #1 .", "A dog\tand a cat ."))]
