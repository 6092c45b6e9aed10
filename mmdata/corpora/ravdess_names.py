"""RAVDESS's file names, read and checked for the `ravdess` loader (`ravdess.py`): the seven two-digit codes of
`MM-VV-EE-II-SS-RR-AA.ext` and what each means, the utterance named by the six codes after the modality, and why a
name is not one RAVDESS gives its files (a code out of range, a combination RAVDESS never makes, a wrong suffix,
another actor than its folder's):
    03-01-06-01-02-01-12.wav   audio-only (03), speech (01), fearful (06), normal intensity (01),
                               "Dogs are sitting by the door" (02), first repetition (01), actor 12
"""
from __future__ import annotations

import re
from dataclasses import dataclass

#: The actors of one of mmdata's folds (`ravdess.FOLDS`: four consecutive actors each), and the actor codes.
ACTORS_PER_FOLD = 4
ACTORS = range(1, 25)
#: A file name: seven two-digit codes and a suffix (`03-01-06-01-02-01-12.wav`).
FILE_NAME = re.compile(r"(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)(\.[A-Za-z0-9]+)", re.ASCII)
NAME_FORM = "seven two-digit codes MM-VV-EE-II-SS-RR-AA and a suffix (as 03-01-06-01-02-01-12.wav)"
#: Modality code -> (what it is, the suffix of its files).
MODALITIES = {1: ("full-AV", ".mp4"), 2: ("video-only", ".mp4"), 3: ("audio-only", ".wav")}
FULL_AV, AUDIO_ONLY = 1, 3
CHANNELS = {1: "speech", 2: "song"}
EMOTIONS = {1: "neutral", 2: "calm", 3: "happy", 4: "sad", 5: "angry", 6: "fearful", 7: "disgust", 8: "surprised"}
#: The emotions RAVDESS's songs are sung in (no disgust, no surprise).
SONG_EMOTIONS = (1, 2, 3, 4, 5, 6)
NEUTRAL = 1
INTENSITIES = {1: "normal", 2: "strong"}
STATEMENTS = {1: "Kids are talking by the door", 2: "Dogs are sitting by the door"}
REPETITIONS = (1, 2)


@dataclass(frozen=True)
class _Utterance:
    """The six codes after the modality: what one actor said or sang once."""

    channel: int
    emotion: int
    intensity: int
    statement: int
    repetition: int
    actor: int

    @property
    def sample_id(self) -> str:
        return "-".join(f"{code:02d}" for code in (self.channel, self.emotion, self.intensity, self.statement,
                                                   self.repetition, self.actor))

    @property
    def fold(self) -> int:
        return (self.actor - 1) // ACTORS_PER_FOLD + 1


@dataclass(frozen=True)
class _File:
    """A file whose name passed its checks: its utterance, its modality and its path relative to the root."""

    utterance: _Utterance
    modality: int
    path: str
    where: str  # its absolute path, as problems name it

    @property
    def folder(self) -> str:
        return self.path.rpartition("/")[0]

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]


@dataclass(frozen=True)
class _Rejected:
    """Why a file's name is not one RAVDESS gives its files: the kind of reason (`name`, the field of a code out of
    range, `suffix`, ...), the utterance's sample id where the codes name one, and the reason."""

    kind: str
    sample_id: str | None
    reason: str


def _parse_name(name: str, actor_of_folder: int, folder: str, where: str) -> _File | _Rejected:
    """The file `name` of an actor's folder (`where` its absolute path), or why its name is not one RAVDESS gives
    its files, or names another actor than its folder's."""
    match = FILE_NAME.fullmatch(name)
    if match is None:
        return _Rejected("name", None, f"name is not {NAME_FORM}")
    codes = [int(code) for code in match.groups()[:7]]
    utterance = _Utterance(*codes[1:])
    out_of_range = _code_problem(codes)
    kind, reason = out_of_range or _combination_problem(utterance) or (None, None)
    modality = codes[0]
    if reason is None and match[8].lower() != MODALITIES[modality][1]:
        kind, reason = "suffix", (f"suffix {match[8]!r} is not {MODALITIES[modality][1]!r}, as modality {match[1]} "
                                  f"({MODALITIES[modality][0]}) files are")
    if reason is None and utterance.actor != actor_of_folder:
        kind, reason = "folder", (f"actor code {match[7]} is not its folder's ({folder}/); expected the actor of the "
                                  "Actor_NN folder")
    if reason is not None:
        return _Rejected(kind, None if out_of_range else utterance.sample_id, reason)
    return _File(utterance, modality, f"{folder}/{name}", where)


def _code_problem(codes: list[int]) -> tuple[str, str] | None:
    """(field, reason) of the first of a name's seven codes out of its range (None: every one is in it)."""
    ranges = (("modality", MODALITIES), ("vocal channel", CHANNELS), ("emotion", EMOTIONS),
              ("intensity", INTENSITIES), ("statement", STATEMENTS), ("repetition", REPETITIONS), ("actor", ACTORS))
    for (what, known), code in zip(ranges, codes):
        if code not in known:
            return what, f"{what} code {code:02d} is not one of {_code_list(known)}"
    return None


def _code_list(codes) -> str:
    """`01-08`, `01, 02`: the codes a field may hold."""
    codes = list(codes)
    return f"{codes[0]:02d}-{codes[-1]:02d}" if len(codes) > 2 else ", ".join(f"{c:02d}" for c in codes)


def _combination_problem(utterance: _Utterance) -> tuple[str, str] | None:
    """(kind, reason) of codes each in range that RAVDESS never combines: a strong neutral, a song of disgust or
    surprise."""
    if utterance.emotion == NEUTRAL and utterance.intensity != 1:
        return "strong neutral", "intensity code 02 (strong) with emotion 01 (neutral); RAVDESS has no strong neutral"
    if CHANNELS[utterance.channel] == "song" and utterance.emotion not in SONG_EMOTIONS:
        return "song emotion", (f"emotion code {utterance.emotion:02d} ({EMOTIONS[utterance.emotion]}) in a song "
                                f"(vocal channel 02); RAVDESS's songs are "
                                f"{', '.join(EMOTIONS[e] for e in SONG_EMOTIONS)} only")
    return None
