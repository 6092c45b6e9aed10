"""A fake DESED as the DCASE Task 4 baseline's data/dcase/dataset holds it: metadata/<split>/*.tsv (strong, weak,
unlabeled sets and durations files, each with its header) and audio/<split>/<set>/ of real 16 kHz tones, 1-2 s
long (the file names keep AudioSet's `_<start>_<end>` of 10 s clips: only the names are DESED's).

`FAKE_SETS` has a set of every kind: the weak and unlabeled training clips (the unlabeled ones only in the
resampled `unlabel_in_domain_16k/`, as a copy that kept the baseline's 16 kHz files alone), the real strong
training clips (`audio/train/strong_label_real/`), synthetic soundscapes numbered from 0 in train and validation
(the same names in two sets), and the real validation set with a clip of no event and its durations file.
`write_fake_desed` returns a `FakeCorpus` whose `expected` holds the samples a default load yields.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes import ExpectedSample, FakeCorpus, register_fake
from tests.fakes.av import write_tone_wav

CLASSES = ("Alarm_bell_ringing", "Blender", "Cat", "Dishes", "Dog", "Electric_shaver_toothbrush", "Frying",
           "Running_water", "Speech", "Vacuum_cleaner")
STRONG_HEADER = "filename\tonset\toffset\tevent_label"
WEAK_HEADER = "filename\tevent_labels"
UNLABELED_HEADER = "filename"
DURATIONS_HEADER = "filename\tduration"


@dataclass(frozen=True)
class FakeClip:
    filename: str
    duration: float = 1.5
    #: A strong clip's events (onset, offset, label), in the order its lines list them; () for no event.
    events: tuple[tuple[float, float, str], ...] | None = None
    #: A weak clip's labels, as its line lists them.
    labels: tuple[str, ...] | None = None

    @property
    def stem(self) -> str:
        return Path(self.filename).stem


@dataclass(frozen=True)
class FakeSet:
    split: str
    name: str  # the TSV's path under metadata/<split>/ without .tsv
    kind: str  # strong, weak, unlabeled
    clips: tuple[FakeClip, ...]
    #: The clips' folder under audio/<split>/ (default: the set's name).
    audio_folder: str | None = None
    #: Write a durations file for the clips (validation_durations.tsv beside validation.tsv, else durations.tsv).
    durations: bool = False
    extra_lines: tuple[str, ...] = field(default=())

    @property
    def tsv(self) -> str:
        return f"metadata/{self.split}/{self.name}.tsv"

    @property
    def folder(self) -> str:
        return f"audio/{self.split}/{self.audio_folder or self.name}"

    def sample_id(self, clip: FakeClip) -> str:
        return clip.stem if clip.stem.startswith("Y") else f"{self.split}/{self.name}/{clip.stem}"

    def lines(self) -> list[str]:
        header = {"strong": STRONG_HEADER, "weak": WEAK_HEADER, "unlabeled": UNLABELED_HEADER}[self.kind]
        lines = [header]
        for clip in self.clips:
            if self.kind == "strong":
                lines += [f"{clip.filename}\t{onset:.3f}\t{offset:.3f}\t{label}"
                          for onset, offset, label in clip.events]
                lines += [f"{clip.filename}\t\t\t"] if not clip.events else []
            elif self.kind == "weak":
                lines.append(f"{clip.filename}\t{','.join(clip.labels)}")
            else:
                lines.append(clip.filename)
        return lines + list(self.extra_lines)


FAKE_SETS = (
    FakeSet("train", "weak", "weak", (
        FakeClip("Y-BJNMHMZDcU_50.000_60.000.wav", labels=("Dog", "Alarm_bell_ringing")),
        FakeClip("Y00pbt6aJV8Y_350.000_360.000.wav", 1.0, labels=("Speech",)))),
    FakeSet("train", "unlabel_in_domain", "unlabeled", (
        FakeClip("Y0BUmKvyzLOg_30.000_40.000.wav", 1.0), FakeClip("Y0Ndpm5Vbdcg_0.000_10.000.wav", 2.0)),
        audio_folder="unlabel_in_domain_16k"),
    FakeSet("train", "audioset_strong", "strong", (
        FakeClip("Y07fghylishw_20.000_30.000.wav", 2.0, events=((0.2, 1.4, "Frying"), (0.0, 0.5, "Dishes"))),),
        audio_folder="strong_label_real"),
    FakeSet("train", "synthetic21_train/soundscapes", "strong", (
        FakeClip("0.wav", 1.0, events=((0.1, 0.6, "Cat"),)),
        FakeClip("1.wav", 1.5, events=((0.3, 1.5, "Running_water"), (0.3, 0.8, "Blender"))))),
    FakeSet("validation", "validation", "strong", (
        FakeClip("YOTsn73eqbfc_10.000_20.000.wav", 1.5,
                 events=((0.163, 0.665, "Alarm_bell_ringing"), (0.5, 1.2, "Speech"), (0.9, 1.5, "Speech"))),
        FakeClip("Y1a3rs8NWa2M_30.000_40.000.wav", 1.0, events=())), durations=True),
    FakeSet("validation", "synthetic21_validation/soundscapes", "strong", (
        FakeClip("0.wav", 2.0, events=((1.0, 2.0, "Vacuum_cleaner"),)),), durations=True),
)


def durations_file(fake_set: FakeSet) -> str:
    """Where the baseline keeps a set's durations: validation_durations.tsv beside validation.tsv, else
    durations.tsv beside soundscapes.tsv."""
    folder = Path(fake_set.tsv).parent.as_posix()
    return f"{folder}/{'validation_durations' if fake_set.name == 'validation' else 'durations'}.tsv"


def write_fake_desed(root: Path, sets: tuple[FakeSet, ...] = FAKE_SETS) -> FakeCorpus:
    """The TSVs of `sets`, their durations files and tones (one pitch per clip)."""
    expected = {}
    pitch = 300.0
    for fake_set in sets:
        path = root / fake_set.tsv
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(fake_set.lines()) + "\n", encoding="utf-8")
        for clip in fake_set.clips:
            write_tone_wav(root / fake_set.folder / clip.filename, freq=pitch, duration=clip.duration)
            pitch += 150.0
            expected[fake_set.sample_id(clip)] = ExpectedSample(audio=f"{fake_set.folder}/{clip.filename}",
                                                                split=fake_set.split)
        if fake_set.durations:
            lines = [DURATIONS_HEADER, *(f"{clip.filename}\t{clip.duration:.3f}" for clip in fake_set.clips)]
            (root / durations_file(fake_set)).write_text("\n".join(lines) + "\n", encoding="utf-8")
    validation = root / "metadata/validation/validation.tsv"
    return FakeCorpus("desed", root, validation, expected, corrupt=lambda: _column_twice(validation))


def _column_twice(path: Path) -> str:
    """Name a column twice in the header (line 1), which stops the load (a file that is not UTF-8 is skipped and
    named instead); return `"<path>:1"`."""
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[0] += "\tonset"
    path.write_text("\n".join(lines), encoding="utf-8")
    return f"{path}:1"


def not_utf8(path: Path, number: int) -> str:
    """Put a byte that is no UTF-8 on line `number`; return `"<path>:<number>"`."""
    lines = path.read_bytes().split(b"\n")
    lines[number - 1] += b"\xff"
    path.write_bytes(b"\n".join(lines))
    return f"{path}:{number}"


def write_classes(path: Path) -> Path:
    """The ten DESED classes, one a line: the classes file of `event-targets:classes=`."""
    path.write_text("\n".join(CLASSES) + "\n", encoding="utf-8")
    return path


@register_fake("desed", "dcase-baseline")
def write_fake_desed_baseline(root: Path) -> FakeCorpus:
    """The baseline's layout: every set kind, a durations file, an unlabeled set in its `_16k` copy alone."""
    return write_fake_desed(root)
