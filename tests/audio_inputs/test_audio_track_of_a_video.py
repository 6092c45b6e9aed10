"""The audio track of a video as players hear it: of several audio streams the default one (with a warning
naming the file and the stream read), and segment times against where the track starts: an audio track
that starts late (a recorder's delay, an edit) leaves the start of a segment without audio, which fails
the sample into the errors table as a segment past its end does, naming the sample and both times."""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest

from mmdata.features.audio_frames import check_segment_underrun
from mmdata.media.audio import load_audio
from mmdata.pipeline import extract
from tests.fakes.av import speech, write_wav

VIDEO = ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=4"]
ENCODE = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"]


def _ffmpeg(*args: str) -> None:
    subprocess.run([shutil.which("ffmpeg"), "-nostdin", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tracks")
    write_wav(root / "speech.wav", speech("Audio starts late in this video", 16000), 16000)
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=100:sample_rate=16000:duration=4", str(root / "hum.wav"))
    # stream 1: a hum, not default; stream 2: the speech, the default track
    _ffmpeg(*VIDEO, "-i", str(root / "hum.wav"), "-i", str(root / "speech.wav"), "-map", "0:v", "-map", "1:a",
            "-map", "2:a", *ENCODE, "-disposition:a:0", "0", "-disposition:a:1", "default", str(root / "two.mp4"))
    # the speech starts 1.5 s into the video
    _ffmpeg(*VIDEO, "-itsoffset", "1.5", "-i", str(root / "speech.wav"), "-map", "0:v", "-map", "1:a", *ENCODE,
            str(root / "late.mp4"))
    return root


def test_the_default_audio_stream_is_read_and_the_choice_is_named(root, caplog):
    with caplog.at_level(logging.WARNING, logger="mmdata.media.audio"):
        track = load_audio(root / "two.mp4", sample_rate=16000)
    spoken = load_audio(root / "speech.wav")
    n = min(len(track.samples), len(spoken.samples))
    assert np.corrcoef(track.samples[:n], spoken.samples[:n])[0, 1] > 0.9
    assert "two.mp4: 2 audio streams (#1 aac, #2 aac); reading stream 2 (the default one" in caplog.text
    assert "-map 0:a:N" in caplog.text


def test_segments_before_a_late_audio_track_fail_into_the_errors_table(root, tmp_path):
    rows = [{"id": "mostly-before", "video": "late.mp4", "start": 0.0, "end": 2.0},
            {"id": "all-before", "video": "late.mp4", "start": 0.0, "end": 1.0},
            {"id": "inside", "video": "late.mp4", "start": 2.0, "end": 3.0}]
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    extract("manifest", root, tmp_path / "out", extractors=["kaldi-fbank"], num_workers=0)
    reasons = {r["sample_id"]: r["reason"] for r in ds.dataset(tmp_path / "out" / "errors").to_table().to_pylist()}
    assert set(reasons) == {"mostly-before", "all-before"}
    assert "late.mp4: segment [0s, 2s] of sample 'mostly-before' starts 1.4" in reasons["mostly-before"]
    assert "so only 2" in reasons["mostly-before"] and "check the segment times" in reasons["mostly-before"]
    assert "late.mp4: segment [0.0, 1.0] ends before the audio starts (1.4" in reasons["all-before"]
    table = ds.dataset(tmp_path / "out" / "features" / "audio.kaldi-fbank").to_table().to_pylist()
    inside = next(r for r in table if r["sample_id"] == "inside")
    assert inside["intervals"][0][0] == pytest.approx(2.0) and inside["intervals"][-1][1] == pytest.approx(3.0)


def test_a_short_gap_before_the_audio_is_kept(root):
    segment = load_audio(root / "late.mp4", start=1.4, end=3.0)
    assert segment.offset > 1.4 and segment.offset + segment.duration == pytest.approx(3.0)
    check_segment_underrun({"sample_id": "s", "start": 1.4, "end": 3.0}, "late.mp4", segment.offset, "audio")


def test_a_raw_clip_records_the_span_of_the_track_extractors_read(root):
    from mmdata.corpora.media_captions import audio_stream_extra

    extra = audio_stream_extra(root / "two.mp4")
    speech_seconds = load_audio(root / "speech.wav").duration
    assert extra["audio_duration"] == pytest.approx(speech_seconds, abs=0.1)  # the default track, not the 4 s hum
    assert abs(extra["audio_duration"] - 4.0) > 0.5
