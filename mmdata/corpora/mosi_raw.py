"""Raw segmented sentiment corpora (kind `mosi-raw`): audio/video clips or whole recordings with
segment times, transcripts, labels, optional word timings and folds.

Layout "cmu" (the CMU-MOSI raw release; chosen when `Raw/` exists):
    Raw/Audio/WAV_16000/Segmented/<vid>_<k>.wav      # k = 1-based segment number; <vid> may hold '_'
    Raw/Video/Segmented/<vid>_<k>.mp4
    Raw/Transcript/Segmented/<vid>.annotprocessed    # one line per segment:
        3_DELIM_i thought it was pretty good
    labels.csv (or Labels/OpinionLevelSentiment.csv, or the option labels_file), parsed by header:
        segment_id,label            (segment_id = <vid>_<k>)
     or video_id,segment,label
        (further columns of numbers, e.g. MOSEI's happy,sad,anger,surprise,disgust,fear, are kept in
        `extra` by name and named in the loader metadata, `label_names`, for `mmdata fuse --labels`)
     or the SDK's label sequence (CMU_MOSI_Opinion_Labels.csd in the root, or labels_file=<path>.csd):
        data/<vid>/features (n_seg, 1) sentiment, data/<vid>/intervals (n_seg, 2) seconds in the full video
  One sample per segment found in any of these (a segment needs a WAV or an MP4): sample_id
  `<vid>_<k>`, group_id `<vid>`, whole clips (start/end null), `extra.sdk_key` = `<vid>[<k-1>]`, the
  key the CMU-MultimodalSDK gives that segment after alignment, `extra.audio_duration` /
  `extra.video_duration` = the lengths of its WAV and MP4 (from their headers; `check` measures the
  clip's audio and video tables against them). A clip with an MP4 but no WAV takes
  its audio from the MP4's audio track, unless other clips of its video have WAVs: then the WAV is
  missing, a load problem, and the sample keeps the missing WAV as its audio (audio extractors fail
  it, naming the file).
  With the SDK's label file, clip k takes row k-1 of key `<vid>` (or the row of key `<vid>[k-1]` in a
  file the SDK aligned): its label (all values in `extra.labels` when there are several) and its
  place in the full video as `extra.video_start` / `extra.video_end`. Those stay out of start/end on
  purpose: start/end cut a sample out of its media file, and a clip's file already is the segment,
  so its features keep clip-relative times (`export-csd --keys sdk` shifts them by video_start).
  A clip without a label row (in the CSV or the .csd), or of a video missing from the file, is a
  load problem (label null).
  Clip numbers may carry leading zeros (`<vid>_01` is clip 1 in file names, transcript lines and
  label ids alike); a second file, transcript line or label row for one clip is a load problem, and
  the first one stays.

Layout "mosei" (the CMU-MOSEI raw release; chosen when `Raw/Transcript/Segmented/Combined` exists):
    Raw/Transcript/Segmented/Combined/<vid>.txt      # one line per segment, times in seconds:
        <vid>___<k>___<start>___<end>___<text>
    Raw/Audio/Full/**/<vid>.wav, Raw/Video*/Full/**/<vid>.mp4   # whole recordings (not segmented)
  One sample per transcript line: sample_id `<vid>_<k>`, the segment cut from the full recording by
  start/end (a recording with an MP4 but no WAV, while others have WAVs, is a load problem, as in
  "cmu"). MOSEI's raw labels are per-annotator AMT output, so labels come from a CSV of one's own:
  `labels.csv` in the root or the option labels_file (same CSV formats as "cmu"); without one they
  stay null (a warning, not an error).

Layout "generic" (chosen when `segments.csv` exists): one row per segment, parsed by header:
    segment_id,video_id,audio,video,start,end,text,label,split
    v1_1,v1,audio/v1.wav,video/v1.mp4,0.00,4.52,this movie was great,2.4,train
  Only `segment_id` and one of `audio`/`video` are required (a row may have either or both);
  `start`/`end` (seconds, or `start_ms`/`end_ms` in milliseconds) cut segments out of whole
  recordings; other columns go to `extra`. group_id is `video_id`, else the row's audio (else
  video) path, so segments of one recording never land in different groups; folds and `split`
  still go by `video_id` (default: the segment id).

Both layouts, optional:
  - `words.csv` (or the option words_file): `segment_id,word,start,end`, seconds of the segment's
    media file, filling `extra.words` = [[word, start, end], ...] for `word-embeddings` and alignment;
    for a segment cut from a whole recording (start/end), words lying outside it (e.g. times counted
    from the segment's beginning) are a load problem of that segment, and left out;
  - `folds.json` (or the option folds_file): {"train": [vid, ...], "valid": [...], "test": [...]},
    or the SDK's `cmu_mosi_std_folds.py` (`standard_train_fold = [...]`, read with `ast`, never run),
    video ids per split (the standard MOSI folds are 52/10/31 videos); when present it sets every
    split (over a `split` column), and videos in no fold get split "unassigned". Without folds
    (and without a split column) every sample is in split "all".

The layouts "cmu" and "mosei" are the raw releases of CMU-MOSI and CMU-MOSEI, so the manifest
records dataset cmu-mosi / cmu-mosei (`extra.loader.dataset`, unless the option `dataset` names
another): the corpus whose label range ([-3, 3]) applies.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mmdata.corpora.base import (
    LoadProblem,
    LoadResult,
    expect,
    parse_number,
    read_csv_rows,
    read_text,
    register_corpus,
    require_file,
    safe_relative_path,
)
from mmdata.corpora.csd_labels import auxiliary_labels
from mmdata.corpora.mosi_sdk_labels import attach_sdk_labels, clip_id
from mmdata.errors import ConfigError, CorpusNotFoundError
from mmdata.formats.csd import CSD_SUFFIX
from mmdata.formats.folds import read_folds, report_fold_coverage, resolve_folds_path
from mmdata.records import DURATION_KEYS, MODALITY_DURATION_KEYS, START_KEYS, Sample, spoken_transcript

log = logging.getLogger(__name__)

CORPUS = "mosi-raw"
CMU_AUDIO_DIR = "Raw/Audio/WAV_16000/Segmented"
CMU_VIDEO_DIR = "Raw/Video/Segmented"
CMU_TRANSCRIPT_DIR = "Raw/Transcript/Segmented"
CMU_LABEL_FILES = ("labels.csv", "Labels/OpinionLevelSentiment.csv", "CMU_MOSI_Opinion_Labels.csd")
# MOSEI's raw release has no segment labels (Raw/Labels holds per-annotator AMT output): only a CSV of one's own.
MOSEI_LABEL_FILES = ("labels.csv",)
SEGMENTS_FILE = "segments.csv"
WORDS_FILE = "words.csv"
FOLDS_FILE = "folds.json"
UNASSIGNED = "unassigned"
MOSEI_TRANSCRIPT_DIR = "Raw/Transcript/Segmented/Combined"
MOSEI_AUDIO_GLOB = "Raw/Audio/Full/**/*.wav"
MOSEI_VIDEO_GLOB = "Raw/Video*/Full/**/*.mp4"
Layout = Literal["auto", "cmu", "mosei", "generic"]
# The corpus each raw release layout is (the `dataset` that sets the label range `check` enforces).
LAYOUT_DATASETS = {"cmu": "cmu-mosi", "mosei": "cmu-mosei"}


@dataclass(frozen=True)
class MosiRawOptions:
    #: 'cmu' (MOSI Raw/...), 'mosei' (MOSEI Raw/...), 'generic' (segments.csv) or 'auto' (whichever exists).
    layout: Layout = "auto"
    #: Label CSV, or the SDK's label sequence (*.csd, cmu layout), relative to the root or absolute;
    #: default: labels.csv, then Labels/OpinionLevelSentiment.csv, then CMU_MOSI_Opinion_Labels.csd.
    labels_file: str | None = None
    #: Fail when the cmu layout has no label file (false: labels stay null).
    require_labels: bool = True
    words_file: str | None = None
    #: Folds: JSON {split: [video ids]} or the SDK's *_std_folds.py; absolute, relative to the current
    #: directory, else to the root (default: folds.json in the root).
    folds_file: str | None = None
    allow_outside_root: bool = False
    #: Which corpus this is (cmu-mosi, cmu-mosei, ch-sims, ...): sets the label range `mmdata check` enforces.
    dataset: str | None = None


@dataclass
class _Segment:
    video_id: str
    number: int | None = None
    audio: str | None = None
    video: str | None = None
    start: float | None = None
    end: float | None = None
    transcript: str | None = None
    label: float | None = None
    split: str | None = None
    group_id: str | None = None  # default: video_id
    transcript_from_words: bool = False  # a segments.csv without a text column: the words say what was said
    extra: dict[str, Any] = field(default_factory=dict)


@register_corpus(CORPUS, MosiRawOptions)
def load_mosi_raw(corpus_dir: Path, options: MosiRawOptions, split: str | None) -> LoadResult:
    """Raw segmented sentiment corpus: CMU-MOSI `Raw/` release or a generic `segments.csv`."""
    result = LoadResult(samples=[])
    layout = _detect_layout(corpus_dir, options.layout)
    if layout == "cmu":
        segments = _read_cmu(corpus_dir, options, result)
    elif layout == "mosei":
        segments = _read_mosei(corpus_dir, options, result)
    else:
        segments = _read_generic(corpus_dir, options, result)
    if _attach_words(corpus_dir, options, segments, result):
        _transcripts_from_words(segments)
    _assign_folds(corpus_dir, options, segments)
    for sample_id in sorted(segments):
        seg = segments[sample_id]
        seg_split = seg.split or "all"
        if split is not None and seg_split != split:
            continue
        result.samples.append(Sample(
            sample_id=sample_id, corpus=CORPUS, split=seg_split, group_id=seg.group_id or seg.video_id, audio=seg.audio,
            video=seg.video, start=seg.start, end=seg.end, transcript=seg.transcript, label=seg.label,
            extra=seg.extra,
        ))
    dataset = options.dataset or LAYOUT_DATASETS.get(layout)
    if dataset:
        result.metadata["dataset"] = dataset
    return result


def _detect_layout(corpus_dir: Path, layout: Layout) -> str:
    if layout != "auto":
        return layout
    if (corpus_dir / MOSEI_TRANSCRIPT_DIR).is_dir():
        return "mosei"
    if (corpus_dir / "Raw").is_dir():
        return "cmu"
    if (corpus_dir / SEGMENTS_FILE).is_file():
        return "generic"
    raise CorpusNotFoundError(
        f"{corpus_dir}: neither a CMU raw layout (Raw/Audio/WAV_16000/Segmented, ...) nor {SEGMENTS_FILE} found; "
        "see `mmdata.corpora.mosi_raw` for the accepted layouts"
    )


# --- layout "cmu" ------------------------------------------------------------------------------


def _read_cmu(corpus_dir: Path, options: MosiRawOptions, result: LoadResult) -> dict[str, _Segment]:
    segments: dict[str, _Segment] = {}
    for folder, suffix, attr in ((CMU_AUDIO_DIR, ".wav", "audio"), (CMU_VIDEO_DIR, ".mp4", "video")):
        for path in sorted((corpus_dir / folder).glob(f"*{suffix}")):
            parsed = _parse_segment_name(path.stem)
            if parsed is None:
                result.problems.append(LoadProblem(None, str(path), "file name is not <video_id>_<k>; ignored"))
                continue
            seg = segments.setdefault(clip_id(*parsed), _Segment(*parsed))
            relative = path.relative_to(corpus_dir).as_posix()
            if getattr(seg, attr) is not None:  # `<vid>_1` and `<vid>_01`: one clip number, two files
                result.problems.append(LoadProblem(clip_id(*parsed), relative, (
                    f"second {suffix} file for clip {parsed[1]} of video {parsed[0]!r} (first: {getattr(seg, attr)}); "
                    "ignored; keep one file per clip")))
                continue
            setattr(seg, attr, relative)
    if not segments:
        raise CorpusNotFoundError(
            f"{corpus_dir}: no segment clips found in {CMU_AUDIO_DIR}/*.wav or {CMU_VIDEO_DIR}/*.mp4"
        )
    _flag_missing_clip_wavs(corpus_dir, segments, result)
    transcripts = _read_transcripts(corpus_dir / CMU_TRANSCRIPT_DIR, result)
    for sample_id, (text, where) in transcripts.items():
        if sample_id in segments:
            segments[sample_id].transcript = text
        else:
            result.problems.append(LoadProblem(sample_id, where, "transcript line without a WAV or MP4 clip; dropped"))
    for seg in segments.values():
        seg.extra["sdk_key"] = f"{seg.video_id}[{seg.number - 1}]"
        seg.extra["segment"] = seg.number
    _record_clip_durations(corpus_dir, segments)
    label_path = _label_file(corpus_dir, options)
    if label_path is not None and label_path.suffix.lower() == CSD_SUFFIX:
        attach_sdk_labels(label_path, segments, result, dataset=options.dataset)
        return segments
    if label_path is None:
        return segments
    labelled = _read_cmu_labels(label_path, result)
    for sample_id, (label, where, further) in labelled.items():
        if sample_id in segments:
            segments[sample_id].label = label
            segments[sample_id].extra.update(further)
        else:
            result.problems.append(LoadProblem(sample_id, where, "label without a WAV or MP4 clip; dropped"))
    _report_unlabelled_clips(label_path, segments, labelled, result)
    return segments


def _report_unlabelled_clips(label_path: Path, segments: dict[str, _Segment], labelled: dict[str, Any],
                             result: LoadResult) -> None:
    """A clip the label CSV has no row for is a load problem (its label stays null), as a clip without
    a row in the SDK's label sequence is (`mosi_sdk_labels.attach_sdk_labels`)."""
    for sample_id in sorted(set(segments) - set(labelled)):
        seg = segments[sample_id]
        result.problems.append(LoadProblem(sample_id, str(label_path), (
            f"no label row for clip {seg.number} of video {seg.video_id!r} in {label_path.name}; expected a row "
            f"'{sample_id},<label>' (segment_id,label) or '{seg.video_id},{seg.number},<label>' "
            "(video_id,segment,label); label stays null")))


def _record_clip_durations(corpus_dir: Path, segments: dict[str, _Segment]) -> None:
    """`extra.audio_duration` (from the WAV's header) and `extra.video_duration` (from the MP4's video
    stream) of each clip, in seconds, so that `check` can hold whole clips' frames and intervals
    against the length of their own medium (the cmu layout gives no segment times, and a clip's MP4
    may run a frame or two past its WAV). A file whose header cannot be read gets none: extractors
    fail that clip, naming the file."""
    for seg in segments.values():
        _record_media_spans(corpus_dir, seg)


def _record_media_spans(corpus_dir: Path, seg: _Segment) -> None:
    """`extra.audio_duration` / `extra.video_duration` (and a late stream's media start) of one
    segment that is a whole media file, read from the files' headers only (no decoding)."""
    if seg.audio is not None:
        _record_wav_duration(corpus_dir / seg.audio, seg.extra)
    if seg.video is not None:
        _record_video_span(corpus_dir / seg.video, seg.extra)
        if seg.audio is None:  # its audio is the MP4's track
            _record_mp4_audio_span(corpus_dir / seg.video, seg.extra)


def _record_wav_duration(path: Path, extra: dict[str, Any]) -> None:
    """`extra.audio_duration` from the audio file's header (soundfile.info); none when it cannot be read."""
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError):  # soundfile.LibsndfileError is a RuntimeError
        return
    if info.samplerate > 0 and info.frames > 0:
        extra[MODALITY_DURATION_KEYS["audio"]] = round(info.frames / info.samplerate, 6)


def _record_video_span(path: Path, extra: dict[str, Any]) -> None:
    """`extra.video_duration`, and `extra.video_media_start` where the MP4's video stream starts
    after 0 (an edit list, a TS offset): its frames' intervals are in the file's time line, so
    `check` holds a whole clip to [start, start + duration], not [0, duration]."""
    from mmdata.media.video import video_duration

    end = video_duration(path)
    if end is None:
        return
    start = _video_stream_start(path)
    if start > 0 and end > start:
        extra[START_KEYS[MODALITY_DURATION_KEYS["video"]]] = round(start, 6)
        end -= start
    extra[MODALITY_DURATION_KEYS["video"]] = round(end, 6)


def _record_mp4_audio_span(path: Path, extra: dict[str, Any]) -> None:
    """`extra.audio_duration` (and `extra.audio_media_start` when after 0) of a clip whose audio is its
    MP4's first audio track, from the stream's header; none when the header states no duration."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0] if container.streams.audio else None
            if stream is None or not stream.duration or not stream.time_base:
                return
            start = max(float((stream.start_time or 0) * stream.time_base), 0.0)
            duration = float(stream.duration * stream.time_base)
    except (av.FFmpegError, ValueError, OSError):
        return
    if start > 0:
        extra[START_KEYS[MODALITY_DURATION_KEYS["audio"]]] = round(start, 6)
    extra[MODALITY_DURATION_KEYS["audio"]] = round(duration, 6)


def _video_stream_start(path: Path) -> float:
    """Where the file's video stream (the one extractors read) starts, in seconds; 0 when unstated."""
    import av

    from mmdata.media.video import choose_video_stream

    try:
        with av.open(str(path)) as container:
            stream = choose_video_stream(container, path)
            if stream.start_time is None or not stream.time_base:
                return 0.0
            return max(float(stream.start_time * stream.time_base), 0.0)
    except (av.FFmpegError, ValueError, OSError):
        return 0.0


def _flag_missing_clip_wavs(corpus_dir: Path, segments: dict[str, _Segment], result: LoadResult) -> None:
    """A clip without its WAV, of a video whose other clips have one, is a load problem.

    Its audio path stays the missing WAV, so audio extractors fail the sample naming that file
    instead of reading the MP4's audio track (another recording: mixing the two in one table would
    go unnoticed). The sample is kept for its video and transcript. A video with no WAV at all
    (an MP4-only clip set) keeps taking its audio from the MP4s.
    """
    with_wavs = {seg.video_id for seg in segments.values() if seg.audio is not None}
    for sample_id in sorted(segments):
        seg = segments[sample_id]
        if seg.audio is not None or seg.video_id not in with_wavs:
            continue
        seg.audio = f"{CMU_AUDIO_DIR}/{Path(str(seg.video)).stem}.wav"  # the MP4's name, zero padding included
        result.problems.append(_missing_wav(corpus_dir, sample_id, seg, f"the other clips of video {seg.video_id!r} have one"))


def _missing_wav(corpus_dir: Path, sample_id: str, seg: _Segment, why: str) -> LoadProblem:
    return LoadProblem(sample_id, str(corpus_dir / str(seg.audio)), (
        f"WAV file not found: {seg.audio} ({why}); sample kept with that audio path, so audio extractors "
        f"fail it instead of reading the audio track of {seg.video}; restore the WAV"))


def _read_transcripts(folder: Path, result: LoadResult) -> dict[str, tuple[str, str]]:
    """clip id -> (its transcript, `Raw/Transcript/Segmented/<file>:<line>` where it was read).

    A second line for the same clip (`3_DELIM_...` twice, or `3` and `03`) is a load problem; the first stays.
    """
    out: dict[str, tuple[str, str]] = {}
    for path in sorted(folder.glob("*.annotprocessed")):
        for number, line in enumerate(read_text(path).splitlines(), start=1):
            if not line.strip():
                continue
            k, sep, text = line.partition("_DELIM_")
            expect(bool(sep) and _is_number(k.strip()), f"{path}:{number}", f"expected '<k>_DELIM_<text>', got {line[:80]!r}")
            sample_id, where = clip_id(path.stem, int(k)), f"{CMU_TRANSCRIPT_DIR}/{path.name}:{number}"
            if sample_id in out:
                result.problems.append(LoadProblem(sample_id, where, (
                    f"second transcript line for clip {int(k)} (first at line {out[sample_id][1].rpartition(':')[2]}); "
                    "ignored")))
                continue
            out[sample_id] = (text.strip(), where)
    return out


def _label_file(corpus_dir: Path, options: MosiRawOptions, defaults: tuple[str, ...] = CMU_LABEL_FILES,
                required: bool = True) -> Path | None:
    """The label file: the option labels_file, else the first of `defaults` in the root. None (with a
    warning) when there is none and labels are not `required` (nor `options.require_labels`)."""
    candidates = (options.labels_file,) if options.labels_file else defaults
    path = next((corpus_dir / c for c in candidates if (corpus_dir / c).is_file()), None)
    if path is None:
        if options.labels_file or (options.require_labels and required):
            raise CorpusNotFoundError(
                f"{corpus_dir}: no label file ({', '.join(candidates)}); expected a CSV with a header "
                "'segment_id,label' or 'video_id,segment,label', or the SDK's CMU_MOSI_Opinion_Labels.csd; "
                "pass labels_file=..., or require_labels=false"
            )
        log.warning("%s: no label file (%s); labels stay null; pass labels_file=PATH to name one",
                    corpus_dir, ", ".join(candidates))
    return path


#: Columns of a labels CSV that say which clip a row labels, and its main label.
_LABEL_KEY_COLUMNS = ("segment_id", "video_id", "segment", "label")
#: `extra` keys this loader sets itself: a labels CSV column of such a name is not a further label.
#: (the duration keys among them: `check` reads a clip's length there).
_RESERVED_EXTRA = ("labels", "sdk_key", "segment", "video_start", "video_end", "words", *DURATION_KEYS,
                   *MODALITY_DURATION_KEYS.values())


def _read_cmu_labels(path: Path, result: LoadResult) -> dict[str, tuple[float, str, dict[str, float]]]:
    """clip id -> (label, `file:line`, further labels). A `segment_id` is read as `<vid>_<k>` (so
    `vid_01` is clip `vid_1`, as its file name is); a second row for the same clip is a load problem,
    the first stays. Further columns whose every value is a number (or empty), e.g. MOSEI's emotions
    `happy,sad,...`, are further labels, kept in `extra` by their column names and named in the loader
    metadata (`label_names`, for `mmdata fuse --labels`); other columns are left out with a warning."""
    header, rows = read_csv_rows(path)
    by_segment = "segment_id" in header
    expect("label" in header and (by_segment or {"video_id", "segment"} <= set(header)), f"{path}:1",
           f"expected a header with 'segment_id,label' or 'video_id,segment,label', got {','.join(header)!r}")
    further = _numeric_columns(path, header, rows)
    out: dict[str, tuple[float, str, dict[str, float]]] = {}
    for line, row in rows:
        where = f"{path}:{line}"
        if by_segment:
            parsed = _parse_segment_name(row["segment_id"])
            sample_id = clip_id(*parsed) if parsed else row["segment_id"]
        else:
            expect(_is_number(row["segment"]), where, f"expected a 1-based segment number, got {row['segment']!r}")
            sample_id = clip_id(row["video_id"], int(row["segment"]))
        label = parse_number(row["label"], where, "label", required=True)
        if sample_id in out:
            result.problems.append(LoadProblem(sample_id, where, (
                f"second label row for {sample_id!r} (first at {out[sample_id][1]}); ignored")))
            continue
        values = {c: parse_number(row[c].strip(), where, c) for c in further if (row.get(c) or "").strip()}
        out[sample_id] = (label, where, values)
    if further:
        result.metadata.update(auxiliary_labels(further, {c: [c] for c in further}))
    return out


def _numeric_columns(path: Path, header: list[str], rows: list[tuple[int, dict[str, str]]]) -> list[str]:
    """The further columns of a labels CSV whose every value is a number or empty (a warning names the others)."""
    numeric, other = [], []
    for column in header:
        if column in _LABEL_KEY_COLUMNS or column in _RESERVED_EXTRA:
            continue
        values = [(row.get(column) or "").strip() for _, row in rows]
        (numeric if all(not v or _is_float(v) for v in values) else other).append(column)
    if other:
        log.warning("%s: columns %s hold values that are no numbers: not kept as labels", path, other)
    return numeric


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_segment_name(stem: str) -> tuple[str, int] | None:
    video_id, sep, k = stem.rpartition("_")
    if not sep or not video_id or not _is_number(k) or int(k) < 1:
        return None
    return video_id, int(k)


def _is_number(text: str) -> bool:
    """ASCII digits only (`str.isdigit` also accepts '²', which `int` refuses)."""
    return text.isascii() and text.isdigit()


# --- layout "mosei" -----------------------------------------------------------------------------


def _read_mosei(corpus_dir: Path, options: MosiRawOptions, result: LoadResult) -> dict[str, _Segment]:
    media = {attr: {p.stem: p.relative_to(corpus_dir).as_posix() for p in sorted(corpus_dir.glob(pattern))}
             for attr, pattern in (("audio", MOSEI_AUDIO_GLOB), ("video", MOSEI_VIDEO_GLOB))}
    # Where the release keeps its WAVs (the most common folder), None without any.
    folders = [rel.rpartition("/")[0] for rel in media["audio"].values()]
    wav_dir = max(sorted(set(folders)), key=folders.count) if folders else None
    segments: dict[str, _Segment] = {}
    for path in sorted((corpus_dir / MOSEI_TRANSCRIPT_DIR).glob("*.txt")):
        for number, line in enumerate(read_text(path).splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            parts = line.split("___", 4)
            expect(len(parts) == 5 and _is_number(parts[1].strip()), where,
                   f"expected '<vid>___<k>___<start>___<end>___<text>', got {line[:80]!r}")
            video_id, k = parts[0].strip(), int(parts[1])
            start = parse_number(parts[2].strip(), where, "start", required=True)
            end = parse_number(parts[3].strip(), where, "end", required=True)
            sample_id = clip_id(video_id, k)
            if end <= start:
                result.problems.append(_empty_segment_problem(sample_id, where, start, end))
                continue
            if sample_id in segments:
                result.problems.append(LoadProblem(sample_id, where, "duplicate segment; the later line is ignored"))
                continue
            audio, video = media["audio"].get(video_id), media["video"].get(video_id)
            if audio is None and video is None:
                result.problems.append(LoadProblem(sample_id, where, f"no recording {video_id}.wav or {video_id}.mp4 "
                                                   "under Raw/Audio/Full or Raw/Video*/Full; segment dropped"))
                continue
            seg = _Segment(video_id, k, audio=audio, video=video, start=start, end=end,
                           transcript=parts[4].strip() or None, extra={"segment": k})
            if audio is None and wav_dir is not None:  # the release has WAVs, this recording's is missing
                seg.audio = f"{wav_dir}/{video_id}.wav"
                result.problems.append(_missing_wav(corpus_dir, sample_id, seg, "the other recordings have one"))
            segments[sample_id] = seg
    if not segments and not result.problems:
        raise CorpusNotFoundError(f"{corpus_dir}: no transcript lines in {MOSEI_TRANSCRIPT_DIR}/*.txt")
    label_path = _label_file(corpus_dir, options, defaults=MOSEI_LABEL_FILES, required=False)
    if label_path is not None and label_path.suffix.lower() == CSD_SUFFIX:
        # MOSEI's SDK labels are not numbered like the transcript lines, so row k-1 would be a guess.
        raise ConfigError(f"labels_file={options.labels_file!r}: an SDK label sequence (.csd) is read in the cmu "
                          "layout only; for CMU-MOSEI pass a CSV 'segment_id,label', or load the .csd files with "
                          "the csd corpus kind")
    for sample_id, (label, where, further) in (_read_cmu_labels(label_path, result) if label_path else {}).items():
        if sample_id in segments:
            segments[sample_id].label = label
            segments[sample_id].extra.update(further)
        else:
            result.problems.append(LoadProblem(sample_id, where, "label without a transcript segment; dropped"))
    return segments


# --- layout "generic" --------------------------------------------------------------------------

_GENERIC_COLUMNS = ("segment_id", "video_id", "audio", "video", "start", "end", "start_ms", "end_ms", "text", "transcript",
                    "label", "split")


def _read_generic(corpus_dir: Path, options: MosiRawOptions, result: LoadResult) -> dict[str, _Segment]:
    path = require_file(corpus_dir / SEGMENTS_FILE, "segment list", f"expected {SEGMENTS_FILE} with a header row")
    header, rows = read_csv_rows(path)
    expect("segment_id" in header and ("audio" in header or "video" in header), f"{path}:1",
           f"expected a header with segment_id and audio and/or video columns, got {','.join(header)!r}")
    both = [c for c in ("start", "end") if c in header and f"{c}_ms" in header]
    expect(not both, f"{path}:1", f"both {both[0] if both else ''} and {both[0] if both else ''}_ms columns; "
           "expected times in seconds (start,end) or in milliseconds (start_ms,end_ms), not both")
    from_words = "text" not in header and "transcript" not in header
    segments: dict[str, _Segment] = {}
    for line, row in rows:
        where = f"{path}:{line}"
        sample_id = row["segment_id"]
        expect(bool(sample_id), where, "empty segment_id")
        if sample_id in segments:
            result.problems.append(LoadProblem(sample_id, where, "duplicate segment_id; the later row is ignored"))
            continue
        media = {k: safe_relative_path(corpus_dir, row[k], where=where, allow_outside=options.allow_outside_root)
                 for k in ("audio", "video") if row.get(k)}
        expect(bool(media), where, "expected an audio or a video path")
        start, end = (_parse_time(row, c, where) for c in ("start", "end"))
        if start is not None and end is not None and end <= start:
            result.problems.append(_empty_segment_problem(sample_id, where, start, end))
            continue
        segments[sample_id] = _Segment(
            video_id=row.get("video_id") or sample_id, audio=media.get("audio"), video=media.get("video"),
            # Without a video_id, segments cut from one recording share its group (no leakage across splits).
            group_id=row.get("video_id") or media.get("audio") or media.get("video"),
            start=start, end=end, transcript=row.get("text") or row.get("transcript") or None,
            label=parse_number(row.get("label", ""), where, "label"), split=row.get("split") or None,
            transcript_from_words=from_words,
            extra={k: v for k, v in row.items() if k not in _GENERIC_COLUMNS and v != ""},
        )
    _record_recording_durations(corpus_dir, segments)
    return segments


def _record_recording_durations(corpus_dir: Path, segments: dict[str, _Segment]) -> None:
    """The media lengths of each row that is a whole recording (no start/end), as the cmu layout
    records its clips' (`_record_media_spans`): without them `segment` takes a video's end to be
    where its rows end (a word table stops at the last word, before the trailing silence) and
    `check` cannot hold whole recordings' tables against their media. A row that gives a duration
    of its own (a `duration` or `media_duration` column) keeps it, and gets none from the headers:
    the column wins."""
    for seg in segments.values():
        if seg.start is not None or seg.end is not None:
            continue  # a segment cut from a recording: start/end bound its tables
        if any(key in seg.extra for key in DURATION_KEYS):
            continue
        _record_media_spans(corpus_dir, seg)


def _transcripts_from_words(segments: dict[str, _Segment]) -> None:
    """Each segment's transcript from its timed words (`words.csv`), pause tokens (`sp`, ...) left
    out, for a segments.csv without a text column: the words are what was said, and `check` expects
    a transcript per segment. A segment words.csv gives no word was silent (a label segment lying in
    a pause): it gets an empty word list and no transcript, as `mmdata segment` makes such a
    segment, and `check` tells it from a lost transcript by that list."""
    for seg in segments.values():
        if seg.transcript_from_words:
            words = seg.extra.setdefault("words", [])
            seg.transcript = spoken_transcript(words)


def _empty_segment_problem(sample_id: str, where: str, start: float, end: float) -> LoadProblem:
    """The load problem of a segment that is empty or reversed (end <= start): that segment is left
    out and the others load, as the csd loader leaves out one such interval."""
    kind = "zero-length" if end == start else "reversed"
    return LoadProblem(sample_id, where, f"segment end {end} <= start {start} ({kind}); expected start < end; "
                       "segment left out, fix its start/end (seconds)")


def _parse_time(row: dict[str, str], column: str, where: str) -> float | None:
    """Seconds from the `start`/`end` column, or from `start_ms`/`end_ms` (milliseconds)."""
    if f"{column}_ms" in row:
        ms = parse_number(row[f"{column}_ms"], where, f"{column}_ms")
        return None if ms is None else ms / 1000.0
    return parse_number(row.get(column, ""), where, column)


# --- shared: word timings, folds ---------------------------------------------------------------


def _attach_words(corpus_dir: Path, options: MosiRawOptions, segments: dict[str, _Segment], result: LoadResult) -> bool:
    """`extra.words` of each segment from the word timings file; whether there is such a file."""
    path = corpus_dir / (options.words_file or WORDS_FILE)
    if not path.is_file():
        if options.words_file:
            raise CorpusNotFoundError(f"word timings file not found: {path}")
        return False
    header, rows = read_csv_rows(path)
    expect({"segment_id", "word", "start", "end"} <= set(header), f"{path}:1",
           f"expected a header with segment_id,word,start,end, got {','.join(header)!r}")
    words: dict[str, list[list[Any]]] = {}
    outside: dict[str, list[tuple[str, list[Any]]]] = {}  # segment -> (where, word) of its words outside it
    for line, row in rows:
        where = f"{path}:{line}"
        start = parse_number(row["start"], where, "start", required=True)
        end = parse_number(row["end"], where, "end", required=True)
        expect(0 <= start <= end, where, f"word start {start}, end {end}; expected 0 <= start <= end (seconds)")
        seg = segments.get(row["segment_id"])
        if seg is None:
            result.problems.append(LoadProblem(row["segment_id"], where, "word timing for an unknown segment; ignored"))
            continue
        if _outside_segment(seg, start, end):
            outside.setdefault(row["segment_id"], []).append((where, [row["word"], start, end]))
            continue
        words.setdefault(row["segment_id"], []).append([row["word"], start, end])
    for sample_id, entries in words.items():
        segments[sample_id].extra["words"] = sorted(entries, key=lambda w: w[1])
    for sample_id, misplaced in outside.items():
        result.problems.append(_words_outside(sample_id, segments[sample_id], misplaced))
    return True


#: Seconds a word may lie outside its segment and still belong to it (rounded times).
WORD_SLACK = 0.05


def _outside_segment(seg: _Segment, start: float, end: float) -> bool:
    """Whether a word timed [start, end] lies wholly outside the segment cut from its recording."""
    return ((seg.start is not None and end < seg.start - WORD_SLACK)
            or (seg.end is not None and start > seg.end + WORD_SLACK))


def _words_outside(sample_id: str, seg: _Segment, misplaced: list[tuple[str, list[Any]]]) -> LoadProblem:
    where, (word, start, end) = misplaced[0]
    span = f"[{seg.start or 0:g}, {'end' if seg.end is None else format(seg.end, 'g')}]"
    return LoadProblem(sample_id, where, (
        f"{len(misplaced)} word timing(s) of segment {sample_id!r} lie outside it ({span} s of "
        f"its recording; first: {word!r} at [{start:g}, {end:g}]); ignored; word times are seconds of the media "
        "file, the whole recording here: add the segment start to times measured from the segment's beginning"))


def _assign_folds(corpus_dir: Path, options: MosiRawOptions, segments: dict[str, _Segment]) -> None:
    if options.folds_file:
        path = resolve_folds_path(options.folds_file, corpus_dir)
    else:
        path = corpus_dir / FOLDS_FILE
        if not path.is_file():
            return
    fold_of = read_folds(path)
    for seg in segments.values():
        seg.split = fold_of.get(seg.video_id, UNASSIGNED)
    report_fold_coverage(path, fold_of, {seg.video_id for seg in segments.values()})
