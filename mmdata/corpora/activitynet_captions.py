"""ActivityNet Captions (Krishna et al., ICCV 2017; dense video captioning, video-paragraph retrieval, temporal
grounding) as users have it on disk.

captions.zip unpacks into `captions/`: train.json (10,009 videos), val_1.json (4,917) and val_2.json (4,885),
each mapping a video id to its duration and timed sentences (see `activitynet_captions_json`); the test
videos' captions are withheld (`test_ids.json` only lists them). val_1 and val_2 are two annotations of the
same validation videos, which peers split their own ways: densevid_eval and PDVC score against both,
CLIP4Clip's paragraph retrieval reads val_1 alone, temporal grounding papers (2D-TAN, ...) and the Hugging
Face copies take val_2 as their test split. Hence option `val_2`: `val` (default: both files are split val,
no video in two splits), `test` (then `check` reports every validation video as a leak between val and test,
as it is), or `none` (left out). Only val_1.json and val_2.json may list the same videos: a video that
train.json lists and val_1.json or val_2.json lists again (the same YouTube id) is left out there as a repeat.

The videos are the YouTube downloads: `v_QOlSCBRmfWY.mp4` (or `.mkv`, `.webm`), some tools name them without
the `v_` prefix, in one folder or one per split (`-o video_dir=`). Each file's header is read once per load
(val_1.json and val_2.json name the same files).

One sample per timed sentence: sample_id `v_QOlSCBRmfWY[0]` (`<video>[i]`, i its index in the video's
lists, the key the CMU-MultimodalSDK gives a segment; `v_QOlSCBRmfWY.val_2[0]` for val_2.json's, which
annotates the same videos), group_id the video id, start/end from its timestamps, captions its sentence.
`extra` holds the JSON's `duration`, the video's own (`video_duration`, from the file's header), the
`segment` index, the `youtube_id` and the `annotation_file`. A segment ending past the video's duration is
cut there, its annotated end kept as `extra.annotated_end`; a video whose `duration` is null (or absent) is
held to its file's. A segment whose video file is not there (many YouTube videos are gone) and the segments
`read_annotation_file` leaves out are named in the errors table.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mmdata.corpora.activitynet_captions_json import AnnotatedVideo, find_video, read_annotation_file, segment_samples
from mmdata.corpora.base import REPEATED_ENTRY, LoadProblem, LoadResult, register_corpus
from mmdata.corpora.media_captions import (
    MediaFolders,
    VideoHeaders,
    check_split,
    find_csv_dir,
    listed_again,
    require_captions_files,
    require_videos_found,
    shown_path,
    video_folders,
)
from mmdata.corpora.mosi_raw_media import record_video_span
from mmdata.errors import ConfigError, CorpusNotFoundError

CORPUS = "activitynet-captions"
#: The annotation files, in the order read: a video a later file lists again is left out there (`SHARED_VIDEOS` aside).
ANNOTATION_FILES = ("train.json", "val_1.json", "val_2.json")
#: The files that list the same videos by design: val_2.json annotates val_1.json's videos a second time.
SHARED_VIDEOS = frozenset({"val_1.json", "val_2.json"})
#: Where the annotation files sit, relative to the root: the root, captions.zip's `captions/`, `annotations/`.
CAPTIONS_DIRS = ("", "captions", "annotations")
#: Folders the videos are looked for in, relative to the root (or to option video_dir), first first.
VIDEO_DIRS = ("videos", "videos/train", "videos/val", "videos/validation", "train", "val", "validation",
              "v1-2/train", "v1-2/val", "v1-3/train_val", "")
#: The per-split folders looked for in option video_dir, after the folder itself.
VIDEO_SUBFOLDERS = ("train", "val", "validation")
#: The suffixes of the YouTube downloads, in the order looked for (a file without one is not looked for).
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
        CorpusNotFoundError: no annotation file (or none of the split asked, or only val_2.json with
            `-o val_2=none`), or none of the videos found.
        CorpusFormatError: malformed JSON or entry, named `file:line:column`.
        ConfigError: an unknown split, `test` without `-o val_2=test`, or `val_2` (a file's name).
    """
    split_of = _file_splits(options.val_2)
    wanted = _wanted_split(split, split_of, options.val_2)
    captions_dir = find_csv_dir(corpus_dir, options.captions_dir, CAPTIONS_DIRS, split_of)
    files = {name: captions_dir / name for name in split_of if (captions_dir / name).is_file()}
    _require_files(corpus_dir, captions_dir, files, split_of, wanted, options.captions_dir)
    folders = video_folders(corpus_dir, options.video_dir, VIDEO_DIRS, subfolders=VIDEO_SUBFOLDERS)
    result = LoadResult(samples=[], metadata={"val_2": options.val_2, "annotation_files": {
        shown_path(corpus_dir, path): split_of[name] for name, path in files.items()}})
    claimed: dict[str, tuple[str, str, str]] = {}  # YouTube id -> (annotation file, split, key) listing it first
    headers = VideoHeaders(record_video_span)
    found_any, looked_for = False, set()
    for name, path in files.items():
        loaded = wanted in (None, split_of[name])
        problems = result.problems if loaded else []  # every file is read: a video listed earlier is found
        for video in read_annotation_file(path, lambda v, n=name: _id_base(v, n), problems):
            if _repeated(video, name, split_of[name], claimed, problems) or not loaded or not video.segments:
                continue
            looked_for.add(video.video_id)
            found_any |= _add_video(corpus_dir, options, folders, headers, video, name, split_of[name], result)
    require_videos_found(len(looked_for), found_any, "ActivityNet", corpus_dir,
                         f"as v_<id> or <id> with {', '.join(VIDEO_SUFFIXES)}", folders=folders)
    return result


def youtube_id(video_id: str) -> str:
    """The YouTube id of an ActivityNet video id: `v_QOlSCBRmfWY` (`v_` and 11 characters) without its `v_`;
    any other id as it is (a bare YouTube id may itself start with `v_`)."""
    return video_id[2:] if len(video_id) == 13 and video_id.startswith("v_") else video_id


def _file_splits(val_2: Val2) -> dict[str, str]:
    """Annotation file -> split, per option val_2."""
    splits = {"train.json": "train", "val_1.json": "val", "val_2.json": val_2}
    return {name: s for name, s in splits.items() if s != "none"}


def _wanted_split(split: str | None, split_of: dict[str, str], val_2: Val2) -> str | None:
    """The split asked (None: all).

    Raises:
        ConfigError: `test` where val_2.json is not read as test, a file's name (`val_1`, `val_2`), or an
            unknown split.
    """
    splits = tuple(dict.fromkeys(split_of.values()))
    if split == "test" and "test" not in splits:
        raise ConfigError("ActivityNet Captions publishes no test captions (test_ids.json only lists the videos); "
                          "-o val_2=test reads val_2.json as split test, as temporal grounding papers do")
    if split == "val_2" and val_2 != "test":
        read = "reads val_2.json as split val, with val_1.json (--split val)" if val_2 == "val" else \
            "leaves val_2.json unread"
        raise ConfigError(f"ActivityNet Captions has no split 'val_2': -o val_2={val_2} {read}; pass "
                          "-o val_2=test --split test for val_2.json's segments alone")
    native = {"val_1": "val", "validation": "val", "val_2": "test"}
    return check_split(split, splits, native, "ActivityNet Captions")


def _require_files(corpus_dir: Path, captions_dir: Path, files: dict[str, Path], split_of: dict[str, str],
                   wanted: str | None, given: str | None) -> None:
    """Refuse a load without the annotation files it needs (`given`: option captions_dir, else None).

    Raises:
        CorpusNotFoundError: no annotation file read in `captions_dir` (saying so where val_2.json is there
            but `-o val_2=none`), or none of split `wanted`.
    """
    if not files and "val_2.json" not in split_of:
        unread = find_csv_dir(corpus_dir, given, CAPTIONS_DIRS, ["val_2.json"]) / "val_2.json"
        if unread.is_file():
            raise CorpusNotFoundError(
                f"{unread} is there but not read (-o val_2=none), and neither {' nor '.join(split_of)} is found; "
                "-o val_2=val (or test) reads it")
    names_of: dict[str, tuple[str, ...]] = {}
    for name, split in split_of.items():
        names_of[split] = (*names_of.get(split, ()), name)
    require_captions_files(corpus_dir, captions_dir, {split_of[name] for name in files}, corpus="ActivityNet",
                           file_names=names_of, folders=CAPTIONS_DIRS, wanted=wanted, option="captions_dir")


def _id_base(video_id: str, file_name: str) -> str:
    """The part of a segment's sample id before `[i]`: the video id, marked for val_2.json (whose segments
    annotate the videos of val_1.json again)."""
    return f"{video_id}.val_2" if file_name == "val_2.json" else video_id


def _repeated(video: AnnotatedVideo, file_name: str, split: str, claimed: dict[str, tuple[str, str, str]],
              problems: list[LoadProblem]) -> bool:
    """Whether an earlier entry listed the video (by its YouTube id, `v_` or not), other than one of the
    `SHARED_VIDEOS` file it shares by design (its segments are then left out, each recorded as a repeat);
    else the video is claimed for this file."""
    first_file, first_split, first_key = claimed.setdefault(youtube_id(video.video_id),
                                                            (file_name, split, video.video_id))
    if (first_file, first_key) == (file_name, video.video_id) or {first_file, file_name} == SHARED_VIDEOS:
        return False
    what = listed_again(first_split, split)
    first = f"{first_file}, as {first_key!r}" if first_key != video.video_id else first_file
    problems += [LoadProblem(s.sample_id, s.where(), f"video {video.video_id!r} is listed {what} (first in "
                             f"{first}); segment left out", REPEATED_ENTRY) for s in video.segments]
    return True


def _add_video(corpus_dir: Path, options: ActivityNetCaptionsOptions, folders: MediaFolders, headers: VideoHeaders,
               video: AnnotatedVideo, file_name: str, split: str, result: LoadResult) -> bool:
    """A sample per segment of `video` when its file is found; else a problem per segment. Returns whether
    the file was found."""
    path = find_video(corpus_dir, folders, video, _video_names(video.video_id), result.problems,
                      allow_outside=options.allow_outside_root)
    if path is None:
        return False
    extra = {"youtube_id": youtube_id(video.video_id), "annotation_file": file_name}
    result.samples += segment_samples(CORPUS, video, path, headers.span(corpus_dir / path), split, extra,
                                      result.problems)
    return True


def _video_names(video_id: str) -> list[str]:
    """The file names a video may have, in the order looked for: its id, then without `v_` (`youtube_id`)
    or, for an id that is no `v_` id, with it."""
    bare = youtube_id(video_id)
    other = bare if bare != video_id else f"v_{video_id}"
    return [stem + suffix for stem in (video_id, other) for suffix in VIDEO_SUFFIXES]
