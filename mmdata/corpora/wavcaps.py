"""WavCaps (Mei et al., 2023; audio-language pretraining) as its Hugging Face release (`cvssp/WavCaps`) unpacks.

Four sources, each a JSON file of one caption per sound (ChatGPT's rewrite of the crawled description):
    json_files/AudioSet_SL/as_final.json         {"num_captions_per_audio": 1, "data": [
    json_files/BBC_Sound_Effects/bbc_final.json      {"id": "Y7fmOlUlwoNg.wav", "caption": "A dog barks.",
    json_files/FreeSound/fsd_final.json               "duration": 10.0, "audio": "wav_path"}, ...]}
    json_files/SoundBible/sb_final.json
The fields besides id, caption and duration differ per source (FreeSound: file_name, href, tags, author,
description, download_link; SoundBible: title, description, author, href; BBC: description, category,
download_link); `audio` and `wav_path` name paths on the authors' machines and are not read. The sounds are
`<id>.flac` (AudioSet_SL's ids end in `.wav`: `Y7fmOlUlwoNg.flac`) in one folder per source, as the
zip parts of `Zip_files/<source>/` unzip (`mnt/fast/.../waveforms/<source>_flac/`) or as aac-datasets moves
them (`Audio/<source>/`). `json_files/blacklist/blacklist_exclude_*.json` list, per source
(`{"AudioSet": ["Y...wav", ...], "FreeSound": ["322466", ...]}`), the sounds that are in AudioCaps or Clotho
(`all_ac`: every split; `test_ac`: their val and test sets) or in UrbanSound8K, ESC-50 and VGGSound
(`ub8k_esc50_vggsound`).

WavCaps is a pretraining set: it publishes no val or test split, so every sample is in split `train`.
One sample per entry: sample_id = group_id = `<source>/<id>` (`AudioSet_SL/Y7fmOlUlwoNg`, the id without
an audio suffix), captions its caption; `extra` holds the source, the JSON's id and duration
(`wavcaps_duration`: mmdata reads `duration` as the media's length, which the header gives), the source's
other fields and AudioSet's YouTube id, and the sound's length from its header (`audio_duration`). The entries
`test_ac` lists are left out by default, as the authors pretrain (`-o blacklist=none` keeps them), their count
per source logged and kept in the load's metadata. An entry that is not an object, without an id or caption, with
a blank caption or an id listed again, and an entry whose sound is not there, are left out and named in the
errors table (`file:line:column: data[i]`).
"""
from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from mmdata.corpora.base import (
    JsonLocator,
    LoadProblem,
    LoadResult,
    expect,
    given_image_dir,
    json_number,
    read_json,
    register_corpus,
    short_repr,
    text_problem,
)
from mmdata.corpora.media_captions import (
    MediaFolders,
    check_split,
    find_csv_dir,
    first_media_path,
    holds_file_with_suffix,
    media_pair,
    missing_names_problem,
    read_media_headers,
    repeated_entry_problem,
    require_captions_files,
    shown_path,
)
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError, MmdataError
from mmdata.records import Sample

log = logging.getLogger(__name__)

CORPUS = "wavcaps"
SPLIT = "train"
Source = Literal["AudioSet_SL", "BBC_Sound_Effects", "FreeSound", "SoundBible"]
SOURCES: tuple[str, ...] = get_args(Source)
#: Each source's JSON file, as `<source>/<name>` under the JSON folder; some downloads name SoundBible's
#: `json_files_SoundBible_sb_final.json`. FreeSound's `fsd_final_2s.json` (a subset) is not read.
JSON_FILES = {"AudioSet_SL": ("as_final.json",), "BBC_Sound_Effects": ("bbc_final.json",),
              "FreeSound": ("fsd_final.json",), "SoundBible": ("sb_final.json", "json_files_SoundBible_sb_final.json")}
#: Where the JSON folders sit, relative to the root: the release's `json_files/`, aac-datasets' `WavCaps/json_files/`,
#: the GitHub repository's `data/json_files/`, the root itself.
JSON_DIRS = ("json_files", "WavCaps/json_files", "data/json_files", "")
BLACKLIST_DIR = "blacklist"
BLACKLIST_PREFIX = "blacklist_exclude_"
#: The blacklist applied by default: the one the WavCaps authors pretrain with (their `pretrain.yaml`), which leaves
#: out AudioCaps' and Clotho's val and test sounds and keeps their train sounds and the UrbanSound8K, ESC-50 and
#: VGGSound overlaps (`all_ac`, `ub8k_esc50_vggsound`: to be asked for).
DEFAULT_BLACKLIST = ("test_ac",)
#: What the release's blacklists list, as the warning of a load names it.
BLACKLIST_CONTENTS = {"test_ac": "AudioCaps' and Clotho's val and test sounds",
                      "all_ac": "every AudioCaps and Clotho sound, train ones too",
                      "ub8k_esc50_vggsound": "sounds also in UrbanSound8K, ESC-50 or VGGSound"}
#: The blacklists' keys and the sources they name.
BLACKLIST_KEYS = {"AudioSet": "AudioSet_SL", "FreeSound": "FreeSound", **{s: s for s in SOURCES}}
#: The folders holding the per-source audio folders, relative to the root: the root, aac-datasets' `Audio/`,
#: the unzipped `Zip_files/`; in each, `<source>/`, `<source>_flac/` and the path the release's zips hold
#: (`ZIP_INNER_DIR/<source>_flac/`, also under `<source>/`).
AUDIO_PARENTS = ("", "Audio", "WavCaps/Audio", "Zip_files", "WavCaps/Zip_files")
ZIP_INNER_DIR = "mnt/fast/nobackup/scratch4weeks/xm00178/WavCaps/data/waveforms"
AUDIO_SUFFIXES = (".flac", ".wav")
#: The entry fields kept in `extra`, as the JSON holds them (text, FreeSound's tags a list of text).
SOURCE_FIELDS = ("title", "description", "author", "href", "download_link", "file_name", "category", "tags")


@dataclass(frozen=True)
class WavCapsOptions:
    #: The sources loaded, separated by '+' (`FreeSound+SoundBible`). The default, all four, loads those whose
    #: JSON file is there and skips those with no audio folder (with a warning); a source named otherwise must be
    #: there.
    sources: tuple[Source, ...] = SOURCES
    #: The blacklists applied: names separated by '+' (`test_ac+ub8k_esc50_vggsound`), `all` (every
    #: `blacklist_exclude_*.json` found) or `none` (every entry kept). Default `test_ac`, as the authors pretrain.
    blacklist: tuple[str, ...] | None = DEFAULT_BLACKLIST
    #: Folder of the per-source JSON folders (and `blacklist/`), relative to the root or absolute (default:
    #: `json_files/`, `WavCaps/json_files/`, `data/json_files/`, the root).
    json_dir: str | None = None
    #: Folder of the per-source audio folders, relative to the root or absolute (default: found).
    audio_dir: str | None = None
    #: Accept audio paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@dataclass
class _Entry:
    """One usable entry of a source's JSON file."""

    sample_id: str
    stem: str  # the id without an audio suffix: the sound's file name without its suffix
    caption: str
    extra: dict[str, Any]
    where: Callable[[], str]  # the entry's `file:line:column: data[i]`, located on call


@dataclass
class _Blacklist:
    """The ids of the blacklists applied, per source, and the sounds they left out."""

    files: list[str] = field(default_factory=list)
    ids: dict[str, set[str]] = field(default_factory=dict)
    left_out: Counter = field(default_factory=Counter)

    def lists(self, source: str, stem: str) -> bool:
        return stem in self.ids.get(source, ())


@register_corpus(CORPUS, WavCapsOptions)
def load_wavcaps(corpus_dir: Path, options: WavCapsOptions, split: str | None) -> LoadResult:
    """WavCaps (`json_files/<source>/*_final.json` + `<source>/<id>.flac`), one sample per sound with its caption.

    `split`: none, `all` or `train` (WavCaps is a pretraining set: every sample is in `train`).

    Example:
        >>> result = load_wavcaps(Path("/data/WavCaps"), WavCapsOptions(sources=("SoundBible",)), None)
        >>> result.samples[0].sample_id, result.samples[0].captions
        ('SoundBible/2219', ('An airplane is landing.',))

    Raises:
        CorpusNotFoundError: no source JSON file (or not one of the sources asked), a blacklist named that is
            not there, no audio folder for a source named with option `sources` (or for any source).
        CorpusFormatError: invalid JSON (named `file:line:column`), a file that is not {"data": [...]}, or a
            blacklist that is not {"AudioSet": [ids], "FreeSound": [ids]}.
        ConfigError: a split other than train (`val`, `test`: WavCaps has none).
    """
    _check_split(split)
    names = {source: tuple(f"{source}/{name}" for name in JSON_FILES[source]) for source in SOURCES}
    json_dir = find_csv_dir(corpus_dir, options.json_dir, JSON_DIRS, [n for ns in names.values() for n in ns])
    files = {s: path for s in SOURCES if (path := _json_file(json_dir, names[s])) is not None}
    require_captions_files(corpus_dir, json_dir, files, corpus="WavCaps", file_names=names, folders=JSON_DIRS,
                           wanted=None, option="json_dir")
    named = set(options.sources) != set(SOURCES)
    loaded = _loaded_sources(options.sources, files, json_dir)
    blacklist = _read_blacklists(json_dir / BLACKLIST_DIR, options.blacklist)
    folders = _source_audio_folders(corpus_dir, options.audio_dir, loaded, named)
    skipped = {s: _skip_source(corpus_dir, options.audio_dir, s, files[s]) for s in loaded if folders[s] is None}
    result = LoadResult(samples=[])
    found: list[tuple[_Entry, str]] = []
    for source in (s for s in loaded if folders[s] is not None):
        for entry in _read_source(files[source], source, blacklist, result.problems):
            audio = _find_audio(corpus_dir, options, folders[source], entry, result.problems)
            if audio is not None:
                found.append((entry, audio))
    result.samples = _samples(corpus_dir, found)
    _report_blacklist(blacklist, loaded)
    result.metadata = {
        "json_files": {s: shown_path(corpus_dir, files[s]) for s in loaded},
        "blacklist": {"files": blacklist.files,
                      "left_out": {s: blacklist.left_out[s] for s in loaded if folders[s] is not None}}
        if options.blacklist is not None else None,
        "skipped_sources": skipped}
    return result


def _check_split(split: str | None) -> None:
    """Raises ConfigError: a split other than `train` (or `all`), saying WavCaps has no val or test split."""
    if split in ("val", "test", "validation", "valid", "eval", "evaluation"):
        raise ConfigError(f"WavCaps publishes no {split!r} split: it is a pretraining set, every sample is in split "
                          "'train'; evaluate on another corpus (audiocaps, clotho), whose test sounds the default "
                          "blacklist leaves out of WavCaps")
    check_split(split, (SPLIT,), {}, "WavCaps")


def _json_file(json_dir: Path, names: tuple[str, ...]) -> Path | None:
    return next((json_dir / name for name in names if (json_dir / name).is_file()), None)


def _loaded_sources(asked: tuple[str, ...], files: dict[str, Path], json_dir: Path) -> list[str]:
    """The sources to load, in release order: those asked (every one found for the default, all of them).

    Raises:
        CorpusNotFoundError: a source asked whose JSON file is not in `json_dir`.
    """
    if set(asked) == set(SOURCES):
        return list(files)
    absent = [s for s in dict.fromkeys(asked) if s not in files]
    if absent:
        expected = ", ".join(f"{s}/{JSON_FILES[s][0]}" for s in absent)
        raise CorpusNotFoundError(f"WavCaps source{'s' if len(absent) > 1 else ''} {', '.join(absent)} asked (option "
                                  f"sources), but {expected} is not in {json_dir}; sources there: {list(files)}")
    return [s for s in SOURCES if s in asked]


def _read_source(path: Path, source: str, blacklist: _Blacklist, problems: list[LoadProblem]) -> Iterator[_Entry]:
    """The usable entries of one source's JSON file, in file order; the others are recorded in `problems`
    (named `file:line:column: data[i]`, located only then) and the sounds the blacklist lists counted in it.
    An id listed again is a problem whether or not the blacklist lists it."""
    entries, steps = _data_list(path, read_json(path))
    locate = JsonLocator(path)
    first_index: dict[str, int] = {}
    for i, item in enumerate(entries):
        entry = _read_entry(source, item, lambda i=i: locate.where(*steps, i), problems)
        if entry is None:
            continue
        first = first_index.setdefault(entry.sample_id, i)
        if first != i:
            problems.append(repeated_entry_problem(entry.sample_id, entry.where(), f"id {entry.extra['wavcaps_id']!r}",
                                                   "again", locate.where(*steps, first), "entry"))
        elif blacklist.lists(source, entry.stem):
            blacklist.left_out[source] += 1
        else:
            yield entry


def _data_list(path: Path, data: Any) -> tuple[list[Any], tuple[str, ...]]:
    """The entries of a source's JSON file and the steps to them: `data` of the release's
    {"num_captions_per_audio": 1, "data": [...]}, or the file itself where it is a list (the GitHub
    repository's first sb_final.json).

    Raises:
        CorpusFormatError: neither, or a `num_captions_per_audio` other than 1.
    """
    if isinstance(data, list):
        return data, ()
    expect(isinstance(data, dict) and isinstance(data.get("data"), list), path,
           'expected {"num_captions_per_audio": 1, "data": [{"id", "caption", "duration", ...}, ...]} (a WavCaps '
           f"*_final.json), got {short_repr(data)}")
    count = data.get("num_captions_per_audio", 1)
    if count != 1:
        raise CorpusFormatError(f"{JsonLocator(path).where('num_captions_per_audio')}: expected 1 caption per sound "
                                f"(as in every WavCaps source), got {short_repr(count)}")
    return data["data"], ("data",)


def _read_entry(source: str, item: Any, where: Callable[[], str], problems: list[LoadProblem]) -> _Entry | None:
    """The entry of one item, or None with its problem recorded: an item that is not an object, an id that
    is no non-empty text or number (or holds a '/'), a caption that is no valid text or blank. A duration
    that is no non-negative number is left out of `extra` (the sound's header gives its length)."""
    if not isinstance(item, dict):
        problems.append(LoadProblem(None, where(), f"expected an object with id, caption and duration, got "
                                    f"{short_repr(item)}; entry left out"))
        return None
    wavcaps_id = _entry_id(item.get("id"))
    if wavcaps_id is None:
        problems.append(LoadProblem(None, where(), f"expected an id (text or a whole number, without '/'), got "
                                    f"{short_repr(item.get('id'))}; entry left out"))
        return None
    stem = _stem(wavcaps_id)
    sample_id = f"{source}/{stem}"
    reason = _caption_problem(item.get("caption"))
    if reason is not None:
        problems.append(LoadProblem(sample_id, where(), f"{reason}; entry left out"))
        return None
    duration = item.get("duration")
    extra = {"source": source, "wavcaps_id": wavcaps_id,
             **({"wavcaps_duration": duration} if json_number(duration) and duration >= 0 else {}),
             **_source_fields(item)}
    if source == "AudioSet_SL" and len(stem) == 12 and stem.startswith("Y"):
        extra["youtube_id"] = stem[1:]
    return _Entry(sample_id, stem, item["caption"].strip(), extra, where)


def _entry_id(value: Any) -> str | None:
    """An entry's id as text (FreeSound's may be numbers), or None where it is unusable."""
    if json_number(value) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip() and "/" not in value and "\x00" not in value and _storable(value):
        return value.strip()
    return None


def _stem(wavcaps_id: str) -> str:
    """The id without an audio suffix (AudioSet_SL's `Y7fmOlUlwoNg.wav`: its sound is `Y7fmOlUlwoNg.flac`)."""
    lower = wavcaps_id.lower()
    return next((wavcaps_id[: -len(s)] for s in AUDIO_SUFFIXES if lower.endswith(s) and len(lower) > len(s)),
                wavcaps_id)


def _caption_problem(caption: Any) -> str | None:
    """Why an entry's caption is unusable (no text, not valid Unicode text, blank), else None."""
    problem = text_problem(caption, "a caption", allow_empty=True)
    return problem if problem is not None or caption.strip() else "blank caption"


def _storable(value: Any) -> bool:
    """Whether `value` is JSON a table can store: text valid as UTF-8 (JSON escapes can make a lone surrogate),
    finite numbers, and lists and objects of those."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(map(_storable, value))
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    return value is None or isinstance(value, (bool, int))


def _source_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The entry's other fields (`SOURCE_FIELDS`) as the JSON holds them, but for one a table cannot store."""
    return {name: item[name] for name in SOURCE_FIELDS if name in item and _storable(item[name])}


def _find_audio(corpus_dir: Path, options: WavCapsOptions, folders: MediaFolders, entry: _Entry,
                problems: list[LoadProblem]) -> str | None:
    """The path of the entry's sound (`<stem>.flac`, else `.wav`), else None with its problem recorded."""
    names = [entry.stem + suffix for suffix in AUDIO_SUFFIXES]
    audio = first_media_path(corpus_dir, folders, names, where=entry.where, allow_outside=options.allow_outside_root)
    if audio is None:
        problems.append(missing_names_problem(corpus_dir, folders, names, entry.sample_id, entry.where(), "audio",
                                              left_out="entry"))
    return audio


def _samples(corpus_dir: Path, found: list[tuple[_Entry, str]]) -> list[Sample]:
    """The samples of the entries whose sound was found, in order, each with its sound's length from its header
    (the headers read together: `read_media_headers`, on threads where `MMDATA_HEADER_THREADS` says so)."""
    headers = read_media_headers([media_pair(corpus_dir, None, audio) for _, audio in found])
    return [Sample(sample_id=entry.sample_id, corpus=CORPUS, split=SPLIT, group_id=entry.sample_id, audio=audio,
                   captions=(entry.caption,), extra={**entry.extra, **header})
            for (entry, audio), header in zip(found, headers, strict=True)]


def _source_audio_folders(corpus_dir: Path, audio_dir: str | None, loaded: list[str],
                          named: bool) -> dict[str, MediaFolders | None]:
    """Each loaded source's audio folders; None for one that has none, unless the sources were named (option
    `sources`) or no source has one.

    Raises:
        CorpusNotFoundError: a source named, or every source loaded, without an audio folder.
    """
    folders = {s: _audio_folders(corpus_dir, audio_dir, s) for s in loaded}
    absent = [s for s, f in folders.items() if f is None]
    if absent and (named or len(absent) == len(loaded)):
        raise CorpusNotFoundError(f"{_no_audio_folder(corpus_dir, audio_dir, absent[0])}; unzip Zip_files/"
                                  f"{absent[0]}/ there, name the folder holding {absent[0]}/ with -o audio_dir=, or "
                                  "load the other sources with -o sources=")
    return folders


def _audio_folder_candidates(audio_dir: str | None, source: str) -> list[str]:
    """Where `source`'s sounds may be, relative to the root, first first: in each parent (option audio_dir, else
    `AUDIO_PARENTS`), `<source>/<ZIP_INNER_DIR>/<source>_flac/`, `<source>/`, `<source>_flac/` and
    `<ZIP_INNER_DIR>/<source>_flac/`."""
    parents = [given_image_dir(audio_dir)] if audio_dir is not None else list(AUDIO_PARENTS)
    inner = f"{ZIP_INNER_DIR}/{source}_flac"
    return [f"{p}/{f}" if p else f for p in parents for f in (f"{source}/{inner}", source, f"{source}_flac", inner)]


def _audio_folders(corpus_dir: Path, audio_dir: str | None, source: str) -> MediaFolders | None:
    """The folders holding `source`'s sounds: every candidate (`_audio_folder_candidates`) with an audio file,
    searched in that order for each sound (the zip parts may be unzipped to different places); None where none
    has one (`Zip_files/<source>/` holding only the zip parts is none)."""
    found = [f for f in _audio_folder_candidates(audio_dir, source) if _holds_audio(corpus_dir / f)]
    return MediaFolders(corpus_dir, found) if found else None


def _no_audio_folder(corpus_dir: Path, audio_dir: str | None, source: str) -> str:
    """What was looked for where a source has no audio folder."""
    if audio_dir is not None:
        looked = ", ".join(f"{f}/" for f in _audio_folder_candidates(audio_dir, source))
    else:
        looked = (f"{source}/, {source}_flac/ and the zips' {ZIP_INNER_DIR}/{source}_flac/ (also under {source}/) in "
                  "the root, Audio/, WavCaps/Audio/, Zip_files/ and WavCaps/Zip_files/")
    return (f"no WavCaps audio folder for source {source} in {corpus_dir} (looked for {looked}, holding "
            f"{' or '.join(AUDIO_SUFFIXES)} files)")


def _skip_source(corpus_dir: Path, audio_dir: str | None, source: str, path: Path) -> int | None:
    """Warn that `source` is skipped for want of an audio folder; the number of its entries (None when its
    JSON file cannot be read: the source is skipped all the same, and the warning says so)."""
    try:
        count: int | None = len(_data_list(path, read_json(path))[0])
    except (MmdataError, OSError) as e:
        count, shown = None, f"unknown number of (its JSON file cannot be read: {e})"
    else:
        shown = f"{count:,}"
    log.warning("%s: source %s skipped, its %s entries not loaded; unzip Zip_files/%s/ there, or name the folder "
                "holding it with -o audio_dir= (-o sources= names the sources to load)",
                _no_audio_folder(corpus_dir, audio_dir, source), source, shown, source)
    return count


def _holds_audio(folder: Path) -> bool:
    """Whether `folder` is a folder with an audio file (`AUDIO_SUFFIXES`); it is listed up to the first one."""
    try:
        return holds_file_with_suffix(folder, AUDIO_SUFFIXES)
    except OSError:  # not there, not a folder, not readable: no audio folder of the source
        return False


def _read_blacklists(folder: Path, asked: tuple[str, ...] | None) -> _Blacklist:
    """The ids of the blacklists asked (`all`: every `blacklist_exclude_*.json` in `folder`; None: none). The
    default (`DEFAULT_BLACKLIST`) not there is a warning, as is `all` finding none.

    Raises:
        CorpusNotFoundError: a blacklist named that is not in `folder`.
        CorpusFormatError: a blacklist that is not an object of id lists keyed by source, named
            `file:line:column`.
    """
    blacklist = _Blacklist()
    if asked is None:
        return blacklist
    there = sorted(folder.glob(f"{BLACKLIST_PREFIX}*.json")) if folder.is_dir() else []
    if "all" in asked:
        paths = there
    elif asked == DEFAULT_BLACKLIST and not _blacklist_path(folder, asked[0]).is_file():
        paths = []
    else:
        paths = _named_blacklists(folder, asked, there)
    for path in paths:
        _read_blacklist(path, blacklist, [p for p in there if p != path])
        blacklist.files.append(path.name)
    if not blacklist.files:
        looked = f"{BLACKLIST_PREFIX}*.json" if "all" in asked else _blacklist_path(folder, asked[0]).name
        log.warning("no WavCaps blacklist (%s) in %s: no entry is left out, and sounds of AudioCaps' and Clotho's "
                    "test sets are loaded; json_files/blacklist/ of the release holds them", looked, folder)
    return blacklist


def _blacklist_path(folder: Path, name: str) -> Path:
    """The file of the blacklist named `name` (`test_ac`, `blacklist_exclude_test_ac` or its file name)."""
    return folder / f"{BLACKLIST_PREFIX}{_blacklist_name(name)}.json"


def _blacklist_name(name: str) -> str:
    return name.removesuffix(".json").removeprefix(BLACKLIST_PREFIX)


def _named_blacklists(folder: Path, asked: tuple[str, ...], there: list[Path]) -> list[Path]:
    """The files of the blacklists named.

    Raises:
        CorpusNotFoundError: one that is not in `folder`.
    """
    paths = []
    for name in dict.fromkeys(asked):
        path = _blacklist_path(folder, name)
        if not path.is_file():
            names = [_blacklist_name(p.name) for p in there]
            raise CorpusNotFoundError(f"WavCaps blacklist {path} not found (option blacklist={name}); blacklists "
                                      f"there: {names or 'none'}; -o blacklist=all applies every one, none keeps "
                                      "every entry")
        paths.append(path)
    return paths


def _read_blacklist(path: Path, blacklist: _Blacklist, others: list[Path]) -> None:
    """Add one blacklist's ids ({"AudioSet": ["Y...wav", ...], "FreeSound": ["322466", ...]}) to `blacklist`.

    Raises:
        CorpusFormatError: not such an object, a key naming no source, an id that is no text or number; the
            message says how to load without it (`others`: the other blacklists there).
    """
    data = read_json(path)
    hint = _skip_blacklist_hint(others)
    expect(isinstance(data, dict), path, f'expected {{"AudioSet": [ids], "FreeSound": [ids]}} (a WavCaps blacklist), '
           f"got {short_repr(data)}; {hint}")
    locate = JsonLocator(path)
    for key, ids in data.items():
        source = BLACKLIST_KEYS.get(key)
        if source is None or not isinstance(ids, list):
            what = f"key {key!r} names no WavCaps source (expected one of {sorted(BLACKLIST_KEYS)})" \
                if source is None else f"expected a list of ids, got {short_repr(ids)}"
            raise CorpusFormatError(f"{locate.where(key)}: {what}; {hint}")
        stems = blacklist.ids.setdefault(source, set())
        for i, value in enumerate(ids):
            wavcaps_id = _entry_id(value)
            if wavcaps_id is None:
                raise CorpusFormatError(f"{locate.where(key, i)}: expected an id (text or a whole number, without "
                                        f"'/'), got {short_repr(value)}; {hint}")
            stems.add(_stem(wavcaps_id))


def _skip_blacklist_hint(others: list[Path]) -> str:
    """How to load without a blacklist that cannot be read: none at all, or the others there."""
    names = "+".join(_blacklist_name(p.name) for p in others)
    return "fix the file, or load without it: -o blacklist=none" + (f" (or -o blacklist={names})" if names else "")


def _report_blacklist(blacklist: _Blacklist, loaded: list[str]) -> None:
    """Log how many sounds the blacklists left out, per source loaded (they are no errors: no errors-table row)."""
    counts = {s: blacklist.left_out[s] for s in loaded if blacklist.left_out[s]}
    if counts:
        per_source = ", ".join(f"{s} {n:,}" for s, n in counts.items())
        contents = "; ".join(BLACKLIST_CONTENTS.get(_blacklist_name(f), f) for f in blacklist.files)
        log.warning("WavCaps: %s sounds left out as %s list them (%s): %s; -o blacklist=none keeps them",
                    f"{sum(counts.values()):,}", " and ".join(blacklist.files), contents, per_source)
