"""MELD (Poria et al., ACL 2019; Multimodal EmotionLines Dataset, emotion recognition in conversation) as copies of
its release lie on disk.

`MELD.Raw.tar.gz` unpacks to `MELD.Raw/` holding a CSV per split and a tarball of its clips, which unpack to one
folder per split:
    train_sent_emo.csv    Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,
                          StartTime,EndTime
                          1,"Oh my God, he’s lost it. He’s totally lost it.",Phoebe,sadness,negative,0,0,4,7,
                          "00:20:57,256","00:21:00,049"   (one record per line)
    dev_sent_emo.csv, test_sent_emo.csv
    train_splits/dia0_utt0.mp4, dev_splits_complete/, output_repeated_splits_test/
Some copies put each CSV and its clip folder in `train/`, `dev/`, `test/`; the GitHub repository keeps the CSVs in
`data/MELD/` (the clips are then elsewhere: `-o video_dir=`). Of the folders looked in, the one holding the most of
the three CSVs is read (a stray CSV in the root does not hide a complete MELD.Raw/); a split whose CSV it lacks is
logged and listed in the loader metadata (`splits_absent`). A clip is `dia<Dialogue_ID>_utt<Utterance_ID>.mp4`, the
utterance already cut from the episode (video with its sound); in the test folder also
`final_videos_testdia<D>_utt<U>.mp4`, which some copies hold instead, or beside the plain name as a re-cut: the plain
name is then taken (MELD's documented name, as train and dev clips are named) and the other named in
`extra.other_clip`. Dialogue ids restart in each split. The CSVs hold the cp1252 characters of the transcripts as
the release wrote them (U+0085 for its ellipsis, U+0092 for its apostrophe, U+00A0): kept as they are; fields are
stripped of ASCII spaces, tabs and line ends only.

One sample per row whose clip is found: sample_id `<split>_dia<D>_utt<U>` (`val_dia0_utt3`; the split as named
here: MELD's `dev` is `val`), group_id `<split>_dia<D>` (the conversation), `video` the clip (audio extractors read
its sound track), `transcript` the Utterance, `label` the sentiment as a number (negative -1, neutral 0, positive
1), and in `extra`: `emotion` (neutral, joy, sadness, anger, surprise, fear, disgust: `fuse --class-label emotion`),
`sentiment`, `speaker`, `dialogue_id`, `utterance_id`, `season`, `episode`, `episode_start` and `episode_end` (the
utterance's times in the episode, in seconds, as information: the clip is already cut, so the sample has no
start/end), and the durations the clip's header states. With `-o variant=dyadic` the dyadic CSVs
(`*_sent_emo_dya.csv`, no `Sr No.` column) are read instead: their Dialogue_ID/Utterance_ID give the ids,
Old_Dialogue_ID/Old_Utterance_ID the clip (kept in `extra` as `old_dialogue_id`, `old_utterance_id`).

Left out and named `file:line` (with the sample id where the row's ids can be read): a row with another number of
fields, a Dialogue_ID, Utterance_ID (Old_* too) that is no whole number, an emotion or sentiment not MELD's (naming
the allowed ones), a (dialogue, utterance) listed again in its split, and a clip no clip folder holds (the train
folder of the release lacks, or holds corrupt, `dia125_utt3.mp4`). A Season or Episode that is no whole number, or a
StartTime or EndTime that is no `h:mm:ss,mmm`, is information only: the sample is kept with that field null in
`extra`, and the field named `file:line` in the errors table (`...; sample kept, extra.season null`).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mmdata.corpora.base import (
    LoadProblem,
    LoadResult,
    _named_columns,
    given_image_dir,
    read_csv_records,
    register_corpus,
)
from mmdata.corpora.media_captions import (
    MediaFolders,
    check_split,
    folder_list,
    media_pair,
    media_path,
    missing_names_problem,
    read_media_headers,
    repeated_entry_problem,
    require_videos_found,
    shown_path,
)
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

log = logging.getLogger(__name__)

CORPUS = "meld"
SPLITS = ("train", "val", "test")
#: MELD's name of each split (its files' prefix and per-split folder).
NATIVE = {"train": "train", "val": "dev", "test": "test"}
#: MELD's own split names, as `--split` is told to name them here.
NATIVE_SPLITS = {"dev": "val", "valid": "val", "validation": "val"}
#: Where the CSVs sit, relative to the root, first first: MELD.Raw as unpacked (the root, or the folder holding
#: it), the GitHub repository's `data/MELD/` (and `data/MELD_Dyadic/`, for the dyadic variant). Each split's CSV may
#: be in the folder itself or in its per-split folder (`train/`, `dev/`, `test/`).
CSV_DIRS = ("", "MELD.Raw", "data/MELD", "data/MELD_Dyadic")
#: Each split's clip folders, as the release's tarballs unpack them, first first.
CLIP_DIRS = {"train": ("train_splits",), "val": ("dev_splits_complete", "dev_splits"),
             "test": ("output_repeated_splits_test", "test_splits")}
#: The prefix of test clips in some copies of output_repeated_splits_test/: `final_videos_testdia0_utt0.mp4`.
TEST_CLIP_PREFIX = "final_videos_test"
#: The folders holding the clip folders, relative to the root, first first (with the CSVs' folder).
MEDIA_DIRS = ("", "MELD.Raw")
#: The emotions and the sentiments MELD annotates; a sentiment's number is the sample's `label`.
EMOTIONS = ("neutral", "joy", "sadness", "anger", "surprise", "fear", "disgust")
SENTIMENTS = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
REQUIRED_COLUMNS = ("Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID")
#: Read where the header has them (every release's CSV does; a copy may drop them).
OPTIONAL_COLUMNS = ("Season", "Episode", "StartTime", "EndTime")
DYADIC_COLUMNS = ("Old_Dialogue_ID", "Old_Utterance_ID")
#: What fields are stripped of: ASCII whitespace alone (`str.strip()` would eat MELD's U+0085 ellipsis and U+00A0).
ASCII_SPACE = " \t\r\n"
#: Shown in the log where more clips are missing.
SHOWN_MISSING = 5
#: A time in the episode as the CSVs write it, `00:20:57,256` or `0:20:57,256` (hours, minutes, seconds, ms).
TIME = re.compile(r"(\d{1,2}):([0-5]\d):([0-5]\d)[,.](\d{3})")


@dataclass(frozen=True)
class MeldOptions:
    #: `full`: the release's `<split>_sent_emo.csv`; `dyadic`: MELD's dyadic variant, `<split>_sent_emo_dya.csv`
    #: (ids from Dialogue_ID/Utterance_ID, clips named by Old_Dialogue_ID/Old_Utterance_ID).
    variant: Literal["full", "dyadic"] = "full"
    #: Folder holding the CSVs (or their train/, dev/, test/ folders), relative to the root or absolute (default:
    #: of the root, `MELD.Raw/`, `data/MELD/`, `data/MELD_Dyadic/`, the one holding the most of the three, the
    #: first of those on a tie).
    csv_dir: str | None = None
    #: Folder holding the clip folders (`train_splits/`, `dev_splits_complete/`, `output_repeated_splits_test/`,
    #: or `train/`, `dev/`, `test/` holding them), relative to the root or absolute (default: the root, `MELD.Raw/`
    #: and the CSVs' folder).
    video_dir: str | None = None
    #: Accept clip paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@dataclass(frozen=True)
class _Utterance:
    """One row of a MELD CSV that passed its checks."""

    split: str
    dialogue: int
    utterance: int
    clip: str  # the clip's file name
    transcript: str | None
    extra: dict[str, Any]
    where: str
    #: Why an informational field (Season, Episode, StartTime, EndTime) is null in `extra`, the sample kept.
    notes: tuple[str, ...] = ()

    @property
    def sample_id(self) -> str:
        return f"{self.split}_dia{self.dialogue}_utt{self.utterance}"


@register_corpus(CORPUS, MeldOptions)
def load_meld(corpus_dir: Path, options: MeldOptions, split: str | None) -> LoadResult:
    """MELD (`train_sent_emo.csv`, `dev_sent_emo.csv`, `test_sent_emo.csv` + the clips), a sample per utterance.

    `split`: none or `all` for every split whose CSV is there, `train`, `val` (MELD's dev) or `test`. `label` is
    the sentiment as a number: negative -1, neutral 0, positive 1; `extra.emotion` the emotion.

    Example:
        >>> result = load_meld(Path("/data/MELD.Raw"), MeldOptions(), "val")
        >>> s = result.samples[0]; s.sample_id, s.video, s.label, s.extra["emotion"]
        ('val_dia0_utt0', 'dev_splits_complete/dia0_utt0.mp4', 0.0, 'neutral')

    Raises:
        CorpusNotFoundError: no CSV where looked for (naming the folders and `-o csv_dir=`), none of split `split`,
            or none of the clips listed found (naming the folders and `-o video_dir=`).
        CorpusFormatError: a CSV that is not UTF-8, is empty, or whose header lacks a column MELD's has or names one
            twice, named `file:line`.
        ConfigError: an unknown split (`dev`: named `val` here).
    """
    wanted = check_split(split, SPLITS, NATIVE_SPLITS, "MELD")
    files = _csv_files(corpus_dir, options)
    if wanted is not None and wanted not in files:
        raise CorpusNotFoundError(f"split {wanted!r} asked, but no MELD {_csv_name(wanted, options.variant)} is in "
                                  f"{_csv_base(files)}; splits there: {list(files)}")
    absent = [s for s in SPLITS if s not in files] if wanted is None else []
    if absent:
        log.warning("MELD's %s not in %s (nor in its %s folder%s): split%s %s not loaded",
                    ", ".join(_csv_name(s, options.variant) for s in absent), _csv_base(files),
                    ", ".join(f"{NATIVE[s]}/" for s in absent), "s" * (len(absent) > 1), "s" * (len(absent) > 1),
                    ", ".join(absent))
    result = LoadResult(samples=[])
    listings: dict[str, set[str]] = {}
    located: list[tuple[_Utterance, MediaFolders, str | None, str | None]] = []
    for name in (s for s in SPLITS if s in files and wanted in (None, s)):
        folders = _clip_folders(corpus_dir, options, files[name], name, listings)
        for utterance in _read_utterances(files[name], name, options.variant, result.problems):
            located.append((utterance, folders, *_find_clip(corpus_dir, folders, utterance, options)))
    missing = _add_samples(corpus_dir, located, result)
    searched = sorted({f for _, folders, _, _ in located for f in folders.folders})
    require_videos_found(len(located), bool(result.samples), "MELD", corpus_dir, "as dia<D>_utt<U>.mp4",
                         what="clips", note=f" (searched: {folder_list(searched)})")
    if missing:
        shown = ", ".join(f"{u.sample_id} ({u.clip})" for u in missing[:SHOWN_MISSING])
        log.warning("%d of %d MELD clips listed not found: %s%s; each is named in the errors table", len(missing),
                    len(located), shown, ", ..." if len(missing) > SHOWN_MISSING else "")
    result.metadata = {"annotation_files": [shown_path(corpus_dir, files[s]) for s in files if wanted in (None, s)],
                       "variant": options.variant, "clips_listed": len(located), "clips_missing": len(missing)}
    if absent:
        result.metadata["splits_absent"] = absent
    return result


def _clip_names(utterance: _Utterance) -> list[str]:
    """The file names an utterance's clip is looked for under, first first: `dia0_utt0.mp4`, and for a test clip
    `final_videos_testdia0_utt0.mp4` after it."""
    return [utterance.clip, *([f"{TEST_CLIP_PREFIX}{utterance.clip}"] if utterance.split == "test" else [])]


def _find_clip(corpus_dir: Path, folders: MediaFolders, utterance: _Utterance,
               options: MeldOptions) -> tuple[str | None, str | None]:
    """The clip taken (None: not found) and the other clip not taken (a test clip's `final_videos_test` re-cut
    beside its plain name: the plain name, MELD's own as in train and dev, is taken, the other named)."""
    found = [media_path(corpus_dir, folders, name, where=utterance.where, allow_outside=options.allow_outside_root)
             for name in _clip_names(utterance)]
    taken = [path for path in found if path is not None]
    return (taken[0] if taken else None), (taken[1] if len(taken) > 1 else None)


def _csv_name(split: str, variant: str) -> str:
    """The file name of a split's CSV: `dev_sent_emo.csv`, or `dev_sent_emo_dya.csv` for the dyadic variant."""
    return f"{NATIVE[split]}_sent_emo{'_dya' if variant == 'dyadic' else ''}.csv"


def _csv_base(files: dict[str, Path]) -> Path:
    """The folder the CSVs were found in (above a per-split folder)."""
    first = next(iter(files))
    parent = files[first].parent
    return parent.parent if parent.name == NATIVE[first] else parent


def _csv_files(corpus_dir: Path, options: MeldOptions) -> dict[str, Path]:
    """Each split's CSV (split order) in the folder holding the most of them (the first on a tie), itself or in its
    per-split folder; the other folders' CSVs are not read (logged).

    Raises:
        CorpusNotFoundError: no CSV, naming the files and folders looked for, `-o csv_dir=`, and, where the
            folders hold the other variant's CSVs, `-o variant=`.
    """
    bases = [given_image_dir(options.csv_dir)] if options.csv_dir is not None else list(CSV_DIRS)
    candidates = []
    for base in bases:
        folder = corpus_dir / base
        found = {}
        for split in SPLITS:
            name = _csv_name(split, options.variant)
            path = next((p for p in (folder / name, folder / NATIVE[split] / name) if p.is_file()), None)
            if path is not None:
                found[split] = path
        if found:
            candidates.append(found)
    if candidates:
        chosen = max(candidates, key=len)  # the first of the most
        for other in (c for c in candidates if c is not chosen):
            log.warning("MELD CSVs also in %s (%s), not read: %s holds more (-o csv_dir= names the folder to read)",
                        _csv_base(other), ", ".join(p.name for p in other.values()), _csv_base(chosen))
        return chosen
    names = ", ".join(_csv_name(s, options.variant) for s in SPLITS)
    looked = ", ".join(str(corpus_dir / b) if b else str(corpus_dir) for b in bases)
    other = "full" if options.variant == "dyadic" else "dyadic"
    hint = ""
    if any((corpus_dir / b / n).is_file() for b in bases for s in SPLITS
           for n in (_csv_name(s, other), f"{NATIVE[s]}/{_csv_name(s, other)}")):
        hint = f" (the {other} variant's CSVs are there: -o variant={other} reads them)"
    raise CorpusNotFoundError(f"no MELD annotation CSV ({names}) found in {looked} (nor in their train/, dev/, test/ "
                              f"folders){hint}; -o csv_dir= names the folder holding them (MELD.Raw/ as "
                              "MELD.Raw.tar.gz unpacks)")


def _clip_folders(corpus_dir: Path, options: MeldOptions, csv_path: Path, split: str,
                  listings: dict[str, set[str]]) -> MediaFolders:
    """The folders a split's clips are looked for in, first first: under each media parent (option video_dir, else
    the root, `MELD.Raw/`, the CSVs' folder), the split's clip folders, those in its per-split folder, and the
    per-split folder itself; the first of them where none is there (so that a missing clip names where it was
    expected). Every folder is listed once for the whole load (`listings`)."""
    if options.video_dir is not None:
        parents = [given_image_dir(options.video_dir)]
    else:
        base = _csv_base({split: csv_path})
        # an absolute folder outside the root is searched as such (paths found there need -o allow_outside_root)
        shown = base.relative_to(corpus_dir).as_posix() if base.is_relative_to(corpus_dir) else str(base)
        parents = list(dict.fromkeys([*MEDIA_DIRS, "" if shown == "." else shown]))
    native = NATIVE[split]
    candidates = []
    for parent in parents:
        prefix = f"{parent}/" if parent else ""
        candidates += [f"{prefix}{d}" for d in CLIP_DIRS[split]]
        candidates += [f"{prefix}{native}/{d}" for d in CLIP_DIRS[split]] + [f"{prefix}{native}"]
    present = [c for c in dict.fromkeys(candidates) if (corpus_dir / c).is_dir()]
    return MediaFolders(corpus_dir, present or candidates[:1], listings)


def _add_samples(corpus_dir: Path, located: list[tuple[_Utterance, MediaFolders, str | None, str | None]],
                 result: LoadResult) -> list[_Utterance]:
    """A sample per utterance whose clip was found, with its header's durations (read together: `read_media_headers`,
    on threads), in the rows' order, its notes (informational fields nulled) named at its row; an utterance whose
    clip is not found is named at its row. Returns those not found."""
    headers = iter(read_media_headers([media_pair(corpus_dir, video, None) for _, _, video, _ in located
                                       if video is not None]))
    missing = []
    for utterance, folders, video, other in located:
        if video is None:
            missing.append(utterance)
            result.problems.append(missing_names_problem(corpus_dir, folders, _clip_names(utterance),
                                                         utterance.sample_id, utterance.where, "clip"))
            continue
        result.problems += [LoadProblem(utterance.sample_id, utterance.where, note) for note in utterance.notes]
        sentiment = utterance.extra["sentiment"]
        extra = {**utterance.extra, **({"other_clip": other} if other is not None else {}), **next(headers)}
        result.samples.append(Sample(
            sample_id=utterance.sample_id, corpus=CORPUS, split=utterance.split,
            group_id=f"{utterance.split}_dia{utterance.dialogue}", video=video, transcript=utterance.transcript,
            label=SENTIMENTS[sentiment], extra=extra))
    return missing


def _read_utterances(path: Path, split: str, variant: str, problems: list[LoadProblem]) -> list[_Utterance]:
    """The rows of one split's CSV that pass their checks, in file order; the others are problems named `file:line`
    (a (dialogue, utterance) listed again: `REPEATED_ENTRY`).

    Raises:
        CorpusFormatError: the file is not UTF-8, is empty, its header lacks a column or names one twice, or a record
            cannot be read, named `file:line`.
    """
    rows = read_csv_records(path)
    required = (*REQUIRED_COLUMNS, *(DYADIC_COLUMNS if variant == "dyadic" else ()))
    if not rows:
        raise CorpusFormatError(f"{path}:1: empty file; expected the header {_melds_header(variant)} (MELD's)")
    header_line, values = rows[0]
    header = [_strip(h) for h in values]
    kept = _named_columns(f"{path}:{header_line}", header, ",")
    named = [header[i] for i in kept]
    absent = [c for c in required if c not in named]
    if absent:
        raise CorpusFormatError(f"{path}:{header_line}: header {','.join(header)[:160]!r} lacks {', '.join(absent)}; "
                                f"expected {_melds_header(variant)} (MELD's {path.name})")
    first_at: dict[tuple[int, int], str] = {}
    utterances = []
    for line, row in rows[1:]:
        where = f"{path}:{line}"
        utterance = _parse_row(header, kept, row, split, variant, where, problems)
        if utterance is None:
            continue
        key = (utterance.dialogue, utterance.utterance)
        if key in first_at:
            problems.append(repeated_entry_problem(
                utterance.sample_id, where, f"dialogue {key[0]} utterance {key[1]}", "again", first_at[key], "row"))
            continue
        first_at[key] = where
        utterances.append(utterance)
    return utterances


def _melds_header(variant: str) -> str:
    """The header of MELD's CSVs of `variant` (the dyadic ones have no `Sr No.`)."""
    if variant == "dyadic":
        return ",".join((*REQUIRED_COLUMNS, *DYADIC_COLUMNS, *OPTIONAL_COLUMNS))
    return ",".join(("Sr No.", *REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))


def _strip(text: str) -> str:
    """`text` without the ASCII whitespace around it; MELD's U+0085 (its ellipsis) and U+00A0 kept."""
    return text.strip(ASCII_SPACE)


def _parse_row(header: list[str], kept: list[int], values: list[str], split: str, variant: str, where: str,
               problems: list[LoadProblem]) -> _Utterance | None:
    """The utterance of one row, or None (its problem recorded) where a field does not hold what MELD writes; a
    Season, Episode, StartTime or EndTime that cannot be read is null in `extra`, named in the utterance's notes."""
    if len(values) != len(header):
        ids = [_whole_number(_strip(values[header.index(c)])) if header.index(c) < len(values) else None
               for c in ("Dialogue_ID", "Utterance_ID")]
        problems.append(LoadProblem(_sample_id(split, *ids), where, f"expected {len(header)} fields "
                                    f"({','.join(header)}), got {len(values)}: {','.join(values)[:120]!r}; row left "
                                    "out"))
        return None
    row = {header[i]: _strip(values[i]) for i in kept}
    numbers = {c: _whole_number(row[c]) for c in ("Dialogue_ID", "Utterance_ID", *DYADIC_COLUMNS) if c in row}
    dialogue, utterance = numbers["Dialogue_ID"], numbers["Utterance_ID"]
    sample_id = _sample_id(split, dialogue, utterance)
    reason = _field_problem(row, numbers, variant)
    if reason is not None:
        problems.append(LoadProblem(sample_id, where, f"{reason}; row left out"))
        return None
    informational, notes = _informational(row)
    emotion, sentiment = row["Emotion"].lower(), row["Sentiment"].lower()
    extra: dict[str, Any] = {"emotion": emotion, "sentiment": sentiment, "speaker": row["Speaker"],
                             "dialogue_id": dialogue, "utterance_id": utterance}
    clip = f"dia{dialogue}_utt{utterance}.mp4"
    if variant == "dyadic":
        extra["old_dialogue_id"], extra["old_utterance_id"] = numbers["Old_Dialogue_ID"], numbers["Old_Utterance_ID"]
        clip = f"dia{numbers['Old_Dialogue_ID']}_utt{numbers['Old_Utterance_ID']}.mp4"
    extra.update(informational)
    return _Utterance(split, dialogue, utterance, clip, row["Utterance"] or None, extra,  # type: ignore[arg-type]
                      where, notes)


def _sample_id(split: str, dialogue: int | None, utterance: int | None) -> str | None:
    return f"{split}_dia{dialogue}_utt{utterance}" if dialogue is not None and utterance is not None else None


def _informational(row: dict[str, str]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The `extra` of the informational columns the header has (`season`, `episode`, `episode_start`,
    `episode_end`), one that cannot be read null, and a note naming each such (the sample is kept: the clip is
    already cut, nothing reads them)."""
    extra: dict[str, Any] = {}
    notes = []
    time = "a time h:mm:ss,mmm (as 00:20:57,256)"
    fields: tuple[tuple[str, str, Callable[[str], float | None], str], ...] = (
        ("Season", "season", _whole_number, "a whole number >= 0"),
        ("Episode", "episode", _whole_number, "a whole number >= 0"),
        ("StartTime", "episode_start", _episode_seconds, time), ("EndTime", "episode_end", _episode_seconds, time))
    for column, key, read, what in fields:
        if column in row:
            extra[key] = read(row[column])
            if extra[key] is None:
                notes.append(f"{column} {row[column]!r} is not {what}; sample kept, extra.{key} null (information "
                             "only: the clip is already cut)")
    return extra, tuple(notes)


def _field_problem(row: dict[str, str], numbers: dict[str, int | None], variant: str) -> str | None:
    """Why a row's fields are no utterance (None: they are one)."""
    for column, number in numbers.items():
        if number is None and (variant == "dyadic" or column not in DYADIC_COLUMNS):
            return f"{column} {row[column]!r} is not a whole number >= 0"
    if row["Emotion"].lower() not in EMOTIONS:
        return f"emotion {row['Emotion']!r} is not one of MELD's {', '.join(EMOTIONS)}"
    if row["Sentiment"].lower() not in SENTIMENTS:
        return f"sentiment {row['Sentiment']!r} is not one of MELD's {', '.join(SENTIMENTS)}"
    return None


def _whole_number(text: str) -> int | None:
    """A whole number >= 0 as the CSVs write ids (`125`), or None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _episode_seconds(text: str) -> float | None:
    """The seconds of a time in the episode (`00:20:57,256` -> 1257.256), or None where it is no such time."""
    match = TIME.fullmatch(text)
    if match is None:
        return None
    hours, minutes, seconds, millis = (int(g) for g in match.groups())
    return round(hours * 3600 + minutes * 60 + seconds + millis / 1000, 3)
