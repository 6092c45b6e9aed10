"""A CMU-MOSI-style raw corpus whose label depends on all three modalities in a known way.

Every segment has three cue levels, each one of LEVELS = (-1, -0.5, 0, 0.5, 1), drawn independently:

- text: the transcript says the subject is e.g. "terrible" (-1), "boring" (-0.5), "okay" (0), "nice"
  (0.5) or "brilliant" (1), inside a neutral template ("honestly the soundtrack was brilliant");
- audio: the voice pitch (espeak-ng `-p`, from 15 for -1 to 85 for +1) speaking the transcript, or with
  `audio='tones'` a hummed tone whose pitch rises with the level (no espeak-ng needed). The tones' jitter
  comes from a generator of its own (`tone_generator`), so a tones corpus has the same cues, labels,
  transcripts, folds and video drawings as the speech corpus of the same seed: only the audio differs
  (and each video's length, which follows its audio's);
- video: a face disc coloured from red (-1) through yellow (0) to green (+1) with a mouth from frown to
  smile, drifting over the video's own background (the speaker's room) with a distractor box.

label = round(text + audio + video + N(0, label_noise), 1), clipped to [-3, 3]: each modality explains a
third of the label's variance, so a model that fuses all three can beat every unimodal one. The rounding
to 0.1 makes some labels exactly 0 (17 of 400 in the default corpus): the Acc-2/F1 `non0` metrics
leave those out.

Written in the layout `mosi-raw` reads (`mmdata.corpora.mosi_raw`, layout "cmu"):

    Raw/Audio/WAV_16000/Segmented/<vid>_<k>.wav       16 kHz mono PCM
    Raw/Video/Segmented/<vid>_<k>.mp4                 MPEG-4, `fps`, the WAV's duration rounded up to whole frames
    Raw/Transcript/Segmented/<vid>.annotprocessed     "<k>_DELIM_<text>" per line
    labels.csv                                        segment_id,label
    folds.json                                        {"train": [vids], "valid": [...], "test": [...]}
    cues.csv                                          segment_id,text_cue,audio_cue,video_cue,label (the truth)

    info = write_mosi_demo("demo/mosi", MosiDemoConfig(num_videos=40, segments_per_video=10))
"""
from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from mmdata.errors import ConfigError, MediaError

log = logging.getLogger(__name__)

LEVELS: tuple[float, ...] = (-1.0, -0.5, 0.0, 0.5, 1.0)
SENTIMENT_WORDS: dict[float, tuple[str, ...]] = {
    -1.0: ("terrible", "awful", "horrible", "dreadful"),
    -0.5: ("bad", "boring", "weak", "dull"),
    0.0: ("okay", "average", "ordinary", "fine"),
    0.5: ("good", "nice", "enjoyable", "solid"),
    1.0: ("wonderful", "amazing", "brilliant", "excellent"),
}
TOPICS = ("movie", "acting", "plot", "ending", "soundtrack", "dialogue", "camera work", "story", "cast")
TEMPLATES = (
    "the {topic} was {word}",
    "i thought the {topic} was {word}",
    "honestly the {topic} was {word}",
    "well the {topic} felt {word} to me",
    "i would say the {topic} is {word}",
    "so yeah the {topic} was pretty {word}",
)
#: espeak-ng pitch (0-99) and tone frequency (Hz) per audio level.
ESPEAK_PITCH = {-1.0: 15, -0.5: 32, 0.0: 50, 0.5: 68, 1.0: 85}
TONE_HZ = {-1.0: 140.0, -0.5: 190.0, 0.0: 250.0, 0.5: 320.0, 1.0: 400.0}
#: What to do without a working espeak-ng, for each way of running the demo.
ESPEAK_HINT = (
    "Install it (apt-get install espeak-ng), or write hummed tones instead of speech: "
    "MosiDemoConfig(audio='tones') (in run_sentiment_demo: SentimentDemo(corpus=MosiDemoConfig(audio='tones')); "
    "`mmdata train demo --audio tones`); the retrieval demo (`mmdata train demo --task retrieval`) needs no espeak-ng"
)
AUDIO_DIR = "Raw/Audio/WAV_16000/Segmented"
VIDEO_DIR = "Raw/Video/Segmented"
TRANSCRIPT_DIR = "Raw/Transcript/Segmented"
SAMPLE_RATE = 16000
#: Smallest frame side that leaves room for the face disc and its mouth.
MIN_FRAME_SIZE = 16
_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
AudioKind = Literal["speech", "tones"]


@dataclass(frozen=True)
class MosiDemoConfig:
    """Size and content of the demo corpus."""

    num_videos: int = 40
    segments_per_video: int = 10
    seed: int = 0
    #: 'speech' (espeak-ng, the cue is the voice pitch) or 'tones' (a hummed tone per word).
    audio: AudioKind = "speech"
    fps: int = 5
    width: int = 64
    height: int = 48
    #: Standard deviation of the annotator noise added to the sum of the cues.
    label_noise: float = 0.15
    #: Fractions of videos in train / valid (the rest is test); splits are by video, as MOSI's folds.
    train_fraction: float = 0.6
    valid_fraction: float = 0.2

    def __post_init__(self) -> None:
        if self.num_videos < 3 or self.segments_per_video < 1:
            raise ConfigError(
                f"the demo needs >= 3 videos (one per split) and >= 1 segment each, got {self.num_videos} "
                f"and {self.segments_per_video}"
            )
        if self.audio not in ("speech", "tones"):
            raise ConfigError(f"audio must be 'speech' or 'tones', got {self.audio!r}")
        if self.fps < 1:
            raise ConfigError(f"fps must be >= 1 frame per second, got {self.fps}")
        if self.width < MIN_FRAME_SIZE or self.height < MIN_FRAME_SIZE:
            raise ConfigError(f"width and height must be >= {MIN_FRAME_SIZE} pixels (room for the face), got "
                              f"{self.width} x {self.height}")
        if not self.label_noise >= 0:
            raise ConfigError(f"label_noise is a standard deviation: it must be >= 0, got {self.label_noise}")
        if not (0 < self.train_fraction and 0 < self.valid_fraction and self.train_fraction + self.valid_fraction < 1):
            raise ConfigError(
                f"train_fraction and valid_fraction must be > 0 and sum below 1, got {self.train_fraction} "
                f"and {self.valid_fraction}"
            )


@dataclass
class DemoSegment:
    """The ground truth of one segment."""

    segment_id: str
    video_id: str
    split: str
    transcript: str
    text_cue: float
    audio_cue: float
    video_cue: float
    label: float


@dataclass
class MosiDemoInfo:
    """What was written: the root, and every segment's cues and label (what a loader should find)."""

    root: Path
    segments: list[DemoSegment] = field(default_factory=list)

    def split_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for seg in self.segments:
            counts[seg.split] = counts.get(seg.split, 0) + 1
        return counts


def write_mosi_demo(root: str | Path, config: MosiDemoConfig | None = None) -> MosiDemoInfo:
    """Write the demo corpus under `root` (created; existing files of the same names are replaced).

    Raises:
        MediaError: espeak-ng is missing or fails (use `audio='tones'` to do without it).
    """
    config = config or MosiDemoConfig()
    root = Path(root)
    rng = np.random.default_rng(config.seed)
    tone_rng = tone_generator(config.seed)
    if config.audio == "speech" and shutil.which("espeak-ng") is None:
        raise MediaError(f"espeak-ng is not installed; the demo's speech is spoken by it. {ESPEAK_HINT}")
    video_ids = _video_ids(rng, config.num_videos)
    folds = _folds(video_ids, config)
    split_of = {vid: name for name, vids in folds.items() for vid in vids}
    info = MosiDemoInfo(root=root)
    for folder in (AUDIO_DIR, VIDEO_DIR, TRANSCRIPT_DIR):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for vid in video_ids:
        background = rng.integers(20, 110, size=3)
        lines = []
        for k in range(1, config.segments_per_video + 1):
            seg = _draw_segment(rng, vid, k, split_of[vid], config)
            lines.append(f"{k}_DELIM_{seg.transcript}")
            audio = (_speech(seg.transcript, seg.audio_cue) if config.audio == "speech"
                     else _tones(seg.transcript, seg.audio_cue, tone_rng))
            _write_wav(root / AUDIO_DIR / f"{seg.segment_id}.wav", audio)
            duration = len(audio) / SAMPLE_RATE
            _write_video(root / VIDEO_DIR / f"{seg.segment_id}.mp4", seg.video_cue, background, duration, rng, config)
            info.segments.append(seg)
        (root / TRANSCRIPT_DIR / f"{vid}.annotprocessed").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _write_tables(root, info.segments, folds)
    log.info("wrote %d demo segments of %d videos to %s", len(info.segments), len(video_ids), root)
    return info


def tone_generator(seed: int) -> np.random.Generator:
    """The generator of the hummed tones' jitter, independent of the corpus generator (`default_rng(seed)`).

    Drawn from the corpus generator, the jitter shifted every later draw (cues, labels, transcripts, video),
    so `audio='tones'` wrote another corpus, not the same one with other audio. A child of the seed's
    `SeedSequence` is reproducible and leaves the corpus generator's stream (the speech corpus) as it was.
    """
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])


def _video_ids(rng: np.random.Generator, count: int) -> list[str]:
    ids: set[str] = set()
    while len(ids) < count:  # YouTube-like 11-character ids
        ids.add("".join(rng.choice(list(_ID_CHARS), size=11)))
    return sorted(ids)


def _folds(video_ids: list[str], config: MosiDemoConfig) -> dict[str, list[str]]:
    order = list(np.random.default_rng(config.seed + 1).permutation(len(video_ids)))
    n_train = max(1, int(round(config.train_fraction * len(video_ids))))
    n_valid = max(1, int(round(config.valid_fraction * len(video_ids))))
    n_train = min(n_train, len(video_ids) - n_valid - 1)
    pick = lambda idx: sorted(video_ids[i] for i in idx)  # noqa: E731
    return {"train": pick(order[:n_train]), "valid": pick(order[n_train : n_train + n_valid]),
            "test": pick(order[n_train + n_valid :])}


def _draw_segment(rng: np.random.Generator, vid: str, k: int, split: str, config: MosiDemoConfig) -> DemoSegment:
    text_cue, audio_cue, video_cue = (float(rng.choice(LEVELS)) for _ in range(3))
    word = str(rng.choice(SENTIMENT_WORDS[text_cue]))
    template = str(rng.choice(TEMPLATES))
    transcript = template.format(topic=str(rng.choice(TOPICS)), word=word)
    noisy = text_cue + audio_cue + video_cue + rng.normal(0.0, config.label_noise)
    label = float(np.clip(np.round(noisy, 1), -3.0, 3.0)) + 0.0  # + 0.0 turns -0.0 into 0.0
    return DemoSegment(f"{vid}_{k}", vid, split, transcript, text_cue, audio_cue, video_cue, label)


# --- audio ---------------------------------------------------------------------------------------


def _speech(text: str, level: float) -> np.ndarray:
    """espeak-ng speaking `text` at the level's pitch, resampled to 16 kHz, with 0.1 s of silence around."""
    import soundfile as sf
    from scipy.signal import resample_poly

    try:
        out = subprocess.run(
            ["espeak-ng", "--stdout", "-s", "150", "-p", str(ESPEAK_PITCH[level]), text],
            check=True, capture_output=True, timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise MediaError(f"espeak-ng failed on {text!r}: {e}. {ESPEAK_HINT}") from e
    samples, rate = sf.read(io.BytesIO(_fix_stream_wav(out)), dtype="float32")
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    if rate != SAMPLE_RATE:
        gcd = np.gcd(rate, SAMPLE_RATE)
        samples = resample_poly(samples, SAMPLE_RATE // gcd, rate // gcd).astype(np.float32)
    pad = np.zeros(int(0.1 * SAMPLE_RATE), np.float32)
    return np.concatenate([pad, samples, pad]).astype(np.float32)


def _tones(text: str, level: float, rng: np.random.Generator) -> np.ndarray:
    """One hummed syllable per word: a harmonic tone at the level's pitch with a little jitter."""
    pieces = [np.zeros(int(0.1 * SAMPLE_RATE), np.float32)]
    for _ in text.split():
        duration = float(rng.uniform(0.18, 0.3))
        t = np.arange(int(duration * SAMPLE_RATE)) / SAMPLE_RATE
        f0 = TONE_HZ[level] * float(rng.uniform(0.97, 1.03))
        wave = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
        envelope = np.sin(np.pi * t / duration) ** 2
        pieces += [(0.3 * wave * envelope).astype(np.float32), np.zeros(int(0.05 * SAMPLE_RATE), np.float32)]
    return np.concatenate(pieces).astype(np.float32)


def _write_wav(path: Path, samples: np.ndarray) -> None:
    import soundfile as sf

    sf.write(str(path), samples, SAMPLE_RATE, subtype="PCM_16")


def _fix_stream_wav(data: bytes) -> bytes:
    # espeak-ng --stdout streams placeholder RIFF/data sizes; put in the real ones.
    import struct

    if len(data) < 44 or data[:4] != b"RIFF":
        raise MediaError(f"espeak-ng wrote {len(data)} bytes that are not a WAV file")
    out = bytearray(data)
    out[4:8] = struct.pack("<I", len(data) - 8)
    index = out.find(b"data", 12)
    out[index + 4 : index + 8] = struct.pack("<I", len(data) - index - 8)
    return bytes(out)


# --- video ---------------------------------------------------------------------------------------


def cue_color(level: float) -> tuple[int, int, int]:
    """The face colour of a visual cue level: red (-1) -> yellow (0) -> green (+1)."""
    red = 210 if level <= 0 else int(210 - 160 * level)
    green = 210 if level >= 0 else int(210 + 160 * level)
    return red, green, 40


def _write_video(path: Path, level: float, background: np.ndarray, duration: float, rng: np.random.Generator,
                 config: MosiDemoConfig) -> None:
    import av

    frames = _frames(level, background, duration, rng, config)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=config.fps)
        stream.width, stream.height, stream.pix_fmt = config.width, config.height, "yuv420p"
        stream.bit_rate = 2_000_000
        stream.options = {"qmin": "1", "qmax": "4"}
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))


def _frames(level: float, background: np.ndarray, duration: float, rng: np.random.Generator,
            config: MosiDemoConfig) -> list[np.ndarray]:
    from PIL import Image, ImageDraw

    w, h = config.width, config.height
    count = max(1, int(np.ceil(duration * config.fps)))
    radius = int(0.28 * h)
    start = np.array([rng.uniform(radius, w - radius), rng.uniform(radius, h - radius)])
    drift = rng.uniform(-3.0, 3.0, size=2)
    box = rng.integers(0, [w - 12, h - 10]), tuple(int(c) for c in rng.integers(60, 200, size=3))
    base = np.clip(background[None, None, :] + rng.normal(0, 6, size=(h, w, 3)), 0, 255).astype(np.uint8)
    frames = []
    for i in range(count):
        image = Image.fromarray(base)
        draw = ImageDraw.Draw(image)
        draw.rectangle([int(box[0][0]), int(box[0][1]), int(box[0][0]) + 12, int(box[0][1]) + 10], fill=box[1])
        cx, cy = np.clip(start + drift * i, radius, [w - radius, h - radius])
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=cue_color(level))
        mouth = [cx - radius * 0.5, cy + radius * 0.05, cx + radius * 0.5, cy + radius * 0.6]
        if level > 0:
            draw.arc(mouth, 20, 160, fill=(30, 30, 30), width=2)  # smile
        elif level < 0:
            draw.arc([mouth[0], mouth[1] + radius * 0.3, mouth[2], mouth[3] + radius * 0.3], 200, 340,
                     fill=(30, 30, 30), width=2)  # frown
        else:
            draw.line([mouth[0], cy + radius * 0.35, mouth[2], cy + radius * 0.35], fill=(30, 30, 30), width=2)
        frames.append(np.asarray(image, dtype=np.uint8))
    return frames


# --- tables --------------------------------------------------------------------------------------


def _write_tables(root: Path, segments: list[DemoSegment], folds: dict[str, list[str]]) -> None:
    with open(root / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["segment_id", "label"])
        writer.writerows([s.segment_id, f"{s.label:.1f}"] for s in segments)
    with open(root / "cues.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["segment_id", "split", "text_cue", "audio_cue", "video_cue", "label"])
        writer.writerows([s.segment_id, s.split, s.text_cue, s.audio_cue, s.video_cue, f"{s.label:.1f}"] for s in segments)
    (root / "folds.json").write_text(json.dumps(folds, indent=1) + "\n", encoding="utf-8")

