"""An M4A clip (AAC in MP4, as audiocaps-download can save AudioCaps clips) gets its `audio_duration` from its MP4
audio stream's header (soundfile cannot read M4A), so `check` holds its audio tables to the clip's length instead
of warning that the length is unknown. WAV and FLAC keep theirs from soundfile's header."""
from __future__ import annotations

import pytest

from mmdata.checks import check_dataset
from mmdata.corpora import load_corpus
from mmdata.corpora.media_captions import audio_duration_extra
from mmdata.media.audio import audio_stream_span, load_audio
from mmdata.pipeline import extract
from tests.fakes.captioned_media import write_fake_audiocaps, write_tone_m4a
from tests.fakes.av import write_tone_wav

CLIPS = (("r1nicOVtvkQ", "130", "train", 1), ("8F-ndyrEWJ8", "60", "train", 1), ("7fmOlUlwoNg", "20", "val", 1),
         ("zk-xJEngAJo", "400", "test", 1), ("gOHsRSCfpkk", "30", "test", 1))


@pytest.mark.parametrize("seconds", [0.5, 1.3])
def test_an_m4a_header_gives_the_length_its_audio_decodes_to(tmp_path, seconds):
    path = write_tone_m4a(tmp_path / "clip.m4a", duration=seconds)
    decoded = load_audio(path).duration
    assert audio_stream_span(path) == (0.0, pytest.approx(decoded, abs=1e-6))
    assert audio_duration_extra(path) == {"audio_duration": pytest.approx(decoded, abs=1e-6)}


def test_wav_keeps_its_soundfile_header_and_unreadable_files_give_none(tmp_path):
    wav = write_tone_wav(tmp_path / "clip.wav", duration=0.75)
    assert audio_duration_extra(wav) == {"audio_duration": pytest.approx(load_audio(wav).duration, abs=1e-6)}
    broken = tmp_path / "broken.m4a"
    broken.write_bytes(b"not an MP4 at all")
    assert audio_stream_span(broken) is None and audio_duration_extra(broken) == {}
    (tmp_path / "folder.m4a").mkdir()
    assert audio_stream_span(tmp_path / "gone.m4a") is None and audio_duration_extra(tmp_path / "folder.m4a") == {}


def test_a_header_whose_length_is_an_estimate_gives_none(tmp_path):
    """AAC in MPEG-TS (here named .m4a) states a length off by tenths of a second: not trusted, not recorded."""
    import av

    from tests.fakes.av import tone

    path = tmp_path / "clip.m4a"
    samples = tone(220.0, 3.0, 16000)
    with av.open(str(path), "w", format="mpegts") as container:
        stream = container.add_stream("aac", rate=16000, layout="mono")
        for start in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + 1024].copy(), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert load_audio(path).duration == pytest.approx(3.0, abs=0.1)  # a real, decodable clip
    assert audio_stream_span(path) is None and audio_duration_extra(path) == {}


def test_without_pyav_an_m4a_loads_without_its_length(tmp_path, monkeypatch):
    """PyAV is optional (the `video` extra): without it the header is not read and the load goes on."""
    path = write_tone_m4a(tmp_path / "clip.m4a", duration=0.5)
    monkeypatch.setitem(__import__("sys").modules, "av", None)
    assert audio_stream_span(path) is None and audio_duration_extra(path) == {}


def test_audiocaps_m4a_clips_carry_their_length_and_check_holds_the_audio_table_to_it(tmp_path):
    fake = write_fake_audiocaps(tmp_path / "corpus", naming="audiocap_id", suffix=".m4a", clips=CLIPS)
    result = load_corpus("audiocaps", fake.root)
    assert result.problems == []
    assert {s.sample_id: s.extra["audio_duration"] for s in result.samples} == {
        sid: pytest.approx(0.5, abs=1e-6) for sid in fake.expected}
    extract("audiocaps", fake.root, tmp_path / "out", extractors=["librosa-logmel"], num_workers=0)
    report = check_dataset(tmp_path / "out")
    codes = {issue.code for issue in report.issues}
    assert "duration-unknown" not in codes, report.issues
    assert [i.code for i in report.issues if i.severity == "error"] == []
