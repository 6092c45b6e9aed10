"""A fake ActivityNet Captions corpus as users have it: train.json, val_1.json and val_2.json (indented, so that
lines mean something) and real two-second MP4 (or MKV) videos named as the YouTube downloads are.

`write_fake_activitynet` returns a `FakeCorpus` whose `expected` holds the samples a loader must yield for no
split (default options); `SEGMENTS` gives each sample's span and group.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakes import ExpectedSample, FakeCorpus, register_fake, replace_line
from tests.fakes.av import write_mp4
from tests.fakes.captioned_media import write_json

#: The videos: (JSON key, annotation file, duration, [(start, end, sentence), ...]).
VIDEOS: tuple[tuple[str, str, float, list[tuple[float, float, str]]], ...] = (
    ("v_QOlSCBRmfWY", "train.json", 2.0, [(0.0, 1.2, "A young woman is seen standing in a room."),
                                          (0.8, 2.0, "  She then dances, \"twirling\" around.  ")]),
    ("v_ehGHCYKzyZ8", "train.json", 2.0, [(0.2, 1.0, "A man plays the bagpipes outside.")]),
    ("v_nwznKOuZM7w", "val_1.json", 2.0, [(0.0, 1.0, "Two dogs run on a beach."), (1.0, 2.0, "One dog swims.")]),
    ("v_nwznKOuZM7w", "val_2.json", 2.0, [(0.4, 1.6, "Dogs play in the sea.")]),
)
SPLITS = {"train.json": "train", "val_1.json": "val", "val_2.json": "val"}
#: Each sample's (start, end, group_id) under the default options.
SEGMENTS = {f"{key}{'.val_2' if file == 'val_2.json' else ''}[{i}]": (start, end, key)
            for key, file, _, segments in VIDEOS for i, (start, end, _) in enumerate(segments)}


def write_video(path: Path, seed: int) -> Path:
    """A two-second 64x48 video of two colours (10 fps), unique per seed: MPEG-4 in MP4 or MKV by the path's
    suffix, or VP8 for `.webm` (YouTube's WebM downloads hold VP8/VP9, which the WebM container requires)."""
    colors = [((41 * seed) % 256, 120, 30), (10, (67 * seed) % 256, 220)]
    if path.suffix == ".webm":
        return _write_webm(path, colors, fps=10, frames_per_color=10)
    return write_mp4(path, colors, fps=10, frames_per_color=10)


def _write_webm(path: Path, colors: list[tuple[int, int, int]], *, fps: int, frames_per_color: int) -> Path:
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for color in colors:
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), color, np.uint8), format="rgb24")
            for _ in range(frames_per_color):
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_fake_activitynet(root: Path, *, captions_dir: str = "captions", video_dir: str = "videos",
                           prefix: bool = True, suffix: str = ".mp4", split_folders: bool = False) -> FakeCorpus:
    """The three annotation files in `captions_dir` and each video once in `video_dir` (in its split's folder,
    `train/` or `val/`, with `split_folders`), named `v_<id><suffix>`, or `<id><suffix>` without `prefix`."""
    files: dict[str, dict[str, Any]] = {name: {} for name in SPLITS}
    expected: dict[str, ExpectedSample] = {}
    for seed, (key, file, duration, segments) in enumerate(VIDEOS):
        folder = "/".join(p for p in (video_dir, SPLITS[file] if split_folders else "") if p)
        video = f"{folder}/{key if prefix else key.removeprefix('v_')}{suffix}".lstrip("/")
        if not (root / video).exists():
            write_video(root / video, seed)
        files[file][key] = {"duration": duration, "timestamps": [[s, e] for s, e, _ in segments],
                            "sentences": [text for _, _, text in segments]}
        base = f"{key}.val_2" if file == "val_2.json" else key
        for i, (_, _, text) in enumerate(segments):
            expected[f"{base}[{i}]"] = ExpectedSample(video=video, captions=(text.strip(),), split=SPLITS[file])
    for name, data in files.items():
        write_json(root / captions_dir / name, data)
    path = root / captions_dir / "train.json"
    return FakeCorpus("activitynet-captions", root, path, expected,
                      corrupt=lambda: replace_line(path, 3, '    "duration": two seconds,'))


@register_fake("activitynet-captions", "captions-zip")
def write_fake_activitynet_captions_zip(root: Path) -> FakeCorpus:
    """captions.zip unpacked into captions/, every video in videos/ as v_<id>.mp4."""
    return write_fake_activitynet(root)


@register_fake("activitynet-captions", "bare-ids-per-split")
def write_fake_activitynet_bare_ids(root: Path) -> FakeCorpus:
    """The JSONs in the root, the videos in videos/train/ and videos/val/ as <id>.mkv (yt-dlp's names)."""
    return write_fake_activitynet(root, captions_dir="", prefix=False, suffix=".mkv", split_folders=True)
