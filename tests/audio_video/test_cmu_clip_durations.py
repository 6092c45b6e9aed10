"""The cmu layout gives whole clips and no segment times: each clip's WAV and MP4 lengths (from their
headers) go to `extra.audio_duration` / `extra.video_duration`, so `check` holds the clip's audio and
video tables each against its own medium (an MP4 may run a frame or two past its WAV)."""
from __future__ import annotations

import av
import soundfile

from mmdata.checks import check_dataset
from mmdata.corpora import load_corpus
from mmdata.demo_corpora import mosi_demo
from mmdata.pipeline import extract
from tests.fakes.av import write_fake_mosi_cmu


def _video_end(path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return float(stream.duration * stream.time_base)


def test_clips_carry_the_durations_of_their_wav_and_mp4(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "corpus")
    samples = load_corpus("mosi-raw", fake.root).samples
    for s in samples:
        wav = fake.root / s.audio if s.audio else None
        if wav is not None and wav.is_file():
            assert s.extra["audio_duration"] == round(soundfile.info(str(wav)).duration, 6)
        elif s.video:  # its audio comes from the MP4's track: that stream's length
            with av.open(str(fake.root / s.video)) as container:
                stream = container.streams.audio[0]
                assert s.extra["audio_duration"] == round(float(stream.duration * stream.time_base), 6)
        else:
            assert "audio_duration" not in s.extra
        if s.video:
            assert s.extra["video_duration"] == round(_video_end(fake.root / s.video), 6)
    assert any("video_duration" in s.extra for s in samples)


def test_audio_and_video_tables_of_clips_whose_mp4_outlasts_the_wav_check_clean(tmp_path):
    root = tmp_path / "mosi"
    mosi_demo.write_mosi_demo(root, mosi_demo.MosiDemoConfig(num_videos=3, segments_per_video=2, audio="tones"))
    samples = load_corpus("mosi-raw", root).samples
    assert any(s.extra["video_duration"] > s.extra["audio_duration"] + 0.05 for s in samples)  # a frame longer
    extract("mosi-raw", root, tmp_path / "ds", extractors=["torchaudio-logmel", "video-frames"], num_workers=0)
    report = check_dataset(tmp_path / "ds")
    assert report.ok, [i.message for i in report.errors]
    assert not [i for i in report.issues if i.code in ("duration-unknown", "intervals-outside", "frame-count")]


def test_a_wav_whose_header_cannot_be_read_gets_no_duration(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "corpus")
    sample = next(s for s in load_corpus("mosi-raw", fake.root).samples if s.audio)
    (fake.root / sample.audio).write_bytes(b"RIFF")
    reloaded = {s.sample_id: s for s in load_corpus("mosi-raw", fake.root).samples}
    assert "audio_duration" not in reloaded[sample.sample_id].extra
