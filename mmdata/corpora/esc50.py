"""ESC-50 (Piczak, ACM MM 2015; environmental sound classification) as its GitHub release unzips.

`meta/esc50.csv` holds one row per clip, and `audio/<filename>` the clip (5 s, 44.1 kHz mono WAV):
    filename,fold,target,category,esc10,src_file,take
    1-100032-A-0.wav,1,0,dog,True,100032,A
50 classes (`target` 0-49, `category` its name) of 40 clips each, cut from Freesound recordings (`src_file`;
`take` tells the fragments of one recording apart) and dealt into 5 folds for cross-validation, every
fragment of a recording within a class in one fold. ESC-10 is the subset of 10 classes whose rows have
esc10=True.

One sample per kept row, sample_id = the file name's stem (`1-100032-A-0`), group_id = `<src_file>-<target>`
(`100032-0`), so that `check` reports one recording's clips of one class in two splits. Not src_file alone: the
release deals four recordings' clips of two classes into two folds (131943: clock_tick in fold 2, clock_alarm in
fold 3; 134049, 209698, 234879 alike), which the release's folds allow and a group of src_file alone would call
a leak for test folds 2-5. Split `test` is the fold held out (option test_fold, fold 1 by default, as
single-fold results report it), `val` the fold option val_fold names (none by default), `train` the others. The
class goes to `extra` as `class` (the category, which `fuse --class-label class` turns into class ids, by
sorted name) and `target` (its number), with `fold`, `esc10`, `src_file`, `take` and the clip's length from its
header (`audio_duration`).

Rows with another number of fields, an empty filename or src_file, a fold not 1-5, a target not 0-49, an
esc10 not True/False (any case, or 1/0), a target another row names with another category (or a category with
another target), a file name listed again, or a clip no audio folder holds are left out and named `file:line`;
a file none of whose rows is left stops the load, naming the most common reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mmdata.corpora.base import (
    LoadProblem,
    LoadResult,
    _named_columns,
    given_image_dir,
    read_csv_records,
    register_corpus,
)
from mmdata.corpora.held_out import check_held_out, held_out_split, wanted_split
from mmdata.corpora.media_captions import (
    MediaFolders,
    media_pair,
    media_path,
    missing_media_problem,
    most_common_kind,
    read_media_headers,
    repeated_entry_problem,
    shown_path,
)
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

CORPUS = "esc50"
SPLITS = ("train", "val", "test")
FOLDS = (1, 2, 3, 4, 5)
#: Where the metadata CSV sits: the release's `meta/`, else the root (a copy of the CSV beside the clips).
CSV_FILES = ("meta/esc50.csv", "esc50.csv")
#: Where the clips sit: the release's `audio/`, else (no such folder) the root.
AUDIO_DIRS = ("audio", "")
COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")
NUM_CLASSES = 50
#: The esc10 column, lower-cased: the release writes pandas' True/False, a copy saved by Excel TRUE/FALSE,
#: others true/false or 1/0.
BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


@dataclass(frozen=True)
class Esc50Options:
    #: The fold held out as split `test` (the others are `train`); run 1 to 5 for the 5-fold protocol.
    test_fold: int = 1
    #: The fold held out as split `val` (none by default), so that `train classify` picks C on it; another
    #: fold than test_fold. The other three are then `train`.
    val_fold: int | None = None
    #: `esc50`: every class; `esc10`: the 10 classes of ESC-10 (rows with esc10=True).
    subset: Literal["esc50", "esc10"] = "esc50"
    #: The metadata CSV, relative to the root or absolute (default: meta/esc50.csv, else esc50.csv).
    csv_file: str | None = None
    #: Folder holding the clips, relative to the root or absolute (default: audio/, else the root).
    audio_dir: str | None = None
    #: Accept audio paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False

    def __post_init__(self) -> None:
        check_held_out("fold", FOLDS, test=self.test_fold, val=self.val_fold, protocol="the 5-fold protocol")


@dataclass(frozen=True)
class _Clip:
    """One row of esc50.csv that passed its checks."""

    filename: str
    fold: int
    target: int
    category: str
    esc10: bool
    src_file: str
    take: str
    where: str

    @property
    def sample_id(self) -> str:
        return Path(self.filename).stem


@dataclass
class _Classes:
    """Which category each target has and which target each category has, as the first row naming it says,
    with where that row is: a later row that disagrees is left out, naming it."""

    category_of: dict[int, tuple[str, str]] = field(default_factory=dict)  # target -> (category, `file:line`)
    target_of: dict[str, tuple[int, str]] = field(default_factory=dict)  # category -> (target, `file:line`)

    def conflict(self, clip: _Clip) -> str | None:
        """Why `clip`'s target and category disagree with an earlier row's (None: they agree, and are now known)."""
        category, at = self.category_of.get(clip.target, (clip.category, ""))
        if category != clip.category:
            return f"target {clip.target} is category {category!r} at {at}, this row says {clip.category!r}"
        target, at = self.target_of.get(clip.category, (clip.target, ""))
        if target != clip.target:
            return f"category {clip.category!r} is target {target} at {at}, this row says {clip.target}"
        self.category_of.setdefault(clip.target, (clip.category, clip.where))
        self.target_of.setdefault(clip.category, (clip.target, clip.where))
        return None


@register_corpus(CORPUS, Esc50Options)
def load_esc50(corpus_dir: Path, options: Esc50Options, split: str | None) -> LoadResult:
    """ESC-50 (`meta/esc50.csv` + `audio/*.wav`), one sample per clip with its class in `extra`.

    `split`: none or `all` for every split; `train` (the folds kept), `test` (fold `options.test_fold`) or `val`
    (fold `options.val_fold`, where given).

    Example:
        >>> result = load_esc50(Path("/data/ESC-50-master"), Esc50Options(test_fold=2), "test")
        >>> result.samples[0].extra["class"], result.samples[0].extra["fold"]
        ('dog', 2)

    Raises:
        CorpusNotFoundError: no esc50.csv where looked for, or none of its clips in the audio folders.
        CorpusFormatError: a header without the seven columns or with a column name empty or given twice, a CSV
            that cannot be read, named `file:line`; a CSV none of whose rows is a clip, naming the most common
            reason.
        ConfigError: an unknown split (`val` without val_fold), test_fold not 1-5, val_fold not another fold,
            subset not esc50 or esc10.
    """
    wanted = wanted_split(split, "ESC-50", "fold", test=options.test_fold, val=options.val_fold, splits=SPLITS)
    path = _csv_path(corpus_dir, options.csv_file)
    result = LoadResult(samples=[])
    clips = _read_clips(path, result.problems)
    clips = _subset_clips(path, clips, options.subset)
    folders = _audio_folders(corpus_dir, options.audio_dir)
    placed = [(clip, _split_of(clip, options)) for clip in clips]
    chosen = [(clip, clip_split) for clip, clip_split in placed if wanted in (None, clip_split)]
    _add_samples(corpus_dir, options, folders, chosen, result)
    if chosen and not result.samples:  # a wrong folder, not a few clips gone
        raise CorpusNotFoundError(f"none of the {len(chosen)} ESC-50 clips of {path} found in "
                                  f"{folders.searched_folders()} of {corpus_dir}; -o audio_dir= names the folder "
                                  "holding them (audio/ as the release unzips)")
    result.metadata = {"annotation_file": shown_path(corpus_dir, path), "test_fold": options.test_fold,
                       "val_fold": options.val_fold, "subset": options.subset}
    return result


def _subset_clips(path: Path, clips: list[_Clip], subset: str) -> list[_Clip]:
    """The clips of option subset: every one (`esc50`), or those of ESC-10 (`esc10`).

    Raises:
        CorpusFormatError: subset esc10 and no row says esc10 True (a column of False alone).
    """
    if subset == "esc50":
        return clips
    kept = [c for c in clips if c.esc10]
    if clips and not kept:
        raise CorpusFormatError(f"{path}: none of the {len(clips)} clips has esc10 True, so -o subset=esc10 keeps "
                                "none; expected the 10 ESC-10 classes marked True (as the release's meta/esc50.csv "
                                "does), or -o subset=esc50 for every class")
    return kept


def _split_of(clip: _Clip, options: Esc50Options) -> str:
    """`test` for a clip of the fold held out, `val` for one of option val_fold's fold, else `train`."""
    return held_out_split(clip.fold, test=options.test_fold, val=options.val_fold)


def _group_of(clip: _Clip) -> str:
    """`<src_file>-<target>`: the release keeps one recording's clips of one class in one fold, not of every
    class (four recordings have clips of two classes in two folds), so src_file alone would be a false leak."""
    return f"{clip.src_file}-{clip.target}"


def _csv_path(corpus_dir: Path, csv_file: str | None) -> Path:
    """The metadata CSV: option csv_file where given, else the first of `CSV_FILES` there.

    Raises:
        CorpusNotFoundError: naming what was looked for and option csv_file.
    """
    candidates = [corpus_dir / csv_file] if csv_file is not None else [corpus_dir / name for name in CSV_FILES]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        looked = " nor ".join(str(p) for p in candidates)
        raise CorpusNotFoundError(f"no ESC-50 metadata file: {'neither ' if len(candidates) > 1 else ''}{looked} "
                                  f"{'is' if len(candidates) > 1 else 'is not'} a file; -o csv_file= names esc50.csv "
                                  "(the release unzips it as meta/esc50.csv)")
    return found


def _audio_folders(corpus_dir: Path, audio_dir: str | None) -> MediaFolders:
    """Option audio_dir where given, else the first of `AUDIO_DIRS` that is there (the root holds the CSV's
    folder too: looking there as well would name two folders for every clip gone)."""
    if audio_dir is not None:
        return MediaFolders(corpus_dir, [given_image_dir(audio_dir)])
    return MediaFolders(corpus_dir, [next(d for d in AUDIO_DIRS if (corpus_dir / d).is_dir())])


def _add_samples(corpus_dir: Path, options: Esc50Options, folders: MediaFolders,
                 chosen: list[tuple[_Clip, str]], result: LoadResult) -> None:
    """Each `(clip, split)`'s sample, or the problem of a clip whose audio no folder holds. Every clip's file is
    found first, then their headers are read together (`read_media_headers`: on threads where
    `MMDATA_HEADER_THREADS` says so), then the samples are made in the clips' order."""
    located = [(clip, split, media_path(corpus_dir, folders, clip.filename, where=clip.where,
                                        allow_outside=options.allow_outside_root)) for clip, split in chosen]
    headers = iter(read_media_headers([media_pair(corpus_dir, None, audio) for _, _, audio in located
                                       if audio is not None]))
    for clip, split, audio in located:
        if audio is None:
            result.problems.append(missing_media_problem(corpus_dir, folders, clip.filename, clip.sample_id,
                                                         clip.where, "audio"))
            continue
        extra = {"class": clip.category, "target": clip.target, "fold": clip.fold, "esc10": clip.esc10,
                 "src_file": clip.src_file, "take": clip.take, **next(headers)}
        result.samples.append(Sample(sample_id=clip.sample_id, corpus=CORPUS, split=split, group_id=_group_of(clip),
                                     audio=audio, extra=extra))


def _read_clips(path: Path, problems: list[LoadProblem]) -> list[_Clip]:
    """The rows of esc50.csv that pass their checks, in file order; the others are problems named `file:line`.

    Raises:
        CorpusFormatError: a header lacking one of `COLUMNS` or naming a column twice or not at all, CSV that
            cannot be read from some line on, or rows none of which is a clip.
    """
    rows = read_csv_records(path)
    if not rows:
        raise CorpusFormatError(f"{path}:1: empty file; expected the header {','.join(COLUMNS)}")
    header_line, header = rows[0]
    header = [h.strip() for h in header]
    kept = _named_columns(f"{path}:{header_line}", header, ",")
    named = [header[i] for i in kept]
    missing = [c for c in COLUMNS if c not in named]
    if missing:
        raise CorpusFormatError(f"{path}:{header_line}: header {','.join(header)[:120]!r} lacks {', '.join(missing)}; "
                                f"expected {','.join(COLUMNS)} (ESC-50's meta/esc50.csv)")
    first_problem = len(problems)
    clips = _checked_clips(path, header, kept, rows[1:], problems)
    if not clips:
        raise CorpusFormatError(_no_clip_message(path, len(rows) - 1, problems[first_problem:]))
    return clips


def _checked_clips(path: Path, header: list[str], kept: list[int], rows: list[tuple[int, list[str]]],
                   problems: list[LoadProblem]) -> list[_Clip]:
    """The clips of `rows` (line number, fields) that pass their checks, alone and against the rows before."""
    classes, first_at = _Classes(), {}
    clips = []
    for line, values in rows:
        where = f"{path}:{line}"
        clip = _parse_row(header, kept, values, where, problems)
        if clip is None:
            continue
        if clip.sample_id in first_at:
            problems.append(repeated_entry_problem(clip.sample_id, where, f"clip {clip.filename}",
                                                   "again", first_at[clip.sample_id], "row"))
            continue
        conflict = classes.conflict(clip)
        if conflict is not None:
            problems.append(LoadProblem(clip.sample_id, where, f"{conflict}; expected one category per target "
                                        "(a class listed under two names?); row left out"))
            continue
        first_at[clip.sample_id] = where
        clips.append(clip)
    return clips


def _no_clip_message(path: Path, row_count: int, problems: list[LoadProblem]) -> str:
    """Why a CSV yields no clip: no row under its header, or the most common reason its rows were left out (by
    the field a reason names first), with its first row."""
    if not problems:
        return (f"{path}: no row under the header; expected one row per clip (ESC-50's meta/esc50.csv lists "
                "2,000)")
    first, count = most_common_kind(problems, lambda p: p.reason.split(" ", 1)[0])
    return (f"{path}: none of its {row_count} rows is a clip; the most common reason ({count} of {len(problems)} "
            f"rows, first at {first.path}): {first.reason.removesuffix('; row left out')}; expected rows as "
            "ESC-50's meta/esc50.csv writes them (1-100032-A-0.wav,1,0,dog,True,100032,A)")


def _parse_row(header: list[str], kept: list[int], values: list[str], where: str,
               problems: list[LoadProblem]) -> _Clip | None:
    """The clip of one row (its fields at the header's `kept` columns), or None (its problem recorded) when a
    field does not hold what ESC-50 writes."""
    if len(values) != len(header):
        problems.append(LoadProblem(None, where, f"expected {len(header)} fields ({','.join(header)}), got "
                                    f"{len(values)}: {','.join(values)[:120]!r}; row left out"))
        return None
    row = {header[i]: values[i].strip() for i in kept}
    name = row["filename"]
    sample_id = Path(name).stem or None
    reason = _field_problem(row)
    if reason is not None:
        problems.append(LoadProblem(sample_id, where, f"{reason}; row left out"))
        return None
    return _Clip(name, int(row["fold"]), int(row["target"]), row["category"], BOOLEANS[row["esc10"].lower()],
                 row["src_file"], row["take"], where)


def _field_problem(row: dict[str, str]) -> str | None:
    """Why a row's fields are no clip (None: they are one)."""
    empty = [c for c in ("filename", "category", "src_file") if not row[c]]
    if empty:
        return f"empty {', '.join(empty)}"
    if "/" in row["filename"] or "\\" in row["filename"]:
        return f"filename {row['filename']!r} holds a path separator; expected a file name such as 1-100032-A-0.wav"
    if row["fold"] not in {str(f) for f in FOLDS}:
        return f"fold {row['fold']!r} is not one of 1-5"
    if not (row["target"].isascii() and row["target"].isdigit() and int(row["target"]) < NUM_CLASSES):
        return f"target {row['target']!r} is not a class number 0-{NUM_CLASSES - 1}"
    if row["esc10"].lower() not in BOOLEANS:
        return f"esc10 {row['esc10']!r} is not True or False (any case) nor 1 or 0"
    return None
