"""`segment` and `extract csd` with the labels on random corpora (segments past the end of their video, in
pauses, overlapping): both fail the same segments for the same reasons, every null feature has its errors
row, and `segment` counts them by cause. That their samples and tables are equal is
tests/mosi_csd/test_segment_cases.py's."""
from __future__ import annotations

import pytest

from mmdata.alignment import segment_dataset
from mmdata.checks import check_dataset
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import LABELS_FILE
from tests.mosi_csd.test_segment_cases import write_random_labelled_csd

# Where each path takes a video's end from (a .csd records no media duration): the only difference in the reasons.
KNOWN_BY = {"cut": "where its rows end over the dataset's tables", "loaded": "where its rows end over the .csd files"}


def failures(dataset, known_by):
    """(table, sample_id) -> (error type, reason) of the segments that failed in a table."""
    return {(r["table"], r["sample_id"]): (r["error_type"], r["reason"].replace(known_by, "<end>"))
            for r in dataset.errors().to_pylist() if r["table"] != "loader"}


@pytest.mark.parametrize("seed", range(3))
def test_both_paths_fail_the_same_segments_for_the_same_reasons(tmp_path, seed):
    csd = write_random_labelled_csd(tmp_path / "csd", seed)
    extract("csd", csd, tmp_path / "videos", extractors=[], corpus_options={"labels": "none"}, shard_size=3,
            num_workers=0)
    report = segment_dataset(tmp_path / "videos", tmp_path / "cut", csd / LABELS_FILE, folds=csd / "folds.json",
                             shard_size=4)
    extract("csd", csd, tmp_path / "loaded", extractors=[], corpus_options={"folds": "folds.json"}, shard_size=4,
            num_workers=0)
    cut, loaded = open_dataset(tmp_path / "cut"), open_dataset(tmp_path / "loaded")
    failed = failures(cut, KNOWN_BY["cut"])
    assert failed == failures(loaded, KNOWN_BY["loaded"])
    for name in ("audio.covarep", "text.words"):
        for dataset in (cut, loaded):
            nulls = {r["sample_id"] for r in dataset.table(name).to_table(columns=["sample_id", "feature"]).to_pylist()
                     if r["feature"] is None}
            assert nulls == {k for t, k in failed if t == name}, (name, dataset.root.name)
        types = [failed[key][0] for key in failed if key[0] == name]
        assert (report.overrun[name], report.empty[name]) == (types.count("MediaError"), types.count("DatasetError"))
        assert all("past the end of video" in why for kind, why in failed.values() if kind == "MediaError")
        assert all(" overlaps segment " in why for kind, why in failed.values() if kind == "DatasetError")
    assert sum(report.overrun.values()) and sum(report.empty.values())  # both causes occur
    assert check_dataset(tmp_path / "loaded").ok
