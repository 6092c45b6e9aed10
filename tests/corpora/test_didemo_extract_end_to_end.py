"""`mmdata extract didemo` end to end on real twelve-second videos: a pooled video row and a caption vector per
description, a missing video's descriptions in the errors table, a clean `check`; and with `-o level=video` a row
per video with a vector per description."""
from __future__ import annotations

import pytest

from mmdata.checks import check_dataset
from tests.corpora.cli_extract import VIDEO_AND_CAPTIONS, run_extract
from tests.corpora.timed_sentences import assert_segments_extracted
from tests.fakes.didemo import DESCRIPTIONS, SPANS, write_fake_didemo

GONE = "73313398@N00_5213766418_fc7a9f7db2.mp4"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("didemo")
    fake = write_fake_didemo(tmp / "corpus")
    (fake.root / "videos" / GONE).unlink()
    return fake, run_extract("didemo", fake.root, tmp / "out", VIDEO_AND_CAPTIONS)


def test_every_description_is_a_row_with_its_span_a_pooled_video_vector_and_its_caption_vector(extracted):
    fake, data = extracted
    assert_segments_extracted(data, fake, {sid: span for sid, span in SPANS.items() if span[2] != GONE})


def test_the_missing_video_is_in_the_errors_table_naming_its_json_entry(extracted):
    fake, data = extracted
    [error] = data.errors().to_pylist()
    assert (error["table"], error["sample_id"]) == ("loader", f"{GONE}[0]")
    assert error["path"].startswith(f"{fake.root / 'train_data.json'}:") and error["path"].endswith(": [2]")


def test_check_finds_no_error(extracted):
    _, data = extracted
    assert [i.code for i in check_dataset(data.root).issues if i.severity == "error"] == []


def test_level_video_extracts_a_row_per_video_and_a_vector_per_description(extracted, tmp_path):
    fake, _ = extracted
    data = run_extract("didemo", fake.root, tmp_path / "out", VIDEO_AND_CAPTIONS, "-o", "level=video")
    per_video: dict[str, int] = {}
    for _, video, _, _ in DESCRIPTIONS:
        if video != GONE:
            per_video[video] = per_video.get(video, 0) + 1
    ids, vectors = data.to_numpy("video.frames-color-hist-mean")
    assert sorted(ids) == sorted(per_video) and vectors.shape == (len(per_video), 48)
    text = data.read_table("text.hashed-bow.caption").to_pylist()
    assert {r["sample_id"]: len(r["feature"]) for r in text} == per_video
    assert [i.code for i in check_dataset(data.root).issues if i.severity == "error"] == []
