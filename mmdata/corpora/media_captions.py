"""Helpers shared by the loaders of captioned audio and video corpora (`clotho`, `audiocaps`, `wavcaps`, `msrvtt`,
`activitynet-captions`, `charades-sta`, `youcook2`, `didemo`, `vatex`).

Such a corpus lists media files and their captions in annotation files, and the media sit in a few
known folders. A row whose media file is not there is left out and named in the errors table
(`file:line` and the path looked for), as `mmsa-raw` does for its clips: a caption without its sound
or video is no pair to train or test on. The folders are listed once (one `os.scandir` each), so a
corpus of 10,000 files costs a few directory reads, not 10,000 lookups.

A classification corpus of many clips (`kinetics`, `vggsound`, `audioset`) spends most of its load reading each
file's header: `read_headers` reads them on a few threads (`HEADER_THREADS`, or the environment variable
`MMDATA_HEADER_THREADS`), which overlap where each open waits on the disk or a network share (a copy of sound files
alone is read in one thread unless that variable is set: `read_media_headers`).
"""
from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from mmdata.corpora.base import REPEATED_ENTRY, LoadProblem, given_image_dir, safe_relative_path
from mmdata.errors import ConfigError, CorpusNotFoundError
from mmdata.environment import usable_cpus
from mmdata.media.files import is_regular_file, media_file_problem
from mmdata.records import MODALITY_DURATION_KEYS, START_KEYS

#: How many files' headers `read_headers` reads at once: one thread per usable CPU. PyAV lets go of the GIL while
#: it opens a container and reads its stream info, so the opens overlap; more threads than CPUs only pay off where
#: each open waits on a network share or a cold disk (`MMDATA_HEADER_THREADS=32`). On 2 cores, 600 local 2 s MP4
#: clips: 1.26 s on 1 thread, 0.66 s on 2, 0.94 s on 8 (benchmarks/README.md, corpus loading).
HEADER_THREADS = usable_cpus()
#: The most `MMDATA_HEADER_THREADS` may ask for (each thread holds an open file and a stack).
MAX_HEADER_THREADS = 256
#: The environment variable that overrides `HEADER_THREADS` (`MMDATA_HEADER_THREADS=32` for a network share).
HEADER_THREADS_VARIABLE = "MMDATA_HEADER_THREADS"
#: Fewer files than this are read in the calling thread: starting threads costs more than a few opens.
POOLED_FROM = 32
#: How many files one task of the pool reads, one after another: a task per file would cost the calling thread
#: a queued task's overhead per file, as much as a WAV's header read.
FILES_PER_TASK = 16
#: How many tasks per thread are queued ahead of the one awaited: enough to keep every thread busy, few enough
#: that 2M files are not 2M queued reads at once.
TASKS_AHEAD_PER_THREAD = 4

Item = TypeVar("Item")


class MediaFolders:
    """Finds a media file by name in a list of folders (relative to the corpus root), first folder first.

        folders = MediaFolders(root, ["TrainValVideo", "TestVideo"])
        folders.find("video7010.mp4")      # 'TestVideo/video7010.mp4', or None where no folder holds it
    """

    def __init__(self, corpus_dir: Path, folders: Iterable[str], listings: dict[str, set[str]] | None = None):
        """`listings`: the folder listings of another MediaFolders of `corpus_dir` to share (each folder is then
        listed once for all of them), else a cache of its own."""
        self.corpus_dir = corpus_dir
        self.folders = [given_image_dir(f) for f in folders]  # absolute ones kept: safe_relative_path judges them
        self.listings: dict[str, set[str]] = {} if listings is None else listings

    def find(self, name: str) -> str | None:
        """The path (relative to the root) of the first folder's regular file called `name`, else None."""
        for folder in self.folders:
            if name in self._listing(folder):
                return f"{folder}/{name}" if folder else name
        return None

    def expected(self, name: str) -> str:
        """Where `name` was looked for first (the path a missing file is reported under)."""
        folder = self.folders[0] if self.folders else ""
        return f"{folder}/{name}" if folder else name

    def searched_folders(self) -> str:
        """The folders looked in, first first, as messages name them: `videos/, videos/train/, the root`."""
        return folder_list(self.folders) or "the root"

    def _listing(self, folder: str) -> set[str]:
        if folder not in self.listings:
            self.listings[folder] = set(regular_file_names(self.corpus_dir / folder))
        return self.listings[folder]


class FolderEntry(NamedTuple):
    """An entry of a folder as `folder_entries` lists it."""

    name: str
    #: A regular file, links followed (as opening it will); False where that cannot be told.
    is_file: bool
    #: A symbolic link (whatever it leads to); True where that cannot be told (judged by where it would lead).
    is_link: bool


def regular_file_names(folder: Path) -> list[str]:
    """The names of the regular files (links followed) in `folder`, in the order the system lists them; none where
    there is no such folder or it cannot be read (it holds nothing a loader finds). One `os.scandir`."""
    try:
        with os.scandir(folder) as entries:
            return [e.name for e in entries if _is_file(e)]
    except OSError:
        return []


def subfolder_names(folder: Path) -> list[str]:
    """The names of the folders (links followed) in `folder`, sorted; none where it cannot be listed. One
    `os.scandir`."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if _is_dir(e))
    except OSError:
        return []


def folder_entries(folder: Path) -> list[FolderEntry]:
    """Every entry of `folder` (files, folders and the rest, hidden ones too), sorted by name: whether each is a
    regular file and whether it is a link; none where `folder` cannot be listed. One `os.scandir`."""
    try:
        with os.scandir(folder) as entries:
            return sorted(FolderEntry(e.name, _is_file(e), _is_link(e)) for e in entries)
    except OSError:
        return []


def holds_file_with_suffix(folder: Path, suffixes: tuple[str, ...]) -> bool:
    """Whether `folder` holds a regular file (links followed, as `regular_file_names` lists them) named
    `<stem><suffix>` for one of `suffixes` (lower case: `.wav`; the name's case does not matter). It tells a folder
    of sounds from one of zip parts or annotations without listing it all: one `os.scandir`, up to the first such
    file. A subfolder named `x.wav` is no such file, nor is a file named just `.wav` (no stem: no clip's file).

    Raises:
        OSError: `folder` cannot be listed (not there, not a folder, not readable): the caller decides whether that
            is a folder without such files or the user's to fix.
    """
    with os.scandir(folder) as entries:
        return any(_has_suffix(e.name, suffixes) and _is_file(e) for e in entries)


def _has_suffix(name: str, suffixes: tuple[str, ...]) -> bool:
    """Whether `name` ends with one of `suffixes`, in any case, after a stem (as `Path.suffix` tells it)."""
    lower = name.lower()
    return any(lower.endswith(s) and len(lower) > len(s) for s in suffixes)


def folder_list(folders: Iterable[str]) -> str:
    """Folders as messages name them, first first: `videos/, videos/train/, the root` ("" for none)."""
    return ", ".join(f"{f}/" if f else "the root" for f in folders)


def _is_file(entry: os.DirEntry) -> bool:
    """Whether a listed entry is a regular file, links followed (as opening it will); False where it cannot tell."""
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_dir(entry: os.DirEntry) -> bool:
    """Whether a listed entry is a folder, links followed; False where it cannot tell."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_link(entry: os.DirEntry) -> bool:
    """Whether a listed entry is a symbolic link; True where it cannot tell (judged by where it leads, as a link)."""
    try:
        return entry.is_symlink()
    except OSError:
        return True


def most_common_kind(items: Iterable[Item], kind: Callable[[Item], str]) -> tuple[Item, int]:
    """The first of `items` (at least one) of the kind most of them have (`kind(item)`: a problem's kind of reason),
    and how many have it; of kinds as common, the one met first. What a refusal of a load none of whose entries is
    kept names: the most common reason, at its first file or row."""
    listed = list(items)
    kinds = [kind(item) for item in listed]
    top, count = Counter(kinds).most_common(1)[0]
    return listed[kinds.index(top)], count


def media_path(corpus_dir: Path, folders: MediaFolders, name: str, *, where: str | Callable[[], str],
               allow_outside: bool) -> str | None:
    """The checked relative path of media file `name` in `folders`, or None when no folder holds it.

    Raises:
        CorpusFormatError: the path leads outside the corpus root without `allow_outside` (`where` names the row;
            a callable is called only then).
    """
    found = folders.find(name)
    if found is None:
        return None
    return safe_relative_path(corpus_dir, found, where=where, allow_outside=allow_outside)


def first_media_path(corpus_dir: Path, folders: MediaFolders, names: Iterable[str], *,
                     where: str | Callable[[], str], allow_outside: bool) -> str | None:
    """The checked relative path (`media_path`) of the first of `names`, first first, that a folder holds (a
    clip's own file before its whole video, `.flac` before `.wav`), or None when no folder holds any."""
    return next((path for name in names if (path := media_path(
        corpus_dir, folders, name, where=where, allow_outside=allow_outside)) is not None), None)


def require_videos_found(looked_for: int, found_any: bool, corpus: str, corpus_dir: Path, named: str, *,
                         folders: MediaFolders | None = None, note: str = "", what: str = "videos",
                         option: str = "video_dir") -> None:
    """Refuse a load none of whose `looked_for` videos is found (a wrong folder, not a few gone videos):
    `named` says how their files were looked for (`as <id>.mp4`), `folders` (where given) the folders searched,
    `note` the words ending the option's advice (` (Charades_v1_480/ as unpacked)`), `what` the files' name in
    the message (`clips`) and `option` the option naming their folder (`media_dir`).

    Raises:
        CorpusNotFoundError: `looked_for` videos and none found, naming `-o <option>=`.
    """
    if looked_for and not found_any:
        where = f"{folders.searched_folders()} of {corpus_dir}" if folders is not None else str(corpus_dir)
        raise CorpusNotFoundError(f"none of the {looked_for} {corpus} {what} found in {where} ({named}); "
                                  f"-o {option}= names the folder holding them{note}")


def listed_again(first_split: str, split: str) -> str:
    """How an entry an earlier one listed is listed: `again` (in its own split), else `in split 'train' too, a
    leak between them` (`check` would report its sample in two splits)."""
    return "again" if first_split == split else f"in split {first_split!r} too, a leak between them"


def repeated_entry_problem(sample_id: str, where: str, subject: str, listed: str, first_at: str,
                           left_out: str) -> LoadProblem:
    """The `REPEATED_ENTRY` problem of an entry an earlier one listed: `clip x is listed again (first at
    train.json:3:5: [2]); entry left out` (`listed`: `listed_again`'s words, or the caller's own)."""
    return LoadProblem(sample_id, where, f"{subject} is listed {listed} (first at {first_at}); {left_out} left out",
                       REPEATED_ENTRY)


def first_listings(entries: Iterable[Any], problems: list[LoadProblem], kind: str,
                   wanted: str | None = None) -> list[Any]:
    """The entries (each with `sample_id`, `split` and `where`) listed first, in order; an entry listing a sample
    again (in its split, or another: a leak) is named `REPEATED_ENTRY` at its row where its split is `wanted`
    (None: every split): `<kind> <id> is listed again (first at f.csv:3); row left out`."""
    first: dict[str, Any] = {}
    for entry in entries:
        earlier = first.setdefault(entry.sample_id, entry)
        if earlier is not entry and wanted in (None, entry.split):
            problems.append(repeated_entry_problem(entry.sample_id, entry.where, f"{kind} {entry.sample_id}",
                                                   listed_again(earlier.split, entry.split), earlier.where, "row"))
    return list(first.values())


def missing_media_problem(corpus_dir: Path, folders: MediaFolders, name: str, sample_id: str, where: str,
                          kind: str, *, also: str = "", left_out: str = "row") -> LoadProblem:
    """The problem of a row whose `kind` file (`audio`, `video`) no folder holds: what is there instead
    where the first folder should hold it (a folder, a broken link: `media_file_problem`), else not found.

    `also` names the other file names looked for (`v_x.mkv, x.mp4`), `left_out` what is left out (`row`,
    `segment`, `its 2 rows (lines 3, 4)`): `video file v_x.mp4 not found in videos/; also looked for
    v_x.mkv, x.mp4; segment left out`."""
    expected = folders.expected(name)
    problem = media_file_problem(corpus_dir / expected, kind) if os.path.lexists(corpus_dir / expected) else None
    reason = problem or f"{kind} file {name} not found in {folders.searched_folders()}"
    others = f"; also looked for {also}" if also else ""
    return LoadProblem(sample_id, where, f"{reason}{others}; {left_out} left out")


def missing_names_problem(corpus_dir: Path, folders: MediaFolders, names: Sequence[str], sample_id: str, where: str,
                          kind: str, *, left_out: str = "row") -> LoadProblem:
    """`missing_media_problem` for a file looked for under each of `names`, first first (`.flac` before `.wav`):
    the first is the one expected, the others are named as also looked for (`x.wav`)."""
    return missing_media_problem(corpus_dir, folders, names[0], sample_id, where, kind, also=", ".join(names[1:]),
                                 left_out=left_out)


def video_folders(corpus_dir: Path, video_dir: str | None, defaults: Iterable[str], *,
                  subfolders: Iterable[str] = ()) -> MediaFolders:
    """The folders a loader looks for its videos in: option `video_dir` (relative to the root or absolute) with
    those of its `subfolders` that are there (`train/`, `val/`: one folder per split), else the `defaults` that
    are there (relative to the root, "" for the root itself), first first."""
    if video_dir is not None:
        base = given_image_dir(video_dir)
        found = [f"{base}/{s}" for s in subfolders if (corpus_dir / base / s).is_dir()]
        return MediaFolders(corpus_dir, [base, *found])
    return MediaFolders(corpus_dir, [d for d in defaults if (corpus_dir / d).is_dir()])


class VideoHeaders:
    """The header values of each video file, read once per load by `read(path, values)` (`record_video_span`:
    `video_duration`, `video_media_start`): several annotation entries name one file (ActivityNet's val_1.json
    and val_2.json, a Charades video's moments), and opening a video costs far more than a dict lookup."""

    def __init__(self, read: Callable[[Path, dict[str, float]], None]) -> None:
        self._read = read
        self._spans: dict[Path, dict[str, float]] = {}

    def span(self, path: Path) -> dict[str, float]:
        """The header values of the video at `path` (empty where it is no regular file or states none)."""
        if path not in self._spans:
            values: dict[str, float] = {}
            if is_regular_file(path):  # a FIFO would make the header read wait forever
                self._read(path, values)
            self._spans[path] = values
        return self._spans[path]


def header_threads(default: int = HEADER_THREADS) -> int:
    """The threads `read_headers` uses: `MMDATA_HEADER_THREADS` where set, else `default`.

    Raises:
        ConfigError: `MMDATA_HEADER_THREADS` is not a whole number from 1 to `MAX_HEADER_THREADS`.
    """
    given = os.environ.get(HEADER_THREADS_VARIABLE, "").strip()
    if not given:
        return default
    if not given.isdecimal() or not 1 <= int(given) <= MAX_HEADER_THREADS:
        raise ConfigError(f"environment variable {HEADER_THREADS_VARIABLE}={given!r}: expected a whole number >= 1 "
                          f"(the threads reading media headers; 1 reads one file after another, default "
                          f"{default} here, at most {MAX_HEADER_THREADS})")
    return int(given)


def read_headers(items: Sequence[Item], read: Callable[[Item], dict[str, Any]], *,
                 threads: int | None = None) -> list[dict[str, Any]]:
    """`[read(item) for item in items]`, the reads overlapping on `threads` threads (default `header_threads()`):
    what a loader reads from each media file's header (`video_file_extra`, `media_files_extra`), in the order of
    `items`. Fewer than `POOLED_FROM` items, or one thread, are read in the calling thread.

    Raises:
        Exception: what the first `read` to raise, in the order of `items`, raised, as the sequential reads would
            (the reads after it are then not waited for; those already running finish first).
    """
    threads = header_threads() if threads is None else threads
    if threads <= 1 or len(items) < POOLED_FROM:
        return [read(item) for item in items]
    tasks = [items[start:start + FILES_PER_TASK] for start in range(0, len(items), FILES_PER_TASK)]
    with ThreadPoolExecutor(max_workers=min(threads, len(tasks)), thread_name_prefix="mmdata-headers") as pool:
        return _pooled_reads(pool, tasks, read, ahead=threads * TASKS_AHEAD_PER_THREAD)


def _pooled_reads(pool: ThreadPoolExecutor, tasks: list[Sequence[Item]], read: Callable[[Item], dict[str, Any]], *,
                  ahead: int) -> list[dict[str, Any]]:
    """The reads of each task's items on `pool`, in their order, at most `ahead` tasks queued at once; the tasks
    queued are cancelled where one raises."""
    results: list[dict[str, Any]] = []
    queued: deque[Future] = deque()
    try:
        for task in tasks:
            queued.append(pool.submit(_read_each, task, read))
            if len(queued) >= ahead:
                results += queued.popleft().result()
        while queued:
            results += queued.popleft().result()
    finally:
        for future in queued:
            future.cancel()
    return results


def _read_each(items: Sequence[Item], read: Callable[[Item], dict[str, Any]]) -> list[dict[str, Any]]:
    """`read` of each of `items`, one after another (stopping at the first that raises, as a sequential load)."""
    return [read(item) for item in items]


def media_files_extra(files: tuple[Path | None, Path | None]) -> dict[str, float]:
    """The header values of a sample's `(video, audio)` files (either None where it has none): the sound file's
    duration (`audio_duration_extra`), then the video's span from one open of it (`video_file_extra`), with its
    sound track's only where no sound file is found (a FLAC or WAV beside an MP4 is the sound audio extractors
    read)."""
    video, audio = files
    extra: dict[str, float] = audio_duration_extra(audio) if audio is not None else {}
    if video is not None:
        extra.update(video_file_extra(video, with_audio=audio is None))
    return extra


def read_media_headers(pairs: Sequence[tuple[Path | None, Path | None]]) -> list[dict[str, float]]:
    """`media_files_extra` of each `(video, audio)` pair, in order (`read_headers`): on `header_threads()` threads
    where a pair has a video (a container's open, ~1.4 ms, mostly without the GIL, overlaps on threads), else in
    the calling thread unless `MMDATA_HEADER_THREADS` says otherwise: a sound file's header (~0.1 ms, mostly
    Python under the GIL) read slower on threads from a local disk (3,000 WAVs: 0.32 s on one, 0.55 s on 8)."""
    with_video = any(video is not None for video, _ in pairs)
    return read_headers(pairs, media_files_extra, threads=header_threads(HEADER_THREADS if with_video else 1))


def media_pair(corpus_dir: Path, video: str | None, audio: str | None) -> tuple[Path | None, Path | None]:
    """A sample's `(video, audio)` files as `media_files_extra` opens them: under `corpus_dir` (a path found under
    an absolute media folder stays itself), None where the sample has none."""
    return (None if video is None else corpus_dir / video, None if audio is None else corpus_dir / audio)


def held_end(extra: dict[str, Any], start: float, end: float, length: float | None,
             **fit: Any) -> float | LoadProblem:
    """`fit_span(start, end, length, **fit)` where the video's `length` is known (None: `end` as annotated),
    the annotated end kept in `extra` as `annotated_end` where the span is cut at `length`."""
    if length is None:
        return end
    fitted = fit_span(start, end, length, **fit)
    if not isinstance(fitted, LoadProblem) and fitted < end:
        extra["annotated_end"] = end
    return fitted


def fit_span(start: float, end: float, length: float, *, sample_id: str | None, where: str | Callable[[], str],
             part: str = "segment", length_name: str = "duration", source: str = "",
             left_out: str = "segment") -> float | LoadProblem:
    """The end of the span [start, end] (seconds) held to its video's `length`: `end`, or `length` where the span
    runs past it (the caller keeps the annotated end); or the problem of a span starting at or after `length`
    (nothing of it is in the video), named `where` (a callable is called only then).

    `part` names the span (`segment`, `moment`), `length_name` the length (`duration`, `length`), `source` where
    it comes from when not from the annotation (`, from v_x.mp4's header`), `left_out` what is left out
    (`segment`, `line`): `moment starts at 31.0 s, at or after the end of the video (length 30.2 s); line left
    out (the video's other moments keep their ids)`."""
    if start >= length:
        return LoadProblem(sample_id, where() if callable(where) else where, (
            f"{part} starts at {start!r} s, at or after the end of the video ({length_name} {length!r} s{source}); "
            f"{left_out} left out (the video's other {part}s keep their ids)"))
    return min(end, length)


def audio_duration_extra(path: Path) -> dict[str, float]:
    """`{"audio_duration": seconds}` from an audio file's header (no decoding), against which `check` holds
    the sample's audio tables: soundfile.info for the files `load_audio` reads with soundfile (WAV, FLAC,
    OGG, MP3), the audio stream's header for a container (M4A: AAC in MP4, which soundfile cannot read),
    with `audio_media_start` where that stream starts after 0; empty where the header cannot be read
    (extraction then names the problem). A FLAC's length comes from its STREAMINFO block where it counts its
    samples (`flac_stream_seconds`: the same frames and rate, read 9 times faster), a plain WAV's from its chunks
    (`wav_stream_seconds`: likewise)."""
    from mmdata.media.audio import SOUNDFILE_SUFFIXES, UNKNOWN_FRAMES, flac_stream_seconds, wav_stream_seconds

    suffix = path.suffix.lower()
    stated = flac_stream_seconds if suffix == ".flac" else wav_stream_seconds if suffix in (".wav", ".wave") else None
    if stated is not None and (seconds := stated(path)) is not None:
        return {MODALITY_DURATION_KEYS["audio"]: round(seconds, 6)}

    if path.suffix.lower() not in SOUNDFILE_SUFFIXES:
        return audio_stream_extra(path)
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError):  # soundfile.LibsndfileError is a RuntimeError
        return {}
    if info.samplerate > 0 and 0 < info.frames < UNKNOWN_FRAMES:  # a FLAC stating no sample count has none
        return {MODALITY_DURATION_KEYS["audio"]: round(info.frames / info.samplerate, 6)}
    return {}


def audio_stream_extra(path: Path) -> dict[str, float]:
    """`{"audio_media_start": s, "audio_duration": s}` of the audio stream a container's header states
    (`media.audio.audio_stream_span`; the start only where after 0), or {} where it states none."""
    from mmdata.media.audio import audio_stream_span

    span = audio_stream_span(path)
    return {} if span is None else _audio_span_extra(*span)


def _audio_span_extra(start: float, duration: float) -> dict[str, float]:
    """`{"audio_media_start": s, "audio_duration": s}` of an audio stream's (start, duration), the start only where
    after 0."""
    return {**({START_KEYS[MODALITY_DURATION_KEYS["audio"]]: round(start, 6)} if start > 0 else {}),
            MODALITY_DURATION_KEYS["audio"]: round(duration, 6)}


def video_file_extra(path: Path, *, with_audio: bool = True) -> dict[str, float]:
    """The header values `audio_duration_extra(path)` and `record_video_span(path, extra)` give for a video file
    (`audio_duration`, `audio_media_start`; then `video_duration`, `video_media_start`: the same keys, values
    and order), read in one open of the container instead of three: 1.4 ms a 10 s MP4 clip instead of 3.3 ms, so
    Kinetics-700's 650,000 clips take 15 minutes of header reads on one thread instead of 36 (`read_headers` overlaps
    them on threads: 600 clips in 0.62 s on 2 against 1.15 s on one). A sound file (`.wav`, `.flac`, ...) keeps
    `audio_duration_extra`'s reading of its sound; no container values where the file cannot be opened or PyAV is
    not installed (extraction then names the problem). `with_audio` False: the video's values alone
    (`record_video_span`'s), for a sample whose sound is another file."""
    from mmdata.media.audio import SOUNDFILE_SUFFIXES

    sound_file = path.suffix.lower() in SOUNDFILE_SUFFIXES
    extra: dict[str, float] = audio_duration_extra(path) if sound_file and with_audio else {}
    readers = [container_video_extra] if sound_file or not with_audio else \
        [container_audio_extra, container_video_extra]
    try:
        extra.update(container_header_extra(path, readers))
    except ImportError:  # PyAV is an optional dependency: the load goes on without the container's values
        pass
    return extra


def container_header_extra(path: Path, readers: Iterable[Callable[[Any, Path], dict[str, float]]]) -> dict[str, float]:
    """The values `readers` (`container_audio_extra`, `container_video_extra`) read from the header of the media
    file at `path`, in one open of it, the first reader's keys first. Each reads on its own, as separate opens did:
    a stream whose header cannot be read spoils only its reader's values. {} where `path` is no regular file (a
    FIFO would make the open wait forever) or cannot be opened (extraction then names the problem).

    Raises:
        ImportError: PyAV is not installed (`video_file_extra` goes on without the values).
    """
    import av

    extra: dict[str, float] = {}
    if not is_regular_file(path):
        return extra
    try:
        with av.open(str(path)) as container:
            for read in readers:
                try:
                    extra.update(read(container, path))
                except (av.FFmpegError, ValueError, OSError):
                    pass
    except (av.FFmpegError, ValueError, OSError):
        pass
    return extra


def container_audio_extra(container, path: Path) -> dict[str, float]:
    """`audio_stream_extra`'s values from an open container (`media.audio.container_audio_span`)."""
    from mmdata.media.audio import container_audio_span

    span = container_audio_span(container, path)
    return {} if span is None else _audio_span_extra(*span)


def container_video_extra(container, path: Path) -> dict[str, float]:
    """`mosi_raw_media.record_video_span`'s values from an open container (`media.video.container_video_span`)."""
    from mmdata.media.video import container_video_span

    span = container_video_span(container, path)
    return {} if span is None else _video_span_extra(*span)


def _video_span_extra(start: float, end: float) -> dict[str, float]:
    """`{"video_media_start": s, "video_duration": s}` of a video stream starting at `start` and stated to end at
    `end` (seconds of the media file): the start only where after 0 (and before the end), the duration counted
    from it then, since its frames' intervals are in the file's time line."""
    if start > 0 and end > start:
        return {START_KEYS[MODALITY_DURATION_KEYS["video"]]: round(start, 6),
                MODALITY_DURATION_KEYS["video"]: round(end - start, 6)}
    return {MODALITY_DURATION_KEYS["video"]: round(end, 6)}


def check_split(split: str | None, splits: Iterable[str], native: Mapping[str, str], corpus: str) -> str | None:
    """The split asked (None for every split): one of `splits`, or `all`.

    Raises:
        ConfigError: a corpus-native split name (`native` maps it to the name used here), or an unknown one.
    """
    if split in (None, "all"):
        return None
    if split in native and native[split] in splits:
        raise ConfigError(f"{corpus}'s split {split!r} is named {native[split]!r} here (train, val and test are the "
                          f"names `fuse` and `mmdata train` look for); pass --split {native[split]}")
    if split not in splits:
        raise ConfigError(f"unknown split {split!r}; expected one of {['all', *splits]}")
    return split


def find_csv_dir(corpus_dir: Path, csv_dir: str | None, folders: Iterable[str], file_names: Iterable[str]) -> Path:
    """The folder of a corpus's caption CSVs: option `csv_dir` where given (relative to the root, or absolute,
    which the join keeps as it is), else the first of `folders` (relative to the root, "" for the root itself)
    that holds one of `file_names`, else the root (where `require_captions_files` then says what is missing)."""
    if csv_dir is not None:
        return corpus_dir / csv_dir
    names = list(file_names)
    return next((corpus_dir / d for d in folders if any((corpus_dir / d / n).is_file() for n in names)), corpus_dir)


def require_captions_files(corpus_dir: Path, csv_dir: Path, found: Iterable[str], *, corpus: str,
                           file_names: Mapping[str, str | tuple[str, ...]], folders: Iterable[str],
                           wanted: str | None, option: str = "csv_dir", hint: str = "") -> None:
    """Refuse a load without captions: `found` are the splits whose file is in `csv_dir`, `file_names` maps
    every split to its file's name (or names, where several files hold one split), `folders` are the ones
    `find_csv_dir` looked in, `option` the name of the option that names `csv_dir`, `hint` advice ending
    either refusal (`-o annotations_dir= names the folder holding them`, where the option was not given).

    Raises:
        CorpusNotFoundError: no captions file (naming the folders looked in, or the option), or none of
            split `wanted` (naming the splits there).
    """
    found = list(found)
    names = {split: (n,) if isinstance(n, str) else tuple(n) for split, n in file_names.items()}
    advice = f"; {hint}" if hint else ""
    if not found:
        others = [f"{d}/" for d in folders if d]
        where = f"{csv_dir} (option {option})" if csv_dir != corpus_dir else str(csv_dir)
        if csv_dir == corpus_dir and others:
            where += f" or {corpus_dir}'s {', '.join(others)} folder{'s' if len(others) > 1 else ''}"
        every = [n for split_names in names.values() for n in split_names]
        raise CorpusNotFoundError(f"no {corpus} captions file ({', '.join(every)}) found in {where}{advice}")
    if wanted is not None and wanted not in found:
        absent = " nor ".join(names[wanted])
        absent = f"neither {absent} is" if len(names[wanted]) > 1 else f"{absent} is not"
        raise CorpusNotFoundError(f"split {wanted!r} asked, but {absent} in {csv_dir}; splits there: {found}{advice}")


def shown_path(corpus_dir: Path, path: Path) -> str:
    """`path` relative to the corpus root where it is under it (`captions/train.json`), else as given (an
    absolute folder option): how a loader's metadata names the annotation files it read."""
    return path.relative_to(corpus_dir).as_posix() if path.is_relative_to(corpus_dir) else path.as_posix()
