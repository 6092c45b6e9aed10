"""`mmdata extract youcook2` end to end on real two-second videos in the release's
`raw_videos/<subset>/<recipe_type>/` folders: a pooled video row and a caption vector per timed sentence, a missing
video's segments in the errors table, and a clean `check`."""
from __future__ import annotations

import pytest

from mmdata.checks import check_dataset
from tests.corpora.cli_extract import VIDEO_AND_CAPTIONS, run_extract
from tests.corpora.timed_sentences import assert_segments_extracted
from tests.fakes.youcook2 import SEGMENTS, write_fake_youcook2


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("youcook2")
    fake = write_fake_youcook2(tmp / "YouCookII")
    (fake.root / "raw_videos" / "training" / "101" / "sGzBQrg1adY.mp4").unlink()
    return fake, run_extract("youcook2", fake.root, tmp / "out", VIDEO_AND_CAPTIONS)


def test_every_segment_is_a_row_with_its_span_a_pooled_video_vector_and_its_caption_vector(extracted):
    fake, data = extracted
    assert_segments_extracted(data, fake, {sid: span for sid, span in SEGMENTS.items() if span[2] != "sGzBQrg1adY"})


def test_the_missing_video_is_in_the_errors_table_naming_its_json_entry(extracted):
    fake, data = extracted
    [error] = data.errors().to_pylist()
    assert (error["table"], error["sample_id"]) == ("loader", "sGzBQrg1adY[0]")
    assert error["path"].startswith(f"{fake.annotation_file}:")
    assert error["path"].endswith(": database.sGzBQrg1adY.annotations[0]")


def test_check_finds_no_error(extracted):
    _, data = extracted
    assert [i.code for i in check_dataset(data.root).issues if i.severity == "error"] == []
