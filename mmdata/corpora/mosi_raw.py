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

This module holds the options, the loader with its choice of layout, and the folds; the rest lives in:
    mmdata.corpora.mosi_raw_cmu        layouts "cmu" and "mosei": clips, recordings, transcripts
    mmdata.corpora.mosi_raw_labels     their label CSV (labels.csv, Labels/OpinionLevelSentiment.csv)
    mmdata.corpora.mosi_raw_generic    layout "generic": segments.csv
    mmdata.corpora.mosi_raw_words      word timings (words.csv) and the transcripts made from them
    mmdata.corpora.mosi_raw_media      the media lengths of whole clips and recordings, from file headers
    mmdata.corpora.mosi_raw_segments   the segment record every layout fills, and what the layouts share
The names moved there stay importable from here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mmdata.corpora.base import LoadResult, register_corpus
from mmdata.corpora.mosi_raw_cmu import (  # noqa: F401 - also re-exported from here
    CMU_AUDIO_DIR, CMU_TRANSCRIPT_DIR, CMU_VIDEO_DIR, MOSEI_AUDIO_GLOB, MOSEI_TRANSCRIPT_DIR, MOSEI_VIDEO_GLOB,
    _flag_missing_clip_wavs, _read_cmu, _read_mosei, _read_transcripts, _record_clip_durations,
    _report_unlabelled_clips,
)
from mmdata.corpora.mosi_raw_generic import (  # noqa: F401 - also re-exported from here
    _GENERIC_COLUMNS, SEGMENTS_FILE, _parse_time, _read_generic, _record_recording_durations,
)
from mmdata.corpora.mosi_raw_labels import (  # noqa: F401 - also re-exported from here
    _LABEL_KEY_COLUMNS, _RESERVED_EXTRA, CMU_LABEL_FILES, MOSEI_LABEL_FILES, _is_float, _label_file,
    _numeric_columns, _read_cmu_labels,
)
from mmdata.corpora.mosi_raw_media import (  # noqa: F401 - also re-exported from here
    _record_media_spans, record_video_span, _record_wav_duration,
)
from mmdata.corpora.mosi_raw_segments import (  # noqa: F401 - also re-exported from here
    _Segment, empty_segment_problem, _is_number, _missing_wav, _parse_segment_name,
)
from mmdata.corpora.mosi_raw_words import (  # noqa: F401 - also re-exported from here
    WORD_SLACK, WORDS_FILE, _attach_words, _outside_segment, _transcripts_from_words, _words_outside,
)
from mmdata.errors import CorpusNotFoundError
from mmdata.formats.folds import read_folds, report_fold_coverage, resolve_folds_path
from mmdata.records import Sample

log = logging.getLogger(__name__)

CORPUS = "mosi-raw"
FOLDS_FILE = "folds.json"
UNASSIGNED = "unassigned"
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
