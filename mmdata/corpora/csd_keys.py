"""Which sample each key of a `.csd` file belongs to, for the `csd` loader.

The SDK names a video's rows in two ways (CMU-MultimodalSDK `mmdataset`): a plain key `vid` holds
all of a video's rows; after `align`, key `vid[i]` holds the row(s) aligned to row i of the
reference's file (0-based, numbered by row as the file stores it, never by sorted position). Its
`unify` compares the ids before the first `[`, and its `align` gathers a video's `vid[i]` keys into
one sequence sorted by start; `revert` joins them back into `vid`.

So, loading a folder without labels:

- a file `export-csd` wrote from an aligned table records `"keys": "rows"` (`TABLE_IDENTITY_KEY`):
  each key is one row `<sample>[i]` of sample `<sample>` (the last `[i]` stripped: `abc[3]` is row 3
  of video `abc`, `abc[0][3]` row 3 of segment `abc[0]`). Its rows come back gathered per sample,
  with a `keys` column naming each row's key as the file does;
- a folder in which some files key whole videos (`vid`) while others, with no such record (the
  SDK's own aligned files, or an older export's), key `vid[i]`: those are read the SDK's way, their
  keys gathered per video (the id before the first `[`), each row keeping its key;
- every other file's keys are its samples, as before (`vid`, or `vid[i]` when all files are aligned).

What cannot be read as one dataset is refused in one line naming the file: a file keying one
video both as `vid` and `vid[i]` (gathered, its rows would count twice), or segments that
`export-csd` recorded as samples of their own (its `"keys": "samples"`, or aligned rows of
segments) beside files of whole videos.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from mmdata.corpora.csd_table_names import _recorded_identity
from mmdata.errors import CorpusFormatError
from mmdata.formats.csd import split_key
from mmdata.formats.csd_export_keys import IDENTITY_EMPTY, IDENTITY_KEYS, ROW_KEYS, SAMPLE_KEYS

if TYPE_CHECKING:
    from mmdata.corpora.csd import _FileInfo

#: How a key names its sample: the key itself, its last `[i]` stripped, or the id before its first `[`.
_AS_IS, _ROW, _VIDEO = "key", "row", "video"


def recorded_keys(info: _FileInfo) -> str | None:
    """What `export-csd` recorded its keys to be (ROW_KEYS, SAMPLE_KEYS); None for other files."""
    keys = _recorded_identity(info).get(IDENTITY_KEYS)
    return keys if keys in (ROW_KEYS, SAMPLE_KEYS) else None


def recorded_empty(info: _FileInfo) -> set[str]:
    """Samples a row-keyed file recorded as having no row (and so no key)."""
    empty = _recorded_identity(info).get(IDENTITY_EMPTY)
    return {s for s in empty if isinstance(s, str)} if isinstance(empty, list) else set()


def sample_of(key: str, how: str) -> str:
    """The sample a key belongs to, read `how` (_AS_IS, _ROW or _VIDEO)."""
    if how == _ROW:
        return split_key(key)[0]
    if how == _VIDEO:
        return key.split("[")[0]
    return key


def assign_samples(infos: list[_FileInfo], *, by_segments: bool) -> None:
    """Set, on each file whose keys are rows of samples, `keys_by_sample` (sample -> its keys) and
    `samples_by` (how a key names its sample); see the module docstring.

    Raises:
        CorpusFormatError: a folder read without labels that mixes keyings no sample can be made of.
    """
    for info in infos:
        if recorded_keys(info) == ROW_KEYS:
            empty = recorded_empty(info)
            _group(info, _ROW)
            for sample in sorted(empty - set(info.keys_by_sample)):
                info.keys_by_sample[sample] = []
            info.segment_rows = info.segment_rows or any(not _is_plain(sample) for sample in empty)
    if by_segments:
        return  # a label file's segments decide the samples; keys are gathered by video as before
    whole = next((i for i in infos if any(_is_plain(s) for s in _samples(i))), None)
    if whole is None:
        return
    for info in infos:
        indexed = [s for s in _samples(info) if not _is_plain(s)]
        if not indexed:
            continue
        plain = {s for s in _samples(info) if _is_plain(s)}
        both = next((s for s in indexed if s.split("[")[0] in plain), None)
        if both is not None:
            raise _mixed_in_file(info, both.split("[")[0], both)
        if info.samples_by == _ROW or recorded_keys(info) == SAMPLE_KEYS:
            others = next((i for i in infos if i is not info and any(_is_plain(s) for s in _samples(i))), whole)
            raise _segments_beside_videos(info, indexed[0], others)
        _group(info, _VIDEO)


def _group(info: _FileInfo, how: str) -> None:
    """Index the file's valid keys by the sample each names (read `how`), in key order."""
    info.samples_by = how
    info.keys_by_sample = {}
    for keys in info.keys_by_base.values():
        for key in keys:
            info.keys_by_sample.setdefault(sample_of(key, how), []).append(key)
    info.segment_rows = how == _ROW and any(not _is_plain(sample) for sample in info.keys_by_sample)


def _samples(info: _FileInfo) -> list[str]:
    if info.keys_by_sample is not None:
        return list(info.keys_by_sample)
    return [key for keys in info.keys_by_base.values() for key in keys]


def _is_plain(sample: str) -> bool:
    return split_key(sample)[1] is None


def _mixed_in_file(info: _FileInfo, plain: str, indexed: str) -> CorpusFormatError:
    return CorpusFormatError(
        f"{info.path}: keys video {plain!r} both as a whole video ({plain!r}) and as SDK-aligned rows (e.g. "
        f"{indexed!r}); expected one keying per video, as the SDK writes them (its align would read both, so the "
        "rows twice); remove one of them from the file, or load the folder with its label file (-o labels=FILE)")


def _segments_beside_videos(info: _FileInfo, indexed: str, whole: _FileInfo) -> CorpusFormatError:
    what = "aligned rows of segments" if info.samples_by == _ROW else "segments"
    keys = info.keys_by_sample.get(indexed) if info.keys_by_sample is not None else None
    return CorpusFormatError(
        f"{info.path}: export-csd wrote it from {what} (keys like {(keys or [indexed])[0]!r}) while "
        f"{whole.path.name} holds whole videos; expected the files of one dataset; export the tables of each "
        "dataset into a folder of their own, or load this one with its label file (-o labels=FILE) to cut every "
        "file into the segments")
