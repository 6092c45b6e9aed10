"""ActivityNet Captions (Krishna et al., ICCV 2017; dense video captioning, video-paragraph retrieval, temporal
grounding) as users have it on disk.

captions.zip unpacks into `captions/`: train.json (10,009 videos), val_1.json (4,917) and val_2.json (4,885),
each mapping a video id to its duration and timed sentences (see `activitynet_captions_json`); the test
videos' captions are withheld (`test_ids.json` only lists them). val_1 and val_2 are two annotations of the
same validation videos, which peers split their own ways: densevid_eval and PDVC score against both,
CLIP4Clip's paragraph retrieval reads val_1 alone, temporal grounding papers (2D-TAN, ...) and the Hugging
Face copies take val_2 as their test split. Hence option `val_2`: `val` (default: both files are split val,
no video in two splits), `test` (then `check` reports every validation video as a leak between val and test,
as it is), or `none` (left out).

The videos are the YouTube downloads: `v_QOlSCBRmfWY.mp4` (or `.mkv`, `.webm`), some tools name them without
the `v_` prefix, in one folder or one per split (`-o video_dir=`).

One sample per timed sentence: sample_id `v_QOlSCBRmfWY[0]` (`<video>[i]`, i its index in the video's
lists, the key the CMU-MultimodalSDK gives a segment; `v_QOlSCBRmfWY.val_2[0]` for val_2.json's, which
annotates the same videos), group_id the video id, start/end from its timestamps, captions its sentence.
`extra` holds the JSON's `duration`, the video's own (`video_duration`, from the file's header), the
`segment` index, the `youtube_id` and the `annotation_file`. A segment ending past the video's duration is
cut there, its annotated end kept as `extra.annotated_end`. A segment whose video file is not there (many
YouTube videos are gone) and the segments `read_annotation_file` leaves out are named in the errors table.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mmdata.corpora.activitynet_captions_json import AnnotatedVideo, Segment, read_annotation_file
from mmdata.corpora.base import REPEATED_ENTRY, LoadProblem, LoadResult, given_image_dir, register_corpus
from mmdata.corpora.media_captions import MediaFolders, check_split, find_csv_dir, media_path, missing_media_problem
from mmdata.corpora.mosi_raw_media import record_video_span
from mmdata.errors import ConfigError, CorpusNotFoundError
from mmdata.media.files import is_regular_file
from mmdata.records import Sample

CORPUS = "activitynet-captions"
#: The annotation files, in the order read: a video a later file lists again under the same ids is left out there.
ANNOTATION_FILES = ("train.json", "val_1.json", "val_2.json")
#: Where the annotation files sit, relative to the root: the root, captions.zip's `captions/`, `annotations/`.
CAPTIONS_DIRS = ("", "captions", "annotations")
#: Folders the videos are looked for in, relative to the root (or to option video_dir), first first.
VIDEO_DIRS = ("videos", "videos/train", "videos/val", "videos/validation", "train", "val", "validation",
              "v1-2/train", "v1-2/val", "v1-3/train_val", "")
#: The suffixes of the YouTube downloads, in the order looked for.
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm")
Val2 = Literal["val", "test", "none"]


@dataclass(frozen=True)
class ActivityNetCaptionsOptions:
    #: Folder of train.json, val_1.json, val_2.json, relative to the root or absolute (default: the root,
    #: else `captions/`, `annotations/`).
    captions_dir: str | None = None
    #: Folder of the videos (or of their per-split folders), relative to the root or absolute (default: found).
    video_dir: str | None = None
    #: The split of val_2.json's segments: `val` (with val_1's), `test`, or `none` (not read).
    val_2: Val2 = "val"
    #: Accept video paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@register_corpus(CORPUS, ActivityNetCaptionsOptions)
def load_activitynet_captions(corpus_dir: Path, options: ActivityNetCaptionsOptions, split: str | None) -> LoadResult:
    """ActivityNet Captions (`train.json`, `val_1.json`, `val_2.json` + videos), one sample per timed sentence.

    `split`: none or `all` for every split; `train`, `val`, or `test` with `-o val_2=test`.

    Example:
        >>> result = load_activitynet_captions(Path("/data/anet"), ActivityNetCaptionsOptions(), "train")
        >>> s = result.samples[0]; s.sample_id, s.start, s.end, s.captions
        ('v_QOlSCBRmfWY[0]', 0.83, 19.86, ('A young woman is seen standing in a room and leads into her dancing.',))

    Raises:
        CorpusNotFoundError: no annotation file (or none of the split asked), or none of the videos found.
        CorpusFormatError: malformed JSON or entry, named `file:line:column`.
        ConfigError: an unknown split, or `test` without `-o val_2=test`.
    """
    split_of = _file_splits(options.val_2)
    wanted = _wanted_split(split, split_of)
    captions_dir = find_csv_dir(corpus_dir, options.captions_dir, CAPTIONS_DIRS, split_of)
    files = {name: captions_dir / name for name in split_of if (captions_dir / name).is_file()}
    _require_files(corpus_dir, captions_dir, files, split_of, wanted)
    folders = _video_folders(corpus_dir, options.video_dir)
    result = LoadResult(samples=[], metadata={"val_2": options.val_2, "annotation_files": {
        _shown_path(corpus_dir, path): split_of[name] for name, path in files.items()}})
    claimed: dict[str, tuple[str, str]] = {}  # sample id base -> (annotation file, split) listing it first
    found_any, looked_for = False, set()
    for name, path in files.items():
        loaded = wanted in (None, split_of[name])
        problems = result.problems if loaded else []  # every file is read: a video listed earlier is found
        for video in read_annotation_file(path, lambda v, n=name: _id_base(v, n), problems):
            if _repeated(video, name, split_of[name], claimed, problems) or not loaded or not video.segments:
                continue
            looked_for.add(video.video_id)
            found_any |= _add_video(corpus_dir, options, folders, video, name, split_of[name], result)
    if looked_for and not found_any:
        raise CorpusNotFoundError(
            f"none of the {len(looked_for)} ActivityNet videos found in {_searched(folders)} of {corpus_dir} (as "
            f"v_<id> or <id> with {', '.join(VIDEO_SUFFIXES)}); -o video_dir= names the folder holding them")
    return result


def _file_splits(val_2: Val2) -> dict[str, str]:
    """Annotation file -> split, per option val_2."""
    splits = {"train.json": "train", "val_1.json": "val", "val_2.json": val_2}
    return {name: s for name, s in splits.items() if s != "none"}


def _wanted_split(split: str | None, split_of: dict[str, str]) -> str | None:
    """The split asked (None: all).

    Raises:
        ConfigError: `test` where val_2.json is not read as test, a file's name (`val_1`), or an unknown split.
    """
    splits = tuple(dict.fromkeys(split_of.values()))
    if split == "test" and "test" not in splits:
        raise ConfigError("ActivityNet Captions publishes no test captions (test_ids.json only lists the videos); "
                          "-o val_2=test reads val_2.json as split test, as temporal grounding papers do")
    native = {"val_1": "val", "validation": "val", **({"val_2": split_of["val_2.json"]} if "val_2.json" in split_of
                                                      else {})}
    return check_split(split, splits, native, "ActivityNet Captions")


def _require_files(corpus_dir: Path, captions_dir: Path, files: dict[str, Path], split_of: dict[str, str],
                   wanted: str | None) -> None:
    """Raises CorpusNotFoundError: no annotation file in `captions_dir`, or none of split `wanted`."""
    if not files:
        where = str(captions_dir) if captions_dir != corpus_dir else \
            f"{corpus_dir} or its {', '.join(d + '/' for d in CAPTIONS_DIRS if d)} folders"
        raise CorpusNotFoundError(f"no ActivityNet Captions annotation file ({', '.join(split_of)}) found in {where}; "
                                  "-o captions_dir= names the folder holding them")
    if wanted is not None and wanted not in {split_of[name] for name in files}:
        names = [name for name, s in split_of.items() if s == wanted]
        raise CorpusNotFoundError(f"split {wanted!r} asked, but {' or '.join(names)} is not in {captions_dir}; "
                                  f"files there: {list(files)}")


def _id_base(video_id: str, file_name: str) -> str:
    """The part of a segment's sample id before `[i]`: the video id, marked for val_2.json (whose segments
    annotate the videos of val_1.json again)."""
    return f"{video_id}.val_2" if file_name == "val_2.json" else video_id


def _repeated(video: AnnotatedVideo, file_name: str, split: str, claimed: dict[str, tuple[str, str]],
              problems: list[LoadProblem]) -> bool:
    """Whether an earlier file listed the video under the same ids (its segments are then left out, each
    recorded as a repeat); else the video's ids are claimed for this file."""
    base = _id_base(video.video_id, file_name)
    first = claimed.setdefault(base, (file_name, split))
    if first == (file_name, split):
        return False
    what = f"in split {first[1]!r} too, a leak between them" if first[1] != split else "again"
    problems += [LoadProblem(s.sample_id, s.where(), f"video {video.video_id!r} is listed {what} (first in "
                             f"{first[0]}); segment left out", REPEATED_ENTRY) for s in video.segments]
    return True


def _add_video(corpus_dir: Path, options: ActivityNetCaptionsOptions, folders: MediaFolders, video: AnnotatedVideo,
               file_name: str, split: str, result: LoadResult) -> bool:
    """A sample per segment of `video` when its file is found (its header read once); else a problem per
    segment. Returns whether the file was found."""
    names = _video_names(video.video_id)
    path = next((p for n in names if (p := media_path(corpus_dir, folders, n, where=video.where,
                                                     allow_outside=options.allow_outside_root)) is not None), None)
    if path is None:
        result.problems += [_missing_video(corpus_dir, folders, names, s) for s in video.segments]
        return False
    shared = {"duration": video.duration, "youtube_id": video.video_id.removeprefix("v_"),
              "annotation_file": file_name}
    if is_regular_file(corpus_dir / path):  # a FIFO would make the header read wait forever
        record_video_span(corpus_dir / path, shared)
    result.samples += [_sample(s, video, path, split, shared) for s in video.segments]
    return True


def _sample(segment: Segment, video: AnnotatedVideo, path: str, split: str, shared: dict) -> Sample:
    extra = {**shared, "segment": segment.index}
    if segment.annotated_end is not None:
        extra["annotated_end"] = segment.annotated_end
    return Sample(sample_id=segment.sample_id, corpus=CORPUS, split=split, group_id=video.video_id, video=path,
                  start=segment.start, end=segment.end, captions=(segment.caption,), extra=extra)


def _video_names(video_id: str) -> list[str]:
    """The file names a video may have, in the order looked for: its id, then without (or with) `v_`."""
    other = video_id.removeprefix("v_") if video_id.startswith("v_") else f"v_{video_id}"
    return [stem + suffix for stem in (video_id, other) for suffix in VIDEO_SUFFIXES]


def _missing_video(corpus_dir: Path, folders: MediaFolders, names: list[str], segment: Segment) -> LoadProblem:
    problem = missing_media_problem(corpus_dir, folders, names[0], segment.sample_id, segment.where(), "video")
    reason = problem.reason.removesuffix("; row left out")
    return dataclasses.replace(problem, reason=f"{reason}; also looked for {', '.join(names[1:])}; segment left out")


def _video_folders(corpus_dir: Path, video_dir: str | None) -> MediaFolders:
    """Option video_dir and its train/, val/, validation/ folders, else the `VIDEO_DIRS` that are there."""
    if video_dir is not None:
        base = given_image_dir(video_dir)
        subfolders = [f"{base}/{s}" for s in ("train", "val", "validation") if (corpus_dir / base / s).is_dir()]
        return MediaFolders(corpus_dir, [base, *subfolders])
    return MediaFolders(corpus_dir, [d for d in VIDEO_DIRS if (corpus_dir / d).is_dir()])


def _shown_path(corpus_dir: Path, path: Path) -> str:
    """`path` relative to the root where it is under it (`captions/train.json`), else as given."""
    return path.relative_to(corpus_dir).as_posix() if path.is_relative_to(corpus_dir) else path.as_posix()


def _searched(folders: MediaFolders) -> str:
    return ", ".join(f"{f}/" if f else "the root" for f in folders.folders) or "the root"
