"""Clip embeddings from torchvision's Kinetics-400 video models: R3D-18, MC3-18, R(2+1)D-18 and S3D.

A sample's video (or its `[start, end)` segment) is sampled at `fps` with PyAV as `video-frames` samples
it (`mmdata.media.video.read_video_frames`: autorotate, segment bounds, truncation), then cut into clips
of `clip_frames` sampled frames starting every `step` seconds (default: back to back). Each clip gives
the model's penultimate layer, the pooled features its classifier reads (512-d for the ResNets, 1024-d
for S3D). `pool=none` keeps one row per clip with the clip's `[start, end]` seconds; `pool=mean` is the
plain mean of the clip rows (each clip counts once).

The last clip: with `tail=pad` (the default) a clip that runs past the last sampled frame is filled
by repeating that frame, so the clips cover the whole segment; `tail=drop` leaves it out. A video
shorter than one clip gives one padded clip either way.

Weights resolve as the image backbones' do (`mmdata.features.image_models`): a weights name read only
from the torch hub cache, a state-dict file, or `random` with `seed`; nothing downloads. The table
records them as theirs: the file's SHA-256 under `weights` and its fingerprint under `versions`
("weights:<file name>"), so that a resume after the file changed is refused.

Preprocessing is the weights' `transforms()` (`VideoClassification`; for a file or `random`: those of
the default Kinetics weights): each frame is resized with bilinear interpolation (no antialiasing)
and rounded back to 8 bits, centre-cropped, scaled to [0, 1] and normalized. The resize and crop run
per frame in the decode workers, in NumPy (`resize_center_crop_frame`), with the arithmetic of
PyTorch's CPU kernel (float32, fused multiply-adds), so the crops are byte for byte what
torchvision's transforms give on x86-64 CPUs with AVX2/FMA (a build that does not fuse them may differ
by one level on rare pixels), and only the crops travel to the main process; normalization and the
model run there, on `device`, `batch_size` clips at a time.

Long videos: `max_clips=N` keeps N clips spread uniformly over a segment that holds more, and decodes
only their frames (`mmdata.features.video_clip_sampling` says how they are chosen and read). Without it
every sampled frame's crop waits for the model (30 minutes at fps 15 are 27,000 crops of 112x112, 1 GB):
past 32 MiB a sample's crops go to a temporary file as they are made, and `compute` reads them a clip at a
time (`mmdata.features.video_frame_store`), so memory does not grow with the video's length.
`max_decoded_frames` bounds the crops one sample may make: a sample with more fails, with a reason in the
errors table naming it and how to cap it, before anything is decoded when the file's header already says so.
The default, 54,000 frames (an hour at 15 fps, 2 GB of crops; S3D: 13,500 of its 224x224 crops, 2 GB too),
refuses only what would have made more.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mmdata.corpora.base import resolve_media
from mmdata.errors import ConfigError, MediaError
from mmdata.features.audio import check_segment_overrun
from mmdata.features.base import Extractor, register_extractor
from mmdata.features.image_models import TorchvisionBackbone, check_device, resolve_device
from mmdata.features.video import check_segment_start
from mmdata.features.video_clip_sampling import (
    check_frame_budget, probe_extent, read_clip_frames, stated_frames, uniform_clip_choice,
)
from mmdata.features.video_frame_store import FrameStore, SpilledFrames
from mmdata.media.video import read_video_frames
from mmdata.store.metadata import FeatureSpec

log = logging.getLogger(__name__)

#: How far under one sampled frame a `step` may fall (float rounding) and still count as one. Any more,
#: and rounding the starts puts two clips on one frame (0.6 frame puts the 2nd and 3rd clips on frame 1).
STEP_ROUNDING = 1e-9

ClipPool = Literal["none", "mean"]
ClipTail = Literal["pad", "drop"]


@dataclass(frozen=True)
class ClipPreprocessing:
    """What the weights' `VideoClassification` transforms do to each frame."""

    resize_size: tuple[int, ...]  # (height, width), or (shorter side,)
    crop_size: tuple[int, int]  # (height, width)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    min_frames: int  # the fewest frames a clip may have (the weights' `min_temporal_size`)


@dataclass(frozen=True)
class ClipModelConfig:
    #: A torchvision weights name (from the torch hub cache), a state-dict file path, or 'random'.
    weights: str = "KINETICS400_V1"
    #: Seed of the initialisation when weights='random' (not recorded with other weights).
    seed: int = 0
    #: 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto' (cuda when available).
    device: str = "cpu"
    #: Sampled frames per clip (the model card's clip length).
    clip_frames: int = 16
    #: Frames sampled per second of video for the clips (the model card's frame rate).
    fps: float = 15.0
    #: Seconds from one clip's start to the next; 0: clip_frames / fps (back to back). Clip starts
    #: snap to the nearest sampled frame.
    step: float = 0.0
    #: 'none': one row per clip with its interval; 'mean': the mean of the clip rows.
    pool: ClipPool = "none"
    #: The last clip when it runs past the last sampled frame: 'pad' repeats that frame, 'drop' leaves
    #: the clip out (a video shorter than one clip still gives one padded clip).
    tail: ClipTail = "pad"
    #: At most this many clips per sample, spread uniformly over it (0: every clip). Only their frames
    #: are decoded (see `mmdata.features.video_clip_sampling`); pool='mean' averages the clips kept.
    max_clips: int = 0
    #: The most sampled frames one sample may hold at once (0: no bound); a sample with more fails with
    #: a reason naming it. A bound on the crops' memory (their temporary file past 32 MiB), not recorded:
    #: it changes no feature.
    max_decoded_frames: int = 54_000
    #: Clips per forward pass of the model (a runtime option: it does not change the features).
    batch_size: int = 8
    #: Turn frames upright as the video's display matrix says (multiples of 90 degrees), as `ffmpeg` does.
    autorotate: bool = True

    def __post_init__(self) -> None:
        if not self.weights.strip():
            raise ValueError("weights must be a torchvision weights name, a state-dict file path or 'random'")
        check_device(self.device)
        if self.clip_frames < 1:
            raise ValueError(f"clip_frames must be >= 1, got {self.clip_frames}")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a finite number > 0, got {self.fps}")
        if not (math.isfinite(self.step) and self.step >= 0):
            raise ValueError(f"step must be a finite number of seconds >= 0 (0: clip_frames / fps), got {self.step}")
        if self.step and self.step * self.fps < 1 - STEP_ROUNDING:
            raise ValueError(f"step {self.step} s is under one sampled frame at fps={self.fps:g}; "
                             f"expected at least {1 / self.fps:.4g} s")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_clips < 0:
            raise ValueError(f"max_clips must be >= 0 (0: every clip), got {self.max_clips}")
        if self.max_decoded_frames < 0:
            raise ValueError(f"max_decoded_frames must be >= 0 (0: no bound), got {self.max_decoded_frames}")

    @property
    def step_frames(self) -> float:
        """Sampled frames from one clip's start to the next (fractional when `step` is not a whole number of them)."""
        return self.step * self.fps if self.step else float(self.clip_frames)


@dataclass
class DecodedClips:
    """What a worker returns for one sample: its sampled frames, cropped, and where each clip starts."""

    #: (T, crop h, crop w, 3) uint8: an array, or a long segment's crops in a temporary file (`video_frame_store`)
    frames: np.ndarray | SpilledFrames
    starts: np.ndarray  # (clips,) index of each clip's first frame
    intervals: np.ndarray  # (clips, 2) seconds of the media file each clip covers


class TorchvisionClipModel(TorchvisionBackbone):
    """A torchvision video classifier with its classifier replaced by the identity."""

    modality: ClassVar = "video"
    safe_decoder: ClassVar[bool] = False  # FFmpeg decodes: a hostile file may crash it, so decode in workers
    config_type: ClassVar[type] = ClipModelConfig
    libraries: ClassVar[tuple[str, ...]] = ("torch", "torchvision", "numpy", "av")
    decode_pixels = Extractor.decode_pixels  # a video model takes videos, not pictures

    @property
    def table_name(self) -> str:
        return f"{self.modality}.{self.name}" + ("" if self.config.pool == "none" else f"-{self.config.pool}")

    def output_spec(self) -> FeatureSpec:
        if self.config.pool != "none":
            return FeatureSpec(dim=self.dim)
        cfg = self.config
        return FeatureSpec(
            dim=self.dim, kind="sequence", intervals=True, frame_rate=cfg.fps / cfg.step_frames, item_axis="time",
            frame_window=cfg.clip_frames / cfg.fps,
        )

    def inapplicable_options(self) -> frozenset[str]:
        # max_clips=0 keeps every clip, as tables made before the option did.
        return super().inapplicable_options() | ({"max_clips"} if not self.config.max_clips else set())

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        out["runtime"]["batch_size"] = out["config"].pop("batch_size")
        # A bound on memory decides whether a sample fails, never what a row holds: a runtime option, so a
        # resume with another bound keeps the rows (and `check` notes the difference, as for `device`).
        out["runtime"]["max_decoded_frames"] = out["config"].pop("max_decoded_frames")
        return out

    def preprocessing(self) -> ClipPreprocessing:
        """The resize/crop/normalization of the weights' transforms (the default weights' for a file or random).

        Raises:
            ConfigError: `clip_frames` is below the fewest frames the model takes.
        """
        if self._preprocessing is None:
            enum = self._weights_enum()
            source = self.weights_source()
            member = enum[source.name] if source.kind == "hub" else enum[self.config_type().weights]
            transforms = member.transforms()
            if transforms.interpolation.value != "bilinear":
                raise ConfigError(f"extractor {self.name!r}: weights {member} resize with "
                                  f"{transforms.interpolation.value} interpolation; only bilinear is implemented")
            min_frames = int(member.meta.get("min_temporal_size") or 1)
            if self.config.clip_frames < min_frames:
                raise ConfigError(f"extractor {self.name!r}: clip_frames={self.config.clip_frames} is below the "
                                  f"{min_frames} frames {self.arch} takes; expected clip_frames >= {min_frames}")
            self._preprocessing = ClipPreprocessing(
                resize_size=tuple(int(v) for v in transforms.resize_size),
                crop_size=(int(transforms.crop_size[0]), int(transforms.crop_size[-1])),
                mean=tuple(float(v) for v in transforms.mean),
                std=tuple(float(v) for v in transforms.std),
                min_frames=min_frames,
            )
        return self._preprocessing

    def check_ready(self) -> None:
        super().check_ready()
        self.preprocessing()  # clip_frames against the model's minimum, before anything is decoded

    # -- the two stages --

    def decode(self, row: dict[str, Any], corpus_root: Path) -> DecodedClips:
        """The sample's frames sampled at `fps`, resized and cropped, and its clips' starts and intervals."""
        if not row.get("video"):
            raise MediaError(f"sample {row['sample_id']!r} has no video file; expected a 'video' path")
        path = resolve_media(corpus_root, row["video"])
        if self.config.max_clips:
            chosen = self._decode_chosen_clips(row, path)
            if chosen is not None:
                return chosen
        return self._decode_every_clip(row, path)

    def _decode_every_clip(self, row: dict[str, Any], path: Path) -> DecodedClips:
        """Every sampled frame of the segment (at most `max_decoded_frames` of them), cut into clips;
        with `max_clips`, the clips it keeps of those."""
        cfg = self.config
        start, end = row.get("start"), row.get("end")
        limit = cfg.max_decoded_frames
        if limit:
            stated = stated_frames(path, fps=cfg.fps, start=start, end=end) or 0
            self._check_budget(row, path, stated, f"its header puts the segment at over {stated} sampled frames "
                                                  f"at fps={cfg.fps:g}")
        with FrameStore(self._crop) as store:  # a long segment's crops go to a temporary file as they are made
            video = read_video_frames(
                path, fps=cfg.fps, start=start, end=end, autorotate=cfg.autorotate, convert=store,
                max_frames=limit + 1 if limit else None,  # one over the bound tells that it is over
            )
            self._check_budget(row, path, len(video), f"the segment has more than {limit} sampled frames at "
                                                      f"fps={cfg.fps:g}")
            check_segment_start(row, path, float(video.intervals[0, 0]))
            check_segment_overrun(row, path, float(video.intervals[-1, 1] if video.video_end is None
                                                   else video.video_end), "video")
            starts = clip_starts(len(video), cfg.clip_frames, cfg.step_frames, cfg.tail)
            if cfg.max_clips:
                starts = starts[uniform_clip_choice(len(starts), cfg.max_clips)]
            last = np.minimum(starts + cfg.clip_frames, len(video)) - 1
            intervals = np.stack([video.intervals[starts, 0], video.intervals[last, 1]], axis=1)
            return DecodedClips(store.frames(video.frames, stack=True), starts, intervals)

    def _decode_chosen_clips(self, row: dict[str, Any], path: Path) -> DecodedClips | None:
        """The `max_clips` clips kept of a segment holding more, only their frames decoded; None when the
        segment holds no more clips than that, or its frames cannot be placed without decoding them all."""
        cfg = self.config
        extent = probe_extent(path, fps=cfg.fps, start=row.get("start"), end=row.get("end"), autorotate=cfg.autorotate)
        if extent is None:
            return None
        check_segment_start(row, path, extent.begin)
        check_segment_overrun(row, path, extent.stop, "video")
        every = clip_starts(extent.count, cfg.clip_frames, cfg.step_frames, cfg.tail)
        if len(every) <= cfg.max_clips:
            return None
        starts = every[uniform_clip_choice(len(every), cfg.max_clips)]
        held = len(starts) * cfg.clip_frames
        self._check_budget(row, path, held, f"max_clips={cfg.max_clips} clips of clip_frames={cfg.clip_frames} are "
                                            f"{held} frames")
        frames = read_clip_frames(path, extent, starts, cfg.clip_frames, convert=self._crop, autorotate=cfg.autorotate)
        if frames is None:
            return None
        last = np.minimum(starts + cfg.clip_frames, extent.count) - 1
        return DecodedClips(frames, np.arange(len(starts), dtype=np.int64) * cfg.clip_frames,
                            extent.intervals(starts, last))

    def _crop(self, rgb: np.ndarray, _time: float) -> np.ndarray:
        pre = self.preprocessing()
        return resize_center_crop_frame(rgb, pre.resize_size, pre.crop_size)

    def _check_budget(self, row: dict[str, Any], path: Path, frames: int, counted: str) -> None:
        check_frame_budget(row["sample_id"], path, frames=frames, counted=counted, crop=self.preprocessing().crop_size,
                           max_decoded_frames=self.config.max_decoded_frames)

    def compute(self, items: list[DecodedClips]) -> list[Any]:
        import torch

        model, device = self.load_model()
        clips = [(item.frames, int(start)) for item in items for start in item.starts]
        # Filled in place: a small array kept per batch would pin the heap under each batch's freed
        # tensors, and the process would grow with the video's length (glibc's malloc).
        rows = np.empty((len(clips), self.dim), np.float32)
        for first in range(0, len(clips), self.config.batch_size):
            chunk = clips[first : first + self.config.batch_size]
            batch = np.stack([clip_of(frames, start, self.config.clip_frames) for frames, start in chunk])
            with torch.inference_mode():
                rows[first : first + len(chunk)] = model(self.normalized_clips(batch, device)).float().cpu().numpy()
        out, at = [], 0
        for item in items:
            sample_rows, at = rows[at : at + len(item.starts)], at + len(item.starts)
            out.append(sample_rows.mean(axis=0) if self.config.pool == "mean" else (sample_rows, item.intervals))
        return out

    def normalized_clips(self, clips: np.ndarray, device: str = "cpu") -> Any:
        """(N, T, H, W, 3) uint8 crops -> the model's (N, 3, T, H, W) float32 input on `device`: what the
        weights' transforms give after their resize and crop (scaled to [0, 1], minus mean, over std)."""
        import torch

        pre = self.preprocessing()
        # uint8 goes to the device as is (a quarter of the bytes of float).
        batch = torch.from_numpy(np.ascontiguousarray(clips)).to(device, non_blocking=True)
        mean = torch.tensor(pre.mean, device=device).view(1, 1, 1, 1, -1)
        std = torch.tensor(pre.std, device=device).view(1, 1, 1, 1, -1)
        x = batch.float().div_(255.0).sub_(mean).div_(std)
        return x.permute(0, 4, 1, 2, 3).contiguous()

    # -- the model --

    def _build_model(self) -> tuple[Any, str]:
        import torch
        import torchvision

        device = resolve_device(self.config.device)
        source = self.weights_source()
        state = None if source.kind == "random" else self._read_state_dict(source)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)
            model = torchvision.models.get_model(self.arch, weights=None)
        setattr(model, self.head, torch.nn.Identity())
        if state is not None:
            self._load_state_dict(model, state, source)
        model.eval().to(device)
        log.info("loaded %s (%s weights) on %s", self.name, source.kind, device)
        return model, device


def clip_starts(num_frames: int, clip_frames: int, step_frames: float, tail: ClipTail) -> np.ndarray:
    """Index of the first frame of each clip: every `step_frames` frames (rounded to a frame) while a
    whole clip fits in `num_frames`; then, with tail='pad', one more clip where the next would start if
    frames are left after the last whole clip. A video shorter than one clip gives one clip at 0."""
    if num_frames <= clip_frames:
        return np.zeros(1, np.int64)
    # Starts up to one at or past the last frame: rounding a fractional step can bring the start after
    # the last whole clip's down onto a whole clip too, so counting whole clips alone may come up short.
    count = int(num_frames / step_frames) + 2
    starts = np.floor(np.arange(count) * step_frames + 0.5).astype(np.int64)
    whole = starts[starts + clip_frames <= num_frames]
    following = starts[len(whole)]
    if tail == "pad" and whole[-1] + clip_frames < num_frames and following < num_frames:
        return np.append(whole, following)
    return whole


def clip_of(frames: np.ndarray, start: int, clip_frames: int) -> np.ndarray:
    """`clip_frames` frames from `start`, the last frame repeated where the frames run out."""
    return frames[np.minimum(np.arange(start, start + clip_frames), len(frames) - 1)]


def resize_center_crop_frame(rgb: np.ndarray, resize_size: tuple[int, ...], crop_size: tuple[int, int]) -> np.ndarray:
    """The centre crop of an H x W x 3 uint8 frame resized as torchvision's `F.resize(frame_tensor,
    resize_size, BILINEAR, antialias=False)` resizes it (a uint8 result, rounded half to even), then
    `F.center_crop`. Only the output rows and columns inside the crop are computed."""
    height, width = rgb.shape[:2]
    out_h, out_w = _resized_size(height, width, resize_size)
    crop_h, crop_w = crop_size
    top, left = int(round((out_h - crop_h) / 2.0)), int(round((out_w - crop_w) / 2.0))
    rows = _linear_taps(height, out_h)[top : top + crop_h]
    cols = _linear_taps(width, out_w)[left : left + crop_w]
    pixels = rgb.astype(np.float32)
    r0, r1, wh0, wh1 = (rows[:, k] for k in range(4))
    c0, c1, ww0, ww1 = (cols[:, k] for k in range(4))
    r0, r1, c0, c1 = (v.astype(np.int64) for v in (r0, r1, c0, c1))
    wh0, wh1, ww0, ww1 = (v.astype(np.float32) for v in (wh0, wh1, ww0, ww1))

    def along_width(row_index: np.ndarray) -> np.ndarray:
        picked = pixels[row_index]
        return _mul_add(picked[:, c0], ww0[None, :, None], picked[:, c1] * ww1[None, :, None])

    out = _mul_add(along_width(r0), wh0[:, None, None], along_width(r1) * wh1[:, None, None])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _resized_size(height: int, width: int, resize_size: tuple[int, ...]) -> tuple[int, int]:
    """(height, width) after torchvision's resize: both given, or the shorter side given (aspect kept)."""
    if len(resize_size) == 2:
        return resize_size[0], resize_size[1]
    short, long = (height, width) if height <= width else (width, height)
    new_short, new_long = resize_size[0], int(resize_size[0] * long / short)
    return (new_short, new_long) if height <= width else (new_long, new_short)


def _linear_taps(in_size: int, out_size: int) -> np.ndarray:
    """Per output index: the two input indices and their weights, as PyTorch's CPU kernel computes them
    (`area_pixel_compute_source_index` in float32 with align_corners=False, the source index fused as
    `fma(scale, i + 0.5, -0.5)`). Returned as an (out_size, 4) float64 array [i0, i1, w0, w1]."""
    if in_size == out_size:
        index = np.arange(out_size, dtype=np.float64)
        return np.stack([index, index, np.ones(out_size), np.zeros(out_size)], axis=1)
    scale = np.float32(in_size) / np.float32(out_size)
    centre = np.arange(out_size, dtype=np.float32) + np.float32(0.5)
    source = np.maximum(_mul_add(np.float32(scale), centre, np.float32(-0.5)), np.float32(0))
    first = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
    lam = np.clip(source - first.astype(np.float32), np.float32(0), np.float32(1)).astype(np.float32)
    second = np.minimum(first + 1, in_size - 1)
    return np.stack([first, second, np.float32(1) - lam, lam], axis=1).astype(np.float64)


def _mul_add(a: Any, b: Any, c: Any) -> np.ndarray:
    """float32 `a * b + c` rounded once, as a fused multiply-add (computed in float64: the product of
    two float32 numbers is exact there)."""
    return (np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(np.float32)


@register_extractor
class R3D18(TorchvisionClipModel):
    """R3D-18 (3D ResNet) clip features: the 512-d global average pool before the classifier."""

    name: ClassVar[str] = "r3d-18"
    arch: ClassVar[str] = "r3d_18"
    head: ClassVar[str] = "fc"
    dim: ClassVar[int] = 512


@register_extractor
class MC318(TorchvisionClipModel):
    """MC3-18 (mixed 3D/2D convolutions) clip features (512-d)."""

    name: ClassVar[str] = "mc3-18"
    arch: ClassVar[str] = "mc3_18"
    head: ClassVar[str] = "fc"
    dim: ClassVar[int] = 512


@register_extractor
class R2Plus1D18(TorchvisionClipModel):
    """R(2+1)D-18 (factorized spatial and temporal convolutions) clip features (512-d)."""

    name: ClassVar[str] = "r2plus1d-18"
    arch: ClassVar[str] = "r2plus1d_18"
    head: ClassVar[str] = "fc"
    dim: ClassVar[int] = 512


@dataclass(frozen=True)
class S3DConfig(ClipModelConfig):
    #: The model card's clip length (128 frames at 15 fps, 8.5 s); the model takes 14 frames or more.
    clip_frames: int = 128
    #: 15 minutes at 15 fps: 2 GB of its 224x224 crops, as 54,000 frames are of the ResNets' 112x112.
    max_decoded_frames: int = 13_500
    batch_size: int = 2


@register_extractor
class S3D(TorchvisionClipModel):
    """S3D clip features: the 1024-d average pool before the classifier, averaged over the positions
    it leaves (as the classifier's logits are)."""

    name: ClassVar[str] = "s3d"
    config_type: ClassVar[type] = S3DConfig
    arch: ClassVar[str] = "s3d"
    head: ClassVar[str] = "classifier"
    dim: ClassVar[int] = 1024

