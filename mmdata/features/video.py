"""`video-frames`: any registered image extractor applied to frames sampled from a video.

Frames are sampled at `fps` within the sample's `[start, end)` segment (`mmdata.media.video`).
A segment that runs past the end of the video by more than a tenth of its length fails the sample
naming both times, as for audio (`mmdata.features.audio_frames.check_segment_overrun`), `max_frames` or not;
so does one that starts that much before the video's first frame (`check_segment_start`).
Each frame goes through the image extractor's own `decode` (in the worker processes) and its
`compute` (one call per batch of samples, over all their frames together, in the main process),
so model-based image extractors batch across frames as they do across images. The image extractor's
`device` (`image_options=device=cuda`) is this extractor's (`image_models.model_device`): both
executors refuse one that is missing up front, and under Ray a model image extractor computes in
model actors, loaded once per actor, on a GPU when the cluster has one.

Output: `pool='none'` keeps one row per frame (a sequence table with per-frame intervals and
`frame_rate=fps`), `pool='mean'|'max'` reduces the frames to one vector per sample. The table is
`video.frames-<image extractor>` (plus `-mean`/`-max` when pooled). `mean` is the mean over time:
each frame weighs the length of the interval it stands for (`time_weighted_mean`), so a last frame
cut short by the segment's or the video's end (a 2.2 s video at 1 fps: frames at 0, 1 and 2 s, the
last standing for 0.2 s) counts for that part of the video only; `max` takes every frame as it is.

    create_extractor("video-frames:image_extractor=color-hist,image_options=bins=8;decode_size=64,fps=2")

Each frame goes to the image extractor as a picture already decoded (its `decode_pixels`, which
mmdata's image extractors define); an extractor without it reads files, so the frame is handed to its
`decode` as a lossless PNG in a temporary directory of the worker. Either way what the extractor
computes is what it computes on a still image of those pixels. Frames go through it one by one as
they are decoded, so a long video's frames are never all in memory; what `decode` makes of them waits
for `compute` in memory up to 32 MiB a sample, then, when it is arrays (a ResNet's 224x224 crops, 150 KB
a frame), in a temporary file (`mmdata.features.video_frame_store`). `compute` hands the image
extractor at most `FRAMES_PER_COMPUTE` frames at a time. Each frame's PNG is overwritten by the next
and deleted before `compute`, so the image extractor's `decode` must return loaded data: a PIL image
is loaded (`Image.load()`) as it comes back, a path is a ConfigError.
"""
from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mmdata.corpora.base import resolve_media
from mmdata.errors import ConfigError, MediaError
from mmdata.features.audio_frames import check_segment_overrun, check_segment_underrun
from mmdata.features.base import Extractor, create_extractor, register_extractor, takes_decoded_pictures
from mmdata.features.video_frame_store import FrameStore, SpilledFrames
from mmdata.media.video import read_video_frames
from mmdata.options import option_text, options_to_json
from mmdata.store.metadata import FeatureSpec
from mmdata.store.tables import INAPPLICABLE_OPTIONS

Pool = Literal["none", "mean", "max"]

#: Frames per call of the image extractor's `compute`: a batch of samples may hold thousands of
#: frames, which a model must not see as one batch.
FRAMES_PER_COMPUTE = 64


def check_segment_start(row: dict[str, Any], path: Path | str, first_frame: float) -> None:
    """`check_segment_underrun` at the video's first sampled frame (`first_frame`, seconds of the file)."""
    check_segment_underrun(row, path, first_frame, "video", begins="the first frame of the video",
                           hint="; an MPEG-TS time line often starts near 1.4 s, not 0")


def time_weighted_mean(frames: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    """The mean of `frames` (T, D) over the time they stand for: each frame weighs the length of its
    interval (`intervals`, (T, 2) seconds), so a last frame cut short by the segment's or the video's
    end counts for the part of the video it covers, not a whole frame period. Frames of equal
    intervals weigh the same, as in a plain mean."""
    weights = np.diff(np.asarray(intervals, dtype=np.float64), axis=1)[:, 0]
    if not (weights > 0).all():  # no sampled frame has an empty interval; an odd clip falls back to equal weights
        weights = np.ones(len(frames))
    mean = np.tensordot(weights, np.asarray(frames, dtype=np.float64), axes=1) / weights.sum()
    return mean.astype(frames.dtype) if np.issubdtype(frames.dtype, np.floating) else mean


@dataclass(frozen=True)
class VideoFramesConfig:
    #: Name of a registered image extractor (pooled, fixed dim): color-hist, pixel-stats, resnet50, ...
    image_extractor: str = "color-hist"
    #: Options of the image extractor, `key=value` pairs separated by ';' (e.g. "bins=8;decode_size=64").
    image_options: str = ""
    #: Frames sampled per second of video.
    fps: float = 1.0
    pool: Pool = "none"
    #: At most this many frames per sample (0 = no limit).
    max_frames: int = 0
    #: Turn frames upright as the video's display matrix says (phone videos; multiples of 90 degrees),
    #: as the `ffmpeg` command line does; false: the pixels as stored.
    autorotate: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a finite number > 0, got {self.fps}")
        if self.max_frames < 0:
            raise ValueError(f"max_frames must be >= 0, got {self.max_frames}")


@dataclass
class DecodedFrames:
    """What a worker returns for one sample: the image extractor's decoded items, one per frame."""

    items: list[Any] | SpilledFrames  # a long video's in a temporary file (`video_frame_store`)
    intervals: np.ndarray  # (T, 2) seconds of the media file


@register_extractor
class VideoFrames(Extractor):
    """An image extractor applied to frames sampled at `fps`; kept as a sequence or pooled."""

    name: ClassVar[str] = "video-frames"
    modality: ClassVar = "video"
    config_type: ClassVar[type] = VideoFramesConfig

    def __init__(self, config: Any = None):
        super().__init__(config)
        spec = self.config.image_extractor + (":" + self.config.image_options.replace(";", ",") if self.config.image_options else "")
        try:
            self.image = create_extractor(spec, modality="image")
        except ConfigError as e:
            raise ConfigError(f"extractor 'video-frames' option 'image_options': {e}") from e
        inner = self.image.output_spec()
        if inner.kind != "pooled" or inner.dim is None:
            raise ConfigError(
                f"extractor 'video-frames': image extractor {self.image.name!r} writes {inner.kind} features of dim "
                f"{inner.dim}; expected one fixed-size vector per image"
            )
        self.libraries = ("numpy", "av", *self.image.libraries)

    def __getstate__(self) -> dict[str, Any]:
        # The image extractor is rebuilt by name in the worker: its class goes along by reference, so
        # that unpickling imports (and so registers) an extractor of one's own (a recipe's `modules`),
        # and a class no worker can import (a notebook's) stops here, as it does alone
        # (`mmdata.features.base._reduce_extractor_class`), instead of killing every worker.
        # Its state goes too: what it resolved here (a weights file given relative, as an absolute path).
        return {**super().__getstate__(), "image_class": type(self.image), "image": self.image.__getstate__()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "image" in state:
            self.image.__setstate__(state["image"])

    @property
    def table_name(self) -> str:
        suffix = "" if self.config.pool == "none" else f"-{self.config.pool}"
        return f"video.frames-{self.image.name}{suffix}"

    def output_spec(self) -> FeatureSpec:
        inner = self.image.output_spec()
        if self.config.pool != "none":
            return FeatureSpec(dim=inner.dim, dtype=inner.dtype)
        return FeatureSpec(
            dim=inner.dim, dtype=inner.dtype, kind="sequence", intervals=True, frame_rate=float(self.config.fps),
            item_axis="time",
        )

    def provenance(self) -> dict[str, Any]:
        """The image extractor's options are recorded in one spelling (sorted, defaults and runtime
        options such as its device left out), so that `bins=8;decode_size=64` and
        `decode_size=64;bins=8`, or the same options on another device, resume the same table."""
        out = super().provenance()
        inner = self.image.provenance()
        out["image_extractor"] = inner
        # The image extractor's own versions (a plugin package, its `version`) decide the frames too:
        # in `versions`, a resume after they change is refused as for any library.
        out["versions"] = {**inner["versions"], **out["versions"]}
        defaults = options_to_json(type(self.image.config)())
        # Options the image extractor leaves out of its own config as not applying are still listed here,
        # as before: `image_options` is one string, which a table made before must still match.
        skipped = set(inner.get(INAPPLICABLE_OPTIONS, ()))
        options = {**inner["config"], **{k: v for k, v in options_to_json(self.image.config).items() if k in skipped}}
        out["config"]["image_options"] = ";".join(
            f"{key}={option_text(value)}" for key, value in sorted(options.items()) if value != defaults.get(key))
        return out

    def decode(self, row: dict[str, Any], corpus_root: Path) -> DecodedFrames:
        if not row.get("video"):
            raise MediaError(f"sample {row['sample_id']!r} has no video file; expected a 'video' path")
        from PIL import Image

        takes_pixels = takes_decoded_pictures(self.image)
        with tempfile.TemporaryDirectory(prefix="mmdata-frames-") as tmp:
            path = resolve_media(corpus_root, row["video"])

            def decode_frame(rgb: np.ndarray, time: float) -> Any:
                frame_id = f"{row['sample_id']}@{time:.3f}s"
                try:
                    if takes_pixels:
                        return self.image.decode_pixels(Image.fromarray(rgb), frame_id)
                    Image.fromarray(rgb).save(Path(tmp) / "frame.png", compress_level=1)
                    item = self.image.decode({"sample_id": frame_id, "image": "frame.png"}, Path(tmp))
                except MediaError as e:
                    raise MediaError(f"{path}: frame at {time:.3f}s: {e}") from e
                return self._loaded(item)

            with FrameStore(decode_frame) as store:  # a long video's frames go to a temporary file as they come
                clip = read_video_frames(
                    path, fps=self.config.fps, start=row.get("start"), end=row.get("end"),
                    max_frames=self.config.max_frames or None, convert=store, autorotate=self.config.autorotate,
                )
                check_segment_start(row, path, float(clip.intervals[0, 0]))
                check_segment_overrun(row, path, float(clip.intervals[-1, 1] if clip.video_end is None
                                                       else clip.video_end), "video")
                return DecodedFrames(store.frames(clip.frames), clip.intervals)

    def _loaded(self, item: Any) -> Any:
        """The image extractor's decoded frame with its data in memory: each frame's PNG is overwritten by
        the next and deleted before `compute`, so a lazily opened PIL image is loaded now, and a path
        (decode deferring the reading to `compute`) is a ConfigError."""
        if isinstance(item, (str, Path)):
            raise ConfigError(
                f"extractor 'video-frames': image extractor {self.image.name!r} decode returned a path ({item!r}), "
                "but video frames are temporary files that are gone before compute; expected decode to return "
                "loaded data (an array, or a PIL image after .load())"
            )
        from PIL import Image

        if isinstance(item, Image.Image):
            item.load()
        return item

    def compute(self, items: list[DecodedFrames]) -> list[Any]:
        vectors = []
        for chunk in _chunks_of_frames(items, FRAMES_PER_COMPUTE):
            computed = self.image.compute(chunk)
            if len(computed) != len(chunk):
                raise RuntimeError(
                    f"image extractor {self.image.name!r} returned {len(computed)} features for {len(chunk)} frames"
                )
            vectors.extend(computed)
        out, start = [], 0
        for item in items:
            frames = np.stack([np.asarray(v) for v in vectors[start : start + len(item.items)]])
            start += len(item.items)
            if self.config.pool == "mean":
                out.append(time_weighted_mean(frames, item.intervals))
            elif self.config.pool == "max":
                out.append(frames.max(axis=0))
            else:
                out.append((frames, item.intervals))
        return out


def _chunks_of_frames(items: list[DecodedFrames], size: int) -> Iterator[list[Any]]:
    """The frames of `items`, in order, `size` at a time; frames in a temporary file are read a chunk at a time."""
    chunk: list[Any] = []
    for item in items:
        at = 0
        while at < len(item.items):
            take = min(size - len(chunk), len(item.items) - at)
            chunk.extend(item.items[at : at + take])  # a file's frames: an array, extended row by row
            at += take
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk
