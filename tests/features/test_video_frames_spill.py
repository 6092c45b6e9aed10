"""`video-frames` on long videos: past `SPILL_BYTES` what the image extractor's `decode` made of a sample's
frames waits for `compute` in a temporary file when it is arrays, giving the features of the frames held in
memory; anything else (PIL images) stays in memory."""
from __future__ import annotations

import pickle
import tempfile
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import mmdata.features.video as video_frames
import mmdata.features.video_frame_store as frame_store
from mmdata.features import Extractor, base, create_extractor, register_extractor
from mmdata.features.video_frame_store import SpilledFrames
from mmdata.store.metadata import FeatureSpec
from tests.video_streams.conftest import frame_index, write_clip


class ArraysThenPictures(Extractor):
    """Each frame's level; `decode` gives arrays for the first second of video, PIL images after it."""

    name: ClassVar[str] = "test-arrays-then-pictures"
    modality: ClassVar = "image"

    def output_spec(self):
        return FeatureSpec(dim=1)

    def decode(self, row, corpus_root):
        from PIL import Image

        image = Image.open(Path(corpus_root) / row["image"]).convert("RGB")
        seconds = float(row["sample_id"].rpartition("@")[2].rstrip("s"))
        return np.asarray(image) if seconds < 1.0 else image

    def compute(self, items):
        return [np.array([frame_index(np.asarray(item))], np.float32) for item in items]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("frames-spill")
    write_clip(root / "a.mp4")  # 2 s at 10 fps, frame k at level 10 k
    write_clip(root / "b.mp4", offset=3)
    return root


@pytest.fixture
def frame_dir(tmp_path, monkeypatch):
    """The temporary directory frame files go to, empty at the start of the test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def decode_all(spec, corpus, monkeypatch, spill_bytes):
    monkeypatch.setattr(frame_store, "SPILL_BYTES", spill_bytes)
    extractor = create_extractor(spec)
    return extractor, [extractor.decode({"sample_id": name, "video": f"{name}.mp4"}, corpus) for name in ("a", "b")]


@pytest.mark.parametrize("spec", [
    "video-frames:image_extractor=resnet18,image_options=weights=random,fps=15",
    "video-frames:image_extractor=resnet18,image_options=weights=random,fps=4,pool=mean",
])
def test_spilled_frames_give_the_features_of_frames_held_in_memory(corpus, frame_dir, monkeypatch, spec):
    extractor, held = decode_all(spec, corpus, monkeypatch, 1 << 62)
    expected = extractor.compute(held)
    _, spilled = decode_all(spec, corpus, monkeypatch, 0)
    assert all(isinstance(item.items, SpilledFrames) for item in spilled)
    assert len(list(frame_dir.iterdir())) == 2
    for got_item, held_item in zip(spilled, held):
        np.testing.assert_array_equal(got_item.items[:], np.stack(held_item.items))
    got = pickle.loads(pickle.dumps(extractor)).compute(pickle.loads(pickle.dumps(spilled)))
    for got_row, expected_row in zip(got, expected):
        for got_part, expected_part in zip(got_row if isinstance(got_row, tuple) else [got_row],
                                           expected_row if isinstance(expected_row, tuple) else [expected_row]):
            np.testing.assert_array_equal(got_part, expected_part)
    del spilled, got_item
    assert not list(frame_dir.iterdir())


def test_chunks_of_compute_run_across_spilled_samples_in_order(corpus, frame_dir, monkeypatch):
    monkeypatch.setattr(video_frames, "FRAMES_PER_COMPUTE", 7)  # chunks that straddle the two samples
    extractor, spilled = decode_all("video-frames:image_extractor=pixel-stats,fps=10", corpus, monkeypatch, 0)
    assert all(isinstance(item.items, SpilledFrames) for item in spilled)
    got = extractor.compute(spilled)
    _, held = decode_all("video-frames:image_extractor=pixel-stats,fps=10", corpus, monkeypatch, 1 << 62)
    monkeypatch.setattr(video_frames, "FRAMES_PER_COMPUTE", 64)
    expected = extractor.compute(held)
    for (got_rows, got_intervals), (rows, intervals) in zip(got, expected):
        np.testing.assert_array_equal(got_rows, rows)
        np.testing.assert_array_equal(got_intervals, intervals)


@pytest.fixture
def registered(monkeypatch):
    base.available_extractors()
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    register_extractor(ArraysThenPictures)


def test_frames_that_are_not_all_arrays_of_one_kind_stay_in_memory(registered, corpus, frame_dir, monkeypatch):
    """The first second's arrays are in the file when the first picture comes: read back, file removed."""
    extractor, decoded = decode_all("video-frames:image_extractor=test-arrays-then-pictures,fps=5", corpus,
                                    monkeypatch, 0)
    assert all(isinstance(item.items, list) for item in decoded)
    assert not list(frame_dir.iterdir())
    levels = [rows[:, 0].tolist() for rows, _ in extractor.compute(decoded)]
    assert levels == [[0, 2, 4, 6, 8, 10, 12, 14, 16, 18], [3, 5, 7, 9, 11, 13, 15, 17, 19, 21]]
