"""Word timings that run into the next word are a warning of the word table (`intervals-overlap`), not of
the tables aligned to it, which carry the same intervals."""
from __future__ import annotations

from dataclasses import replace

from mmdata.checks import check_dataset
from tests.checks.builder import aligned_table, build_dataset, mosi_samples, with_value

SAMPLES = mosi_samples()


def _dataset(root, shift: float):
    """Words of each segment end to end; sample 4's second word ends `shift` s into the third."""
    words = replace(aligned_table("text.words", SAMPLES, 3, 5), source=None)
    intervals = words.intervals[4].copy()
    intervals[1, 1] = intervals[2, 0] + shift
    words = with_value(words, 4, words.values[4], intervals)
    aligned = aligned_table("audio.f", SAMPLES, 2, 5, seed=1)
    aligned = with_value(aligned, 4, aligned.values[4], intervals)
    return check_dataset(build_dataset(root, SAMPLES, [words, aligned], corpus_kind="mosi-raw"))


def test_a_word_running_into_the_next_is_one_warning_of_the_word_table(tmp_path):
    report = _dataset(tmp_path / "ds", 0.25)
    overlaps = [i for i in report.issues if i.code == "intervals-overlap"]
    assert [(i.table, i.severity, i.sample_id, i.count) for i in overlaps] == [
        ("text.words", "warning", SAMPLES[4].sample_id, 1)]
    assert "(row 1 of the sample) runs into the next" in overlaps[0].message
    assert report.ok


def test_words_that_meet_or_overlap_by_less_than_a_millisecond_are_clean(tmp_path):
    for shift in (0.0, 0.0009):
        report = _dataset(tmp_path / f"ds{shift}", shift)
        assert not [i for i in report.issues if i.code == "intervals-overlap"], shift
