"""Small real clips for the video-stream tests: frame k of a clip is flat grey at level `LEVEL_STEP * k`, so a
sampled frame's mean names the frame it is."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

FPS, FRAMES = 10, 20  # a 2 s clip
LEVEL_STEP = 10

def write_clip(path: Path, *, fps: int = FPS, frames: int = FRAMES, offset: int = 0) -> Path:
    """An MPEG-4 clip (near-lossless) of `frames` flat grey frames, frame k at level (k + offset) * LEVEL_STEP."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 32, 24, "yuv420p"
        video.options = {"qmin": "1", "qmax": "3"}
        for index in range(frames):
            level = min(255, (index + offset) * LEVEL_STEP)
            rgb = np.full((24, 32, 3), level, np.uint8)
            container.mux(video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(video.encode(None))
    return path


def frame_index(rgb: np.ndarray) -> int:
    return int(round(float(np.asarray(rgb).mean()) / LEVEL_STEP))


def ffmpeg(*args: str) -> None:
    subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-y", *args], check=True)
