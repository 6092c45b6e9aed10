"""A blank piece of a CSV `captions` cell is reported as a blank caption of a JSONL list is."""
from __future__ import annotations

import json

from mmdata.corpora import load_corpus
from tests.fakes import write_jpeg


def problems_of(root):
    result = load_corpus("manifest", root)
    return {s.sample_id: s.captions for s in result.samples}, [(p.sample_id, p.path.rsplit("/", 1)[-1], p.reason)
                                                               for p in result.problems]


def test_blank_pieces_are_reported_like_jsonl_blank_captions(tmp_path):
    write_jpeg(tmp_path / "csv" / "a.jpg")
    (tmp_path / "csv" / "manifest.csv").write_text("id,image,captions\na1,a.jpg,a dog| |\n", encoding="utf-8")
    write_jpeg(tmp_path / "jsonl" / "a.jpg")
    (tmp_path / "jsonl" / "manifest.jsonl").write_text(
        json.dumps({"id": "a1", "image": "a.jpg", "captions": ["a dog", " ", ""]}) + "\n", encoding="utf-8")
    captions, problems = problems_of(tmp_path / "csv")
    assert captions == {"a1": ("a dog",)}
    assert problems == [("a1", "manifest.csv:2", "blank caption #2 of 'captions'; ignored"),
                        ("a1", "manifest.csv:2", "blank caption #3 of 'captions'; ignored")]
    assert [p[2] for p in problems] == [p[2] for p in problems_of(tmp_path / "jsonl")[1]]


def test_a_cell_of_blank_pieces_only_is_a_blank_caption(tmp_path):
    write_jpeg(tmp_path / "a.jpg")
    (tmp_path / "manifest.csv").write_text("id,image,captions\na2,a.jpg,|\nt,,\\| \n", encoding="utf-8")
    captions, problems = problems_of(tmp_path)
    assert captions == {"a2": (), "t": ("|",)}
    assert problems == [("a2", "manifest.csv:2", "blank caption #1 of 'captions'; ignored")]


def test_a_text_only_row_of_blank_pieces_is_left_out(tmp_path):
    (tmp_path / "manifest.csv").write_text("id,captions\nx, | \ny,fine\n", encoding="utf-8")
    captions, problems = problems_of(tmp_path)
    assert captions == {"y": ("fine",)}
    assert problems == [("x", "manifest.csv:2", "blank caption #1 of 'captions': the row names no medium and no "
                                                "other text; row left out")]
