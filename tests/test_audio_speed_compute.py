"""The fast audio paths give what the straightforward ones give: 16-bit PCM read as int16 and scaled
is bit-identical to libsndfile's float conversion, and the frame-major torchaudio log-mel / MFCC
equal `torchaudio.transforms.MelSpectrogram` / `MFCC` run on each signal alone."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import soundfile as sf

from mmdata.features import create_extractor
from mmdata.media.audio import load_audio


def _noise(seconds: float, channels: int, rate: int = 16000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(0.3 * rng.standard_normal((int(seconds * rate), channels)), -1, 1)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
@pytest.mark.parametrize("channels", [1, 2])
def test_decoded_samples_are_bit_identical_to_libsndfile_float32(tmp_path, subtype, channels):
    path = tmp_path / f"{subtype}-{channels}.wav"
    sf.write(path, _noise(1.0, channels), 16000, subtype=subtype)
    expected = sf.read(path, dtype="float32", always_2d=True)[0].mean(axis=1, dtype=np.float32)
    whole = load_audio(path)
    np.testing.assert_array_equal(whole.samples, expected)
    assert whole.samples.dtype == np.float32 and whole.samples.flags.c_contiguous
    segment = load_audio(path, start=0.25, end=0.5)
    np.testing.assert_array_equal(segment.samples, expected[4000:8000])
    assert segment.offset == 0.25


def _signals(tmp_path) -> list[dict]:
    rows = []
    for index, seconds in enumerate([0.05, 0.4, 1.0, 1.37, 2.2]):
        name = f"s{index}.wav"
        sf.write(tmp_path / name, _noise(seconds, 1, seed=index)[:, 0], 16000, subtype="PCM_16")
        rows.append({"sample_id": f"s{index}", "audio": name, "video": None, "start": None, "end": None})
    return rows


def _reference(spec: str, samples: np.ndarray) -> np.ndarray:
    """The transform torchaudio itself offers, on one centred signal (what the extractor computed before)."""
    import torch
    import torchaudio

    extractor = create_extractor(spec)
    cfg = extractor.config
    half = cfg.n_fft // 2
    signal = torch.from_numpy(np.pad(samples, half, mode=cfg.pad_mode))[None]
    mel = dict(n_fft=cfg.n_fft, win_length=cfg.win_length, hop_length=cfg.hop_length, f_min=cfg.f_min, f_max=cfg.f_max,
               n_mels=cfg.n_mels, power=2.0, center=False, norm="slaney", mel_scale="slaney")
    with torch.inference_mode():
        if spec.startswith("torchaudio-mfcc"):
            transform = torchaudio.transforms.MFCC(sample_rate=cfg.sample_rate, n_mfcc=cfg.n_mfcc, norm="ortho",
                                                   log_mels=False, melkwargs=mel)
            return transform(signal)[0].T.numpy()
        transform = torchaudio.transforms.MelSpectrogram(sample_rate=cfg.sample_rate, **mel)
        return (transform(signal)[0] + cfg.log_offset).log().T.numpy()


# The extractors' mel filters are librosa's (`slaney_mel_filters`, to 1e-7 relative); torchaudio's own, computed
# in float32, differ from them by up to ~5e-6 relative at even sample rates from 0 Hz (5e-5 on log-mel values of
# ~2-10), and by up to 4e-4 on the slopes of filters whose edges are not bin frequencies (f_min=50).
@pytest.mark.parametrize("spec, atol", [
    ("torchaudio-logmel", 5e-5),
    ("torchaudio-logmel:pad_mode=reflect,n_mels=64", 5e-5),
    ("torchaudio-logmel:win_length=300,f_min=50,f_max=7000", 5e-4),
    ("torchaudio-mfcc", 1e-3),  # MFCC values reach a few hundred: 1e-3 is ~1e-6 relative
    ("torchaudio-mfcc:pad_mode=reflect,n_mfcc=20,win_length=320", 1e-3),
])
def test_torchaudio_extractors_equal_torchaudio_transforms_on_each_signal_alone(tmp_path, spec, atol):
    rows = _signals(tmp_path)
    extractor = create_extractor(spec)
    segments = [extractor.decode(row, tmp_path) for row in rows]
    for segment, (frames, intervals) in zip(segments, extractor.compute(segments)):
        expected = _reference(spec, segment.samples)
        assert frames.shape == expected.shape and frames.dtype == np.float32
        np.testing.assert_allclose(frames, expected, atol=atol, rtol=0)
        assert len(intervals) == len(frames)


def _with_chunks(path, before: bytes = b"", after: bytes = b"", data_size: int | None = None) -> bytes:
    """The WAV at `path` with extra chunks around its `data` chunk (and, optionally, another declared data size)."""
    raw = path.read_bytes()
    at = raw.index(b"data")
    declared = int.from_bytes(raw[at + 4 : at + 8], "little")
    body = raw[at + 8 : at + 8 + declared]
    size = declared if data_size is None else data_size
    chunks = raw[12:at] + before + b"data" + size.to_bytes(4, "little") + body + after
    return b"RIFF" + (4 + len(chunks)).to_bytes(4, "little") + b"WAVE" + chunks


def _extensible(path) -> bytes:
    """The 16-bit PCM WAV at `path` with a WAVE_FORMAT_EXTENSIBLE `fmt ` chunk (sub-format: PCM)."""
    raw = path.read_bytes()
    at = raw.index(b"fmt ")
    channels, rate, byte_rate, block_align, bits = struct.unpack("<HIIHH", raw[at + 10 : at + 24])
    pcm_guid = b"\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, byte_rate, block_align, bits, 22, bits, 0) + pcm_guid
    rest = raw[at + 8 + int.from_bytes(raw[at + 4 : at + 8], "little") :]
    chunks = raw[12:at] + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + rest
    return b"RIFF" + (4 + len(chunks)).to_bytes(4, "little") + b"WAVE" + chunks


def test_pcm16_wav_is_read_without_libsndfile_in_every_layout(tmp_path, monkeypatch):
    import mmdata.media.audio as audio

    source = tmp_path / "four.wav"
    sf.write(source, _noise(0.5, 4), 16000, subtype="PCM_16")
    expected = sf.read(source, dtype="float32", always_2d=True)[0].mean(axis=1, dtype=np.float32)
    listing = b"LIST" + (10).to_bytes(4, "little") + b"INFOISFT\x02\x00"
    odd = b"junk" + (3).to_bytes(4, "little") + b"abc\x00"  # odd size: padded to even
    layouts = {
        "chunks-before-and-after.wav": _with_chunks(source, before=listing + odd, after=listing),
        "streamed.wav": _with_chunks(source, data_size=0xFFFFFFFF),  # size unknown: to the end of the file
        "extensible.wav": _extensible(source),
    }
    (tmp_path / "check.wav").write_bytes(layouts["extensible.wav"])
    np.testing.assert_array_equal(sf.read(tmp_path / "check.wav", dtype="float32")[0].mean(axis=1, dtype=np.float32),
                                  expected)  # libsndfile reads the rebuilt header as the same audio
    monkeypatch.setattr(audio, "_read_soundfile", lambda *a: pytest.fail("16-bit PCM went to libsndfile"))
    for name, data in {"four.wav": source.read_bytes(), **layouts}.items():
        (tmp_path / name).write_bytes(data)
        np.testing.assert_array_equal(load_audio(tmp_path / name).samples, expected, err_msg=name)
        np.testing.assert_array_equal(load_audio(tmp_path / name, start=0.1, end=0.2).samples, expected[1600:3200])


def test_other_wav_encodings_still_go_to_libsndfile(tmp_path):
    import mmdata.media.audio as audio

    for subtype in ("PCM_24", "FLOAT", "PCM_U8", "IMA_ADPCM"):
        path = tmp_path / f"{subtype}.wav"
        sf.write(path, _noise(0.25, 1), 16000, subtype=subtype)
        assert audio._read_wav_pcm16(path, path.stat().st_size, None, None) is None, subtype
        expected = sf.read(path, dtype="float32", always_2d=True)[0][:, 0]
        np.testing.assert_array_equal(load_audio(path).samples, expected)
