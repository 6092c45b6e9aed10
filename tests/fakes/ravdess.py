"""A fake RAVDESS as its zips unpack: files named by their seven codes (`03-01-06-01-02-01-12.wav`) in `Actor_NN/`
folders, merged in the root (`layout="merged"`) or in the folders the zips are named after (`layout="zips"`:
`Audio_Speech_Actors_01-24/Actor_NN/`, `Audio_Song_Actors_01-24/Actor_NN/`, `Video_Speech_Actor_NN/Actor_NN/`,
`Video_Song_Actor_NN/Actor_NN/`). The audio-only WAVs are real half-second 16 kHz tones whose pitch is the emotion's
(so that a linear probe on their log-mel features can tell the emotions apart); the full-AV MP4s show the emotion's
colour with that tone as their AAC sound track, the video-only ones the colour alone.

`write_fake_ravdess` returns a `FakeCorpus` whose `expected` holds the samples a load with media=audio, the
channels written and test_fold 6 yields.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Sequence
from pathlib import Path

import mmdata.corpora.ravdess  # noqa: F401  (registers the loader where mmdata.corpora.builtin does not yet)
from tests.fakes import ExpectedSample, FakeCorpus, register_fake
from tests.fakes.av import tone, write_mp4, write_tone_wav

STATEMENTS = {1: "Kids are talking by the door", 2: "Dogs are sitting by the door"}
#: The emotions the fakes speak and sing (codes): neutral, happy, sad, angry; sorted by name (the class ids of
#: `fuse --class-label emotion`): angry 0, happy 1, neutral 2, sad 3.
EMOTIONS = {1: "neutral", 3: "happy", 4: "sad", 5: "angry"}
FULL_AV, VIDEO_ONLY, AUDIO_ONLY = 1, 2, 3
SAMPLE_RATE = 16000
DURATION = 0.5


class FakeUtterance(namedtuple("FakeUtterance", "channel emotion intensity statement repetition actor")):
    """The six codes after the modality in a file's name, in its order (channel: 1 speech, 2 song)."""

    __slots__ = ()

    @property
    def sample_id(self) -> str:
        return "-".join(map("{:02d}".format, self))

    @property
    def fold(self) -> int:
        """mmdata's fold: actors 1-4 are fold 1, ..., 21-24 fold 6."""
        return 1 + (self.actor - 1) // 4

    def name(self, modality: int) -> str:
        return f"{modality:02d}-{self.sample_id}{'.wav' if modality == AUDIO_ONLY else '.mp4'}"


def fake_utterances(actors: Iterable[int] = (1, 2, 5, 21, 22), *, channels: Iterable[int] = (1,),
                    emotions: Iterable[int] = tuple(EMOTIONS), repetitions: Iterable[int] = (1,),
                    strong: bool = False) -> list[FakeUtterance]:
    """Both statements of each actor, channel and emotion (normal intensity, and strong too where `strong`, but
    for neutral), in each of `repetitions`."""
    return [FakeUtterance(channel, emotion, intensity, statement, repetition, actor)
            for actor in actors for channel in channels for emotion in emotions
            for intensity in ((1, 2) if strong and emotion != 1 else (1,))
            for statement in STATEMENTS for repetition in repetitions]


def folder_of(utterance: FakeUtterance, modality: int, layout: str) -> str:
    """The folder (relative to the root) a file of `modality` of `utterance` is unpacked to in `layout`."""
    actor = f"Actor_{utterance.actor:02d}"
    if layout == "merged":
        return actor
    channel = "Speech" if utterance.channel == 1 else "Song"
    if modality == AUDIO_ONLY:
        return f"Audio_{channel}_Actors_01-24/{actor}"
    return f"Video_{channel}_Actor_{utterance.actor:02d}/{actor}"


def pitch(emotion: int) -> float:
    """The tone of an emotion: 300 Hz (neutral) to 1,700 Hz (surprised)."""
    return 100.0 + 200.0 * emotion


def write_utterance_file(root: Path, utterance: FakeUtterance, modality: int, layout: str = "merged") -> Path:
    """The file of `modality` of `utterance`, where `layout` unpacks it; its path."""
    path = root / folder_of(utterance, modality, layout) / utterance.name(modality)
    if modality == AUDIO_ONLY:
        return write_tone_wav(path, freq=pitch(utterance.emotion), duration=DURATION, sample_rate=SAMPLE_RATE)
    color = (40 * utterance.emotion, 255 - 30 * utterance.emotion, 128)
    sound = tone(pitch(utterance.emotion), DURATION, SAMPLE_RATE) if modality == FULL_AV else None
    return write_mp4(path, [color], fps=10, frames_per_color=5, size=(32, 24), audio=sound, sample_rate=SAMPLE_RATE)


def write_fake_ravdess(root: Path, utterances: Sequence[FakeUtterance] | None = None, *, layout: str = "merged",
                       modalities: Iterable[int] = (AUDIO_ONLY,), test_fold: int = 6,
                       options: dict | None = None) -> FakeCorpus:
    """The files of `modalities` of `utterances` (default `fake_utterances()`) in `layout`; `options` those of the
    load `expected` is for (media=audio: the WAVs; channels: those written)."""
    utterances = fake_utterances() if utterances is None else utterances
    written = [write_utterance_file(root, u, m, layout) for u in utterances for m in modalities]
    expected = {}
    if AUDIO_ONLY in modalities:
        expected = {u.sample_id: ExpectedSample(audio=f"{folder_of(u, AUDIO_ONLY, layout)}/{u.name(AUDIO_ONLY)}",
                                                split="test" if u.fold == test_fold else "train",
                                                transcript=STATEMENTS[u.statement]) for u in utterances}
    channels = "+".join(name for code, name in ((1, "speech"), (2, "song")) if code in {u.channel for u in utterances})
    first = min(written, key=lambda p: _loader_order(root, p))
    return FakeCorpus("ravdess", root, first, expected,
                      options={"test_fold": test_fold, "channels": channels, **(options or {})},
                      corrupt=lambda: rename_every_file(root))


def _loader_order(root: Path, path: Path) -> tuple[bool, str, str]:
    """Where the loader reads a file: the root's Actor_NN folders first, then those in zip-named folders, each
    folder's files by name."""
    folder = path.parent.relative_to(root).as_posix()
    return "/" in folder, folder, path.name


def rename_every_file(root: Path) -> str:
    """Break every file name (`03-01-...` as `03_01_...`, no longer seven codes); the path of the first the loader
    reads, which its refusal names."""
    files = sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: _loader_order(root, p))
    renamed = [p.rename(p.with_name(p.name.replace("-", "_"))) for p in files]
    return str(renamed[0])


@register_fake("ravdess", "merged")
def write_fake_ravdess_merged(root: Path) -> FakeCorpus:
    """Every zip's Actor_NN folders merged in the root: speech WAVs, fold 6 (actors 21, 22) held out."""
    return write_fake_ravdess(root)


@register_fake("ravdess", "zips")
def write_fake_ravdess_zips(root: Path) -> FakeCorpus:
    """Each zip unpacked into a folder named after it: speech and song WAVs, and the speech MP4s of actor 1."""
    utterances = fake_utterances(actors=(1, 22), channels=(1, 2), emotions=(3, 4))
    fake = write_fake_ravdess(root, utterances, layout="zips")
    for u in utterances:
        if u.actor == 1 and u.channel == 1:
            write_utterance_file(root, u, FULL_AV, "zips")
            write_utterance_file(root, u, VIDEO_ONLY, "zips")
    return fake
