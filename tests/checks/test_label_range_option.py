"""The `dataset` corpus option of the MOSI-style kinds sets the label range `check` enforces."""
from __future__ import annotations

from mmdata.checks import check_dataset
from mmdata.pipeline import extract
from tests.fakes.csd import SEGMENTS, write_mosi_csd


def _codes(report):
    return {issue.code for issue in report.issues}


def test_csd_dataset_option_sets_the_label_range(tmp_path):
    write_mosi_csd(tmp_path / "csd")
    labels = [s for segments in SEGMENTS.values() for _, _, s in segments]
    assert max(abs(v) for v in labels) > 1  # MOSI labels, outside CH-SIMS' [-1, 1]
    extract("csd", tmp_path / "csd", tmp_path / "mosi", extractors=[], corpus_options={"dataset": "cmu-mosi"})
    extract("csd", tmp_path / "csd", tmp_path / "sims", extractors=[], corpus_options={"dataset": "ch-sims"})
    extract("csd", tmp_path / "csd", tmp_path / "plain", extractors=[])
    assert "label-range" not in _codes(check_dataset(tmp_path / "mosi"))
    sims = [i for i in check_dataset(tmp_path / "sims").issues if i.code == "label-range"]
    assert len(sims) == 1 and sims[0].severity == "error" and "outside [-1, 1]" in sims[0].message
    assert sims[0].count == sum(abs(v) > 1 for v in labels)
    assert "label-range" not in _codes(check_dataset(tmp_path / "plain"))  # no range known, none enforced
