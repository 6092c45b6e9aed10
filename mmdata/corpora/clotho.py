"""Clotho v2.1 (audio captioning, audio-text retrieval) as it unzips: caption CSVs beside the audio folders.

clotho_captions_development.csv (validation, evaluation alike; UTF-8) looks like:
    file_name,caption_1,caption_2,caption_3,caption_4,caption_5
    Distorted AM Radio noise.wav,A muddled noise of broken channel of the TV,"A television blares ...",...
and `development/Distorted AM Radio noise.wav` is the sound (44.1 kHz mono, 15 to 30 s). The optional
clotho_metadata_<split>.csv (ISO-8859-1 in v2.1, read as UTF-8 where it is that) looks like:
    file_name,keywords,sound_id,sound_link,start_end_samples,manufacturer,license
    Radio Garble.wav,garble;police;radio,80399,https://freesound.org/people/Benboncan/sounds/80399,"[1024, 845524]",...
Its fields go to the sample's `extra` (keywords as a list), with the sound's length from its header
(`audio_duration`, which `check` holds the audio tables to). The CSVs sit in the root or
`clotho_csv_files/`, the audio folders in the root or `clotho_audio_files/` (as aac-datasets and the
DCASE baselines lay them out).

One sample per sound file with its captions in column order; sample_id = group_id = the file stem
(`Distorted AM Radio noise`). The splits are train (development), val (validation) and test
(evaluation), the roles DCASE gives them, so `fuse` normalizes on the development sounds; the
release's name is in `extra.clotho_split`. A blank caption is left out and reported; a row with no
caption, a row whose sound is not in its folder, and a file listed again (in its own or another
split's CSV: the first, in development, validation, evaluation order, is kept) are left out and
reported naming `file:line`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.corpora.base import (
    LoadProblem,
    LoadResult,
    expect,
    given_image_dir,
    read_csv_rows,
    register_corpus,
)
from mmdata.corpora.media_captions import (
    MediaFolders,
    check_split,
    find_csv_dir,
    listed_again,
    media_pair,
    media_path,
    missing_media_problem,
    read_media_headers,
    repeated_entry_problem,
    require_captions_files,
)
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

CORPUS = "clotho"
#: Clotho's split names and the names used here, in the order that decides a file listed twice.
SPLITS = {"development": "train", "validation": "val", "evaluation": "test"}
CAPTIONS_FILE = "clotho_captions_{}.csv"
METADATA_FILE = "clotho_metadata_{}.csv"
CSV_DIRS = ("", "clotho_csv_files")
AUDIO_DIRS = ("", "clotho_audio_files")
FILE_COLUMN = "file_name"
_CAPTION_COLUMN = re.compile(r"caption_(\d+)")
#: The metadata columns kept in `extra` (keywords split at ';').
METADATA_COLUMNS = ("keywords", "sound_id", "sound_link", "start_end_samples", "manufacturer", "license")
_SAMPLE_RANGE = re.compile(r"\[\s*(\d+)\s*,\s*(\d+)\s*\]")


@dataclass(frozen=True)
class ClothoOptions:
    #: Folder of the clotho_captions_*.csv (and clotho_metadata_*.csv) files, relative to the root
    #: (default: the root, else `clotho_csv_files/`).
    csv_dir: str | None = None
    #: Folder holding the development/, validation/ and evaluation/ audio folders, relative to the root
    #: (default: the root, else `clotho_audio_files/`).
    audio_dir: str | None = None
    #: Accept audio paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@dataclass
class _Loading:
    """What the splits read so far leave for the next: the ids taken (and where) and the result."""

    result: LoadResult = field(default_factory=lambda: LoadResult(samples=[]))
    first_at: dict[str, tuple[str, str]] = field(default_factory=dict)  # sample id -> (`file:line`, split) of its row


@register_corpus(CORPUS, ClothoOptions)
def load_clotho(corpus_dir: Path, options: ClothoOptions, split: str | None) -> LoadResult:
    """Clotho v2.1 (`clotho_captions_<split>.csv` + `<split>/*.wav`), one sample per sound with its captions.

    `split`: none or `all` for every split whose captions file is there; `train` (development), `val`
    (validation) or `test` (evaluation) for one.

    Example:
        >>> result = load_clotho(Path("/data/clotho"), ClothoOptions(), "train")
        >>> len(result.samples), len(result.samples[0].captions)
        (3839, 5)

    Raises:
        CorpusNotFoundError: no captions file (or none of the split asked), or the audio folder of a split loaded.
        CorpusFormatError: a malformed CSV (no `file_name` or `caption_N` column, a row without a file name),
            named `file:line`.
        ConfigError: an unknown split, or Clotho's own name for one (`development`: pass `train`).
    """
    wanted = check_split(split, tuple(SPLITS.values()), SPLITS, "Clotho")
    file_names = {SPLITS[name]: CAPTIONS_FILE.format(name) for name in SPLITS}
    csv_dir = find_csv_dir(corpus_dir, options.csv_dir, CSV_DIRS, file_names.values())
    files = {name: csv_dir / CAPTIONS_FILE.format(name) for name in SPLITS
             if (csv_dir / CAPTIONS_FILE.format(name)).is_file()}
    require_captions_files(corpus_dir, csv_dir, (SPLITS[name] for name in files), corpus="Clotho",
                           file_names=file_names, folders=CSV_DIRS, wanted=wanted)
    loading = _Loading()
    for name, path in files.items():
        _load_split(corpus_dir, options, name, path, wanted, loading)
    loading.result.metadata = {"captions_files": {SPLITS[n]: p.name for n, p in files.items()}}
    return loading.result


def _load_split(corpus_dir: Path, options: ClothoOptions, name: str, path: Path, wanted: str | None,
                loading: _Loading) -> None:
    """Add the samples of one split's captions file (all of them are read, so that a file another split
    lists too is found whatever split is asked; only split `wanted` is loaded and reported). Every row's sound
    is found first, then the sounds' headers are read together (`read_media_headers`: on threads where
    `MMDATA_HEADER_THREADS` says so), then the samples are added in the rows' order."""
    split = SPLITS[name]
    header, rows = read_csv_rows(path)
    captions = _caption_columns(path, header)
    loaded = wanted in (None, split)
    folders = _audio_folders(corpus_dir, options.audio_dir, name) if loaded else None
    metadata = _read_metadata(path.parent / METADATA_FILE.format(name)) if loaded else {}
    problems = loading.result.problems
    found: list[tuple[Sample, dict[str, Any] | None]] = []  # each sample found, with its metadata fields
    for line, row in rows:
        where = f"{path}:{line}"
        file_name = row[FILE_COLUMN]
        expect(bool(file_name) and "/" not in file_name, where,
               f"expected a sound file name in column {FILE_COLUMN}, got {file_name!r}")
        sample_id = Path(file_name).stem
        first = loading.first_at.get(sample_id)
        if first is not None:
            if loaded:
                problems.append(repeated_entry_problem(sample_id, where, file_name, listed_again(first[1], split),
                                                       first[0], "this row"))
            continue
        loading.first_at[sample_id] = (where, split)
        if not loaded:
            continue
        sample = _sample(corpus_dir, options, folders, split, name, row, captions, where, problems)
        if sample is not None:
            found.append((sample, metadata.get(file_name)))
    loading.result.samples += _with_headers(corpus_dir, found)


def _sample(corpus_dir: Path, options: ClothoOptions, folders: MediaFolders, split: str, name: str,
            row: dict[str, str], captions: list[tuple[int, str]], where: str,
            problems: list[LoadProblem]) -> Sample | None:
    """The sample of one captions row (its sound's header not read yet), or None (its problem recorded) when it
    has no caption or no sound."""
    file_name = row[FILE_COLUMN]
    sample_id = Path(file_name).stem
    kept = [(number, row[column]) for number, column in captions if row[column]]
    for number, column in captions:
        if not row[column]:
            problems.append(LoadProblem(sample_id, where, f"empty {column} of {file_name}; that caption left out"))
    if not kept:
        problems.append(LoadProblem(sample_id, where, f"{file_name} has no caption; row left out"))
        return None
    audio = media_path(corpus_dir, folders, file_name, where=where, allow_outside=options.allow_outside_root)
    if audio is None:
        problems.append(missing_media_problem(corpus_dir, folders, file_name, sample_id, where, "audio"))
        return None
    return Sample(sample_id=sample_id, corpus=CORPUS, split=split, group_id=sample_id, audio=audio,
                  captions=tuple(text for _, text in kept),
                  extra={"clotho_split": name, "caption_numbers": [number for number, _ in kept]})


def _with_headers(corpus_dir: Path, found: list[tuple[Sample, dict[str, Any] | None]]) -> list[Sample]:
    """The samples `found`, in order, each with its sound's length from its header (`audio_duration`, all the
    headers read in one `read_media_headers` call) and then its metadata fields."""
    headers = read_media_headers([media_pair(corpus_dir, None, sample.audio) for sample, _ in found])
    for (sample, fields), header in zip(found, headers, strict=True):
        sample.extra.update(header)
        sample.extra.update(fields or {})
    return [sample for sample, _ in found]


def _caption_columns(path: Path, header: list[str]) -> list[tuple[int, str]]:
    """(number, column) of the `caption_N` columns, by number.

    Raises:
        CorpusFormatError: no `file_name` or no `caption_N` column, at `file:1`.
    """
    captions = sorted((int(m.group(1)), c) for c in header if (m := _CAPTION_COLUMN.fullmatch(c)))
    if FILE_COLUMN not in header or not captions:
        raise CorpusFormatError(
            f"{path}:1: expected the header 'file_name,caption_1,...,caption_5', got {','.join(header)[:120]!r}; "
            "is this a Clotho captions file?")
    return captions


def _read_metadata(path: Path) -> dict[str, dict[str, Any]]:
    """file_name -> the metadata fields kept, from a clotho_metadata_<split>.csv (none when it is absent)."""
    if not path.is_file():
        return {}
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:  # v2.1's metadata files are ISO-8859-1, where every byte is a character
        text = data.decode("iso-8859-1")
    header, rows = read_csv_rows(path, text=text)
    expect(FILE_COLUMN in header, f"{path}:1", f"expected a {FILE_COLUMN} column (file_name,keywords,sound_id,...), "
           f"got {','.join(header)[:120]!r}")
    return {row[FILE_COLUMN]: _metadata_fields(row) for _, row in rows}


def _metadata_fields(row: dict[str, str]) -> dict[str, Any]:
    """The kept metadata of a row: keywords as a list, start_end_samples as [start, end] where it is one."""
    fields: dict[str, Any] = {c: row[c] for c in METADATA_COLUMNS if row.get(c)}
    if "keywords" in fields:
        fields["keywords"] = [k.strip() for k in fields["keywords"].split(";") if k.strip()]
    if "start_end_samples" in fields and (m := _SAMPLE_RANGE.fullmatch(fields["start_end_samples"])):
        fields["start_end_samples"] = [int(m.group(1)), int(m.group(2))]
    return fields


def _audio_folders(corpus_dir: Path, audio_dir: str | None, name: str) -> MediaFolders:
    """The folder of split `name`'s sounds (`<audio_dir>/<name>/`).

    Raises:
        CorpusNotFoundError: no such folder where the split is loaded.
    """
    parents = (given_image_dir(audio_dir),) if audio_dir is not None else AUDIO_DIRS
    found = next((f"{p}/{name}" if p else name for p in parents if (corpus_dir / p / name).is_dir()), None)
    if found is None:
        looked = " or ".join(str(corpus_dir / p / name) for p in parents)
        raise CorpusNotFoundError(
            f"Clotho audio folder {name}/ not found ({looked}); unzip clotho_audio_{name}.7z there (option "
            f"audio_dir names the folder holding it), or pass --split to load another split")
    return MediaFolders(corpus_dir, [found])
