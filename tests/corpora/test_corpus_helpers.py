"""Helpers the loaders share: JSON item locations, text checks, media paths kept inside the root."""
from __future__ import annotations

import json

import pytest

from mmdata.corpora.base import JsonLocator, expect_text, safe_relative_path, text_problem
from mmdata.errors import CorpusFormatError


def test_json_locator_names_line_and_column_of_nested_items(tmp_path):
    path = tmp_path / "a.json"
    data = {"dataset": "coco", "images": [{"sentences": [{"raw": "x"}, {"raw": "y"}]}, {"filename": "b.jpg"}]}
    path.write_text(json.dumps(data, indent=2))
    lines = path.read_text().split("\n")
    locate = JsonLocator(path)
    second = locate.where("images", 1)
    assert second.startswith(f"{path}:{lines.index('    {', 10) + 1}:5: images[1]")
    assert locate.where("images", 0, "sentences", 1) == f"{path}:{lines.index('        {', 6) + 1}:9: images[0].sentences[1]"
    assert locate.where() == f"{path}:1:1"


def test_json_locator_on_one_line_files_gives_columns(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"images": [1, 22, {"id": 3}], "images": [7, 8]}')  # a repeated key: the last wins
    assert JsonLocator(path).where("images", 1) == f"{path}:1:46: images[1]"


def test_json_locator_falls_back_to_the_label_when_it_cannot_locate(tmp_path):
    path = tmp_path / "gone.json"
    assert JsonLocator(path).where("images", 3) == f"{path}: images[3]"
    path.write_text('{"images": [1]}')
    assert JsonLocator(path).where("images", 5, "raw") == f"{path}:1:12: images[5].raw"


def test_expect_text_rejects_wrong_types_empty_and_lone_surrogates():
    assert expect_text("ok", "f:1", "'caption'") == "ok"
    assert expect_text("", "f:1", "'caption'", allow_empty=True) == ""
    with pytest.raises(CorpusFormatError, match=r"f:1: expected 'caption' as a non-empty string, got 3"):
        expect_text(3, "f:1", "'caption'")
    with pytest.raises(CorpusFormatError, match=r"f:2: expected 'caption' as a non-empty string, got ' '"):
        expect_text(" ", lambda: "f:2", "'caption'")
    with pytest.raises(CorpusFormatError, match="not valid Unicode text"):
        expect_text("a\ud800", "f:1", "'caption'")


@pytest.mark.parametrize(("value", "allow_empty"), [(3, False), (None, True), (" ", False), ("a\ud800", True)])
def test_text_problem_is_the_reason_expect_text_refuses_without_its_location(value, allow_empty):
    with pytest.raises(CorpusFormatError) as refused:
        expect_text(value, "f:1", "a caption", allow_empty=allow_empty)
    assert text_problem(value, "a caption", allow_empty=allow_empty) == str(refused.value).removeprefix("f:1: ")
    assert text_problem(" ok ", "a caption") is None and text_problem("", "a caption", allow_empty=True) is None


@pytest.mark.parametrize(("relative", "message"), [
    ("../x.jpg", "points outside"), ("a/../../x.jpg", "points outside"), ("/etc/hosts", "points outside"),
    ("a\x00b.jpg", "expected a non-empty media path"), ("", "expected a non-empty media path"),
])
def test_safe_relative_path_refuses_escapes_and_unusable_names(tmp_path, relative, message):
    with pytest.raises(CorpusFormatError, match=f"f:1: .*{message}"):
        safe_relative_path(tmp_path, relative, where="f:1")


def test_safe_relative_path_follows_symlinks(tmp_path):
    (tmp_path / "root" / "in").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "out", target_is_directory=True)
    assert safe_relative_path(tmp_path / "root", "in/a.jpg", where="f:1") == "in/a.jpg"
    with pytest.raises(CorpusFormatError, match="points outside the corpus root"):
        safe_relative_path(tmp_path / "root", "link/a.jpg", where="f:1")
    assert safe_relative_path(tmp_path / "root", "link/a.jpg", where="f:1", allow_outside=True) == str(
        (tmp_path / "out" / "a.jpg").resolve())


@pytest.mark.parametrize("relative", [
    "a.jpg", "val2014/COCO_val2014_000000391895.jpg", "a//b.jpg", "./a.jpg", "a/./b.jpg", "a/", "a/.", ".",
    "a/../b.jpg", "..a/b", "a.b/c", "dir.with.dots/./x", "x/y//", "./", "a/b/.", "é/ü.jpg",
])
def test_posix_path_equals_pathlibs_normal_form(relative):
    from pathlib import Path

    from mmdata.corpora.base import posix_path

    assert posix_path(relative) == Path(relative).as_posix()


def test_paths_inside_the_root_come_back_relative_and_normalized(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "x.jpg").write_bytes(b"x")
    assert safe_relative_path(tmp_path, str(tmp_path / "images" / "x.jpg"), where="m:1") == "images/x.jpg"
    assert safe_relative_path(tmp_path, "nowhere/../images/x.jpg", where="m:1") == "images/x.jpg"
    assert safe_relative_path(tmp_path, "images/./x.jpg", where="m:1") == "images/x.jpg"
    link = tmp_path.parent / f"{tmp_path.name}-link"  # the root reached through a symbolic link
    link.symlink_to(tmp_path)
    assert safe_relative_path(link, str(link / "images" / "x.jpg"), where="m:1") == "images/x.jpg"
    assert safe_relative_path(link, str(tmp_path / "images" / "x.jpg"), where="m:1") == "images/x.jpg"
    with pytest.raises(CorpusFormatError, match="points outside the corpus root"):
        safe_relative_path(tmp_path / "images", str(tmp_path / "other.jpg"), where="m:1")
