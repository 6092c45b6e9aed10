"""A fake IEMOCAP as `IEMOCAP_full_release.tar.gz` unpacks: per session `dialog/EmoEvaluation/<dialog>.txt` (the
release's `%` header, turn lines out of id order, the evaluators' `C-E2:` and `A-E3:` lines, blank lines; an
AppleDouble `._<dialog>.txt` of bytes that are no UTF-8 beside it, and a Categorical/ folder of an evaluator's
file), `dialog/transcriptions/<dialog>.txt` (zero-padded times, an `MXX` line of no labelled utterance),
`sentences/wav/<dialog>/<utterance>.wav` (a real 16 kHz tone per utterance, its span's length, its pitch its
emotion's), `dialog/wav/<dialog>.wav` (a tone as long as the dialog) and `dialog/avi/DivX/<dialog>.avi` (MPEG-4 part
2 in AVI, as DivX: two colours at 10 fps, as long). Improvised and scripted dialogs in sessions 1, 2, 3 and 5 (4
absent, as in partial copies), every emotion of the 4-class set in train and test, an `exc` (happy in `emotion4`)
and an `xxx`.

`write_fake_iemocap` returns a `FakeCorpus` whose `expected` holds the samples a load with the default options
(media=sentences, test_session=5) yields.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.fakes import ExpectedSample, FakeCorpus, register_fake
from tests.fakes.av import tone, write_mp4, write_wav

HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"
#: The tone of each emotion code (the 4-class set apart, so that a probe on log-mel features tells them apart).
PITCH = {"neu": 220.0, "hap": 440.0, "exc": 440.0, "ang": 880.0, "sad": 330.0}
#: How much longer than its last utterance a dialog's recording runs.
TAIL = 0.3


@dataclass(frozen=True)
class FakeUtterance:
    dialog: str
    speaker: str  # F or M: the utterance id's letter
    index: int
    start: float
    end: float
    code: str
    vad: tuple[float, float, float]
    text: str

    @property
    def sample_id(self) -> str:
        return f"{self.dialog}_{self.speaker}{self.index:03d}"

    @property
    def session(self) -> int:
        return int(self.dialog[3:5])

    @property
    def split(self) -> str:
        return "test" if self.session == 5 else "train"

    def turn_line(self) -> str:
        v, a, d = self.vad
        return f"[{self.start:.4f} - {self.end:.4f}]\t{self.sample_id}\t{self.code}\t[{v:.4f}, {a:.4f}, {d:.4f}]"

    def transcription_line(self) -> str:
        return f"{self.sample_id} [{self.start:08.4f}-{self.end:08.4f}]: {self.text}"


U = FakeUtterance
#: In each dialog's time order (the label files list them so, F and M interleaved).
UTTERANCES: tuple[FakeUtterance, ...] = (
    U("Ses01F_impro01", "F", 0, 0.1000, 0.5000, "neu", (2.5, 2.5, 2.5), "Excuse me."),
    U("Ses01F_impro01", "M", 0, 0.6000, 0.9500, "xxx", (2.0, 3.0, 3.5), "Do you have your forms?"),
    U("Ses01F_impro01", "F", 1, 1.0000, 1.4000, "ang", (1.5, 4.0, 4.0), "Yeah, I have them right here."),
    U("Ses01F_script01_1", "M", 0, 0.2000, 0.6000, "exc", (4.0, 4.0, 3.0), "What's he going to say?"),
    U("Ses01F_script01_1", "F", 0, 0.7000, 1.1000, "sad", (2.0, 2.0, 2.0), "Maybe he wants to talk to me."),
    U("Ses02M_impro02", "M", 0, 0.1500, 0.5500, "hap", (4.5, 3.5, 3.0), "I got the job!"),
    U("Ses02M_impro02", "F", 0, 0.6000, 1.0000, "fru", (2.0, 3.5, 3.0), "Again? You said that last week."),
    U("Ses02M_impro02", "M", 1, 1.1000, 1.5000, "neu", (3.0, 2.0, 2.5), "This time it's real."),
    U("Ses03M_script02_2", "F", 0, 0.1000, 0.5000, "ang", (1.0, 4.5, 4.5), "Don't walk away from me."),
    U("Ses03M_script02_2", "M", 0, 0.6000, 1.0000, "sad", (1.5, 1.5, 2.0), "I'm sorry."),
    # the release's irregular dialog names: an improvisation in two parts, a script's second take
    U("Ses03M_impro05a", "M", 0, 0.1000, 0.5000, "neu", (3.0, 2.0, 2.5), "It's my turn now."),
    U("Ses05M_script01_1b", "F", 0, 0.1000, 0.5000, "sad", (2.0, 2.0, 2.0), "I waited all day."),
    U("Ses05M_impro04", "M", 0, 0.1000, 0.5000, "ang", (1.5, 4.0, 4.0), "Why would you do that?"),
    U("Ses05M_impro04", "F", 0, 0.6000, 1.0000, "sad", (1.5, 2.0, 2.0), "I didn't mean to."),
    U("Ses05F_script03_2", "F", 0, 0.1000, 0.5000, "neu", (3.0, 2.5, 3.0), "The ocean is beautiful."),
    U("Ses05F_script03_2", "M", 0, 0.6000, 1.0000, "hap", (4.0, 3.0, 3.0), "Let's go for a swim."),
    U("Ses05F_script03_2", "F", 1, 1.1000, 1.5000, "exc", (4.5, 4.5, 3.5), "Race you to the water!"),
)
#: A transcription line of no labelled utterance, as the release has (`MXX`: a sound, not a turn).
UNLABELLED_LINE = "{dialog}_MXX0 [000.0000-000.1000]: [LAUGHTER]"
#: The evaluators' lines after a turn line, as the release writes them.
EVALUATOR_LINES = ("C-E2:\tNeutral;\t()", "C-E3:\tNeutral;\tFrustration;\t()", "C-F1:\tNeutral;\t(curious)",
                   "A-E3:\tval 3; act 2; dom  2;\t()", "A-F1:\tval 2; act 1; dom  3;\t()")


def session_dir(root: Path, session: int) -> Path:
    return root / f"Session{session}"


def label_path(root: Path, dialog: str) -> Path:
    return session_dir(root, int(dialog[3:5])) / "dialog" / "EmoEvaluation" / f"{dialog}.txt"


def transcription_path(root: Path, dialog: str) -> Path:
    return session_dir(root, int(dialog[3:5])) / "dialog" / "transcriptions" / f"{dialog}.txt"


def sentence_wav(dialog: str, sample_id: str) -> str:
    """An utterance's WAV, relative to the folder holding the sessions."""
    return f"Session{int(dialog[3:5])}/sentences/wav/{dialog}/{sample_id}.wav"


def dialog_media(dialog: str) -> tuple[str, str]:
    """A dialog's WAV and AVI, relative to the folder holding the sessions."""
    folder = f"Session{int(dialog[3:5])}/dialog"
    return f"{folder}/wav/{dialog}.wav", f"{folder}/avi/DivX/{dialog}.avi"


def dialog_length(dialog: str, utterances: tuple[FakeUtterance, ...] = UTTERANCES) -> float:
    return round(max(u.end for u in utterances if u.dialog == dialog) + TAIL, 4)


def dialogs(utterances: tuple[FakeUtterance, ...]) -> list[str]:
    return list(dict.fromkeys(u.dialog for u in utterances))


def write_fake_iemocap(root: Path, utterances: tuple[FakeUtterance, ...] = UTTERANCES, *,
                       missing: tuple[str, ...] = (), untranscribed: tuple[str, ...] = (),
                       dialog_media_files: bool = True) -> FakeCorpus:
    """IEMOCAP_full_release/ at `root`: a label file, a transcription file and the WAVs (and, with
    `dialog_media_files`, each dialog's WAV and AVI) of the dialogs of `utterances`; the sentence WAVs of the sample
    ids in `missing` are not written (nor expected), nor the transcription lines of those in `untranscribed`."""
    expected: dict[str, ExpectedSample] = {}
    for seed, u in enumerate(utterances):
        if u.sample_id not in missing:
            write_wav(root / sentence_wav(u.dialog, u.sample_id), tone(PITCH.get(u.code, 550.0) + seed,
                                                                       round(u.end - u.start, 4)))
            text = None if u.sample_id in untranscribed else u.text
            expected[u.sample_id] = ExpectedSample(split=u.split, audio=sentence_wav(u.dialog, u.sample_id),
                                                   transcript=text)
    for k, dialog in enumerate(dialogs(utterances)):
        turns = [u for u in utterances if u.dialog == dialog]
        lines = [HEADER, ""]
        for u in turns:
            lines += [u.turn_line(), *EVALUATOR_LINES, ""]
        path = label_path(root, dialog)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")
        (path.parent / f"._{dialog}.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \xff\xfe")
        categorical = path.parent / "Categorical" / f"{dialog}_e2_cat.txt"
        categorical.parent.mkdir(exist_ok=True)
        categorical.write_text("".join(f"{u.sample_id} :Neutral state; ()\n" for u in turns), encoding="utf-8")
        transcribed = [u.transcription_line() for u in turns if u.sample_id not in untranscribed]
        transcribed.insert(1, UNLABELLED_LINE.format(dialog=dialog))
        transcription_path(root, dialog).parent.mkdir(parents=True, exist_ok=True)
        transcription_path(root, dialog).write_text("\n".join(transcribed) + "\n", encoding="utf-8")
        if dialog_media_files:
            write_dialog_media(root, dialog, k, dialog_length(dialog, utterances))
    first = label_path(root, utterances[0].dialog)
    return FakeCorpus("iemocap", root, first, expected, corrupt=lambda: corrupt_line(first, 3))


def write_dialog_media(root: Path, dialog: str, seed: int, length: float) -> None:
    """A dialog's WAV (a tone of `length` s) and its AVI (MPEG-4 part 2, as DivX; 10 fps, as long)."""
    wav, avi = dialog_media(dialog)
    write_wav(root / wav, tone(200.0 + 20 * seed, length))
    frames = int(round(length * 10))
    colors = [(40 * seed % 256, 90, 30) if i < frames // 2 else (10, 60 * seed % 256, 200) for i in range(frames)]
    write_mp4(root / avi, colors, fps=10, frames_per_color=1)


def corrupt_line(path: Path, number: int) -> str:
    """Line `number` of a label file turned into bytes that are no UTF-8; returns `file:line`."""
    lines = path.read_bytes().split(b"\n")
    lines[number - 1] = b"[0.1000 - 0.5000]\t\xff\xfe broken"
    path.write_bytes(b"\n".join(lines))
    return f"{path}:{number}"


@register_fake("iemocap", "full-release")
def write_fake_iemocap_release(root: Path) -> FakeCorpus:
    """IEMOCAP_full_release/ itself as the root: Session1/, Session2/, Session3/, Session5/."""
    return write_fake_iemocap(root, dialog_media_files=False)


@register_fake("iemocap", "parent-folder")
def write_fake_iemocap_parent(root: Path) -> FakeCorpus:
    """The folder holding IEMOCAP_full_release/ as the root: media paths start with IEMOCAP_full_release/."""
    fake = write_fake_iemocap(root / "IEMOCAP_full_release", dialog_media_files=False)
    expected = {sid: ExpectedSample(split=e.split, audio=f"IEMOCAP_full_release/{e.audio}", transcript=e.transcript)
                for sid, e in fake.expected.items()}
    return FakeCorpus("iemocap", root, fake.annotation_file, expected, corrupt=fake.corrupt)
