"""VGGSound (Chen et al., ICASSP 2020; audio-visual sound classification) as users have it on disk.

The release is one CSV, `vggsound.csv`, with no header; a row is one 10 s clip:
    ---g-f_I2yQ,1,people marching,test
    -5Jlimvx0A0,0,"male speech, man speaking",train
(the YouTube id, the clip's start in whole seconds in the video, its class, `train` or `test`; ~200k rows, 309
classes; the CSV quotes only a class with a comma in its name). There is no validation split (papers carve one out
of train).

The clips are not in the release: each copy downloads them from YouTube and names a clip's file
`<youtube_id>_<start:06d>` (`--0PQM4-hqg_000030.mp4`: the VGGSound download scripts, Loie/VGGSound on Hugging
Face, CAV-MAE's `.flac`), a few copies unpadded (`--0PQM4-hqg_30.wav`) or by the bare YouTube id where the video
has one clip. A file is the 10 s clip itself: a video with its sound (`.mp4`) or the sound alone (`.flac`,
`.wav`), in one folder or in `train/` and `test/` folders of it; some copies hold both (CLIPSep's `video/X.mp4`
and the `audio/X.wav` extracted from it).

One sample per clip: sample_id `<youtube_id>_<start:06d>` (the release's own file stem), group_id the YouTube id
(so `check` reports a video whose clips a re-split puts in train and test), `video` where an MP4 is found (video
extractors read its frames) and `audio` where a FLAC or WAV is (else audio extractors read the MP4's sound track);
`extra.class` holds the class name (what
`mmdata fuse --class-label class` turns into class ids), with `youtube_id`, `start_seconds` and the durations the
file's header states. Every copy lacks clips of videos taken down since 2020: each is named in the errors table
(`file:line`), and their count is logged and kept in the manifest. A row that cannot be read (not four fields,
a start that is no whole number of seconds, a split other than train/test, an empty id or class) and a clip
listed again are left out the same way.
"""
from __future__ import annotations

import csv
import io
import os
import logging
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdata.corpora.base import LoadProblem, LoadResult, csv_records, given_image_dir, read_text, register_corpus
from mmdata.corpora.media_captions import (
    MediaFolders,
    check_split,
    find_csv_dir,
    first_listings,
    first_media_path,
    media_pair,
    missing_media_problem,
    read_media_headers,
    require_videos_found,
    shown_path,
)
from mmdata.errors import CorpusNotFoundError
from mmdata.records import Sample

log = logging.getLogger(__name__)

CORPUS = "vggsound"
SPLITS = ("train", "test")
CSV_NAME = "vggsound.csv"
COLUMNS = ("youtube_id", "start_seconds", "label", "split")
#: The key of `extra` holding the class name (`mmdata fuse --class-label class`).
CLASS_KEY = "class"
#: Where vggsound.csv sits, relative to the root, first first ("" is the root itself).
CSV_DIRS = ("", "data", "metadata", "annotations")
#: Folders holding the clips (or their train/ and test/ folders), relative to the root, first first.
MEDIA_DIRS = ("video", "videos", "audio", "vggsound", "")
#: File suffixes of a clip, first first: a video with its sound, then the sound alone.
VIDEO_SUFFIXES = (".mp4",)
AUDIO_SUFFIXES = (".flac", ".wav")


@dataclass(frozen=True)
class VggSoundOptions:
    #: Folder of vggsound.csv, relative to the root or absolute (default: the root, else `data/`, `metadata/`,
    #: `annotations/`).
    csv_dir: str | None = None
    #: Folder of the clips (or of their train/ and test/ folders), relative to the root or absolute (default:
    #: those of `video/`, `videos/`, `audio/`, `vggsound/` and the root that are there).
    media_dir: str | None = None
    #: Accept clip paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@dataclass(frozen=True)
class Clip:
    """One readable row of vggsound.csv."""

    youtube_id: str
    start: int
    label: str
    split: str
    where: str

    @property
    def sample_id(self) -> str:
        return f"{self.youtube_id}_{self.start:06d}"


@dataclass(frozen=True)
class CsvClips:
    """What vggsound.csv lists: its readable rows, and how many clips it lists of each YouTube video (every row
    with a readable id counted, whatever its split or other fields: a bare `<id>` file is that video's only clip
    only where no row names another)."""

    clips: list[Clip]
    clips_of_video: Counter


@register_corpus(CORPUS, VggSoundOptions)
def load_vggsound(corpus_dir: Path, options: VggSoundOptions, split: str | None) -> LoadResult:
    """VGGSound (`vggsound.csv` + 10 s clips as .mp4, .flac or .wav), one sample per clip with its class.

    `split`: none or `all` for both, `train` or `test`.

    Example:
        >>> result = load_vggsound(Path("/data/vggsound"), VggSoundOptions(), "test")
        >>> s = result.samples[0]; s.sample_id, s.video, s.extra["class"]
        ('---g-f_I2yQ_000001', 'video/---g-f_I2yQ_000001.mp4', 'people marching')

    Raises:
        CorpusNotFoundError: no vggsound.csv, or none of the clips loaded found (a wrong folder, not a few
            videos gone).
        CorpusFormatError: a vggsound.csv that is not UTF-8 or not CSV, named `file:line`.
        ConfigError: an unknown split (`val`: VGGSound has none).
    """
    wanted = check_split(split, SPLITS, {"training": "train", "testing": "test"}, "VGGSound")
    path = _find_csv(corpus_dir, options.csv_dir)
    result = LoadResult(samples=[])
    listing = read_clips(path, wanted, result.problems)
    clips = first_listings(listing.clips, result.problems, "clip", wanted)
    loaded = [clip for clip in clips if wanted in (None, clip.split)]
    every_folder, folders = _media_folders(corpus_dir, options.media_dir)
    missing = _add_samples(corpus_dir, options, loaded, folders, listing.clips_of_video, result)
    require_videos_found(len(loaded), bool(result.samples), "VGGSound", corpus_dir,
                         f"as <youtube_id>_<start:06d> with {'/'.join(VIDEO_SUFFIXES + AUDIO_SUFFIXES)}",
                         folders=every_folder if wanted is None else folders[wanted], what="clips",
                         option="media_dir")
    if missing:
        log.warning("%d of %d VGGSound clips listed in %s not found (videos taken down since the release); "
                    "each is named in the errors table", missing, len(loaded), path)
    result.metadata = {"annotation_file": shown_path(corpus_dir, path), "clips_listed": len(loaded),
                       "clips_missing": missing}
    return result


def read_clips(path: Path, wanted: str | None, problems: list[LoadProblem]) -> CsvClips:
    """The readable rows of vggsound.csv in file order, of both splits (a clip listed in both is found
    whichever is asked), and the clips listed of each video; a row that is not one clip is named in `problems`
    (`file:line`) and left out, unless its split field names a split other than `wanted` (None: every split).
    A first record naming the columns (`_is_header`: a copy saved with a header) is skipped.

    Raises:
        CorpusFormatError: the file is not UTF-8, or a quoted value never ends (or text follows its closing
            quote), named `file:line`.
    """
    reader = csv.reader(io.StringIO(read_text(path)), strict=True)  # a quote never closed would swallow the rest
    clips: list[Clip] = []
    listed: set[tuple[str, int | str]] = set()  # (youtube_id, start) of every row with a readable id
    first_record = True
    for line, values in csv_records(path, reader, hint=f"expected rows {','.join(COLUMNS)}"):
        skipped_header, first_record = first_record and _is_header(values), False
        if skipped_header:
            continue
        row_problems = problems if wanted is None or _split_field(values) in (None, wanted) else []
        clip = _row_clip(values, f"{path}:{line}", row_problems)
        if clip is not None:
            clips.append(clip)
            listed.add((clip.youtube_id, clip.start))
        else:  # a row left out still lists its clip, where its id is readable
            listed.update(_listed_clip(values))
    return CsvClips(clips, Counter(youtube_id for youtube_id, _ in listed))


def _is_header(values: list[str]) -> bool:
    """Whether the first record names the columns (`youtube_id,start_seconds,label,split`, `# YouTube ID, start
    seconds, label, train/test split`): four fields, the first naming the id and the last the split. Anything
    else is read as a row (a malformed first row is reported, not dropped as a header)."""
    return len(values) == len(COLUMNS) and "id" in values[0].lower() and "split" in values[3].lower()


def _listed_clip(values: list[str]) -> list[tuple[str, int | str]]:
    """The (youtube_id, start) a row lists where its id is readable (the start read where it is a whole number,
    so that `30` and `30.0` are one clip, else as written), else none."""
    youtube_id = values[0].strip()
    if not youtube_id or "/" in youtube_id:
        return []
    start_text = values[1].strip() if len(values) > 1 else ""
    start = _whole_seconds(start_text)
    return [(youtube_id, start_text if start is None else start)]


def _split_field(values: list[str]) -> str | None:
    """The split a row names, where its last field is one (None: no telling which split the row is of)."""
    split = values[-1].strip() if values else ""
    return split if split in SPLITS else None


def _row_clip(values: list[str], where: str, problems: list[LoadProblem]) -> Clip | None:
    """The clip a row names, or None with its problem recorded."""
    if len(values) != len(COLUMNS):
        problems.append(LoadProblem(None, where, f"expected {len(COLUMNS)} fields ({','.join(COLUMNS)}), got "
                                    f"{len(values)}: {','.join(values)[:120]!r} (a class with a comma must be "
                                    "quoted); row left out"))
        return None
    youtube_id, start_text, label, split = (v.strip() for v in values)
    start = _whole_seconds(start_text)
    reason = _row_reason(youtube_id, start, start_text, label, split)
    if reason is not None or start is None:
        problems.append(LoadProblem(youtube_id or None, where, f"{reason}; row left out"))
        return None
    return Clip(youtube_id, start, label, split, where)


def _row_reason(youtube_id: str, start: int | None, start_text: str, label: str, split: str) -> str | None:
    """Why a row of four fields names no clip (`start`: its start_seconds read, None where unreadable), or None."""
    if not youtube_id or "/" in youtube_id:
        return f"youtube_id {youtube_id!r} is {'empty' if not youtube_id else 'no YouTube id (holds a /)'}"
    if start is None:
        return f"start_seconds {start_text!r} is not a whole number of seconds (expected e.g. 30)"
    if not label:
        return "empty label; expected the clip's class name"
    if split not in SPLITS:
        return f"split {split!r} is not one of {list(SPLITS)}"
    return None


def _whole_seconds(text: str) -> int | None:
    """A start in whole seconds (`30`, `30.0`), or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if math.isfinite(value) and value >= 0 and value.is_integer() else None


def _add_samples(corpus_dir: Path, options: VggSoundOptions, clips: list[Clip], folders: dict[str, MediaFolders],
                 clips_of_video: Counter, result: LoadResult) -> int:
    """A sample per clip whose video or sound file is found in its split's `folders`; a clip with neither is
    named at its row. Every clip's files are found first (directory listings), then their headers are read
    together (`read_media_headers`: on threads where a clip has a video), then the samples are made in the clips'
    order. Returns how many were not found."""
    located = [(clip, *_clip_files(corpus_dir, options, clip, folders, clips_of_video)) for clip in clips]
    headers = iter(read_media_headers([media_pair(corpus_dir, video, audio) for _, _, video, audio in located
                                       if video is not None or audio is not None]))
    missing = 0
    for clip, stems, video, audio in located:
        if video is None and audio is None:
            missing += 1
            result.problems.append(_missing_clip(corpus_dir, folders[clip.split], clip, stems, clips_of_video))
            continue
        result.samples.append(_sample(clip, video, audio, next(headers)))
    return missing


def _clip_files(corpus_dir: Path, options: VggSoundOptions, clip: Clip, folders: dict[str, MediaFolders],
                clips_of_video: Counter) -> tuple[list[str], str | None, str | None]:
    """The file stems a clip is looked for by, and its video (an MP4) and sound (a FLAC or WAV) file in its split's
    `folders`, each None where not found.

    Raises:
        CorpusFormatError: a file found leads outside the root without `allow_outside_root`, named at its row.
    """
    stems = _stems(clip, bare_id=clips_of_video[clip.youtube_id] == 1)
    video, audio = (first_media_path(corpus_dir, folders[clip.split], _names(stems, suffixes), where=clip.where,
                                     allow_outside=options.allow_outside_root)
                    for suffixes in (VIDEO_SUFFIXES, AUDIO_SUFFIXES))
    return stems, video, audio


def _names(stems: list[str], suffixes: tuple[str, ...]) -> list[str]:
    """The file names of `stems` with `suffixes`, first first: each stem with every suffix before the next."""
    return [stem + suffix for stem in stems for suffix in suffixes]


def _sample(clip: Clip, video: str | None, audio: str | None, header: dict[str, float]) -> Sample:
    """The sample of a clip with its `video` (an MP4, where found) and its `audio` (a FLAC or WAV, where found;
    else audio extractors read the MP4's sound track), with the durations the files' `header` states
    (`media_files_extra`: the sound's from the FLAC/WAV where there is one, else from the MP4's audio track)."""
    extra: dict[str, Any] = {CLASS_KEY: clip.label, "youtube_id": clip.youtube_id, "start_seconds": clip.start}
    extra.update(header)
    return Sample(sample_id=clip.sample_id, corpus=CORPUS, split=clip.split, group_id=clip.youtube_id,
                  video=video, audio=audio, extra=extra)


def _stems(clip: Clip, *, bare_id: bool) -> list[str]:
    """The file names (without suffix) a clip may have, first first: `<id>_<start:06d>`, `<id>_<start>`, and
    the bare `<id>` only where the CSV lists one clip of the video (else such a file could be any of them)."""
    return list(dict.fromkeys([clip.sample_id, f"{clip.youtube_id}_{clip.start}",
                               *([clip.youtube_id] if bare_id else [])]))


def _missing_clip(corpus_dir: Path, folders: MediaFolders, clip: Clip, stems: list[str],
                  clips_of_video: Counter) -> LoadProblem:
    """The problem of a clip no folder holds: the first name looked for with every suffix (`X_000030.{mp4,flac,
    wav}`, or the entry there instead where the first folder holds one that is no file), the other names, and
    why not the bare id where the video has more than one clip."""
    suffixes = VIDEO_SUFFIXES + AUDIO_SUFFIXES
    there = next((stems[0] + s for s in suffixes if os.path.lexists(corpus_dir / folders.expected(stems[0] + s))),
                 None)
    also = ", ".join(_every_suffix(stem) for stem in stems[1:])
    if clips_of_video[clip.youtube_id] > 1:
        also += (f"; not as {clip.youtube_id}: the CSV lists {clips_of_video[clip.youtube_id]} clips of that "
                 "video, so a bare id is ambiguous")
    return missing_media_problem(corpus_dir, folders, there or _every_suffix(stems[0]), clip.sample_id, clip.where,
                                 "clip", also=f"{also} (a video taken down since the release is gone from "
                                 "every copy)")


def _every_suffix(stem: str) -> str:
    """`stem` with each suffix looked for, as messages name it: `X_000030.{mp4,flac,wav}`."""
    return f"{stem}.{{{','.join(s.lstrip('.') for s in VIDEO_SUFFIXES + AUDIO_SUFFIXES)}}}"


def _media_folders(corpus_dir: Path, media_dir: str | None) -> tuple[MediaFolders, dict[str, MediaFolders]]:
    """The folders clips are looked for in: every one (as a refusal names them), and each split's:
    `<parent>/<split>/` of each parent, then the parents themselves (one folder of every clip). The parents are
    option `media_dir`, else those of `MEDIA_DIRS` that are there. All share one listing per folder, so a
    parent both splits look in is read once."""
    parents = [given_image_dir(media_dir)] if media_dir is not None else \
        [d for d in MEDIA_DIRS if (corpus_dir / d).is_dir()]
    split_folders = {split: [f for f in (f"{p}/{split}" if p else split for p in parents) if (corpus_dir / f).is_dir()]
                     for split in SPLITS}
    every = MediaFolders(corpus_dir, [f for split in SPLITS for f in split_folders[split]] + parents)
    return every, {split: MediaFolders(corpus_dir, split_folders[split] + parents, every.listings) for split in SPLITS}


def _find_csv(corpus_dir: Path, csv_dir: str | None) -> Path:
    """vggsound.csv in option `csv_dir`, else in the first of `CSV_DIRS` holding it.

    Raises:
        CorpusNotFoundError: not there, naming where it was looked for and the option.
    """
    folder = find_csv_dir(corpus_dir, csv_dir, CSV_DIRS, [CSV_NAME])
    path = folder / CSV_NAME
    if not path.is_file():
        looked = f"{folder} (option csv_dir)" if csv_dir is not None else \
            ", ".join(str(corpus_dir / d) if d else str(corpus_dir) for d in CSV_DIRS)
        raise CorpusNotFoundError(f"no VGGSound {CSV_NAME} found in {looked}; -o csv_dir= names the folder "
                                  "holding it (the release's CSV of youtube_id,start_seconds,label,split rows)")
    return path
