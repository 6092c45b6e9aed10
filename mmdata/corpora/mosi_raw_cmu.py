"""The raw releases of CMU-MOSI (layout "cmu": segmented clips, `.annotprocessed` transcripts) and
CMU-MOSEI (layout "mosei": whole recordings cut by the times of `Combined/<vid>.txt` lines), read
into segments for `mmdata.corpora.mosi_raw` (whose docstring describes both layouts).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdata.corpora.base import LoadProblem, LoadResult, expect, parse_number, read_text
from mmdata.corpora.mosi_raw_labels import MOSEI_LABEL_FILES, _label_file, _read_cmu_labels
from mmdata.corpora.mosi_raw_media import _record_media_spans
from mmdata.corpora.mosi_raw_segments import (
    _Segment, empty_segment_problem, _is_number, _missing_wav, _parse_segment_name,
)
from mmdata.corpora.mosi_sdk_labels import attach_sdk_labels, clip_id
from mmdata.errors import ConfigError, CorpusNotFoundError
from mmdata.formats.csd import CSD_SUFFIX

if TYPE_CHECKING:
    from mmdata.corpora.mosi_raw import MosiRawOptions

CMU_AUDIO_DIR = "Raw/Audio/WAV_16000/Segmented"
CMU_VIDEO_DIR = "Raw/Video/Segmented"
CMU_TRANSCRIPT_DIR = "Raw/Transcript/Segmented"
MOSEI_TRANSCRIPT_DIR = "Raw/Transcript/Segmented/Combined"
MOSEI_AUDIO_GLOB = "Raw/Audio/Full/**/*.wav"
MOSEI_VIDEO_GLOB = "Raw/Video*/Full/**/*.mp4"


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
                result.problems.append(empty_segment_problem(sample_id, where, start, end))
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
