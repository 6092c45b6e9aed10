"""DESED (Turpault et al., DCASE 2019; domestic sound event detection, DCASE Task 4) as the DCASE 2021-2024
baselines' `data/dcase/dataset` folder holds it.

`metadata/<split>/` holds tab-separated files, each with a header line, and `audio/<split>/` their clips:
    metadata/train/weak.tsv                                filename<TAB>event_labels
        Y-BJNMHMZDcU_50.000_60.000.wav<TAB>Alarm_bell_ringing,Dog     (clip-level labels, comma-separated)
    metadata/train/unlabel_in_domain.tsv                   filename                 (no labels)
    metadata/train/audioset_strong.tsv                     filename<TAB>onset<TAB>offset<TAB>event_label
    metadata/train/synthetic21_train/soundscapes.tsv       (strong, as above)
    metadata/validation/validation.tsv                     (strong: the real validation set papers test on)
        YOTsn73eqbfc_10.000_20.000.wav<TAB>0.163<TAB>0.665<TAB>Alarm_bell_ringing     (one event a line)
    metadata/validation/validation_durations.tsv           filename<TAB>duration   (the clips' lengths, seconds)
    metadata/validation/synthetic21_validation/soundscapes.tsv, .../durations.tsv
A file's kind is told by its header (columns by name, in any order; others, such as `confidence`, ignored): strong
(`filename`, `onset`, `offset`, `event_label`), weak (`filename`, `event_labels`), unlabeled (`filename` alone),
durations (`filename`, `duration`). A strong line with empty onset, offset and label lists a clip with no event.
The clips of `metadata/<dir>/<stem>.tsv` are in `audio/<dir>/<stem>/` (`audioset_strong` in
`audio/train/strong_label_real/`), or in the baseline's resampled copy beside it, `<folder>_16k/`, where the
original folder is not there (option audio=16k: the copy first).

Every TSV under `metadata/<split>/` of one of the three set kinds is a set, keyed by its path under `metadata/`
without `.tsv` (`train/weak`, `train/synthetic21_train/soundscapes`, `eval/synth/soundscapes`) and named by its
path under its split folder (`weak`, `synthetic21_train/soundscapes`, `synth/soundscapes`); option sets loads some,
by key or by name (where the splits loaded hold one set of that name). Hidden files and folders
(`._weak.tsv`, `.ipynb_checkpoints/`) are not read. The unlabeled set is the WAVs of its folder, as the baseline
takes them: those `unlabel_in_domain.tsv` does not list are loaded too (counted in the metadata's
`clips_unlisted`), and without that TSV, `audio/train/unlabel_in_domain[_16k]/` alone is the set.

One sample per clip: split the folder under `metadata/` (`train`, `validation`, `eval`), sample_id the file's stem
where it names an AudioSet clip (`Y<youtube id>_<start>_<end>`, unique across sets), else `<split>/<set>/<stem>`
(the synthetic sets number their soundscapes from 0 in each set: `train/synthetic21_train/soundscapes/17` and
`validation/synthetic21_validation/soundscapes/17` are two clips, and so are a `train/` and an `eval/` set of one
name's); group_id the YouTube id of an AudioSet clip (`check` reports one video in train and validation), else the
sample id. A clip listed by several sets is loaded from the first, in path order over every set found (whatever
option sets and the split ask for), whose audio folder holds it: DESED's `validation/eval_dcase2018.tsv`, a subset
of `validation.tsv` with no folder of its own, leaves its clips to validation. `extra`: `set` (the name); a strong
clip's `events` (`[onset, offset, label]` in seconds of its file, sorted by onset, offset, label: the
`event-targets` extractor's input, as the `audioset` loader's strong labels) and `labels` (its distinct labels,
sorted; `[]` for a clip with no event); a weak clip's `labels`; an unlabeled clip neither; and `audio_duration`,
from the durations file in its set's folder where that lists it, else from the clip's header.

Lines are read as pandas reads them: split at \\n, \\r\\n or \\r only, empty fields after the header's last column
(a line or header ending in a tab) ignored, a line of the filename alone a strong clip of no event. Left out and
named `file:line`: a line of another number of fields than its header, an empty filename or one holding a path
separator, an onset or offset that is no number of seconds >= 0, an offset before its onset, an event with times
and no label (each an event left out, the clip's other events kept; a clip with no line left is not loaded), an
event its clip lists again (kept once), a weak line with no label, a clip an earlier line lists again, or an
earlier set whose folder holds its audio too (a repeated entry), a clip its set's audio folder lacks (at its first
line; naming the set that loads it, where one does), a durations line that cannot be read (under the clip's sample
id; the clip's header is read instead); a TSV that is not UTF-8, of another header, or outside a split folder, is
skipped and named. No set at all stops the load, naming what was looked for.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mmdata.corpora.base import (
    LoadProblem,
    LoadResult,
    _named_columns,
    gc_paused,
    given_image_dir,
    register_corpus,
    seconds_or_none,
)
from mmdata.corpora.media_captions import (
    MediaFolders,
    media_pair,
    media_path,
    missing_media_problem,
    read_media_headers,
    regular_file_names,
    repeated_entry_problem,
    shown_path,
)
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.options import did_you_mean
from mmdata.records import EVENTS_KEY, MODALITY_DURATION_KEYS, Sample

CORPUS = "desed"
METADATA_DIR = "metadata"
AUDIO_DIR = "audio"
STRONG, WEAK, UNLABELED, DURATIONS = "strong", "weak", "unlabeled", "durations"
#: The columns that tell a TSV's kind, first kind first (a header naming them all is strong).
KIND_COLUMNS = {STRONG: ("filename", "onset", "offset", "event_label"), WEAK: ("filename", "event_labels"),
                DURATIONS: ("filename", "duration")}
UNLABELED_COLUMNS = ("filename",)
#: A set whose clips' folder is not named after its TSV: metadata/train/audioset_strong.tsv's are in
#: audio/train/strong_label_real/.
AUDIO_FOLDER_OF = {"audioset_strong": "strong_label_real"}
#: The unlabeled set (split, name) read from its audio folder where no TSV lists it.
UNLABELED_SET = ("train", "unlabel_in_domain")
#: The suffix of the baseline's resampled copy of a folder (`weak_16k/` beside `weak/`).
RESAMPLED_SUFFIX = "_16k"
#: An AudioSet clip's file stem: `Y<11-character YouTube id>_<start>_<end>` (seconds).
YOUTUBE_CLIP = re.compile(r"Y([A-Za-z0-9_-]{11})_(\d+(?:\.\d+)?)_(\d+(?:\.\d+)?)")
DURATION_KEY = MODALITY_DURATION_KEYS["audio"]


@dataclass(frozen=True)
class DesedOptions:
    #: The sets to load, joined by `+` (or commas), named by their TSV's path under metadata/<split>/ without
    #: `.tsv`: `weak`, `unlabel_in_domain`, `audioset_strong`, `synthetic21_train/soundscapes`, `validation`, ...,
    #: or under metadata/ (`eval/synth/soundscapes`: needed where two splits loaded hold a set of that name)
    #: (default: every set found).
    sets: tuple[str, ...] = ()
    #: `original`: each set's audio folder (`audio/train/weak/`), else the baseline's resampled `weak_16k/` where
    #: that folder is not there; `16k`: the resampled copy first.
    audio: Literal["original", "16k"] = "original"
    #: Folder holding the sets' audio folders (`<split>/<set>/`), relative to the root or absolute.
    audio_dir: str = AUDIO_DIR
    #: Accept audio paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False

    def __post_init__(self) -> None:
        names = [part.strip() for item in self.sets for part in str(item).split(",") if part.strip()]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"option sets={'+'.join(names)!r}: {', '.join(repeated)} named twice; expected each "
                             "set once, joined by '+' (e.g. weak+validation)")
        object.__setattr__(self, "sets", tuple(names))


@dataclass(frozen=True)
class _Tsv:
    """A set or durations file under metadata/ whose header tells its kind: its lines, the header's columns (those
    kept: pandas' unnamed index column left out, empty trailing ones dropped) and the line after the header. An
    unlabeled set read from its audio folder alone (no TSV: `listed` false) has the path its TSV would have."""

    path: Path
    split: str
    name: str  # the path under metadata/<split>/ without .tsv
    kind: str
    header: list[str]
    kept: list[int]
    lines: list[str]
    body_line: int  # the 1-based number of the first line after the header
    listed: bool = True

    @property
    def key(self) -> str:
        """The path under metadata/ without .tsv (`train/weak`): unique, where `name` may be in two splits."""
        return f"{self.split}/{self.name}"

    @property
    def folder(self) -> Path:
        return self.path.parent


@dataclass
class _Clip:
    """One clip of a set as its lines list it: the events of a strong clip, the labels of a weak one."""

    filename: str
    sample_id: str
    tsv: _Tsv
    where: str  # `file:line` of its first line (an unlisted WAV of an unlabeled set's folder: its path)
    lines: int = 1
    events: list[tuple[float, float, str, int]] | None = None  # onset, offset, label, line
    labels: list[str] | None = None

    @property
    def group_id(self) -> str:
        match = YOUTUBE_CLIP.fullmatch(file_stem(self.filename))
        return match.group(1) if match else self.sample_id

    @property
    def left_out(self) -> str:
        return "line" if self.lines <= 1 else f"its {self.lines} lines"


@dataclass
class _Located:
    clip: _Clip
    audio: str
    header: dict[str, float] = field(default_factory=dict)


@register_corpus(CORPUS, DesedOptions)
def load_desed(corpus_dir: Path, options: DesedOptions, split: str | None) -> LoadResult:
    """DESED (DCASE Task 4 sound event detection: `metadata/<split>/*.tsv` + `audio/<split>/<set>/*.wav`), a sample
    per clip of each set, a strong clip's timed events in `extra.events`.

    `split`: none or `all` for every split; else a folder under metadata/ (`train`, `validation`, `eval`).

    Example:
        >>> result = load_desed(Path("/data/dcase/dataset"), DesedOptions(sets=("validation",)), None)
        >>> result.samples[0].extra["events"][0]
        [0.163, 0.665, 'Alarm_bell_ringing']

    Raises:
        CorpusNotFoundError: no metadata/ folder or no TSV under its split folders, or none of the clips asked for
            in the audio folders.
        CorpusFormatError: TSVs none of which is a set (naming their headers and why), a DESED TSV whose header
            names a column twice, named `file:line`.
        ConfigError: a set option sets names, or a split, that is not there.
    """
    metadata = corpus_dir / METADATA_DIR
    if not metadata.is_dir():
        raise CorpusNotFoundError(f"no DESED metadata folder: {metadata} is not a folder; expected "
                                  f"{METADATA_DIR}/<split>/*.tsv (train/weak.tsv, validation/validation.tsv, ...) "
                                  "as the DCASE baseline's data/dcase/dataset holds them")
    result = LoadResult(samples=[])
    listings: dict[str, set[str]] = {}
    tsvs = _read_tsvs(corpus_dir, metadata, options, listings, result.problems)
    sets = [t for t in tsvs if t.kind != DURATIONS]
    chosen = _chosen_sets(metadata, sets, options, split)
    folders = {tsv.key: _audio_folders(corpus_dir, tsv, options, listings) for tsv in sets}
    with gc_paused():  # every set's clips, chosen or not: where a clip is loaded does not depend on options
        clips = {tsv.key: _set_clips(corpus_dir, tsv, folders[tsv.key],
                                     result.problems if tsv in chosen else []) for tsv in sets}
    owners = _owners(sets, clips, folders)
    durations = _durations([t for t in tsvs if t.kind == DURATIONS], {t.folder for t in chosen}, sets, clips,
                           result.problems)
    listed = {clip.sample_id for tsv in chosen for clip in clips[tsv.key]}
    missing = {sid for sid in listed if sid not in owners}
    located = _locate(corpus_dir, options, [c for tsv in chosen for c in clips[tsv.key]], folders, owners,
                      result.problems)
    _read_headers(corpus_dir, located, durations)
    result.samples = [_sample(item) for item in located]
    if listed and missing == listed:
        shown = "; ".join(f"{tsv.key}: {folders[tsv.key].searched_folders()}" for tsv in chosen)
        raise CorpusNotFoundError(f"none of the {len(listed)} DESED clips listed found in the audio folders of "
                                  f"{corpus_dir} ({shown}); -o audio_dir= names the folder holding <split>/<set>/ "
                                  f"({AUDIO_DIR}/ as the baseline lays it out)")
    result.metadata = {
        "sets": {tsv.key: {"file": shown_path(corpus_dir, tsv.path) if tsv.listed else None, "kind": tsv.kind,
                           "split": tsv.split, "name": tsv.name, "audio_folders": list(folders[tsv.key].folders),
                           **_unlisted_count(tsv, clips[tsv.key])} for tsv in chosen},
        "durations_files": sorted(shown_path(corpus_dir, t.path) for t in tsvs
                                  if t.kind == DURATIONS and t.folder in {s.folder for s in chosen}),
        "audio": options.audio, "clips_listed": len(listed), "clips_missing": len(missing)}
    return result


def _unlisted_count(tsv: _Tsv, clips: list[_Clip]) -> dict[str, int]:
    """An unlabeled set's `clips_unlisted`: the WAVs of its folder its TSV does not list (all, without a TSV)."""
    if tsv.kind != UNLABELED:
        return {}
    return {"clips_unlisted": sum(1 for clip in clips if not clip.where.startswith(f"{tsv.path}:"))}


def split_lines(text: str) -> list[str]:
    """`text`'s lines, split at \\n, \\r\\n and \\r only (`str.splitlines` splits at U+0085, U+2028 and others too,
    which a field may hold: the line numbers named would then be wrong)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def _tsv_paths(metadata: Path) -> list[Path]:
    """The `*.tsv` files under `metadata`, in path order; hidden files and folders (`._weak.tsv`,
    `.ipynb_checkpoints/`) left out, not read."""
    paths = []
    for folder, dirs, files in os.walk(metadata, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        paths += [Path(folder) / f for f in files if f.endswith(".tsv") and not f.startswith(".")]
    return sorted(p for p in paths if p.is_file())


def _read_tsvs(corpus_dir: Path, metadata: Path, options: DesedOptions, listings: dict[str, set[str]],
               problems: list[LoadProblem]) -> list[_Tsv]:
    """Every TSV under `metadata`'s split folders whose header tells a kind, and the unlabeled set read from its
    folder where no TSV lists it (`_folder_set`), in path order; the others named in `problems` and skipped.

    Raises:
        CorpusNotFoundError: no TSV under a split folder (and no unlabeled folder).
        CorpusFormatError: a DESED TSV (one with a `filename` column) whose header names a column twice; TSVs none
            of which is a set, naming their headers.
    """
    paths = _tsv_paths(metadata)
    tsvs, skipped = [], []
    for path in paths:
        relative = path.relative_to(metadata)
        if len(relative.parts) < 2:
            problems.append(LoadProblem(None, str(path), f"a TSV directly in {METADATA_DIR}/, not in a split folder "
                                        f"({METADATA_DIR}/train/, {METADATA_DIR}/validation/, ...); file skipped"))
            continue
        tsv, where, reason = _read_tsv(path, relative)
        if tsv is None:
            problems.append(LoadProblem(None, where, f"{reason}; file skipped"))
            skipped.append(f"{where} ({reason})")
            continue
        tsvs.append(tsv)
    unlabeled = _folder_set(corpus_dir, metadata, tsvs, options, listings)
    if unlabeled is not None:
        tsvs = sorted([*tsvs, unlabeled], key=lambda t: t.path)
    if any(t.kind != DURATIONS for t in tsvs):
        return tsvs
    if not paths or (not tsvs and not skipped):
        raise CorpusNotFoundError(f"no DESED set in {corpus_dir}: no TSV under {metadata}/<split>/; expected "
                                  f"{METADATA_DIR}/train/weak.tsv, {METADATA_DIR}/validation/validation.tsv, ... "
                                  "as the DCASE baseline's data/dcase/dataset holds them")
    raise CorpusFormatError(f"no DESED set under {metadata}: none of its {len(paths)} TSVs has the header of a "
                            f"strong ({'<tab>'.join(KIND_COLUMNS[STRONG])}), weak "
                            f"({'<tab>'.join(KIND_COLUMNS[WEAK])}) or unlabeled set (filename); "
                            f"{'; '.join(skipped[:3]) or 'only durations files'}")


def _folder_set(corpus_dir: Path, metadata: Path, tsvs: list[_Tsv], options: DesedOptions,
                listings: dict[str, set[str]]) -> _Tsv | None:
    """The unlabeled set `train/unlabel_in_domain` read from its audio folder (every WAV there, as the baseline
    takes them) where no TSV is that set and the folder (or its `_16k` copy) is there."""
    split, name = UNLABELED_SET
    if any(t.split == split and t.name == name and t.kind != DURATIONS for t in tsvs):
        return None
    tsv = _Tsv(metadata / split / f"{name}.tsv", split, name, UNLABELED, list(UNLABELED_COLUMNS), [0], [], 2,
               listed=False)
    folders = _audio_folders(corpus_dir, tsv, options, listings)
    return tsv if any((corpus_dir / f).is_dir() for f in folders.folders) else None


def _decoded(path: Path) -> tuple[str | None, str, str]:
    """The UTF-8 text of `path` (a BOM dropped), or None, the `file:line` of its first byte that is no UTF-8 and
    why."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig"), "", ""
    except UnicodeDecodeError as e:
        line = len(split_lines(data[:e.start].decode("utf-8-sig", errors="replace")))
        return None, f"{path}:{line}", (f"not valid UTF-8 (byte {data[e.start]:#04x} at offset {e.start}); "
                                        "re-encode the file as UTF-8")


def _read_tsv(path: Path, relative: Path) -> tuple[_Tsv | None, str, str]:
    """The TSV at `path` with its kind, or None, the `file:line` and why it is no DESED file (not UTF-8, no
    header, another header).

    Raises:
        CorpusFormatError: a DESED header (one naming `filename`) naming a column twice or none.
    """
    text, where, reason = _decoded(path)
    if text is None:
        return None, where, reason
    lines = split_lines(text)
    number = next((n for n, line in enumerate(lines) if line.strip()), None)
    if number is None:
        return None, f"{path}:1", "empty file; expected a header line (filename<tab>...)"
    header = [h.strip() for h in lines[number].split("\t")]
    while len(header) > 1 and not header[-1]:  # a header ending in a tab: pandas' empty column, ignored
        header.pop()
    shown = "<tab>".join(header)[:120]
    where = f"{path}:{number + 1}"
    if "filename" not in header:
        return None, where, f"header {shown!r} has no filename column; not a DESED set"
    kept = _named_columns(where, header, "\t")
    named = {header[i] for i in kept}
    kind = next((k for k, columns in KIND_COLUMNS.items() if set(columns) <= named), None)
    if kind is None and named == set(UNLABELED_COLUMNS):
        kind = UNLABELED
    if kind is None:
        return None, where, (f"header {shown!r} is none of a strong set's ({', '.join(KIND_COLUMNS[STRONG])}), a "
                             f"weak one's ({', '.join(KIND_COLUMNS[WEAK])}), an unlabeled one's (filename alone) or "
                             f"a durations file's ({', '.join(KIND_COLUMNS[DURATIONS])})")
    name = relative.relative_to(relative.parts[0]).with_suffix("").as_posix()
    return _Tsv(path, relative.parts[0], name, kind, header, kept, lines, number + 2), "", ""


def _chosen_sets(metadata: Path, sets: list[_Tsv], options: DesedOptions, split: str | None) -> list[_Tsv]:
    """The sets option sets and `split` ask for (every set, in path order, by default). Option sets names a set
    by its key (`eval/synth/soundscapes`) or by its name (`synth/soundscapes`) where the splits loaded hold one
    set of that name.

    Raises:
        ConfigError: a set or split that is not there, a name two sets loaded have, a set named twice.
    """
    splits = sorted({t.split for t in sets})
    if split not in (None, "all") and split not in splits:
        raise ConfigError(f"DESED under {metadata} has no split {split!r}; expected one of {['all', *splits]} "
                          f"(the folders under {METADATA_DIR}/ holding a set)")
    in_split = [t for t in sets if split in (None, "all", t.split)]
    if not options.sets:
        return in_split
    keys, names = [t.key for t in sets], list(dict.fromkeys(t.name for t in sets))
    wanted: dict[str, str] = {}  # key -> the option's word for it
    for given in options.sets:
        if given in keys:
            found = [t for t in sets if t.key == given]
        elif given in names:
            found = [t for t in in_split if t.name == given]
            if len(found) > 1:
                raise ConfigError(f"option sets: {given!r} is a set of {len(found)} splits "
                                  f"({', '.join(t.key for t in found)}); name one by its path under "
                                  f"{METADATA_DIR}/ ({found[-1].key}), or pick the split with --split")
        else:
            raise ConfigError(f"option sets: no set {given!r} in {metadata}{did_you_mean(given, names + keys)}; "
                              f"sets there: {'+'.join(names)} (a TSV's path under {METADATA_DIR}/<split>/ without "
                              f".tsv, or under {METADATA_DIR}/ where two splits hold one: {'+'.join(keys)})")
        for tsv in found:
            if tsv.key in wanted:
                raise ConfigError(f"option sets: {wanted[tsv.key]!r} and {given!r} both name set {tsv.key}; "
                                  "expected each set once")
            wanted[tsv.key] = given
    chosen = [t for t in in_split if t.key in wanted]
    if not chosen:
        raise ConfigError(f"option sets={'+'.join(options.sets)!r} and split {split!r} leave no set to load; sets of "
                          f"split {split!r}: {'+'.join(t.name for t in sets if t.split == split)}")
    return chosen


def _durations(files: list[_Tsv], folders: set[Path], sets: list[_Tsv], clips: dict[str, list[_Clip]],
               problems: list[LoadProblem]) -> dict[tuple[Path, str], float]:
    """(folder, file name) -> seconds, from the durations files in the chosen sets' `folders`; a line that cannot be
    read, or names a clip an earlier line named, is named in `problems` under the clip's sample id (that of the
    first set of the folder listing it, else of the folder's first set), the clip's header read instead or the
    first line kept."""
    ids = {}
    for tsv in sets:
        for clip in clips[tsv.key]:
            ids.setdefault((tsv.folder, clip.filename), clip.sample_id)
    first_set = {}
    for tsv in sets:
        first_set.setdefault(tsv.folder, tsv)

    def sample_id(folder: Path, name: str) -> str | None:
        if not name:
            return None
        return ids.get((folder, name)) or (_sample_id(first_set[folder], name) if folder in first_set
                                           else Path(name).stem)

    seconds: dict[tuple[Path, str], float] = {}
    first_at: dict[tuple[Path, str], str] = {}
    for tsv in (t for t in files if t.folder in folders):
        for number, values in _records(tsv):
            where = f"{tsv.path}:{number}"
            row, reason = _row(tsv, values)
            if row is None:
                problems.append(LoadProblem(None, where, f"{reason}; line left out (the clip's length is read from "
                                            "its header)"))
                continue
            name, value = row["filename"], seconds_or_none(row["duration"])
            if value is None or not name:
                problems.append(LoadProblem(sample_id(tsv.folder, name), where, (
                    f"duration {row['duration']!r} is not a number of seconds >= 0" if name else "empty filename")
                    + "; line left out (the clip's length is read from its header)"))
                continue
            key = (tsv.folder, name)
            if key in first_at:
                problems.append(repeated_entry_problem(sample_id(tsv.folder, name), where, f"the duration of {name}",
                                                       "again", first_at[key], "line"))
                continue
            first_at[key], seconds[key] = where, value
    return seconds


def _records(tsv: _Tsv) -> Iterator[tuple[int, list[str]]]:
    """(line number, tab-separated fields) of each line after the header that is not blank."""
    for number, line in enumerate(tsv.lines[tsv.body_line - 1:], start=tsv.body_line):
        if line.strip():
            yield number, line.split("\t")


def _row(tsv: _Tsv, values: list[str]) -> tuple[dict[str, str] | None, str]:
    """A line's fields by column name (stripped), or None and why: another number of fields than the header.
    As pandas reads them: empty fields after the header's last column are ignored (a line ending in a tab), and a
    line of the filename alone (first column) has its other columns empty."""
    size = len(tsv.header)
    if len(values) > size and not any(v.strip() for v in values[size:]):
        values = values[:size]
    elif len(values) == 1 and size > 1 and tsv.header[0] == "filename":
        values = values + [""] * (size - 1)
    if len(values) != size:
        shown = "\\t".join(values)[:120]
        return None, (f"expected {size} tab-separated fields ({', '.join(tsv.header)}), got "
                      f"{len(values)}: {shown!r}")
    return {tsv.header[i]: values[i].strip() for i in tsv.kept}, ""


def _sample_id(tsv: _Tsv, filename: str) -> str:
    """The file's stem where it names an AudioSet clip (unique across sets), else `<split>/<set>/<stem>`."""
    stem = file_stem(filename)
    return stem if YOUTUBE_CLIP.fullmatch(stem) else f"{tsv.key}/{stem}"


def file_stem(filename: str) -> str:
    """`Path(filename).stem` of a bare file name (no separator: `_filename_reason`), without making a Path: a load
    takes one per line and clip (~100,000 for DESED), where pathlib's parsing cost ~0.8 s."""
    dot = filename.rfind(".")
    return filename[:dot] if 0 < dot < len(filename) - 1 else filename


def _set_clips(corpus_dir: Path, tsv: _Tsv, folders: MediaFolders, problems: list[LoadProblem]) -> list[_Clip]:
    """The clips a set's lines list, in the order of their first line (an unlabeled set's: then the WAVs of its
    folder it does not list, by name); each line that is not what its kind writes is named in `problems`."""
    clips: dict[str, _Clip] = {}
    first_line: dict[str, str] = {}  # a strong clip's first line, good or not
    for number, values in _records(tsv):
        where = f"{tsv.path}:{number}"
        row, reason = _row(tsv, values)
        filename = row["filename"] if row is not None else ""
        reason = reason or _filename_reason(filename)
        if reason:
            problems.append(LoadProblem(None, where, f"{reason}; line left out"))
            continue
        sample_id = _sample_id(tsv, filename)
        if tsv.kind == STRONG:
            first_line.setdefault(sample_id, where)
            _add_strong_line(tsv, clips, row, sample_id, first_line[sample_id], number, problems)
            continue
        if sample_id in clips:  # a weak or unlabeled set lists a clip once
            problems.append(repeated_entry_problem(sample_id, where, f"clip {filename}", "again",
                                                   clips[sample_id].where, "line"))
            continue
        if tsv.kind == WEAK:
            labels, reason = _weak_labels(row["event_labels"])
            if reason:
                problems.append(LoadProblem(sample_id, where, f"{reason}; line left out"))
                continue
            clips[sample_id] = _Clip(filename, sample_id, tsv, where, labels=labels)
        else:
            clips[sample_id] = _Clip(filename, sample_id, tsv, where)
    if tsv.kind == UNLABELED:
        listed = {clip.filename for clip in clips.values()}
        folder = folders.folders[0]  # the set's folder where one is there (`_audio_folders`)
        if (corpus_dir / folder).is_dir():
            names = folders.listings.setdefault(folder, set(regular_file_names(corpus_dir / folder)))
            for name in sorted(n for n in names if n.lower().endswith(".wav") and not n.startswith(".")):
                sample_id = _sample_id(tsv, name)
                if name not in listed and sample_id not in clips:
                    clips[sample_id] = _Clip(name, sample_id, tsv, str(corpus_dir / folder / name))
    return [_sorted_events(clip, problems) for clip in clips.values()]


def _filename_reason(filename: str) -> str:
    if not filename:
        return "empty filename"
    if "/" in filename or "\\" in filename:
        return (f"filename {filename!r} holds a path separator; expected a file name such as "
                "Y-BJNMHMZDcU_50.000_60.000.wav")
    return ""


def _add_strong_line(tsv: _Tsv, clips: dict[str, _Clip], row: dict[str, str], sample_id: str, first: str,
                     number: int, problems: list[LoadProblem]) -> None:
    """Add a strong line's event (none for a line of empty onset, offset and label) to its clip in `clips` (made
    with `first`, its first line, where new), or name why it is no event."""
    onset_text, offset_text, label = row["onset"], row["offset"], row["event_label"]
    clip = clips.get(sample_id)
    if not (onset_text or offset_text or label):  # a clip with no event
        if clip is None:
            clips[sample_id] = _Clip(row["filename"], sample_id, tsv, first, events=[])
        else:
            clip.lines += 1
        return
    reason = _event_reason(onset_text, offset_text, label)
    if reason:
        problems.append(LoadProblem(sample_id, f"{tsv.path}:{number}", f"{reason}; event left out"))
        return
    if clip is None:
        clip = clips[sample_id] = _Clip(row["filename"], sample_id, tsv, first, lines=0, events=[])
    clip.lines += 1
    clip.events.append((float(onset_text), float(offset_text), label, number))


def _event_reason(onset_text: str, offset_text: str, label: str) -> str:
    """Why a strong line's onset, offset and label are no event ("" where they are one)."""
    onset, offset = seconds_or_none(onset_text), seconds_or_none(offset_text)
    for name, text, value in (("onset", onset_text, onset), ("offset", offset_text, offset)):
        if value is None:
            return f"{name} {text!r} is not a number of seconds >= 0 (expected e.g. 0.163, seconds in the clip)"
    if offset < onset:
        return f"offset {offset_text} is before onset {onset_text}"
    if not label:
        return f"empty event_label with onset {onset_text} and offset {offset_text}"
    return ""


def _weak_labels(text: str) -> tuple[list[str], str]:
    """A weak line's labels (distinct, sorted), or why there are none."""
    labels = [label.strip() for label in text.split(",")]
    if not text:
        return [], "empty event_labels; expected the clip's labels joined by commas (e.g. Alarm_bell_ringing,Dog)"
    if not all(labels):
        return [], f"event_labels {text!r} holds an empty label; expected labels joined by commas"
    return sorted(set(labels)), ""


def _sorted_events(clip: _Clip, problems: list[LoadProblem]) -> _Clip:
    """A strong clip with its events sorted by onset, offset, label, an event listed again named and kept once."""
    if clip.events is None:
        return clip
    clip.events.sort()
    kept: list[tuple[float, float, str, int]] = []
    for event in clip.events:
        if kept and kept[-1][:3] == event[:3]:
            onset, offset, label, number = event
            problems.append(repeated_entry_problem(
                clip.sample_id, f"{clip.tsv.path}:{number}", f"event {label} {onset:g}-{offset:g} s of clip "
                f"{clip.filename}", "again", f"{clip.tsv.path}:{kept[-1][3]}", "event"))
            continue
        kept.append(event)
    clip.events = kept
    clip.labels = sorted({event[2] for event in kept})
    return clip


def _owners(sets: list[_Tsv], clips: dict[str, list[_Clip]], folders: dict[str, MediaFolders]) -> dict[str, _Clip]:
    """sample id -> the listing that loads it: the first, in path order over every set (whatever options and split
    load), whose audio folder holds its file. A set listing a clip without its audio (DESED's eval_dcase2018.tsv,
    a subset of validation.tsv) so leaves it to the set that has it."""
    owners: dict[str, _Clip] = {}
    for tsv in sets:
        found = folders[tsv.key]
        for clip in clips[tsv.key]:
            if clip.sample_id not in owners and found.find(clip.filename) is not None:
                owners[clip.sample_id] = clip
    return owners


def _audio_folders(corpus_dir: Path, tsv: _Tsv, options: DesedOptions, listings: dict[str, set[str]]) -> MediaFolders:
    """The folder of a set's clips: `<audio_dir>/<split>/<dir>/<stem>/` (audioset_strong's `strong_label_real/`), else
    its resampled copy `<stem>_16k/` (option audio=16k: that first), the first of the two that is there (both
    named where neither is). `listings`: the folder listings all sets share."""
    base = given_image_dir(options.audio_dir)
    parent = Path(tsv.name).parent.as_posix()
    stem = AUDIO_FOLDER_OF.get(tsv.name, Path(tsv.name).name)
    folder = "/".join(p for p in (base, tsv.split, "" if parent == "." else parent, stem) if p)
    order = [folder, folder + RESAMPLED_SUFFIX]
    if options.audio == "16k":
        order.reverse()
    there = [f for f in order if (corpus_dir / f).is_dir()]
    return MediaFolders(corpus_dir, there[:1] or order, listings)


def _locate(corpus_dir: Path, options: DesedOptions, clips: list[_Clip], folders: dict[str, MediaFolders],
            owners: dict[str, _Clip], problems: list[LoadProblem]) -> list[_Located]:
    """Each clip its listing loads (`_owners`) with its audio path; a listing whose folder lacks the clip is named
    (saying which set loads it, where one does), and one whose clip an earlier set with its audio loads is a
    repeated entry (a leak where their splits differ)."""
    located = []
    for clip in clips:
        found, owner = folders[clip.tsv.key], owners.get(clip.sample_id)
        if owner is not None and owner is not clip and found.find(clip.filename) is not None:
            listed = f"in set {_shown(owner.tsv, clip.tsv)!r} too" + (
                f" (split {owner.tsv.split!r}, a leak between them)" if owner.tsv.split != clip.tsv.split else "")
            problems.append(repeated_entry_problem(clip.sample_id, clip.where, f"clip {clip.filename} of set "
                                                   f"{_shown(clip.tsv, owner.tsv)!r}", listed, owner.where,
                                                   clip.left_out))
            continue
        audio = None if owner is not clip else media_path(corpus_dir, found, clip.filename, where=clip.where,
                                                          allow_outside=options.allow_outside_root)
        if audio is None:
            problem = missing_media_problem(corpus_dir, found, clip.filename, clip.sample_id, clip.where, "audio",
                                            left_out=clip.left_out)
            if owner is not None:
                problem = LoadProblem(problem.sample_id, problem.path, f"{problem.reason} (set "
                                      f"{_shown(owner.tsv, clip.tsv)!r} of split {owner.tsv.split!r} holds its "
                                      f"audio: the clip is loaded there, at {owner.where})")
            problems.append(problem)
            continue
        located.append(_Located(clip, audio))
    return located


def _shown(tsv: _Tsv, other: _Tsv) -> str:
    """How a message names `tsv` beside `other`: its name, its key where both have that name."""
    return tsv.key if tsv.name == other.name else tsv.name


def _read_headers(corpus_dir: Path, located: list[_Located], durations: dict[tuple[Path, str], float]) -> None:
    """Each clip's `audio_duration`: its durations file's where that lists it, else its header's (read together,
    `read_media_headers`)."""
    unknown = []
    for item in located:
        seconds = durations.get((item.clip.tsv.folder, item.clip.filename))
        if seconds is None:
            unknown.append(item)
        else:
            item.header = {DURATION_KEY: round(seconds, 6)}
    for item, header in zip(unknown, read_media_headers([media_pair(corpus_dir, None, i.audio) for i in unknown])):
        item.header = header


def _sample(item: _Located) -> Sample:
    clip = item.clip
    extra: dict[str, Any] = {"set": clip.tsv.name}
    if clip.events is not None:
        extra[EVENTS_KEY] = [[onset, offset, label] for onset, offset, label, _ in clip.events]
    if clip.labels is not None:
        extra["labels"] = clip.labels
    extra.update(item.header)
    return Sample(sample_id=clip.sample_id, corpus=CORPUS, split=clip.tsv.split, group_id=clip.group_id,
                  audio=item.audio, extra=extra)
