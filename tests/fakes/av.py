"""Write tiny real audio and video files for tests: WAV tones, espeak-ng speech, PyAV-encoded MP4s.

Every helper writes a file in its native format and returns what a test should expect from it.
"""
from __future__ import annotations

import io
import json
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tests.fakes import ExpectedSample, FakeCorpus, register_fake, replace_line

RGB = tuple[int, int, int]


def tone(freq: float, duration: float, sample_rate: int = 16000, amplitude: float = 0.5) -> np.ndarray:
    """A sine tone as float32 samples."""
    t = np.arange(int(round(duration * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, sample_rate: int = 16000, subtype: str = "PCM_16") -> Path:
    """Write samples ((n,) or (n, channels)) as a WAV file."""
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, sample_rate, subtype=subtype)
    return path


def write_tone_wav(path: Path, freq: float = 220.0, duration: float = 1.0, sample_rate: int = 16000,
                   amplitude: float = 0.5) -> Path:
    return write_wav(path, tone(freq, duration, sample_rate, amplitude), sample_rate)


def write_silent_wav(path: Path, duration: float = 0.5, sample_rate: int = 16000) -> Path:
    return write_wav(path, np.zeros(int(duration * sample_rate), np.float32), sample_rate)


def write_truncated_wav(path: Path, duration: float = 1.0, sample_rate: int = 16000, keep: float = 0.5) -> Path:
    """A WAV whose header promises `duration` seconds but whose data stops after `keep` of it."""
    write_tone_wav(path, duration=duration, sample_rate=sample_rate)
    data = path.read_bytes()
    path.write_bytes(data[: 44 + int((len(data) - 44) * keep)])
    return path


def write_empty_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def speech(text: str, sample_rate: int = 16000, pad_silence: float = 0.0) -> np.ndarray:
    """espeak-ng speech resampled to `sample_rate`, with optional silence after it."""
    import librosa
    import soundfile as sf

    out = subprocess.run(["espeak-ng", "--stdout", "-s", "160", text], check=True, capture_output=True).stdout
    samples, rate = sf.read(io.BytesIO(_fix_stream_wav(out)), dtype="float32")
    samples = librosa.resample(samples, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq")
    return np.concatenate([samples, np.zeros(int(pad_silence * sample_rate), np.float32)]).astype(np.float32)


def write_speech_wav(path: Path, text: str, sample_rate: int = 16000, pad_silence: float = 0.0) -> Path:
    return write_wav(path, speech(text, sample_rate, pad_silence), sample_rate)


def write_mp4(
    path: Path,
    colors: Sequence[RGB],
    *,
    fps: int = 10,
    frames_per_color: int = 10,
    size: tuple[int, int] = (64, 48),
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
) -> Path:
    """An MP4 (MPEG-4 part 2 video, near-lossless) showing each colour for `frames_per_color` frames,
    with an AAC audio track when `audio` is given (mono float32 at `sample_rate`)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.bit_rate = 4_000_000
        video.options = {"qmin": "1", "qmax": "3"}
        audio_stream = None
        if audio is not None:
            audio_stream = container.add_stream("aac", rate=sample_rate, layout="mono")
        for color in colors:
            rgb = np.empty((height, width, 3), np.uint8)
            rgb[:] = np.array(color, np.uint8)
            for _ in range(frames_per_color):
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio_stream is not None:
            _encode_audio(container, audio_stream, audio, sample_rate)
    return path


def _encode_audio(container, stream, audio: np.ndarray, sample_rate: int) -> None:
    import av

    block = 1024
    for start in range(0, len(audio), block):
        chunk = np.ascontiguousarray(audio[start : start + block], np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _fix_stream_wav(data: bytes) -> bytes:
    # espeak-ng --stdout writes placeholder RIFF/data sizes; set the real ones so any reader accepts it.
    out = bytearray(data)
    out[4:8] = struct.pack("<I", len(data) - 8)
    index = out.find(b"data", 12)
    out[index + 4 : index + 8] = struct.pack("<I", len(data) - index - 8)
    return bytes(out)


# --- fake corpora (registered for the loader contract test) --------------------------------------

MOSI_SEGMENTS = {
    # sample_id: (video id, k, tone Hz, transcript, label, has wav, has mp4)
    "a_b-1_1": ("a_b-1", 1, 220.0, "i thought it was pretty good", 1.8, True, True),
    "a_b-1_2": ("a_b-1", 2, 330.0, "but the ending", -0.6, True, False),
    "Xy9_1": ("Xy9", 1, 440.0, "terrible acting", -2.4, False, True),
}
MOSI_FOLDS = {"train": ["a_b-1"], "test": ["Xy9"]}
MOSI_WORDS = {"a_b-1_1": [("i", 0.05, 0.12), ("sp", 0.12, 0.2), ("thought", 0.2, 0.45)]}


@register_fake("mosi-raw", "cmu")
def write_fake_mosi_cmu(root: Path) -> FakeCorpus:
    """CMU-MOSI raw layout: segmented WAV/MP4 clips, .annotprocessed transcripts, labels, folds, words."""
    transcripts: dict[str, list[str]] = {}
    expected = {}
    for sample_id, (vid, k, freq, text, _label, has_wav, has_mp4) in MOSI_SEGMENTS.items():
        wav = f"Raw/Audio/WAV_16000/Segmented/{vid}_{k}.wav" if has_wav else None
        mp4 = f"Raw/Video/Segmented/{vid}_{k}.mp4" if has_mp4 else None
        if wav:
            write_tone_wav(root / wav, freq, duration=0.5)
        if mp4:
            write_mp4(root / mp4, [(32, 96, 224)], fps=10, frames_per_color=5, size=(32, 24), audio=tone(freq, 0.5))
        transcripts.setdefault(vid, []).append(f"{k}_DELIM_{text}")
        split = next(name for name, vids in MOSI_FOLDS.items() if vid in vids)
        expected[sample_id] = ExpectedSample(audio=wav, video=mp4, transcript=text, split=split)
    folder = root / "Raw/Transcript/Segmented"
    folder.mkdir(parents=True, exist_ok=True)
    for vid, lines in transcripts.items():
        (folder / f"{vid}.annotprocessed").write_text("\n".join(lines) + "\n", encoding="utf-8")
    labels = ["segment_id,label"] + [f"{sid},{seg[4]}" for sid, seg in MOSI_SEGMENTS.items()]
    (root / "labels.csv").write_text("\n".join(labels) + "\n", encoding="utf-8")
    (root / "folds.json").write_text(json.dumps(MOSI_FOLDS), encoding="utf-8")
    _write_words_csv(root / "words.csv", MOSI_WORDS)
    transcript = folder / "a_b-1.annotprocessed"
    return FakeCorpus("mosi-raw", root, transcript, expected,
                      corrupt=lambda: replace_line(transcript, 2, "2 but the ending, without a delimiter"))


GENERIC_SEGMENTS = [
    # segment_id, video_id, audio, video, start, end, text, label, split
    ("rec1_a", "rec1", "audio/rec1.wav", "", "0.0", "1.0", "first half", "1.5", "train"),
    ("rec1_b", "rec1", "audio/rec1.wav", "", "1.0", "2.0", "second half", "-0.5", "train"),
    ("rec2_a", "rec2", "", "video/rec2.mp4", "0.5", "1.5", "a red square", "0.0", "test"),
]


@register_fake("mosi-raw", "generic")
def write_fake_mosi_generic(root: Path) -> FakeCorpus:
    """Generic layout: segments.csv cutting whole recordings by start/end (columns in a shuffled order)."""
    write_wav(root / "audio/rec1.wav", np.concatenate([tone(220, 1.0), tone(440, 1.0)]))
    write_mp4(root / "video/rec2.mp4", [(224, 32, 96), (32, 224, 96)], fps=10, frames_per_color=10, size=(32, 24),
              audio=tone(330, 2.0))
    path = _write_segments_csv(root, GENERIC_SEGMENTS)
    _write_words_csv(root / "words.csv", {"rec1_a": [("first", 0.1, 0.4), ("half", 0.5, 0.9)]})
    expected = {row[0]: ExpectedSample(audio=row[2] or None, video=row[3] or None, transcript=row[6], split=row[8])
                for row in GENERIC_SEGMENTS}
    return FakeCorpus("mosi-raw", root, path, expected,
                      corrupt=lambda: replace_line(path, 3, "rec1_b,-0.5,train,rec1,audio/rec1.wav,,abc,2.0,second half"))


def _write_segments_csv(root: Path, rows: Sequence[Sequence[str]]) -> Path:
    # Columns deliberately not in the documented order: the loader parses by header.
    order = (0, 7, 8, 1, 2, 3, 4, 5, 6)
    names = ("segment_id", "video_id", "audio", "video", "start", "end", "text", "label", "split")
    lines = [",".join(names[i] for i in order)] + [",".join(row[i] for i in order) for row in rows]
    path = root / "segments.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _write_words_csv(path: Path, words: dict[str, Sequence[tuple[str, float, float]]]) -> Path:
    lines = ["segment_id,word,start,end"] + [f"{sid},{w},{s},{e}" for sid, ws in words.items() for w, s, e in ws]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


MMSA_ROWS = [
    # video_id, clip_id, text, label, label_T, label_A, label_V, annotation, mode
    ("video_0001", "0001", "我不知道", "-0.8", "-1.0", "-0.6", "-0.8", "Negative", "train"),
    ("video_0001", "0002", "还可以吧", "0.2", "0.0", "0.4", "0.2", "Positive", "valid"),
    ("video_0002", "0001", "太好了", "1.0", "1.0", "0.8", "1.0", "Positive", "test"),
]
MMSA_COLUMNS = ("video_id", "clip_id", "text", "label", "label_T", "label_A", "label_V", "annotation", "mode")


@register_fake("mmsa-raw", "default")
def write_fake_mmsa(root: Path, order: Sequence[int] = (0, 1, 2, 3, 7, 8, 4, 5, 6)) -> FakeCorpus:
    """MMSA layout: label.csv (columns in `order`, here the v_1.0-like order) + Raw/<video_id>/<clip_id>.mp4."""
    expected = {}
    for index, row in enumerate(MMSA_ROWS):
        clip = f"Raw/{row[0]}/{row[1]}.mp4"
        write_mp4(root / clip, [(32 + 64 * index, 96, 224)], fps=10, frames_per_color=5, size=(32, 24),
                  audio=tone(220.0 * (index + 1), 0.5))
        expected[f"{row[0]}$_${row[1]}"] = ExpectedSample(video=clip, transcript=row[2], split=row[8])
    lines = [",".join(MMSA_COLUMNS[i] for i in order)] + [",".join(row[i] for i in order) for row in MMSA_ROWS]
    path = root / "label.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = list(MMSA_ROWS[1])
    bad[8] = "dev"
    return FakeCorpus("mmsa-raw", root, path, expected,
                      corrupt=lambda: replace_line(path, 3, ",".join(bad[i] for i in order)))
