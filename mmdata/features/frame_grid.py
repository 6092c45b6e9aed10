"""`frame-grid`: a fixed-rate time grid over each sample's audio span, the reference every clip has.

`mmdata align` puts a table on the time steps of a reference table, sample by sample, and a sample the
reference lacks gets no row. Sound event detection trains on clips with frame targets beside clips without
(weakly labelled or unlabelled: `event-targets` fails those, as they have no event list). Aligning the frames
to `event-targets` would drop the second kind; aligning the frames and the targets both to this grid keeps
every clip's frames and, where it has them, its targets, step for step:

    mmdata extract ... --audio librosa-logmel --audio event-targets:classes=FILE --audio frame-grid
    mmdata align OUT --reference audio.frame-grid -t audio.librosa-logmel
    mmdata fuse OUT EXPORT --sequences pad -t audio.librosa-logmel@audio.frame-grid \
        --targets audio.event-targets --missing zero

The targets need no alignment: they lie on this grid already (`event_targets.frame_edges` over
`event_targets.audio_span`, at the same `frame_rate`). Aligned with the frames in one run, they need `--on-absent
keep`: by default a clip the targets lack is null in every output. Each step's one value is its centre in seconds of
the audio file (float32: approximate past a few hours; the intervals are float64). Reads the samples table only (a
duration key of the audio, or a segment's end), no media.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmdata.features.base import Extractor, register_extractor
from mmdata.features.event_targets import audio_span, check_frame_rate, frame_edges
from mmdata.records import row_extra
from mmdata.store.metadata import FeatureSpec


@dataclass(frozen=True)
class FrameGridConfig:
    #: Steps per second (`event-targets`' frame_rate, for targets to align to it unchanged).
    frame_rate: float = 10.0

    def __post_init__(self) -> None:
        check_frame_rate(self.frame_rate, "steps")


@register_extractor
class FrameGrid(Extractor):
    """Time steps at `frame_rate` over the sample's audio span (their intervals), each step's centre as its value."""

    name: ClassVar[str] = "frame-grid"
    modality: ClassVar = "audio"
    config_type: ClassVar[type] = FrameGridConfig
    decode_in_workers: ClassVar[bool] = False  # reads the samples table's `extra` only, no media
    safe_decoder: ClassVar[bool] = True
    libraries: ClassVar[tuple[str, ...]] = ("numpy",)

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=1, kind="sequence", intervals=True, frame_rate=float(self.config.frame_rate),
                           item_axis="time")

    def decode(self, row: dict[str, Any], corpus_root: Path) -> tuple[float, float]:
        return audio_span(row, row_extra(row))

    def compute(self, items: list[tuple[float, float]]) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for span_start, span_end in items:
            edges = frame_edges(span_start, span_end, self.config.frame_rate)
            intervals = np.stack([edges[:-1], edges[1:]], axis=1)
            out.append((intervals.mean(axis=1, keepdims=True).astype(np.float32), intervals))
        return out
