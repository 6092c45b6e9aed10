"""What a notebook shows for the results a user holds: an `Issue` prints as the report's one line, a
`FusedDataset` as its export, split, rows, dim and table slices."""
from __future__ import annotations

import pytest

from mmdata.checks.issues import Issue, make_issue
from mmdata.fusion import FusedDataset, fuse
from tests.checks.builder import aligned_table, build_dataset, mosi_samples, pooled_table


def test_an_issue_prints_as_its_one_line_and_keeps_every_field_in_its_repr(capsys):
    issue = make_issue("non-finite", "error", "2 NaN values", table="image.a", offenders=["s1", "s2"])
    assert str(issue) == issue.one_line() == ("non-finite (table 'image.a', sample 's1'): 2 NaN values (2 rows; "
                                              "first: 's1', 's2')")
    print(issue)
    assert capsys.readouterr().out == issue.one_line() + "\n"
    assert repr(issue).startswith("Issue(code='non-finite', severity='error', sample_id='s1'")
    assert str(Issue("split-counts", "info", None, "train 6")) == "split-counts (samples): train 6"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    samples = mosi_samples()  # train 6, valid 3, test 3
    tables = [pooled_table("image.p", samples, 3), aligned_table("text.w", samples, 2, 4)]
    return build_dataset(tmp_path_factory.mktemp("ds") / "ds", samples, tables, corpus_kind="mosi-raw")


@pytest.mark.parametrize(("sequences", "rows"), [("pool", "pooled rows of dim 5"),
                                                 ("pad", "padded rows of dim 5 (max length 4)")])
def test_a_fused_dataset_shows_its_export_split_rows_and_slices(dataset, tmp_path, sequences, rows):
    fuse(dataset, tmp_path / "fused", format="arrow", sequences=sequences, stats_splits=("train",))
    fused = FusedDataset(tmp_path / "fused", "valid")
    assert repr(fused) == (f"FusedDataset({str(tmp_path / 'fused')!r}, split='valid'): 3 {rows}, format arrow; "
                           "slices image.p [0:3], text.w [3:5]")
    assert "object at 0x" not in str(fused)
