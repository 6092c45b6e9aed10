"""The pure check functions on hand-made arrays, the report renderers and `mmdata check`."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from rich.console import Console
from typer.testing import CliRunner

from mmdata.checks import CODES, check_dataset
from mmdata.checks.issues import Issue, IssueCollector, make_issue
from mmdata.checks.report import render_report, write_report_json
from mmdata.checks.samples import label_range_for, parse_label_range
from mmdata.checks.tables import check_ids
from mmdata.checks.temporal import check_interval_counts, segment_coverage
from mmdata.cli import app
from mmdata.errors import ConfigError
from tests.checks.builder import build_dataset, image_text_samples, pooled_table, with_value

runner = CliRunner()


def test_coverage_is_the_union_of_overlapping_intervals_clipped_to_the_segment():
    # sample 0: segment [0,10]; [2,5] u [1,3] u [8,12] clipped = [1,5] u [8,10] = 6 s -> 0.6
    # sample 1: no interval -> 0; sample 2: unknown end -> measured up to the last end: [0,1] u [3,4] over [0,4] = 0.5
    offsets = np.array([0, 3, 3, 5])
    intervals = np.array([[2, 5], [1, 3], [8, 12], [0, 1], [3, 4]], dtype=np.float64)
    coverage = segment_coverage(offsets, intervals, np.array([0.0, 0.0, 0.0]), np.array([10.0, 2.0, np.nan]))
    np.testing.assert_allclose(coverage, [0.6, 0.0, 0.5])


def test_coverage_does_not_leak_between_adjacent_samples():
    # sample 0's long interval must not count for sample 1, whose segment it does not touch after clipping
    offsets = np.array([0, 1, 2])
    intervals = np.array([[0.0, 100.0], [5.0, 6.0]])
    coverage = segment_coverage(offsets, intervals, np.array([0.0, 5.0]), np.array([1.0, 9.0]))
    np.testing.assert_allclose(coverage, [1.0, 0.25])


def test_interval_count_differing_from_feature_rows_is_caught():
    ids = pa.array(["a", "b"])
    issues = check_interval_counts("audio.x", ids, np.array([0, 3, 5]), np.array([0, 3, 4]), np.array([True, True]))
    assert [(i.code, i.sample_id) for i in issues] == [("intervals-length", "b")]
    assert "2 feature rows but 1 intervals" in issues[0].message


def test_check_ids_reports_missing_extra_and_duplicates_together():
    samples = pa.array(["a", "b", "c", "d"])
    table = pa.array(["a", "a", "c", "x"])
    issues = {i.code: i for i in check_ids("t", table, samples)}
    assert set(issues) == {"ids-duplicate", "ids-missing", "ids-extra"}
    assert issues["ids-duplicate"].sample_id == "a"
    assert issues["ids-missing"].sample_id == "b" and issues["ids-missing"].count == 2
    assert issues["ids-extra"].sample_id == "x"


def test_collector_merges_findings_of_successive_shards():
    collector = IssueCollector(max_examples=3)
    for sid in ["s1", "s2", "s3", "s4"]:
        collector.add(make_issue("non-finite", "error", "NaN", table="t", offenders=[sid]))
    collector.add(make_issue("split-counts", "info", "2 splits"))
    merged = collector.issues()
    assert [(i.code, i.count, i.sample_id) for i in merged] == [("non-finite", 4, "s1"), ("split-counts", 1, None)]
    assert "4 in all, first samples: ['s1', 's2', 's3']" in merged[0].message


def test_collector_names_a_sample_found_twice_once():
    """One sample leaking by image id and by group id: two findings, one example."""
    collector = IssueCollector(max_examples=3)
    collector.add(make_issue("split-leak", "error", "image leaks", offenders=["dog"]))
    collector.add(make_issue("split-leak", "error", "group leaks", offenders=["dog"]))
    [merged] = collector.issues()
    assert merged.count == 2 and merged.message.endswith("2 in all, first samples: ['dog']")


def test_unknown_issue_code_is_a_programming_error():
    with pytest.raises(KeyError, match="unknown issue code 'nope'"):
        make_issue("nope", "error", "x")
    assert all(code == code.lower() and " " not in code for code in CODES)


def test_label_range_from_corpus_kind_or_dataset_option_and_parsed_option():
    assert label_range_for({"kind": "cmu-mosei"}) == (-3.0, 3.0)
    assert label_range_for({"kind": "mmsa", "options": {"dataset": "CH-SIMS"}}) == (-1.0, 1.0)
    assert label_range_for({"kind": "coco", "options": {}}) is None
    assert parse_label_range(" -1, 1") == (-1.0, 1.0)
    with pytest.raises(ConfigError, match="expected LOW,HIGH"):
        parse_label_range("-1")
    with pytest.raises(ConfigError, match="above high"):
        parse_label_range("2,1")


def _dataset(tmp_path, bad: bool):
    samples = image_text_samples()
    image = pooled_table("image.a", samples, 4)
    if bad:
        image = with_value(image, 3, np.full(4, np.nan, np.float32))
    return build_dataset(tmp_path / "ds", samples, [image])


def test_report_renders_a_table_and_writes_json(tmp_path):
    report = check_dataset(_dataset(tmp_path, bad=True))
    console = Console(record=True, width=200)
    render_report(report, console)
    text = console.export_text()
    assert "non-finite" in text and "000000000003" in text and text.strip().splitlines()[-1].startswith("FAILED: 1 errors")
    data = json.loads(write_report_json(report, tmp_path / "r" / "report.json").read_text())
    assert data["ok"] is False and data["errors"] == 1
    assert {"code": "non-finite", "severity": "error", "sample_id": "000000000003", "table": "image.a"}.items() \
        <= data["issues"][0].items()
    assert Issue(**data["issues"][0]) == report.errors[0]


def test_cli_check_exits_0_when_clean_and_1_on_errors_with_json(tmp_path):
    clean = runner.invoke(app, ["check", str(_dataset(tmp_path / "a", bad=False))])
    assert clean.exit_code == 0, clean.output
    assert "ok: 0 errors" in clean.output
    report_path = tmp_path / "report.json"
    bad = runner.invoke(app, ["check", str(_dataset(tmp_path / "b", bad=True)), "--json", str(report_path)])
    assert bad.exit_code == 1
    assert json.loads(report_path.read_text())["issues"][0]["code"] == "non-finite"


def test_cli_check_on_a_missing_directory_is_a_one_line_error(tmp_path):
    result = runner.invoke(app, ["check", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "error: dataset directory not found" in result.output


def test_split_leaks_on_distinct_and_on_repeated_keys():
    from mmdata.checks.splits import check_split_leaks

    def samples(images, splits):
        return pa.table({"sample_id": [f"s{i}" for i in range(len(images))], "split": splits, "image": images})

    # every path distinct (nulls aside): nothing can leak, found without a hash table
    assert check_split_leaks(samples(["b.jpg", None, "a.jpg", None, "c.jpg"], ["train", "val", "test", "val", "train"])) == []
    # a repeated path inside one split is no leak; across splits it is, naming the sample outside the first split
    assert check_split_leaks(samples(["a.jpg", "a.jpg", "b.jpg"], ["train", "train", "val"])) == []
    issues = check_split_leaks(samples(["a.jpg", "b.jpg", "a.jpg"], ["train", "val", "test"]))
    assert [(i.code, i.sample_id) for i in issues] == [("split-leak", "s2")]
    assert "image 'a.jpg' in splits ['train', 'test']" in issues[0].message


def test_a_label_range_of_nan_is_refused_not_a_check_that_passes_anything():
    with pytest.raises(ConfigError, match="expected two numbers"):
        parse_label_range("nan,3")
