"""`egemaps`: the openSMILE eGeMAPSv02 parameter set (Eyben et al. 2016) via the opensmile package.

Two levels, two tables:

- `level='lld'` -> `audio.egemaps-lld`: the 25 low-level descriptors (loudness, pitch, jitter,
  shimmer, formants, spectral slopes, ...) every 10 ms, a sequence table. openSMILE reports each
  frame's 20 ms span; as for every audio table (`mmdata.features.audio`), a frame owns the part of
  the segment nearest that span's centre: 10 ms cells tiling the segment. (The pitch, jitter,
  shimmer, HNR and formant descriptors come from 60 ms windows starting at the same time, so
  their own centres lie 20 ms later.) A segment of d seconds gets `1 + (d - 0.05) x 100` frames
  (openSMILE drops those at the end whose window no longer fits), recorded as the spec's
  `frame_window` for `mmdata check`.
- `level='functionals'` -> `audio.egemaps-functionals`: the 88 functionals over the whole segment
  (means, percentiles, rates), one pooled vector per sample.

openSMILE reads 16-bit samples: samples beyond full scale (float files, or a clipped recording
after resampling) are clipped at full scale first, as a 16-bit file would hold them (the opensmile
package's own conversion wraps them around to the opposite sign). A segment shorter than 60 ms
(one pitch window) fails with a MediaError: openSMILE gives no frame for it, and the package a row
of NaN.

Column names are stored as `columns` in the table metadata. openSMILE itself is free for research
and education only (audEERING's licence); the numbers it produces are the user's.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mmdata.errors import MediaError
from mmdata.features.audio import AudioFrameExtractor, cell_intervals
from mmdata.features.base import register_extractor
from mmdata.media.audio import AUDIO_DECODE_LIBRARIES, OnSilence
from mmdata.store.metadata import FeatureSpec

EgemapsLevel = Literal["lld", "functionals"]
EGEMAPS_DIMS = {"lld": 25, "functionals": 88}
LLD_HOP = 0.01  # seconds between eGeMAPS LLD frames
LLD_WINDOW = 0.02  # the frame span openSMILE reports for each LLD row (the last one is cut at the signal end)
#: Edge loss of the LLD frames: openSMILE gives 1 + (d - 0.05) x 100 frames for d seconds (26 for 0.3 s, 496
#: for 5 s, at 8, 16 and 44.1 kHz): frames whose 60 ms pitch window runs past the end are dropped. Recorded as
#: the spec's `frame_window`, so that `mmdata check` expects as many (a clip of 0.3 s is not 4 frames short).
LLD_EDGE_WINDOW = 0.05
MIN_SECONDS = 0.06  # eGeMAPS's pitch window: openSMILE outputs nothing for a shorter signal
_INT16_MAX = 32767 / 32768  # the largest sample a 16-bit signal holds


@dataclass(frozen=True)
class EgemapsConfig:
    level: EgemapsLevel = "lld"
    sample_rate: int = 16000
    on_silence: OnSilence = "error"

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be > 0, got {self.sample_rate}")


@register_extractor
class Egemaps(AudioFrameExtractor):
    """openSMILE eGeMAPSv02: 25 LLDs at 100 Hz (`level=lld`) or 88 functionals per segment."""

    name: ClassVar[str] = "egemaps"
    config_type: ClassVar[type] = EgemapsConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "opensmile", *AUDIO_DECODE_LIBRARIES)
    _smile: Any = None  # built on first use in each worker process

    @property
    def table_name(self) -> str:
        return f"audio.egemaps-{self.config.level}"

    def output_spec(self) -> FeatureSpec:
        dim = EGEMAPS_DIMS[self.config.level]
        if self.config.level == "functionals":
            return FeatureSpec(dim=dim)
        return FeatureSpec(dim=dim, kind="sequence", intervals=True, frame_rate=1 / LLD_HOP, item_axis="time",
                           frame_window=LLD_EDGE_WINDOW)

    def provenance(self) -> dict[str, Any]:
        return {**super().provenance(), "columns": list(self._load().feature_names)}

    def decode(self, row: dict[str, Any], corpus_root: Path) -> Any:
        segment = super().decode(row, corpus_root)
        if len(segment.samples) < round(MIN_SECONDS * segment.sample_rate):
            raise MediaError(
                f"{segment.path}: segment of {segment.duration * 1000:.1f} ms is too short for openSMILE eGeMAPS: "
                f"expected at least {MIN_SECONDS * 1000:.0f} ms (one pitch window); use a longer segment"
            )
        samples = np.clip(segment.samples, -1.0, _INT16_MAX)
        frame = self._load().process_signal(samples, segment.sample_rate)
        values = frame.to_numpy(dtype=np.float32)
        if self.config.level == "functionals":
            return values[0]
        starts = frame.index.get_level_values("start").total_seconds().to_numpy()
        return values, cell_intervals(starts + LLD_WINDOW / 2, segment.duration, segment.offset)

    def compute(self, items: list[Any]) -> list[Any]:
        return items

    def _load(self) -> Any:
        if self._smile is None:
            import opensmile

            level = {"lld": opensmile.FeatureLevel.LowLevelDescriptors, "functionals": opensmile.FeatureLevel.Functionals}
            self._smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=level[self.config.level])
        return self._smile
