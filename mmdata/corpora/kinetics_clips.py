"""Where Kinetics' clips are on disk, for the `kinetics` loader (`kinetics.py`): the folders a clip of a split and
class is looked for in (the CVDF replacements, then under each media folder its split folder's class folder, the
split folder, the class folder, the folder itself), the file found by the clip's id
(`<youtube_id>_<start:06d>_<end:06d>.mp4|.mkv|.webm`) or its bare YouTube id, and the problem of a clip not found.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mmdata.corpora.base import LoadProblem, given_image_dir
from mmdata.corpora.kinetics_json import Clip
from mmdata.corpora.media_captions import MediaFolders, first_media_path, missing_media_problem

if TYPE_CHECKING:
    from mmdata.corpora.kinetics import KineticsOptions

#: Folders holding the split folders (or the clips), relative to the root, first first.
MEDIA_DIRS = ("", "videos", "video", "clips")
#: Each split's folder names under a media folder, first first.
SPLIT_DIRS = {"train": ("train", "videos_train"), "val": ("val", "validate", "videos_val"),
              "test": ("test", "videos_test", "test/test")}  # test/test: the crawler given videos/test as output
#: The CVDF copy's re-downloads of clips whose first file was corrupt, looked in (under the root and under each
#: media folder) before the split folders.
REPLACEMENT_DIRS = ("replacement/replacement_for_corrupted_k400",)
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm")


@dataclass(frozen=True)
class LocatedClip:
    """A clip with the folders of its split and class, the file stems looked for, and the file found (None: none)."""

    clip: Clip
    folders: MediaFolders
    stems: list[str]
    video: str | None


def _locate_clips(corpus_dir: Path, options: KineticsOptions, clips: list[Clip],
                  clips_of_video: Counter) -> list[LocatedClip]:
    """Each clip with the first file a folder of its split and class holds, by its id, else (where its video has
    one clip) by the bare YouTube id, each with every suffix.

    Raises:
        CorpusFormatError: a file found leads outside the root without `allow_outside_root`, named at its row.
    """
    folders = ClipFolders(corpus_dir, _media_parents(corpus_dir, options.video_dir))
    located = []
    for clip in clips:
        stems = [clip.sample_id, *([clip.youtube_id] if clips_of_video[clip.youtube_id] == 1 else [])]
        where = folders.of(clip.split, clip.label)
        video = first_media_path(corpus_dir, where, [s + x for s in stems for x in VIDEO_SUFFIXES],
                                 where=clip.location, allow_outside=options.allow_outside_root)
        located.append(LocatedClip(clip, where, stems, video))
    return located


def _missing_clip(corpus_dir: Path, folders: MediaFolders, clip: Clip, stems: list[str]) -> LoadProblem:
    """The problem of a clip no folder holds: its file name with every suffix, and the bare id where looked for."""
    also = ", ".join(_every_suffix(stem) for stem in stems[1:])
    there = next((stems[0] + s for s in VIDEO_SUFFIXES
                  if os.path.lexists(corpus_dir / folders.expected(stems[0] + s))), None)
    problem = missing_media_problem(corpus_dir, folders, there or _every_suffix(stems[0]), clip.sample_id,
                                    clip.where, "clip", also=also)
    if there is not None:
        return problem
    return replace(problem, reason=f"{problem.reason} (a video taken down since the release is gone from every copy)")


def _every_suffix(stem: str) -> str:
    """`stem` with each suffix looked for, as messages name it: `X_000014_000024.{mp4,mkv,webm}`."""
    return f"{stem}.{{{','.join(s.lstrip('.') for s in VIDEO_SUFFIXES)}}}"


def _media_parents(corpus_dir: Path, video_dir: str | None) -> list[str]:
    """The folders holding split folders, class folders or clips: option `video_dir`, else those of
    `MEDIA_DIRS` that are there."""
    if video_dir is not None:
        return [given_image_dir(video_dir)]
    return [d for d in MEDIA_DIRS if (corpus_dir / d).is_dir()]


def class_folder_key(name: str) -> str:
    """A class folder's name as compared with a label: lower case, letters and digits only, so that `playing
    guitar`, `playing_guitar` (mmaction2's rename_classnames.sh, detox) and `passing_American_football_in_game`
    all match their label."""
    return "".join(c for c in name.lower() if c.isalnum())


class ClipFolders:
    """The folders a clip of a split and class is looked for in, first first: the CVDF replacements, then under
    each parent its split folder's class folder, the split folder, the parent's class folder, the parent.
    Every folder is listed once for all clips (shared listings), and each folder's class folders once."""

    def __init__(self, corpus_dir: Path, parents: list[str]) -> None:
        self.corpus_dir = corpus_dir
        self.parents = parents
        self.listings: dict[str, set[str]] = {}
        self._class_folders: dict[str, dict[str, str]] = {}
        self._folders: dict[tuple[str, str | None], MediaFolders] = {}

    def of(self, split: str, label: str | None) -> MediaFolders:
        """The folders of a clip of `split` and `label` (None: no class folder)."""
        key = (split, label)
        if key not in self._folders:
            self._folders[key] = MediaFolders(self.corpus_dir, self._folder_list(split, label), self.listings)
        return self._folders[key]

    def _folder_list(self, split: str, label: str | None) -> list[str]:
        replacements = [f"{p}/{d}" if p else d for p in dict.fromkeys(["", *self.parents]) for d in REPLACEMENT_DIRS]
        found = [d for d in replacements if (self.corpus_dir / d).is_dir()]
        for parent in self.parents:
            for split_dir in SPLIT_DIRS[split]:
                folder = f"{parent}/{split_dir}" if parent else split_dir
                if (self.corpus_dir / folder).is_dir():
                    found += [*self._class_folder(folder, label), folder]
        for parent in self.parents:
            found += [*self._class_folder(parent, label), parent]
        return list(dict.fromkeys(found)) or [""]

    def _class_folder(self, folder: str, label: str | None) -> list[str]:
        """The class folder of `label` in `folder` (its name matched by `class_folder_key`), where there is one."""
        if label is None:
            return []
        if folder not in self._class_folders:
            self._class_folders[folder] = _subfolders_by_key(self.corpus_dir / folder)
        name = self._class_folders[folder].get(class_folder_key(label))
        return [f"{folder}/{name}" if folder else name] if name is not None else []


def _subfolders_by_key(path: Path) -> dict[str, str]:
    """`class_folder_key(name)` -> name of every folder in `path` (the first by name where two share a key)."""
    try:
        with os.scandir(path) as entries:
            names = sorted(e.name for e in entries if e.is_dir())
    except OSError:
        return {}
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(class_folder_key(name), name)
    return by_key
