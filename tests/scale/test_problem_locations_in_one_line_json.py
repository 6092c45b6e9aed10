"""Where the loader's problems sit in a COCO captions file written on one line (as the release's files
are), and in an indented one: `file:line:column` of each entry left out, for many entries at once."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdata.corpora.base import JsonLocator, load_corpus
from tests.fakes.imagetext import write_fake_karpathy


def _write_captions(root: Path, *, images: int, captioned: int, indent: int | None) -> tuple[Path, list[dict]]:
    """A captions file of `images` images of which only the first `captioned` have a caption."""
    entries = [{"id": i, "file_name": f"{i:012d}.jpg", "width": 4, "height": 3} for i in range(1, images + 1)]
    annotations = [{"id": 9000 + i, "image_id": i, "caption": f"photo {i}"} for i in range(1, captioned + 1)]
    path = root / "annotations" / "captions_val2017.json"
    path.parent.mkdir(parents=True)
    (root / "val2017").mkdir()
    path.write_text(json.dumps({"images": entries, "annotations": annotations}, indent=indent))
    return path, entries


def _expected_location(text: str, entry: dict, indent: int | None) -> str:
    """`line:column` of an image entry, found by its own text (1-based, as an editor shows it)."""
    offset = text.index(json.dumps(entry, indent=indent).replace("\n", "\n" + " " * (indent or 0) * 2))
    line_start = text.rfind("\n", 0, offset) + 1
    return f"{text.count(chr(10), 0, offset) + 1}:{offset - line_start + 1}"


@pytest.mark.parametrize("indent", [None, 2], ids=["one-line", "indented"])
def test_every_uncaptioned_image_is_named_at_its_own_line_and_column(tmp_path, indent):
    path, entries = _write_captions(tmp_path, images=400, captioned=10, indent=indent)
    result = load_corpus("coco", tmp_path, split="val2017", options={})
    text = path.read_text()
    dropped = [p for p in result.problems if "no captions" in p.reason]
    assert [p.sample_id for p in dropped] == [f"{i:012d}" for i in range(11, 401)]
    for problem, index in zip(dropped, range(10, 400)):
        assert problem.path == f"{path}:{_expected_location(text, entries[index], indent)}: images[{index}]"
    assert len(result.samples) == 10


def test_karpathy_images_without_sentences_are_named_at_their_columns_of_a_one_line_file(tmp_path):
    corpus = write_fake_karpathy(tmp_path, splits=("train", "val"))
    data = json.loads(corpus.annotation_file.read_text())
    data["images"] += [{"filepath": "val2014", "filename": f"COCO_val2014_{i:012d}.jpg", "cocoid": i, "imgid": i,
                        "split": "val", "sentids": [], "sentences": []} for i in range(50, 250)]
    corpus.annotation_file.write_text(json.dumps(data))
    text = corpus.annotation_file.read_text()
    result = load_corpus("karpathy", tmp_path, split=None, options={})
    dropped = [p for p in result.problems if "no sentences" in p.reason]
    assert len(dropped) == 200
    for problem, index in zip(dropped, range(2, 202)):
        location = _expected_location(text, data["images"][index], None)
        assert problem.path == f"{corpus.annotation_file}:{location}: images[{index}]"


def test_locations_before_the_first_newline_and_after_the_last(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"images": [1, 2],\n "more": [3,\n 4], "last": [5, 66]}')
    locate = JsonLocator(path)
    assert locate.where("images", 1) == f"{path}:1:16: images[1]"
    assert locate.where("more", 1) == f"{path}:3:2: more[1]"
    assert locate.where("last", 1) == f"{path}:3:18: last[1]"
    assert locate.where() == f"{path}:1:1"
