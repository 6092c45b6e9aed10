"""A fake ESC-50 as its GitHub release unzips: meta/esc50.csv (the release's seven columns, esc10 written as
pandas writes booleans) and audio/<fold>-<src_file>-<take>-<target>.wav, real half-second 16 kHz tones whose
pitch is the class's (so that a linear probe on their log-mel features can tell the classes apart).
`TWO_CLASS_RECORDINGS` are the release's rows of the four recordings with clips of two classes in two folds.

`write_fake_esc50` returns a `FakeCorpus` whose `expected` holds the samples a load with test_fold=1 yields.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.fakes import ExpectedSample, FakeCorpus, register_fake, replace_line
from tests.fakes.av import write_tone_wav
from tests.fakes.captioned_media import write_csv

COLUMNS = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
#: (target, category, in ESC-10): two ESC-10 classes and one that is not; sorted by name (the class ids of
#: `fuse --class-label class`: cat 0, dog 1, rooster 2) they are in another order than by target.
CLASSES = ((0, "dog", True), (1, "rooster", True), (5, "cat", False))


@dataclass(frozen=True)
class FakeClip:
    fold: int
    src_file: str
    take: str
    target: int
    category: str
    esc10: bool

    @property
    def filename(self) -> str:
        return f"{self.fold}-{self.src_file}-{self.take}-{self.target}.wav"

    def row(self) -> list[str]:
        return [self.filename, str(self.fold), str(self.target), self.category, str(self.esc10), self.src_file,
                self.take]


def fake_clips(folds: int = 5, takes: int = 1) -> list[FakeClip]:
    """One Freesound recording per class and fold, cut into `takes` clips (A, B, ...), all in that fold."""
    return [FakeClip(fold, f"{100000 + 1000 * fold + target}", "ABCDEFGH"[k], target, category, esc10)
            for fold in range(1, folds + 1) for target, category, esc10 in CLASSES for k in range(takes)]


#: ESC-50 v2.0.0's meta/esc50.csv deals these four Freesound recordings' clips of two classes into two folds
#: (its folds keep a recording's clips of one class together, not of every class): no leak for any test fold.
TWO_CLASS_RECORDINGS = (
    FakeClip(2, "131943", "A", 38, "clock_tick", True), FakeClip(3, "131943", "A", 37, "clock_alarm", False),
    FakeClip(2, "134049", "A", 6, "hen", False), FakeClip(3, "134049", "A", 1, "rooster", True),
    FakeClip(4, "209698", "A", 37, "clock_alarm", False), FakeClip(5, "209698", "A", 38, "clock_tick", True),
    FakeClip(4, "234879", "A", 6, "hen", False), FakeClip(5, "234879", "A", 1, "rooster", True),
)


def write_fake_esc50(root: Path, clips: list[FakeClip] | None = None, *, test_fold: int = 1,
                     audio_dir: str = "audio", csv_file: str = "meta/esc50.csv") -> FakeCorpus:
    """`csv_file` listing `clips` (default `fake_clips()`) and their tones in `audio_dir`."""
    clips = fake_clips() if clips is None else clips
    expected = {}
    for clip in clips:
        # 200 Hz (target 0) to 7,550 Hz (target 49): every class its pitch, all under 16 kHz's 8 kHz Nyquist limit
        write_tone_wav(root / audio_dir / clip.filename, freq=200.0 + 150.0 * clip.target, duration=0.5)
        expected[Path(clip.filename).stem] = ExpectedSample(audio=f"{audio_dir}/{clip.filename}".lstrip("/"),
                                                            split="test" if clip.fold == test_fold else "train")
    path = write_csv(root / csv_file, COLUMNS, [clip.row() for clip in clips])
    return FakeCorpus("esc50", root, path, expected, options={"test_fold": test_fold},
                      corrupt=lambda: replace_line(path, 1, "filename,fold,target"))


@register_fake("esc50", "github")
def write_fake_esc50_release(root: Path) -> FakeCorpus:
    """The release's layout: meta/esc50.csv and audio/, fold 1 held out."""
    return write_fake_esc50(root, fake_clips(takes=2))
