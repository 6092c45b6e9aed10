"""Real clips whose frames are not symmetric (FFmpeg's test pattern), and copies of them whose display
matrix says to turn them, made with the `ffmpeg` command line the way phones' files state it."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

WIDTH, HEIGHT = 160, 90


def ffmpeg(*args: str) -> None:
    subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-y", *args], check=True)


def ffmpeg_first_frame(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    """The first frame as the `ffmpeg` command line gives it (it turns frames upright by default)."""
    out = subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(out, np.uint8).reshape(shape)


@pytest.fixture(scope="session")
def rotated_clips(tmp_path_factory) -> dict[int, Path]:
    """{rotate tag: clip}: 0 is the stored clip (160 x 90, 5 fps, 1 s); 90, 180 and 270 are the same
    stream with a display matrix that turns it."""
    root = tmp_path_factory.mktemp("rotated")
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={WIDTH}x{HEIGHT}:rate=5:duration=1", "-pix_fmt", "yuv420p",
           "-c:v", "libx264", str(root / "rot0.mp4"))
    for angle in (90, 180, 270):
        ffmpeg("-i", str(root / "rot0.mp4"), "-c", "copy", "-metadata:s:v:0", f"rotate={angle}",
               str(root / f"rot{angle}.mp4"))
    return {angle: root / f"rot{angle}.mp4" for angle in (0, 90, 180, 270)}
