"""CREMA-D (Cao et al., IEEE Trans. Affective Computing 2014; the Crowd-sourced Emotional Multimodal Actors Dataset)
as its GitHub repository clones with git-lfs (or a copy of its folders).

91 actors (1001-1091) each say up to 12 sentences in six emotions, one clip a take, a file per clip and format:
    AudioWAV/1001_DFA_ANG_XX.wav     16 kHz mono WAV (7,442 clips); AudioMP3/ the same names as .mp3 (not read)
    VideoFlash/1001_DFA_ANG_XX.flv   the clip's Flash video, with its sound
    VideoDemographics.csv            "ActorID","Age","Sex","Race","Ethnicity"
                                     1001,51,"Male","Caucasian","Not Hispanic"
A file's stem is `ACTOR_SENTENCE_EMOTION_LEVEL`: the actor, one of `SENTENCES` (three letters), one of `EMOTIONS`
and one of `LEVELS`. Only IEO ("It's eleven o'clock") was recorded at levels LO, MD and HI (its neutral take XX);
every other sentence's level is XX. processedResults/summaryTable.csv (the raters' perceived emotions) is not read.
Cloned without git-lfs (or downloaded as the repository's zip) every media file is a ~130-byte git-lfs pointer
(`version https://git-lfs.github.com/spec/v1`, its oid and size), named as one with the hint `git lfs pull`.

One sample per clip: sample_id the stem (`1001_DFA_ANG_XX`), group_id the actor (`1001`, so `check` reports an
actor in two splits), `transcript` the sentence said, `label` null, and in `extra`: `emotion` (anger, disgust, fear,
happy, neutral, sad: `fuse --class-label emotion`), `level` (low, medium, high, unspecified), `sentence` (its code),
`actor` (a number), `fold`, the actor's `age`, `sex` (male, female: lower case, as RAVDESS's), `race` and
`ethnicity` from VideoDemographics.csv where it has the actor's row, and the durations the media headers state.
Option media: `audio` (AudioWAV/, the default), `video` (VideoFlash/'s FLV as the sample's video: audio extractors
read its sound track), `audio+video` (both).

Splits are by actor: CREMA-D ships none. `extra.fold` deals the actors in id order into 5 folds, (actor - 1001)
% 5 + 1 (18 or 19 actors each); option test_fold (5 by default) is `test`, val_fold (none) `val`, the others `train`.
Option split_scheme=tfds takes the actors of tensorflow_datasets' `crema_d` splits instead (`TFDS_VAL_ACTORS`,
`TFDS_TEST_ACTORS`: its 91 actor ids sorted as text, shuffled by NumPy's RandomState(0), the first 70% train, the
next 10% validation, the last 20% test), its validation split named `val` here.

Left out and named by path in every load: a file whose name is no `ACTOR_SENTENCE_EMOTION_LEVEL` (the release
once held `1040_ITH_SAD_X.wav`), an actor not 1001-1091, a sentence, emotion or level code not CREMA-D's, a level
other than XX on a sentence other than IEO, and what is named as a clip's file but is none (a folder
`1001_DFA_ANG_XX.wav/`, a `.flac` or `.wav.part`; the release's `.mp3`/`.flv`/`.wav` of another medium, README,
`.DS_Store` and `._*` are silent). Left out and named only for the clips of the split(s) loaded: `DAMAGED_CLIPS`
(the four clips the release holds damaged, which other loaders skip; option keep_damaged keeps them), a second
file of a clip (another letter case: the first readable by name is read), an empty (0-byte) or unreadable file, a
git-lfs pointer, a WAV whose header states no sound, and with media=audio+video a clip of one folder the other
lacks. A row of VideoDemographics.csv that is malformed is named `file:line`; an actor no row gives keeps its clips
without the four fields, named once at the file (the file absent: a warning, no field).
"""
from __future__ import annotations

import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mmdata.corpora.base import (
    REPEATED_ENTRY,
    LoadProblem,
    LoadResult,
    _named_columns,
    read_csv_records,
    register_corpus,
    safe_relative_path,
)
from mmdata.corpora.held_out import check_held_out, held_out_split, wanted_split
from mmdata.corpora.media_captions import (
    MediaFolders,
    check_split,
    folder_entries,
    media_pair,
    most_common_kind,
    read_media_headers,
)
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.media.files import media_file_problem
from mmdata.records import MODALITY_DURATION_KEYS, Sample

log = logging.getLogger(__name__)

CORPUS = "crema-d"
SPLITS = ("train", "val", "test")
FOLDS = (1, 2, 3, 4, 5)
FIRST_ACTOR, LAST_ACTOR = 1001, 1091
#: Where each medium's files sit: the release's folder, else (no such folder) the root.
AUDIO_DIRS = ("AudioWAV", "")
VIDEO_DIRS = ("VideoFlash", "")
SUFFIXES = {"audio": ".wav", "video": ".flv"}
#: The suffixes of the release's media (AudioWAV/, VideoFlash/, AudioMP3/): a clip's file of another medium than the
#: one read, not named as a problem (a copy keeping every medium in one folder).
RELEASE_SUFFIXES = (".wav", ".flv", ".mp3")
DEMOGRAPHICS_FILE = "VideoDemographics.csv"
DEMOGRAPHICS_COLUMNS = ("ActorID", "Age", "Sex", "Race", "Ethnicity")
SENTENCES = {"IEO": "It's eleven o'clock", "TIE": "That is exactly what happened",
             "IOM": "I'm on my way to the meeting", "IWW": "I wonder what this is about",
             "TAI": "The airplane is almost full",
             "MTI": "Maybe tomorrow it will be cold", "IWL": "I would like a new alarm clock",
             "ITH": "I think I have a doctor's appointment", "DFA": "Don't forget a jacket",
             "ITS": "I think I've seen this before", "TSI": "The surface is slick",
             "WSI": "We'll stop in a couple of minutes"}
EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
#: The one sentence recorded at levels LO, MD and HI; the others are XX.
LEVELLED_SENTENCE = "IEO"
#: tensorflow_datasets' crema_d 1.0.0 splits by actor (its train split: the other 63 actors).
TFDS_VAL_ACTORS = frozenset({1015, 1020, 1021, 1030, 1050, 1070, 1079, 1089, 1090})
TFDS_TEST_ACTORS = frozenset({1010, 1013, 1022, 1026, 1037, 1038, 1040, 1045, 1047, 1048, 1059, 1065, 1066, 1068,
                              1071, 1073, 1084, 1086, 1088})
#: The clips the release holds damaged, which other loaders skip (left out and named unless option keep_damaged):
#: id -> why.
DAMAGED_CLIPS = {"1064_IEO_DIS_MD": "a ~1-minute file holding every emotion of the sentence, not a disgust clip",
                 "1064_TIE_SAD_XX": "about 18 frames long",
                 "1076_MTI_NEU_XX": "will not play",
                 "1076_MTI_SAD_XX": "silent"}
#: Names of split `val` here: tensorflow_datasets' `validation`.
SPLIT_ALIASES = {"validation": "val"}
#: A git-lfs pointer file starts so (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
#: A clip's stem: `1001_DFA_ANG_XX`.
CLIP_NAME = re.compile(r"(?P<actor>[0-9]{4})_(?P<sentence>[A-Za-z]{3})_(?P<emotion>[A-Za-z]{3})_(?P<level>[A-Za-z]{2})")
#: VideoDemographics.csv's Sex values; `extra.sex` holds them lower case (`male`, as RAVDESS's `extra.sex`).
SEXES = ("Male", "Female")


@dataclass(frozen=True)
class CremaDOptions:
    #: `audio`: AudioWAV/'s WAV; `video`: VideoFlash/'s FLV as the sample's video (audio extractors read its sound
    #: track); `audio+video`: the WAV as audio and the FLV as video.
    media: Literal["audio", "video", "audio+video"] = "audio"
    #: `folds`: the actors dealt into 5 folds (`extra.fold`), test_fold held out as `test`; `tfds`: the actors of
    #: tensorflow_datasets' crema_d train/validation/test splits.
    split_scheme: Literal["folds", "tfds"] = "folds"
    #: The fold held out as split `test` (1-5; run each for 5-fold cross-validation over actors).
    test_fold: int = 5
    #: The fold held out as split `val` (none by default), another than test_fold.
    val_fold: int | None = None
    #: Folder holding the WAVs, relative to the root or absolute (default: AudioWAV/, else the root).
    audio_dir: str | None = None
    #: Folder holding the FLVs, relative to the root or absolute (default: VideoFlash/, else the root).
    video_dir: str | None = None
    #: Accept media paths outside the corpus root (`audio_dir` absolute, symlinks out).
    allow_outside_root: bool = False
    #: Keep the clips of `DAMAGED_CLIPS` (by default left out and named, as other loaders skip them).
    keep_damaged: bool = False

    def __post_init__(self) -> None:
        check_held_out("fold", FOLDS, test=self.test_fold, val=self.val_fold, protocol="5-fold cross-validation")
        if self.split_scheme == "tfds" and (self.test_fold != 5 or self.val_fold is not None):
            raise ValueError("options test_fold/val_fold hold out folds of split_scheme=folds; split_scheme=tfds "
                             "takes tensorflow_datasets' actors for train, val and test: expected one or the other")


@dataclass(frozen=True)
class _Clip:
    """A media file whose name is a CREMA-D clip's."""

    sample_id: str
    actor: int
    sentence: str
    emotion: str
    level: str
    files: dict[str, str]  # medium ("audio", "video") -> path relative to the root
    wheres: dict[str, str]  # medium -> the file's path as listed, which problems name


@register_corpus(CORPUS, CremaDOptions)
def load_crema_d(corpus_dir: Path, options: CremaDOptions, split: str | None) -> LoadResult:
    """CREMA-D (`AudioWAV/*.wav`, `VideoFlash/*.flv`, `VideoDemographics.csv`), one sample per clip.

    `split`: none or `all` for every clip; `train`, `test` or `val` (option val_fold's fold, or tfds's validation
    actors). `label` is null; `extra.emotion` the emotion acted.

    Example:
        >>> result = load_crema_d(Path("/data/CREMA-D"), CremaDOptions(), "test")
        >>> s = result.samples[0]
        >>> s.sample_id, s.group_id, s.transcript, s.extra["emotion"], s.extra["fold"]
        ('1005_DFA_ANG_XX', '1005', "Don't forget a jacket", 'anger', 5)

    Raises:
        CorpusNotFoundError: no file named as a CREMA-D clip in the media folders (naming them and the option), or
            none of those found readable (naming the most common reason).
        CorpusFormatError: a VideoDemographics.csv whose header lacks a column or names one twice or not at all,
            or that is not UTF-8, named `file:line`.
        ConfigError: an unknown split (`validation`: named `val` here), `val` without val_fold (scheme folds), a
            fold not 1-5.
    """
    tfds = options.split_scheme == "tfds"
    wanted = check_split(split, SPLITS, SPLIT_ALIASES, "CREMA-D") if tfds else wanted_split(
        split, "CREMA-D", "fold", test=options.test_fold, val=options.val_fold, splits=SPLITS, aliases=SPLIT_ALIASES)
    folders = _media_folders(corpus_dir, options)
    result = LoadResult(samples=[])
    clips, named, tried = _find_clips(corpus_dir, folders, options, wanted, result.problems)
    if not named and not result.problems:
        looked = "; ".join(f"{kind} ({SUFFIXES[kind]}) in {f.searched_folders()}" for kind, f in folders.items())
        raise CorpusNotFoundError(f"no CREMA-D clip (ACTOR_SENTENCE_EMOTION_LEVEL, as 1001_DFA_ANG_XX.wav) in "
                                  f"{corpus_dir}: looked for {looked}; -o audio_dir= (or video_dir=) names the folder "
                                  "holding them (AudioWAV/ or VideoFlash/ as the repository clones)")
    read = _read_clips(corpus_dir, clips, result.problems)
    if not read and (tried or not named):  # else no clip of the split asked
        raise CorpusNotFoundError(_none_readable(corpus_dir, result.problems))
    demographics = _read_demographics(corpus_dir / DEMOGRAPHICS_FILE, result.problems)
    chosen = [(clip, _split_of(clip.actor, options), header) for clip, header in read]
    first_problem = len(result.problems)
    _add_samples(corpus_dir, options, chosen, demographics, result)
    if chosen and not result.samples:  # every WAV's header states no sound
        raise CorpusNotFoundError(_none_readable(corpus_dir, result.problems[first_problem:]))
    result.metadata = {"media": options.media, "split_scheme": options.split_scheme,
                       "test_fold": None if tfds else options.test_fold, "val_fold": options.val_fold,
                       "keep_damaged": options.keep_damaged,
                       "demographics_file": DEMOGRAPHICS_FILE if demographics is not None else None,
                       "media_dirs": {kind: f.folders[0] or "." for kind, f in folders.items()}}
    return result


def _split_of(actor: int, options: CremaDOptions) -> str:
    """The split of an actor's clips: by tensorflow_datasets' actors (split_scheme=tfds), else by its fold."""
    if options.split_scheme == "tfds":
        return "test" if actor in TFDS_TEST_ACTORS else "val" if actor in TFDS_VAL_ACTORS else "train"
    return held_out_split(fold_of(actor), test=options.test_fold, val=options.val_fold)


def fold_of(actor: int) -> int:
    """The fold of an actor: the 91 dealt in id order into 5 folds, 1001 to fold 1, 1002 to fold 2, ..."""
    return (actor - FIRST_ACTOR) % len(FOLDS) + 1


def _media_folders(corpus_dir: Path, options: CremaDOptions) -> dict[str, MediaFolders]:
    """The folder of each medium option media reads: its option where given, else the first of its defaults there
    (the root last)."""
    kinds = {"audio": ("audio",), "video": ("video",), "audio+video": ("audio", "video")}[options.media]
    given = {"audio": (options.audio_dir, AUDIO_DIRS), "video": (options.video_dir, VIDEO_DIRS)}
    folders = {}
    for kind in kinds:
        folder, defaults = given[kind]
        if folder is None:
            folder = next((d for d in defaults if d and (corpus_dir / d).is_dir()), "")
        folders[kind] = MediaFolders(corpus_dir, [folder])
    return folders


def _find_clips(corpus_dir: Path, folders: dict[str, MediaFolders], options: CremaDOptions, wanted: str | None,
                problems: list[LoadProblem]) -> tuple[list[_Clip], bool, bool]:
    """The clips of split `wanted` (None: every split) whose files the media folders hold (sorted by id), whether
    any file is named as a clip's, and whether any is a clip's of the split(s) loaded. A name that is no clip's (or a
    clip-named entry that is no clip file: `_not_a_clip`) is a problem in every load; a clip's file is looked at
    only where its split is loaded: a damaged clip (`DAMAGED_CLIPS`), a second file of a clip and a clip of
    `audio+video` one folder lacks are problems. A file is opened here only where the clip has another (another
    letter case: the first readable by name is read) or lacks its other medium (`_file_problem`); the others are
    judged by their header read (`_read_clips`). One listing a folder; a file's path is checked against the root
    (`safe_relative_path`) once a folder, and again for each link."""
    found: dict[str, dict[str, tuple[str, str]]] = {}  # clip -> medium -> (path relative to the root, where)
    seen: set[tuple[str, str]] = set()  # (medium, clip) of each file of the split(s) loaded
    parsed: dict[str, _Clip] = {}
    damaged: set[str] = set()  # the damaged clips named
    named = False
    listed: set[str] = set()
    for kind, media in folders.items():
        folder = media.folders[0]
        base = str(corpus_dir / folder)
        base = base if base.endswith(os.sep) else base + os.sep
        entries = folder_entries(corpus_dir / folder)
        copies = Counter(entry.name.lower() for entry in entries if entry.is_file)  # > 1: a clip's copies
        prefix = None  # the checked path of the folder's files that are no links, less their name
        for name, is_file, is_link in entries:
            where = base + name
            if name.startswith("._"):
                continue  # macOS's AppleDouble `._*` copies: no clip
            if not is_file or not name.lower().endswith(SUFFIXES[kind]):
                problem = _not_a_clip(name, where, is_file, kind, media) if folder not in listed else None
                if problem is not None:
                    problems.append(problem)
                continue
            clip = _parse_name(name, where, problems)
            if clip is None:
                continue
            named = True
            if wanted not in (None, _split_of(clip.actor, options)):
                continue  # another split's clip: its file is not looked at
            seen.add((kind, clip.sample_id))
            if clip.sample_id in DAMAGED_CLIPS and not options.keep_damaged:
                if clip.sample_id not in damaged:  # named once, at its first file
                    damaged.add(clip.sample_id)
                    problems.append(LoadProblem(clip.sample_id, where, (
                        f"a damaged clip of the release ({DAMAGED_CLIPS[clip.sample_id]}) that other loaders skip; "
                        "-o keep_damaged=true keeps it; clip left out")))
                continue
            read = found.get(clip.sample_id, {}).get(kind)
            if read is not None:
                problems.append(LoadProblem(clip.sample_id, where, (
                    f"a second file of clip {clip.sample_id} (another letter case); {corpus_dir / read[0]} is read; "
                    "file left out"), REPEATED_ENTRY))
                continue
            if prefix is None or is_link:  # a link is judged by where it leads; the folder's other files by it
                path = safe_relative_path(corpus_dir, f"{folder}/{name}" if folder else name, where=where,
                                          allow_outside=options.allow_outside_root)
                if not is_link and path.endswith(name):
                    prefix = path[:-len(name)]
            else:
                path = prefix + name
            if copies[name.lower()] > 1:  # another letter case: an unreadable copy sorting first is not read
                reason = _file_problem(corpus_dir / path, kind)
                if reason is not None:
                    problems.append(LoadProblem(clip.sample_id, where, f"{reason}; file left out"))
                    continue
            parsed.setdefault(clip.sample_id, clip)
            found.setdefault(clip.sample_id, {})[kind] = (path, where)
        listed.add(folder)
    clips = []
    for sample_id in sorted(found):
        files_of = found[sample_id]
        lacking = [kind for kind in folders if kind not in files_of]
        if lacking:
            _name_lacking(corpus_dir, folders[lacking[0]], options, sample_id, files_of, lacking[0],
                          (lacking[0], sample_id) not in seen, problems)
            continue
        clip = parsed[sample_id]
        clips.append(_Clip(sample_id, clip.actor, clip.sentence, clip.emotion, clip.level,
                           {kind: path for kind, (path, _) in files_of.items()},
                           {kind: where for kind, (_, where) in files_of.items()}))
    return clips, named, bool(seen)


def _name_lacking(corpus_dir: Path, media: MediaFolders, options: CremaDOptions, sample_id: str,
                  files_of: dict[str, tuple[str, str]], kind: str, unseen: bool, problems: list[LoadProblem]) -> None:
    """Name a clip of `audio+video` whose `kind` file `media` lacks: each of its files that is unreadable
    (`_file_problem`), then (`unseen`: no `kind` file of it was left out, named already) the file lacking, beside
    the first readable one; nothing more where none is readable."""
    readable = []
    for medium, (path, where) in files_of.items():
        reason = _file_problem(corpus_dir / path, medium)
        if reason is None:
            readable.append(path)
        else:
            problems.append(LoadProblem(sample_id, where, f"{reason}; file left out"))
    if readable and unseen:
        problems.append(LoadProblem(sample_id, str(corpus_dir / readable[0]), (
            f"no {kind} file {sample_id}{SUFFIXES[kind]} in {media.searched_folders()} beside it "
            f"(option media={options.media} reads both); clip left out")))


def _not_a_clip(name: str, where: str, is_file: bool, kind: str, media: MediaFolders) -> LoadProblem | None:
    """The problem of an entry named as a clip's file that is none: a folder (or a link to none, a FIFO), or a file
    of a suffix none of the release's media has (`1001_DFA_ANG_XX.flac`, an unfinished `1001_DFA_ANG_XX.wav.part`);
    None for another name (README, `.DS_Store`) or a file of another medium (`.mp3`)."""
    stem = name.split(".", 1)[0]
    suffix = name[len(stem):]
    if CLIP_NAME.fullmatch(stem) is None or is_file and suffix.lower() in RELEASE_SUFFIXES:
        return None
    if is_file:
        what = f"a file named as clip {stem}'s but of suffix {suffix!r}, no clip (an unfinished copy, another format)"
    else:
        what = f"{'a folder' if os.path.isdir(where) else 'no regular file'} named as clip {stem}'s file, no clip"
    return LoadProblem(None, where, f"{what}: expected {stem}{SUFFIXES[kind]} in {media.searched_folders()}; "
                       "left out")


def _parse_name(name: str, where: str, problems: list[LoadProblem]) -> _Clip | None:
    """The clip a file name gives, or None (its problem recorded) where it is none of CREMA-D's."""
    stem = name.rsplit(".", 1)[0]
    match = CLIP_NAME.fullmatch(stem)
    if match is None:
        problems.append(LoadProblem(None, where, f"file name {name!r} is not ACTOR_SENTENCE_EMOTION_LEVEL (as "
                                    "1001_DFA_ANG_XX.wav: a 4-digit actor and 3-, 3- and 2-letter codes); file left "
                                    "out"))
        return None
    actor, sentence = int(match["actor"]), match["sentence"].upper()
    emotion, level = match["emotion"].upper(), match["level"].upper()
    sample_id = f"{match['actor']}_{sentence}_{emotion}_{level}"
    reason = None
    if not FIRST_ACTOR <= actor <= LAST_ACTOR:
        reason = f"actor {match['actor']} is not one of CREMA-D's {FIRST_ACTOR}-{LAST_ACTOR}"
    elif sentence not in SENTENCES:
        reason = f"sentence code {match['sentence']!r} is not one of CREMA-D's 12 ({', '.join(SENTENCES)})"
    elif emotion not in EMOTIONS:
        reason = f"emotion code {match['emotion']!r} is not one of {', '.join(EMOTIONS)}"
    elif level not in LEVELS:
        reason = f"level code {match['level']!r} is not one of {', '.join(LEVELS)}"
    elif level != "XX" and sentence != LEVELLED_SENTENCE:
        reason = (f"level {level} on sentence {sentence}: only {LEVELLED_SENTENCE} ({SENTENCES[LEVELLED_SENTENCE]!r}) "
                  "was recorded at levels LO, MD, HI; expected XX")
    if reason is not None:
        problems.append(LoadProblem(sample_id, where, f"{reason}; file left out"))
        return None
    return _Clip(sample_id, actor, sentence, emotion, level, {}, {})


def _read_clips(corpus_dir: Path, clips: list[_Clip],
                problems: list[LoadProblem]) -> list[tuple[_Clip, dict[str, float]]]:
    """Each clip with the values its files' headers state (read together: `read_media_headers`), in order; a file
    whose header states no duration of its medium is looked at (`_file_problem`): an empty or unreadable file or a
    git-lfs pointer is named and its clip left out (a WAV stating no sound is `_add_samples`'s to name)."""
    pairs = [media_pair(corpus_dir, clip.files.get("video"), clip.files.get("audio")) for clip in clips]
    read = []
    for clip, header in zip(clips, read_media_headers(pairs)):
        readable = True
        for kind, path in clip.files.items():
            if MODALITY_DURATION_KEYS[kind] not in header:
                reason = _file_problem(corpus_dir / path, kind)
                if reason is not None:
                    problems.append(LoadProblem(clip.sample_id, clip.wheres[kind], f"{reason}; file left out"))
                    readable = False
        if readable:
            read.append((clip, header))
    return read


def _file_problem(path: Path, kind: str) -> str | None:
    """Why a clip's file is no media file (empty, unreadable, a git-lfs pointer), or None."""
    reason = media_file_problem(path, kind)
    if reason is not None:
        return reason
    with path.open("rb") as f:
        head = f.read(len(LFS_POINTER))
    if head == LFS_POINTER:
        return (f"{kind} file is a git-lfs pointer ({path.stat().st_size} bytes of text, not the {kind}); the clone "
                "did not fetch its media: run `git lfs pull` in it (or clone with git-lfs installed)")
    return None


def _read_demographics(path: Path, problems: list[LoadProblem]) -> dict[int, dict[str, Any]] | None:
    """Actor -> {age, sex, race, ethnicity} from VideoDemographics.csv (None where there is no such file: logged),
    sex lower case (`male`, `female`, as RAVDESS's); a row that is not an actor's is named `file:line`.

    Raises:
        CorpusFormatError: an empty file, a header lacking a column of `DEMOGRAPHICS_COLUMNS` or naming one twice or
            not at all, a file that is not UTF-8 or whose CSV cannot be read, named `file:line`.
    """
    if not path.is_file():
        log.warning("no %s in %s: the samples have no age, sex, race or ethnicity", DEMOGRAPHICS_FILE, path.parent)
        return None
    rows = read_csv_records(path)
    if not rows:
        raise CorpusFormatError(f"{path}:1: empty file; expected the header {','.join(DEMOGRAPHICS_COLUMNS)}")
    header_line, header = rows[0][0], [h.strip() for h in rows[0][1]]
    kept = _named_columns(f"{path}:{header_line}", header, ",")
    missing = [c for c in DEMOGRAPHICS_COLUMNS if c not in [header[i] for i in kept]]
    if missing:
        raise CorpusFormatError(f"{path}:{header_line}: header {','.join(header)[:120]!r} lacks {', '.join(missing)}; "
                                f"expected {','.join(DEMOGRAPHICS_COLUMNS)} (CREMA-D's {DEMOGRAPHICS_FILE})")
    actors: dict[int, dict[str, Any]] = {}
    first_at: dict[int, str] = {}
    for line, values in rows[1:]:
        where = f"{path}:{line}"
        if len(values) != len(header):
            problems.append(LoadProblem(None, where, f"expected {len(header)} fields ({','.join(header)}), got "
                                        f"{len(values)}: {','.join(values)[:120]!r}; row left out"))
            continue
        row = {header[i]: values[i].strip() for i in kept}
        reason = _demographics_problem(row)
        if reason is None and int(row["ActorID"]) in first_at:
            reason = f"actor {row['ActorID']} is listed again (first at {first_at[int(row['ActorID'])]})"
        if reason is not None:
            problems.append(LoadProblem(None, where, f"{reason}; row left out"))
            continue
        first_at[int(row["ActorID"])] = where
        actors[int(row["ActorID"])] = {"age": int(row["Age"]), "sex": row["Sex"].lower(), "race": row["Race"],
                                       "ethnicity": row["Ethnicity"]}
    return actors


def _demographics_problem(row: dict[str, str]) -> str | None:
    """Why a VideoDemographics.csv row is no actor's (None: it is one)."""
    actor, age = row["ActorID"], row["Age"]
    if not (actor.isascii() and actor.isdigit() and FIRST_ACTOR <= int(actor) <= LAST_ACTOR):
        return f"ActorID {actor!r} is not one of CREMA-D's actors {FIRST_ACTOR}-{LAST_ACTOR}"
    if not (age.isascii() and age.isdigit() and 0 < int(age) < 130):
        return f"Age {age!r} is not an age in years (a whole number 1-129)"
    if row["Sex"] not in SEXES:
        return f"Sex {row['Sex']!r} is not one of {', '.join(SEXES)}"
    empty = [c for c in ("Race", "Ethnicity") if not row[c]]
    return f"empty {', '.join(empty)}" if empty else None


def _add_samples(corpus_dir: Path, options: CremaDOptions, chosen: list[tuple[_Clip, str, dict[str, float]]],
                 demographics: dict[int, dict[str, Any]] | None, result: LoadResult) -> None:
    """A sample per `(clip, split, header)`, with the durations its files' headers state (`_read_clips`); a WAV
    whose header states no sound is a problem. An actor the demographics lack is named once, at the file."""
    unknown: Counter[int] = Counter()
    for clip, split, header in chosen:
        if "audio" in clip.files and not header.get("audio_duration"):
            result.problems.append(LoadProblem(clip.sample_id, str(corpus_dir / clip.files["audio"]), (
                "audio file's header states no sound (a WAV of 0 frames, or no WAV soundfile can read); fetch it "
                "again; file left out")))
            continue
        person = (demographics or {}).get(clip.actor, {})
        if demographics is not None and not person:
            unknown[clip.actor] += 1
        extra = {"emotion": EMOTIONS[clip.emotion], "level": LEVELS[clip.level], "sentence": clip.sentence,
                 "actor": clip.actor, "fold": fold_of(clip.actor), **person, **header}
        result.samples.append(Sample(sample_id=clip.sample_id, corpus=CORPUS, split=split, group_id=str(clip.actor),
                                     audio=clip.files.get("audio"), video=clip.files.get("video"),
                                     transcript=SENTENCES[clip.sentence], extra=extra))
    for actor, count in sorted(unknown.items()):
        result.problems.append(LoadProblem(None, str(corpus_dir / DEMOGRAPHICS_FILE), (
            f"no row of actor {actor}: its {count} clip{'s' * (count > 1)} kept without age, sex, race and ethnicity"
            f" (expected a row {actor},AGE,SEX,RACE,ETHNICITY)")))


def _none_readable(corpus_dir: Path, problems: list[LoadProblem]) -> str:
    """Why a load found clip files but loaded none: the most common reason (by its first words), with its first
    file."""
    first, count = most_common_kind(problems, lambda p: _reason_kind(p.reason))
    return (f"none of the CREMA-D clip files in {corpus_dir} loads; the most common reason ({count} of "
            f"{len(problems)} problems, first {first.path}): {first.reason.removesuffix('; file left out')}")


def _reason_kind(reason: str) -> str:
    """A reason's kind: its words before a path or a value (`audio file is a git-lfs pointer`)."""
    return re.split(r"[:(']", reason, maxsplit=1)[0].strip()
