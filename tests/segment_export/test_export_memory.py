"""`export-csd` streams a table a record batch at a time as NumPy views of the Arrow buffers: no
Python list of floats (which took ~15x the table's size: 2.2 GB for 144 MB of features)."""
from __future__ import annotations

import tracemalloc

import numpy as np

from mmdata.formats.csd import CsdFile
from mmdata.formats.csd_export import export_csd
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import COVAREP_FILE, COVAREP_ROOT, write_sdk_csd

VIDEOS, ROWS, DIM = 6, 20_000, 8  # 3.8 MB of float32 features


def write_long_videos(root):
    rng = np.random.default_rng(0)
    data = {}
    for i in range(VIDEOS):
        starts = np.arange(ROWS) / 100
        data[f"v{i}"] = (rng.normal(size=(ROWS, DIM)).astype(np.float32), np.stack([starts, starts + 0.01], 1))
    write_sdk_csd(root / COVAREP_FILE, COVAREP_ROOT, data)
    return data


def test_exporting_a_table_allocates_far_less_python_memory_than_its_features(tmp_path):
    data = write_long_videos(tmp_path / "csd")
    extract("csd", tmp_path / "csd", tmp_path / "out", extractors=[], num_workers=0)
    tracemalloc.start()
    try:
        export_csd(tmp_path / "out", tmp_path / "back")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    features_bytes = VIDEOS * ROWS * DIM * 4
    assert peak < features_bytes, (
        f"peak {peak / 1e6:.1f} MB of Python/NumPy allocations for {features_bytes / 1e6:.1f} MB of features")
    with CsdFile(tmp_path / "back" / COVAREP_FILE) as csd:  # and the rows are the source's, bit for bit
        for vid, (features, intervals) in data.items():
            entry = csd.read(vid)
            assert entry.features.dtype == np.float32
            assert np.array_equal(entry.features, features) and np.array_equal(entry.intervals, intervals)


def test_words_and_aligned_row_keys_still_stream_right(tmp_path):
    from tests.segment_export.corpus import videos_dataset
    from mmdata.alignment.dataset import align_dataset

    videos = videos_dataset(tmp_path)
    align_dataset(videos, "text.words", collapse="mean")
    written = export_csd(videos, tmp_path / "back", tables=["text.words", "audio.covarep@text.words"])
    with CsdFile(written[0]) as csd:
        assert [w.decode() for w in csd.read("vB").features[:, 0]] == ["ok", "sp", "fine"]
    with CsdFile(written[1]) as csd:
        assert csd.video_ids[:3] == ["vA[0]", "vA[1]", "vA[2]"]  # one key per aligned row, as the SDK's align writes
        entry = csd.read("vA[1]")
        assert entry.features.shape == (1, 3) and np.allclose(entry.features[0], [74.5, 149.0, 223.5])
    assert open_dataset(videos).entry("audio.covarep@text.words").extractor == "align"
