"""Fake captioned audio and video corpora as they unzip: Clotho v2.1 (caption CSVs beside development/,
validation/, evaluation/ WAVs), AudioCaps (train/val/test.csv + 10 s clips, named as each download tool
names them) and MSR-VTT (the official *_videodatainfo.json + TrainValVideo/, TestVideo/,
or the 1k-A MSRVTT_data.json + split CSVs + MSRVTT_Videos/), with real short WAVs and MP4s.

Each writer returns a `FakeCorpus` whose `expected` holds the samples a loader must yield for no split.
"""
from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any, Literal

from tests.fakes import ExpectedSample, FakeCorpus, register_fake, replace_line
from tests.fakes.av import _encode_audio, tone, write_mp4, write_tone_wav

CLOTHO_FOLDERS = {"development": "train", "validation": "val", "evaluation": "test"}
#: Clotho-like file names (spaces, a comma, non-ASCII) per Clotho split.
CLOTHO_FILES = {
    "development": ("Distorted AM Radio noise.wav", "birds, morning chorus.wav"),
    "validation": ("Rain on café roof.wav",),
    "evaluation": ("Radio Garble.wav",),
}
#: AudioCaps clips: (youtube_id, start_time as written, split, captions); val's two clips have their rows interleaved.
AUDIOCAPS_CLIPS = (("--BfvyPmVMo", "20", "train", 1), ("r1nicOVtvkQ", "130", "train", 1),
                   ("7fmOlUlwoNg", "20", "val", 5), ("_xTdsMFR_Xc", "0", "val", 5), ("zk-xJEngAJo", "400", "test", 5))
#: How a download tool names a clip's file: aac-datasets (`{youtube_id}_{start}`), AudioSet style
#: (`Y{youtube_id}`), the bare YouTube id, audiocaps-download (`{audiocap_id}`, one copy per caption row).
AudiocapsNaming = Literal["clip", "audioset", "youtube", "audiocap_id"]
MsrvttLayout = Literal["official", "1k-a"]
#: MSR-VTT clips: (video id, official split, in the 1k-A test file).
MSRVTT_VIDEOS = (("video0", "train", False), ("video1", "train", False), ("video2", "validate", False),
                 ("video7010", "test", True), ("video7011", "test", False))


def clotho_caption(name: str, k: int) -> str:
    """A caption with a comma and quotes (the CSV quotes it), distinct per file and number."""
    return f"The sound of {Path(name).stem}, take {k}: \"loud\" then quiet"


@register_fake("clotho", "v2.1")
def write_fake_clotho(root: Path, *, csv_dir: str = "", audio_dir: str = "", captions: int = 5,
                      metadata: bool = True, files: dict[str, tuple[str, ...]] = CLOTHO_FILES) -> FakeCorpus:
    """The caption CSVs of `files`' splits (in `csv_dir`) and half-second 16 kHz tone WAVs in
    `<audio_dir>/<split>/`; with `metadata`, clotho_metadata_development.csv in ISO-8859-1, as v2.1 ships it."""
    expected: dict[str, ExpectedSample] = {}
    for folder, names in files.items():
        rows = []
        for i, name in enumerate(names):
            write_tone_wav(root / audio_dir / folder / name, freq=220.0 * (i + 1), duration=0.5)
            texts = tuple(clotho_caption(name, k) for k in range(1, captions + 1))
            rows.append([name, *texts])
            expected[Path(name).stem] = ExpectedSample(audio=f"{audio_dir}/{folder}/{name}".lstrip("/"),
                                                       captions=texts, split=CLOTHO_FOLDERS[folder])
        write_csv(root / csv_dir / f"clotho_captions_{folder}.csv",
                  ["file_name", *(f"caption_{k}" for k in range(1, captions + 1))], rows)
    if metadata:
        write_csv(root / csv_dir / "clotho_metadata_development.csv",
                  ["file_name", "keywords", "sound_id", "sound_link", "start_end_samples", "manufacturer", "license"],
                  [[files["development"][0], "radio;noise; am ", "80399",
                    "https://freesound.org/people/J\u00fcrgen/sounds/80399", "[1024, 845524]", "J\u00fcrgen",
                    "http://creativecommons.org/licenses/by/3.0/"]], encoding="iso-8859-1")
    path = root / csv_dir / "clotho_captions_development.csv"
    return FakeCorpus("clotho", root, path, expected,
                      corrupt=lambda: replace_line(path, 3, "only.wav,two fields"))


def audiocaps_caption(youtube_id: str, k: int) -> str:
    """A caption with a comma and quotes (the CSV quotes it), distinct per clip and number."""
    return f"Clip {youtube_id}, caption {k}: a \"dog\" barks"


def write_fake_audiocaps(root: Path, *, csv_dir: str = "", audio_dir: str = "", naming: AudiocapsNaming = "clip",
                         split_folders: bool = True, suffix: str = ".wav",
                         clips: tuple[tuple[str, str, str, int], ...] = AUDIOCAPS_CLIPS) -> FakeCorpus:
    """train.csv, val.csv and test.csv in `csv_dir` (rows of a split's clips interleaved, audiocap_ids counting
    from 1000) and half-second 16 kHz tones (WAV, or FLAC with `suffix=".flac"`, AAC in MP4 with `".m4a"`) in
    `<audio_dir>/<split>/` (or `<audio_dir>/` without `split_folders`), named per `naming`."""
    expected: dict[str, ExpectedSample] = {}
    rows: dict[str, list[list[list[str]]]] = {split: [] for split in ("train", "val", "test")}  # split -> clips' rows
    ids = iter(range(1000, 10**6))
    for n, (youtube_id, start, split, count) in enumerate(clips):
        audiocap_ids = [str(next(ids)) for _ in range(count)]
        captions = tuple(audiocaps_caption(youtube_id, k) for k in range(1, count + 1))
        stems = {"clip": [f"{youtube_id}_{start}"], "audioset": [f"Y{youtube_id}"], "youtube": [youtube_id],
                 "audiocap_id": audiocap_ids}[naming]
        folder = "/".join(p for p in (audio_dir, split if split_folders else "") if p)
        for stem in stems:
            write_tone = write_tone_m4a if suffix == ".m4a" else write_tone_wav
            write_tone(root / folder / f"{stem}{suffix}", freq=220.0 * (n + 1), duration=0.5)
        rows[split].append([[i, youtube_id, start, text] for i, text in zip(audiocap_ids, captions)])
        expected[f"{youtube_id}_{start}"] = ExpectedSample(audio=f"{folder}/{stems[0]}{suffix}".lstrip("/"),
                                                           captions=captions, split=split)
    for split, clip_rows in rows.items():
        interleaved = [row for round_ in itertools.zip_longest(*clip_rows) for row in round_ if row is not None]
        write_csv(root / csv_dir / f"{split}.csv", ["audiocap_id", "youtube_id", "start_time", "caption"], interleaved)
    path = root / csv_dir / "val.csv"
    return FakeCorpus("audiocaps", root, path, expected, corrupt=lambda: replace_line(path, 3, "1003,only two"))


def write_tone_m4a(path: Path, freq: float = 220.0, duration: float = 1.0, sample_rate: int = 16000) -> Path:
    """A sine tone as AAC in MP4 (`.m4a`, as audiocaps-download can save clips), encoded with PyAV."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=sample_rate, layout="mono")
        _encode_audio(container, stream, tone(freq, duration, sample_rate), sample_rate)
    return path


@register_fake("audiocaps", "aac-datasets")
def write_fake_audiocaps_aac_datasets(root: Path) -> FakeCorpus:
    """As aac-datasets prepares it: AUDIOCAPS/{train,val,test}.csv and
    AUDIOCAPS/audio_32000Hz/<split>/<youtube_id>_<start>.flac."""
    return write_fake_audiocaps(root, csv_dir="AUDIOCAPS", audio_dir="AUDIOCAPS/audio_32000Hz", suffix=".flac")


@register_fake("audiocaps", "audiocaps-download")
def write_fake_audiocaps_download(root: Path) -> FakeCorpus:
    """As audiocaps-download writes it: the CSVs in the root, <split>/<audiocap_id>.wav for every caption row."""
    return write_fake_audiocaps(root, naming="audiocap_id")


@register_fake("audiocaps", "audioset-style")
def write_fake_audiocaps_audioset_style(root: Path) -> FakeCorpus:
    """The official repository's dataset/*.csv and every clip in one audio/ folder, named Y<youtube_id>.wav."""
    return write_fake_audiocaps(root, csv_dir="dataset", audio_dir="audio", naming="audioset", split_folders=False)


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def msrvtt_caption(video_id: str, k: int) -> str:
    return f"clip {video_id} shows scene {k}, with a \"red\" car"


def msrvtt_query(video_id: str) -> str:
    return f"a person in {video_id} is connecting something to a system"


def write_clip(path: Path, seed: int) -> Path:
    """A one-second 64x48 MP4 of two colours (PyAV), unique per seed."""
    colors = [((37 * seed) % 256, 90, 200), (250, (53 * seed) % 256, 10)]
    return write_mp4(path, colors, fps=10, frames_per_color=5)


@register_fake("msrvtt", "official")
def write_fake_msrvtt_official(root: Path, *, sentences: int = 3) -> FakeCorpus:
    """train_val_videodatainfo.json + test_videodatainfo.json (indented, so lines mean something) and the
    clips in TrainValVideo/ and TestVideo/."""
    expected: dict[str, ExpectedSample] = {}
    files = {"train_val": ([], []), "test": ([], [])}
    for n, (video_id, split, _) in enumerate(MSRVTT_VIDEOS):
        videos, sents = files["test" if split == "test" else "train_val"]
        folder = "TestVideo" if split == "test" else "TrainValVideo"
        write_clip(root / folder / f"{video_id}.mp4", n)
        videos.append(_video_entry(n, video_id, split))
        # sentences written in reverse sen_id order: the loader orders them
        sents += [{"caption": msrvtt_caption(video_id, k), "video_id": video_id, "sen_id": 20 * n + k}
                  for k in reversed(range(sentences))]
        expected[video_id] = ExpectedSample(video=f"{folder}/{video_id}.mp4", split={"validate": "val"}.get(split, split),
                                            captions=tuple(msrvtt_caption(video_id, k) for k in range(sentences)))
    for name, (videos, sents) in files.items():
        write_json(root / f"{name}_videodatainfo.json", {"info": {"year": "2016"}, "videos": videos, "sentences": sents})
    path = root / "train_val_videodatainfo.json"
    return FakeCorpus("msrvtt", root, path, expected, corrupt=lambda: replace_line(path, 6, '    "video_id": video0,'))


@register_fake("msrvtt", "1k-a")
def write_fake_msrvtt_1ka(root: Path, *, sentences: int = 3) -> FakeCorpus:
    """msrvtt_data/ (MSRVTT_data.json, MSRVTT_train.9k.csv, MSRVTT_JSFUSION_test.csv with pandas' index
    column) and every clip in MSRVTT_Videos/: the 1k-A test clip gets its query, the others train."""
    expected: dict[str, ExpectedSample] = {}
    videos, sents, train, test = [], [], [], []
    for n, (video_id, split, in_test) in enumerate(MSRVTT_VIDEOS):
        write_clip(root / "MSRVTT_Videos" / f"{video_id}.mp4", n)
        videos.append(_video_entry(n, video_id, split))
        sents += [{"caption": msrvtt_caption(video_id, k), "video_id": video_id, "sen_id": 20 * n + k}
                  for k in range(sentences)]
        if in_test:
            test.append([str(len(test)), f"ret{len(test)}", f"msr{video_id[5:]}", video_id, msrvtt_query(video_id)])
            captions = (msrvtt_query(video_id),)
        else:
            train.append([video_id])
            captions = tuple(msrvtt_caption(video_id, k) for k in range(sentences))
        expected[video_id] = ExpectedSample(video=f"MSRVTT_Videos/{video_id}.mp4", captions=captions,
                                            split="test" if in_test else "train")
    data = root / "msrvtt_data"
    write_json(data / "MSRVTT_data.json", {"info": {}, "videos": videos, "sentences": sents})
    write_csv(data / "MSRVTT_train.9k.csv", ["video_id"], train)
    path = write_csv(data / "MSRVTT_JSFUSION_test.csv", ["", "key", "vid_key", "video_id", "sentence"], test)
    return FakeCorpus("msrvtt", root, path, expected, corrupt=lambda: replace_line(path, 2, "0,ret0,video7010"))


def _video_entry(n: int, video_id: str, split: str) -> dict:
    return {"category": n % 20, "url": f"https://www.youtube.com/watch?v=yt{n // 2}", "video_id": video_id,
            "start time": 10.0 + n, "end time": 20.5 + n, "split": split, "id": n}


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path
