"""A label file loaded as a feature table follows the unsorted-rows policy of every other table."""
from __future__ import annotations

import numpy as np

from mmdata.corpora import load_corpus
from tests.fakes.csd import LABELS_FILE, LABELS_ROOT, write_mosi_csd, write_sdk_csd

AS_TABLE = {"labels": "none", "tables": f"{LABELS_FILE[:-4]}=audio.opinion"}
# abc's segments overlap and are not in start order (as label files may be).
UNSORTED = [(2.0, 4.0, 0.5), (0.0, 3.0, 2.5), (3.0, 6.0, 1.25)]


def write_unsorted_labels(fake):
    rows = {"abc": UNSORTED, "abcd": [(0.5, 4.0, -1.4)], "x9Y_z-1": [(0.0, 2.5, 0.0), (2.5, 5.0, -3.0)]}
    write_sdk_csd(fake.files[LABELS_FILE], LABELS_ROOT, {
        vid: (np.array([[v] for *_, v in r], np.float32), np.array([[a, b] for a, b, _ in r])) for vid, r in rows.items()})


def test_unsorted_label_file_loaded_as_a_table_is_refused_like_any_table(tmp_path):
    write_unsorted_labels(write_mosi_csd(tmp_path))
    result = load_corpus("csd", tmp_path, options=AS_TABLE)
    [problem] = result.problems
    assert problem.sample_id == "abc" and problem.path.endswith(LABELS_FILE)
    assert "intervals are not sorted by start time" in problem.reason and "unsorted=sort" in problem.reason
    assert sorted(s.sample_id for s in result.samples) == ["abcd", "x9Y_z-1"]


def test_unsorted_label_file_loaded_as_a_table_is_sorted_on_request(tmp_path):
    write_unsorted_labels(write_mosi_csd(tmp_path))
    result = load_corpus("csd", tmp_path, options={**AS_TABLE, "unsorted": "sort"})
    assert result.problems == []
    opinion = next(t for t in result.tables if t.name == "audio.opinion")
    [row] = opinion.read(["abc"])
    assert row.intervals.tolist() == [[0.0, 3.0], [2.0, 4.0], [3.0, 6.0]]
    assert row.features[:, 0].tolist() == [2.5, 0.5, 1.25]


def test_the_same_unsorted_file_read_as_labels_needs_no_sorting(tmp_path):
    write_unsorted_labels(write_mosi_csd(tmp_path))
    result = load_corpus("csd", tmp_path)
    assert result.problems == []
    assert {s.sample_id: (s.start, s.end) for s in result.samples if s.group_id == "abc"} == {
        f"abc[{i}]": (a, b) for i, (a, b, _) in enumerate(UNSORTED)}
