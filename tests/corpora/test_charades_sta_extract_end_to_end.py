"""`mmdata extract charades-sta` end to end on real two-second videos: a pooled video row and a sentence vector
per moment, a defective line and a missing video in the errors table, a clean `check`, and `check` reporting a
video that a re-split puts in both train and test as a split leak."""
from __future__ import annotations

import pytest

from mmdata.checks import check_dataset
from tests.corpora.cli_extract import VIDEO_AND_CAPTIONS, run_extract
from tests.corpora.timed_sentences import assert_segments_extracted
from tests.fakes.charades_sta import SPANS, moment_line, write_fake_charades_sta


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("charades")
    fake = write_fake_charades_sta(tmp / "corpus")
    (fake.root / "Charades_v1_480" / "Y6R7T.mp4").unlink()
    train = fake.root / "charades_sta_train.txt"
    train.write_text(train.read_text() + "AO8RW 0.0 1.0 no separator\n")
    return fake, run_extract("charades-sta", fake.root, tmp / "out", VIDEO_AND_CAPTIONS)


def test_every_moment_is_a_row_with_its_span_a_pooled_video_vector_and_its_sentence_vector(extracted):
    fake, data = extracted
    assert_segments_extracted(data, fake, {sid: span for sid, span in SPANS.items() if span[2] != 'Y6R7T'})


def test_the_missing_video_and_the_defective_line_are_in_the_errors_table_at_file_and_line(extracted):
    fake, data = extracted
    train = fake.root / "charades_sta_train.txt"
    errors = {(e["table"], e["sample_id"], e["path"]) for e in data.errors().to_pylist()}
    assert errors == {("loader", "Y6R7T[0]", f"{train}:2"), ("loader", "AO8RW[2]", f"{train}:4")}


def test_check_finds_no_error(extracted):
    _, data = extracted
    assert [i.code for i in check_dataset(data.root).issues if i.severity == "error"] == []


def test_check_reports_a_video_in_both_train_and_test_as_a_split_leak(tmp_path):
    fake = write_fake_charades_sta(tmp_path / "corpus")
    test = fake.root / "charades_sta_test.txt"
    test.write_text(test.read_text() + moment_line("AO8RW", 0.1, 0.9, "a person holds a book.") + "\n")
    data = run_extract("charades-sta", fake.root, tmp_path / "out", VIDEO_AND_CAPTIONS)
    [leak] = [i for i in check_dataset(data.root).issues if i.code == "split-leak"]
    # its two train moments make train the video's main split: the test moment is the offender
    assert (leak.severity, leak.sample_id) == ("error", "AO8RW[2]")
