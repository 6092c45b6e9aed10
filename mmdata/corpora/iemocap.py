"""IEMOCAP (Busso et al., Language Resources and Evaluation 2008; the Interactive Emotional Dyadic Motion Capture
database) as `IEMOCAP_full_release.tar.gz` unpacks.

Five sessions, each a female and a male actor in improvised and scripted dialogs:
    IEMOCAP_full_release/Session1/dialog/EmoEvaluation/Ses01F_impro01.txt   the dialog's labels, a line per turn:
        [6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]
      (its span in the dialog in seconds, the utterance id, the emotion the evaluators agreed on, and the mean
      valence, activation (arousal) and dominance, 1-5), among a `% [START_TIME - END_TIME] ...` header, blank lines
      and the evaluators' own lines (`C-E2:<TAB>Neutral;<TAB>()`, `A-E3:<TAB>val 2; act 4; dom  4;<TAB>()`); the
      folder's Categorical/, Attribute/ and Self-evaluation/ hold each evaluator's files, not read
    .../dialog/transcriptions/Ses01F_impro01.txt    Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.
    .../dialog/wav/Ses01F_impro01.wav, .../dialog/avi/DivX/Ses01F_impro01.avi   the whole dialog's sound and video
    .../sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav                    each utterance's sound (16 kHz)
A dialog id is `Ses<session><F|M>_impro<N>` or `Ses<session><F|M>_script<N>_<part>` (the letter: who wore the
markers), an utterance id the dialog id, `_`, the speaker's letter and 3 digits: `Ses01F_impro01_M013` is said by
session 1's male actor (`Ses01M`), whoever the dialog is named after. AppleDouble files (`._*.txt`, from copies
unpacked on macOS) are skipped; transcription lines of no labelled utterance (`Ses01F_impro01_MXX0`) are not read.

One sample per labelled utterance whose media file is found: sample_id the utterance id, group_id the dialog id,
split by session (option test_session, 5 by default, is `test`, option val_session, none by default, `val`, the
others `train`: leave-one-session-out, speakers never shared between splits), `transcript` its transcription
(null where none is found: kept, named), `label` null (IEMOCAP has no sentiment score), and in `extra`: `emotion`
(neutral, happiness, sadness, anger, excited, frustration, fear, surprise, disgust, other, or no-agreement for `xxx`),
`emotion4` (the 4-class set papers score: neutral, happy (hap and exc merged), angry, sad; absent for the other
emotions: `fuse --class-label emotion4 --missing-class keep`), `valence`, `arousal`, `dominance`, `speaker`,
`session`, `dialog`, `improvised`, `dialog_start` and `dialog_end` (the utterance's span in the dialog, in seconds),
and the durations the media files' headers state. With option media=dialog the sample's audio and video are the
dialog's WAV and AVI and its start/end that span, so extractors read the utterance alone; media=dialog-audio takes
the dialog's WAV alone so (for copies without the videos).

Left out and named `file:line`: a turn line that is not `[START - END] ID EMOTION [V, A, D]`, times that are no
numbers >= 0, an end not after its start, an utterance id not of the file's dialog, an emotion code not IEMOCAP's,
a V/A/D that is not three numbers, an utterance listed again, and an utterance whose media file is not there; a
line that is neither a turn, the header, an evaluator's nor blank is named too. A label file whose name is no
dialog id of its session is named and not read; a session folder absent is a warning.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mmdata.corpora.base import LoadProblem, LoadResult, read_text, register_corpus
from mmdata.corpora.held_out import check_held_out, held_out_split, wanted_split
from mmdata.corpora.media_captions import (
    MediaFolders,
    media_pair,
    media_path,
    missing_media_problem,
    read_media_headers,
    repeated_entry_problem,
)
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

log = logging.getLogger(__name__)

CORPUS = "iemocap"
SPLITS = ("train", "val", "test")
SESSIONS = (1, 2, 3, 4, 5)
#: Where the session folders sit, relative to the root, first first: the root (IEMOCAP_full_release/ itself), or
#: the folder holding it (or a copy renamed IEMOCAP/).
SESSION_PARENTS = ("", "IEMOCAP_full_release", "IEMOCAP")
#: A session's folders, relative to `Session<N>/`.
LABEL_DIR = "dialog/EmoEvaluation"
TRANSCRIPT_DIR = "dialog/transcriptions"
SENTENCE_DIR = "sentences/wav"
DIALOG_WAV_DIR = "dialog/wav"
DIALOG_AVI_DIR = "dialog/avi/DivX"
#: IEMOCAP's emotion codes and the names `extra.emotion` gives them (`xxx`: the evaluators did not agree).
EMOTIONS = {"neu": "neutral", "hap": "happiness", "sad": "sadness", "ang": "anger", "exc": "excited",
            "fru": "frustration", "fea": "fear", "sur": "surprise", "dis": "disgust", "oth": "other",
            "xxx": "no-agreement"}
#: The 4-class set of most IEMOCAP papers (`extra.emotion4`): excited merged into happy, the other codes left out.
EMOTION4 = {"neu": "neutral", "hap": "happy", "exc": "happy", "ang": "angry", "sad": "sad"}
#: Shown in the log where more utterances lack their media or transcript.
SHOWN_MISSING = 5
#: A dialog id (a label file's stem): session, who wore the markers, improvised or scripted.
DIALOG = re.compile(r"Ses0(?P<session>[1-5])[FM]_(?P<kind>impro|script)[0-9A-Za-z_]*")
#: A turn line: `[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]`.
TURN = re.compile(r"\[(?P<times>[^\]]*)\]\s+(?P<id>\S+)\s+(?P<code>\S+)\s+\[(?P<vad>[^\]]*)\]\s*")
TIMES = re.compile(r"\s*(\d+(?:\.\d*)?)\s*-\s*(\d+(?:\.\d*)?)\s*")
#: An evaluator's line: `C-E2:<TAB>Neutral;<TAB>()`, `A-E3:<TAB>val 2; act 4; dom  4;<TAB>()`, `C-F1:` (self).
EVALUATOR = re.compile(r"[A-Z]-[A-Za-z]+\d*:")
#: A transcription line: `Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.`
TRANSCRIBED = re.compile(r"(?P<id>[^\s\[:]+)\s*\[[^\]]*\]:(?P<text>.*)")
#: The utterance id a transcription line starts with (up to a space, tab, `[` or `:`; empty when none).
TRANSCRIBED_ID = re.compile(r"[^\s\[:]*")
LINE_END = re.compile(r"\r\n|\r|\n")
TURN_FORM = "'[START - END]<TAB>UTTERANCE_ID<TAB>EMOTION<TAB>[V, A, D]' (as [6.2901 - 8.2357]\tSes01F_impro01_F000" \
            "\tneu\t[2.5000, 2.5000, 2.5000])"


@dataclass(frozen=True)
class IemocapOptions:
    #: `sentences`: each utterance's own WAV (`sentences/wav/<dialog>/<utterance>.wav`), no video, no start/end;
    #: `dialog`: the dialog's WAV (`dialog/wav/`) and DivX AVI (`dialog/avi/DivX/`), the sample's start/end the
    #: utterance's span in them; `dialog-audio`: the dialog's WAV alone so (copies without the videos).
    media: Literal["sentences", "dialog", "dialog-audio"] = "sentences"
    #: The session held out as split `test` (1-5): the other sessions train (leave-one-session-out: run 1 to 5).
    test_session: int = 5
    #: The session held out as split `val` (none by default), another than test_session.
    val_session: int | None = None
    #: The sessions to load, joined by `+` (`1+2+5`; default: every session found).
    sessions: tuple[int, ...] = ()
    #: Accept media paths outside the corpus root (symlinks out).
    allow_outside_root: bool = False

    def __post_init__(self) -> None:
        check_held_out("session", SESSIONS, test=self.test_session, val=self.val_session,
                       protocol="leave-one-session-out")
        if any(s not in SESSIONS for s in self.sessions) or len(set(self.sessions)) < len(self.sessions):
            raise ValueError(f"option sessions={'+'.join(map(str, self.sessions))!r}: expected sessions of "
                             f"{list(SESSIONS)}, each once, joined by '+' (e.g. 1+2+5), or none for every session")


@dataclass(frozen=True)
class _Utterance:
    """One turn line of a label file that passed its checks."""

    sample_id: str
    session: int
    dialog: str
    speaker: str  # `Ses01M`: the session and the utterance id's letter
    start: float
    end: float
    code: str
    vad: tuple[float, float, float]
    where: str
    session_dir: str  # `Session1`, or `IEMOCAP_full_release/Session1`: relative to the root


@register_corpus(CORPUS, IemocapOptions)
def load_iemocap(corpus_dir: Path, options: IemocapOptions, split: str | None) -> LoadResult:
    """IEMOCAP (`Session<N>/dialog/EmoEvaluation/*.txt` + transcriptions + WAVs), a sample per labelled utterance.

    `split`: none or `all` for every session loaded, `train`, `test` (session `options.test_session`) or `val`
    (session `options.val_session`, where given). `label` is null; `extra.emotion` the emotion, `extra.emotion4`
    the 4-class one (neutral, happy, angry, sad) where it is one of those.

    Example:
        >>> result = load_iemocap(Path("/data/IEMOCAP_full_release"), IemocapOptions(), None)
        >>> s = next(s for s in result.samples if s.sample_id == "Ses01F_impro01_M013")
        >>> s.audio, s.group_id, s.split, s.extra["speaker"]
        ('Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M013.wav', 'Ses01F_impro01', 'train', 'Ses01M')

    Raises:
        CorpusNotFoundError: no session folder where looked for, none of the sessions asked (or of split `split`)
            there, the session test_session or val_session holds out not there (every split loaded), no label
            file in the sessions' EmoEvaluation folders, or none of the media files of the utterances listed found.
        CorpusFormatError: a label file that is not UTF-8, named `file:line` (a transcription file's is a problem).
        ConfigError: an unknown split, `val` without val_session, a split none of whose sessions option sessions
            names.
    """
    wanted = wanted_split(split, "IEMOCAP", "session", test=options.test_session, val=options.val_session,
                          splits=SPLITS, aliases={"dev": "val", "valid": "val", "validation": "val"})
    parent, present = _session_parent(corpus_dir)
    asked = [s for s in (options.sessions or SESSIONS) if wanted in (None, _split_of(s, options))]
    absent = [s for s in asked if s not in present]
    chosen = [s for s in asked if s in present]
    base = corpus_dir / parent
    if not asked:
        raise ConfigError(f"split {wanted!r} asked, but option sessions={'+'.join(map(str, options.sessions))} "
                          f"leaves out its session{'s' * (wanted == 'train')} (test_session={options.test_session}, "
                          f"val_session={options.val_session}); expected sessions holding split {wanted!r}")
    if not chosen:
        what = f"split {wanted!r}" if wanted is not None else "option sessions"
        raise CorpusNotFoundError(f"{what} asks for session{'s' * (len(asked) > 1)} {', '.join(map(str, asked))}, but "
                                  f"no {', '.join(f'Session{s}/' for s in asked)} holding {LABEL_DIR}/ is in {base}; "
                                  f"sessions there: {present}")
    held_out = [(name, s) for name, s in (("test_session", options.test_session), ("val_session", options.val_session))
                if s in absent and wanted is None]
    if held_out:
        name, session = held_out[0]
        raise CorpusNotFoundError(f"option {name}={session} holds out session {session}, but no Session{session}/ "
                                  f"holding {LABEL_DIR}/ is in {base} (sessions there: {present}): its split would "
                                  f"be empty; expected -o {name}= one of the sessions there (or -o sessions= "
                                  "leaving it out, for no such split)")
    if absent:
        log.warning("IEMOCAP session folder%s %s not in %s (or without %s/): session%s %s not loaded",
                    "s" * (len(absent) > 1), ", ".join(f"Session{s}/" for s in absent), base, LABEL_DIR,
                    "s" * (len(absent) > 1), ", ".join(map(str, absent)))
    result = LoadResult(samples=[])
    first_at: dict[str, str] = {}
    utterances, transcripts, label_files = [], {}, 0
    for session in chosen:
        session_dir = f"{parent}/Session{session}" if parent else f"Session{session}"
        for path in _label_files(corpus_dir / session_dir / LABEL_DIR):
            label_files += 1
            dialog = _dialog_of(path, session, result.problems)
            if dialog is not None:
                read = _read_turns(path, dialog, session, session_dir, first_at, result.problems)
                utterances += read
                transcripts.update(_read_transcripts(corpus_dir / session_dir / TRANSCRIPT_DIR / path.name,
                                                     {u.sample_id for u in read}, result.problems))
    if not label_files:
        raise CorpusNotFoundError(f"no label file (<dialog>.txt, as Ses01F_impro01.txt) in the {LABEL_DIR}/ folder of "
                                  f"session{'s' * (len(chosen) > 1)} {', '.join(map(str, chosen))} in {base}; expected "
                                  "IEMOCAP's turn labels there, as IEMOCAP_full_release.tar.gz unpacks them")
    missing_media, untranscribed = _add_samples(corpus_dir, options, utterances, transcripts, result)
    _log_missing(missing_media, untranscribed, len(utterances), options.media)
    result.metadata = {"sessions_dir": parent or ".", "sessions": chosen, "media": options.media,
                       "test_session": options.test_session, "val_session": options.val_session,
                       "utterances_listed": len(utterances), "media_missing": len(missing_media),
                       "transcripts_missing": len(untranscribed)}
    if absent:
        result.metadata["sessions_absent"] = absent
    return result


def _split_of(session: int, options: IemocapOptions) -> str:
    return held_out_split(session, test=options.test_session, val=options.val_session)


def _session_parent(corpus_dir: Path) -> tuple[str, list[int]]:
    """The first of `SESSION_PARENTS` holding a session folder with `dialog/EmoEvaluation/` (else the first holding
    a session folder), and the sessions whose folder there holds `dialog/EmoEvaluation/`.

    Raises:
        CorpusNotFoundError: no session folder in any, naming the folders looked in.
    """
    found = []
    for parent in SESSION_PARENTS:
        folder = corpus_dir / parent
        if any((folder / f"Session{s}").is_dir() for s in SESSIONS):
            found.append((parent, [s for s in SESSIONS if (folder / f"Session{s}" / LABEL_DIR).is_dir()]))
    if found:  # the first with labels: a stray Session1/ beside IEMOCAP_full_release/ does not hide it
        return next((f for f in found if f[1]), found[0])
    looked = ", ".join(str(corpus_dir / p) if p else str(corpus_dir) for p in SESSION_PARENTS)
    raise CorpusNotFoundError(f"no IEMOCAP session folder (Session1/ to Session5/, each holding {LABEL_DIR}/) in "
                              f"{looked}; expected the folder IEMOCAP_full_release.tar.gz unpacks "
                              "(IEMOCAP_full_release/) or the folder holding it")


def _label_files(folder: Path) -> list[Path]:
    """The label files of a session: the `.txt` files in `dialog/EmoEvaluation/` itself (its Categorical/,
    Attribute/ and Self-evaluation/ folders hold the evaluators' files), macOS's AppleDouble `._*` files left out,
    sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix == ".txt" and not p.name.startswith("._") and p.is_file())


def _dialog_of(path: Path, session: int, problems: list[LoadProblem]) -> str | None:
    """The dialog id a label file names (its stem), or None (its problem recorded) where it is none of `session`'s."""
    match = DIALOG.fullmatch(path.stem)
    if match is not None and int(match["session"]) == session:
        return path.stem
    problems.append(LoadProblem(None, str(path), f"file name {path.name!r} is no dialog id of session {session}; "
                                f"expected Ses0{session}F_impro01.txt, Ses0{session}M_script01_1.txt (a dialog's "
                                "label file); file not read"))
    return None


def _lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file (LF, CRLF or CR line ends).

    Raises:
        CorpusFormatError: the file is not UTF-8, named `file:line`.
    """
    return LINE_END.split(read_text(path))


def _read_turns(path: Path, dialog: str, session: int, session_dir: str, first_at: dict[str, str],
                problems: list[LoadProblem]) -> list[_Utterance]:
    """The turn lines of a dialog's label file that pass their checks, in file order; the others are problems
    named `file:line` (an utterance listed again: `REPEATED_ENTRY`). The header, blank lines and the evaluators'
    lines are not turns."""
    utterances = []
    for number, line in enumerate(_lines(path), start=1):
        where = f"{path}:{number}"
        text = line.strip()
        if not text or text.startswith("%") or EVALUATOR.match(text):
            continue
        if not text.startswith("["):
            problems.append(LoadProblem(None, where, f"expected a turn line {TURN_FORM}, an evaluator's line "
                                        f"(C-E2:, A-E3:) or the '%' header, got {text[:120]!r}; line left out"))
            continue
        utterance = _parse_turn(text, dialog, session, session_dir, where, problems)
        if utterance is None:
            continue
        if utterance.sample_id in first_at:
            problems.append(repeated_entry_problem(utterance.sample_id, where, f"utterance {utterance.sample_id}",
                                                   "again", first_at[utterance.sample_id], "line"))
            continue
        first_at[utterance.sample_id] = where
        utterances.append(utterance)
    return utterances


def _parse_turn(text: str, dialog: str, session: int, session_dir: str, where: str,
                problems: list[LoadProblem]) -> _Utterance | None:
    """The utterance of one turn line, or None (its problem recorded) where a field is not what IEMOCAP writes."""
    match = TURN.fullmatch(text)
    if match is None:
        problems.append(LoadProblem(None, where, f"expected {TURN_FORM}, got {text[:120]!r}; line left out"))
        return None
    sample_id, code = match["id"], match["code"].lower()
    speaker = re.fullmatch(re.escape(dialog) + r"_([FM])\d{3}", sample_id)
    times = TIMES.fullmatch(match["times"])
    vad = [_number(v) for v in match["vad"].split(",")]
    reason = None
    if speaker is None:
        sample_id, reason = None, (f"utterance id {match['id']!r} is not of dialog {dialog}; expected {dialog}_F000 "
                                   "(the dialog id, the speaker's F or M, 3 digits)")
    elif times is None:
        reason = f"times [{match['times']}] are not '[START - END]' in seconds >= 0 (as [6.2901 - 8.2357])"
    elif float(times[2]) <= float(times[1]):
        reason = f"end {times[2]} is not after start {times[1]}; expected a span [START - END] with END > START"
    elif code not in EMOTIONS:
        reason = f"emotion {match['code']!r} is not one of IEMOCAP's codes {', '.join(EMOTIONS)}"
    elif len(vad) != 3 or None in vad:
        reason = (f"[{match['vad']}] is not [V, A, D]: three numbers (valence, activation, dominance, as "
                  "[2.5, 3.0, 2.0])")
    if reason is not None:
        problems.append(LoadProblem(sample_id, where, f"{reason}; line left out"))
        return None
    return _Utterance(sample_id, session, dialog, f"Ses0{session}{speaker[1]}", float(times[1]),  # type: ignore[index]
                      float(times[2]), code, tuple(vad), where, session_dir)  # type: ignore[arg-type,index]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _read_transcripts(path: Path, labelled: set[str], problems: list[LoadProblem]) -> dict[str, tuple[str, str]]:
    """Utterance id -> (its transcription, `file:line`) for the `labelled` utterances a dialog's transcription file
    gives (none where there is no such file); a line of another utterance (`Ses01F_impro01_MXX0`) is not read, one
    of a labelled utterance that is not `ID [START-END]: TEXT`, or that gives it again, is named (the sample keeps
    its first transcription, or none).

    A file that is not UTF-8 is named (`_transcription_lines`) and gives none.
    """
    found: dict[str, tuple[str, str]] = {}
    if not path.is_file():
        return found
    for number, line in enumerate(_transcription_lines(path, problems), start=1):
        where, text = f"{path}:{number}", line.strip()
        first = TRANSCRIBED_ID.match(text)[0]  # the id however the line goes on (a tab, `[` with no space)
        if first not in labelled:
            continue
        match = TRANSCRIBED.fullmatch(text)
        if match is None:
            problems.append(LoadProblem(first, where, f"expected a transcription line 'ID [START-END]: TEXT' (as "
                                        f"Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.), got {text[:120]!r}; "
                                        "line not read"))
        elif first in found:
            problems.append(LoadProblem(first, where, f"transcription of {first} given again (first at "
                                        f"{found[first][1]}); line not read, the first kept"))
        else:
            found[first] = (match["text"].strip(), where)
    return found


def _transcription_lines(path: Path, problems: list[LoadProblem]) -> list[str]:
    """The lines of a transcription file; one that is not UTF-8 is named at its `file:line` and read as none (its
    utterances keep their samples, with no transcript: transcripts are optional, labels are not)."""
    try:
        return _lines(path)
    except CorpusFormatError as e:
        problems.append(LoadProblem(None, str(path), f"{e}; the file's transcriptions not read (its utterances kept, "
                                    "transcript null)"))
        return []


def _media_names(utterance: _Utterance, media: str) -> list[tuple[str, str, str]]:
    """(kind, folder relative to the root, file name) of each media file of an utterance's sample."""
    if media == "sentences":
        return [("audio", f"{utterance.session_dir}/{SENTENCE_DIR}/{utterance.dialog}", f"{utterance.sample_id}.wav")]
    audio = ("audio", f"{utterance.session_dir}/{DIALOG_WAV_DIR}", f"{utterance.dialog}.wav")
    if media == "dialog-audio":
        return [audio]
    return [audio, ("video", f"{utterance.session_dir}/{DIALOG_AVI_DIR}", f"{utterance.dialog}.avi")]


def _add_samples(corpus_dir: Path, options: IemocapOptions, utterances: list[_Utterance],
                 transcripts: dict[str, tuple[str, str]], result: LoadResult) -> tuple[list[str], list[str]]:
    """A sample per utterance whose media files are found, with the durations their headers state (a dialog's
    files read once); an utterance whose file is not found is named at its line and left out, one without a
    transcription named and kept. Returns the ids of both."""
    listings: dict[str, set[str]] = {}
    located: list[tuple[_Utterance, dict[str, str]]] = []
    missing = []
    first_missing = None
    for utterance in utterances:
        paths: dict[str, str] = {}
        for kind, folder, name in _media_names(utterance, options.media):
            folders = MediaFolders(corpus_dir, [folder], listings)
            path = media_path(corpus_dir, folders, name, where=utterance.where,
                              allow_outside=options.allow_outside_root)
            if path is None:
                result.problems.append(missing_media_problem(corpus_dir, folders, name, utterance.sample_id,
                                                             utterance.where, kind, left_out="line"))
                first_missing = first_missing or (kind, folder, name)
                break
            paths[kind] = path
        else:
            located.append((utterance, paths))
            continue
        missing.append(utterance.sample_id)
    if utterances and not located:
        kind, folder, name = first_missing
        others = {"sentences": "-o media=dialog reads the dialogs' files", "dialog": (
            "-o media=dialog-audio reads the dialogs' WAVs alone (a copy without the videos)" if kind == "video" else
            "-o media=sentences reads the utterances' files"), "dialog-audio": "-o media=sentences reads the "
            "utterances' files"}[options.media]
        raise CorpusNotFoundError(f"none of the {len(utterances)} IEMOCAP utterances' {kind} files found in "
                                  f"{corpus_dir} (the first looked for as {folder}/{name}); {others} instead")
    pairs = list(dict.fromkeys(media_pair(corpus_dir, paths.get("video"), paths["audio"]) for _, paths in located))
    headers = dict(zip(pairs, read_media_headers(pairs)))
    untranscribed = []
    spanned = options.media != "sentences"
    for utterance, paths in located:
        transcript = transcripts.get(utterance.sample_id, ("", ""))[0] or None
        if transcript is None:
            untranscribed.append(utterance.sample_id)
            result.problems.append(_untranscribed_problem(corpus_dir, utterance, transcripts))
        result.samples.append(Sample(
            sample_id=utterance.sample_id, corpus=CORPUS, split=_split_of(utterance.session, options),
            group_id=utterance.dialog, audio=paths["audio"], video=paths.get("video"),
            start=utterance.start if spanned else None, end=utterance.end if spanned else None,
            transcript=transcript, extra={**_extra(utterance),
                                          **headers[media_pair(corpus_dir, paths.get("video"), paths["audio"])]}))
    return missing, untranscribed


def _untranscribed_problem(corpus_dir: Path, utterance: _Utterance,
                           transcripts: dict[str, tuple[str, str]]) -> LoadProblem:
    """The problem of an utterance kept without a transcription, named at its turn line: its dialog's
    transcription file is not there, or gives no line of it, or an empty one."""
    file = corpus_dir / utterance.session_dir / TRANSCRIPT_DIR / f"{utterance.dialog}.txt"
    if utterance.sample_id in transcripts:
        found = f"its line {transcripts[utterance.sample_id][1]} gives no text"
    else:
        found = f"no line of {utterance.sample_id} in {file}" if file.is_file() else f"{file} not found"
    return LoadProblem(utterance.sample_id, utterance.where, f"no transcription: {found} (expected a line "
                       f"'{utterance.sample_id} [START-END]: TEXT'); sample kept, transcript null")


def _extra(utterance: _Utterance) -> dict[str, Any]:
    """An utterance's `extra`, its media files' durations aside."""
    valence, arousal, dominance = utterance.vad
    return {"emotion": EMOTIONS[utterance.code],
            **({"emotion4": EMOTION4[utterance.code]} if utterance.code in EMOTION4 else {}),
            "valence": valence, "arousal": arousal, "dominance": dominance, "speaker": utterance.speaker,
            "session": utterance.session, "dialog": utterance.dialog, "improvised": "_impro" in utterance.dialog,
            "dialog_start": utterance.start, "dialog_end": utterance.end}


def _log_missing(missing: list[str], untranscribed: list[str], listed: int, media: str) -> None:
    """A warning counting the utterances left out for want of a media file, and one counting those kept without a
    transcription, naming the first of them."""
    for ids, what in ((missing, f"IEMOCAP utterances' {'WAV files' if media == 'sentences' else 'dialog files'} not "
                                "found (utterances left out)"),
                      (untranscribed, "IEMOCAP utterances without a transcription (kept, transcript null)")):
        if ids:
            log.warning("%d of %d %s: %s%s; each is named in the errors table", len(ids), listed, what,
                        ", ".join(ids[:SHOWN_MISSING]), ", ..." if len(ids) > SHOWN_MISSING else "")

