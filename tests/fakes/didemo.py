"""A fake DiDeMo corpus as users have it: the release's train_data.json, val_data.json and test_data.json (lists of
descriptions, indented so that lines mean something) and real twelve-second videos, named as the JSON names them
(`videos/<name>.mov`) or as the release's AWS script saves them (`DiDeMo_Videos/<name>.mov.mp4`), in one folder
or in a folder per split (`videos/train/`, as LAVIS and VINDLU keep them).

`write_fake_didemo` returns a `FakeCorpus` whose `expected` holds the samples a loader must yield for no split
(default options); `SPANS` gives each sample's (start, end, group_id).
"""
from __future__ import annotations

import json
from pathlib import Path

from tests.fakes import ExpectedSample, FakeCorpus, numbered_ids, register_fake, replace_line
from tests.fakes.av import write_mp4
from tests.fakes.captioned_media import write_json

#: The length of every fake video in seconds (three colours of 4 s at 5 fps): a 5-second segment from 10 s on
#: is cut at 12 s.
VIDEO_SECONDS = 12.0
FILES = {"train": "train_data.json", "val": "val_data.json", "test": "test_data.json"}
#: The descriptions, in file order: (split, video, description as written, every annotator's [start, end] pair).
DESCRIPTIONS: tuple[tuple[str, str, str, list[list[int]]], ...] = (
    ("train", "10015567@N08_3655084291_d8b58466fa.mov", "a dog jumps into the pool",
     [[1, 1], [1, 1], [1, 2], [0, 1]]),
    ("train", "10015567@N08_3655084291_d8b58466fa.mov", "  the dog swims back  ", [[1, 2], [1, 2], [2, 2], [1, 2]]),
    ("train", "73313398@N00_5213766418_fc7a9f7db2.mp4", "a man walks on the beach", [[0, 0]] * 4),
    ("val", "13191254@N00_3433006936_6f1b5ea9f4.avi", "kids run across the field", [[0, 1], [0, 1], [0, 0], [0, 1]]),
    ("test", "44477141@N00_4866548578_0b1e4a3bcd.mov", "the camera pans to the left", [[2, 2], [2, 2], [2, 2], [1, 2]]),
)
#: The annotation_id of the k-th description: the release's are integers, unique across the files.
FIRST_ANNOTATION_ID = 3001


def sample_ids() -> list[str]:
    """The sample id of each description, `<video>[k]` (k: the video's k-th description)."""
    return numbered_ids(video for _, video, _, _ in DESCRIPTIONS)


#: Each sample's (start, end, group_id) under the default options: the span most annotators chose, in seconds,
#: cut at the video's 12 s.
SPANS = {
    "10015567@N08_3655084291_d8b58466fa.mov[0]": (5.0, 10.0, "10015567@N08_3655084291_d8b58466fa.mov"),
    "10015567@N08_3655084291_d8b58466fa.mov[1]": (5.0, 12.0, "10015567@N08_3655084291_d8b58466fa.mov"),
    "73313398@N00_5213766418_fc7a9f7db2.mp4[0]": (0.0, 5.0, "73313398@N00_5213766418_fc7a9f7db2.mp4"),
    "13191254@N00_3433006936_6f1b5ea9f4.avi[0]": (0.0, 10.0, "13191254@N00_3433006936_6f1b5ea9f4.avi"),
    "44477141@N00_4866548578_0b1e4a3bcd.mov[0]": (10.0, 12.0, "44477141@N00_4866548578_0b1e4a3bcd.mov"),
}


def write_video(path: Path, seed: int) -> Path:
    """A twelve-second 64x48 MPEG-4 video (5 fps) of three colours, unique per seed (in the container the suffix
    names: MP4, QuickTime, AVI)."""
    colors = [((41 * seed) % 256, 120, 30), (10, (67 * seed) % 256, 220), (200, 30, (89 * seed) % 256)]
    return write_mp4(path, colors, fps=5, frames_per_color=20)


def video_file(video: str, video_dir: str, naming: str) -> str:
    """Where the fake puts a video: named as the JSON names it (`as-named`), as the AWS script saves it
    (`aws`: `.mp4` added) or converted (`converted`: its suffix swapped for `.mp4`)."""
    name = {"as-named": video, "aws": f"{video}.mp4", "converted": f"{Path(video).stem}.mp4"}[naming]
    return f"{video_dir}/{name}".lstrip("/")


def annotation_entry(k: int, video: str, text: str, times: list[list[int]]) -> dict:
    """One description as the release writes it."""
    return {"annotation_id": FIRST_ANNOTATION_ID + k, "description": text, "video": video, "times": times,
            "dl_link": f"https://www.flickr.com/video_download.gne?id={video.split('_')[1]}",
            "num_segments": 6}


def write_fake_didemo(root: Path, *, annotations_dir: str = "", video_dir: str = "videos",
                      naming: str = "as-named", split_folders: dict[str, str] | None = None) -> FakeCorpus:
    """The three annotation files in `annotations_dir` and each video once in `video_dir`, named per `naming`
    (see `video_file`); with `split_folders` (split -> folder name) in `video_dir`'s folder of its split."""
    entries: dict[str, list[dict]] = {split: [] for split in FILES}
    expected: dict[str, ExpectedSample] = {}
    seeds: dict[str, int] = {}
    for k, (sid, (split, video, text, times)) in enumerate(zip(sample_ids(), DESCRIPTIONS)):
        folder = f"{video_dir}/{split_folders[split]}" if split_folders else video_dir
        path = video_file(video, folder, naming)
        if video not in seeds:
            seeds[video] = len(seeds)
            write_video(root / path, seeds[video])
        entries[split].append(annotation_entry(k, video, text, times))
        expected[sid] = ExpectedSample(video=path, captions=(text.strip(),), split=split)
    for split, name in FILES.items():
        write_json(root / annotations_dir / name, entries[split])
    path = root / annotations_dir / FILES["train"]
    return FakeCorpus("didemo", root, path, expected,
                      corrupt=lambda: replace_line(path, 4, '    "description": a dog jumps,'))


@register_fake("didemo", "as-named")
def write_fake_didemo_as_named(root: Path) -> FakeCorpus:
    """The JSONs in the root, every video in videos/ named as the JSON names it."""
    return write_fake_didemo(root)


@register_fake("didemo", "aws-script")
def write_fake_didemo_aws_script(root: Path) -> FakeCorpus:
    """The release's data/ folder, every video in DiDeMo_Videos/ as the AWS script saves it (`<name>.mp4`)."""
    return write_fake_didemo(root, annotations_dir="data", video_dir="DiDeMo_Videos", naming="aws")


@register_fake("didemo", "per-split-folders")
def write_fake_didemo_per_split_folders(root: Path) -> FakeCorpus:
    """The release's LocalizingMoments/data/, each video in its split's folder: videos/train/, videos/val/,
    videos/test_videos/."""
    return write_fake_didemo(root, annotations_dir="LocalizingMoments/data", video_dir="videos",
                             split_folders={"train": "train", "val": "val", "test": "test_videos"})
