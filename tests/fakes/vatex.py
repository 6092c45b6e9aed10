"""A fake VATEX corpus as users have it: vatex_training_v1.0.json, vatex_validation_v1.0.json and
vatex_public_test_english_v1.1.json (indented, so that lines mean something; the test file without `chCap`, as
released) and real two-second videos, either the cut clips (`<videoID>.mp4`) or the whole YouTube videos
(`<youtube_id>.mp4`, `.mkv`, `.webm`).

The videoIDs' spans fit the two-second videos (the release's are 10 s in longer videos): a whole video then
holds its clips. `write_fake_vatex` returns a `FakeCorpus` whose `expected` holds what a loader yields for no
split (default options: English captions).
"""
from __future__ import annotations

from pathlib import Path

from tests.fakes import ExpectedSample, FakeCorpus, register_fake, replace_line
from tests.fakes.activitynet import write_json, write_video

#: The annotation file of each split.
FILES = {"train": "vatex_training_v1.0.json", "val": "vatex_validation_v1.0.json",
         "test": "vatex_public_test_english_v1.1.json"}
#: The clips: (YouTube id, start, end, split). YouTube ids may hold `_` and `-`; Ptf_2VRj-V0 has two clips.
CLIPS = (("Ptf_2VRj-V0", 0, 1, "train"), ("Ptf_2VRj-V0", 1, 2, "train"), ("-3ZrcOvHjG4", 0, 2, "train"),
         ("a_bc-DEfGh1", 0, 1, "val"), ("zzY9x_8-w7Q", 1, 2, "test"))


def clip_id(youtube_id: str, start: int, end: int) -> str:
    """The videoID of a clip: `<youtube_id>_<start:06d>_<end:06d>`."""
    return f"{youtube_id}_{start:06d}_{end:06d}"


def english(video_id: str, k: int) -> str:
    """An English caption with quotes, distinct per clip and number."""
    return f"A person in clip {video_id} does \"thing\" number {k}."


def chinese(video_id: str, k: int) -> str:
    return f"一个人在视频{video_id}里做第{k}件事。"


def write_fake_vatex(root: Path, *, annotations_dir: str = "", video_dir: str = "videos", whole_videos: bool = False,
                     suffix: str = ".mp4", captions: int = 10) -> FakeCorpus:
    """The three annotation files in `annotations_dir` (`captions` English and, but in test, Chinese captions a
    clip) and each clip's video in `video_dir`: its own file `<videoID><suffix>`, or with `whole_videos` its
    YouTube video's `<youtube_id><suffix>`."""
    entries: dict[str, list[dict]] = {split: [] for split in FILES}
    expected: dict[str, ExpectedSample] = {}
    for seed, (youtube_id, start, end, split) in enumerate(CLIPS):
        video_id = clip_id(youtube_id, start, end)
        video = f"{video_dir}/{youtube_id if whole_videos else video_id}{suffix}".lstrip("/")
        if not (root / video).exists():
            write_video(root / video, seed)
        entry = {"videoID": video_id, "enCap": [english(video_id, k) for k in range(captions)]}
        if split != "test":
            entry["chCap"] = [chinese(video_id, k) for k in range(captions)]
        entries[split].append(entry)
        expected[video_id] = ExpectedSample(video=video, captions=tuple(entry["enCap"]), split=split)
    for split, name in FILES.items():
        write_json(root / annotations_dir / name, entries[split])
    path = root / annotations_dir / FILES["train"]
    return FakeCorpus("vatex", root, path, expected,
                      corrupt=lambda: replace_line(path, 3, f'    "videoID": {clip_id(*CLIPS[0][:3])},'))


@register_fake("vatex", "clips")
def write_fake_vatex_clips(root: Path) -> FakeCorpus:
    """The annotation files in the root, the cut clips in videos/ as <videoID>.mp4."""
    return write_fake_vatex(root)


@register_fake("vatex", "youtube-videos")
def write_fake_vatex_youtube_videos(root: Path) -> FakeCorpus:
    """The annotation files in annotations/, the whole YouTube videos in videos/ as <youtube_id>.mkv."""
    return write_fake_vatex(root, annotations_dir="annotations", whole_videos=True, suffix=".mkv")
