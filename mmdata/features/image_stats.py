"""Weight-free image features: colour histogram and pixel statistics."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmdata.corpora.base import resolve_media
from mmdata.errors import MediaError
from mmdata.features.base import Extractor, register_extractor
from mmdata.media.image import load_rgb_array, open_image
from mmdata.store.metadata import FeatureSpec


def sample_image_path(row: dict[str, Any], corpus_root: Path) -> Path:
    """The image file of a samples-table row (MediaError when the sample has none)."""
    if not row.get("image"):
        raise MediaError(f"sample {row['sample_id']!r} has no image")
    return resolve_media(corpus_root, row["image"])


@dataclass(frozen=True)
class ColorHistogramConfig:
    bins: int = 16
    #: Decode at reduced size so that the shorter side is >= this many pixels (0 = full size).
    decode_size: int = 128

    def __post_init__(self) -> None:
        if not 1 <= self.bins <= 256:
            raise ValueError(f"bins must be in [1, 256], got {self.bins}")


def color_histogram(rgb: np.ndarray, bins: int) -> np.ndarray:
    """Per-channel histogram of an H x W x 3 uint8 image, each channel normalized to sum 1.

    Feature definition: for channel c, bin b counts pixels with value v where
    floor(v * bins / 256) == b; the 3 histograms are concatenated (R, G, B).
    """
    counts = np.stack([np.bincount(rgb[..., c].reshape(-1), minlength=256) for c in range(3)])
    return histogram_from_counts(counts, bins)


def histogram_from_counts(counts: np.ndarray, bins: int) -> np.ndarray:
    """Reduce 3 x 256 per-value counts (e.g. PIL's `Image.histogram()`) to the colour-histogram feature."""
    counts = np.asarray(counts, dtype=np.float64).reshape(3, 256)
    if 256 % bins == 0:
        reduced = counts.reshape(3, bins, 256 // bins).sum(axis=2)
    else:
        index = np.arange(256) * bins // 256
        reduced = np.stack([np.bincount(index, weights=counts[c], minlength=bins) for c in range(3)])
    total = max(1.0, counts[0].sum())
    return (reduced / total).astype(np.float32).reshape(-1)


@register_extractor
class ColorHistogram(Extractor):
    """Per-channel RGB histogram (3 x bins), each channel summing to 1."""

    name: ClassVar[str] = "color-hist"
    modality: ClassVar = "image"
    safe_decoder: ClassVar[bool] = True  # Pillow: a bad image file is an exception, not a crash
    config_type: ClassVar[type] = ColorHistogramConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "pillow")

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=3 * self.config.bins)

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        # Computed in the worker (shipping pixels back would cost more), from PIL's C histogram.
        img = open_image(sample_image_path(row, corpus_root), min_size=self.config.decode_size or None)
        return self.decode_pixels(img, row["sample_id"])

    def decode_pixels(self, image: Any, sample_id: str) -> np.ndarray:
        return histogram_from_counts(np.asarray(image.histogram()), self.config.bins)

    def compute(self, items: list[np.ndarray]) -> list[np.ndarray]:
        return items


@dataclass(frozen=True)
class PixelStatsConfig:
    #: Decode at reduced size so that the shorter side is >= this many pixels (0 = full size). The
    #: statistics are those of the reduced image: edge density and the stds depend on the scale, and
    #: each side rounds up to a whole pixel (aspect_ratio within 1/decode_size, relative, of the file's).
    decode_size: int = 128


PIXEL_STATS_NAMES = (
    "mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b",
    "brightness", "contrast", "saturation", "colorfulness", "edge_density", "aspect_ratio",
)


def pixel_stats(rgb: np.ndarray) -> np.ndarray:
    """12 statistics of an H x W x 3 uint8 image, in the order of PIXEL_STATS_NAMES: channel means and
    stds, brightness, contrast and saturation in [0, 1]; colourfulness (Hasler & Suesstrunk on [0, 1]
    values) >= 0, at most ~1.8; edge density (mean |horizontal| + mean |vertical| grey difference) in
    [0, 2]; aspect_ratio = width / height."""
    x = rgb.astype(np.float32) / 255.0
    # float64 sums: NumPy adds float32 along the pixel axes one by one (no pairwise summation there),
    # which drifts by ~4e-4 on a 512 x 512 image and past 0.2 on a 48-megapixel one.
    mean = x.mean(axis=(0, 1), dtype=np.float64)
    std = x.std(axis=(0, 1), dtype=np.float64)
    gray = x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    mx, mn = x.max(axis=2), x.min(axis=2)
    saturation = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0.0).mean()
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    colorfulness = np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    gx = np.abs(np.diff(gray, axis=1)).mean() if gray.shape[1] > 1 else 0.0
    gy = np.abs(np.diff(gray, axis=0)).mean() if gray.shape[0] > 1 else 0.0
    height, width = gray.shape
    return np.array(
        [*mean, *std, gray.mean(), gray.std(), saturation, colorfulness, gx + gy, width / height], dtype=np.float32
    )


@register_extractor
class PixelStats(Extractor):
    """Channel means/stds, brightness, contrast, saturation, colourfulness, edge density, aspect ratio."""

    name: ClassVar[str] = "pixel-stats"
    modality: ClassVar = "image"
    safe_decoder: ClassVar[bool] = True  # Pillow: a bad image file is an exception, not a crash
    config_type: ClassVar[type] = PixelStatsConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "pillow")

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=len(PIXEL_STATS_NAMES))

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        return pixel_stats(load_rgb_array(sample_image_path(row, corpus_root), min_size=self.config.decode_size or None))

    def decode_pixels(self, image: Any, sample_id: str) -> np.ndarray:
        return pixel_stats(np.asarray(image))

    def compute(self, items: list[np.ndarray]) -> list[np.ndarray]:
        return items
