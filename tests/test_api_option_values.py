"""Option values a notebook gets wrong are refused where the call starts, naming the option and what it
takes: `CheckOptions(label_range=5)` failed deep inside the label check with "cannot unpack non-iterable
int", `label_range=(3, -3)` flagged every label, `min_coverage="0.5"` compared a str with floats;
`FuseOptions(max_length="5")` was a bare TypeError, `max_length=2.5` was kept, `stats_splits=None` failed
in the plan with "'NoneType' object is not iterable"."""
from __future__ import annotations

import re

import pytest

import mmdata
from mmdata import ArgumentTypeError, CheckOptions, ConfigError, FuseOptions
from tests.checks.builder import build_dataset, mosi_samples, pooled_table

SAMPLES = mosi_samples()  # labelled segments: train 6, valid 3, test 3


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    return build_dataset(tmp_path_factory.mktemp("values") / "ds", SAMPLES, [pooled_table("audio.p", SAMPLES, 2)],
                         corpus_kind="mosi-raw")


@pytest.mark.parametrize(("options", "error", "expected"), [
    (CheckOptions(label_range=5), ArgumentTypeError,
     "CheckOptions.label_range is (low, high), two numbers (or None: the corpus kind's range), got 5 (int)"),
    (CheckOptions(label_range="-3,3"), ArgumentTypeError, "CheckOptions.label_range is (low, high), two numbers"),
    (CheckOptions(label_range=(3, -3)), ConfigError,
     "CheckOptions.label_range is (low, high) with low <= high, got (3, -3)"),
    (CheckOptions(label_range=(float("nan"), 3)), ConfigError, "CheckOptions.label_range is (low, high) with low"),
    (CheckOptions(min_coverage="0.5"), ArgumentTypeError,
     "CheckOptions.min_coverage is a fraction from 0 to 1, got '0.5' (str)"),
    (CheckOptions(min_coverage=1.5), ConfigError, "CheckOptions.min_coverage is a fraction from 0 to 1, got 1.5"),
    (CheckOptions(interval_tolerance=-0.1), ConfigError, "CheckOptions.interval_tolerance is seconds, at least 0"),
    (CheckOptions(frame_tolerance=None), ArgumentTypeError, "CheckOptions.frame_tolerance is a fraction, at least 0"),
    (CheckOptions(max_examples=-1), ConfigError, "CheckOptions.max_examples must be a whole number, at least 1"),
])
def test_check_dataset_refuses_an_option_value_it_does_not_take(dataset_dir, options, error, expected):
    with pytest.raises(error, match="^" + re.escape(expected)):
        mmdata.check_dataset(dataset_dir, options)


def test_a_label_range_given_as_a_list_is_taken_as_low_and_high(dataset_dir):
    as_list = mmdata.check_dataset(dataset_dir, CheckOptions(label_range=[0, 1]))
    as_tuple = mmdata.check_dataset(dataset_dir, CheckOptions(label_range=(0.0, 1.0)))
    assert [(i.code, i.count) for i in as_list.issues] == [(i.code, i.count) for i in as_tuple.issues]
    assert "label-range" in as_list.codes()


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("max_length", "5", "fuse option max_length must be a whole number, at least 1 (or None), got '5'"),
    ("max_length", 2.5, "fuse option max_length must be a whole number, at least 1 (or None), got 2.5"),
    ("shard_rows", None, "fuse option shard_rows must be a whole number, at least 1, got None"),
    ("shard_rows", "10", "fuse option shard_rows must be a whole number, at least 1, got '10'"),
    ("stats_splits", None, "fuse option stats_splits is None; name the split(s) whose z-score statistics normalize "
                           "every split ('train', the default), as a list or a comma list"),
])
def test_fuse_options_refuse_a_value_they_do_not_take(dataset_dir, tmp_path, field, value, expected):
    with pytest.raises(ConfigError, match="^" + re.escape(expected) + "$"):
        FuseOptions(**{field: value})
    with pytest.raises(ConfigError, match="^" + re.escape(expected) + "$"):
        mmdata.fuse(dataset_dir, tmp_path / "fused", **{field: value})
    assert not (tmp_path / "fused").exists()


def test_a_stats_split_given_as_one_string_is_one_split(dataset_dir, tmp_path):
    report = mmdata.fuse(dataset_dir, tmp_path / "fused", stats_splits="valid", format="arrow")
    assert mmdata.read_fused_metadata(report.output_dir)["normalization"]["stats_splits"] == ["valid"]
