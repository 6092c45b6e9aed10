"""The reports the Python API returns, as a notebook shows them: a few lines naming what was written
where and the counts (not a whole dataclass dump), and `ExtractReport.ok` telling a table of failures."""
from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from mmdata.alignment import segment_dataset
from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from mmdata.checks.issues import make_issue
from mmdata.fusion import fuse
from mmdata.pipeline import extract
from mmdata.share.export import share_dataset
from tests.fakes.csd import write_mosi_csd
from tests.sample_corpus import copy_sample_corpus
from tests.segment_export.corpus import SEGMENTS, videos_dataset, write_labels


def assert_short(report, *facts: str) -> None:
    text = repr(report)
    assert text.startswith(f"{type(report).__name__}(") and len(text.splitlines()) < 15 and len(text) < 1500, text
    for fact in facts:
        assert fact in text, (fact, text)


def test_extract_report_tells_a_table_whose_every_item_failed(tmp_path, caplog):
    coco = copy_sample_corpus("coco", tmp_path)
    for image in (coco / "val2017").iterdir():
        image.write_bytes(b"not an image")
    with caplog.at_level(logging.WARNING, logger="mmdata.pipeline"):
        report = extract("coco", coco, tmp_path / "out", extractors=["color-hist"], num_workers=0)
    assert report.failed_tables == ["image.color-hist"] and not report.ok
    assert "every item of image.color-hist failed" in caplog.text and str(tmp_path / "out" / "errors") in caplog.text
    assert_short(report, str(tmp_path / "out"), "samples=8", "image.color-hist: 8 rows, 8 failed",
                 "every item failed in ['image.color-hist']")


def test_extract_align_check_fuse_and_share_reports_are_short(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    extracted = extract("coco", coco, tmp_path / "coco", extractors=["color-hist"], num_workers=0)
    assert extracted.ok and extracted.failed_tables == []
    assert extracted == replace(extracted)  # dataclass equality kept
    assert_short(extracted, "samples=8", "image.color-hist: 8 rows, 0 failed", "ok")
    fused = fuse(tmp_path / "coco", tmp_path / "fused", stats_splits="val2017")
    assert_short(fused, str(tmp_path / "fused"), "8 rows (val2017: 8) x 48 dims", "image.color-hist [0:48] zscore")
    shared = share_dataset(tmp_path / "coco", tmp_path / "shared")
    assert_short(shared, str(tmp_path / "shared"), "8 samples (val2017: 8)", "'image.color-hist'", "checks: ok: 0 errors")

    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    extract("csd", fake.root, tmp_path / "mosi", extractors=[], num_workers=0)
    aligned = align_dataset(tmp_path / "mosi", "text.words", on_missing="impute")
    assert_short(aligned, "reference='text.words'", f"kept, {aligned.dropped} dropped",
                 "audio.covarep@text.words: ", str(tmp_path / "mosi"))


def test_check_report_lists_the_first_twenty_issues_and_counts_the_rest(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    extract("coco", coco, tmp_path / "coco", extractors=["color-hist"], num_workers=0)
    report = check_dataset(tmp_path / "coco")
    assert_short(report, str(tmp_path / "coco"), "ok: 0 errors")
    many = [make_issue("non-finite", "error", f"sample s{i} has NaN", table="image.color-hist") for i in range(30)]
    failing = replace(report, issues=many)
    text = repr(failing)
    assert "FAILED: 30 errors" in text and text.count("non-finite") == 20 and "... 10 more issues" in text
    assert len(text.splitlines()) <= 25


def test_segment_report_is_short(tmp_path):
    labels = write_labels(tmp_path / "labels" / "labels.csd", SEGMENTS)
    report = segment_dataset(videos_dataset(tmp_path), tmp_path / "seg", labels)
    assert_short(report, str(tmp_path / "seg"), f"{report.samples} segments of 2 videos", "audio.covarep: ")


@pytest.mark.parametrize("count", [0, 12])
def test_many_tables_are_counted_not_listed(tmp_path, count):
    coco = copy_sample_corpus("coco", tmp_path)
    report = extract("coco", coco, tmp_path / "coco", extractors=["color-hist"], num_workers=0)
    report.tables = report.tables * count
    text = repr(report)
    assert len(text.splitlines()) < 15 and (("... 4 more tables" in text) == (count == 12))
