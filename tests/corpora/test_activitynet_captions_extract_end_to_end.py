"""`mmdata extract activitynet-captions` end to end on real two-second videos: a pooled video row and a caption
vector per timed sentence, a missing video's segments in the errors table, a clean `check`, and `check`
reporting the validation videos as a split leak when val_2.json is read as split test."""
from __future__ import annotations

import pytest

from mmdata.checks import check_dataset
from tests.corpora.cli_extract import VIDEO_AND_CAPTIONS, run_extract
from tests.corpora.timed_sentences import assert_segments_extracted
from tests.fakes.activitynet import SEGMENTS, write_fake_activitynet


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("anet")
    fake = write_fake_activitynet(tmp / "corpus")
    (fake.root / "videos" / "v_ehGHCYKzyZ8.mp4").unlink()
    return fake, run_extract("activitynet-captions", fake.root, tmp / "out", VIDEO_AND_CAPTIONS)


def test_every_segment_is_a_row_with_its_span_a_pooled_video_vector_and_its_caption_vector(extracted):
    fake, data = extracted
    assert_segments_extracted(data, fake, {sid: span for sid, span in SEGMENTS.items() if span[2] != 'v_ehGHCYKzyZ8'})


def test_the_missing_video_is_in_the_errors_table_naming_its_json_entry(extracted):
    fake, data = extracted
    [error] = data.errors().to_pylist()
    assert (error["table"], error["sample_id"]) == ("loader", "v_ehGHCYKzyZ8[0]")
    assert error["path"].startswith(f"{fake.root / 'captions' / 'train.json'}:")
    assert error["path"].endswith(": v_ehGHCYKzyZ8.timestamps[0]")


def test_check_finds_no_error(extracted):
    _, data = extracted
    assert [i.code for i in check_dataset(data.root).issues if i.severity == "error"] == []


def test_check_reports_the_videos_val_2_shares_with_val_1_as_a_split_leak_when_it_is_test(extracted, tmp_path):
    fake, _ = extracted
    data = run_extract("activitynet-captions", fake.root, tmp_path / "out", VIDEO_AND_CAPTIONS, "-o", "val_2=test",
                       "--split", "all")
    [leak] = [i for i in check_dataset(data.root).issues if i.code == "split-leak"]
    # the video's two val_1 segments make val its main split: val_2's segment, in test, is the offender
    assert (leak.severity, leak.sample_id) == ("error", "v_nwznKOuZM7w.val_2[0]")
