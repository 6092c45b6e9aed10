"""AudioCaps (Kim et al., NAACL 2019; audio captioning, audio-text retrieval) as users have it on disk.

train.csv, val.csv and test.csv (UTF-8) hold one caption per row:
    audiocap_id,youtube_id,start_time,caption
    91139,r1nicOVtvkQ,130,A woman talks nearby as water pours
and the sound is the 10 s of YouTube video `r1nicOVtvkQ` from 130 s, which each download tool names its
own way: aac-datasets `r1nicOVtvkQ_130.flac` (in `AUDIOCAPS/audio_32000Hz/<split>/`, the CSVs in
`AUDIOCAPS/`), AudioSet-style tools `Yr1nicOVtvkQ.wav`, others `r1nicOVtvkQ.wav`, audiocaps-download
`91139.wav` (one file per caption row, in `<split>/`, the CSVs in the root). The official repository keeps
the CSVs in `dataset/` (and AudioCaps 2.0's in `dataset2.0/`, read with option csv_dir). A video with two
clips (two start times) in the CSVs leaves its start-less names ambiguous: its clips are looked for only
under the names that carry the start time or an audiocap_id.

One sample per clip (youtube_id + start_time) with its captions in file order (one in train, five in val
and test). sample_id = `{youtube_id}_{start_time}` (`r1nicOVtvkQ_130`): the clip is what users key on
(aac-datasets' file names, AudioSet's segments), the same in every AudioCaps release, whereas an
audiocap_id names one caption row and AudioCaps 2.0 numbers its rows anew. group_id = youtube_id, so that
`check` reports the same YouTube video in two splits. The audiocap_ids and the start time go to `extra`,
with the sound's length from its header (`audio_duration`; an M4A's from its MP4 audio stream, as soundfile
cannot read AAC).

Many videos are gone from YouTube: a clip whose sound no folder holds is left out and named in the errors
table (`file:line` of its first row, and the names looked for). Rows with an empty field, a start_time that
is not a number, a blank caption, an audiocap_id listed again, or a clip listed in another split too (the
first kept row, in train, val, test order, claims the clip; a blank caption claims nothing) are left out and
named `file:line`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmdata.corpora.base import (
    REPEATED_ENTRY,
    LoadProblem,
    LoadResult,
    given_image_dir,
    read_csv_rows,
    register_corpus,
    seconds_or_none,
)
from mmdata.corpora.media_captions import (
    MediaFolders,
    check_split,
    find_csv_dir,
    first_media_path,
    holds_file_with_suffix,
    media_pair,
    missing_media_problem,
    read_media_headers,
    repeated_entry_problem,
    require_captions_files,
    shown_path,
)
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.records import Sample

CORPUS = "audiocaps"
#: The splits, in the order that decides a clip listed in two of them.
SPLITS = ("train", "val", "test")
CAPTIONS_FILE = "{}.csv"
#: Where the CSVs sit: the root, the official repository's `dataset/`, `csv_files/`, aac-datasets' `AUDIOCAPS/`.
CSV_DIRS = ("", "dataset", "csv_files", "AUDIOCAPS")
COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")
#: Audio suffixes looked for, in order: aac-datasets writes FLAC, audiocaps-download Ogg Vorbis by default, else
#: WAV, MP3 or M4A (AAC in MP4, which `load_audio` decodes with PyAV). mmdata/media/audio.py's
#: SOUNDFILE_SUFFIXES has no M4A and no order, share/media.py's list is private to it: hence this one.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a")


@dataclass(frozen=True)
class AudioCapsOptions:
    #: Folder of train.csv, val.csv and test.csv, relative to the root (default: the root, else
    #: `dataset/`, `csv_files/`, `AUDIOCAPS/`).
    csv_dir: str | None = None
    #: Folder holding the train/, val/ and test/ audio folders, or the clips themselves (default: the root,
    #: `audio/`, `audio_<rate>Hz/` of the root and of the CSVs' folder).
    audio_dir: str | None = None
    #: Accept audio paths outside the corpus root (`../`, absolute, symlinks out).
    allow_outside_root: bool = False


@dataclass
class _Clip:
    """The rows of one clip read so far: where its first row is, its audiocap_ids and captions."""

    youtube_id: str
    start: str  # start_time as in the file names: `130`, `12.5`
    seconds: float
    where: str
    lines: list[int] = field(default_factory=list)
    audiocap_ids: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)

    @property
    def sample_id(self) -> str:
        return f"{self.youtube_id}_{self.start}"


@dataclass
class _Loading:
    """What the splits read so far leave for the next: the clips and audiocap_ids taken by kept rows (and where),
    and every clip the rows name per YouTube video (two or more make the video's start-less file names ambiguous)."""

    result: LoadResult = field(default_factory=lambda: LoadResult(samples=[]))
    clip_at: dict[str, tuple[str, str]] = field(default_factory=dict)  # sample id -> (`file:line`, split)
    caption_at: dict[str, str] = field(default_factory=dict)  # audiocap_id -> `file:line`
    video_clips: dict[str, dict[str, None]] = field(default_factory=dict)  # youtube_id -> sample ids, in file order

    def clips_sharing_video(self, clip: _Clip) -> list[str]:
        """The clips (sample ids) of `clip`'s video when the CSVs name more than one, else none."""
        clips = list(self.video_clips.get(clip.youtube_id, ()))
        return clips if len(clips) > 1 else []


@register_corpus(CORPUS, AudioCapsOptions)
def load_audiocaps(corpus_dir: Path, options: AudioCapsOptions, split: str | None) -> LoadResult:
    """AudioCaps (`train.csv`, `val.csv`, `test.csv` + 10 s clips), one sample per clip with its captions.

    `split`: none or `all` for every split whose CSV is there; `train`, `val` or `test` for one.

    Example:
        >>> result = load_audiocaps(Path("/data/audiocaps"), AudioCapsOptions(), "val")
        >>> result.samples[0].sample_id, len(result.samples[0].captions)
        ('--BfvyPmVMo_20', 5)

    Raises:
        CorpusNotFoundError: no CSV (or none of the split asked), or no audio folder for a split loaded.
        CorpusFormatError: a header without the four columns, or a row with another number of fields, named
            `file:line`.
        ConfigError: an unknown split (`validation`: pass `val`).
    """
    wanted = check_split(split, SPLITS, {"validation": "val", "valid": "val", "evaluation": "test"}, "AudioCaps")
    file_names = {s: CAPTIONS_FILE.format(s) for s in SPLITS}
    csv_dir = find_csv_dir(corpus_dir, options.csv_dir, CSV_DIRS, file_names.values())
    files = {s: csv_dir / name for s, name in file_names.items() if (csv_dir / name).is_file()}
    require_captions_files(corpus_dir, csv_dir, files, corpus="AudioCaps", file_names=file_names, folders=CSV_DIRS,
                           wanted=wanted)
    loading = _Loading()
    # Every split is read before any clip is looked for: a video's clips in later splits decide its file names.
    clips = {name: _read_split(path, name, loaded=wanted in (None, name), loading=loading)
             for name, path in files.items()}
    for name, split_clips in clips.items():
        if wanted in (None, name) and split_clips:  # no clip there, no folder needed
            folders = _audio_folders(corpus_dir, csv_dir, options.audio_dir, name)
            _add_samples(corpus_dir, options, folders, name, split_clips, loading)
    loading.result.metadata = {"captions_files": {s: shown_path(corpus_dir, p) for s, p in files.items()}}
    return loading.result


def _read_split(path: Path, split: str, *, loaded: bool, loading: _Loading) -> list[_Clip]:
    """The clips of one split's CSV with a kept row, captions grouped in file order. Every split is read, so
    that a clip another split lists too is found whatever split is asked; only a `loaded` split's problems
    are recorded. A blank caption is checked first: only a kept row claims its clip for its split."""
    header, rows = read_csv_rows(path)
    _check_header(path, header)
    clips: dict[str, _Clip] = {}
    problems = loading.result.problems if loaded else []
    for line, row in rows:
        where = f"{path}:{line}"
        clip = _row_clip(row, where, problems)
        if clip is None:
            continue
        loading.video_clips.setdefault(clip.youtube_id, {})[clip.sample_id] = None
        if not row["caption"]:
            problems.append(LoadProblem(clip.sample_id, where, f"blank caption (audiocap_id {row['audiocap_id']}); "
                                        "row left out"))
            continue
        if _repeated(row["audiocap_id"], clip, split, where, loading, problems):
            continue
        clip = clips.setdefault(clip.sample_id, clip)
        clip.lines.append(line)
        clip.audiocap_ids.append(row["audiocap_id"])
        clip.captions.append(row["caption"])
    return list(clips.values())


def _row_clip(row: dict[str, str], where: str, problems: list[LoadProblem]) -> _Clip | None:
    """The clip a row names, or None (its problem recorded) when a field is empty or start_time is no
    number of seconds."""
    empty = [c for c in ("audiocap_id", "youtube_id", "start_time") if not row[c]]
    youtube_id = row["youtube_id"]
    if empty or "/" in youtube_id:
        what = f"empty {', '.join(empty)}" if empty else f"youtube_id {youtube_id!r} holds a '/'"
        problems.append(LoadProblem(youtube_id or None, where, f"{what}; expected {','.join(COLUMNS)} values; "
                                    "row left out"))
        return None
    seconds = seconds_or_none(row["start_time"])
    if seconds is None:
        problems.append(LoadProblem(youtube_id, where, f"start_time {row['start_time']!r} is not a number of "
                                    "seconds (expected e.g. 130); row left out"))
        return None
    start = str(int(seconds)) if seconds.is_integer() else repr(seconds)
    return _Clip(youtube_id, start, seconds, where)


def _repeated(audiocap_id: str, clip: _Clip, split: str, where: str, loading: _Loading,
              problems: list[LoadProblem]) -> bool:
    """Whether the row repeats an audiocap_id, or names a clip another split listed first (its problem
    recorded); else the row's ids are taken."""
    first = loading.caption_at.get(audiocap_id)
    if first is not None:
        problems.append(repeated_entry_problem(clip.sample_id, where, f"audiocap_id {audiocap_id}", "again", first,
                                               "row"))
        return True
    loading.caption_at[audiocap_id] = where
    taken = loading.clip_at.setdefault(clip.sample_id, (where, split))
    if taken[1] != split:
        problems.append(LoadProblem(clip.sample_id, where, f"clip {clip.sample_id} is in split {taken[1]!r} too "
                                    f"(first at {taken[0]}), a leak between them; row left out", REPEATED_ENTRY))
        return True
    return False


def _add_samples(corpus_dir: Path, options: AudioCapsOptions, folders: MediaFolders, split: str,
                 clips: list[_Clip], loading: _Loading) -> None:
    """A sample per clip whose sound is found; a clip without one is named at its first row. Every clip's sound
    is found first, then the sounds' headers are read together (`read_media_headers`: on threads where
    `MMDATA_HEADER_THREADS` says so), then the samples are made in the clips' order."""
    result = loading.result
    located = [(clip, *_find_audio(corpus_dir, options, folders, clip, loading)) for clip in clips]
    headers = iter(read_media_headers([media_pair(corpus_dir, None, audio) for _, audio, _, _ in located
                                       if audio is not None]))
    for clip, audio, stems, sharing in located:
        if audio is None:
            result.problems.append(_missing_audio(corpus_dir, folders, clip, stems, sharing))
            continue
        result.samples.append(Sample(
            sample_id=clip.sample_id, corpus=CORPUS, split=split, group_id=clip.youtube_id, audio=audio,
            captions=tuple(clip.captions),
            extra={"youtube_id": clip.youtube_id, "start_time": int(clip.seconds) if clip.seconds.is_integer()
                   else clip.seconds, "audiocap_ids": clip.audiocap_ids, **next(headers)}))


def _find_audio(corpus_dir: Path, options: AudioCapsOptions, folders: MediaFolders, clip: _Clip,
                loading: _Loading) -> tuple[str | None, list[str], list[str]]:
    """(the path of the clip's sound, the first of its names a folder holds, else None; those names' stems
    (`_audio_stems`); the other clips of its video, `_Loading.clips_sharing_video`, which a refusal names)."""
    sharing = loading.clips_sharing_video(clip)
    stems = _audio_stems(clip, video_names=not sharing)
    names = [stem + suffix for stem in stems for suffix in AUDIO_SUFFIXES]
    audio = first_media_path(corpus_dir, folders, names, where=clip.where, allow_outside=options.allow_outside_root)
    return audio, stems, sharing


def _audio_stems(clip: _Clip, *, video_names: bool) -> list[str]:
    """The file names (without suffix) a clip's sound may have, in the order looked for; the start-less
    `Y{youtube_id}` and `{youtube_id}` only with `video_names` (the video has no other clip in the CSVs:
    else such a file could be any of its clips)."""
    video = [f"Y{clip.youtube_id}", clip.youtube_id] if video_names else []
    return list(dict.fromkeys([clip.sample_id, *video, *clip.audiocap_ids]))


def _missing_audio(corpus_dir: Path, folders: MediaFolders, clip: _Clip, stems: list[str],
                   sharing: list[str]) -> LoadProblem:
    """The problem of a clip no folder holds: the first name looked for (and what is there instead), the
    other names, why the start-less names were not (`sharing`: the clips of its video), and the lines of
    the clip's rows, all left out."""
    others = f"{', '.join(stems)} as {'/'.join(AUDIO_SUFFIXES)}"
    if sharing:
        others += (f"; not for Y{clip.youtube_id} or {clip.youtube_id}: video {clip.youtube_id} has "
                   f"{len(sharing)} clips in the CSVs ({', '.join(sharing)}), so a start-less name is ambiguous "
                   f"for it (name the file {clip.sample_id}{AUDIO_SUFFIXES[0]}, as aac-datasets does)")
    lines = ", ".join(map(str, clip.lines))
    rows = f"its {len(clip.lines)} rows (lines {lines})" if len(clip.lines) > 1 else "row"
    return missing_media_problem(corpus_dir, folders, stems[0] + AUDIO_SUFFIXES[0], clip.sample_id, clip.where,
                                 "audio", also=others, left_out=rows)


def _check_header(path: Path, header: list[str]) -> None:
    """Raises CorpusFormatError: a header without the four AudioCaps columns, at `file:1`."""
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CorpusFormatError(
            f"{path}:1: expected the header '{','.join(COLUMNS)}', got {','.join(header)[:120]!r} (no "
            f"{', '.join(missing)}); is this an AudioCaps captions file?")


def _audio_parents(corpus_dir: Path, csv_dir: Path) -> list[str]:
    """The folders that may hold the split folders or the clips (relative to the root, "" for it; absolute
    under an absolute csv_dir outside it): the root, `audio/` and `audio_<rate>Hz/` (aac-datasets) of the
    root and then of the CSVs' folder."""
    csv_folder = csv_dir.relative_to(corpus_dir) if csv_dir.is_relative_to(corpus_dir) else csv_dir
    parents: list[Path] = []
    for base in dict.fromkeys([Path(), csv_folder]):
        rates = sorted(p.name for p in (corpus_dir / base).glob("audio_*Hz") if p.is_dir())
        parents += [base, *(base / d for d in ("audio", *rates))]
    return list(dict.fromkeys("" if p == Path() else p.as_posix() for p in parents))


def _audio_folders(corpus_dir: Path, csv_dir: Path, audio_dir: str | None, split: str) -> MediaFolders:
    """The folders split `split`'s clips are looked for in: `<parent>/<split>/` of each parent, then the
    parents themselves (one folder of every clip), the root last.

    Raises:
        CorpusNotFoundError: none of these folders is there (and the root holds no audio file).
        OSError: the root cannot be listed (not readable), which the command line reports with its path.
    """
    parents = [given_image_dir(audio_dir)] if audio_dir is not None else _audio_parents(corpus_dir, csv_dir)
    split_folders = [(Path(p) / split).as_posix() for p in parents]
    shared = [p for p in parents if p] + ([""] if "" in parents else [])
    found = [f for f in split_folders + shared if f and (corpus_dir / f).is_dir()]
    if "" in parents and holds_file_with_suffix(corpus_dir, AUDIO_SUFFIXES):
        found.append("")
    if not found:
        looked = ", ".join(f"{corpus_dir / f}/" for f in split_folders + [p for p in shared if p])
        raise CorpusNotFoundError(
            f"no AudioCaps audio folder for split {split!r} (looked for {looked}"
            + (" and audio files in the root" if "" in parents else "")
            + "); option audio_dir names the folder holding train/, val/, test/ or the clips, "
            "or pass --split to load another split")
    return MediaFolders(corpus_dir, found)
