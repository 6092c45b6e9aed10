"""A fake Kinetics as copies of it are on disk: the release's annotation CSVs (header
`label,youtube_id,time_start,time_end,split,is_cc`; a test file without labels as Kinetics-600's and 700-2020's)
and real clips named `<youtube_id>_<start:06d>_<end:06d>`: flat in `train/`, `val/`, `test/` (the CVDF tarballs), or
in one folder per class (`<split>/<label>/`, as the ActivityNet crawler writes them, spaces or `_` in the name).
Kinetics-400's first release instead (or as well) as JSON, one object per split keyed by YouTube id
(`kinetics_train.json`: `{"0347ZoDXyP0": {"annotations": {"label": ..., "segment": [14.0, 24.0]}, ...}}`).

`write_fake_kinetics` returns a `FakeCorpus` whose `expected` holds the samples a loader must yield for no split;
`CLASSES` gives each labelled sample's class.
"""
from __future__ import annotations

import json
from pathlib import Path

from tests.fakes import ExpectedSample, FakeCorpus, register_fake, replace_line
from tests.fakes.av import tone, write_mp4
from tests.fakes.vggsound import garble_line

#: The clips: (label, youtube_id, time_start, time_end, split); `-` and `_` in ids as YouTube's, a class with
#: parentheses, two clips of one video in train, and test clips (whose labels some releases withhold).
CLIPS: tuple[tuple[str, str, int, int, str], ...] = (
    ("abseiling", "0347ZoDXyP0", 14, 24, "train"),
    ("passing American football (in game)", "-3Ssbl6_Xo8", 0, 10, "train"),
    ("abseiling", "_xk4Ey1WbXw", 30, 40, "train"),
    ("abseiling", "_xk4Ey1WbXw", 95, 105, "train"),
    ("playing guitar", "--07WQ2iBlw", 1, 11, "val"),
    ("passing American football (in game)", "zZZ9-tqMm3I", 3, 13, "val"),
    ("playing guitar", "a1b2c3d4e5f", 120, 130, "test"),
)
#: The split folders of the CVDF copy.
SPLIT_FOLDERS = {"train": "train", "val": "val", "test": "test"}
#: The clips a JSON file can hold (one per YouTube video in a split: the files are keyed by YouTube id), as
#: Kinetics-400's are.
JSON_CLIPS = tuple(c for i, c in enumerate(CLIPS) if all(c[1] != d[1] or c[4] != d[4] for d in CLIPS[:i]))
HEADER = "label,youtube_id,time_start,time_end,split,is_cc"
#: Each split's `subset` as the release's JSON writes it.
SUBSETS = {"train": "train", "val": "validate", "test": "test"}
#: The JSON files' names in Kinetics-400's first release.
JSON_NAMES = {"train": "kinetics_train.json", "val": "kinetics_val.json", "test": "kinetics_test.json"}
UNLABELLED_HEADER = "youtube_id,time_start,time_end,split"


def clip_id(youtube_id: str, start: int, end: int) -> str:
    return f"{youtube_id}_{start:06d}_{end:06d}"


#: Each sample's class, where its file holds labels.
CLASSES = {clip_id(y, s, e): label for label, y, s, e, _ in CLIPS}


def annotation_csv(rows: list[tuple[str, str, int, int, str]], *, labelled: bool = True) -> str:
    """The rows as the release writes a split's CSV: a header, `label,youtube_id,time_start,time_end,split,is_cc`
    (or, without labels, `youtube_id,time_start,time_end,split`), LF line ends."""
    if labelled:
        lines = [HEADER] + [f"{label},{y},{s},{e},{split},0" for label, y, s, e, split in rows]
    else:
        lines = [UNLABELLED_HEADER] + [f"{y},{s},{e},{split}" for _, y, s, e, split in rows]
    return "".join(line + "\n" for line in lines)


def annotation_json(rows: list[tuple[str, str, int, int, str]], *, labelled: bool = True) -> str:
    """The rows as Kinetics-400's first release writes a split's JSON: one object keyed by YouTube id, on one line,
    each segment's times as floats (`[14.0, 24.0]`), the label left out of unlabelled entries."""
    entries = {}
    for label, youtube_id, start, end, split in rows:
        if youtube_id in entries:
            raise ValueError(f"a JSON file holds one clip per YouTube video; {youtube_id} twice (use JSON_CLIPS)")
        annotations = {**({"label": label} if labelled else {}), "segment": [float(start), float(end)]}
        entries[youtube_id] = {"annotations": annotations, "duration": float(end - start), "subset": SUBSETS[split],
                               "url": f"https://www.youtube.com/watch?v={youtube_id}"}
    return json.dumps(entries)


def write_fake_kinetics(root: Path, *, annotations_dir: str = "annotations", file_names: dict[str, str] | None = None,
                        media_dir: str = "", class_folders: bool = False, labelled_test: bool = True,
                        suffixes: dict[str, str] | None = None,
                        clips: tuple[tuple[str, str, int, int, str], ...] = CLIPS,
                        json_names: dict[str, str] | None = None) -> FakeCorpus:
    """A split CSV each in `annotations_dir` (`file_names`: split -> name; default train.csv, validate.csv,
    test.csv; `{}`: none) and a split JSON each named in `json_names` (`{"train": "kinetics_train.json"}`, see
    `JSON_NAMES`), and each clip in `<media_dir>/<split>/` (in its class's folder with `class_folders`, the train
    split's named as the label, the others with `_` for spaces), as `<id>_<start:06d>_<end:06d><suffix>`
    (`suffixes`: sample id -> suffix; default .mp4). The fake's annotation file is the train split's CSV, else
    its JSON."""
    names = {"train": "train.csv", "val": "validate.csv", "test": "test.csv"} if file_names is None else file_names
    expected: dict[str, ExpectedSample] = {}
    for seed, (label, youtube_id, start, end, split) in enumerate(clips):
        sample_id = clip_id(youtube_id, start, end)
        klass = (label if split == "train" else label.replace(" ", "_")) if class_folders and split != "test" else ""
        folder = "/".join(p for p in (media_dir, SPLIT_FOLDERS[split], klass) if p)
        path = f"{folder}/{sample_id}{(suffixes or {}).get(sample_id, '.mp4')}"
        write_video_clip(root / path, seed)
        expected[sample_id] = ExpectedSample(split=split, video=path)
    folder = root / annotations_dir
    folder.mkdir(parents=True, exist_ok=True)
    for split, name in names.items():
        rows = [c for c in clips if c[4] == split]
        (folder / name).write_text(annotation_csv(rows, labelled=labelled_test or split != "test"), encoding="utf-8")
    for split, name in (json_names or {}).items():
        rows = [c for c in clips if c[4] == split]
        (folder / name).write_text(annotation_json(rows, labelled=labelled_test or split != "test"), encoding="utf-8")
    if "train" in names:
        train_csv = folder / names["train"]
        return FakeCorpus("kinetics", root, train_csv, expected, corrupt=lambda: garble_line(train_csv, 3))
    train_json = folder / (json_names or {})["train"]
    return FakeCorpus("kinetics", root, train_json, expected,
                      corrupt=lambda: replace_line(train_json, 1, '{"0347ZoDXyP0": {"annotations": fourteen}}'))


def write_video_clip(path: Path, seed: int, duration: float = 1.0) -> Path:
    """A short clip at `path` in the container its suffix names (MP4, MKV, WebM's Matroska): two colours at
    10 fps with a tone as its sound track."""
    sound = tone(220.0 * (seed + 1), duration)
    frames = int(duration * 10) // 2
    return write_mp4(path, [(40 * seed % 256, 90, 30), (10, 70 * seed % 256, 200)], fps=10,
                     frames_per_color=frames, audio=sound)


@register_fake("kinetics", "cvdf-split-folders")
def write_fake_kinetics_cvdf(root: Path) -> FakeCorpus:
    """annotations/train.csv, validate.csv, test.csv (with labels, as Kinetics-400's), every clip an MP4 in
    train/, val/, test/ (the CVDF tarballs' layout)."""
    return write_fake_kinetics(root)


@register_fake("kinetics", "crawler-class-folders")
def write_fake_kinetics_crawler(root: Path) -> FakeCorpus:
    """data/kinetics-600_{train,val,test}.csv (the test file without labels), the clips in
    videos/<split>/<class>/ (the ActivityNet crawler's layout; test clips in videos/test/), one an MKV."""
    names = {split: f"kinetics-600_{split}.csv" for split in ("train", "val", "test")}
    return write_fake_kinetics(root, annotations_dir="data", file_names=names, media_dir="videos",
                               class_folders=True, labelled_test=False,
                               suffixes={clip_id("-3Ssbl6_Xo8", 0, 10): ".mkv"})


@register_fake("kinetics", "first-release-json")
def write_fake_kinetics_json(root: Path) -> FakeCorpus:
    """Kinetics-400's first release: data/kinetics_{train,val,test}.json (one line each, the test entries without
    labels) and no CSV, every clip an MP4 in train/, val/, test/."""
    return write_fake_kinetics(root, annotations_dir="data", file_names={}, json_names=JSON_NAMES,
                               labelled_test=False, clips=JSON_CLIPS)


def write_live_matroska_clip(path: Path, seed: int, duration: float = 1.0) -> Path:
    """A clip as `write_video_clip` writes it, remuxed into a Matroska written live (as a stream recorder writes
    one): its header states no duration, so nothing but decoding tells how long it is."""
    import av

    source = write_video_clip(path.with_name(f"{path.stem}.source.mkv"), seed, duration)
    with av.open(str(source)) as src, av.open(str(path), mode="w", format="matroska", options={"live": "1"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    source.unlink()
    return path
