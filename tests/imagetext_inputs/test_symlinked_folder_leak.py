"""One file reached through a symlinked folder (`imgs -> images`) in two splits is a split leak;
the stored image path keeps its spelling."""
from __future__ import annotations

import json


from mmdata.checks.splits import check_split_leaks
from mmdata.corpora import load_corpus
from mmdata.records import samples_to_table
from tests.fakes import write_jpeg


def test_a_file_reached_through_a_symlinked_folder_leaks(tmp_path):
    write_jpeg(tmp_path / "images" / "x.jpg")
    (tmp_path / "imgs").symlink_to("images", target_is_directory=True)
    rows = [{"id": "a", "image": "images/x.jpg", "caption": "x", "split": "train"},
            {"id": "e", "image": "imgs/x.jpg", "caption": "x", "split": "test"}]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    samples = load_corpus("manifest", tmp_path).samples
    assert [(s.image, s.group_id) for s in samples] == [("images/x.jpg", "images/x.jpg"), ("imgs/x.jpg", "images/x.jpg")]
    [issue] = check_split_leaks(samples_to_table(samples))
    assert (issue.code, issue.sample_id, issue.count) == ("split-leak", "e", 1)


def test_an_explicit_group_id_is_kept(tmp_path):
    write_jpeg(tmp_path / "images" / "x.jpg")
    (tmp_path / "imgs").symlink_to("images", target_is_directory=True)
    (tmp_path / "manifest.jsonl").write_text(json.dumps({"image": "imgs/x.jpg", "caption": "x", "group_id": "g"}),
                                             encoding="utf-8")
    [sample] = load_corpus("manifest", tmp_path).samples
    assert (sample.image, sample.group_id) == ("imgs/x.jpg", "g")
