"""`segment` on random corpora: the same samples and tables as extracting with the labels, and tables named
more than once are cut once."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mmdata.alignment.segment import ROWS_END_ESTIMATE
from mmdata.alignment import segment_dataset
from mmdata.checks import check_dataset
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import (
    COVAREP_FILE, COVAREP_ROOT, LABELS_FILE, LABELS_ROOT, WORDS_FILE, WORDS_ROOT, write_mosi_csd, write_sdk_csd,
)

VIDEOS = ("v0", "v1", "v2", "v3", "v0-x", "v0x")  # ids sorting apart from their videos' order: `v0-x[0]` < `v0[0]`


def write_random_labelled_csd(root, seed):
    """Words with pauses and a zero-length word, overlapping COVAREP frames, and up to 13 overlapping label
    segments a video (`v[10]` sorts before `v[2]`), one of zero length; two videos in no fold."""
    rng = np.random.default_rng(seed)
    words, covarep, labels = {}, {}, {}
    for vid in VIDEOS:
        n = int(rng.integers(4, 30))
        starts = np.sort(rng.uniform(0, 20, n))
        ends = starts + rng.uniform(0, 1.5, n)
        ends[1] = starts[1]
        words[vid] = (np.array([b"sp" if rng.random() < 0.3 else b"w%d" % k for k in range(n)], "S12").reshape(-1, 1),
                      np.stack([starts, ends], 1))
        m = int(rng.integers(1, 200))
        frames = np.sort(rng.uniform(0, 20, m))
        covarep[vid] = (rng.normal(size=(m, 3)).astype(np.float32), np.stack([frames, frames + rng.uniform(0, 0.3, m)], 1))
        s = int(rng.integers(3, 14))
        segment_starts = np.sort(rng.uniform(0, 20, s))
        segment_ends = segment_starts + rng.uniform(0, 4, s)
        segment_ends[2] = segment_starts[2]
        labels[vid] = (rng.uniform(-3, 3, (s, 1)).astype(np.float32), np.stack([segment_starts, segment_ends], 1))
    write_sdk_csd(root / WORDS_FILE, WORDS_ROOT, words)
    write_sdk_csd(root / COVAREP_FILE, COVAREP_ROOT, covarep)
    write_sdk_csd(root / LABELS_FILE, LABELS_ROOT, labels)
    (root / "folds.json").write_text(json.dumps({"train": list(VIDEOS[:2]), "valid": list(VIDEOS[2:4])}))
    return root


@pytest.mark.parametrize("seed", range(3))
def test_segmenting_random_videos_equals_extracting_with_the_labels(tmp_path, seed):
    csd = write_random_labelled_csd(tmp_path / "csd", seed)
    extract("csd", csd, tmp_path / "videos", extractors=[], corpus_options={"labels": "none"}, shard_size=3,
            num_workers=0)
    report = segment_dataset(tmp_path / "videos", tmp_path / "cut", csd / LABELS_FILE, folds=csd / "folds.json",
                             shard_size=4)
    extract("csd", csd, tmp_path / "loaded", extractors=[], corpus_options={"folds": "folds.json"}, shard_size=4,
            num_workers=0)
    cut, loaded = open_dataset(tmp_path / "cut"), open_dataset(tmp_path / "loaded")
    assert cut.samples_table().equals(loaded.samples_table())  # ids, labels, groups, splits, words, transcripts
    assert report.samples == loaded.manifest.samples["rows"] and report.videos == len(VIDEOS)
    assert {p.sample_id for p in report.problems} == {f"{v}[2]" for v in VIDEOS}  # the zero-length segments
    for name in ("audio.covarep", "text.words"):
        columns = ["sample_id", "feature", "intervals"] + (["words"] if name == "text.words" else [])
        assert cut.table(name).to_table().select(columns).equals(loaded.table(name).to_table().select(columns)), name
    assert check_dataset(tmp_path / "cut").ok and check_dataset(tmp_path / "loaded").ok
    # Segments past their video's end or in a pause fail alike on both paths, each null with its errors row.
    failed = _failures(cut, ROWS_END_ESTIMATE)
    assert failed == _failures(loaded, "where its rows end over the .csd files")
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


def _failures(dataset, known_by):
    """(table, sample_id) -> (error type, reason) of the segments that failed in a table; where each path
    takes a video's end from (a .csd records no media duration), the reasons' one difference, set aside."""
    return {(r["table"], r["sample_id"]): (r["error_type"], r["reason"].replace(known_by, "<end>"))
            for r in dataset.errors().to_pylist() if r["table"] != "loader"}


def test_a_table_named_twice_is_cut_once(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "videos", extractors=[], corpus_options={"labels": "none"}, shard_size=2,
            num_workers=0)
    report = segment_dataset(tmp_path / "videos", tmp_path / "out", fake.files[LABELS_FILE],
                             tables=["audio.covarep", "text.words", "audio.covarep"])
    assert [(t.name, t.rows, t.shards_written) for t in report.tables] == [("audio.covarep", 5, 3), ("text.words", 5, 3)]
    assert open_dataset(tmp_path / "out").manifest.extra["segment"]["tables"] == ["audio.covarep", "text.words"]
