"""A fake YouCook2 corpus as users have it: annotations/youcookii_annotations_trainval.json (indented, so that lines
mean something), the test file of segments without sentences, label_foodtype.csv (the recipe names, beside
annotations/ as in the release), and real two-second videos named as the release's download script saves them,
`raw_videos/<subset>/<recipe_type>/<id>.mp4` (or in one flat folder).

`write_fake_youcook2` returns a `FakeCorpus` whose `expected` holds the samples a loader must yield for no split;
`SEGMENTS` gives each sample's (start, end, group_id).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes import ExpectedSample, FakeCorpus, register_fake, replace_line
from tests.fakes.activitynet import write_json, write_video

#: The videos: (YouTube id, subset, recipe type, duration, [(start, end, sentence as written), ...]).
VIDEOS: tuple[tuple[str, str, str, float, list[tuple[float, float, str]]], ...] = (
    ("GLd3aX16zBg", "training", "113", 2.0, [(0, 1, "spread margarine on two slices of bread"),
                                             (1, 2, "  place a slice of cheese on the bread  ")]),
    ("sGzBQrg1adY", "training", "101", 2.0, [(0.2, 1.4, "cut the onion into small pieces")]),
    ("9GX8f5EwwE4", "validation", "212", 2.0, [(0, 1, "cut the onion in half and dice"),
                                               (1, 2, "peel and chop the carrots into pieces")]),
)
SPLITS = {"training": "train", "validation": "val"}
#: Each sample's (start, end, group_id).
SEGMENTS = {f"{key}[{i}]": (float(start), float(end), key)
            for key, _, _, _, segments in VIDEOS for i, (start, end, _) in enumerate(segments)}
#: label_foodtype.csv's rows, in the release's `<recipe type>,<name>` form (it has 89; one here no video uses).
RECIPE_NAMES = {"101": "grilled cheese", "113": "bangers and mash", "212": "mapo tofu", "301": "pad thai"}
ANNOTATION_FILE = "youcookii_annotations_trainval.json"
RECIPE_NAMES_FILE = "label_foodtype.csv"
TEST_FILE = "youcookii_annotations_test_segments_only.json"


def video_entry(subset: str, recipe_type: str, duration: float, segments: list[tuple[float, float, str]]) -> dict:
    """A `database` entry as the release writes it."""
    return {"subset": subset, "duration": duration, "recipe_type": recipe_type,
            "video_url": "https://www.youtube.com/watch?v=...",
            "annotations": [{"id": i, "segment": [start, end], "sentence": text}
                            for i, (start, end, text) in enumerate(segments)]}


def write_fake_youcook2(root: Path, *, annotations_dir: str = "annotations", video_dir: str = "raw_videos",
                        nested: bool = True, suffix: str = ".mp4", recipe_names: bool = True) -> FakeCorpus:
    """The two annotation files in `annotations_dir` (with label_foodtype.csv above it, where `recipe_names`)
    and each video once in `video_dir`, in its `<subset>/<recipe_type>/` folder where `nested`, named
    `<id><suffix>`."""
    database: dict[str, Any] = {}
    expected: dict[str, ExpectedSample] = {}
    for seed, (key, subset, recipe, duration, segments) in enumerate(VIDEOS):
        folder = f"{video_dir}/{subset}/{recipe}" if nested else video_dir
        video = f"{folder}/{key}{suffix}".lstrip("/")
        write_video(root / video, seed)
        database[key] = video_entry(subset, recipe, duration, segments)
        for i, (_, _, text) in enumerate(segments):
            expected[f"{key}[{i}]"] = ExpectedSample(video=video, captions=(text.strip(),), split=SPLITS[subset])
    path = write_json(root / annotations_dir / ANNOTATION_FILE, {"database": database})
    test = {"database": {"dUqxhx3T5Ts": {"subset": "testing", "duration": 2.0, "recipe_type": "113",
                                         "annotations": [{"id": 0, "segment": [0, 1]}]}}}
    write_json(root / annotations_dir / TEST_FILE, test)
    if recipe_names:
        folder = (root / annotations_dir).parent if annotations_dir else root
        (folder / RECIPE_NAMES_FILE).write_text("".join(f"{k},{v}\n" for k, v in RECIPE_NAMES.items()))
    return FakeCorpus("youcook2", root, path, expected,
                      corrupt=lambda: replace_line(path, 4, '      "subset": training,'))


@register_fake("youcook2", "release-raw-videos")
def write_fake_youcook2_release(root: Path) -> FakeCorpus:
    """The release's layout: annotations/ and raw_videos/<subset>/<recipe_type>/<id>.mp4."""
    return write_fake_youcook2(root)


@register_fake("youcook2", "flat-folder-webm")
def write_fake_youcook2_flat(root: Path) -> FakeCorpus:
    """The annotation files in the root, every video in videos/ as <id>.webm."""
    return write_fake_youcook2(root, annotations_dir="", video_dir="videos", nested=False, suffix=".webm")
