"""Audio decoding: mono float32 at a chosen rate, segment-aware, with strict checks.

16-bit PCM WAV (the usual speech corpus file) is read straight from the file; other WAV, FLAC and
OGG go through soundfile (a `.wav` that is not RIFF/WAVE, e.g. a FLAC or MP3 renamed, too: libsndfile
reads a file by its content); containers (MP4, MKV, M4A, ...) and anything soundfile cannot
decode go through PyAV (FFmpeg), as does a WAV other than 16-bit PCM whose `data` chunk says 0 bytes
with audio after it (a recorder stopped before writing the size: libsndfile would read nothing, FFmpeg
and the 16-bit reader read to the end of the file). Of several audio streams the default one is read
(else the first), with a warning. Mono is the plain mean of all channels (an LFE channel included),
as `librosa.load(mono=True)` makes it, not FFmpeg's `-ac 1` downmix. Resampling uses soxr (high
quality, via librosa), a real band-limited resampler. Every failure is a `MediaError` naming the file:

- a missing or empty (0-byte) file;
- a truncated WAV: the `data` chunk declares more bytes than the file holds (libsndfile would
  silently return the shorter signal);
- a truncated compressed file (MP3, OGG, FLAC): far fewer frames decode than its header declares
  (`TRUNCATION_FRACTION` and `TRUNCATION_SECONDS` short; libsndfile returns what it could read);
- a file that holds no samples (a WAV of 0 frames);
- a container without an audio stream (e.g. a video-only MP4);
- NaN or infinite samples (a float WAV);
- a segment outside the file (or ending before a late audio track starts), or silence when
  `on_silence='error'`.

Torch-free on purpose: this runs in the decode worker processes.
"""
from __future__ import annotations

import io
import logging
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

from mmdata.errors import MediaError
from mmdata.media.decoder_place import FFmpegNeededElsewhere, check_ffmpeg_allowed
from mmdata.media.files import check_media_file, is_regular_file

log = logging.getLogger(__name__)

OnSilence = Literal["error", "allow"]
#: Peak amplitude below which a segment counts as silent (-80 dBFS).
SILENCE_PEAK = 1e-4
#: Seconds decoded before a segment's start in compressed audio, then dropped.
SEEK_PREROLL = 0.5
#: Read with libsndfile (MP3 too: it drops the encoder delay and puts the first sample at 0 s, as `ffmpeg -ss` does;
#: FFmpeg through PyAV labels it with the stream start time, 69 ms late for a LAME file).
#: The libraries `load_audio` decodes and resamples with, recorded in every audio table's provenance:
#: libsndfile (WAV, FLAC, MP3, ...), PyAV (the audio of a video, M4A, ...), soxr through librosa.
AUDIO_DECODE_LIBRARIES = ("soundfile", "av", "librosa", "soxr")
SOUNDFILE_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au", ".snd", ".mp3"})
#: A FLAC file's first bytes: `fLaC`, the STREAMINFO block's header, its block sizes and frame sizes, then 64 bits
#: holding the sample rate (20 bits), channels (3), bits per sample (5) and total samples (36).
FLAC_MAGIC = b"fLaC"
FLAC_HEAD_BYTES = 26
# WAV writers that stream (ffmpeg to a pipe, espeak-ng --stdout) leave these placeholder sizes.
_UNKNOWN_WAV_SIZES = frozenset({0, 0xFFFFFFFF, 0x7FFFF000, 0x7FFFFFFF})
#: A compressed file whose decoded frames fall short of its header's count by more than this fraction
#: and more than `TRUNCATION_SECONDS` is truncated (libsndfile reads an MP3's count from its Xing header
#: and then decodes what the file holds; priming and padding differ by a frame at most).
TRUNCATION_FRACTION = 0.05
TRUNCATION_SECONDS = 0.1
#: What a file that is not RIFF/WAVE looks like from its first bytes, for the error naming it.
_MAGIC_FORMATS = ((b"fLaC", "FLAC"), (b"ID3", "MP3"), (b"OggS", "Ogg"), (b"FORM", "AIFF"),
                  (b"\x1aE\xdf\xa3", "Matroska/WebM"), (b".snd", "Sun/NeXT audio"), (b"caff", "CAF"))
_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_DISPOSITION_DEFAULT = 0x1  # FFmpeg's AV_DISPOSITION_DEFAULT
#: Files whose several audio streams were named in a warning already (`choose_audio_stream`).
_WARNED_STREAMS: set[str] = set()


@dataclass(frozen=True)
class AudioSegment:
    """Decoded mono audio of one sample.

    `offset` is where `samples[0]` sits in the media file (seconds), so frame times computed on
    `samples` become media-file times by adding it.
    """

    samples: np.ndarray  # float32, shape (n,)
    sample_rate: int
    offset: float
    path: str
    #: max |sample|, when the decoder measured it (None: not measured)
    peak: float | None = None

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def load_audio(
    path: str | Path,
    *,
    sample_rate: int | None = None,
    start: float | None = None,
    end: float | None = None,
    on_silence: OnSilence = "error",
) -> AudioSegment:
    """Decode `path` (or its `[start, end)` segment, in seconds) as mono float32.

    Args:
        sample_rate: resample to this rate (Hz); None keeps the file's rate.
        start, end: segment bounds within the file; None means the file's start / end. An end past
            the end of the file is clipped; a start at or after it is an error.
        on_silence: 'error' raises on a segment whose peak is below -80 dBFS; 'allow' returns it.

    Raises:
        MediaError: a path that is not a readable file (missing, a folder, a broken link, a FIFO,
            permission denied: `mmdata.media.files.check_media_file`), an empty, truncated or
            undecodable file, no audio stream, an empty or silent segment.

    Example:
        >>> seg = load_audio("clip.mp4", sample_rate=16000, start=1.5, end=3.0)
        >>> seg.samples.shape, seg.offset
        ((24000,), 1.5)
    """
    path = Path(path)
    size = check_media_file(path, "audio")
    if start is not None and end is not None and end <= start:
        raise MediaError(f"{path}: segment end {end} <= start {start}; expected start < end (seconds)")
    if start is not None and start < 0:  # every reader, not only the WAV one (PyAV's would clamp it to 0)
        raise MediaError(f"{path}: segment start {start} is negative; expected seconds >= 0")
    if path.suffix.lower() in SOUNDFILE_SUFFIXES:
        samples, rate, offset = _read_with_soundfile(path, size, start, end)
    else:
        samples, rate, offset = _read_pyav(path, start, end)
    if len(samples) == 0:
        raise MediaError(f"{path}: segment [{start}, {end}] holds no audio samples; expected a non-empty segment")
    peak = _peak_amplitude(samples)
    if not math.isfinite(peak):  # max and min propagate NaN and infinities: no extra pass over the samples
        raise MediaError(
            f"{path}: audio segment [{offset:.3f}s, {offset + len(samples) / rate:.3f}s] holds NaN or infinite "
            "samples; expected finite audio (a float WAV written from a failed computation?); re-export the file"
        )
    if sample_rate is not None and rate != sample_rate:
        samples = resample(samples, rate, sample_rate)
        rate = sample_rate
        peak = _peak_amplitude(samples)
    segment = AudioSegment(np.ascontiguousarray(samples, dtype=np.float32), int(rate), float(offset), str(path), peak)
    if on_silence == "error":
        check_not_silent(segment)
    return segment


def check_not_silent(segment: AudioSegment) -> None:
    """Raise MediaError if the segment's peak amplitude (measured when it was decoded, else now) is below -80 dBFS."""
    peak = _peak_amplitude(segment.samples) if segment.peak is None else segment.peak
    if peak < SILENCE_PEAK:
        raise MediaError(
            f"{segment.path}: audio segment [{segment.offset:.3f}s, {segment.offset + segment.duration:.3f}s] is silent "
            f"(peak amplitude {peak:.2e} < {SILENCE_PEAK:.0e}); expected audible audio, "
            "or set on_silence=allow to keep silent segments"
        )


def _peak_amplitude(samples: np.ndarray) -> float:
    """max |sample| (0 for no samples), without the temporary array `np.abs` would allocate."""
    return max(float(samples.max()), -float(samples.min())) if len(samples) else 0.0


def resample(samples: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling with soxr (high quality) through librosa."""
    import librosa

    return librosa.resample(samples, orig_sr=orig_rate, target_sr=target_rate, res_type="soxr_hq").astype(np.float32)


def check_wav_complete(path: Path) -> None:
    """Raise MediaError if a RIFF/WAVE file's `data` chunk is longer than what the file holds."""
    with open(path, "rb") as f:
        _wav_chunks(path, f, path.stat().st_size)


@dataclass(frozen=True)
class _WavChunks:
    fmt: bytes  # the `fmt ` chunk (empty when the file has none before `data`)
    data_offset: int  # file position of the first audio byte
    data_bytes: int  # audio bytes the file holds: the declared size, or to the end for a placeholder size
    #: The `data` chunk declares 0 bytes yet audio follows (a recorder stopped before it wrote the size),
    #: which libsndfile takes at its word: no audio.
    unsized: bool = False


class NotRiffWaveError(MediaError):
    """A file named as a WAV whose header is not RIFF/WAVE (or RF64): another format renamed, or not audio.
    `finding` says so without the path and hint, for an error that adds what the other decoders said."""

    finding: str = "not a RIFF/WAVE file"


def _not_riff_wave(path: Path, header: bytes) -> NotRiffWaveError:
    finding = f"not a RIFF/WAVE file (starts with {header!r}{_detected_format(header)})"
    error = NotRiffWaveError(f"{path}: {finding}; expected a WAV file")
    error.finding = finding
    return error


def _detected_format(header: bytes) -> str:
    """', which looks like FLAC' (and so on) for a file's first bytes, '' when they name no known format."""
    if header[4:8] == b"ftyp":
        name = "MP4/M4A"
    elif len(header) >= 2 and header[0] == 0xFF and header[1] & 0xE0 == 0xE0:
        name = "MP3"  # an MPEG audio frame sync without an ID3 tag
    else:
        name = next((fmt for magic, fmt in _MAGIC_FORMATS if header.startswith(magic)), None)
    return f", which looks like {name}" if name else ""


def _wav_chunks(path: str | Path, f: BinaryIO, size: int) -> _WavChunks | None:
    """Walk an open RIFF/WAVE file's chunks up to `data` (None for RF64, whose 64-bit sizes
    libsndfile checks itself). Raises NotRiffWaveError if it is not RIFF/WAVE, MediaError if its
    `data` chunk declares more bytes than the file holds."""
    header = f.read(12)
    if len(header) < 12 or header[:4] not in (b"RIFF", b"RF64") or header[8:12] != b"WAVE":
        raise _not_riff_wave(path, header[:12])
    if header[:4] == b"RF64":
        return None
    position, fmt = 12, b""
    while True:
        chunk = f.read(8)
        if len(chunk) < 8:
            raise MediaError(f"{path}: WAV file is truncated: no 'data' chunk before the end of the file ({size} bytes)")
        chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        position += 8
        if chunk_id == b"data":
            available = size - position
            if chunk_size in _UNKNOWN_WAV_SIZES:
                return _WavChunks(fmt, position, available, unsized=chunk_size == 0 and available > 0)
            if chunk_size > available:
                raise MediaError(
                    f"{path}: WAV file is truncated: its header declares {chunk_size} bytes of audio data, "
                    f"the file holds {available}; re-export or re-download the file"
                )
            return _WavChunks(fmt, position, chunk_size)
        if chunk_id == b"fmt ":
            fmt = f.read(min(chunk_size, 64))
        position += chunk_size + (chunk_size & 1)  # chunks are padded to even sizes
        f.seek(position)


def _pcm16_layout(fmt: bytes) -> tuple[int, int] | None:
    """(channels, sample rate) of a `fmt ` chunk describing 16-bit integer PCM, else None."""
    if len(fmt) < 16:
        return None
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]  # the sub-format GUID starts with the format tag
    if tag != _WAVE_FORMAT_PCM or bits != 16 or channels < 1 or block_align != 2 * channels or rate < 1:
        return None
    return channels, rate


def _read_with_soundfile(path: Path, size: int, start: float | None,
                         end: float | None) -> tuple[np.ndarray, int, float]:
    """(mono float32 samples, rate, offset) of a file soundfile reads: 16-bit PCM WAV straight from
    the file, anything else through libsndfile (then PyAV). A `.wav` that is not RIFF/WAVE (a FLAC or
    MP3 renamed) is decoded by its content; only when no decoder reads it is it an error, naming its
    header and the format it looks like."""
    if path.suffix.lower() not in (".wav", ".wave"):
        return _read_soundfile(path, start, end)
    try:
        pcm = _read_wav_pcm16(path, size, start, end)
    except NotRiffWaveError as not_wav:
        return _read_soundfile(path, start, end, not_wav=not_wav)
    except _UnsizedWav:  # FFmpeg reads an unwritten `data` size to the end of the file, as the 16-bit reader does
        return _read_pyav(path, start, end)
    return pcm if pcm is not None else _read_soundfile(path, start, end)


class _UnsizedWav(Exception):
    """A WAV other than 16-bit PCM whose `data` chunk declares 0 bytes with audio after it."""


def _read_wav_pcm16(path: Path, size: int, start: float | None, end: float | None) -> tuple[np.ndarray, int, float] | None:
    """(mono float32 samples, rate, offset) of a 16-bit PCM WAV, read straight from the file: one
    seek and one read of the segment's bytes, no decoder (a third of the time libsndfile takes on
    short files, bit-identical: x / 32768 is exact in float32). None for any other WAV (float,
    24-bit, compressed, RF64), which libsndfile reads; `_UnsizedWav` for one whose `data` size is 0 with
    audio after it (libsndfile would read no samples). Truncated files raise MediaError either way."""
    with open(path, "rb") as f:
        chunks = _wav_chunks(path, f, size)
        layout = _pcm16_layout(chunks.fmt) if chunks is not None else None
        if chunks is not None and layout is None and chunks.unsized:
            raise _UnsizedWav(str(path))
        if chunks is None or layout is None:
            return None
        channels, rate = layout
        first, last = _segment_frames(path, rate, chunks.data_bytes // (2 * channels), start, end)
        f.seek(chunks.data_offset + first * 2 * channels)
        raw = f.read((last - first) * 2 * channels)
    ints = np.frombuffer(raw, "<i2", count=len(raw) // 2).reshape(-1, channels)
    if len(ints) < last - first:
        raise MediaError(f"{path}: audio file is truncated: expected {last - first} frames from frame {first}, read {len(ints)}")
    return _mono(_pcm16_to_float32(ints)), rate, first / rate


def _pcm16_to_float32(ints: np.ndarray) -> np.ndarray:
    """16-bit PCM as float32 in [-1, 1): x / 32768, which is exact in float32 and what libsndfile returns."""
    return np.multiply(ints, np.float32(1 / 32768), dtype=np.float32)


def _mono(data: np.ndarray) -> np.ndarray:
    """(frames, channels) samples as (frames,): the channels' mean (a view of the one channel of mono audio)."""
    return data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)


def _read_soundfile(path: Path, start: float | None, end: float | None, *,
                    not_wav: NotRiffWaveError | None = None) -> tuple[np.ndarray, int, float]:
    """(mono float32 samples, rate, offset) decoded by libsndfile, else by PyAV. `not_wav`: the file
    was named as a WAV but is not RIFF/WAVE; a file neither decoder reads then fails with that finding."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:  # one open for the header and the samples
            rate, subtype, frames = int(f.samplerate), f.subtype, f.frames
            if frames < UNKNOWN_FRAMES:
                first, last = _segment_frames(path, rate, frames, start, end)
                if first:
                    f.seek(first)
                data = _read_float32(f, last - first)
        if frames >= UNKNOWN_FRAMES:  # no length stated (a FLAC written to a pipe): FFmpeg reads to the end
            return _read_pyav(path, start, end)
    except sf.LibsndfileError as e:
        try:  # a codec libsndfile lacks (e.g. MP3 or ADPCM inside a WAV) may still decode with FFmpeg
            return _read_pyav(path, start, end)
        except FFmpegNeededElsewhere:
            raise
        except MediaError as fallback:
            if not_wav is not None:
                raise MediaError(
                    f"{path}: {not_wav.finding}, and no decoder reads it by its content (soundfile: {e}; PyAV: "
                    f"{fallback}); expected a WAV file, or audio in another format under its own extension"
                ) from e
            raise MediaError(
                f"{path}: cannot decode audio (soundfile: {e}; PyAV: {fallback}); expected a readable audio file"
            ) from e
    check_frames_read(path, subtype, rate, first, last - first, data.shape[0])
    return _mono(data), rate, first / rate


def check_frames_read(path: Path, subtype: str, rate: int, first: int, expected: int, read: int) -> None:
    """Raise MediaError if libsndfile read fewer frames than the header declares: any frame short for
    PCM and float audio (exact counts), more than `TRUNCATION_FRACTION` and `TRUNCATION_SECONDS` short
    for compressed audio, whose header count (an MP3's Xing header) is exact up to a frame of encoder
    padding, while a truncated file decodes to what it holds with no error."""
    if read >= expected:
        return
    exact = subtype.startswith("PCM") or subtype in ("FLOAT", "DOUBLE")
    missing = expected - read
    if exact:
        raise MediaError(f"{path}: audio file is truncated: expected {expected} frames from frame {first}, read {read}")
    if subtype == "MPEG_LAYER_III" and not _mp3_declares_length(path):
        return  # libsndfile estimated the count from the file's size and first frame: nothing declared to miss
    if missing > TRUNCATION_FRACTION * expected and missing > TRUNCATION_SECONDS * rate:
        raise MediaError(
            f"{path}: audio file is truncated: its header declares {expected} frames ({expected / rate:.3f}s) from "
            f"frame {first}, only {read} ({read / rate:.3f}s) decode; expected the whole {subtype} stream: the file "
            "may be truncated (an interrupted download or copy); re-export or re-download the file"
        )


def _mp3_declares_length(path: Path) -> bool:
    """Whether an MP3's first frame holds a Xing/Info or VBRI header (its frame count, which libsndfile
    reports): without one, a VBR file's count is libsndfile's estimate from the first frame's bitrate,
    which a correct file need not reach. The ID3v2 tag before it (cover art, maybe large) is skipped."""
    with open(path, "rb") as f:
        head = f.read(10)
        if head[:3] == b"ID3" and len(head) == 10:
            size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
            f.seek(10 + size + (10 if head[5] & 0x10 else 0))  # the tag, and its footer when flagged
        else:
            f.seek(0)
        frame = f.read(256)  # the tag sits 4 + 9..32 (Xing/Info) or 4 + 32 (VBRI) bytes into the first frame
    return any(tag in frame for tag in (b"Xing", b"Info", b"VBRI"))


def _read_float32(f, frames: int) -> np.ndarray:
    """(frames, channels) float32 samples from an open SoundFile. 16-bit PCM is read as int16 and
    scaled here: bit-identical to libsndfile's own conversion (x / 32768, a power of two) and
    about a third faster."""
    if f.subtype == "PCM_16":
        return _pcm16_to_float32(f.read(frames, dtype="int16", always_2d=True))
    return f.read(frames, dtype="float32", always_2d=True)


def _segment_frames(path: Path, rate: int, total: int, start: float | None, end: float | None) -> tuple[int, int]:
    first = 0 if start is None else int(round(start * rate))
    last = total if end is None else min(total, int(round(end * rate)))
    if total == 0:
        raise MediaError(
            f"{path}: the audio holds 0 samples (its header declares no audio frames at {rate} Hz); expected a "
            "non-empty recording (re-export the file, or drop the sample)"
        )
    if first < 0:
        raise MediaError(f"{path}: segment start {start} is negative; expected seconds >= 0")
    if first >= total:
        raise MediaError(
            f"{path}: segment start {start}s is at or after the end of the audio ({total / rate:.3f}s); "
            "expected a start inside the file (check the segment times)"
        )
    if end is not None and end * rate > total + rate * 0.05:
        log.debug("%s: segment end %.3fs is past the end of the audio (%.3fs); clipped", path, end, total / rate)
    return first, last


def _read_pyav(path: Path, start: float | None, end: float | None) -> tuple[np.ndarray, int, float]:
    check_ffmpeg_allowed(path)  # not in a process that a crash of FFmpeg must not bring down
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                kinds = ", ".join(f"{s.type} {s.codec_context.name}" for s in container.streams) or "none"
                raise MediaError(
                    f"{path}: no audio stream (streams: {kinds}); expected a file with an audio track"
                )
            stream = choose_audio_stream(container, path)
            rate = int(stream.codec_context.sample_rate or stream.rate)
            if start and start > SEEK_PREROLL:
                # Codecs with overlapping frames (AAC, MP3) need a few frames before the cut to decode it exactly.
                target = start - SEEK_PREROLL
                container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
            chunks, first_time, last_frame = _decode_chunks(container, stream, end)
            stream_end = _stream_end(stream)
    except MediaError:
        raise
    except (av.FFmpegError, ValueError, OSError) as e:
        raise MediaError(f"{path}: cannot decode audio ({type(e).__name__}: {e}); expected a readable media file") from e
    if not chunks:
        raise MediaError(f"{path}: the audio stream decoded to no samples; expected a non-empty audio track")
    samples = np.concatenate(chunks)
    if stream_end is not None:  # codecs such as AAC pad the last frame past the stream's end
        samples = samples[: _padding_trimmed(len(samples), int(round((stream_end - first_time) * rate)), last_frame)]
    if first_time < 0:  # encoder priming before t=0 is not part of the media timeline
        samples, first_time = samples[int(round(-first_time * rate)):], 0.0
    first = 0 if start is None else max(0, int(round((start - first_time) * rate)))
    last = len(samples) if end is None else max(first, int(round((end - first_time) * rate)))
    if end is not None and end <= first_time:
        raise MediaError(
            f"{path}: segment [{start}, {end}] ends before the audio starts ({first_time:.3f}s); expected a segment "
            "inside the audio track (check the segment times against the recording)"
        )
    if start is not None and first >= len(samples):
        raise MediaError(
            f"{path}: segment start {start}s is at or after the end of the audio "
            f"({first_time + len(samples) / rate:.3f}s); expected a start inside the file"
        )
    return samples[first:last], rate, first_time + first / rate


#: The frame count libsndfile reports for a file that states none (SF_COUNT_MAX: a FLAC whose STREAMINFO holds
#: a total of 0 samples, as an encoder writing to a pipe leaves it); any count this large is no length.
UNKNOWN_FRAMES = 2**62
#: FFmpeg's names of the container formats whose header states an audio stream's exact length (MP4, M4A, MOV).
EXACT_HEADER_FORMATS = frozenset({"mov", "mp4", "m4a"})


def audio_stream_span(path: str | Path) -> tuple[float, float] | None:
    """(start, duration) in seconds of the audio stream `load_audio` reads from a container (M4A, MP4, MKV,
    ...), from the stream's header, without decoding: `start` is where the stream starts (0 unless later),
    `duration` its stated length. None when the file has no audio stream, states no duration, cannot be
    opened (extraction then names the problem), or is no MP4/QuickTime file: only their headers state the
    exact length (an MPEG-TS or ADTS header's is an estimate, tenths of a second off), or when PyAV is not
    installed (an optional dependency: the load goes on without the length). Opens regular files only (a
    FIFO would block)."""
    try:
        import av
    except ImportError:
        return None
    if not is_regular_file(path):
        return None
    try:
        with av.open(str(path)) as container:
            return container_audio_span(container, path)
    except (av.FFmpegError, ValueError, OSError):
        return None


def container_audio_span(container, path: str | Path) -> tuple[float, float] | None:
    """`audio_stream_span`'s (start, duration) read from a container already open (PyAV's, of the file at `path`,
    which warnings name), so that a caller reading the video's header too opens the file once. None where the
    container holds no audio stream, states no duration, or is no MP4/QuickTime file.

    Raises:
        av.FFmpegError, ValueError, OSError: the header cannot be read (callers treat it as no span).
    """
    if not EXACT_HEADER_FORMATS & set(container.format.name.split(",")):
        return None
    stream = choose_audio_stream(container, path) if container.streams.audio else None
    if stream is None or not stream.duration or not stream.time_base:
        return None
    start = max(float((stream.start_time or 0) * stream.time_base), 0.0)
    return start, float(stream.duration * stream.time_base)


def flac_stream_seconds(path: str | Path) -> float | None:
    """The length in seconds of a FLAC file from its STREAMINFO block, where the file starts with one that counts
    its samples (total samples / sample rate: the frames and rate libsndfile reports); else None (not FLAC, no
    count, unreadable: soundfile.info then decides). 8 us a file instead of soundfile.info's 70 us (most of it
    Python, so threads do not help): WavCaps' 403,000 sounds load half a minute sooner. Reads regular files only
    (a FIFO would block)."""
    if not is_regular_file(path):
        return None
    try:
        with open(path, "rb") as file:
            head = file.read(FLAC_HEAD_BYTES)
    except OSError:
        return None
    if len(head) != FLAC_HEAD_BYTES or head[:4] != FLAC_MAGIC or head[4] & 0x7F != 0:  # block type 0: STREAMINFO
        return None
    bits = int.from_bytes(head[18:26], "big")
    rate, frames = bits >> 44, bits & ((1 << 36) - 1)
    return frames / rate if rate > 0 and frames > 0 else None


#: WAV format tags whose frames are whole blocks of `channels * ceil(bits / 8)` bytes, as libsndfile counts them:
#: integer PCM, IEEE float, A-law, mu-law (the compressed ones, ADPCM or GSM, are left to libsndfile).
_WAV_BLOCK_TAGS = frozenset({0x0001, 0x0003, 0x0006, 0x0007})
#: The bytes `wav_stream_seconds` reads first: the chunks before `data` of nearly every WAV (a long LIST or bext
#: chunk before it sends the walk to the file).
WAV_HEAD_BYTES = 4096


def wav_stream_seconds(path: str | Path) -> float | None:
    """The length in seconds of a PCM, float, A-law or mu-law WAV from its `fmt ` and `data` chunks (the frames
    libsndfile counts, `data` bytes // block, over the rate; a streamed file's placeholder size counts to the end,
    as libsndfile does), where the file is plain; else None (RF64, compressed, a `data` chunk declaring more than
    the file holds or nothing, not RIFF/WAVE: soundfile.info then decides). About 10 us a file
    instead of soundfile.info's 60-85 us, most of it Python holding the GIL: AudioSet's 2M clips load 2 minutes
    sooner. Reads regular files only (a FIFO would block)."""
    if not is_regular_file(path):
        return None
    try:  # `path` as given: making a Path of it cost a sixth of this function
        descriptor = os.open(path, os.O_RDONLY)
        try:
            size, head = os.fstat(descriptor).st_size, os.read(descriptor, WAV_HEAD_BYTES)
        finally:
            os.close(descriptor)
        chunks = _wav_chunks(path, io.BytesIO(head), size)  # the chunks before `data`, from the first read
    except MediaError:
        chunks = _walked_wav_chunks(path, size) if len(head) < size else None  # `data` further in, or no WAV
    except OSError:
        return None
    if chunks is None or chunks.unsized or len(chunks.fmt) < 16 or chunks.data_offset + chunks.data_bytes > size:
        return None
    tag, channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", chunks.fmt[:16])
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(chunks.fmt) >= 26:
        tag = struct.unpack("<H", chunks.fmt[24:26])[0]  # the sub-format GUID starts with the format tag
    block = channels * ((bits + 7) // 8)
    if tag not in _WAV_BLOCK_TAGS or channels < 1 or rate < 1 or bits < 1 or block_align != block:
        return None
    frames = chunks.data_bytes // block
    return frames / rate if frames > 0 else None


def _walked_wav_chunks(path: str | Path, size: int) -> _WavChunks | None:
    """`_wav_chunks` of the file itself (seeking chunk to chunk), None where it is no readable RIFF/WAVE or its
    `data` chunk runs past the end."""
    try:
        with open(path, "rb") as file:
            return _wav_chunks(path, file, size)
    except (OSError, MediaError):
        return None


def choose_audio_stream(container, path: str | Path):
    """The audio stream to read: the one marked default (a player's choice), else the first. Several audio
    streams log a warning naming the file and the stream read, once per file and process."""
    streams = list(container.streams.audio)
    chosen = next((s for s in streams if int(getattr(s, "disposition", 0) or 0) & _DISPOSITION_DEFAULT), streams[0])
    if len(streams) > 1 and str(path) not in _WARNED_STREAMS:
        _WARNED_STREAMS.add(str(path))
        log.warning("%s: %d audio streams (%s); reading stream %d (the default one, else the first); remux the file "
                    "to keep only the wanted one (`ffmpeg -i in -map 0:a:N -c copy out`) to choose another", path,
                    len(streams), ", ".join(f"#{s.index} {s.codec_context.name}" for s in streams), chosen.index)
    return chosen


def _stream_end(stream) -> float | None:
    if not stream.duration or not stream.time_base:
        return None
    return float((stream.start_time or 0) * stream.time_base + stream.duration * stream.time_base)


def _padding_trimmed(decoded: int, stated: int, last_frame: int) -> int:
    """How many of `decoded` samples to keep when the stream states `stated`: the stated count when the
    rest lies within the last decoded frame (a codec's padding, as AAC's), else all of them. A stated
    duration that falls short by more is FFmpeg's estimate (ADTS `.aac` from the bit rate, MPEG-TS from
    timestamps), not the end of the audio: trimming to it dropped a tenth of such files."""
    return stated if 0 <= decoded - stated <= last_frame else decoded


def _decode_chunks(container, stream, end: float | None) -> tuple[list[np.ndarray], float, int]:
    """Mono chunks of the decoded frames (to just past `end`), the first frame's time and the last frame's samples."""
    import av

    # fltp planar float: (channels, n) per frame; mono = mean over channels.
    resampler = av.AudioResampler(format="fltp")
    chunks: list[np.ndarray] = []
    first_time: float | None = None
    last_frame = 0
    for frame in container.decode(stream):
        if first_time is None:
            first_time = float(frame.time) if frame.time is not None else 0.0
        last_frame = frame.samples
        for out in resampler.resample(frame):
            chunks.append(out.to_ndarray().mean(axis=0, dtype=np.float32))
        if end is not None and frame.time is not None and frame.time > end:
            break
    for out in resampler.resample(None):
        chunks.append(out.to_ndarray().mean(axis=0, dtype=np.float32))
    return chunks, first_time or 0.0, last_frame
