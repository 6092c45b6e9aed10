"""YouCook2 (YouCookII; Zhou et al., AAAI 2018; dense video captioning, text-video retrieval, temporal grounding of
cooking steps) as users have it on disk.

The release's `annotations/youcookii_annotations_trainval.json` lists the 1,333 training and 457 validation
videos, each with its recipe type and timed steps, one sentence per [start, end] pair (whole seconds):
    {"database": {"9GX8f5EwwE4": {"subset": "validation", "duration": 241.64, "recipe_type": "212",
        "video_url": "https://www.youtube.com/watch?v=9GX8f5EwwE4",
        "annotations": [{"id": 0, "segment": [25, 37], "sentence": "cut the onion in half and dice"}, ...]}}}
The test videos' sentences are withheld: `youcookii_annotations_test_segments_only.json` gives their segments
alone, so it is not read (a segment without its sentence is no pair; PDVC, UniVL and VALOR report on val).

The videos are the YouTube downloads of the release's script, `raw_videos/<subset>/<recipe_type>/<id>.mp4` (or
`.mkv`, `.webm`, or `<id>` with no suffix, as youtube-dl's `-o <id>` can leave it), `<subset>` `training` or
`validation`; copies also keep them in one folder per subset or in one flat folder (`-o video_dir=`). Each file's
header is read once per load. The release's `label_foodtype.csv` (recipe type -> recipe name, 89 `101,<name>`
rows), read where it lies beside the annotations, names each video's recipe (types compared as numbers: `"001"`
and `1` are one); it is optional, so a file that cannot be read is one problem and the load goes on without it.

One sample per timed sentence: sample_id `9GX8f5EwwE4[0]` (`<video>[i]`, i its index in the video's
`annotations`, as activitynet-captions numbers its segments), group_id the video id, split `train` or `val`,
start/end from its `segment`, captions its sentence stripped. `extra` holds the JSON's `duration` and
`recipe_type` (as text), the `recipe` name where label_foodtype.csv gives one, the video's own length
(`video_duration`, from the file's header), the `segment` index and the `annotation_file`. A segment ending
past the duration is cut there, its annotated end kept as `extra.annotated_end`; a video whose `duration` is
null (or absent) is held to its file's. Every entry that
cannot be loaded (a video listed twice keeps its first entry, as activitynet-captions does) and every segment
whose video file is not there is named in the errors table at `file:line:column: database.<video>...` (a
later entry of a video where it starts, `file:line:column: database.<video>`).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdata.corpora.activitynet_captions_json import AnnotatedVideo, Segment, check_segment, duration_reason, \
    find_video, fit_segments, repeated_video_problems, segment_samples
from mmdata.corpora.base import JsonLocator, LoadProblem, LoadResult, json_number, read_json, read_text, \
    register_corpus, short_repr, text_problem
from mmdata.corpora.json_keys import RepeatedKey
from mmdata.corpora.media_captions import MediaFolders, VideoHeaders, check_split, find_csv_dir, folder_list, \
    require_captions_files, require_videos_found, shown_path
from mmdata.corpora.mosi_raw_media import record_video_span
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError

CORPUS = "youcook2"
#: The annotations of the training and validation videos, with their sentences.
ANNOTATION_FILE = "youcookii_annotations_trainval.json"
#: The test videos' segments without sentences: not read (named where a load finds it instead).
TEST_FILE = "youcookii_annotations_test_segments_only.json"
#: The release's recipe names, `<recipe type>,<name>` per line (no header), beside the annotations.
RECIPE_NAMES_FILE = "label_foodtype.csv"
#: Where the annotation file sits, relative to the root: the root, the release's `annotations/`, or the
#: release unpacked one level down.
ANNOTATION_DIRS = ("", "annotations", "YouCookII/annotations")
#: The release's `subset` -> the split here.
SPLITS = {"training": "train", "validation": "val"}
#: Folders holding the videos (or their `<subset>/<recipe_type>/` folders), relative to the root, first first.
VIDEO_BASES = ("raw_videos", "YouCookII/raw_videos", "videos")
#: The suffixes of the YouTube downloads, in the order looked for (then the bare `<id>`).
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm")
#: A recipe type that may name a folder (`113`): no separator, no `..`.
_RECIPE_FOLDER = re.compile(r"[A-Za-z0-9_-]+")
#: A recipe type that is a number (ASCII digits alone: not `１０１` or `²`).
_RECIPE_NUMBER = re.compile(r"[0-9]+")
#: What a row of label_foodtype.csv must be.
_RECIPE_ROW = "expected <recipe type>,<recipe name> (e.g. 101,grilled cheese)"
#: What the annotation file must be.
_SHAPE = '{"database": {<video id>: {subset, duration, recipe_type, annotations}}}'


@dataclass(frozen=True)
class YouCook2Options:
    #: Folder of youcookii_annotations_trainval.json, relative to the root or absolute (default: the root, else
    #: `annotations/`, `YouCookII/annotations/`).
    annotations_dir: str | None = None
    #: Folder of the videos (or of their `<subset>/<recipe_type>/` folders), relative to the root or absolute
    #: (default: `raw_videos/`, `YouCookII/raw_videos/`, `videos/`, the root).
    video_dir: str | None = None
    #: Accept video paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@dataclass
class Entry:
    """One loadable video of the annotation file: its segments (`AnnotatedVideo`), split and recipe type (the
    JSON's, as text; None where it is no string or integer)."""

    video: AnnotatedVideo
    split: str
    recipe_type: str | None


@register_corpus(CORPUS, YouCook2Options)
def load_youcook2(corpus_dir: Path, options: YouCook2Options, split: str | None) -> LoadResult:
    """YouCook2 (`youcookii_annotations_trainval.json` + the YouTube videos), one sample per timed sentence.

    `split`: none or `all` for both, `train` or `val`.

    Example:
        >>> result = load_youcook2(Path("/data/YouCookII"), YouCook2Options(), "val")
        >>> s = next(s for s in result.samples if s.group_id == "9GX8f5EwwE4"); s.sample_id, s.start, s.end, s.captions
        ('9GX8f5EwwE4[0]', 25.0, 37.0, ('cut the onion in half and dice',))

    Raises:
        CorpusNotFoundError: no youcookii_annotations_trainval.json, or none of the videos found.
        CorpusFormatError: invalid JSON, a file that is no `{"database": {...}}` object, or a key repeated
            inside an entry.
        ConfigError: `test` (its sentences are withheld), or an unknown split.
    """
    wanted = _wanted_split(split)
    path = _find_annotation_file(corpus_dir, options.annotations_dir)
    splits = [wanted] if wanted is not None else list(SPLITS.values())
    result = LoadResult(samples=[], metadata={"annotation_files": {shown_path(corpus_dir, path): splits}})
    recipes = _recipe_names(corpus_dir, path.parent, options.allow_outside_root, result)
    folders: dict[tuple[str, str | None], MediaFolders] = {}
    listings: dict[str, set[str]] = {}  # each folder listed once for every (split, recipe) it is searched for
    headers = VideoHeaders(record_video_span)
    found_any, looked_for = False, 0
    for entry in read_youcook2_annotations(path, wanted, result.problems):
        key = (entry.split, _recipe_folder(entry.recipe_type))
        if key not in folders:
            folders[key] = _video_folders(corpus_dir, options.video_dir, *key, listings)
        looked_for += 1
        found_any |= _add_video(corpus_dir, options, folders[key], headers, entry, path.name, recipes, result)
    require_videos_found(looked_for, found_any, "YouCook2", corpus_dir, f"looked for <id> with "
                         f"{', '.join(VIDEO_SUFFIXES)} or none, in those there of {_searched(options.video_dir)}")
    return result


def read_youcook2_annotations(path: Path, wanted: str | None, problems: list[LoadProblem]) -> list[Entry]:
    """The videos of youcookii_annotations_trainval.json of split `wanted` (None: both) with the segments that
    can be loaded; every other entry and segment is recorded in `problems`, named
    `file:line:column: database.<video>...`, and left out (an entry whose `subset` is neither `training` nor
    `validation` whatever the split asked). A video `database` lists again keeps its first entry; each segment
    of a later one (of the split asked) is recorded as a `REPEATED_ENTRY`.

    Raises:
        CorpusFormatError: invalid JSON, not an object whose `database` maps video ids to entries (named at
            `database`, or where the top-level value starts for one that is no object), or a key repeated
            inside an entry.
    """
    repeats: list[RepeatedKey] = []
    data = read_json(path, repeats, entries_at=("database",))
    locate = JsonLocator(path, first_of_repeated=True)  # a repeated video's entry kept is its first
    database = _database(data, locate)
    problems += [problem for repeat in repeats if _of_split(repeat.value, wanted)
                 for problem in repeated_video_problems(repeat, repeat.key, "annotations",
                                                        label=f"database.{repeat.key}")]
    entries = []
    for video_id, value in database.items():
        entry = _read_entry(video_id, value, wanted, locate, problems)
        if entry is not None and entry.video.segments:
            entries.append(entry)
    return entries


def read_recipe_names(path: Path, problems: list[LoadProblem]) -> dict[str, str]:
    """label_foodtype.csv's recipe type (as `recipe_key` gives it: `001` and `1` are one) -> recipe name
    (`101,grilled cheese`, one per line, no header; a first non-blank row whose type is no number is taken for
    a header some copies add). A row that is no `<number>,<name>` pair, holds a line break (a double quote
    closed lines later) or repeats a type (the first is kept) is recorded in `problems` at `file:line` and left
    out. The file is optional: one that cannot be read (not UTF-8, lone carriage-return line ends, a quote
    never closed) is recorded once at `file:line` and gives no names, and the load goes on.
    """
    rows = _recipe_rows(path)
    if isinstance(rows, LoadProblem):
        problems.append(rows)
        return {}
    names: dict[str, str] = {}
    first_row = True
    for line, values in rows:
        values = [v.strip() for v in values]
        if not any(values):
            continue
        is_first, first_row = first_row, False
        if is_first and not _RECIPE_NUMBER.fullmatch(values[0]):
            continue  # a header (`Key,Name`)
        reason = _recipe_row_problem(values, names)
        if reason is not None:
            problems.append(LoadProblem(None, f"{path}:{line}", f"{reason}; row left out (videos of that recipe "
                                        "type get no extra.recipe)"))
        else:
            names[_number_key(values[0])] = values[1]
    return names


def recipe_key(recipe_type: str | None) -> str | None:
    """The number a recipe type stands for, as text without leading zeros (`"001"`, `"1"` -> `"1"`), the key
    label_foodtype.csv's names are looked up by; None for one that is no number (`"１０１"`, `"x"`)."""
    if recipe_type is None or not _RECIPE_NUMBER.fullmatch(recipe_type):
        return None
    return _number_key(recipe_type)


def _number_key(digits: str) -> str:
    """`str(int(digits))` without int's limit on the digits: `"001"` -> `"1"`, `"000"` -> `"0"`."""
    return digits.lstrip("0") or "0"


def _recipe_rows(path: Path) -> list[tuple[int, list[str]]] | LoadProblem:
    """The rows of label_foodtype.csv, each with the line it starts on; or the one problem for which the file
    cannot be read (named at its line, with a hint)."""
    try:
        text = read_text(path)
    except CorpusFormatError as e:  # `<path>:<line>: not valid UTF-8 (...); re-encode the file as UTF-8`
        line, _, reason = str(e).removeprefix(f"{path}:").partition(": ")
        return _unreadable_recipes(path, line, reason)
    lone_cr = re.search(r"\r(?!\n)", text)
    if lone_cr is not None:
        return _unreadable_recipes(path, text.count("\n", 0, lone_cr.start()) + 1, (
            "a line ends in a lone carriage return (\\r, old Mac OS line endings); expected \\n or \\r\\n line "
            "endings: re-save the file with Unix or Windows line endings"))
    reader = csv.reader(io.StringIO(text), strict=True)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for values in reader:
            rows.append((line, values))
            line = reader.line_num + 1
    except csv.Error as e:
        return _unreadable_recipes(path, line, (
            f"no CSV from this row on ({e}); {_RECIPE_ROW}: a name holding a comma goes in double quotes, each "
            'closed on its line ("mac, cheese"), a double quote inside one doubled ("")'))
    return rows


def _unreadable_recipes(path: Path, line: int | str, reason: str) -> LoadProblem:
    """The problem of a label_foodtype.csv that cannot be read: the load goes on without recipe names."""
    return LoadProblem(None, f"{path}:{line}", f"{reason}; file not read (it is optional: no sample gets "
                       "extra.recipe)")


def _recipe_row_problem(values: list[str], names: dict[str, str]) -> str | None:
    """Why a row of label_foodtype.csv (its stripped fields) is no recipe name (None: it is one)."""
    broken = next((v for v in values if "\n" in v or "\r" in v), None)
    if broken is not None:
        return (f"field {short_repr(broken)} holds a line break (a double quote opened on this line is closed on a "
                f"later one); {_RECIPE_ROW}, a name in double quotes closed on its line")
    if len(values) != 2:
        return f"{len(values)} fields {short_repr(','.join(values))}; {_RECIPE_ROW}"
    if not _RECIPE_NUMBER.fullmatch(values[0]):
        return f"recipe type {values[0]!r} is no number (digits 0-9); {_RECIPE_ROW}"
    if not values[1]:
        return f"recipe type {values[0]} has a blank name; {_RECIPE_ROW}"
    key = _number_key(values[0])
    if key in names:
        same = f" (= {key})" if key != values[0] else ""
        return f"recipe type {values[0]}{same} is named again (first {names[key]!r}, kept)"
    return None


def _recipe_names(corpus_dir: Path, annotations_dir: Path, allow_outside: bool,
                  result: LoadResult) -> dict[str, str]:
    """The recipe names of label_foodtype.csv where it lies beside the annotations (in their folder, or, as
    the release has it, in the folder holding `annotations/`, unless that is outside the corpus root: the
    annotations in a root itself named `annotations`, without `allow_outside`); {} without it."""
    folders = [annotations_dir]
    if annotations_dir.name == "annotations" and (allow_outside or
                                                  annotations_dir.resolve() != corpus_dir.resolve()):
        folders.append(annotations_dir.parent)
    path = next((f / RECIPE_NAMES_FILE for f in folders if (f / RECIPE_NAMES_FILE).is_file()), None)
    if path is None:
        return {}
    result.metadata["recipe_names_file"] = shown_path(corpus_dir, path)
    return read_recipe_names(path, result.problems)


def _database(data: Any, locate: JsonLocator) -> dict[str, Any]:
    """The `database` object of the parsed file.

    Raises:
        CorpusFormatError: the top level is no object (named at its start), or `database` is missing, null or
            no object (named where it is, or at the top level's start where it is missing).
    """
    intro = f"expected {_SHAPE} (YouCook2's {ANNOTATION_FILE})"
    if not isinstance(data, dict):
        raise CorpusFormatError(f"{locate.where()}: {intro}, got {short_repr(data, 60)}")
    database = data.get("database")
    if not isinstance(database, dict):
        got = f"no 'database' key (keys {short_repr(list(data), 60)})" if "database" not in data else \
            f"database {short_repr(database, 60)}"
        raise CorpusFormatError(f"{locate.where('database')}: {intro}, got {got}")
    return database


def _of_split(value: Any, wanted: str | None) -> bool:
    """Whether an entry (a repeated video's later one) is of split `wanted`, or of no known split (reported
    whatever the split asked, as `_read_entry` does)."""
    subset = value.get("subset") if isinstance(value, dict) else None
    split = SPLITS.get(subset) if isinstance(subset, str) else None
    return wanted is None or split is None or split == wanted


def _wanted_split(split: str | None) -> str | None:
    """The split asked (None: both).

    Raises:
        ConfigError: `test` (no sentences published), or an unknown split.
    """
    if split in ("test", "testing"):
        raise ConfigError(f"YouCook2 publishes no test sentences ({TEST_FILE} gives the test videos' segments "
                          "alone, so it is not read); papers (PDVC, UniVL, VALOR) report on the validation videos: "
                          "--split val")
    return check_split(split, ("train", "val"), {"training": "train", "validation": "val"}, "YouCook2")


def _find_annotation_file(corpus_dir: Path, given: str | None) -> Path:
    """youcookii_annotations_trainval.json in option annotations_dir (`given`), else in the first of
    `ANNOTATION_DIRS` holding it.

    Raises:
        CorpusNotFoundError: it is not there (saying so where the test file is found instead).
    """
    folder = find_csv_dir(corpus_dir, given, ANNOTATION_DIRS, [ANNOTATION_FILE])
    path = folder / ANNOTATION_FILE
    test_file = find_csv_dir(corpus_dir, given, ANNOTATION_DIRS, [TEST_FILE]) / TEST_FILE
    if not path.is_file() and test_file.is_file():
        raise CorpusNotFoundError(f"{test_file} is there, but not {ANNOTATION_FILE}: the test file holds no "
                                  "sentences and is not read; the trainval file is in the release's annotations/")
    require_captions_files(corpus_dir, folder, ["train", "val"] if path.is_file() else [], corpus="YouCook2",
                           file_names={"train, val": ANNOTATION_FILE}, folders=ANNOTATION_DIRS, wanted=None,
                           option="annotations_dir")
    return path


def _read_entry(video_id: str, value: Any, wanted: str | None, locate: JsonLocator,
                problems: list[LoadProblem]) -> Entry | None:
    """The entry of one video with its usable segments, or None with its problem recorded (or, for a video of
    another split than `wanted`, without one)."""
    where = lambda *steps: locate.where("database", video_id, *steps)  # noqa: E731 (located only on failure)
    if not isinstance(value, dict):
        problems.append(LoadProblem(video_id, where(), f"expected an object with subset, duration, recipe_type and "
                                    f"annotations, got {short_repr(value)}; video left out"))
        return None
    subset, annotations, duration = value.get("subset"), value.get("annotations"), value.get("duration")
    split = SPLITS.get(subset) if isinstance(subset, str) else None
    if split is not None and wanted not in (None, split):
        return None
    reason = _unusable_entry_reason(video_id, split, subset, annotations, duration)
    if reason is not None:
        problems.append(LoadProblem(video_id, where(*reason[0]), reason[1]))
        return None
    video = AnnotatedVideo(video_id, float(duration) if duration is not None else None, where)
    for i, annotation in enumerate(annotations):
        segment = _read_segment(video, i, annotation, problems)
        if segment is not None:
            video.segments.append(segment)
    if video.duration is not None:
        fit_segments(video, video.duration, problems)
    return Entry(video, split, _recipe_type(value.get("recipe_type")))


def _unusable_entry_reason(video_id: str, split: str | None, subset: Any, annotations: Any,
                           duration: Any) -> tuple[tuple[str, ...], str] | None:
    """Why none of a video's segments can be loaded (with the steps to the member it names), else None."""
    count = f"its {len(annotations)} segments left out" if isinstance(annotations, list) else "video left out"
    if not isinstance(annotations, list):
        return (), f"video {video_id!r} has no 'annotations' list (got {short_repr(annotations)}); {count}"
    if split is None:
        return ("subset",), (f"video {video_id!r} has subset {short_repr(subset)}; expected 'training' or "
                             f"'validation' ({TEST_FILE}'s 'testing' videos have no sentences); {count}")
    unusable_duration = duration_reason(video_id, duration, len(annotations))
    if unusable_duration is not None:
        return ("duration",), unusable_duration
    if not annotations:
        return ("annotations",), f"video {video_id!r} has no timed sentence (empty annotations); left out"
    return None


def _read_segment(video: AnnotatedVideo, i: int, annotation: Any, problems: list[LoadProblem]) -> Segment | None:
    """Segment i of `video` (not yet held to its duration), or None with its problem recorded (its index stays
    its own: the video's other segments keep their ids)."""
    sample_id = f"{video.video_id}[{i}]"
    where = lambda: video.where("annotations", i)  # noqa: E731
    reason = _segment_problem(annotation)
    if reason is not None:
        problems.append(LoadProblem(sample_id, where(), f"{reason}; segment left out"))
        return None
    start, end = annotation["segment"]
    return check_segment(sample_id, i, float(start), float(end), annotation["sentence"].strip(), where, problems)


def _segment_problem(annotation: Any) -> str | None:
    """Why an `annotations` item is no [start, end] pair with a sentence (None: it is one; the sentence,
    start and span's order are checked after, by `check_segment`)."""
    expected = "expected {\"id\": 0, \"segment\": [start, end], \"sentence\": \"...\"}"
    if not isinstance(annotation, dict):
        return f"{expected}, got {short_repr(annotation)}"
    segment, sentence = annotation.get("segment"), annotation.get("sentence")
    if not isinstance(segment, list) or len(segment) != 2 or not all(json_number(t) for t in segment):
        return f"segment {short_repr(segment)} is no [start, end] pair of seconds (finite numbers); {expected}"
    problem = text_problem(sentence, "a sentence", allow_empty=True)
    return f"{problem}; {expected}" if problem else None


def _recipe_type(value: Any) -> str | None:
    """The JSON's `recipe_type` as text (`"113"`, or 113), else None (kept out of `extra`)."""
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _recipe_folder(recipe_type: str | None) -> str | None:
    """The folder name of a recipe type, else None (one that is no plain folder name, `../x`, is not followed:
    no per-recipe folder is looked in)."""
    return recipe_type if recipe_type is not None and _RECIPE_FOLDER.fullmatch(recipe_type) else None


def _candidate_folders(bases: list[str], subset: str, recipe_folder: str | None) -> list[str]:
    """Under each base, first first: `<subset>/<recipe_folder>/`, `<subset>/`, the base itself."""
    folders = []
    for base in bases:
        nested = [f"{subset}/{recipe_folder}"] if recipe_folder is not None else []
        folders += [f"{base}/{p}" if base else p for p in (*nested, subset)] + [base]
    return folders


def _video_bases(video_dir: str | None) -> list[str]:
    """Option video_dir, else `VIDEO_BASES` and then the root."""
    return [video_dir] if video_dir is not None else [*VIDEO_BASES, ""]


def _video_folders(corpus_dir: Path, video_dir: str | None, split: str, recipe_folder: str | None,
                   listings: dict[str, set[str]]) -> MediaFolders:
    """The folders a video of `split` and `recipe_folder` is looked for in (`_candidate_folders` under
    `_video_bases`): those that are there (a given video_dir is kept, for the messages), sharing `listings`."""
    subset = next(s for s, name in SPLITS.items() if name == split)
    folders = _candidate_folders(_video_bases(video_dir), subset, recipe_folder)
    return MediaFolders(corpus_dir, [f for f in folders if f == video_dir or (corpus_dir / f).is_dir()], listings)


def _searched(video_dir: str | None) -> str:
    """Every folder a video may be looked for in, as the no-video-found message names them."""
    folders = _candidate_folders(_video_bases(video_dir), "<subset>", "<recipe_type>")
    return folder_list(folders)


def _add_video(corpus_dir: Path, options: YouCook2Options, folders: MediaFolders, headers: VideoHeaders,
               entry: Entry, file_name: str, recipes: dict[str, str], result: LoadResult) -> bool:
    """A sample per segment of the entry's video when its file is found (`<id>.mp4`, `.mkv`, `.webm`, then the
    bare `<id>`); else a problem per segment. Returns whether the file was found."""
    video = entry.video
    names = [video.video_id + suffix for suffix in VIDEO_SUFFIXES] + [video.video_id]
    path = find_video(corpus_dir, folders, video, names, result.problems, allow_outside=options.allow_outside_root)
    if path is None:
        return False
    name = recipes.get(recipe_key(entry.recipe_type) or "")
    recipe = {} if entry.recipe_type is None else {
        "recipe_type": entry.recipe_type, **({"recipe": name} if name is not None else {})}
    result.samples += segment_samples(CORPUS, video, path, headers.span(corpus_dir / path), entry.split,
                                      {**recipe, "annotation_file": file_name}, result.problems)
    return True
