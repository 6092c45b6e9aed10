"""MSR-VTT (video captioning, video-text retrieval) in its two common layouts.

Official (as the challenge distributed it): `train_val_videodatainfo.json` (+ `test_videodatainfo.json`),
in the root or a folder of it, with the clips in `TrainValVideo/` and `TestVideo/` (video0.mp4 ...
video9999.mp4). Splits from each video's `split`: train (6,513), val (`validate`, 497), test (2,990).

1k-A (the split of JSFusion that CLIP4Clip, Frozen and most retrieval papers report): `MSRVTT_data.json`
(the same JSON, every video's 20 sentences) + `MSRVTT_train.9k.csv` (one `video_id` a line) +
`MSRVTT_JSFUSION_test.csv` (`key,vid_key,video_id,sentence`: 1,000 test videos, each with the one
sentence that is its retrieval query), in the root or `msrvtt_data/`, clips in `MSRVTT_Videos/`,
`videos/all/` (or the official folders). Splits: train (the 9k file, or `-o train_csv=MSRVTT_train.7k.csv`)
with all their captions, and test with the CSV's sentence (`-o test_captions=all`: all 20). A video of
the JSON in neither file is kept in split `unassigned`, with one warning.

One sample per clip: sample_id = group_id = the video id (`video7010`), captions ordered by `sen_id`.
Clips of one YouTube video may sit in different splits, as published: `extra.youtube_id` names it (a
group id would make `check` report those as leaks). A clip whose file is missing, a video without a
caption, a blank caption and an entry listed again are left out and reported naming `file:line`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Literal, Union

from mmdata.corpora.base import LoadProblem, LoadResult, register_corpus
from mmdata.corpora.media_captions import MediaFolders, check_split, media_path, missing_media_problem
from mmdata.corpora.msrvtt_1ka import ONE_K_A_SPLITS, Assigned, find_data_file, load_one_k_a
from mmdata.corpora.msrvtt_json import OFFICIAL_SPLITS, Annotations, read_annotations, unlisted_sentences
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

log = logging.getLogger(__name__)

CORPUS = "msrvtt"
OFFICIAL_FILES = ("train_val_videodatainfo.json", "test_videodatainfo.json")
#: Folders the clips are looked for in, relative to the root, first first.
VIDEO_DIRS = ("TrainValVideo", "TestVideo", "MSRVTT_Videos", "videos/all", "videos", "")
Layout = Literal["auto", "official", "1k-a"]
#: Where an entry is: `file:line`, or a function giving `file:line:column` (a JSON entry, located on demand).
Where = Union[str, Callable[[], str]]


@dataclass(frozen=True)
class MsrvttOptions:
    #: `official` (the *_videodatainfo.json files), `1k-a` (MSRVTT_data.json + the JSFusion split CSVs), or
    #: `auto`: the one whose files are there.
    layout: Layout = "auto"
    #: 1k-A: the train split's CSV, in the folder of MSRVTT_data.json (MSRVTT_train.7k.csv for the 7k split).
    train_csv: str = "MSRVTT_train.9k.csv"
    #: 1k-A: the test videos' captions: `query` (the one sentence of MSRVTT_JSFUSION_test.csv) or `all` (20 each).
    test_captions: Literal["query", "all"] = "query"
    #: Folder of the clips, relative to the root (default: the first of VIDEO_DIRS holding each clip).
    video_dir: str | None = None
    #: The clips' file suffix.
    video_ext: str = ".mp4"
    #: Accept clip paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@register_corpus(CORPUS, MsrvttOptions)
def load_msrvtt(corpus_dir: Path, options: MsrvttOptions, split: str | None) -> LoadResult:
    """MSR-VTT, official (`train_val_videodatainfo.json`) or 1k-A (`MSRVTT_data.json` + split CSVs), a sample per clip.

    `split`: none or `all` for every split; official: `train`, `val` (`validate`), `test`; 1k-A: `train`,
    `test`, `unassigned`.

    Example:
        >>> result = load_msrvtt(Path("/data/msrvtt"), MsrvttOptions(), "test")
        >>> len(result.samples), result.samples[0].captions
        (1000, ('a person is connecting something to system',))

    Raises:
        CorpusNotFoundError: no annotation file of either layout (or of the one named), or a split CSV missing.
        CorpusFormatError: malformed JSON or CSV, named `file:line[:column]`.
        ConfigError: both layouts' files are there with `layout=auto`, or a split the layout does not have.
    """
    layout, annotation_files = _layout(corpus_dir, options.layout)
    folders = MediaFolders(corpus_dir, [options.video_dir] if options.video_dir is not None else
                           [d for d in VIDEO_DIRS if (corpus_dir / d).is_dir()])
    wanted, annotations, assigned, metadata = _read_layout(options, layout, annotation_files, split)
    result = LoadResult(samples=[], problems=list(annotations.problems), metadata={"layout": layout, **metadata})
    for video_id, (video_split, where, captions) in assigned.items():
        if wanted not in (None, video_split):
            continue
        sample = _sample(corpus_dir, options, folders, annotations, video_id, video_split, where, captions,
                         result.problems)
        if sample is not None:
            result.samples.append(sample)
    # A problem of a video another split holds says nothing about the samples loaded.
    result.problems = [p for p in result.problems if wanted is None or assigned.get(p.sample_id or "", ("",))[0]
                       in (wanted, "")]
    return result


def _read_layout(options: MsrvttOptions, layout: str, annotation_files: list[Path],
                 split: str | None) -> tuple[str | None, Annotations, Assigned, dict]:
    """The split asked (None: all), the layout's annotations (read from `annotation_files`, as `_layout`
    found them), each video's split and the files read.

    Raises:
        ConfigError: a split the layout does not have (1k-A has no val).
    """
    if layout == "official":
        wanted = check_split(split, tuple(OFFICIAL_SPLITS.values()), {"validate": "val"}, "MSR-VTT")
        return (wanted, *_load_official(annotation_files))
    if split in ("val", "validate"):
        raise ConfigError(f"MSR-VTT 1k-A has no split {split!r}: its train file holds the official train and "
                          f"validate clips; splits: {list(ONE_K_A_SPLITS)} (-o layout=official reads the "
                          "official splits, where the *_videodatainfo.json files are there)")
    wanted = check_split(split, ONE_K_A_SPLITS, {}, "MSR-VTT 1k-A")
    data_file, = annotation_files
    return (wanted, *load_one_k_a(data_file, options, wanted))


def _sample(corpus_dir: Path, options: MsrvttOptions, folders: MediaFolders, annotations: Annotations,
            video_id: str, split: str, where: Where, captions: tuple[str, ...] | None,
            problems: list[LoadProblem]) -> Sample | None:
    """The sample of one clip (`captions`: given by a split file, else the annotations' sentences), or None
    with its problem recorded: no caption, or no clip file. `where` names the entry listing the clip (a
    function for a JSON entry, located only when a problem names it)."""
    numbers = None
    if captions is None:
        captions, numbers = annotations.captions_of(video_id)
    if not captions:
        problems.append(LoadProblem(video_id, _text(where), f"video {video_id!r} has no caption; left out"))
        return None
    name = f"{video_id}{options.video_ext}"
    video = media_path(corpus_dir, folders, name, where=where, allow_outside=options.allow_outside_root)
    if video is None:
        problems.append(missing_media_problem(corpus_dir, folders, name, video_id, _text(where), "video"))
        return None
    info = annotations.videos.get(video_id)
    extra = dict(info.extra) if info is not None else {}
    if numbers is not None:
        extra["sen_ids"] = numbers
    return Sample(sample_id=video_id, corpus=CORPUS, split=split, group_id=video_id, video=video,
                  captions=captions, extra=extra)


def _text(where: Where) -> str:
    return where() if callable(where) else where


def _load_official(paths: list[Path]) -> tuple[Annotations, Assigned, dict]:
    """The annotations of the official files at `paths` and each listed video's (split, where, None:
    captions from the JSON)."""
    annotations = Annotations()
    for path in paths:
        read_annotations(path, annotations, videos_required=True)
    annotations.problems += unlisted_sentences(annotations)
    assigned = {}
    for video_id, info in annotations.videos.items():
        if info.split is None:  # the official files give every video its split
            raise CorpusFormatError(f"{info.where()}: video {video_id!r} has no 'split'; expected one of "
                              f"{list(OFFICIAL_SPLITS)} (is this MSRVTT_data.json? use -o layout=1k-a)")
        assigned[video_id] = (OFFICIAL_SPLITS[info.split], info.where, None)
    return annotations, assigned, {"annotation_files": [p.name for p in paths]}


def _layout(corpus_dir: Path, layout: Layout) -> tuple[Literal["official", "1k-a"], list[Path]]:
    """The layout to read (the one named, else the one whose files are there) and its annotation files:
    the official files found, or MSRVTT_data.json (found once, here, and passed on to `_read_layout`).

    Raises:
        CorpusNotFoundError: none of its files (either layout's, for `auto`).
        ConfigError: `auto` with both layouts' files there.
    """
    official = [p for p in (_find_official(corpus_dir, n) for n in OFFICIAL_FILES) if p is not None]
    one_k_a = find_data_file(corpus_dir)
    if layout == "auto" and official and one_k_a is not None:
        raise ConfigError(
            f"{corpus_dir} holds both MSR-VTT layouts ({official[0].name} and {one_k_a.name}), whose test splits "
            "differ (2,990 official test clips, 1,000 in 1k-A); pass -o layout=official or -o layout=1k-a")
    if layout == "1k-a" or (layout == "auto" and one_k_a is not None):
        if one_k_a is None:
            raise CorpusNotFoundError(f"MSRVTT_data.json not found in {corpus_dir} or its msrvtt_data/ folder "
                                      "(layout 1k-a)")
        return "1k-a", [one_k_a]
    if not official:
        raise CorpusNotFoundError(
            f"no MSR-VTT annotation file found in {corpus_dir} or its folders: expected {' or '.join(OFFICIAL_FILES)} "
            "(official layout), or MSRVTT_data.json with MSRVTT_train.9k.csv and MSRVTT_JSFUSION_test.csv "
            "(1k-A, in the root or msrvtt_data/)")
    return "official", official


def _find_official(corpus_dir: Path, name: str) -> Path | None:
    """`name` in the root, else in one of its folders (the first by name: the zips unpack into one)."""
    if (corpus_dir / name).is_file():
        return corpus_dir / name
    try:
        return next((p for p in sorted(corpus_dir.glob(f"*/{name}")) if p.is_file()), None)
    except OSError:
        return None
