"""Audio files as recorders, editors and encoders write them (8-bit, 24-bit and float WAV, 5.1 WAV, 8 and
96 kHz, WAVs streamed through a pipe, a VBR MP3 with ID3 tags, FLAC, Ogg Opus), all made by the `ffmpeg`
command line from espeak-ng speech, give through `mmdata extract` the log-mel frames librosa computes from
`librosa.load(sr=16000, mono=True)` of the same file: the same decoded samples, the channels' plain mean,
the same soxr resampling. Files that cannot give a feature (0.01 s, digital silence, a NaN sample) fail
into the errors table naming the file and what to do."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest

from mmdata.pipeline import extract
from tests.fakes.av import speech, write_wav

#: name -> ffmpeg output options (the source: 2.3 s of 22.05 kHz speech)
ENCODED = {
    "u8.wav": ["-c:a", "pcm_u8"],
    "s24.wav": ["-c:a", "pcm_s24le"],
    "f32.wav": ["-c:a", "pcm_f32le"],
    "rate8k.wav": ["-ar", "8000"],
    "rate96k.wav": ["-ar", "96000", "-c:a", "pcm_s24le"],
    "surround.wav": ["-af", "pan=5.1|FL=c0|FR=0.5*c0|FC=0.25*c0|LFE=0.1*c0|BL=-0.5*c0|BR=c0"],
    "vbr.mp3": ["-c:a", "libmp3lame", "-q:a", "4", "-id3v2_version", "3", "-metadata", "title=Speech",
                "-metadata", "artist=espeak-ng"],
    "speech.flac": ["-c:a", "flac"],
    "speech.ogg": ["-c:a", "libopus", "-b:a", "32k"],
}
#: WAVs written to a pipe (their RIFF and data sizes are 0xFFFFFFFF placeholders)
STREAMED = {"pipe16.wav": ["-ar", "16000"], "pipe_s24.wav": ["-c:a", "pcm_s24le"], "pipe_f32.wav": ["-c:a", "pcm_f32le"]}


def _ffmpeg(*args: str, stdout=None) -> None:
    subprocess.run([shutil.which("ffmpeg"), "-nostdin", "-v", "error", "-y", *args], check=True, stdout=stdout)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("audio-files")
    source = write_wav(root / "source.wav", speech("The quick brown fox jumps over the lazy dog", 22050), 22050)
    for name, options in ENCODED.items():
        _ffmpeg("-i", str(source), *options, str(root / name))
    for name, options in STREAMED.items():
        with open(root / name, "wb") as out:
            _ffmpeg("-i", str(source), *options, "-f", "wav", "pipe:1", stdout=out)
    write_wav(root / "short.wav", speech("a")[:160], 16000)  # 0.01 s
    write_wav(root / "silence.wav", np.zeros(32000, np.float32), 16000)
    broken = speech("hello", 16000)
    broken[1000] = np.nan
    write_wav(root / "nan.wav", broken, 16000, subtype="FLOAT")
    names = ["source.wav", *ENCODED, *STREAMED, "short.wav", "silence.wav", "nan.wav"]
    (root / "manifest.jsonl").write_text("".join(json.dumps({"id": n, "audio": n}) + "\n" for n in names))
    return root


@pytest.fixture(scope="module")
def extracted(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out") / "dataset"
    extract("manifest", corpus, out, extractors=["librosa-logmel"], num_workers=0)
    return out


def _librosa_logmel(path: Path) -> np.ndarray:
    import librosa

    samples, _ = librosa.load(str(path), sr=16000, mono=True)
    mel = librosa.feature.melspectrogram(y=samples, sr=16000, n_fft=400, hop_length=160, n_mels=80, center=True,
                                         pad_mode="constant", htk=False, norm="slaney")
    return np.log(mel + 1e-6).T


def _rows(out: Path) -> dict[str, dict]:
    return {r["sample_id"]: r for r in ds.dataset(out / "features" / "audio.librosa-logmel").to_table().to_pylist()}


@pytest.mark.parametrize("name", ["source.wav", *ENCODED, *STREAMED])
def test_each_file_gives_the_log_mel_librosa_computes_from_it(corpus, extracted, name):
    row = _rows(extracted)[name]
    frames = np.array(row["feature"], dtype=np.float32)
    expected = _librosa_logmel(corpus / name)
    assert frames.shape == expected.shape
    np.testing.assert_allclose(frames, expected, atol=1e-4)
    assert row["intervals"][0][0] == 0.0
    assert row["intervals"][-1][1] == pytest.approx(len(expected) * 0.01, abs=0.011)


def test_the_channels_of_a_surround_file_are_averaged_as_documented(corpus):
    import soundfile as sf

    from mmdata.media.audio import load_audio

    channels, rate = sf.read(str(corpus / "surround.wav"), dtype="float32")
    assert channels.shape[1] == 6
    np.testing.assert_array_equal(load_audio(corpus / "surround.wav").samples, channels.mean(axis=1, dtype=np.float32))


def test_every_format_decodes_to_the_length_of_the_speech(corpus):
    from mmdata.media.audio import load_audio

    length = load_audio(corpus / "source.wav").duration
    for name in [*ENCODED, *STREAMED]:  # to the sample for PCM; an encoder's padding may leave a few ms more
        slack = 1e-4 if name.endswith(".wav") else 5e-3
        assert load_audio(corpus / name, sample_rate=16000).duration == pytest.approx(length, abs=slack), name


@pytest.mark.parametrize(("name", "reason"), [
    ("short.wav", r"short.wav: segment of 10.0 ms of sample 'short.wav' is shorter than one librosa-logmel analysis "
                  r"window .* use a longer segment"),
    ("silence.wav", r"silence.wav: audio segment \[0.000s, 2.000s\] is silent .* set on_silence=allow"),
    ("nan.wav", r"nan.wav: audio segment .* holds NaN or infinite samples; .* re-export the file"),
])
def test_files_without_a_usable_feature_fail_into_the_errors_table_naming_file_and_fix(extracted, name, reason):
    errors = {r["sample_id"]: r for r in ds.dataset(extracted / "errors").to_table().to_pylist()}
    assert set(errors) == {"short.wav", "silence.wav", "nan.wav"}
    assert errors[name]["table"] == "audio.librosa-logmel"
    assert re.search(reason, errors[name]["reason"]), errors[name]["reason"]
    assert _rows(extracted)[name]["feature"] is None
