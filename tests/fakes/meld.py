"""A fake MELD as MELD.Raw.tar.gz and its split tarballs unpack: `train_sent_emo.csv`, `dev_sent_emo.csv`,
`test_sent_emo.csv` (the release's eleven columns, quoted commas, curly quotes and accents in the text, the cp1252
characters the release's CSVs hold as they are (U+0085 for its ellipsis, U+0092 for its apostrophe, U+00A0), gaps in
`Sr No.`, times `hh:mm:ss,ms` and `h:mm:ss,ms`) and the clips `dia<D>_utt<U>.mp4` in `train_splits/`,
`dev_splits_complete/`, `output_repeated_splits_test/` (or other folders: `clip_dirs`; a test clip may be written
under the `final_videos_test` prefix too: `prefixed`, `recut`): real MP4s of 0.4 s (two colours at 10 fps, a tone as
sound track). Layout `flat` puts everything in the root (MELD.Raw/ itself), `per-split` each CSV and its clip folder
in `train/`, `dev/`, `test/`. The dyadic CSVs (`write_dyadic_csvs`) have no `Sr No.`, as MELD's.

`write_fake_meld` returns a `FakeCorpus` whose `expected` holds the samples a load for no split yields.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.fakes import ExpectedSample, FakeCorpus, register_fake, replace_line
from tests.fakes.av import tone, write_mp4
from tests.fakes.captioned_media import write_csv

HEADER = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID", "Season",
          "Episode", "StartTime", "EndTime"]
#: MELD's dyadic CSVs have no `Sr No.`.
DYADIC_HEADER = [*HEADER[1:7], "Old_Dialogue_ID", "Old_Utterance_ID", *HEADER[7:]]
#: MELD's name of each split, the CSV's prefix.
NATIVE = {"train": "train", "val": "dev", "test": "test"}
CLIP_DIRS = {"train": "train_splits", "val": "dev_splits_complete", "test": "output_repeated_splits_test"}
#: The prefix some test clips of output_repeated_splits_test/ have (`final_videos_testdia0_utt0.mp4`).
TEST_PREFIX = "final_videos_test"
SENTIMENT_LABELS = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}


@dataclass(frozen=True)
class FakeUtterance:
    split: str  # as named here: train, val, test
    dialogue: int
    utterance: int
    text: str
    speaker: str
    emotion: str
    sentiment: str
    season: int | str = 4  # text: a field that is no number, as a copy may hold
    episode: int | str = 7
    start: str = "00:20:57,256"
    end: str = "00:21:00,049"

    @property
    def sample_id(self) -> str:
        return f"{self.split}_dia{self.dialogue}_utt{self.utterance}"

    @property
    def clip(self) -> str:
        return f"dia{self.dialogue}_utt{self.utterance}.mp4"

    def row(self, sr_no: int) -> list[str]:
        return [str(sr_no), self.text, self.speaker, self.emotion, self.sentiment, str(self.dialogue),
                str(self.utterance), str(self.season), str(self.episode), self.start, self.end]


#: Two train dialogues, a dev one and a test one, dialogue 0 in every split (ids restart per split); every emotion
#: but `fear` in train, sorted names not MELD's order (anger 0, disgust 1, joy 2, neutral 3, sadness 4, surprise 5).
UTTERANCES: tuple[FakeUtterance, ...] = (
    FakeUtterance("train", 0, 0, "Oh my God, he’s lost it. He’s totally lost it.", "Phoebe", "sadness", "negative"),
    FakeUtterance("train", 0, 1, "What?", "Monica", "surprise", "negative", start="00:21:01,072",
                  end="00:21:02,088"),
    FakeUtterance("train", 0, 2, "Or! Or, we could go to the bank, close our accounts and cut them off at the source.",
                  "Ross", "neutral", "neutral", start="0:21:03,500", end="0:21:09,000"),
    FakeUtterance("train", 1, 0, "You’re a genius!", "Chandler", "joy", "positive", season=8, episode=21,
                  start="00:00:05,120", end="00:00:06,800"),
    FakeUtterance("train", 1, 1, "Aww, man, now we wont be bank buddies!", "Joey", "anger", "negative", season=8,
                  episode=21, start="00:00:07,000", end="00:00:09,215"),
    FakeUtterance("train", 1, 2, "Now, there’s two reasons: \"Café\", then \"déjà vu\".", "Joey", "disgust",
                  "negative", season=8, episode=21, start="00:00:09,300", end="00:00:12,004"),
    FakeUtterance("val", 0, 0, "Oh, what, you get it through the mail?\xa0", "Phoebe", "neutral", "neutral", season=2,
                  episode=3, start="00:10:00,001", end="00:10:02,500"),  # ends with U+00A0, as MELD's rows may
    FakeUtterance("val", 0, 1, "Yeah, it\x92s free\x85", "Monica", "joy", "positive", season=2, episode=3,
                  start="00:10:02,600", end="00:10:03,100"),  # MELD's cp1252 apostrophe and ellipsis, as it holds them
    FakeUtterance("test", 0, 0, "Why do all you’re coffee mugs have numbers on the bottom?", "Mark", "surprise",
                  "positive", season=3, episode=19, start="00:14:38,127", end="00:14:40,378"),
    FakeUtterance("test", 0, 1, "Oh. That’s so Monica can keep track.", "Rachel", "anger", "negative", season=3,
                  episode=19, start="00:14:40,629", end="00:14:47,385"),
)


def write_clip(path: Path, seed: int) -> Path:
    """A 0.4 s MP4 at `path`: two colours, two frames each at 10 fps, with a 0.4 s tone as its sound track."""
    return write_mp4(path, [(37 * seed % 256, 90, 30), (10, 53 * seed % 256, 200)], fps=10, frames_per_color=2,
                     audio=tone(220.0 + 40.0 * seed, 0.4))


def csv_path(root: Path, split: str, layout: str = "flat", *, dyadic: bool = False) -> Path:
    """Where a split's CSV is in a fake of `layout`."""
    name = f"{NATIVE[split]}_sent_emo{'_dya' if dyadic else ''}.csv"
    return root / name if layout == "flat" else root / NATIVE[split] / name


def clip_folder(split: str, layout: str = "flat", clip_dirs: dict[str, str] | None = None) -> str:
    """A split's clip folder (relative to the root) in a fake of `layout` (`clip_dirs`: other names than MELD.Raw's
    for some splits' folders, as `{"val": "dev_splits"}`)."""
    name = {**CLIP_DIRS, **(clip_dirs or {})}[split]
    return name if layout == "flat" else f"{NATIVE[split]}/{name}"


def write_fake_meld(root: Path, utterances: tuple[FakeUtterance, ...] = UTTERANCES, *, layout: str = "flat",
                    missing: tuple[str, ...] = (), clip_dirs: dict[str, str] | None = None,
                    prefixed: tuple[str, ...] = (), recut: tuple[str, ...] = ()) -> FakeCorpus:
    """A CSV per split listing `utterances` (Sr No. counting from 1 with a gap after each dialogue) and their clips;
    the clips of the sample ids in `missing` are not written (nor expected). The test clips of the sample ids in
    `prefixed` are written as `final_videos_testdia<D>_utt<U>.mp4` alone (expected so), those in `recut` under both
    names, different clips (the plain name expected)."""
    expected: dict[str, ExpectedSample] = {}
    for seed, u in enumerate(utterances):
        if u.sample_id in missing:
            continue
        folder = clip_folder(u.split, layout, clip_dirs)
        video = f"{folder}/{TEST_PREFIX if u.sample_id in prefixed else ''}{u.clip}"
        write_clip(root / video, seed)
        if u.sample_id in recut:
            write_clip(root / folder / f"{TEST_PREFIX}{u.clip}", seed + 50)
        expected[u.sample_id] = ExpectedSample(split=u.split, video=video, transcript=u.text)
    paths = {}
    for split in NATIVE:
        rows, sr_no = [], 0
        for u in (u for u in utterances if u.split == split):
            sr_no += 1 if not rows or u.dialogue == int(rows[-1][5]) else 3  # Sr No. has gaps
            rows.append(u.row(sr_no))
        if rows:
            paths[split] = write_csv(csv_path(root, split, layout), HEADER, rows)
    train = paths["train"]
    return FakeCorpus("meld", root, train, expected, corrupt=lambda: replace_line(train, 1, "Sr No.,Utterance,Speaker"))


def write_dyadic_csvs(root: Path, old_ids: dict[str, tuple[int, int]],
                      utterances: tuple[FakeUtterance, ...] = UTTERANCES) -> dict[str, Path]:
    """MELD's dyadic CSVs (`*_sent_emo_dya.csv`, no `Sr No.`) beside the full ones: every utterance whose sample id
    `old_ids` maps to (old dialogue, old utterance), renumbered as dialogue 0 of its split, utterances from 0."""
    paths = {}
    for split in NATIVE:
        chosen = [u for u in utterances if u.split == split and u.sample_id in old_ids]
        rows = []
        for k, u in enumerate(chosen):
            row = u.row(k + 1)
            row[5], row[6] = "0", str(k)
            rows.append([*row[1:7], *map(str, old_ids[u.sample_id]), *row[7:]])
        if rows:
            paths[split] = write_csv(csv_path(root, split, dyadic=True), DYADIC_HEADER, rows)
    return paths


@register_fake("meld", "meld-raw")
def write_fake_meld_raw(root: Path) -> FakeCorpus:
    """MELD.Raw/ as unpacked: the three CSVs and the three clip folders side by side."""
    return write_fake_meld(root)


@register_fake("meld", "per-split-folders")
def write_fake_meld_per_split(root: Path) -> FakeCorpus:
    """Each CSV and its clip folder in train/, dev/, test/."""
    return write_fake_meld(root, layout="per-split")
