"""Charades-STA (Gao et al., ICCV 2017, "TALL"; temporal sentence grounding, moment retrieval) as users have it on disk.

The moments are two text files, charades_sta_train.txt and charades_sta_test.txt (12,408 and 3,720 moments as
papers count them; mmaction2's data/CharadesSTA/ names them Charades_sta_train.txt, Charades_sta_test.txt); there
is no validation split (papers carve one out of train). A line is one moment:
    AO8RW 0.0 6.9##a person is putting a book on a shelf.
(the Charades video id, its start and end in seconds, `##`, the sentence, lowercase and mostly ending in '.').
The videos are Charades' own: Charades_v1_480/AO8RW.mp4 (or Charades_v1/ at the original resolution), and the
video lengths come from the Charades annotation CSVs, Charades_v1_train.csv and Charades_v1_test.csv (columns
`id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length`), read where present
(2D-TAN and its successors cut a moment's end at that `length`), else from Charades_duration.json beside the
moment files (mmaction2's and DRN's `{"AO8RW": 33.67, ...}`), else from the video file's header. A length that
is no positive number is named in the errors table and that video's header gives its length instead.

One sample per line: sample_id `AO8RW[0]` (`<video>[k]`, the video's k-th moment in file order, train's before
test's), group_id the video id (so `check` reports a video that a re-split puts in both train and test),
start/end, the sentence stripped as its one caption. `extra` holds the CSV's (or JSON's) `duration`,
`video_duration` from the file's header, the `segment` index k and the `annotation_file`. A moment ending past
the video's length is cut there, its annotated end kept as `extra.annotated_end`. A line that cannot be read
(no `##` or a second one, not three fields before it, times that are not numbers), a blank sentence, a negative
start, a start at or after the video's end, an empty or reversed span and a missing video are left out, each
named `file:line` in the errors table; their line still takes its index k, so the video's other moments keep
their ids. Lines end in LF, CRLF or CR.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from mmdata.corpora.base import JsonLocator, LoadProblem, LoadResult, expect, json_number, read_csv_rows, read_json, \
    read_text, register_corpus, short_repr
from mmdata.corpora.media_captions import MediaFolders, VideoHeaders, check_split, find_csv_dir, held_end, \
    media_path, missing_media_problem, require_captions_files, require_videos_found, shown_path, video_folders
from mmdata.corpora.mosi_raw_media import record_video_span
from mmdata.corpora.mosi_raw_segments import empty_segment_problem
from mmdata.errors import ConfigError, CorpusNotFoundError
from mmdata.records import Sample

CORPUS = "charades-sta"
#: Split -> its moments' file names, first first (TALL's lowercase; mmaction2's capitalised), in the order read
#: (a video's moments are numbered across both).
ANNOTATION_FILES = {"train": ("charades_sta_train.txt", "Charades_sta_train.txt"),
                    "test": ("charades_sta_test.txt", "Charades_sta_test.txt")}
#: Charades' annotation CSVs, whose `length` column is each video's length in seconds.
LENGTH_FILES = ("Charades_v1_train.csv", "Charades_v1_test.csv")
#: Video id -> length in seconds, beside the moment files in mmaction2's (and DRN's) layout; read without the CSVs.
DURATION_FILE = "Charades_duration.json"
#: Where the moment files sit, relative to the root (first first; "" is the root itself).
ANNOTATION_DIRS = ("", "annotations", "charades_sta", "Charades", "CharadesSTA")
#: Where the Charades CSVs sit when not beside the moment files (Charades.zip unpacks into `Charades/`).
LENGTH_DIRS = ("", "Charades", "annotations")
#: Folders the videos are looked for in, relative to the root (or to option video_dir), first first.
VIDEO_DIRS = ("Charades_v1_480", "Charades_v1", "videos", "")


@dataclass(frozen=True)
class CharadesStaOptions:
    #: Folder of charades_sta_train.txt and charades_sta_test.txt, relative to the root or absolute (default: the
    #: root, else `annotations/`, `charades_sta/`, `Charades/`, `CharadesSTA/`).
    annotations_dir: str | None = None
    #: Folder of Charades_v1_train.csv and Charades_v1_test.csv, where one must be (default: the moment files'
    #: folder, else the root, `Charades/`, `annotations/`; none there: Charades_duration.json beside the moment
    #: files, else the videos' headers, give the lengths).
    csv_dir: str | None = None
    #: Folder of the videos, relative to the root or absolute (default: the first of `VIDEO_DIRS` there).
    video_dir: str | None = None
    #: The videos' file suffix.
    video_ext: str = ".mp4"
    #: Accept video paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@dataclass(frozen=True)
class Moment:
    """One readable line of a moment file: its sample id, the video's k-th moment, its span and sentence."""

    sample_id: str
    video_id: str
    index: int
    start: float
    end: float
    sentence: str
    where: str


@dataclass
class VideoInfo:
    """What the moments of one video share: its file (None: not found) and its extra (lengths)."""

    path: str | None
    extra: dict = field(default_factory=dict)

    @property
    def length(self) -> float | None:
        """The video's length: the CSV's (or Charades_duration.json's) where given, as published papers cut to
        it, else the header's."""
        return self.extra.get("duration", self.extra.get("video_duration"))


@register_corpus(CORPUS, CharadesStaOptions)
def load_charades_sta(corpus_dir: Path, options: CharadesStaOptions, split: str | None) -> LoadResult:
    """Charades-STA (`charades_sta_{train,test}.txt` + the Charades videos), one sample per moment.

    `split`: none or `all` for both, `train` or `test`.

    Example:
        >>> result = load_charades_sta(Path("/data/charades"), CharadesStaOptions(), "train")
        >>> s = result.samples[0]; s.sample_id, s.start, s.end, s.captions
        ('AO8RW[0]', 0.0, 6.9, ('a person is putting a book on a shelf.',))

    Raises:
        CorpusNotFoundError: no moment file (or not the split's), none of the videos found, or `-o csv_dir=` a
            folder without Charades_v1_train.csv and Charades_v1_test.csv.
        CorpusFormatError: a moment file that is not UTF-8; a Charades CSV without `id` and `length` columns (or
            not a CSV), named `file:line`; a Charades_duration.json that is no object of lengths.
        ConfigError: an unknown split (`val` with the hint to carve one out of train).
    """
    wanted = _wanted_split(split)
    folder = find_csv_dir(corpus_dir, options.annotations_dir, ANNOTATION_DIRS,
                          [n for names in ANNOTATION_FILES.values() for n in names])
    files = _moment_files(folder)
    require_captions_files(corpus_dir, folder, files, corpus="Charades-STA", file_names=ANNOTATION_FILES,
                           folders=ANNOTATION_DIRS, wanted=wanted, option="annotations_dir")
    result = LoadResult(samples=[], metadata={
        "annotation_files": {shown_path(corpus_dir, path): s for s, path in files.items()}})
    length_files = _length_files(corpus_dir, folder, options.csv_dir)
    lengths = read_video_lengths(length_files, result.problems)
    result.metadata["length_files"] = [shown_path(corpus_dir, path) for path in length_files]
    folders = video_folders(corpus_dir, options.video_dir, VIDEO_DIRS)
    counts: dict[str, int] = {}  # video id -> moments numbered so far (across both files: unique ids)
    videos: dict[str, VideoInfo] = {}
    headers = VideoHeaders(record_video_span)
    for split_name, path in files.items():
        loaded = wanted in (None, split_name)
        moments = read_moments(path, counts, result.problems if loaded else [])
        if loaded:
            for moment in moments:
                if moment.video_id not in videos:  # the first moment naming a video finds it, once
                    videos[moment.video_id] = _find_video(corpus_dir, options, folders, headers, moment, lengths)
                _add_moment(corpus_dir, folders, options, moment, videos[moment.video_id], split_name, path.name,
                            result)
    require_videos_found(len(videos), any(v.path is not None for v in videos.values()), "Charades", corpus_dir,
                         f"as <id>{options.video_ext}", folders=folders, note=" (Charades_v1_480/ as unpacked)")
    return result


def read_moments(path: Path, counts: dict[str, int], problems: list[LoadProblem]) -> list[Moment]:
    """The readable moments of one Charades-STA file, in file order; each unreadable line is recorded in
    `problems` at `file:line`. `counts` (video id -> moments numbered so far) gives each line that names a
    video its index, a left-out line included (so the others keep their ids once it is fixed).

    Raises:
        CorpusFormatError: the file is not UTF-8 (naming the line).
    """
    moments = []
    for number, line in enumerate(_LINE_END.split(read_text(path)), start=1):
        line = line.strip()
        if line:
            moment = _read_line(line, f"{path}:{number}", counts, problems)
            if moment is not None:
                moments.append(moment)
    return moments


#: A line break of a moment file: LF, CRLF, or CR alone (files saved by old Mac tools); no other character
#: (`str.splitlines` also breaks at U+2028, U+0085, form feeds), so line numbers are the ones editors show.
_LINE_END = re.compile(r"\r\n|\r|\n")


def read_video_lengths(paths: list[Path], problems: list[LoadProblem]) -> dict[str, float]:
    """Video id -> length in seconds from `paths`: the Charades CSVs (`id` and `length` columns), or one
    Charades_duration.json. An empty (or null) length is none (the video's header gives it); a length that is
    no positive number is recorded in `problems` (named `file:line`, under the video id) and left out of the
    map, so one bad row costs only its video's CSV length, not the load.

    Raises:
        CorpusFormatError: a CSV without `id` and `length` columns or a row of another field count, named
            `file:line`; a JSON that is no object.
    """
    lengths: dict[str, float] = {}
    for path in paths:
        if path.name == DURATION_FILE:
            lengths.update(_json_lengths(path, problems))
        else:
            lengths.update(_csv_lengths(path, problems))
    return lengths


def _csv_lengths(path: Path, problems: list[LoadProblem]) -> dict[str, float]:
    """The lengths of one Charades CSV (see `read_video_lengths`)."""
    header, rows = read_csv_rows(path)
    expect({"id", "length"} <= set(header), f"{path}:1", f"expected Charades' columns id and length (as "
           f"Charades_v1_train.csv has them), got {header[:12]}")
    lengths: dict[str, float] = {}
    for number, row in rows:
        text = row["length"]
        if text == "":  # no length: the video's header gives it
            continue
        if _is_time(text) and float(text) > 0:
            lengths[row["id"]] = float(text)
        else:
            problems.append(_bad_length_problem(row["id"], f"{path}:{number}", repr(text)))
    return lengths


def _json_lengths(path: Path, problems: list[LoadProblem]) -> dict[str, float]:
    """The lengths of Charades_duration.json, `{"AO8RW": 33.67, ...}` (see `read_video_lengths`); a `null`
    length is none, as an empty CSV cell."""
    data = read_json(path)
    expect(isinstance(data, dict), path, "expected an object mapping Charades video ids to their lengths in "
           f"seconds ({{\"AO8RW\": 33.67, ...}}, mmaction2's {DURATION_FILE}), got {type(data).__name__}")
    lengths: dict[str, float] = {}
    locate = JsonLocator(path)
    for video_id, value in data.items():
        if value is None:  # no length (as an empty CSV cell): the video's header gives it
            continue
        if json_number(value) and value > 0:
            lengths[video_id] = float(value)
        else:
            problems.append(_bad_length_problem(video_id, locate.where(video_id), short_repr(value)))
    return lengths


def _bad_length_problem(video_id: str, where: str, shown: str) -> LoadProblem:
    return LoadProblem(video_id or None, where, (
        f"length {shown} of video {video_id!r} is not a positive number of seconds; expected e.g. 30.5; its moments "
        "are held to the video file's header length instead"))


def _wanted_split(split: str | None) -> str | None:
    """The split asked (None: both).

    Raises:
        ConfigError: `val` (there is none), or an unknown split.
    """
    if split in ("val", "validation"):
        raise ConfigError("Charades-STA has no validation split (charades_sta_train.txt and charades_sta_test.txt "
                          "only); carve one out of train by video (the samples' group_id), as papers do")
    return check_split(split, ANNOTATION_FILES, {"training": "train", "testing": "test"}, "Charades-STA")


def _read_line(line: str, where: str, counts: dict[str, int], problems: list[LoadProblem]) -> Moment | None:
    """The moment of one non-blank line, or None with its problem recorded."""
    head, separator, sentence = line.partition("##")
    fields = head.split()
    sample_id = None
    if fields:
        index = counts.get(fields[0], 0)
        counts[fields[0]] = index + 1
        sample_id = f"{fields[0]}[{index}]"
    reason = _line_problem(separator, fields, sentence.strip())
    if reason is not None:
        problems.append(LoadProblem(sample_id, where, f"{reason}; line left out"))
        return None
    start, end = float(fields[1]), float(fields[2])
    if end <= start:
        problems.append(empty_segment_problem(sample_id, where, start, end))
        return None
    if start < 0:
        problems.append(LoadProblem(sample_id, where, f"moment starts at {start!r} s, before the start of the "
                                    "video; expected start >= 0; line left out (the video's other moments keep "
                                    "their ids)"))
        return None
    return Moment(sample_id, fields[0], index, start, end, sentence.strip(), where)


def _line_problem(separator: str, fields: list[str], sentence: str) -> str | None:
    """Why a line's parts are no moment (None: they are one; the span's order is checked after)."""
    expected = ("expected '<video> <start> <end>##<sentence>' (e.g. 'AO8RW 0.0 6.9##a person is putting a book on "
                "a shelf.')")
    if not separator:
        return f"no '##' between the moment and its sentence; {expected}"
    if len(fields) != 3:
        return f"{len(fields)} fields before '##' ({' '.join(fields)!r}); {expected}"
    if not all(_is_time(t) for t in fields[1:]):
        return f"start and end {fields[1]!r}, {fields[2]!r} are not both numbers of seconds; {expected}"
    if "##" in sentence:
        return f"a second '##' in the sentence ({sentence!r}); {expected}"
    if not sentence:
        return "blank sentence"
    return None


def _is_time(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _find_video(corpus_dir: Path, options: CharadesStaOptions, folders: MediaFolders, headers: VideoHeaders,
                moment: Moment, lengths: dict[str, float]) -> VideoInfo:
    """A video's file (its header read once, for `video_duration`) and the CSV's (or JSON's) length as
    `duration`."""
    name = f"{moment.video_id}{options.video_ext}"
    path = media_path(corpus_dir, folders, name, where=moment.where, allow_outside=options.allow_outside_root)
    extra = {"duration": lengths[moment.video_id]} if moment.video_id in lengths else {}
    if path is not None:
        extra.update(headers.span(corpus_dir / path))
    return VideoInfo(path, extra)


def _add_moment(corpus_dir: Path, folders: MediaFolders, options: CharadesStaOptions, moment: Moment,
                video: VideoInfo, split: str, file_name: str, result: LoadResult) -> None:
    """The moment's sample, its end cut at the video's length; or its problem: no video file, or a start at or
    after the video's end."""
    if video.path is None:
        name = f"{moment.video_id}{options.video_ext}"
        result.problems.append(missing_media_problem(corpus_dir, folders, name, moment.sample_id, moment.where,
                                                     "video", left_out="line"))
        return
    extra = {**video.extra, "segment": moment.index, "annotation_file": file_name}
    end = held_end(extra, moment.start, moment.end, video.length, sample_id=moment.sample_id, where=moment.where,
                   part="moment", length_name="length", left_out="line")
    if isinstance(end, LoadProblem):
        result.problems.append(end)
        return
    result.samples.append(Sample(sample_id=moment.sample_id, corpus=CORPUS, split=split, group_id=moment.video_id,
                                 video=video.path, start=moment.start, end=end, captions=(moment.sentence,),
                                 extra=extra))


def _moment_files(folder: Path) -> dict[str, Path]:
    """Split -> its moment file in `folder`, the first of its `ANNOTATION_FILES` names there (none: no entry)."""
    files = {}
    for split, names in ANNOTATION_FILES.items():
        found = next((folder / n for n in names if (folder / n).is_file()), None)
        if found is not None:
            files[split] = found
    return files


def _length_files(corpus_dir: Path, annotations_folder: Path, csv_dir: str | None) -> list[Path]:
    """The files the video lengths are read from: the Charades CSVs there (`_length_folder`), else
    Charades_duration.json beside the moment files, else none (the videos' headers give the lengths).

    Raises:
        CorpusNotFoundError: option `csv_dir` names a folder without either CSV (a wrong option is no reason to
            fall back silently to other lengths).
    """
    csv_folder = _length_folder(corpus_dir, annotations_folder, csv_dir)
    csvs = [csv_folder / n for n in LENGTH_FILES if (csv_folder / n).is_file()]
    if csv_dir is not None and not csvs:
        raise CorpusNotFoundError(
            f"neither {LENGTH_FILES[0]} nor {LENGTH_FILES[1]} found in {csv_folder} (option csv_dir); expected "
            "Charades' annotation CSVs there (Charades.zip unpacks them into Charades/); leave the option out to "
            f"take the lengths from {DURATION_FILE} or the videos' headers")
    if csvs:
        return csvs
    durations = annotations_folder / DURATION_FILE
    return [durations] if durations.is_file() else []


def _length_folder(corpus_dir: Path, annotations_folder: Path, csv_dir: str | None) -> Path:
    """Option csv_dir, else the moment files' folder where it holds a Charades CSV, else the first of
    `LENGTH_DIRS` that does (the root when none does: no CSV is read)."""
    if csv_dir is None and any((annotations_folder / n).is_file() for n in LENGTH_FILES):
        return annotations_folder
    return find_csv_dir(corpus_dir, csv_dir, LENGTH_DIRS, LENGTH_FILES)
