"""Which split each sample of a `.csd` folder is in, for the `csd` loader.

The splits come from, in this order:

- the option `folds` (JSON {split: [video ids]} or the SDK's `*_std_folds.py`, `formats.folds`): a sample
  is in the fold of its video id (`vid` of `vid[i]`), `unassigned` when no fold names it;
- else the folds file `export-csd` wrote beside its files (`formats.csd_folds`), read only when the
  folder's `.csd` files record its name (so no other JSON of the folder is ever taken for folds): the
  SDK's fold names are read as train / valid / test, and a segment's key (`vid[i]`, listed for a video
  whose segments lie in several splits) is looked up before its video's id. The option `folds` naming
  that same file reads it this way too;
- else none: every sample is in split `all`, as in a folder exported before the folds file existed.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdata.formats.csd_folds import NO_FOLDS_SPLIT, read_export_folds, recorded_folds_file, video_of
from mmdata.formats.folds import read_folds, report_fold_coverage, resolve_folds_path

#: The split of a video that no fold of the folds file names.
UNASSIGNED_SPLIT = "unassigned"
__all__ = ["NO_FOLDS_SPLIT", "UNASSIGNED_SPLIT", "CsdFolds", "read_csd_folds"]


@dataclass(frozen=True)
class CsdFolds:
    """A folds file read for a `.csd` folder."""

    path: Path
    split_of: dict[str, str]  # video id (and, in an export's file, segment key) -> split
    exported: bool  # the folds file export-csd wrote beside the folder's files

    def split(self, sample_id: str) -> str:
        """The sample's split: its own key's in an export's file, else its video's."""
        if self.exported and sample_id in self.split_of:
            return self.split_of[sample_id]
        return self.split_of.get(video_of(sample_id), UNASSIGNED_SPLIT)

    def report_coverage(self, videos: Iterable[str], sample_ids: Iterable[str]) -> None:
        """Warn about the videos in no fold and the fold ids that are no video (`report_fold_coverage`): of
        the folder's `videos` for the option's file; of the ids the samples are looked up by for an export's."""
        if self.exported:
            looked_up = {s if s in self.split_of else video_of(s) for s in sample_ids}
        else:
            looked_up = {video_of(v) for v in videos}
        report_fold_coverage(self.path, self.split_of, looked_up)


def read_csd_folds(corpus_dir: Path, folds: str | None, files: list[tuple[Path, Mapping[str, Any]]]) -> CsdFolds | None:
    """The folds of a `.csd` folder: the option `folds` when given, else the folds file the folder's
    files (path, metadata) record, else None (see the module docstring).

    Raises:
        CorpusNotFoundError: the option names a file that is not there.
        CorpusFormatError: the folds file is malformed (`read_folds`).
    """
    if folds:
        path = resolve_folds_path(folds, corpus_dir)
        recorded = recorded_folds_file(corpus_dir, files, warn=False)
        if recorded is not None and path.resolve() == recorded.resolve():
            return CsdFolds(path, read_export_folds(path), exported=True)
        return CsdFolds(path, read_folds(path), exported=False)
    recorded = recorded_folds_file(corpus_dir, files)
    return CsdFolds(recorded, read_export_folds(recorded), exported=True) if recorded is not None else None
