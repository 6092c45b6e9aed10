"""RAVDESS (Livingstone & Russo, PLoS ONE 2018; the Ryerson Audio-Visual Database of Emotional Speech and Song,
Zenodo record 1188976) as its zips unpack.

24 actors (odd numbers male, even female) say two statements and sing them, each in several emotions:
    Audio_Speech_Actors_01-24.zip  -> Actor_01/ .. Actor_24/, 60 WAVs each (48 kHz, 16-bit)
    Audio_Song_Actors_01-24.zip    -> Actor_01/ .. Actor_24/ (actor 18 sang none)
    Video_Speech_Actor_NN.zip, Video_Song_Actor_NN.zip -> Actor_NN/, MP4s (1280x720, 30 fps)
A file's name is its seven two-digit codes, `MM-VV-EE-II-SS-RR-AA.ext`:
    03-01-06-01-02-01-12.wav   audio-only (03), speech (01), fearful (06), normal intensity (01),
                               "Dogs are sitting by the door" (02), first repetition (01), actor 12
modality 01 full-AV (an MP4 with its sound), 02 video-only (an MP4 without), 03 audio-only (a WAV); vocal channel 01
speech, 02 song; emotion 01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised (songs
have only 01-06); intensity 01 normal, 02 strong (none for neutral); statement 01 "Kids are talking by the door", 02
"Dogs are sitting by the door"; repetition 01, 02; actor 01-24.

Where the files are: the zips are unpacked into one root in varied ways, so the loader looks, in the root, at every
folder `Actor_NN` and every folder named as a zip unpacks (`Audio_Speech_Actors_01-24/`, `Audio_Song_Actors_01-24/`,
`Video_Speech_Actor_NN/`, `Video_Song_Actor_NN/`; any case) and the `Actor_NN` folders in those; no deeper, and no
other folder. Every file of an `Actor_NN` folder is read by its name (hidden ones, such as macOS's `.DS_Store` and
`._*` AppleDouble copies, skipped); an utterance may have one file per modality, wherever each is.

One sample per utterance (the six codes after the modality) of the vocal channels of option channels (`speech` by
default, `song`, `speech+song`): sample_id those codes (`01-06-01-02-01-12`, the vocal channel in it, so speech and
song never share one), group_id the actor (`actor_12`: `check` reports an actor in two splits), `transcript` the
statement, `label` null, and in `extra`: `emotion`, `intensity` (normal, strong), `vocal_channel` (speech, song),
`statement` (1, 2), `repetition`, `actor`, `sex` (male, female), `fold`, and the durations the media files' headers
state. Option media: `audio` (default) the audio-only WAV; `video` the full-AV MP4, its video and its sound track the
sample's; `audio+video` the WAV as audio and the full-AV MP4 as video. Video-only (02) files are never a sample.

Splits: RAVDESS ships none; mmdata deals the actors into six folds of four consecutive actors (two male, two female),
`extra.fold` = (actor - 1) // 4 + 1. Option test_fold (6 by default: actors 21-24) is `test`, option val_fold (none
by default) `val`, the others `train`; every fold in turn as test is a speaker-independent 6-fold protocol.

Left out and named by path: a file whose name is not seven two-digit codes with the modality's suffix (`.wav` for
03, `.mp4` for 01 and 02), a code out of range, a strong neutral, a song of an emotion songs lack, an actor code
that is not its `Actor_NN` folder's, a link whose target is missing (a git-annex or DataLad copy not fetched), a
second copy of an utterance's file of one modality (in another folder) of another size, an utterance without the
file option media asks for, and a WAV or MP4 that is empty (0 bytes) or whose header cannot be read. Second copies
of the same name and size (Kaggle's copy holds `Actor_NN/` twice, in the root and in `audio_speech_actors_01-24/`)
are the same files, read once: one problem per folder says so. No file at all stops the load, naming the root and
the folders looked for; files none of which is named as RAVDESS names them stop it naming the most common reason.

This module holds the options, the loader, the choice of the utterances of a split and of their files, and the
samples; the rest lives in:
    mmdata.corpora.ravdess_files   the Actor_NN folders however the zips were unpacked, and their files listed
    mmdata.corpora.ravdess_names   a file's name: its seven codes read and checked, the utterance they name
The names moved there stay importable from here.
"""
from __future__ import annotations

import importlib.util
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mmdata.corpora.base import LoadProblem, LoadResult, register_corpus, safe_relative_path
from mmdata.corpora.held_out import check_held_out, held_out_split, wanted_split
from mmdata.corpora.media_captions import media_pair, read_media_headers
from mmdata.corpora.ravdess_files import (  # noqa: F401 - also re-exported from here
    ACTOR_DIR, ZIP_DIR, ZIP_DIRS, _actor_folders, _dangling_link_problem, _holds_mp4, _loose_mp4s, _no_file_found,
    _no_file_message, _no_link_target, _read_file_names, _same_file, _visible_files,
)
from mmdata.corpora.ravdess_names import (  # noqa: F401 - also re-exported from here
    ACTORS, ACTORS_PER_FOLD, AUDIO_ONLY, CHANNELS, EMOTIONS, FILE_NAME, FULL_AV, INTENSITIES, MODALITIES, NAME_FORM,
    NEUTRAL, REPETITIONS, SONG_EMOTIONS, STATEMENTS, _code_list, _code_problem, _combination_problem, _File,
    _parse_name, _Rejected, _Utterance,
)
from mmdata.errors import CorpusNotFoundError
from mmdata.media.files import media_file_problem
from mmdata.records import MODALITY_DURATION_KEYS, Sample

CORPUS = "ravdess"
SPLITS = ("train", "val", "test")
#: mmdata's folds: four consecutive actors each (RAVDESS ships no split).
FOLDS = (1, 2, 3, 4, 5, 6)
#: What option media makes of an utterance's files: sample field -> the modality whose file it is.
MEDIA = {"audio": {"audio": AUDIO_ONLY}, "video": {"video": FULL_AV},
         "audio+video": {"audio": AUDIO_ONLY, "video": FULL_AV}}


@dataclass(frozen=True)
class RavdessOptions:
    #: `audio`: the audio-only WAV (03); `video`: the full-AV MP4 (01), its video and sound track; `audio+video`:
    #: the WAV as audio and the full-AV MP4 as video. Video-only MP4s (02) are never read.
    media: Literal["audio", "video", "audio+video"] = "audio"
    #: The vocal channels loaded: `speech`, `song`, or both (`speech+song`).
    channels: Literal["speech", "song", "speech+song"] = "speech"
    #: The fold held out as split `test` (1-6, four actors each: fold 6 is actors 21-24); run 1 to 6 in turn for
    #: the speaker-independent 6-fold protocol.
    test_fold: int = 6
    #: The fold held out as split `val` (none by default), another than test_fold.
    val_fold: int | None = None
    #: Accept media files outside the corpus root (an `Actor_NN` folder that links out).
    allow_outside_root: bool = False

    def __post_init__(self) -> None:
        check_held_out("fold", FOLDS, test=self.test_fold, val=self.val_fold,
                       protocol="the speaker-independent 6-fold protocol")


@register_corpus(CORPUS, RavdessOptions)
def load_ravdess(corpus_dir: Path, options: RavdessOptions, split: str | None) -> LoadResult:
    """RAVDESS (`Actor_NN/MM-VV-EE-II-SS-RR-AA.wav|.mp4`, however the zips were unpacked), a sample per utterance.

    `split`: none or `all` for every fold, `train`, `test` (fold `options.test_fold`) or `val` (fold
    `options.val_fold`, where given). `label` is null; `extra.emotion` the emotion (`fuse --class-label emotion`).

    Example:
        >>> result = load_ravdess(Path("/data/RAVDESS"), RavdessOptions(), None)
        >>> s = next(s for s in result.samples if s.sample_id == "01-06-01-02-01-12")
        >>> s.audio, s.group_id, s.split, s.transcript, s.extra["emotion"]
        ('Actor_12/03-01-06-01-02-01-12.wav', 'actor_12', 'train', 'Dogs are sitting by the door', 'fearful')

    Raises:
        CorpusNotFoundError: no file in an `Actor_NN` folder where looked for (only links whose targets are
            missing, saying to fetch them); no file of the channels asked, or of split `split`; the fold test_fold
            or val_fold holds out with no utterance of its actors there that has the files option media asks for
            (every split loaded), naming those they have; none of the utterances with the files option media asks
            for (naming MP4s outside any `Actor_NN` folder of a zip-named folder).
        CorpusFormatError: files none of which is named as RAVDESS names them, naming the most common reason; a
            file found outside the root (a link) without allow_outside_root.
        ConfigError: an unknown split, `val` without val_fold, test_fold not 1-6, val_fold not another fold.
    """
    wanted = wanted_split(split, "RAVDESS", "fold", test=options.test_fold, val=options.val_fold, splits=SPLITS)
    result = LoadResult(samples=[])
    folders = _actor_folders(corpus_dir)
    utterances = _files_of_utterances(corpus_dir, _read_file_names(corpus_dir, folders, result.problems),
                                      options.channels)
    chosen = _chosen(corpus_dir, utterances, options, wanted)
    located = _located(corpus_dir, chosen, options, result.problems)
    if not located:
        raise CorpusNotFoundError(_no_media_message(corpus_dir, chosen, options.media))
    _add_samples(corpus_dir, located, options, result)
    # the files read (named as RAVDESS names them, a copy of each) of the channels loaded, per modality
    read = Counter(MODALITIES[modality][0] for files in utterances.values() for modality in files)
    result.metadata = {"actor_folders": [folder for folder, _ in folders], "media": options.media,
                       "channels": options.channels, "test_fold": options.test_fold, "val_fold": options.val_fold,
                       "files": dict(read)}
    return result


def _files_of_utterances(corpus_dir: Path, files: list[_File], channels: str) -> dict[_Utterance, dict[int, _File]]:
    """Each utterance of the vocal channels of option `channels`: its files by modality, by sample id.

    Raises:
        CorpusNotFoundError: no file of those channels (only the other's), naming the option that reads them.
    """
    asked = channels.split("+")
    utterances: dict[_Utterance, dict[int, _File]] = {}
    for file in files:
        if CHANNELS[file.utterance.channel] in asked:
            utterances.setdefault(file.utterance, {})[file.modality] = file
    if not utterances:
        raise CorpusNotFoundError(f"no {channels} file among the {len(files)} RAVDESS files in {corpus_dir} (they are "
                                  f"all of the other vocal channel); -o channels=speech+song reads both channels")
    return dict(sorted(utterances.items(), key=lambda item: item[0].sample_id))


def _chosen(corpus_dir: Path, utterances: dict[_Utterance, dict[int, _File]], options: RavdessOptions,
            wanted: str | None) -> dict[_Utterance, dict[int, _File]]:
    """The utterances of split `wanted` (every one for None).

    Raises:
        CorpusNotFoundError: no actor of the fold a split asked (or, every split loaded, test_fold or val_fold)
            holds out has an utterance there with the files option media asks for: its split would be empty
            (where no utterance has them, `_no_media_message` says so later).
    """
    present = sorted({u.fold for u in utterances})
    with_media = sorted({u.fold for u, files in utterances.items() if _has_media(files, options.media)})
    held = [("test_fold", options.test_fold), ("val_fold", options.val_fold)]
    asked = [(name, fold) for name, fold in held if fold is not None and (wanted is None or _split_of_fold(
        fold, options) == wanted)]
    for name, fold in asked:
        if with_media and fold not in with_media:
            raise CorpusNotFoundError(_empty_fold_message(corpus_dir, utterances, options.media, name, fold))
    chosen = {u: files for u, files in utterances.items() if wanted in (None, _split_of(u, options))}
    if not chosen:  # split train, every actor there in a held-out fold
        raise CorpusNotFoundError(f"split {wanted!r} asked, but every actor in {corpus_dir} is in a fold held out "
                                  f"(folds there: {present}; test_fold={options.test_fold}, "
                                  f"val_fold={options.val_fold})")
    return chosen


def _has_media(files: dict[int, _File], media: str) -> bool:
    """Whether an utterance's files (by modality) hold every one option `media` reads."""
    return all(modality in files for modality in MEDIA[media].values())


def _empty_fold_message(corpus_dir: Path, utterances: dict[_Utterance, dict[int, _File]], media: str, name: str,
                        fold: int) -> str:
    """Why the fold option `name` holds out would be an empty split: no file of its actors is there, or none of
    their utterances has the files option `media` reads (naming those they have)."""
    first = (fold - 1) * ACTORS_PER_FOLD + 1
    actors = f"actors {first}-{first + ACTORS_PER_FOLD - 1}"
    present = sorted({u.fold for u in utterances})
    with_media = sorted({u.fold for u, files in utterances.items() if _has_media(files, media)})
    theirs = [files for u, files in utterances.items() if u.fold == fold]
    if not theirs:
        there = f"folds there: {present}" + (f"; with its {_media_files(media)}: {with_media}"
                                             if with_media != present else "")
        return (f"option {name}={fold} holds out {actors}, but no file of theirs is in {corpus_dir} ({there}): its "
                f"split would be empty; expected -o {name}= one of the folds there"
                f"{' with them' if with_media != present else ''}")
    found = {modality for files in theirs for modality in files}
    hint = _media_hint(corpus_dir, media, found)
    return (f"option {name}={fold} holds out {actors}, but none of their {len(theirs)} utterances in {corpus_dir} has "
            f"its {_media_files(media)} (-o media={media}): theirs are "
            f"{' and '.join(MODALITIES[m][0] for m in sorted(found))} files{f' ({hint})' if hint else ''}, so its "
            f"split would be empty (folds with it there: {with_media}); expected -o {name}= one of those, or the "
            f"{_media_files(media)} files of {actors} in their Actor_NN folders")


def _media_files(media: str) -> str:
    """The files option `media` reads: `full-AV MP4`, `audio-only WAV and full-AV MP4`."""
    return " and ".join(f"{MODALITIES[m][0]} {MODALITIES[m][1][1:].upper()}" for m in MEDIA[media].values())


def _split_of_fold(fold: int, options: RavdessOptions) -> str:
    return held_out_split(fold, test=options.test_fold, val=options.val_fold)


def _split_of(utterance: _Utterance, options: RavdessOptions) -> str:
    return _split_of_fold(utterance.fold, options)


def _located(corpus_dir: Path, chosen: dict[_Utterance, dict[int, _File]], options: RavdessOptions,
             problems: list[LoadProblem]) -> list[tuple[_Utterance, dict[str, str]]]:
    """Each chosen utterance with the files option media asks for (sample field -> path), checked to be under the
    root; an utterance lacking one is named at its first file found and left out.

    Raises:
        CorpusFormatError: a file outside the root (a link out) without allow_outside_root.
    """
    located = []
    for utterance, files in chosen.items():
        lacked = [modality for modality in MEDIA[options.media].values() if modality not in files]
        if lacked:
            problems.append(_lacking_problem(utterance, files, lacked[0], options.media))
            continue
        located.append((utterance, {
            field: safe_relative_path(corpus_dir, files[modality].path, where=files[modality].where,
                                      allow_outside=options.allow_outside_root)
            for field, modality in MEDIA[options.media].items()}))
    return located


def _lacking_problem(utterance: _Utterance, files: dict[int, _File], modality: int, media: str) -> LoadProblem:
    """The problem of an utterance without its file of `modality`, named at the first of its files found."""
    first = files[min(files)]
    kind, suffix = MODALITIES[modality]
    found = ", ".join(f"{MODALITIES[m][0]} {Path(files[m].path).name}" for m in sorted(files))
    hint = _other_media(media, set(files))
    return LoadProblem(utterance.sample_id, first.where, (
        f"no {kind} file {modality:02d}-{utterance.sample_id}{suffix} of utterance {utterance.sample_id} in an "
        f"Actor_{utterance.actor:02d} folder (found: {found}); utterance left out{f' ({hint})' if hint else ''}"))


def _other_media(media: str, modalities: set[int]) -> str:
    """Which value of option media reads files of `modalities` where `media` lacks some ("" for none)."""
    if media == "audio" and FULL_AV in modalities:
        return "-o media=video reads full-AV MP4s"
    if media != "audio" and AUDIO_ONLY in modalities and FULL_AV not in modalities:
        return "-o media=audio reads audio-only WAVs"
    return ""


def _media_hint(corpus_dir: Path, media: str, found: set[int]) -> str:
    """Where full-AV MP4s option `media` reads, and `found` lacks, lie outside any `Actor_NN` folder, that; else
    which value of option media reads files of `found` ("" for none)."""
    loose = _loose_mp4s(corpus_dir) if FULL_AV in MEDIA[media].values() and FULL_AV not in found else ""
    return loose or _other_media(media, found)


def _no_media_message(corpus_dir: Path, chosen: dict[_Utterance, dict[int, _File]], media: str) -> str:
    """Why none of the chosen utterances is a sample: none has the files option media asks for."""
    found = {modality for files in chosen.values() for modality in files}
    hint = _media_hint(corpus_dir, media, found) or (
        "the video-only (02) MP4s found are no samples; the Audio_*_Actors_01-24 or Video_*_Actor_NN zips hold the "
        "files asked for")
    return (f"none of the {len(chosen)} RAVDESS utterances found in {corpus_dir} has its {_media_files(media)} (-o "
            f"media={media}); found only {', '.join(MODALITIES[m][0] for m in sorted(found))} files: {hint}")


def _add_samples(corpus_dir: Path, located: list[tuple[_Utterance, dict[str, str]]], options: RavdessOptions,
                 result: LoadResult) -> None:
    """A sample per located utterance whose files' headers can be read (read together: `read_media_headers`, on
    threads where there are videos), with the durations they state; an utterance with an empty or unreadable file
    is named at that file and left out."""
    pairs = [media_pair(corpus_dir, paths.get("video"), paths.get("audio")) for _, paths in located]
    for (utterance, paths), header in zip(located, read_media_headers(pairs)):
        unreadable = _unreadable_file(corpus_dir, paths, header)
        if unreadable is not None:
            where, reason = unreadable
            result.problems.append(LoadProblem(utterance.sample_id, where, f"{reason}; utterance left out"))
            continue
        result.samples.append(Sample(
            sample_id=utterance.sample_id, corpus=CORPUS, split=_split_of(utterance, options),
            group_id=f"actor_{utterance.actor:02d}", audio=paths.get("audio"), video=paths.get("video"),
            transcript=STATEMENTS[utterance.statement], extra={**_extra(utterance), **header}))


def _unreadable_file(corpus_dir: Path, paths: dict[str, str], header: dict[str, float]) -> tuple[str, str] | None:
    """(path, reason) of a sample's file whose header states no duration of what the sample reads from it (an
    empty file, one that cannot be opened, a WAV that is no WAV, a full-AV MP4 without a sound track), else None.
    An MP4 is judged by its header only where PyAV, which reads it, is installed."""
    # the sound comes from the WAV where there is one, else from the full-AV MP4's sound track
    needed = [("audio", paths.get("audio") or paths["video"])]
    if "video" in paths:
        needed.append(("video", paths["video"]))
    for kind, path in needed:
        if MODALITY_DURATION_KEYS[kind] in header:
            continue
        where = str(corpus_dir / path)
        problem = media_file_problem(where, kind)
        if problem is not None:
            return where, problem
        if path.lower().endswith(".mp4"):
            if importlib.util.find_spec("av") is None:
                continue
            what = "video stream" if kind == "video" else "sound track (a video-only file named as full-AV?)"
            return where, f"full-AV file {path}: its header states no {what}; expected an MP4 with video and sound"
        return where, (f"audio file {path}'s header cannot be read as a WAV's (expected RIFF/WAVE PCM, as RAVDESS's "
                       "48 kHz 16-bit files)")
    return None


def _extra(utterance: _Utterance) -> dict[str, Any]:
    """An utterance's `extra`, its files' durations aside."""
    return {"emotion": EMOTIONS[utterance.emotion], "intensity": INTENSITIES[utterance.intensity],
            "vocal_channel": CHANNELS[utterance.channel], "statement": utterance.statement,
            "repetition": utterance.repetition, "actor": utterance.actor,
            "sex": "male" if utterance.actor % 2 else "female", "fold": utterance.fold}
