"""Loading a large classification corpus: mmdata `load_corpus` vs what a user would otherwise write.

Kinetics (corpus kind `kinetics`): `--clips` real MP4 clips (96 x 64 H.264, 25 fps, ~2 s, with an AAC sound
track; seeded noise, each clip its own), in the class-folder layout torchvision's `Kinetics` and the ActivityNet
crawler write, `<root>/train/<class>/<youtube_id>_<start:06d>_<end:06d>.mp4` (the class with `_` for spaces,
torchvision's renaming), and the release's `annotations/train.csv` (label,youtube_id,time_start,time_end,split,
is_cc), which lists 5% more clips than there are files (videos taken down since the release).

  torchvision  `torchvision.datasets.Kinetics(root, frames_per_clip=16, split="train", num_workers=2)`: lists the
               class folders and their videos (it never reads the CSV), then opens every video in 2 DataLoader
               workers to count its frames (torchcodec's exact scan of the stream) and cuts the 16-frame clips
  script       the minimal script: `pandas.read_csv` of the CSV, each row's path built the way torchvision's
               layout names it, `os.path.exists` per clip; no file is opened
  script+hdr   the same, plus each clip's stream durations from its header with PyAV (`av.open`), what
               mmdata reads beyond the script
  mmdata       `mmdata.corpora.load_corpus("kinetics", root, split="train")`: reads the CSV (each bad row named
               `file:line`), finds each clip in its split and class folder (every folder listed once), names
               every clip not found, and reads each file's header for its video and audio durations (one open),
               the reads on threads (`MMDATA_HEADER_THREADS`, default 8)
  mmdata-seq   the same with MMDATA_HEADER_THREADS=1: every header read one after another

AudioSet (corpus kind `audioset`): a synthetic PANNs-style copy: `--segments` rows in
`balanced_train_segments.csv` (the release's format: three `#` lines, then `YTID, start, end, "mid,mid"`), the
release's 527-row `class_labels_indices.csv` shape (synthetic MIDs and names, some names quoted with commas), and
a tiny WAV (0.2 s, 16 kHz) in `audios/balanced_train_segments/Y<youtube_id>.wav` for ~75% of the segments.

  script       what a PANNs user writes: `pandas.read_csv(skiprows=3, header=None, skipinitialspace=True)`, a
               MID -> index map from the class table, each row's label indices and `os.path.exists` of its WAV
  script+hdr   the same, plus `soundfile.info(path).duration` of each WAV found (mmdata's header read)
  mmdata       `load_corpus("audioset", root, split="train", options={"subsets": "balanced_train"})`: every bad
               row and missing segment named `file:line`, each WAV's header read for its duration, the media
               folders listed once into an index by file stem; mmdata-seq as above

Every method of a corpus must find the same clips (checked before timing). Methods run interleaved, in a shuffled
order per round after a 0.3 s pause, each once untimed first (imports, the file cache); medians of `--runs`
rounds. The 1-minute load average before and after is recorded: other jobs may run on the machine meanwhile.

    python benchmarks/corpus_load_bench.py [--clips 600] [--clip-seconds 2] [--segments 20000] [--runs 5] [--quick]
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import logging
import os
import random
import shutil
import statistics
import string
import sys
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, print_table, shuffled_rounds, write_results  # noqa: E402

from mmdata.corpora import load_corpus  # noqa: E402

#: Kinetics-like class names (the release's spelling: spaces, parentheses).
KINETICS_CLASSES = (
    "abseiling", "air drumming", "answering questions", "applauding", "archery", "arm wrestling", "baking cookies",
    "balloon blowing", "playing guitar", "passing American football (in game)", "tai chi", "riding a bike",
    "making tea", "juggling balls", "dribbling basketball", "surfing water", "skiing (not slalom or crosscountry)",
    "mowing lawn", "petting cat", "shaking hands",
)
CLIP_SIZE, CLIP_RATE, CLIP_SECONDS, AUDIO_RATE = (96, 64), 25, 2.0, 16000
#: The share of annotation rows whose clip is not on disk (taken down since the release).
KINETICS_MISSING = 0.05
#: The environment variable giving the threads mmdata's loaders read media headers on (default 8).
HEADER_THREADS_VARIABLE = "MMDATA_HEADER_THREADS"
AUDIOSET_CLASSES = 527
AUDIOSET_PRESENT = 0.75
WAV_RATE, WAV_SECONDS = 16000, 0.2
YOUTUBE_ID_CHARS = string.ascii_letters + string.digits + "-_"


def youtube_ids(count: int, rng: random.Random) -> list[str]:
    """`count` distinct 11-character YouTube-like ids."""
    ids: dict[str, None] = {}
    while len(ids) < count:
        ids["".join(rng.choice(YOUTUBE_ID_CHARS) for _ in range(11))] = None
    return list(ids)


def torchvision_folder(label: str) -> str:
    """A class's folder name as torchvision's `Kinetics._make_ds_structure` (and the crawler's renaming) writes it."""
    return label.replace(" ", "_").replace("'", "").replace("(", "").replace(")", "")


# --- Kinetics ------------------------------------------------------------------------------------------------


def make_kinetics_corpus(num_clips: int, seconds: float = CLIP_SECONDS, seed: int = 0) -> Path:
    """A Kinetics copy of `num_clips` real MP4 clips of ~`seconds` in class folders plus `annotations/train.csv`
    listing 5% more (cached on disk; written once)."""
    root = DATA_DIR / f"kinetics-{num_clips}-{seconds:g}s-{CLIP_SIZE[0]}x{CLIP_SIZE[1]}-s{seed}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(seed)
    listed = num_clips + round(num_clips * KINETICS_MISSING)
    ids = youtube_ids(listed, rng)
    present = set(rng.sample(range(listed), num_clips))
    rows = ["label,youtube_id,time_start,time_end,split,is_cc"]
    for index, youtube_id in enumerate(ids):
        label = KINETICS_CLASSES[index % len(KINETICS_CLASSES)]
        start = rng.randrange(0, 290)
        label_field = f'"{label}"' if "," in label else label
        rows.append(f"{label_field},{youtube_id},{start},{start + 10},train,0")
        if index in present:
            folder = root / "train" / torchvision_folder(label)
            folder.mkdir(parents=True, exist_ok=True)
            write_clip(folder / f"{youtube_id}_{start:06d}_{start + 10:06d}.mp4", seconds,
                       np.random.default_rng(seed * 100003 + index))
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "train.csv").write_text("\n".join(rows) + "\n")
    (root / ".complete").touch()
    return root


def write_clip(path: Path, seconds: float, rng: np.random.Generator) -> None:
    """A H.264 + AAC MP4 of `seconds` +- 10%: a drifting noise picture and a tone under noise."""
    import av

    width, height = CLIP_SIZE
    seconds = seconds * rng.uniform(0.9, 1.1)
    base = rng.integers(0, 256, (height * 2, width * 2, 3), dtype=np.uint8)
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=CLIP_RATE)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "30"}
        audio = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        for index in range(int(seconds * CLIP_RATE)):
            x, y = index % width, (index // 2) % height
            frame = np.ascontiguousarray(base[y : y + height, x : x + width])
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode(None))
        samples = int(seconds * AUDIO_RATE)
        t = np.arange(samples) / AUDIO_RATE
        sound = (0.2 * np.sin(2 * np.pi * rng.uniform(100, 800) * t) + 0.02 * rng.standard_normal(samples))
        sound = sound.astype(np.float32)
        for offset in range(0, samples, 1024):
            chunk = sound[offset : offset + 1024].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = AUDIO_RATE, offset
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))


def kinetics_script(root: Path, read_header: Callable[[str], Any] | None = None) -> list[tuple[str, str]]:
    """The minimal script: the CSV with pandas, each clip's path in torchvision's layout, `os.path.exists`
    (and `read_header(path)` of each clip found, where given). Returns (sample id, label) of the clips found."""
    import pandas as pd

    table = pd.read_csv(root / "annotations" / "train.csv")
    found = []
    columns = zip(table["label"], table["youtube_id"], table["time_start"], table["time_end"])
    for label, youtube_id, start, end in columns:
        name = f"{youtube_id}_{start:06d}_{end:06d}"
        path = os.path.join(root, "train", torchvision_folder(label), name + ".mp4")
        if os.path.exists(path):
            if read_header is not None:
                read_header(path)
            found.append((name, label))
    return found


def container_durations(path: str) -> dict[str, float]:
    """Each stream's duration from a media file's header with PyAV, as a user adds it to the script."""
    import av

    with av.open(path) as container:
        return {s.type: float(s.duration * s.time_base) for s in container.streams if s.duration is not None}


def kinetics_torchvision(root: Path) -> Any:
    """torchvision's `Kinetics` as its documentation constructs it (its tqdm bar silenced)."""
    from torchvision.datasets import Kinetics

    with contextlib.redirect_stderr(io.StringIO()):
        return Kinetics(str(root), frames_per_clip=16, split="train", num_workers=2)


def kinetics_mmdata(root: Path) -> Any:
    return load_corpus("kinetics", root, split="train")


@contextlib.contextmanager
def header_threads(count: str) -> Any:
    """Run with `MMDATA_HEADER_THREADS=count` (the threads mmdata's loaders read media headers on)."""
    before = os.environ.get(HEADER_THREADS_VARIABLE)
    os.environ[HEADER_THREADS_VARIABLE] = count
    try:
        yield
    finally:
        if before is None:
            del os.environ[HEADER_THREADS_VARIABLE]
        else:
            os.environ[HEADER_THREADS_VARIABLE] = before


def sequential(load: Callable[[Path], Any], root: Path) -> Any:
    """`load(root)` with every header read one after another in the calling thread."""
    with header_threads("1"):
        return load(root)


def kinetics_agreement(root: Path) -> dict[str, Any]:
    """What each side found: the same clips (ids, classes), mmdata's problems one per clip not found."""
    script = dict(kinetics_script(root))
    result = kinetics_mmdata(root)
    ours = {s.sample_id: s.extra["class"] for s in result.samples}
    dataset = kinetics_torchvision(root)
    theirs = {Path(path).stem for path, _ in dataset.samples}
    assert ours == script, "mmdata and the script found different clips or classes"
    assert theirs == set(script), "torchvision and the script found different clips"
    with_durations = sum(1 for s in result.samples if "video_duration" in s.extra and "audio_duration" in s.extra)
    return {"clips_found": len(ours), "clips_listed": result.metadata["clips_listed"],
            "clips_missing_named": len(result.problems), "samples_with_video_and_audio_durations": with_durations,
            "torchvision_clips_of_16_frames": dataset.video_clips.num_clips()}


# --- AudioSet ------------------------------------------------------------------------------------------------


def make_audioset_corpus(num_segments: int, seed: int = 0) -> Path:
    """A PANNs-style AudioSet copy: balanced_train_segments.csv of `num_segments` rows, class_labels_indices.csv,
    a tiny WAV for ~75% of the segments (cached on disk; written once)."""
    root = DATA_DIR / f"audioset-{num_segments}-s{seed}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(seed)
    mids = [f"/m/0{index:04x}" if index % 5 else f"/t/dd{index:05d}" for index in range(AUDIOSET_CLASSES)]
    metadata = root / "metadata"
    metadata.mkdir(parents=True)
    with open(metadata / "class_labels_indices.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["index", "mid", "display_name"])
        for index, mid in enumerate(mids):
            writer.writerow([index, mid, f"Sound {index}, kind {index % 7}" if index % 3 == 0 else f"Sound {index}"])
    ids = youtube_ids(num_segments, rng)
    lines = ["# Segments csv created Sun Mar  5 10:54:31 2017",
             f"# num_ytids={num_segments}, num_segs={num_segments}, num_unique_labels={AUDIOSET_CLASSES}, "
             f"num_positive_labels={num_segments * 2}",
             "# YTID, start_seconds, end_seconds, positive_labels"]
    audio_dir = root / "audios" / "balanced_train_segments"
    audio_dir.mkdir(parents=True)
    noise = (np.random.default_rng(seed).standard_normal(int(WAV_RATE * WAV_SECONDS) * 4) * 3000).astype("<i2")
    for index, youtube_id in enumerate(ids):
        start = rng.randrange(0, 30) * 10
        labels = ",".join(rng.sample(mids, rng.randint(1, 3)))
        lines.append(f'{youtube_id}, {start:.3f}, {start + 10:.3f}, "{labels}"')
        if rng.random() < AUDIOSET_PRESENT:
            offset = rng.randrange(0, len(noise) * 3 // 4)
            write_wav(audio_dir / f"Y{youtube_id}.wav", noise[offset : offset + int(WAV_RATE * WAV_SECONDS)])
    (metadata / "balanced_train_segments.csv").write_text("\n".join(lines) + "\n")
    (root / ".complete").touch()
    return root


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(WAV_RATE)
        out.writeframes(samples.tobytes())


def audioset_script(root: Path, read_header: Callable[[str], Any] | None = None) -> list[tuple[str, list[int]]]:
    """What a PANNs user writes: the segments CSV and the class table with pandas, each row's label indices, the
    WAV's existence (and `read_header(path)` of each WAV found, where given). Returns (youtube id, class indices)
    of the segments found."""
    import pandas as pd

    classes = pd.read_csv(root / "metadata" / "class_labels_indices.csv")
    index_of = dict(zip(classes["mid"], classes["index"]))
    table = pd.read_csv(root / "metadata" / "balanced_train_segments.csv", skiprows=3, header=None,
                        names=["YTID", "start_seconds", "end_seconds", "positive_labels"], skipinitialspace=True,
                        quotechar='"')
    audio_dir = os.path.join(root, "audios", "balanced_train_segments")
    found = []
    for youtube_id, labels in zip(table["YTID"], table["positive_labels"]):
        targets = [index_of[mid] for mid in labels.split(",")]
        path = os.path.join(audio_dir, f"Y{youtube_id}.wav")
        if os.path.exists(path):
            if read_header is not None:
                read_header(path)
            found.append((youtube_id, targets))
    return found


def sound_file_duration(path: str) -> float:
    """A sound file's duration from its header with soundfile, as a user adds it to the script."""
    import soundfile

    return soundfile.info(path).duration


def audioset_mmdata(root: Path) -> Any:
    return load_corpus("audioset", root, split="train", options={"subsets": "balanced_train"})


def audioset_agreement(root: Path) -> dict[str, Any]:
    """The same segments and classes on both sides; mmdata's problems one per segment not found."""
    import pandas as pd

    classes = pd.read_csv(root / "metadata" / "class_labels_indices.csv")
    mid_of = dict(zip(classes["index"], classes["mid"]))
    script = {youtube_id: sorted(mid_of[i] for i in targets) for youtube_id, targets in audioset_script(root)}
    result = audioset_mmdata(root)
    ours = {s.extra["youtube_id"]: sorted(s.extra["mids"]) for s in result.samples}
    assert ours == script, "mmdata and the script found different segments or classes"
    return {"segments_found": len(ours), "segments_listed": result.metadata["segments_listed"],
            "segments_missing_named": len(result.problems),
            "samples_with_audio_duration": sum(1 for s in result.samples if "audio_duration" in s.extra)}


# --- measuring -----------------------------------------------------------------------------------------------


def interleaved(calls: dict[str, Callable[[], Any]], runs: int, seed: int) -> dict[str, list[float]]:
    """Wall seconds of each call over `runs` rounds, each round every call once in a shuffled order, after one
    untimed run of each (imports, the file cache, the DataLoader's first fork)."""
    for call in calls.values():
        call()
    return shuffled_rounds(calls, runs, seed)


#: Each corpus's methods as the table names them, mmdata last.
METHODS = {
    "kinetics": {"torchvision": "torchvision Kinetics(num_workers=2)", "script": "pandas + os.path.exists",
                 "script_headers": "the same + PyAV header per clip",
                 "mmdata_sequential": "mmdata load_corpus, MMDATA_HEADER_THREADS=1", "mmdata": "mmdata load_corpus"},
    "audioset": {"script": "PANNs-style pandas + os.path.exists",
                 "script_headers": "the same + soundfile.info per WAV",
                 "mmdata_sequential": "mmdata load_corpus, MMDATA_HEADER_THREADS=1", "mmdata": "mmdata load_corpus"},
}


def summary(wall: dict[str, list[float]], rows: int) -> dict[str, Any]:
    """Medians, µs per annotation row, and mmdata's time over each other method's (below 1: mmdata is faster)."""
    medians = {key: statistics.median(times) for key, times in wall.items()}
    return {"wall_s": medians, "wall_runs_s": wall, "us_per_row": {k: v / rows * 1e6 for k, v in medians.items()},
            "mmdata_time_over": {k: medians["mmdata"] / v for k, v in medians.items() if k != "mmdata"}}


def measure_kinetics(root: Path, runs: int) -> dict[str, Any]:
    agreement = kinetics_agreement(root)
    wall = interleaved({"torchvision": lambda: kinetics_torchvision(root), "script": lambda: kinetics_script(root),
                        "script_headers": lambda: kinetics_script(root, container_durations),
                        "mmdata_sequential": lambda: sequential(kinetics_mmdata, root),
                        "mmdata": lambda: kinetics_mmdata(root)}, runs, seed=0)
    return {**summary(wall, agreement["clips_listed"]), "agreement": agreement}


def measure_audioset(root: Path, runs: int) -> dict[str, Any]:
    agreement = audioset_agreement(root)
    wall = interleaved({"script": lambda: audioset_script(root),
                        "script_headers": lambda: audioset_script(root, sound_file_duration),
                        "mmdata_sequential": lambda: sequential(audioset_mmdata, root),
                        "mmdata": lambda: audioset_mmdata(root)}, runs, seed=1)
    return {**summary(wall, agreement["segments_listed"]), "agreement": agreement}


def report(results: dict[str, Any]) -> None:
    rows = [("corpus", "method", "median wall s", "us per row", "mmdata's time over it", "runs s")]
    for corpus, labels in METHODS.items():
        figures = results[corpus]
        for key, label in labels.items():
            ratio = f"{figures['mmdata_time_over'][key]:.2f}x" if key != "mmdata" else ""
            rows.append((corpus, label, f"{figures['wall_s'][key]:.3f}", f"{figures['us_per_row'][key]:.0f}", ratio,
                         " ".join(f"{x:.3f}" for x in figures["wall_runs_s"][key])))
    print_table(rows)
    for corpus in METHODS:
        print(f"{corpus}: {results[corpus]['agreement']}")
    load = results["load_average_1min"]
    print(f"load average (1 min) {load[0]:.2f} -> {load[1]:.2f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=600)
    parser.add_argument("--clip-seconds", type=float, default=CLIP_SECONDS,
                        help="length of each clip (torchvision counts every frame; mmdata reads the header)")
    parser.add_argument("--segments", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="24 clips, 500 segments, 1 round; writes no results")
    parser.add_argument("--out", type=Path, help="where the JSON goes (default results/corpus_load.json)")
    args = parser.parse_args()
    if args.quick:
        args.clips, args.segments, args.runs = 24, 500, 1
    logging.getLogger("mmdata").setLevel(logging.ERROR)  # the missing-clips warning, once per run
    kinetics_root = make_kinetics_corpus(args.clips, args.clip_seconds)
    audioset_root = make_audioset_corpus(args.segments)
    load_before = os.getloadavg()[0]
    results = {"clips": args.clips, "segments": args.segments, "runs": args.runs,
               "mmdata_header_threads": os.environ.get(HEADER_THREADS_VARIABLE, "the default"),
               "clip": {"size": list(CLIP_SIZE), "rate": CLIP_RATE, "seconds": args.clip_seconds,
                        "audio_rate": AUDIO_RATE},
               "kinetics": measure_kinetics(kinetics_root, args.runs),
               "audioset": measure_audioset(audioset_root, args.runs)}
    results["load_average_1min"] = [load_before, os.getloadavg()[0]]
    report(results)
    if not args.quick:
        print("wrote", write_results("corpus_load", results, args.out))


if __name__ == "__main__":
    main()
