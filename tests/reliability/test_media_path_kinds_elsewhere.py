"""Beyond extraction, the places that look at media paths say what a bad one is, with the same
reasons: the `mmsa-raw` loader (a clip path that is a folder or a FIFO is dropped, so named),
`share --media embed` (a folder in place of an image is missing media, so named) and `report`'s
gallery (a FIFO in place of an image is a note, so named, and is never opened). A path with nothing
at it keeps its "not found" wording and its hint. Each run finishes (opening a FIFO would wait forever).
"""
from __future__ import annotations

import os
import stat

from mmdata.corpora import load_corpus
from mmdata.pipeline import extract
from mmdata.report import write_report
from mmdata.share import share_dataset
from tests.reliability.test_media_path_kinds import expected_reason, finishes_within, make_bad
from tests.sample_corpus import copy_sample_corpus


def test_mmsa_raw_drops_a_folder_or_fifo_clip_naming_what_it_is(tmp_path):
    root = tmp_path / "sims"
    clips = {"0001": "good", "0002": "folder", "0003": "fifo", "0004": "missing"}
    for clip_id, kind in clips.items():
        path = root / "Raw" / "v1" / f"{clip_id}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "good":
            path.write_bytes(b"an mp4 the loader does not decode")
        elif kind != "missing":
            make_bad(path, kind, b"")
    (root / "label.csv").write_text("video_id,clip_id,label,mode\n"
                                    + "".join(f"v1,{clip_id},0.5,train\n" for clip_id in clips))
    with finishes_within(30):
        result = load_corpus("mmsa-raw", root)
    assert [s.sample_id for s in result.samples] == ["v1$_$0001"]
    reasons = {p.sample_id: (p.path, p.reason) for p in result.problems}
    where = f"{root / 'label.csv'}"
    assert reasons["v1$_$0004"] == ("Raw/v1/0004.mp4", f"clip file not found (row {where}:5); dropped")
    for sample_id, kind, line in (("v1$_$0002", "folder", 3), ("v1$_$0003", "fifo", 4)):
        path, reason = reasons[sample_id]
        clip = root / path
        assert reason.startswith(expected_reason(kind, "clip", clip)) and reason.endswith(f"(row {where}:{line}); dropped")
        assert "not found" not in reason
    assert len(reasons) == 3


def test_share_embed_names_a_folder_in_place_of_an_image(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    extract("coco", corpus, tmp_path / "ds", extractors=["pixel-stats"], num_workers=0)
    folder, gone = corpus / "val2017" / "000000000107.jpg", corpus / "val2017" / "000000000121.jpg"
    make_bad(folder, "folder", b"")
    gone.unlink()
    with finishes_within(120):
        report = share_dataset(tmp_path / "ds", tmp_path / "hf", media="embed")
    missing = {m.sample_id: m for m in report.missing_media}
    assert sorted(missing) == ["000000000107", "000000000121"]
    assert missing["000000000107"].path == "val2017/000000000107.jpg"
    assert missing["000000000107"].reason.startswith(expected_reason("folder", "image", folder))
    assert "not found" not in missing["000000000107"].reason
    assert missing["000000000121"].reason == (f"image file not found: {gone}; "
                                              "pass the corpus root (--corpus-root) if it moved")


def test_report_gallery_names_a_fifo_in_place_of_an_image_without_opening_it(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    extract("coco", corpus, tmp_path / "ds", extractors=["pixel-stats"], num_workers=0)
    fifo, gone = corpus / "val2017" / "000000000107.jpg", corpus / "val2017" / "000000000121.jpg"
    make_bad(fifo, "fifo", b"")
    gone.unlink()
    with finishes_within(120):
        summary = write_report(tmp_path / "ds", tmp_path / "r.html", max_gallery=4)
    assert summary.gallery == 4
    html = (tmp_path / "r.html").read_text()
    gallery = html[html.index('<section id="gallery">'):html.index('<section id="checks">')]
    assert f"image val2017/000000000107.jpg: {expected_reason('fifo', 'image', fifo)}" in gallery
    assert f"image val2017/000000000121.jpg: not found at {gone} (pass --corpus-root if the corpus moved)" in gallery
    assert gallery.count("not found at") == 1 and gallery.count("<img class=thumb") == 2
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still there, never opened
