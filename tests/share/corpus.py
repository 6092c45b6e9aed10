"""A small labelled image+audio+text corpus in the `manifest` format, and a sequence extractor for it.

`write_mixed_corpus(folder)` writes real files: JPEGs (the embedded sample photographs), WAV
tones written with soundfile, and manifest.jsonl rows like

    {"id": "clip-00", "image": "images/a.jpg", "audio": "audio/tone-0.wav", "caption": "...", "label": -1.5, "split": "train"}
    {"id": "seg-01", "image": "images/b.jpg", "audio": "audio/long.wav", "start": 1.0, "end": 2.0, ...}

over three splits (train 5, val 2, test 2). `wave-rms` is a registered test extractor: per
100 ms frame of the sample's audio, [RMS, zero-crossing rate], with each frame's interval, i.e.
a temporal table with intervals made through the real pipeline.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmdata.corpora.base import resolve_media
from mmdata.features.base import Extractor, register_extractor
from mmdata.pipeline import extract
from mmdata.sample_data import sample_corpus_dir
from mmdata.store.metadata import FeatureSpec

RATE = 16000
FRAME = 0.1
SPLITS = ["train"] * 5 + ["val"] * 2 + ["test"] * 2
CAPTIONS = [
    "a person smiling in front of a flag", "a tabby cat looking to the side", "a cup of coffee on a saucer",
    "a rocket on the launch pad", "galaxies scattered across the sky", "stained tissue under a microscope",
    "the back of a human eye", "a wheel of colours", "a dog running on the beach",
]


@dataclass(frozen=True)
class WaveRmsConfig:
    frame: float = FRAME


@register_extractor
class WaveRms(Extractor):
    """[RMS, zero-crossing rate] per frame of a sample's audio segment, with each frame's interval."""

    name: ClassVar[str] = "wave-rms"
    modality: ClassVar[str] = "audio"
    config_type: ClassVar[type] = WaveRmsConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "soundfile")

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=2, kind="sequence", intervals=True, frame_rate=1 / self.config.frame, item_axis="time")

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        import soundfile

        path = str(resolve_media(corpus_root, row["audio"]))
        rate = soundfile.info(path).samplerate
        start = row["start"] or 0.0
        stop = None if row["end"] is None else int(round(row["end"] * rate))
        samples, _ = soundfile.read(path, dtype="float32", start=int(round(start * rate)), stop=stop)
        return samples, rate, start

    def compute(self, items: list[Any]) -> list[Any]:
        out = []
        for samples, rate, offset in items:
            hop = int(self.config.frame * rate)
            frames = samples[: len(samples) - len(samples) % hop].reshape(-1, hop)
            rms = np.sqrt((frames**2).mean(axis=1))
            zcr = (np.diff(np.sign(frames), axis=1) != 0).mean(axis=1)
            starts = offset + np.arange(len(frames)) * self.config.frame
            out.append((np.stack([rms, zcr], axis=1), np.stack([starts, starts + self.config.frame], axis=1)))
        return out


def write_tone(path: Path, seconds: float, freq: float, amplitude: float = 0.4) -> None:
    import soundfile

    t = np.arange(int(seconds * RATE)) / RATE
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32), RATE, subtype="PCM_16")


def write_mixed_corpus(folder: Path) -> Path:
    """Write the corpus (see the module docstring); returns its root."""
    images = sorted((sample_corpus_dir("coco") / "val2017").glob("*.jpg")) + sorted(
        (sample_corpus_dir("flickr30k") / "flickr30k-images").glob("*.jpg"))
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    write_tone(folder / "audio" / "long.wav", 4.0, 330.0)
    for i, split in enumerate(SPLITS):
        image = f"images/img-{i}.jpg"
        shutil.copy(images[i], folder / image)
        row: dict[str, Any] = {"id": f"s-{i:02d}", "image": image, "caption": CAPTIONS[i], "label": round(-2.5 + 0.6 * i, 2),
                               "split": split}
        if i % 3 == 2:  # a segment of one longer recording
            row.update(audio="audio/long.wav", start=float(i % 4), end=float(i % 4) + 1.0, id=f"seg-{i:02d}")
        else:
            row["audio"] = f"audio/tone-{i}.wav"
            write_tone(folder / row["audio"], 0.5 + 0.1 * i, 220.0 + 40 * i)
        rows.append(row)
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


MIXED_EXTRACTORS = ["color-hist:bins=8", "pixel-stats", "hashed-bow:level=caption", "wave-rms"]


def extract_mixed(tmp_path: Path, extractors: list[str] | None = None) -> Path:
    """The mixed corpus extracted with image, text (per caption) and audio (frames + intervals) tables."""
    corpus = write_mixed_corpus(tmp_path / "mixed-corpus")
    out = tmp_path / "mixed"
    extract("manifest", corpus, out, extractors=extractors or MIXED_EXTRACTORS, num_workers=0, shard_size=4)
    return out
