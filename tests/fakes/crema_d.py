"""A fake CREMA-D as its GitHub repository clones with git-lfs: AudioWAV/<ACTOR>_<SENTENCE>_<EMOTION>_<LEVEL>.wav (real
half-second 16 kHz tones whose pitch is the emotion's, so that a linear probe on their log-mel features tells the
emotions apart), VideoFlash/ the same names as .flv (Sorenson video and AAC sound, as PyAV writes FLV) where asked,
an AudioMP3/ file the loader does not read, and VideoDemographics.csv with every value quoted but the numbers, as the
release writes it. Seven actors: 1001-1005 (folds 1-5), 1010 (fold 5, tensorflow_datasets' test) and 1015 (fold 5,
its validation); each says DFA and TIE in three emotions (XX) and IEO neutral (XX) and angry (HI).

`write_fake_crema_d` returns a `FakeCorpus` whose `expected` holds the samples a load with `options` yields.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import mmdata.corpora.crema_d  # noqa: F401  (registers `crema-d` for the contract tests until builtin.py imports it)
from tests.fakes import ExpectedSample, FakeCorpus, register_fake, replace_line
from tests.fakes.av import _encode_audio, tone, write_tone_wav

ACTORS = (1001, 1002, 1003, 1004, 1005, 1010, 1015)
#: The tone of each emotion: apart, so that a probe on log-mel features tells them apart.
PITCH = {"ANG": 880.0, "NEU": 220.0, "SAD": 440.0, "HAP": 660.0, "FEA": 550.0, "DIS": 330.0}
EMOTIONS = ("ANG", "NEU", "SAD")
SENTENCES = {"DFA": "Don't forget a jacket", "TIE": "That is exactly what happened", "IEO": "It's eleven o'clock"}
#: (age, sex, race, ethnicity) of each actor, as VideoDemographics.csv gives the release's first ones (the loader's
#: `extra.sex` is the Sex lower case: `male`, `female`).
PEOPLE = {1001: (51, "Male", "Caucasian", "Not Hispanic"), 1002: (21, "Female", "Caucasian", "Not Hispanic"),
          1003: (21, "Female", "Caucasian", "Not Hispanic"), 1004: (42, "Female", "Caucasian", "Not Hispanic"),
          1005: (29, "Male", "African American", "Not Hispanic"), 1010: (27, "Female", "Caucasian", "Not Hispanic"),
          1015: (32, "Male", "African American", "Not Hispanic")}
DEMOGRAPHICS_HEADER = ("ActorID", "Age", "Sex", "Race", "Ethnicity")


@dataclass(frozen=True)
class FakeClip:
    actor: int
    sentence: str
    emotion: str
    level: str = "XX"

    @property
    def stem(self) -> str:
        return f"{self.actor}_{self.sentence}_{self.emotion}_{self.level}"

    @property
    def fold(self) -> int:
        return (self.actor - 1001) % 5 + 1


def fake_clips(actors: tuple[int, ...] = ACTORS) -> list[FakeClip]:
    """Each actor's DFA and TIE in every emotion of `EMOTIONS`, and IEO neutral (XX) and angry (HI)."""
    return [*(FakeClip(a, s, e) for a in actors for s in ("DFA", "TIE") for e in EMOTIONS),
            *(c for a in actors for c in (FakeClip(a, "IEO", "NEU"), FakeClip(a, "IEO", "ANG", "HI")))]


def write_demographics(path: Path, actors: tuple[int, ...] = ACTORS) -> Path:
    """VideoDemographics.csv as the release writes it (R's write.csv: strings quoted, numbers not)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        writer.writerow(DEMOGRAPHICS_HEADER)
        writer.writerows((actor, *PEOPLE[actor]) for actor in actors)
    return path


def write_flv(path: Path, clip: FakeClip, duration: float = 0.5, fps: int = 10) -> Path:
    """An FLV of the clip: a grey 64x48 picture and the emotion's tone (FLV's Sorenson H.263 video, AAC sound)."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format="flv") as container:
        video = container.add_stream("flv", rate=fps)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = container.add_stream("aac", rate=16000, layout="mono")
        picture = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 128, np.uint8), format="rgb24")
        for _ in range(int(fps * duration)):
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
        _encode_audio(container, sound, tone(PITCH[clip.emotion], duration), 16000)
    return path


def write_fake_crema_d(root: Path, clips: list[FakeClip] | None = None, *, media: str = "audio",
                       test_fold: int = 5, demographics: bool = True) -> FakeCorpus:
    """`clips` (default `fake_clips()`) as WAVs in AudioWAV/ (media audio, audio+video) and FLVs in VideoFlash/
    (media video, audio+video), with VideoDemographics.csv (where `demographics`) listing every actor."""
    clips = fake_clips() if clips is None else clips
    expected = {}
    for clip in clips:
        audio = video = None
        if media in ("audio", "audio+video"):
            audio = f"AudioWAV/{clip.stem}.wav"
            write_tone_wav(root / audio, freq=PITCH[clip.emotion], duration=0.5)
        if media in ("video", "audio+video"):
            video = f"VideoFlash/{clip.stem}.flv"
            write_flv(root / video, clip)
        expected[clip.stem] = ExpectedSample(audio=audio, video=video, transcript=SENTENCES[clip.sentence],
                                             split="test" if clip.fold == test_fold else "train")
    (root / "AudioMP3").mkdir(parents=True, exist_ok=True)
    (root / "AudioMP3" / f"{clips[0].stem}.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00")  # not read
    path = root / "VideoDemographics.csv"
    if demographics:
        write_demographics(path, tuple(sorted({c.actor for c in clips})))
    options = {"media": media, "test_fold": test_fold}
    return FakeCorpus("crema-d", root, path, expected, options=options,
                      corrupt=lambda: replace_line(path, 1, '"ActorID","Age"'))


@register_fake("crema-d", "audio-wav")
def write_fake_crema_d_audio(root: Path) -> FakeCorpus:
    """The release's AudioWAV/ and VideoDemographics.csv, fold 5 held out."""
    return write_fake_crema_d(root)


@register_fake("crema-d", "audio-video")
def write_fake_crema_d_audio_video(root: Path) -> FakeCorpus:
    """AudioWAV/ and VideoFlash/ of three actors read together (-o media=audio+video), fold 1 held out."""
    return write_fake_crema_d(root, fake_clips((1001, 1002, 1005)), media="audio+video", test_fold=1)
