"""Clip models on long videos without a cap on clips: past `SPILL_BYTES` a sample's crops wait for the model
in a temporary file, so memory does not grow with the video's length, and the features are those of the
crops held in memory, bit for bit."""
from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import mmdata.features.video_frame_store as frame_store
from mmdata.errors import MediaError
from mmdata.features import create_extractor
from mmdata.features.video_frame_store import SpilledFrames
from tests.fakes.video_clip_model import decode_spilling_every_frame
from tests.video_clips.test_video_clip_models import write_textured_clip

REPO = Path(__file__).resolve().parents[2]
MODEL = "r3d-18:weights=random,seed=0,clip_frames=8"
R3D = f"{MODEL},fps=8"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("spill")
    write_textured_clip(root / "clip.mp4", seconds=2.5)  # 10 fps: fps=15 samples some frames twice
    return root


@pytest.fixture
def crop_dir(tmp_path, monkeypatch):
    """The temporary directory crop files go to, empty at the start of the test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def decode_and_compute(spec, corpus, monkeypatch, spill_bytes, **segment):
    monkeypatch.setattr(frame_store, "SPILL_BYTES", spill_bytes)
    extractor = create_extractor(spec)
    item = extractor.decode({"sample_id": "clip", "video": "clip.mp4", **segment}, corpus)
    return extractor, item, extractor.compute([item])[0]


@pytest.mark.parametrize("options", ["fps=8", "fps=15,step=0.2", "fps=8,pool=mean,tail=drop"])
def test_spilled_crops_give_the_features_of_crops_held_in_memory(corpus, crop_dir, monkeypatch, options):
    spec = f"{MODEL},{options}"
    _, held, expected = decode_and_compute(spec, corpus, monkeypatch, 1 << 62)
    _, spilled, got = decode_and_compute(spec, corpus, monkeypatch, 0)
    assert isinstance(held.frames, np.ndarray) and isinstance(spilled.frames, SpilledFrames)
    assert len(list(crop_dir.iterdir())) == 1
    assert spilled.frames.shape == held.frames.shape
    np.testing.assert_array_equal(spilled.frames[np.arange(len(held.frames))], held.frames)
    np.testing.assert_array_equal(spilled.starts, held.starts)
    np.testing.assert_array_equal(spilled.intervals, held.intervals)
    if options.endswith("mean,tail=drop"):
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])


def test_a_few_crops_stay_in_memory_and_make_no_file(corpus, crop_dir):
    item = create_extractor(R3D).decode({"sample_id": "clip", "video": "clip.mp4"}, corpus)
    assert isinstance(item.frames, np.ndarray) and item.frames.shape == (20, 112, 112, 3)
    assert not list(crop_dir.iterdir())


def test_a_decode_worker_hands_the_crop_file_over_with_the_item(corpus, crop_dir, monkeypatch):
    """The worker's copy of the item is gone once sent: the file stays for the process that computes, and
    goes once that process is done with the item."""
    _, _, expected = decode_and_compute(R3D, corpus, monkeypatch, 1 << 62)
    monkeypatch.setenv("TMPDIR", str(crop_dir))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as worker:
        received = worker.submit(decode_spilling_every_frame, R3D, {"sample_id": "clip", "video": "clip.mp4"},
                                 corpus).result()
    assert isinstance(received.frames, SpilledFrames) and len(list(crop_dir.iterdir())) == 1
    got = create_extractor(R3D).compute([received])[0]
    np.testing.assert_array_equal(got[0], expected[0])
    del received
    assert not list(crop_dir.iterdir())


def test_a_pickle_round_trip_in_one_process_leaves_the_file_with_the_original(corpus, crop_dir, monkeypatch):
    """A check that an item can be sent (`pickle.loads(pickle.dumps(item))`) must not delete its file."""
    extractor, item, expected = decode_and_compute(R3D, corpus, monkeypatch, 0)
    copy = pickle.loads(pickle.dumps(item))
    del copy
    np.testing.assert_array_equal(extractor.compute([item])[0][0], expected[0])
    del item
    assert not list(crop_dir.iterdir())


def test_a_sample_failing_after_its_crops_were_written_leaves_no_file(corpus, crop_dir, monkeypatch):
    monkeypatch.setattr(frame_store, "SPILL_BYTES", 0)
    with pytest.raises(MediaError, match="past the end"):
        create_extractor(R3D).decode({"sample_id": "clip", "video": "clip.mp4", "start": 0.0, "end": 9.0}, Path(corpus))
    assert not list(crop_dir.iterdir())


# Runs in a fresh process: the peak resident memory of extracting a short video, then of a long one.
MEASURE = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    from mmdata.pipeline import extract
    from tests.fakes.video_clip_model import ChannelMeanClipModel

    def main():
        corpus, out = Path(sys.argv[1]), Path(sys.argv[2])
        peaks = []
        for name in ("short.mp4", "long.mp4"):
            (corpus / "manifest.jsonl").write_text(json.dumps({"id": "v", "video": name}) + "\\n")
            model = ChannelMeanClipModel({"weights": "random", "fps": "25", "batch_size": "2",
                                          "max_decoded_frames": "0"})
            report = extract("manifest", corpus, out / name, extractors=[model], num_workers=0)
            assert report.ok and report.tables[0].rows == 1, report
            peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        print(json.dumps(peaks))

    if __name__ == "__main__":
        main()
""")


def ffmpeg_test_video(path: Path, seconds: int) -> Path:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
                   check=True)
    return path


def test_memory_of_every_clip_of_a_long_video_stays_under_its_crops(tmp_path):
    """150 s at 25 fps make 3,750 crops of 112x112 (141 MB): holding them all at once, as a whole decode
    does (twice: listed, then stacked), exceeds that; streaming them through a file stays well under it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    ffmpeg_test_video(corpus / "short.mp4", 2)
    ffmpeg_test_video(corpus / "long.mp4", 150)
    script = tmp_path / "measure.py"
    script.write_text(MEASURE)
    done = subprocess.run([sys.executable, str(script), str(corpus), str(tmp_path / "out")], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    warm, long = json.loads(done.stdout.strip().splitlines()[-1])
    crops = 150 * 25 * 112 * 112 * 3
    assert long - warm < crops, f"peak grew by {(long - warm) / 1e6:.0f} MB on the long video (crops: {crops / 1e6:.0f} MB)"
    assert not list(tmp_path.glob("mmdata-frames-*"))


# Runs in a fresh process whose files may not grow past 256 KB (a full disk, as far as the crops' file goes).
FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    import mmdata.features.video_frame_store as frame_store
    from mmdata.features import create_extractor

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**18, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    frame_store.SPILL_BYTES = 0
    try:
        create_extractor(sys.argv[2]).decode({"sample_id": "clip", "video": "clip.mp4"}, Path(sys.argv[1]))
    except OSError as e:
        print(e)
""")


def test_a_full_temporary_disk_fails_the_sample_in_one_line_and_leaves_no_file(corpus, tmp_path):
    script = tmp_path / "full_disk.py"
    script.write_text(FULL_DISK)
    folder = tmp_path / "tmp"
    folder.mkdir()
    done = subprocess.run([sys.executable, str(script), str(corpus), R3D], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(folder)}, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"cannot write a long video's decoded frames to a temporary file in {folder}" in done.stdout
    assert "set TMPDIR to a larger disk" in done.stdout
    assert not list(folder.iterdir())
