"""`mmdata extract vatex` end to end on real two-second videos: whole YouTube videos cut to each clip's span,
a pooled video row and a vector per caption, a missing video in the errors table at its entry, a clean `check`,
and `check` reporting one YouTube video whose clips sit in two splits as a split leak."""
from __future__ import annotations

import json
import shutil

import pytest

from mmdata.checks import check_dataset
from tests.corpora.cli_extract import VIDEO_AND_CAPTIONS, run_extract
from tests.fakes.vatex import CLIPS, FILES, clip_id, write_fake_vatex

MISSING = clip_id(*CLIPS[2][:3])  # -3ZrcOvHjG4_000000_000002: its YouTube video is removed


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vatex")
    fake = write_fake_vatex(tmp / "corpus", whole_videos=True, captions=3)
    (fake.root / "videos" / "-3ZrcOvHjG4.mp4").unlink()
    return fake, run_extract("vatex", fake.root, tmp / "out", VIDEO_AND_CAPTIONS)


def test_every_clip_is_a_row_with_its_span_a_pooled_video_vector_and_its_caption_vectors(extracted):
    fake, data = extracted
    kept = {sid: e for sid, e in fake.expected.items() if sid != MISSING}
    rows = {r["sample_id"]: r for r in data.samples_table().to_pylist()}
    assert {sid: (r["split"], r["video"], tuple(r["captions"])) for sid, r in rows.items()} == {
        sid: (e.split, e.video, e.captions) for sid, e in kept.items()}
    assert {sid: (r["start"], r["end"], r["group_id"]) for sid, r in rows.items()} == {
        clip_id(y, s, e): (float(s), float(e), y) for y, s, e, _ in CLIPS if clip_id(y, s, e) != MISSING}
    ids, video = data.to_numpy("video.frames-color-hist-mean")
    assert sorted(ids) == sorted(kept) and video.shape == (len(kept), 48)
    first, second = (video[list(ids).index(clip_id(*CLIPS[k][:3]))] for k in (0, 1))
    assert first.tolist() != second.tolist()  # two spans of one video: each its own colour
    text = data.read_table("text.hashed-bow.caption").to_pylist()
    assert {r["sample_id"]: len(r["feature"]) for r in text} == {sid: 3 for sid in kept}


def test_the_missing_video_is_in_the_errors_table_naming_its_json_entry(extracted):
    fake, data = extracted
    [error] = data.errors().to_pylist()
    assert (error["table"], error["sample_id"]) == ("loader", MISSING)
    assert error["path"].startswith(f"{fake.root / FILES['train']}:")
    assert error["path"].endswith(": [2]")


def test_check_finds_no_error(extracted):
    _, data = extracted
    assert [i.code for i in check_dataset(data.root).issues if i.severity == "error"] == []


def test_check_reports_one_youtube_video_in_two_splits_as_a_split_leak(extracted, tmp_path):
    fake, _ = extracted
    root = shutil.copytree(fake.root, tmp_path / "corpus")  # the module's corpus stays as the other tests read it
    path = root / FILES["test"]
    entries = json.loads(path.read_text(encoding="utf-8"))
    leaking = clip_id("Ptf_2VRj-V0", 0, 2)  # another clip of a train video, in the public test
    path.write_text(json.dumps([*entries, {"videoID": leaking, "enCap": ["a clip of a train video"]}], indent=2),
                    encoding="utf-8")
    data = run_extract("vatex", root, tmp_path / "out", VIDEO_AND_CAPTIONS, "--split", "all")
    leaks = [i for i in check_dataset(data.root).issues if i.code == "split-leak"]
    assert leaks and {i.severity for i in leaks} == {"error"}
    assert leaking in {i.sample_id for i in leaks}
