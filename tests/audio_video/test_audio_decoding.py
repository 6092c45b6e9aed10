"""mmdata.media.audio: mono float32 at a chosen rate, segments, and a MediaError for each bad file."""
from __future__ import annotations

import re

import numpy as np
import pytest

from mmdata.errors import MediaError
from mmdata.media.audio import check_wav_complete, load_audio


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def test_wav_decodes_to_mono_float32_at_native_rate(media):
    seg = load_audio(media.tone_wav)
    assert seg.samples.dtype == np.float32 and seg.samples.shape == (16000,)
    assert seg.sample_rate == 16000 and seg.offset == 0.0 and seg.duration == pytest.approx(1.0)
    assert np.max(np.abs(seg.samples)) == pytest.approx(0.5, abs=1e-3)


def test_stereo_44k_is_averaged_to_mono_and_resampled_keeping_pitch(media):
    seg = load_audio(media.stereo_44k_wav, sample_rate=16000)
    assert seg.sample_rate == 16000 and len(seg.samples) == 16000
    assert np.max(np.abs(seg.samples[1000:-1000])) == pytest.approx(0.375, abs=0.005)  # mean of 0.5 and 0.25
    assert dominant_frequency(seg.samples, 16000) == pytest.approx(440, abs=2)


def test_segment_start_end_cut_the_file_and_set_the_offset(media):
    seg = load_audio(media.tone_wav, start=0.25, end=0.75)
    assert seg.offset == pytest.approx(0.25) and len(seg.samples) == 8000
    whole = load_audio(media.tone_wav).samples
    np.testing.assert_array_equal(seg.samples, whole[4000:12000])


def test_segment_end_past_the_file_is_clipped(media):
    seg = load_audio(media.tone_wav, start=0.5, end=3.0)
    assert len(seg.samples) == 8000


def test_segment_starting_after_the_end_is_a_media_error(media):
    with pytest.raises(MediaError, match=r"tone220.wav: segment start 2.0s is at or after the end of the audio"):
        load_audio(media.tone_wav, start=2.0)


def test_end_before_start_is_a_media_error(media):
    with pytest.raises(MediaError, match="segment end 0.2 <= start 0.5"):
        load_audio(media.tone_wav, start=0.5, end=0.2)


def test_mp4_audio_track_decodes_with_pyav_time_aligned(media):
    seg = load_audio(media.video_with_audio, sample_rate=16000)
    assert seg.duration == pytest.approx(2.0, abs=1e-3)  # AAC's padding past the stream end is cut
    assert dominant_frequency(seg.samples, 16000) == pytest.approx(330, abs=2)
    part = load_audio(media.video_with_audio, start=1.0, end=1.5)
    assert part.offset == pytest.approx(1.0, abs=1e-3) and len(part.samples) == 8000
    np.testing.assert_allclose(part.samples, seg.samples[16000:24000], atol=1e-4)


def test_mp4_without_audio_stream_is_a_media_error_naming_the_file(media):
    with pytest.raises(MediaError, match=re.escape(str(media.video_without_audio)) + r": no audio stream \(streams: video mpeg4\)"):
        load_audio(media.video_without_audio)


def test_truncated_wav_is_a_media_error_with_declared_and_actual_sizes(media):
    with pytest.raises(MediaError, match=re.escape(str(media.truncated_wav)) + r": WAV file is truncated: .* declares 32000 bytes .* holds 16000"):
        load_audio(media.truncated_wav)


def test_zero_byte_and_missing_files_are_media_errors(media, tmp_path):
    with pytest.raises(MediaError, match=r"audio file is empty \(0 bytes\): .*empty.wav"):
        load_audio(media.empty_wav)
    with pytest.raises(MediaError, match="audio file not found: .*nothing.wav"):
        load_audio(tmp_path / "nothing.wav")


def test_not_a_wav_is_a_media_error(tmp_path):
    path = tmp_path / "text.wav"
    path.write_text("this is not audio")
    with pytest.raises(MediaError, match="not a RIFF/WAVE file"):
        load_audio(path)


def test_silence_is_an_error_by_default_and_allowed_on_request(media):
    with pytest.raises(MediaError, match=r"silent.wav: audio segment \[0.000s, 0.500s\] is silent .* on_silence=allow"):
        load_audio(media.silent_wav)
    seg = load_audio(media.silent_wav, on_silence="allow")
    assert len(seg.samples) == 8000 and not seg.samples.any()


def test_streamed_wav_with_placeholder_sizes_is_accepted(tmp_path, media):
    data = bytearray(media.tone_wav.read_bytes())
    data[40:44] = (0x7FFFF000).to_bytes(4, "little")  # what `espeak-ng --stdout` writes
    path = tmp_path / "streamed.wav"
    path.write_bytes(bytes(data))
    check_wav_complete(path)


def test_file_soundfile_cannot_read_falls_back_to_pyav(tmp_path, media):
    misnamed = tmp_path / "clip.flac"  # an MP4 with a wrong extension
    misnamed.write_bytes(media.video_with_audio.read_bytes())
    seg = load_audio(misnamed, sample_rate=16000)
    assert seg.duration == pytest.approx(2.0, abs=1e-3)
    assert dominant_frequency(seg.samples, 16000) == pytest.approx(330, abs=2)
    garbage = tmp_path / "noise.flac"
    garbage.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(MediaError, match=r"noise.flac: cannot decode audio \(soundfile: .*; PyAV: "):
        load_audio(garbage)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("sample_rate", [None, 16000])
def test_non_finite_samples_are_a_media_error_naming_the_file(tmp_path, bad, sample_rate):
    import soundfile

    samples = (0.3 * np.sin(2 * np.pi * 220 * np.arange(22050) / 22050)).astype(np.float32)
    samples[1000] = bad
    path = tmp_path / "float.wav"
    soundfile.write(path, samples, 22050, subtype="FLOAT")
    with pytest.raises(MediaError, match=re.escape(str(path)) + r".*NaN or infinite samples"):
        load_audio(path, sample_rate=sample_rate)  # before resampling too, where librosa would fail unnamed
