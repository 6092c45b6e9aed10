"""VATEX (Wang et al., ICCV 2019; multilingual video captioning, video-text retrieval) as users have it on disk.

The release is three annotation files, each a JSON list of clips:
    [{"videoID": "Ptf_2VRj-V0_000122_000132",
      "enCap": ["A man is ...", ... 10 English captions], "chCap": ["一个男人...", ... 10 Chinese captions]}, ...]
vatex_training_v1.0.json (25,991 clips), vatex_validation_v1.0.json (3,000) and
vatex_public_test_english_v1.1.json (6,000, English captions only); vatex_private_test_without_annotations.json
(6,278 clips, no captions) is not read. A videoID is Kinetics-600's clip name: the 11-character YouTube id (which
may itself hold `_` and `-`), then the clip's start and end in whole seconds of that video, six digits each.

The videos are the 10 s clips cut from YouTube, `<videoID>.mp4` (as the download scripts and CoCap, CLIP2Video
read them), or the whole YouTube videos, `<youtube_id>.mp4` (or `.mkv`, `.webm`), in one folder or one per split
(`-o video_dir=`). A clip's own file is looked for first; only a whole video gets `start`/`end` (from the
videoID), held to the length its header states. A file named by the YouTube id whose header length is the clip's
(within `CUT_CLIP_TOLERANCE`) while the clip ends past it is the cut clip saved under its YouTube id: the whole
file, no span (`extra.video_is_clip`).

`-o split_lists=DIR` takes retrieval papers' splits instead (`vatex_split_lists`): each clip a list names takes
its list's split, its captions from the official files; a list none of whose clips is found while an annotation
file is missing is refused, naming the file.

One sample per clip: sample_id the videoID, group_id the YouTube id (so that `check` reports one YouTube video in
two splits), captions the English ones in file order (`-o captions=zh`: the Chinese ones, which the public test
file does not publish; `both`: English then Chinese). `extra` holds `youtube_id`, `clip_start`, `clip_end`,
`annotation_file` (and for a whole video its header's `video_duration`). A clip whose file no folder holds
(many YouTube videos are gone), an entry that is no clip object, a videoID not of that form, captions that are
no list, a blank caption, and a clip listed again (in one file or two: the first, train before val before
test, keeps it) are named in the errors table at `file:line:column`. Every annotation file is read, whatever
the split asked (a clip listed in an earlier file is found), so an invalid file stops any load; the entries'
problems of a split not asked are left out.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mmdata.corpora.base import JsonLocator, LoadProblem, LoadResult, expect, read_json, register_corpus, short_repr, \
    text_problem
from mmdata.corpora.media_captions import (
    MediaFolders,
    VideoHeaders,
    check_split,
    find_csv_dir,
    first_media_path,
    held_end,
    listed_again,
    missing_media_problem,
    repeated_entry_problem,
    require_captions_files,
    require_videos_found,
    shown_path,
    video_folders,
)
from mmdata.corpora.mosi_raw_media import record_video_span
from mmdata.corpora.vatex_split_lists import (
    UnreadFiles,
    find_split_lists,
    listed_entries,
    require_split_list,
)
from mmdata.errors import ConfigError, CorpusNotFoundError
from mmdata.records import MODALITY_DURATION_KEYS, Sample

CORPUS = "vatex"
#: Split -> its annotation file, in the order read (a clip listed in two files is kept in the first).
ANNOTATION_FILES = {"train": "vatex_training_v1.0.json", "val": "vatex_validation_v1.0.json",
                    "test": "vatex_public_test_english_v1.1.json"}
#: The splits whose file publishes English captions only (its entries have no `chCap`).
ENGLISH_ONLY_SPLITS = frozenset({"test"})
#: The challenge's private test file: videoIDs without captions, not read.
PRIVATE_TEST_FILE = "vatex_private_test_without_annotations.json"
#: Where the annotation files sit, relative to the root, first first ("" is the root itself).
ANNOTATION_DIRS = ("", "annotations", "vatex", "data")
#: Folders the videos are looked for in, relative to the root (or to option video_dir), first first.
#: The per-split folders looked for in option video_dir, after the folder itself.
VIDEO_SUBFOLDERS = ("train", "val", "validation", "test", "public_test")
#: Folders the videos are looked for in, relative to the root, first first: `videos/`, `vatex_videos/`, then the
#: per-split folders in `videos/` and in the root, then the root.
VIDEO_DIRS = ("videos", "vatex_videos", *(f"videos/{s}" for s in VIDEO_SUBFOLDERS), *VIDEO_SUBFOLDERS, "")
#: The suffixes of the videos, in the order looked for.
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm")
#: Option `captions` -> the JSON keys read, in the order the captions are kept.
CAPTION_KEYS = {"en": ("enCap",), "zh": ("chCap",), "both": ("enCap", "chCap")}
#: `<youtube_id>_<start>_<end>`: the start and end in whole seconds (six digits in the release).
CLIP_ID = re.compile(r"(?P<youtube_id>[A-Za-z0-9_-]+)_(?P<start>[0-9]{1,9})_(?P<end>[0-9]{1,9})")
#: Seconds within which a file named by the YouTube id is taken for the cut clip: its header length this close
#: to the clip's (end - start), and the clip's end more than this past that length.
CUT_CLIP_TOLERANCE = 0.5
Captions = Literal["en", "zh", "both"]


@dataclass(frozen=True)
class VatexOptions:
    #: Folder of the annotation files, relative to the root or absolute (default: the root, else `annotations/`,
    #: `vatex/`, `data/`).
    annotations_dir: str | None = None
    #: Folder of the videos (or of their per-split folders), relative to the root or absolute (default: found).
    video_dir: str | None = None
    #: The captions kept: `en` (enCap), `zh` (chCap; the public test file has none: no test split), or `both`.
    captions: Captions = "en"
    #: Accept video paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False
    #: Folder of retrieval papers' split lists (CLIP2Video's `train_list.txt` and `test_list.txt`, `val_list.txt`,
    #: or the HGR protocol's `vatex_test_HGR.txt`, read in place of `test_list.txt` where both are there: a
    #: videoID a line), relative to the root or absolute: each listed clip takes its list's split, captions still
    #: from the annotation files (default: none, the official splits).
    split_lists: str | None = None


@dataclass(frozen=True)
class Clip:
    """One readable entry of an annotation file: its videoID's parts, its captions and where it is."""

    video_id: str
    youtube_id: str
    start: int
    end: int
    captions: tuple[str, ...]
    #: Where the entry is: `file:line:column: [i]`, located when a problem names it.
    where: Callable[[], str]


@register_corpus(CORPUS, VatexOptions)
def load_vatex(corpus_dir: Path, options: VatexOptions, split: str | None) -> LoadResult:
    """VATEX (`vatex_training_v1.0.json`, `vatex_validation_v1.0.json`, `vatex_public_test_english_v1.1.json` +
    the clips or the YouTube videos), one sample per clip with its captions.

    `split`: none or `all` for every split; `train`, `val`, or `test` (not with `-o captions=zh`, but with
    `-o split_lists=`, whose test clips are official validation clips).

    Example:
        >>> result = load_vatex(Path("/data/vatex"), VatexOptions(), "val")
        >>> s = result.samples[0]; s.sample_id, s.group_id, len(s.captions)
        ('--07WQ2iBlw_000001_000011', '--07WQ2iBlw', 10)

    Raises:
        CorpusNotFoundError: no annotation file (or none of the split asked), no split list (option
            split_lists), or none of the videos found.
        CorpusFormatError: invalid JSON, or a file that is no list of clips, named `file:line:column`.
        ConfigError: an unknown split (`validation`: pass `val`), or `test` with `-o captions=zh`.
    """
    file_names = {s: name for s, name in ANNOTATION_FILES.items() if options.captions != "zh" or
                  s not in ENGLISH_ONLY_SPLITS}
    lists = None if options.split_lists is None else find_split_lists(corpus_dir, options.split_lists)
    wanted = _wanted_split(split, file_names, options.captions, listed=lists is not None)
    if lists is not None:
        require_split_list(lists, wanted, corpus_dir / str(options.split_lists))
    annotations_dir = find_csv_dir(corpus_dir, options.annotations_dir, ANNOTATION_DIRS, file_names.values())
    files = {s: annotations_dir / name for s, name in file_names.items() if (annotations_dir / name).is_file()}
    _require_files(corpus_dir, annotations_dir, files, file_names, wanted if lists is None else None, options)
    result = LoadResult(samples=[], metadata={"captions": options.captions, "annotation_files": {
        shown_path(corpus_dir, path): s for s, path in files.items()}})
    if lists is None:
        entries = _official_entries(files, options.captions, wanted, result.problems)
    else:
        unread = _unread_files(annotations_dir, files, file_names, options.captions)
        entries = _listed_entries(corpus_dir, files, lists, options.captions, wanted, unread, result)
    _add_clips(corpus_dir, options, entries, result)
    return result


#: A clip to load: its split, its entry, its annotation file and what its sample's `extra` adds.
Entry = tuple[str, Clip, Path, dict[str, Any]]


def _official_entries(files: dict[str, Path], captions: Captions, wanted: str | None,
                      problems: list[LoadProblem]) -> list[Entry]:
    """The clips of the split asked (None: every split), each in the split of the first file listing it; the
    problems of the splits loaded recorded (every file is read, so that a clip listed earlier is found)."""
    listings = _first_listings(files, captions, lambda split: problems if wanted in (None, split) else [])
    return [(split, clip, path, {}) for split, clip, path in listings if wanted in (None, split)]


def _listed_entries(corpus_dir: Path, files: dict[str, Path], lists: dict[str, Path], captions: Captions,
                    wanted: str | None, unread: UnreadFiles, result: LoadResult) -> list[Entry]:
    """The clips the split lists assign to the split asked (None: every split listed), captions from the
    annotation files (`vatex_split_lists.listed_entries` says which problems are recorded).

    Raises:
        CorpusNotFoundError: a list none of whose clips is found while an annotation file is missing.
    """
    entry_problems: list[LoadProblem] = []
    clips = _readable_clips(files, captions, entry_problems)
    return listed_entries(corpus_dir, clips, entry_problems, lists, wanted, unread, result)


def _unread_files(annotations_dir: Path, files: dict[str, Path], file_names: dict[str, str],
                  captions: Captions) -> UnreadFiles:
    """The annotation files a split-list load does not read: those not found in `annotations_dir`, and the public
    test file with `-o captions=zh` (English captions only); named in the problem of a listed clip not found."""
    absent = tuple(name for split, name in file_names.items() if split not in files)
    hint = f"; {', '.join(absent)} not found in {annotations_dir}" if absent else ""
    if captions == "zh":
        hint += f"; -o captions=zh does not read {ANNOTATION_FILES['test']} (English captions only)"
    return UnreadFiles(hint, absent, annotations_dir)


def _readable_clips(files: dict[str, Path], captions: Captions,
                    problems: list[LoadProblem]) -> dict[str, tuple[Clip, Path]]:
    """videoID -> the clip and its annotation file, of every file (the first file listing a clip keeps it)."""
    listings = _first_listings(files, captions, lambda split: problems, files_are_splits=False)
    return {clip.video_id: (clip, path) for _, clip, path in listings}


def _first_listings(files: dict[str, Path], captions: Captions, problems_of: Callable[[str], list[LoadProblem]], *,
                    files_are_splits: bool = True) -> Iterator[tuple[str, Clip, Path]]:
    """Each file's split and its readable clips not listed by an earlier entry (the first listing keeps the clip),
    every file read in order; `problems_of(split)` takes the problems of that split's file (a repeat's too)."""
    claimed: dict[str, tuple[str, Callable[[], str]]] = {}  # videoID -> (split, where) of the entry keeping it
    for split, path in files.items():
        problems = problems_of(split)
        for clip in read_clips(path, _caption_keys(captions, split), problems):
            if not _repeated(clip, split, claimed, problems, files_are_splits=files_are_splits):
                yield split, clip, path


def _add_clips(corpus_dir: Path, options: VatexOptions, entries: list[Entry], result: LoadResult) -> None:
    """Each entry's sample where its video is found, else its problem.

    Raises:
        CorpusNotFoundError: none of the videos found.
    """
    folders = video_folders(corpus_dir, options.video_dir, VIDEO_DIRS, subfolders=VIDEO_SUBFOLDERS)
    headers = VideoHeaders(record_video_span)
    found = sum(_add_clip(corpus_dir, options, folders, headers, clip, split, path, extra, result)
                for split, clip, path, extra in entries)
    require_videos_found(len(entries), found > 0, "VATEX", corpus_dir,
                         f"as <videoID> or <youtube_id> with {', '.join(VIDEO_SUFFIXES)}", folders=folders)


def read_clips(path: Path, keys: tuple[str, ...], problems: list[LoadProblem]) -> Iterator[Clip]:
    """The readable clips of one annotation file, their captions those of `keys` (`enCap`, `chCap`: see
    `_caption_keys`) in that order; an entry that is no clip, or has no caption left, is left out with its
    problem recorded.

    Raises:
        CorpusFormatError: invalid JSON, or a file that is no list of clips, named `file:line:column`.
    """
    data = read_json(path)
    locate = JsonLocator(path)
    expect(isinstance(data, list), locate.where(), "expected a list of clips ([{\"videoID\": ..., \"enCap\": [...], "
           f"\"chCap\": [...]}}, ...], VATEX's annotation JSON), got {_kind_of(data)}")
    for i, entry in enumerate(data):
        clip = _read_entry(entry, i, locate, keys, problems)
        if clip is not None:
            yield clip


def _kind_of(data: Any) -> str:
    return f"an object with keys {sorted(data)[:8]}" if isinstance(data, dict) else type(data).__name__


def _read_entry(entry: Any, i: int, locate: JsonLocator, keys: tuple[str, ...],
                problems: list[LoadProblem]) -> Clip | None:
    """Entry i as a clip, or None with its problem recorded: no object, a videoID not of the form
    `<youtube_id>_<start>_<end>` (or ending at or before its start), or no caption to keep."""
    where = lambda *steps: locate.where(i, *steps)  # noqa: E731 (located only when a problem names it)
    if not isinstance(entry, dict):
        problems.append(LoadProblem(None, where(), f"expected a clip object {{\"videoID\": ..., \"enCap\": [...]}}, "
                                    f"got {short_repr(entry)}; entry left out"))
        return None
    video_id = entry.get("videoID")
    match = _clip_id_match(video_id)
    if match is None:
        problems.append(LoadProblem(None, where("videoID"), (
            f"videoID {short_repr(video_id)} is not <youtube_id>_<start>_<end> (e.g. Ptf_2VRj-V0_000122_000132, "
            "the clip's whole seconds in its YouTube video); entry left out")))
        return None
    start, end = int(match["start"]), int(match["end"])
    if end <= start:
        problems.append(LoadProblem(video_id, where("videoID"), (
            f"clip {video_id} ends at {end} s, at or before its start ({start} s); expected <start> < <end>; "
            "entry left out")))
        return None
    captions, unlisted = [], []
    for key in keys:
        texts = _captions(entry, video_id, key, where, problems)
        captions += texts if texts is not None else []
        unlisted += [key] if texts is None else []
    if unlisted:
        problems.append(_unlisted_problem(entry, video_id, unlisted[0], where, kept=bool(captions)))
    if not captions:
        if not unlisted:
            problems.append(LoadProblem(video_id, where(), f"clip {video_id} has no {' or '.join(keys)} caption "
                                        "left (each is blank or no string); entry left out"))
        return None
    return Clip(video_id, match["youtube_id"], start, end, tuple(captions), where)


def _clip_id_match(video_id: Any) -> re.Match | None:
    """The parts of a videoID of the form `CLIP_ID` (ASCII only, so storable text), else None."""
    return CLIP_ID.fullmatch(video_id) if isinstance(video_id, str) else None


def _captions(entry: dict, video_id: str, key: str, where: Callable[..., str],
              problems: list[LoadProblem]) -> list[str] | None:
    """The stripped captions of list `key` of an entry (None where it is no list); a caption that is blank or
    no string is left out with its problem recorded (the clip keeps the others)."""
    values = entry.get(key)
    if not isinstance(values, list):
        return None
    kept = []
    for k, value in enumerate(values):
        problem = text_problem(value, f"{key}[{k}]")
        if problem is None:
            kept.append(value.strip())
        else:
            problems.append(LoadProblem(video_id, where(key, k), f"{problem}; that caption left out"))
    return kept


def _unlisted_problem(entry: dict, video_id: str, key: str, where: Callable[..., str], *, kept: bool) -> LoadProblem:
    """The problem of an entry whose `key` is no list of captions: the clip keeps its other captions (`kept`),
    else it is left out."""
    value = entry.get(key)
    got = "nothing (the key is missing or null)" if value is None else short_repr(value)
    left_out = "its captions left out (the clip keeps the others)" if kept else "entry left out"
    return LoadProblem(video_id, where(key) if key in entry else where(),
                       f"expected {key} as a list of captions, got {got}; {left_out}")


def _caption_keys(captions: Captions, split: str) -> tuple[str, ...]:
    """The caption keys read in split `split`'s file: `chCap` only where the file publishes Chinese captions."""
    keys = CAPTION_KEYS[captions]
    return tuple(k for k in keys if k != "chCap") if split in ENGLISH_ONLY_SPLITS and len(keys) > 1 else keys


def _wanted_split(split: str | None, file_names: dict[str, str], captions: Captions, *, listed: bool) -> str | None:
    """The split asked (None: all); `listed`: the splits are those of option split_lists.

    Raises:
        ConfigError: `test` with `-o captions=zh` (without split lists), a release name (`validation`,
            `public_test`), or an unknown split.
    """
    native = {"training": "train", "validation": "val", "public_test": "test"}
    if listed:  # the lists' test split is no public test
        return check_split(split, tuple(ANNOTATION_FILES), {"training": "train", "validation": "val"}, "VATEX")
    if split == "test" and "test" not in file_names:
        raise ConfigError(f"VATEX's public test file ({ANNOTATION_FILES['test']}) publishes English captions only, "
                          f"so -o captions={captions} has no split 'test'; pass -o captions=en (or both) for it")
    return check_split(split, tuple(file_names), native, "VATEX")


def _require_files(corpus_dir: Path, annotations_dir: Path, files: dict[str, Path], file_names: dict[str, str],
                   wanted: str | None, options: VatexOptions) -> None:
    """Refuse a load without the annotation files it needs.

    Raises:
        CorpusNotFoundError: no annotation file in `annotations_dir` (saying so where only the public test file,
            English only, is there for `-o captions=zh`, or the private test file, which holds no captions), or
            none of split `wanted`.
    """
    if not files:
        _refuse_unread_files(corpus_dir, annotations_dir, file_names, options)
    hint = "-o annotations_dir= names the folder holding them" if options.annotations_dir is None else ""
    require_captions_files(corpus_dir, annotations_dir, files, corpus="VATEX", file_names=file_names,
                           folders=ANNOTATION_DIRS, wanted=wanted, option="annotations_dir", hint=hint)


def _refuse_unread_files(corpus_dir: Path, annotations_dir: Path, file_names: dict[str, str],
                         options: VatexOptions) -> None:
    """Say why a folder of the release's files gives no captions: the public test file has no Chinese ones, the
    private test file none at all (each found wherever annotation files are looked for).

    Raises:
        CorpusNotFoundError: either file is there (nothing is raised where neither is).
    """
    searched = (str(annotations_dir) if options.annotations_dir is not None else
                f"{corpus_dir} or its {', '.join(f'{d}/' for d in ANNOTATION_DIRS if d)} folders")
    english_only = _annotation_file(corpus_dir, options.annotations_dir, ANNOTATION_FILES["test"])
    if options.captions == "zh" and english_only is not None:
        raise CorpusNotFoundError(
            f"{english_only} has English captions only (no chCap), and none of {', '.join(file_names.values())} "
            f"(the Chinese captions) is in {searched}; pass -o captions=en for the public test's English captions")
    private = _annotation_file(corpus_dir, options.annotations_dir, PRIVATE_TEST_FILE)
    if private is not None:
        raise CorpusNotFoundError(
            f"{private} lists clips without captions and is not read, and none of {', '.join(file_names.values())} "
            f"is in {searched}; -o annotations_dir= names their folder")


def _annotation_file(corpus_dir: Path, given: str | None, name: str) -> Path | None:
    """File `name` in option annotations_dir (`given`), else in the first of `ANNOTATION_DIRS` holding it (the
    root is one of them, so `find_csv_dir`'s fallback to the root finds nothing more), else None."""
    path = find_csv_dir(corpus_dir, given, ANNOTATION_DIRS, [name]) / name
    return path if path.is_file() else None


def _repeated(clip: Clip, split: str, claimed: dict[str, tuple[str, Callable[[], str]]],
              problems: list[LoadProblem], *, files_are_splits: bool = True) -> bool:
    """Whether an earlier entry listed the clip (its problem then recorded); else the clip is claimed.
    `files_are_splits`: false where split lists assign the splits (a clip in two files is then no leak)."""
    if clip.video_id not in claimed:
        claimed[clip.video_id] = (split, clip.where)
        return False
    first_split, first_where = claimed[clip.video_id]
    listed = listed_again(first_split, split) if files_are_splits else f"in {ANNOTATION_FILES[first_split]} too"
    problems.append(repeated_entry_problem(clip.video_id, clip.where(), f"clip {clip.video_id}", listed,
                                           first_where(), "entry"))
    return True


def _add_clip(corpus_dir: Path, options: VatexOptions, folders: MediaFolders, headers: VideoHeaders, clip: Clip,
              split: str, annotation_file: Path, more_extra: dict[str, Any], result: LoadResult) -> bool:
    """The clip's sample where its file or its YouTube video's is found (else its problem), its `extra` with
    `more_extra`; returns whether either file was found."""
    clip_names = [clip.video_id + suffix for suffix in VIDEO_SUFFIXES]
    video_names = [clip.youtube_id + suffix for suffix in VIDEO_SUFFIXES]
    clip_file = first_media_path(corpus_dir, folders, clip_names, where=clip.where,
                                 allow_outside=options.allow_outside_root)
    whole_file = None if clip_file is not None else first_media_path(
        corpus_dir, folders, video_names, where=clip.where, allow_outside=options.allow_outside_root)
    if clip_file is None and whole_file is None:
        result.problems.append(missing_media_problem(
            corpus_dir, folders, clip_names[0], clip.video_id, clip.where(), "video",
            also=", ".join([*clip_names[1:], *video_names]) + " (the whole YouTube video)", left_out="entry"))
        return False
    extra = {"youtube_id": clip.youtube_id, "clip_start": clip.start, "clip_end": clip.end,
             "annotation_file": annotation_file.name, **more_extra}
    sample = Sample(sample_id=clip.video_id, corpus=CORPUS, split=split, group_id=clip.youtube_id,
                    video=clip_file, captions=clip.captions, extra=extra)
    if whole_file is not None:
        sample = _in_whole_video(corpus_dir, headers, sample, clip, whole_file, result.problems)
    if sample is not None:
        result.samples.append(sample)
    return True


def _in_whole_video(corpus_dir: Path, headers: VideoHeaders, sample: Sample, clip: Clip, path: str,
                    problems: list[LoadProblem]) -> Sample | None:
    """`sample` as the span [start, end] of its whole YouTube video at `path`, held to the length the file's
    header states (an end past it is cut there, the videoID's kept as `extra.annotated_end`); the whole file,
    without a span, where it is the cut clip named by its YouTube id (`_is_cut_clip`); None, with its problem
    recorded, where the clip starts at or after that end."""
    span = headers.span(corpus_dir / path)
    extra = {**sample.extra, **span}
    length = span.get(MODALITY_DURATION_KEYS["video"])
    if length is not None and _is_cut_clip(clip, length):
        return Sample(sample_id=sample.sample_id, corpus=CORPUS, split=sample.split, group_id=sample.group_id,
                      video=path, captions=sample.captions, extra={**extra, "video_is_clip": True})
    end = held_end(extra, float(clip.start), clip.end, length, sample_id=clip.video_id, where=clip.where,
                   part="clip", source=f", from {path}'s header", left_out="entry")
    if isinstance(end, LoadProblem):
        problems.append(LoadProblem(end.sample_id, end.path, (
            f"{end.reason}; is {path} the cut clip? name it {clip.video_id}{Path(path).suffix}")))
        return None
    return Sample(sample_id=sample.sample_id, corpus=CORPUS, split=sample.split, group_id=sample.group_id,
                  video=path, start=float(clip.start), end=float(end), captions=sample.captions, extra=extra)


def _is_cut_clip(clip: Clip, length: float) -> bool:
    """Whether a file named by the clip's YouTube id, `length` seconds long, is the cut clip itself: as long as
    the clip (within `CUT_CLIP_TOLERANCE`) while the clip ends past it by more than that, as a 10 s
    `<youtube_id>.mp4` for `<youtube_id>_000003_000013` does (read as a whole video it gave [3, 10])."""
    return (abs(length - (clip.end - clip.start)) <= CUT_CLIP_TOLERANCE
            and clip.end - length > CUT_CLIP_TOLERANCE)
