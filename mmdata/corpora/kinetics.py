"""Kinetics-400/600/700 and 700-2020 (DeepMind; human action classification) as copies of it lie on disk.

The release is a CSV per split, with a header; a row is one ~10 s clip of a YouTube video:
    label,youtube_id,time_start,time_end,split,is_cc
    abseiling,0347ZoDXyP0,14,24,train,0
named `train.csv`, `validate.csv` (or `val.csv`) and `test.csv` in the current release (`annotations/` of the
CVDF copy; its Kinetics-600 downloader saves `train.txt` and `val.txt`, the same CSVs, beside `test.csv` and
`kinetics600_holdout_test.csv`, which is not read), `kinetics_train.csv` (mmaction2's download),
`kinetics-400_train.csv`, `kinetics_600_val.csv` in the older zips and the ActivityNet crawler's `data/` folder
(which holds several versions side by side). Some test files have no `label` column (CVDF's copy of Kinetics-600,
Kinetics-700's, 700-2020's): such clips load without a class. Kinetics-400's first release also has a JSON file per
split (`kinetics_train.json`, `train.json`: `kinetics_json`), read for a split without CSV (`-o annotations=`).

The clips are not in the release: each copy downloads them from YouTube, and every downloader names a clip
`<youtube_id>_<time_start:06d>_<time_end:06d>.mp4` (the crawler's `%06d`; `.mkv` or `.webm` where youtube-dl
merged into those): the CVDF tarballs in `train/`, `val/`, `test/`; the ActivityNet crawler in one folder per
class (`<split>/<label>/`, the class as written or with `_` for spaces after mmaction2's rename_classnames.sh);
torchvision's `Kinetics` in `<root>/<split>/<class>/`; mmaction2 in `videos_train/` and `videos_val/`. A file is
the clip itself, already cut; one named by the bare YouTube id may be the whole video, which its header's length
tells (the sample is then the clip's span of it).

One sample per clip: sample_id `<youtube_id>_<start:06d>_<end:06d>` (the file stem the downloaders write),
group_id the YouTube id (a video whose clips are in two splits is a `split-leak` for `check`), `video` the file
found, `extra.class` the label (`fuse --class-label class`), with `youtube_id`, `time_start`, `time_end` (the
clip's span in the YouTube video, kept as information: the sample has no start/end, so extractors read the
whole file, as for `vggsound`, unless the file is the whole video) and the durations the file's header states
(read in one open: `media_captions.video_file_extra`, many files at once: `read_headers`). Every copy lacks
clips of videos taken down: each is named in the errors table (`file:line`; a JSON entry `file:line:column:
<youtube_id>`) and their count logged and kept in the manifest. A row or entry that cannot be read and a clip listed
again are left out the same way.

This module holds the options, the loader and the samples made of the clips found; the rest lives in:
    mmdata.corpora.kinetics_csv     the annotation files found (folder, version, split) and their CSVs read
    mmdata.corpora.kinetics_json    Kinetics-400's first-release JSON files, and the clip record
    mmdata.corpora.kinetics_clips   the folders a clip is looked for in, its file found, a clip not found
The names moved there stay importable from here.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from mmdata.corpora.base import LoadProblem, LoadResult, register_corpus
from mmdata.corpora.kinetics_clips import (  # noqa: F401 - also re-exported from here
    MEDIA_DIRS, REPLACEMENT_DIRS, SPLIT_DIRS, VIDEO_SUFFIXES, ClipFolders, LocatedClip, _every_suffix,
    _locate_clips, _media_parents, _missing_clip, _subfolders_by_key, class_folder_key,
)
from mmdata.corpora.kinetics_csv import (  # noqa: F401 - also re-exported from here
    ANNOTATION_DIRS, ANNOTATION_NAME, FILE_SPLITS, LABEL_COLUMN, REQUIRED_COLUMNS, SPLITS, _annotation_names, _kind,
    _names_of, _of_version, _one_per_split, _other_folders_hint, _other_split_clips, _row_clip, _row_reason,
    _seconds, _txt_beside_csv_hint, annotation_files, read_clips, read_split,
)
from mmdata.corpora.kinetics_json import (  # noqa: F401 - also re-exported from here
    MAX_SECONDS, Clip, read_json_clips, whole_seconds,
)
from mmdata.corpora.media_captions import (
    check_split,
    first_listings,
    folder_list,
    held_end,
    read_headers,
    require_videos_found,
    shown_path,
    video_file_extra,
)
from mmdata.errors import CorpusNotFoundError
from mmdata.records import MODALITY_DURATION_KEYS, START_KEYS, Sample

log = logging.getLogger(__name__)

CORPUS = "kinetics"
#: Kinetics' own split names, as `--split` is told to name them here.
NATIVE_SPLITS = {"validate": "val", "validation": "val", "training": "train", "testing": "test"}
#: The versions a file name may state (`kinetics-600_train.csv`), and `auto`: whichever the files are.
Version = Literal["auto", "400", "600", "700", "700-2020"]
#: Which annotation files are read: `csv`, `json`, or `auto`: a split's CSV, else its JSON (`kinetics_json`).
AnnotationFormat = Literal["auto", "csv", "json"]
#: The key of `extra` holding the class name (`mmdata fuse --class-label class`).
CLASS_KEY = "class"
#: How much longer than its clip (time_end - time_start) a file found by the bare YouTube id may be and still be
#: the cut clip (a cut at key frames runs over by up to a GOP); longer, it is the whole video and the sample gets
#: the clip's span.
WHOLE_VIDEO_TOLERANCE = 1.0
#: How many of the files stating no video duration the loader metadata names (all are counted).
UNSTATED_NAMED = 20


@dataclass(frozen=True)
class KineticsOptions:
    #: Folder of the annotation CSVs, relative to the root or absolute (default: the root, else `annotations/`,
    #: `data/`).
    annotations_dir: str | None = None
    #: The release read where the folder holds the files of several (`kinetics-400_train.csv` beside
    #: `kinetics-600_train.csv`); files whose name states no version are read whatever it is.
    version: Version = "auto"
    #: Folder holding the split folders or the clips, relative to the root or absolute (default: those of the
    #: root, `videos/`, `video/`, `clips/` that are there).
    video_dir: str | None = None
    #: Accept clip paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False
    #: The annotation files read: `auto` (a split's CSV, else its JSON: the first folder holding a CSV, else one
    #: holding a JSON), `csv` or `json` alone.
    annotations: AnnotationFormat = "auto"


@register_corpus(CORPUS, KineticsOptions)
def load_kinetics(corpus_dir: Path, options: KineticsOptions, split: str | None) -> LoadResult:
    """Kinetics-400/600/700 (`train.csv`, `validate.csv`, `test.csv`, or Kinetics-400's `kinetics_train.json`, ...,
    + the clips), one sample per clip with its class.

    `split`: none or `all` for every split whose file is there, `train`, `val` or `test`.

    Example:
        >>> result = load_kinetics(Path("/data/k400"), KineticsOptions(), "val")
        >>> s = result.samples[0]; s.sample_id, s.video, s.extra["class"]
        ('0347ZoDXyP0_000014_000024', 'val/0347ZoDXyP0_000014_000024.mp4', 'abseiling')

    Raises:
        CorpusNotFoundError: no annotation file (naming the folders searched and `-o annotations_dir=`), none of
            split `split`, or none of the clips listed found (a wrong folder, not a few videos gone).
        CorpusFormatError: a file that is not UTF-8, a CSV whose header lacks youtube_id, time_start or time_end, a
            JSON file that is not an object of entries (`kinetics_json.read_json_clips`).
        ConfigError: an unknown split, files of several versions without `-o version=`, or two files of a split.
    """
    wanted = check_split(split, SPLITS, NATIVE_SPLITS, "Kinetics")
    files, beside = annotation_files(corpus_dir, options.annotations_dir, options.version, options.annotations)
    if wanted is not None and wanted not in files:
        raise CorpusNotFoundError(f"split {wanted!r} asked, but no Kinetics {wanted} annotation file is in "
                                  f"{files[next(iter(files))].parent}; splits there: {list(files)}")
    result = LoadResult(samples=[])
    hint = _other_folders_hint(corpus_dir, files, options.annotations_dir)
    listed = {s: read_split(files[s], s, result.problems, hint=hint) if wanted in (None, s) else
              _other_split_clips(files[s], s) for s in files}
    clips = first_listings([c for s in files if wanted in (None, s) for c in listed[s]], result.problems, "clip")
    found = _add_samples(corpus_dir, options, clips, _clips_per_video(listed), result)
    require_videos_found(len(clips), bool(result.samples), "Kinetics", corpus_dir,
                         f"as <youtube_id>_<start:06d>_<end:06d> with {'/'.join(VIDEO_SUFFIXES)}", what="clips",
                         note=f" (searched: {folder_list(_media_parents(corpus_dir, options.video_dir))} and their "
                              "split and class folders)")
    if found.missing:
        log.warning("%d of %d Kinetics clips listed not found (videos taken down since the release); each is "
                    "named in the errors table", found.missing, len(clips))
    result.metadata = {"annotation_files": [shown_path(corpus_dir, files[s]) for s in files if wanted in (None, s)],
                       "clips_listed": len(clips), "clips_missing": found.missing}
    _note_unstated_lengths(found.unstated_length, result.metadata)
    _note_files_beside(corpus_dir, [p for s, p in beside if wanted in (None, s)], result.metadata)
    return result


def _note_files_beside(corpus_dir: Path, paths: list[Path], metadata: dict[str, Any]) -> None:
    """Keep in `metadata` (`annotation_files_not_read`) and log the files of a split loaded from its other file (a
    JSON beside its CSV: DeepMind's kinetics400.tar.gz ships both, listing the same clips)."""
    if not paths:
        return
    metadata["annotation_files_not_read"] = [shown_path(corpus_dir, p) for p in paths]
    kind = "json" if paths[0].suffix.lower() == ".json" else "csv"
    log.info("Kinetics annotation files not read, as their split's %s file is (-o annotations=%s reads them): %s",
             "JSON" if kind == "csv" else "CSV", kind, ", ".join(metadata["annotation_files_not_read"]))


def _note_unstated_lengths(videos: list[str], metadata: dict[str, Any]) -> None:
    """Log and keep in `metadata` (`bare_id_files_without_duration`: count and first files) the files named by the
    bare YouTube id whose header states no video duration (a Matroska written live): each is read whole as the clip,
    an assumption wrong where it is the whole video, so it is never silent (a remux stating the length settles it)."""
    if not videos:
        return
    metadata["bare_id_files_without_duration"] = {"count": len(videos), "files": videos[:UNSTATED_NAMED]}
    log.warning("%d Kinetics files named by the bare YouTube id state no video duration (e.g. %s): each is read whole "
                "as its clip, already cut; where one is the whole video, remux it so that its header states its length "
                "(ffmpeg -i X.mkv -c copy X.mp4) to read the clip's span of it", len(videos), ", ".join(videos[:3]))


def _clips_per_video(listed: dict[str, list[Clip]]) -> Counter:
    """How many clips every split file present lists of each video (whatever `--split` loads, so that a copy's
    samples do not depend on it): a file named by the bare YouTube id is read as a clip only where it is one."""
    return Counter(youtube_id for youtube_id, _ in {(c.youtube_id, c.sample_id) for cs in listed.values() for c in cs})


@dataclass
class FoundClips:
    """What `_add_samples` counted: the clips not found, and the files named by the bare YouTube id whose header
    states no video duration (read as the clip, already cut: nothing tells it is the whole video)."""

    missing: int = 0
    unstated_length: list[str] = field(default_factory=list)


def _add_samples(corpus_dir: Path, options: KineticsOptions, clips: list[Clip], clips_of_video: Counter,
                 result: LoadResult) -> FoundClips:
    """A sample per clip whose file a folder of its split and class holds (by the bare YouTube id too where
    `clips_of_video` counts one clip of its video); a clip not found is named at its row. Every clip's file is
    found first (directory listings), then the files' headers are read together (`read_headers`: on threads),
    then the samples are made in the clips' order."""
    located = _locate_clips(corpus_dir, options, clips, clips_of_video)
    headers = iter(read_headers([corpus_dir / c.video for c in located if c.video is not None], video_file_extra))
    found = FoundClips()
    for located_clip in located:
        clip, video = located_clip.clip, located_clip.video
        if video is None:
            found.missing += 1
            result.problems.append(_missing_clip(corpus_dir, located_clip.folders, clip, located_clip.stems))
            continue
        sample = _sample(clip, video, next(headers))
        if _bare_id(clip, video) and MODALITY_DURATION_KEYS["video"] not in sample.extra:
            found.unstated_length.append(video)
        result.samples.append(sample)
    return found


def _bare_id(clip: Clip, video: str) -> bool:
    """Whether `video` is named by the clip's bare YouTube id (so may be the whole video), not by the clip's id."""
    return PurePosixPath(video).stem == clip.youtube_id


def _sample(clip: Clip, video: str, header: dict[str, float]) -> Sample:
    """The sample of a clip with its video file and the durations its `header` states (its audio track's too:
    audio extractors read it; all in one open of the file: `video_file_extra`). No sample start/end where the file
    is the clip, already cut; a file named by the bare YouTube id that can only be the whole video is the clip's
    span of it (`_whole_video_span`)."""
    extra: dict[str, Any] = {"youtube_id": clip.youtube_id, "time_start": clip.start, "time_end": clip.end}
    if clip.label is not None:
        extra[CLASS_KEY] = clip.label
    extra.update(header)
    start, end = _whole_video_span(clip, video, extra)
    return Sample(sample_id=clip.sample_id, corpus=CORPUS, split=clip.split, group_id=clip.youtube_id,
                  video=video, start=start, end=end, extra=extra)


def _whole_video_span(clip: Clip, video: str, extra: dict[str, Any]) -> tuple[float | None, float | None]:
    """(start, end) of the sample: none for a clip's own file; for a file named by the bare YouTube id, the
    clip's times where its header states a video longer than the clip by over `WHOLE_VIDEO_TOLERANCE` that the
    clip starts in, the end held to the video's stated end (`held_end`: `annotated_end` kept). A file stating
    no duration, or ending at or before the clip's start (a whole video would hold none of the clip: it is the
    cut clip, over-long by its cut at key frames), is read as the clip."""
    duration = extra.get(MODALITY_DURATION_KEYS["video"])
    if not _bare_id(clip, video) or duration is None or duration <= clip.end - clip.start + WHOLE_VIDEO_TOLERANCE:
        return None, None
    length = extra.get(START_KEYS[MODALITY_DURATION_KEYS["video"]], 0.0) + duration
    if clip.start >= length:
        return None, None
    end = held_end(extra, clip.start, clip.end, length, sample_id=clip.sample_id, where=clip.location, part="clip",
                   length_name="stated end", source=f", from {video}'s header, the whole video", left_out="row")
    return (None, None) if isinstance(end, LoadProblem) else (clip.start, end)  # no problem: it starts before
