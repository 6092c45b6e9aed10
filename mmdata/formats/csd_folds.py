"""The splits `export-csd` writes beside its `.csd` files, for `extract csd` to read them back.

The SDK ships a corpus's folds as lists of video ids named `standard_train_fold`, `standard_valid_fold`
and `standard_test_fold` (`cmu_mosi_std_folds.py`: 52 / 10 / 31 CMU-MOSI videos), and its users pass
them to `get_tensors(folds=[train, valid, test])`, which puts each key in the fold holding its video id
(the key's part before `[`). The export writes the dataset's splits in that form, as JSON:

    standard_folds.json   {"standard_train_fold": ["abc", ...], "standard_valid_fold": ["abcd"],
                           "standard_test_fold": ["x9Y_z-1"], "unassigned": ["zz"]}

- The three standard names are always there (an empty list for a split without samples), so a script
  written for the SDK's folds reads the file as it is. Any other split (`unassigned`, `all`, `dev`, ...)
  is listed under its own name, which such a script ignores.
- The ids are those of the keys the files hold (sample ids, or with keys="sdk" the SDK's keys). A video
  whose samples all lie in one split is listed by its video id, as the SDK's folds are; a video whose
  segments lie in several splits is listed by its segments' keys (`vid[i]`), each under its own split
  (`extract csd` looks a sample's key up before its video's id; the SDK finds no fold for them, and the
  export warns).

The file is written only when some sample is in another split than "all", the split `extract csd` gives
every sample without folds: a dataset without splits needs no file to come back the same. Then every
`.csd` the export writes records the file's name under the metadata key FOLDS_KEY, and `extract csd`
reads that file (and no other JSON of the folder) when no `-o folds=` is given (`recorded_folds_file`).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.formats.csd import key_order
from mmdata.formats.csd_places import Place
from mmdata.formats.folds import SDK_FOLD_SPLITS, read_folds
from mmdata.store.files import write_text_atomic
from mmdata.store.reader import Dataset

log = logging.getLogger(__name__)

#: The folds file `export-csd` writes beside the `.csd` files.
FOLDS_FILE = "standard_folds.json"
#: Metadata key of every `.csd` an export with splits writes: the name of its folds file.
FOLDS_KEY = "mmdata folds"
#: mmdata's split -> the SDK's name of its fold list.
STANDARD_FOLDS = {split: fold for fold, split in SDK_FOLD_SPLITS.items()}
#: The split of every sample `extract csd` reads without folds.
NO_FOLDS_SPLIT = "all"


@dataclass
class FoldLists:
    """What the folds file holds ({fold name: ids}; empty: no file) and the videos listed by segment."""

    lists: dict[str, list[str]] = field(default_factory=dict)
    split_videos: list[str] = field(default_factory=list)

    def record(self) -> dict[str, str]:
        """The metadata entry naming the folds file, for every `.csd` written (none without a file)."""
        return {FOLDS_KEY: FOLDS_FILE} if self.lists else {}


def video_of(key: str) -> str:
    """The video a key belongs to as `extract csd` and the SDK's folds read it: its part before `[`."""
    return key.split("[")[0]


def fold_lists(keyed_splits: Iterable[tuple[str, str]]) -> FoldLists:
    """The folds file's lists from (key written, split) per sample (see the module docstring)."""
    by_video: dict[str, dict[str, list[str]]] = {}  # video -> split -> its keys
    for key, split in keyed_splits:
        by_video.setdefault(video_of(key), {}).setdefault(split, []).append(key)
    if all(set(splits) == {NO_FOLDS_SPLIT} for splits in by_video.values()):
        return FoldLists()
    lists: dict[str, list[str]] = {}
    split_videos = []
    for video, splits in by_video.items():
        if len(splits) == 1:
            [split] = splits
            lists.setdefault(STANDARD_FOLDS.get(split, split), []).append(video)
            continue
        split_videos.append(video)
        for split, keys in splits.items():
            lists.setdefault(STANDARD_FOLDS.get(split, split), []).extend(keys)
    ordered = {fold: sorted(lists.get(fold, []), key=key_order) for fold in STANDARD_FOLDS.values()}
    ordered.update({fold: sorted(ids, key=key_order) for fold, ids in sorted(lists.items()) if fold not in ordered})
    return FoldLists(ordered, sorted(split_videos))


def export_fold_lists(dataset: Dataset, places: dict[str, Place] | None) -> FoldLists:
    """The folds file's lists for an export: each sample's split under the key it is written with (its
    sample id, or with keys="sdk" its place's key)."""
    samples = dataset.samples_table(columns=["sample_id", "split"])
    ids, splits = samples.column("sample_id").to_pylist(), samples.column("split").to_pylist()
    return fold_lists(zip(ids if places is None else [places[i].key for i in ids], splits))


def write_folds_file(csd_dir: Path, folds: FoldLists) -> Path:
    """Write the folds file into `csd_dir` (atomically); its path."""
    return write_text_atomic(csd_dir / FOLDS_FILE, json.dumps(folds.lists, indent=1) + "\n")


def split_videos_warning(path: Path, videos: list[str]) -> str:
    return (f"{path}: {len(videos)} videos have segments in several splits (e.g. {', '.join(videos[:3])}), so the "
            "file lists their segments' keys (vid[i]) under each split: `extract csd` reads them back, but the SDK's "
            "get_tensors, which looks folds up by video id, puts those segments in no fold")


def read_export_folds(path: Path) -> dict[str, str]:
    """id -> split of a folds file `export-csd` wrote (`read_folds`, which reads the SDK's fold names as
    train / valid / test, as in any folds file).

    Raises:
        CorpusFormatError: not a JSON object of lists of ids, or an id in two folds (`read_folds`).
    """
    return read_folds(path)


def recorded_folds_file(corpus_dir: Path, files: Iterable[tuple[Path, Mapping[str, Any]]], *,
                        warn: bool = True) -> Path | None:
    """The folds file that the folder's `.csd` files (path, metadata) record under FOLDS_KEY, when it lies
    beside them; None when none records one. With `warn`, a recorded file that is not there, a record
    that is no plain file name, and files recording different ones are logged (the splits are then
    "all", as in a folder without folds)."""
    names: dict[str, Path] = {}  # recorded name -> the first file recording it
    for path, metadata in files:
        name = metadata.get(FOLDS_KEY)
        if name is None:
            continue
        if not isinstance(name, str) or name in {"", ".", ".."} or Path(name).name != name:
            if warn:
                log.warning("%s: metadata %r is %r; expected the name of the folds file export-csd wrote beside it "
                            "(ignored)", path, FOLDS_KEY, name)
            continue
        names.setdefault(name, path)
    if len(names) != 1:
        if names and warn:
            log.warning("%s: the .csd files record different folds files (%s); every sample is in split %r; pass "
                        "-o folds=FILE to give the splits", corpus_dir, ", ".join(sorted(names)), NO_FOLDS_SPLIT)
        return None
    [(name, source)] = names.items()
    path = corpus_dir / name
    if not path.is_file():
        if warn:
            log.warning("%s records the folds file %s that export-csd wrote beside it, but %s is not there; every "
                        "sample is in split %r; pass -o folds=FILE to give the splits", source, name, path,
                        NO_FOLDS_SPLIT)
        return None
    return path


def without_folds_record(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A source file's metadata without the folds record of an earlier export (this export sets its own)."""
    return {k: v for k, v in metadata.items() if k != FOLDS_KEY}
