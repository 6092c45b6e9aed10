"""A fake Charades-STA corpus as users have it: charades_sta_train.txt and charades_sta_test.txt (one moment a
line, `AO8RW 0.0 1.2##sentence`), Charades' Charades_v1_train.csv and Charades_v1_test.csv (the `length` of each
video) and real two-second MP4 videos in Charades_v1_480/; or mmaction2's data/CharadesSTA/ layout,
Charades_sta_train.txt, Charades_sta_test.txt and Charades_duration.json (video id -> length) together.

`write_fake_charades_sta` returns a `FakeCorpus` whose `expected` holds the samples a loader must yield for no
split; `SPANS` gives each sample's (start, end, group_id).
"""
from __future__ import annotations

import json
from pathlib import Path

from tests.fakes import ExpectedSample, FakeCorpus, numbered_ids, register_fake, replace_line
from tests.fakes.activitynet import write_video

#: The moments, in file order: (split, video id, start, end, sentence as written).
MOMENTS: tuple[tuple[str, str, float, float, str], ...] = (
    ("train", "AO8RW", 0.0, 1.2, "a person is putting a book on a shelf."),
    ("train", "Y6R7T", 0.3, 1.5, "person opens the door."),
    ("train", "AO8RW", 0.8, 2.0, "person begins to laugh.  "),
    ("test", "3MSZA", 0.0, 1.1, "a person is pouring coffee into a cup"),
    ("test", "3MSZA", 0.9, 2.0, "the person drinks from the cup."),
)
#: Each video's `length` in the Charades CSVs (the MP4s are two seconds long).
LENGTHS = {"AO8RW": 2.0, "Y6R7T": 2.0, "3MSZA": 2.0}
FILES = {"train": "charades_sta_train.txt", "test": "charades_sta_test.txt"}
#: The same files as mmaction2's data/CharadesSTA/ names them.
MMACTION2_FILES = {"train": "Charades_sta_train.txt", "test": "Charades_sta_test.txt"}
CSV_HEADER = "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length"


def _sample_ids() -> list[str]:
    return numbered_ids(video for _, video, *_ in MOMENTS)


#: Each sample's (start, end, group_id).
SPANS = {sid: (start, end, video) for sid, (_, video, start, end, _) in zip(_sample_ids(), MOMENTS)}


def moment_line(video: str, start: float, end: float, sentence: str) -> str:
    return f"{video} {start} {end}##{sentence}"


def write_fake_charades_sta(root: Path, *, annotations_dir: str = "", video_dir: str = "Charades_v1_480",
                            csv_dir: str | None = "Charades", file_names: dict[str, str] = FILES,
                            duration_json: bool = False) -> FakeCorpus:
    """The two moment files in `annotations_dir` (named `file_names`), the Charades CSVs in `csv_dir` (None: none
    written), Charades_duration.json beside the moment files where `duration_json`, and each video once in
    `video_dir` as `<id>.mp4`."""
    lines: dict[str, list[str]] = {split: [] for split in FILES}
    expected: dict[str, ExpectedSample] = {}
    for seed, (sid, (split, video, start, end, sentence)) in enumerate(zip(_sample_ids(), MOMENTS)):
        path = f"{video_dir}/{video}.mp4"
        if not (root / path).exists():
            write_video(root / path, seed)
        lines[split].append(moment_line(video, start, end, sentence))
        expected[sid] = ExpectedSample(video=path, captions=(sentence.strip(),), split=split)
    for split, name in file_names.items():
        write_text(root / annotations_dir / name, "\n".join(lines[split]) + "\n")
    if csv_dir is not None:
        for split in FILES:
            videos = dict.fromkeys(v for s, v, *_ in MOMENTS if s == split)
            rows = [f'{v},HR43,Kitchen,6,7,Yes,"A person cooks.",food,"A person cooks.",c106 0.0 1.0,{LENGTHS[v]}'
                    for v in videos]
            write_text(root / csv_dir / f"Charades_v1_{split}.csv", "\n".join([CSV_HEADER, *rows]) + "\n")
    json_path = root / annotations_dir / "Charades_duration.json"
    if duration_json:
        write_text(json_path, json.dumps(LENGTHS, indent=4))
    csv_path = root / (csv_dir or "Charades") / "Charades_v1_train.csv"
    return FakeCorpus("charades-sta", root, root / annotations_dir / file_names["train"], expected,
                      corrupt=lambda: _corrupt(csv_path, json_path, csv_dir is not None))


def _corrupt(csv_path: Path, json_path: Path, has_csvs: bool) -> str:
    """Break what the lengths are read from in a way that stops the load: the CSV header loses its `length`
    column (a bad length alone is only a problem of its video), else the JSON's second line is no JSON."""
    if has_csvs:
        return replace_line(csv_path, 1, CSV_HEADER.replace(",length", ",duration"))
    return replace_line(json_path, 2, '    "AO8RW": two seconds,')


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@register_fake("charades-sta", "txt-and-charades-csvs")
def write_fake_charades_sta_release(root: Path) -> FakeCorpus:
    """The two moment files in the root, Charades.zip's CSVs in Charades/, the videos in Charades_v1_480/."""
    return write_fake_charades_sta(root)


@register_fake("charades-sta", "annotations-folder-csvs-beside")
def write_fake_charades_sta_annotations_folder(root: Path) -> FakeCorpus:
    """Moment files and CSVs together in annotations/ (2D-TAN's data/Charades-STA layout), videos in Charades_v1/."""
    return write_fake_charades_sta(root, annotations_dir="annotations", video_dir="Charades_v1",
                                   csv_dir="annotations")


@register_fake("charades-sta", "mmaction2-charadessta-folder")
def write_fake_charades_sta_mmaction2(root: Path) -> FakeCorpus:
    """mmaction2's data/CharadesSTA/: Charades_sta_{train,test}.txt and Charades_duration.json, no Charades CSV."""
    return write_fake_charades_sta(root, annotations_dir="CharadesSTA", csv_dir=None, file_names=MMACTION2_FILES,
                                   duration_json=True)
