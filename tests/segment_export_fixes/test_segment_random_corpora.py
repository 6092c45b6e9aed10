"""`segment` on random corpora (segments past the end of their video, in pauses, overlapping): every segment
that keeps a feature has what extracting with the labels gives it, and every other one has its reason in the
errors table (the loader, which cuts with the labels, keeps such segments as they are)."""
from __future__ import annotations

import pytest

from mmdata.alignment import segment_dataset
from mmdata.checks import check_dataset
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import LABELS_FILE
from tests.mosi_csd.test_segment_cases import write_random_labelled_csd


@pytest.mark.parametrize("seed", range(3))
def test_segments_with_a_feature_equal_the_loaders_cut_and_the_others_are_explained(tmp_path, seed):
    csd = write_random_labelled_csd(tmp_path / "csd", seed)
    extract("csd", csd, tmp_path / "videos", extractors=[], corpus_options={"labels": "none"}, shard_size=3,
            num_workers=0)
    report = segment_dataset(tmp_path / "videos", tmp_path / "cut", csd / LABELS_FILE, folds=csd / "folds.json",
                             shard_size=4)
    extract("csd", csd, tmp_path / "loaded", extractors=[], corpus_options={"folds": "folds.json"}, shard_size=4,
            num_workers=0)
    cut, loaded = open_dataset(tmp_path / "cut"), open_dataset(tmp_path / "loaded")
    assert cut.samples_table().equals(loaded.samples_table())
    errors = {(r["table"], r["sample_id"]): r["reason"] for r in cut.errors().to_pylist()}
    for name in ("audio.covarep", "text.words"):
        columns = ["sample_id", "feature", "intervals"] + (["words"] if name == "text.words" else [])
        mine = {r["sample_id"]: r for r in cut.table(name).to_table().select(columns).to_pylist()}
        theirs = {r["sample_id"]: r for r in loaded.table(name).to_table().select(columns).to_pylist()}
        failed = {k for k, r in mine.items() if r["feature"] is None}
        kept = set(mine) - failed
        assert {k: mine[k] for k in kept} == {k: theirs[k] for k in kept}
        assert failed == {k for t, k in errors if t == name}
        assert len(failed) == report.overrun[name] + report.empty[name]
        for sample_id in failed:
            assert "past the end of video" in errors[name, sample_id] or "overlaps segment" in errors[name, sample_id]
    assert sum(report.overrun.values()) and sum(report.empty.values())  # both causes occur
    assert check_dataset(tmp_path / "cut").ok
