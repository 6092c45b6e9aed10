"""`mmdata extract msrvtt` end to end on real MP4 clips, official and 1k-A layouts: caption-level text and
pooled video tables, a clip missing from its folder in the errors table with its `file:line:column`,
`--split`, a clean `check`, and `mmdata train retrieval` taking the pooled video table as its media side."""
from __future__ import annotations

import json
import re

import pytest

from mmdata.checks import check_dataset
from tests.corpora.cli_extract import VIDEO_AND_CAPTIONS, run_extract, run_mmdata
from tests.fakes.captioned_media import msrvtt_query, write_clip, write_fake_msrvtt_1ka, write_fake_msrvtt_official

MISSING = "video7011"  # the official fake's second test clip: its file is removed


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("msrvtt")
    fake = write_fake_msrvtt_official(tmp / "corpus")
    (fake.root / "TestVideo" / f"{MISSING}.mp4").unlink()
    write_clip(fake.root / "TestVideo" / "video7012.mp4", 7)  # a third test clip, so two remain scorable
    path = fake.root / "test_videodatainfo.json"
    data = json.loads(path.read_text())
    data["videos"].append({**data["videos"][0], "video_id": "video7012"})
    data["sentences"] += [{"caption": f"a third test clip {k}", "video_id": "video7012", "sen_id": 900 + k}
                          for k in range(3)]
    path.write_text(json.dumps(data, indent=2))
    return fake, run_extract("msrvtt", fake.root, tmp / "out", VIDEO_AND_CAPTIONS)


def test_every_clip_is_a_row_with_a_pooled_video_vector_and_one_text_vector_per_caption(official):
    fake, data = official
    samples = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    expected = {sid: e for sid, e in fake.expected.items() if sid != MISSING}
    assert {sid: (row["split"], row["video"], tuple(row["captions"])) for sid, row in samples.items()
            if sid in expected} == {sid: (e.split, e.video, e.captions) for sid, e in expected.items()}
    assert sorted(samples) == sorted([*expected, "video7012"])
    video_ids, video = data.to_numpy("video.frames-color-hist-mean")
    assert sorted(video_ids) == sorted(samples) and video.shape == (len(samples), 48)
    text = data.read_table("text.hashed-bow.caption").to_pylist()
    assert {row["sample_id"]: len(row["feature"]) for row in text} == {sid: 3 for sid in samples}


def test_the_missing_clip_is_in_the_errors_table_naming_its_json_entry(official):
    fake, data = official
    errors = data.errors().to_pylist()
    assert [(e["table"], e["sample_id"]) for e in errors] == [("loader", MISSING)]
    assert re.fullmatch(re.escape(str(fake.root / "test_videodatainfo.json")) + r":\d+:\d+: videos\[1\]", errors[0]["path"])
    assert "video file video7011.mp4 not found in TrainValVideo/, TestVideo/" in errors[0]["reason"]


def test_check_finds_no_error(official):
    _, data = official
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []


def test_split_val_extracts_the_validate_clip(official, tmp_path):
    fake, _ = official
    data = run_extract("msrvtt", fake.root, tmp_path / "val", VIDEO_AND_CAPTIONS, "--split", "val")
    assert data.samples_table().column("sample_id").to_pylist() == ["video2"]
    assert data.errors().num_rows == 0  # the missing clip is a test clip


def test_train_retrieval_takes_the_pooled_video_table_as_its_media_side(official, tmp_path):
    _, data = official
    metrics = tmp_path / "retrieval.json"
    run_mmdata("train", "retrieval", str(data.root), "--json", str(metrics), "-m", "infonce", "--epochs", "2")
    info = json.loads(metrics.read_text())
    assert info["image_tables"] == ["video.frames-color-hist-mean"]
    assert (info["train_splits"], info["test_split"], info["test_images"]) == (["train"], "test", 2)


def test_the_1k_a_test_split_extracts_each_clip_with_its_query(tmp_path):
    fake = write_fake_msrvtt_1ka(tmp_path / "corpus")
    data = run_extract("msrvtt", fake.root, tmp_path / "out", VIDEO_AND_CAPTIONS, "--split", "test")
    rows = data.samples_table().to_pylist()
    assert [(r["sample_id"], r["captions"], r["video"]) for r in rows] == [
        ("video7010", [msrvtt_query("video7010")], "MSRVTT_Videos/video7010.mp4")]
    assert data.to_numpy("video.frames-color-hist-mean")[1].shape == (1, 48)
    assert [i.code for i in check_dataset(data.root).issues if i.severity == "error"] == []
