"""`check_dataset` scans its feature tables side by side (`table_scan.check_tables`): the report is the
one a scan of one table after another gives, a failed scan stops the others, and the scans see the
caller's context variables."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from mmdata.checks import check_dataset
from mmdata.checks import scan_context, table_scan
from mmdata.checks.scan_context import ScanStopped
from mmdata.errors import DatasetError
from mmdata.store import footers
from tests.checks.builder import build_dataset, frames_table, mosi_samples, pooled_table, with_value

MOSI = {"corpus_kind": "mosi-raw", "corpus_options": {"dataset": "cmu-mosi"}}


@pytest.fixture
def faulty(tmp_path):
    """A MOSI-like dataset whose four tables each hold defects: NaN and Inf values, a null without an
    errors-table row, an interval past its segment, and a frame table one shard of which is Parquet."""
    samples = mosi_samples(videos=5, segments=4)
    nan_frames = np.full((20, 3), np.nan, np.float32)
    audio = with_value(frames_table("audio.f", samples, 3, 10.0), 3, nan_frames)
    video = frames_table("video.g", samples, 2, 5.0, seed=2)
    late = np.asarray(video.intervals[7]) + 1.5
    video = with_value(video, 7, video.values[7], intervals=late)
    image = with_value(pooled_table("image.p", samples, 4), 11, np.array([1, np.inf, 2, 3], np.float32))
    text = replace(pooled_table("text.q", samples, 5, seed=1), record_failures=False, table_format="parquet")
    text = with_value(with_value(text, 2, None), 17, None)
    return build_dataset(tmp_path / "ds", samples, [audio, video, image, text], shard_size=3, **MOSI)


def _report(root, monkeypatch, threads: int) -> dict:
    monkeypatch.setattr(table_scan, "usable_cpus", lambda: threads)
    report = check_dataset(root).to_json()
    report.pop("seconds")
    return report


def test_the_report_of_tables_scanned_side_by_side_is_the_report_of_one_after_another(faulty, monkeypatch):
    one_by_one = _report(faulty, monkeypatch, 1)
    codes = {(issue["code"], issue["table"]) for issue in one_by_one["issues"]}
    assert {("non-finite", "audio.f"), ("non-finite", "image.p"), ("feature-null", "text.q")} <= codes, codes
    assert any(table == "video.g" for _, table in codes), codes
    for threads in (2, 4, 8):
        assert _report(faulty, monkeypatch, threads) == one_by_one


def test_a_failed_scan_is_raised_and_stops_the_scans_beside_it(faulty, monkeypatch):
    original = table_scan._check_table
    stopped = threading.Event()

    def check_table(context, name, collector):
        if name == "image.p":
            raise DatasetError("image.p: shard unreadable")
        try:
            return original(context, name, collector)
        except ScanStopped:
            stopped.set()
            raise

    original_rows = table_scan._check_rows

    def slow_rows(context, *args, **kwargs):  # the other scans are still running when image.p fails
        context.stop.wait(timeout=10)
        return original_rows(context, *args, **kwargs)

    monkeypatch.setattr(table_scan, "usable_cpus", lambda: 4)
    monkeypatch.setattr(table_scan, "_check_table", check_table)
    monkeypatch.setattr(table_scan, "_check_rows", slow_rows)
    with pytest.raises(DatasetError, match="image.p: shard unreadable"):
        check_dataset(faulty)
    assert stopped.is_set()  # a scan beside it ended at its next batch instead of running to the end


def test_the_scans_see_the_callers_context_variables(faulty, monkeypatch):
    seen = {}
    original = table_scan._check_table

    def check_table(context, name, collector):
        seen[name] = (threading.current_thread().name, footers._FOOTERS.get())
        return original(context, name, collector)

    monkeypatch.setattr(table_scan, "usable_cpus", lambda: 2)
    monkeypatch.setattr(table_scan, "_check_table", check_table)
    with footers.footers_read_once():
        shared = footers._FOOTERS.get()
        assert check_dataset(faulty).errors
    assert set(seen) == {"audio.f", "video.g", "image.p", "text.q"}
    assert all(thread.startswith("mmdata-check") and found is shared for thread, found in seen.values())


def test_the_text_issues_keep_their_place_between_the_samples_and_the_label_issues(tmp_path):
    """With the tables scanned side by side, the report still lists the samples' issues first, in their order
    (split leaks, text, labels), then each table's in the tables' order."""
    samples = [replace(s, transcript="", label=9.0) if i == 4 else
               replace(s, split="train", group_id="vid1") if i == 7 else s
               for i, s in enumerate(mosi_samples(videos=4, segments=3))]
    image = with_value(pooled_table("image.p", samples, 4), 1, np.array([1, np.nan, 2, 3], np.float32))
    root = build_dataset(tmp_path / "ds", samples, [frames_table("audio.f", samples, 3, 10.0), image],
                         shard_size=5, **MOSI)
    assert [(issue.code, issue.table) for issue in check_dataset(root).issues] == [
        ("split-leak", None), ("transcript-missing", None), ("label-range", None), ("non-finite", "image.p"),
        ("split-counts", None)]


def test_scans_side_by_side_work_out_the_spans_of_a_medium_once(tmp_path, monkeypatch):
    samples = mosi_samples(videos=3, segments=2)
    tables = [frames_table("audio.f", samples, 3, 10.0), frames_table("audio.h", samples, 2, 10.0, seed=1),
              frames_table("audio.k", samples, 2, 10.0, seed=3)]
    root = build_dataset(tmp_path / "ds", samples, tables, shard_size=2, **MOSI)
    computed = []
    original = scan_context._Context._spans_for

    def slow_spans(self, keys):  # slow enough that the scans ask for the spans at the same time
        computed.append(keys)
        time.sleep(0.2)
        return original(self, keys)

    monkeypatch.setattr(scan_context._Context, "_spans_for", slow_spans)
    monkeypatch.setattr(table_scan, "usable_cpus", lambda: 3)
    assert not check_dataset(root).errors
    assert len(computed) == len(set(computed)) == 1
