"""Checks against counts worked out by hand on small datasets: each finding counts its true
offenders and names the first ones in table order; realistic clean data and values exactly at a
tolerance pass."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest

from mmdata.checks import CheckOptions, Issue, check_dataset
from mmdata.checks.temporal import check_frame_count, check_interval_span
from mmdata.store.metadata import FeatureSpec
from tests.checks.builder import (
    FakeTable, aligned_table, build_dataset, frames_table, image_text_samples, mosi_samples, pooled_table,
)

MOSI = {"corpus_kind": "mosi-raw", "corpus_options": {"dataset": "cmu-mosi"}}
S = image_text_samples()
M = mosi_samples()


def _found(report, code):
    found = [i for i in report.issues if i.code == code]
    assert len(found) == 1, [i.one_line() for i in report.issues]
    return found[0]


def _without_counts(report):
    return [i.one_line() for i in report.issues if i.code != "split-counts"]


def test_a_video_in_two_folds_is_one_leak_though_its_group_id_and_path_both_leak(tmp_path):
    moved = {"vid0[2]": "test", "vid1[2]": "valid"}  # two videos, each with one segment in another fold
    samples = [replace(s, split=moved.get(s.sample_id, s.split)) for s in M]
    report = check_dataset(build_dataset(tmp_path / "ds", samples, [frames_table("audio.f", samples, 3, 10.0)], **MOSI))
    issue = _found(report, "split-leak")
    assert (issue.severity, issue.table, issue.sample_id, issue.count) == ("error", None, "vid0[2]", 2)
    assert issue.examples == ("vid0[2]", "vid1[2]")
    assert issue.message.startswith("2 group_id values and 2 video values occur in more than one split")


def test_non_finite_values_in_several_shards_count_every_sample_and_list_the_first_ones(tmp_path):
    image = pooled_table("image.a", S, 4)
    values = [v.copy() for v in image.values]
    for index in (0, 1, 2, 6):  # shards of 5 rows: three offenders in shard 0, one in shard 1
        values[index][1] = np.nan if index != 6 else -np.inf
    report = check_dataset(build_dataset(tmp_path / "ds", S, [replace(image, values=values)], shard_size=5))
    issue = _found(report, "non-finite")
    assert (issue.severity, issue.table, issue.sample_id, issue.count) == ("error", "image.a", "000000000000", 4)
    assert issue.examples == ("000000000000", "000000000001", "000000000002", "000000000006")
    assert "4 in all" in issue.message
    data = json.loads(json.dumps(report.to_json()))  # the JSON report carries the same offenders
    [entry] = [i for i in data["issues"] if i["code"] == "non-finite"]
    assert entry["examples"] == list(issue.examples) and entry["count"] == 4
    assert Issue(**entry) == issue


def test_examples_stop_at_max_examples_in_table_order(tmp_path):
    image = pooled_table("image.a", S, 4)
    values = [np.full(4, np.nan, np.float32) if i % 2 else v for i, v in enumerate(image.values)]
    root = build_dataset(tmp_path / "ds", S, [replace(image, values=values)], shard_size=5)
    issue = _found(check_dataset(root, CheckOptions(max_examples=3)), "non-finite")
    assert issue.count == 6 and issue.examples == ("000000000001", "000000000003", "000000000005")


@pytest.mark.parametrize("seconds, rate, edge, beyond", [
    (4.1, 100.0, 451, 452), (4.4, 25.0, 99, 98), (4.4, 100.0, 396, 395), (4.6, 100.0, 506, 507), (2.0, 100.0, 220, 221),
])
def test_frame_count_exactly_at_the_tolerance_passes_and_one_frame_more_fails(seconds, rate, edge, beyond):
    ids = pa.array(["a"])
    width = np.array([(0.0 + seconds) - 0.0])
    assert check_frame_count("t", ids, np.array([edge]), width, rate, 0.1) == []
    [issue] = check_frame_count("t", ids, np.array([beyond]), width, rate, 0.1)
    assert (issue.code, issue.sample_id, issue.count) == ("frame-count", "a", 1)


def test_interval_exactly_the_tolerance_outside_its_segment_or_media_passes():
    ids, offsets = pa.array(["a"]), np.array([0, 1])
    for step in range(0, 3000, 3):
        lo = step / 10
        hi, duration = lo + 2.37, lo + 5.67
        for interval in ([lo - 1, round(lo - 0.05, 6)], [round(hi + 0.05, 6), hi + 1], [lo, round(duration + 0.05, 6)]):
            assert check_interval_span("t", ids, offsets, np.array([interval]), np.array([lo]), np.array([hi]),
                                       np.array([duration]), 0.05) == [], (lo, interval)
        [issue] = check_interval_span("t", ids, offsets, np.array([[lo, duration + 0.051]]), np.array([lo]),
                                      np.array([hi]), np.array([duration]), 0.05)
        assert issue.code == "intervals-outside"


def test_manifest_wrong_in_rows_and_splits_is_one_issue_naming_both(tmp_path):
    root = build_dataset(tmp_path / "ds", S, [pooled_table("image.a", S, 4)])
    manifest = json.loads((root / "mmdata.json").read_text())
    manifest["samples"].update(rows=13, splits={"train": 8, "val": 3, "test": 2})
    (root / "mmdata.json").write_text(json.dumps(manifest))
    issue = _found(check_dataset(root), "manifest-counts")
    assert (issue.severity, issue.table, issue.count) == ("error", None, 1)
    assert "counts 13 samples, the samples table holds 12" in issue.message
    assert "the samples table holds {'test': 2, 'train': 7, 'val': 3}" in issue.message


def test_a_shard_with_two_provenance_keys_changed_is_one_offending_shard(tmp_path):
    image = replace(pooled_table("image.a", S, 4),
                    shard_metadata={1: {"config": {"size": 3}, "versions": {"mmdata": "0.2.0"}}})
    issue = _found(check_dataset(build_dataset(tmp_path / "ds", S, [image])), "provenance-mismatch")
    assert (issue.severity, issue.table, issue.sample_id, issue.count) == ("error", "image.a", "000000000005", 1)
    assert ("config size=3, not size=1; with versions mmdata=0.2.0, not mmdata=0.1.0; the manifest names the second "
            "of each") in issue.message


def test_non_finite_value_of_a_ragged_sequence_names_its_sample(tmp_path):
    values = [[np.array([1.0, 2.0], np.float32), np.array([3.0], np.float32)] for _ in S]
    values[7] = [np.array([1.0], np.float32), np.array([np.nan, 1.0], np.float32), np.array([2.0], np.float32)]
    values[11] = [np.array([np.inf], np.float32)]
    table = FakeTable("text.tokens", FeatureSpec(dim=None, kind="sequence"), values)
    issue = _found(check_dataset(build_dataset(tmp_path / "ds", S, [table])), "non-finite")
    assert (issue.table, issue.sample_id, issue.count, issue.examples) == (
        "text.tokens", "000000000007", 2, ("000000000007", "000000000011"))


def _covarep(samples, past_end):
    """100 Hz frames over each segment, the last one ending `past_end` s after it (as SDK data does)."""
    values, intervals = [], []
    for s in samples:
        count = int(np.ceil((s.end - s.start) * 100))
        starts = s.start + np.arange(count) / 100
        rows = np.stack([starts, starts + 0.01], axis=1)
        if count:
            rows[-1, 1] = s.end + past_end
        intervals.append(rows)
        values.append(np.zeros((count, 3), np.float32))
    spec = FeatureSpec(dim=3, kind="sequence", intervals=True, frame_rate=100.0, item_axis="time")
    return FakeTable("audio.covarep", spec, values, intervals)


@pytest.mark.parametrize("fps", [1.0, 3.0, 7.5, 30.0])
def test_realistic_temporal_data_passes_clean(tmp_path, fps):
    samples = [replace(s, end=s.start) if s.sample_id == "vid2[1]" else s for s in M]  # one zero-length segment
    tables = [_covarep(samples, 0.004), frames_table("video.frames", samples, 2, fps),
              aligned_table("text.words", samples, 3, 4)]
    report = check_dataset(build_dataset(tmp_path / "ds", samples, tables, **MOSI))
    assert report.ok and _without_counts(report) == []
