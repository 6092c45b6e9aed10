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

DESED (corpus kind `desed`): the DCASE baseline's `data/dcase/dataset` with its six sets at `--desed-scale` times
their real sizes (1: weak 1,578 clips, unlabel_in_domain 14,412, audioset_strong 3,470 and
synthetic21_train/soundscapes 10,000 in train; validation 1,168 with `validation_durations.tsv` and
synthetic21_validation/soundscapes 2,500 with `durations.tsv`; strong sets 1-7 events a clip, ~4), TSVs under
`metadata/<split>/`, a tiny WAV (0.2 s, 16 kHz) per clip in `audio/<split>/<folder>/` (`strong_label_real/` for
audioset_strong), YouTube clips `Y<id>_<start>.000_<end>.000.wav` (3% listed and absent), soundscapes `<n>.wav`.

  script       what the baseline's datasets (desed_task/dataio/datasets.py) do: `pandas.read_csv(sep="\t")` per
               set, strong sets `dropna()` and grouped into {filename: [events]}, weak labels `split(",")`, the
               unlabeled set `glob(folder/*.wav)`, `os.path.exists` per listed clip
  script+hdr   the same, plus each clip's length: the durations TSV with pandas where its set has one, else
               `soundfile.info(path).duration`
  mmdata       `load_corpus("desed", root)`: every line checked (bad ones named `file:line`), each set's folder
               listed once, the unlabeled folder's WAVs beside its TSV, durations from the durations files, else
               each WAV's header; mmdata-seq as above
  (agreement: the same clips, mmdata's id the stem of a YouTube clip and `<split>/<set>/<stem>` of a soundscape,
  each strong clip with as many events, each weak clip with the same labels)

MELD (corpus kind `meld`): `MELD.Raw/` with the three CSVs (the release's header, `--meld-utterances` rows over them
in the release's 9,989 / 1,109 / 2,610 proportions, dialogues of 1-17 utterances, utterances quoted with commas,
curly apostrophes, the raw U+0085 ellipsis) and a real MP4 per row (as Kinetics', ~1 s) in `train_splits/`,
`dev_splits_complete/`, `output_repeated_splits_test/`, less one train and one dev clip (as the release).

  script       `pandas.read_csv` of each CSV, `dia{D}_utt{U}.mp4` in its split's folder, `os.path.exists`
  script+hdr   the same, plus each clip's stream durations with PyAV (`av.open`), as Kinetics'
  mmdata       `load_corpus("meld", root)`: every row checked, each clip's header read for its video and audio
               durations on threads; mmdata-seq as above

img2dataset (corpus kind `img2dataset`): a `webdataset`-format output folder as img2dataset writes it for CC3M,
`--img2dataset-urls` URLs in shards of 2,000 (per shard `NNNNN.parquet` with img2dataset's columns, ~10% of the rows
failed downloads or resizes; `NNNNN.tar` holding `<key>.jpg`, `<key>.json`, `<key>.txt` of each success, written by
`tarfile` with a float mtime as webdataset's TarWriter does (pax headers); `NNNNN_stats.json`). One small real JPEG
(a 64 x 64 crop of scikit-image's astronaut) is every image: neither side opens one.

  script       what a CC3M user writes: `pyarrow.parquet.read_table` per shard, the rows with status == 'success'
               (`pyarrow.compute`), `tarfile.open(tar).getnames()`, the keys whose `.jpg` is in the tar
  mmdata       `load_corpus("img2dataset", root)`: every row checked, each failed URL named with its status and
               error, each tar's headers scanned into a member index (the per-process cache of 8 tars emptied before
               each run: a fresh process's load); no header variants (no image is opened by either side)
  (agreement: the same (key, caption) of the successes with images)

IEMOCAP (corpus kind `iemocap`): `IEMOCAP_full_release/` at `--iemocap-scale` times the release (1: 5 sessions, 151
dialogs, 10,039 labelled utterances in the release's emotion counts, xxx 2,507 ... dis 2): EmoEvaluation label
files (the `%` header, a turn line per utterance, evaluators' lines, blank lines; a Categorical/ folder), a
transcription file per dialog, a 0.1 s 16 kHz WAV per utterance in `sentences/wav/<dialog>/`; `IEMOCAP` a link to
it (the folder torchaudio opens).

  script       torchaudio's `IEMOCAP` indexing restated: per session the sorted `glob("*/*.wav")` of sentences/wav,
               EmoEvaluation `*.txt` lines starting with `[` split on tab and newline, utterances with a WAV kept; its
               6-emotion filter dropped (all labelled utterances, as mmdata) and its list membership test a set
  script+hdr   the same, plus `soundfile.info(path).duration` of each WAV kept
  mmdata       `load_corpus("iemocap", root)`: every turn line checked, transcriptions read, each WAV's header read
               for its duration on threads; mmdata-seq as above
  (agreement: the same utterance ids with the same emotions; where torchaudio is installed, its `IEMOCAP(root)`
  finds the script's utterances of its 6 emotions)

Every method of a corpus must find the same clips (checked before timing). Methods run interleaved, in a shuffled
order per round after a 0.3 s pause, each once untimed first (imports, the file cache); medians of `--runs`
rounds. The 1-minute load average before and after is recorded: other jobs may run on the machine meanwhile.

    python benchmarks/corpus_load_bench.py [--clips 600] [--clip-seconds 2] [--segments 20000] [--desed-scale 1]
        [--meld-utterances 1500] [--img2dataset-urls 40000] [--iemocap-scale 1]
        [--only kinetics,audioset,desed,meld,img2dataset,iemocap] [--runs 5] [--quick]
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import glob
import io
import json
import logging
import math
import os
import random
import re
import shutil
import statistics
import string
import sys
import tarfile
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


def write_wav(path: Path, samples: np.ndarray, rate: int = WAV_RATE) -> None:
    """A 16-bit mono WAV at `rate` (16 kHz by default)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
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


# --- DESED ---------------------------------------------------------------------------------------------------

DESED_CLASSES = ("Alarm_bell_ringing", "Blender", "Cat", "Dishes", "Dog", "Electric_shaver_toothbrush", "Frying",
                 "Running_water", "Speech", "Vacuum_cleaner")
#: The DCASE baseline's `data/dcase/dataset` sets at `--desed-scale 1`: (split, the TSV's path under
#: metadata/<split>/ without .tsv, kind, clips, the audio folder under audio/<split>/, the durations file beside
#: the TSV or None). The strong sets hold 1-7 events a clip (~4).
DESED_SETS = (
    ("train", "weak", "weak", 1578, "weak", None),
    ("train", "unlabel_in_domain", "unlabeled", 14412, "unlabel_in_domain", None),
    ("train", "audioset_strong", "strong", 3470, "strong_label_real", None),
    ("train", "synthetic21_train/soundscapes", "strong", 10000, "synthetic21_train/soundscapes", None),
    ("validation", "validation", "strong", 1168, "validation", "validation_durations"),
    ("validation", "synthetic21_validation/soundscapes", "strong", 2500, "synthetic21_validation/soundscapes",
     "synthetic21_validation/durations"),
)
#: The share of a YouTube-sourced set's listed clips whose file is not there (taken down before the download).
DESED_MISSING = 0.03
#: An AudioSet clip's file stem as DESED names it (`Y-BJNMHMZDcU_50.000_60.000`): its own sample id in mmdata.
DESED_YOUTUBE_STEM = r"Y[A-Za-z0-9_-]{11}_\d+(?:\.\d+)?_\d+(?:\.\d+)?"
#: Each kind's TSV header.
KIND_HEADERS = {"strong": ("filename", "onset", "offset", "event_label"), "weak": ("filename", "event_labels"),
                "unlabeled": ("filename",)}


def desed_set_sizes(scale: float) -> list[int]:
    return [max(2, round(clips * scale)) for _, _, _, clips, _, _ in DESED_SETS]


def make_desed_corpus(scale: float, seed: int = 0) -> Path:
    """A DESED `data/dcase/dataset`: the baseline's six sets at `scale` times their real sizes, their TSVs under
    metadata/<split>/ (strong: a line per event; weak: comma-joined labels; unlabeled: `filename` alone; the two
    validation sets' durations files) and a tiny WAV (0.2 s, 16 kHz) per clip in audio/<split>/<folder>/, 3% of
    the YouTube clips (`Y<id>_<start>_<end>.wav`) listed and absent; synthetic soundscapes `<n>.wav` (cached on
    disk; written once)."""
    root = DATA_DIR / f"desed-x{scale:g}-s{seed}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(seed)
    sizes = desed_set_sizes(scale)
    youtube = iter(youtube_ids(sum(n for n, (_, _, _, _, folder, _) in zip(sizes, DESED_SETS)
                                   if not folder.startswith("synthetic")), rng))
    noise = (np.random.default_rng(seed).standard_normal(int(WAV_RATE * WAV_SECONDS) * 4) * 3000).astype("<i2")
    for (split, name, kind, _, folder, durations), count in zip(DESED_SETS, sizes):
        synthetic = folder.startswith("synthetic")
        audio_dir = root / "audio" / split / folder
        audio_dir.mkdir(parents=True)
        names = []
        for index in range(count):
            if synthetic:
                names.append(f"{index}.wav")
            else:
                start = rng.randrange(0, 30) * 10
                names.append(f"Y{next(youtube)}_{start}.000_{start + 10}.000.wav")
        lines = ["\t".join(KIND_HEADERS[kind])]
        for filename in names:
            if kind == "weak":
                lines.append(f"{filename}\t{','.join(sorted(rng.sample(DESED_CLASSES, rng.randint(1, 3))))}")
            elif kind == "unlabeled":
                lines.append(filename)
            else:
                events, wanted = set(), rng.randint(1, 7)
                while len(events) < wanted:
                    onset = round(rng.uniform(0, 9.5), 3)
                    events.add((onset, round(rng.uniform(onset + 0.1, 10.0), 3), rng.choice(DESED_CLASSES)))
                lines += [f"{filename}\t{onset:.3f}\t{offset:.3f}\t{label}" for onset, offset, label in sorted(events)]
            if synthetic or rng.random() >= DESED_MISSING:
                offset = rng.randrange(0, len(noise) * 3 // 4)
                write_wav(audio_dir / filename, noise[offset : offset + int(WAV_RATE * WAV_SECONDS)])
        tsv = root / "metadata" / split / f"{name}.tsv"
        tsv.parent.mkdir(parents=True, exist_ok=True)
        tsv.write_text("\n".join(lines) + "\n")
        if durations:
            rows = ["filename\tduration", *(f"{filename}\t{WAV_SECONDS:.3f}" for filename in names)]
            (root / "metadata" / split / f"{durations}.tsv").write_text("\n".join(rows) + "\n")
    (root / ".complete").touch()
    return root


def desed_script(root: Path, read_header: Callable[[str], Any] | None = None) -> dict[tuple[str, str, str], Any]:
    """What the DCASE baseline's datasets (desed_task/dataio/datasets.py) do: each set's TSV with
    `pandas.read_csv(sep="\\t")`; a strong set's `dropna()`, its events grouped by file; a weak set's labels
    `split(",")`; the unlabeled set the `glob` of its folder's WAVs; `os.path.exists` per listed clip (the
    baseline's own loops use `iterrows`, slower: this is the fast form). With `read_header`: each clip's length
    from its set's durations file with pandas where there is one, else `read_header(path)`. Returns
    (split, set, file name) -> events (strong), labels (weak) or None (unlabeled) of each clip found."""
    import pandas as pd

    found: dict[tuple[str, str, str], Any] = {}
    for split, name, kind, _, folder, durations in DESED_SETS:
        audio_dir = os.path.join(root, "audio", split, folder)
        tsv = os.path.join(root, "metadata", split, f"{name}.tsv")
        lengths: dict[str, float] = {}
        if read_header is not None and durations:
            table = pd.read_csv(os.path.join(root, "metadata", split, f"{durations}.tsv"), sep="\t")
            lengths = dict(zip(table["filename"], table["duration"]))
        clips: dict[str, Any] = {}
        if kind == "unlabeled":
            clips = {os.path.basename(path): None for path in glob.glob(os.path.join(audio_dir, "*.wav"))}
        elif kind == "weak":
            table = pd.read_csv(tsv, sep="\t")
            for filename, labels in zip(table["filename"], table["event_labels"]):
                if filename not in clips:
                    clips[filename] = labels.split(",")
        else:
            table = pd.read_csv(tsv, sep="\t").dropna()
            for filename, onset, offset, label in zip(table["filename"], table["onset"], table["offset"],
                                                      table["event_label"]):
                clips.setdefault(filename, []).append({"event_label": label, "onset": onset, "offset": offset})
        for filename, target in clips.items():
            path = os.path.join(audio_dir, filename)
            if kind == "unlabeled" or os.path.exists(path):
                if read_header is not None and filename not in lengths:
                    read_header(path)
                found[(split, name, filename)] = target
    return found


def desed_mmdata(root: Path) -> Any:
    return load_corpus("desed", root)


def desed_agreement(root: Path) -> dict[str, Any]:
    """The same clips on both sides (mmdata's id: the stem of an AudioSet name, else `<split>/<set>/<stem>`), each
    strong clip with as many events, each weak clip with the same labels; mmdata's problems one per clip listed and
    not found."""
    def sample_id(split: str, name: str, filename: str) -> str:
        stem = filename.removesuffix(".wav")
        return stem if re.fullmatch(DESED_YOUTUBE_STEM, stem) else f"{split}/{name}/{stem}"

    def target(value: Any) -> Any:
        if value is None or isinstance(value[0], str):
            return None if value is None else sorted(set(value))
        return len(value)

    script = {sample_id(*key): target(value) for key, value in desed_script(root).items()}
    result = desed_mmdata(root)
    ours = {s.sample_id: len(s.extra["events"]) if "events" in s.extra else s.extra.get("labels")
            for s in result.samples}
    assert ours == script, "mmdata and the script found different clips, events or labels"
    return {"clips_found": len(ours), "clips_listed": result.metadata["clips_listed"],
            "clips_missing": result.metadata["clips_missing"], "problems_named": len(result.problems),
            "events": sum(v for v in ours.values() if isinstance(v, int)),
            "samples_with_audio_duration": sum(1 for s in result.samples if "audio_duration" in s.extra)}


# --- MELD ----------------------------------------------------------------------------------------------------

#: Each split as mmdata names it, its CSV, its clip folder in MELD.Raw/, and its utterances in the release.
MELD_SPLITS = (("train", "train_sent_emo.csv", "train_splits", 9989),
               ("val", "dev_sent_emo.csv", "dev_splits_complete", 1109),
               ("test", "test_sent_emo.csv", "output_repeated_splits_test", 2610))
MELD_HEADER = ("Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID", "Season",
               "Episode", "StartTime", "EndTime")
MELD_EMOTIONS = {"neutral": ("neutral",), "joy": ("positive",), "surprise": ("positive", "negative"),
                 "sadness": ("negative",), "anger": ("negative",), "fear": ("negative",), "disgust": ("negative",)}
MELD_SPEAKERS = ("Chandler", "Joey", "Monica", "Rachel", "Ross", "Phoebe", "Mr. Geller", "Janice", "Gunther")
MELD_PHRASES = ("Oh my God, he’s lost it.", "He’s totally lost it.", "What?", "Okay, okay, okay.",
                "I don’t know, I mean, it’s just… weird.", "Y’know what? Fine.", "Hey, how you doin’?",
                "We were on a break!", "No, no, no, that’s not what I said.", "Could I BE any more sorry?",
                "Pivot! Pivot!", "Well, uh, she said \"maybe\", so.", "Umm, I-I can’t, I’ve got to go.")
#: Each clip's length (the writer's ±10%): the release's are ~3 s; a header read costs the same, a write less.
MELD_CLIP_SECONDS = 1.0


def meld_split_sizes(utterances: int) -> list[int]:
    total = sum(size for *_, size in MELD_SPLITS)
    return [max(3, round(utterances * size / total)) for *_, size in MELD_SPLITS]


def make_meld_corpus(utterances: int, seed: int = 0) -> Path:
    """`MELD.Raw/` as its tarballs unpack: the three CSVs (the release's header and proportions, ~`utterances`
    rows in all, dialogues of 1-17 utterances, utterances quoted with commas, curly apostrophes and the release's
    raw U+0085 ellipsis, times `"00:20:57,256"`) and a real MP4 (96 x 64 H.264 + AAC, ~1 s) per row in
    train_splits/, dev_splits_complete/, output_repeated_splits_test/, but for one train and one dev clip, as the
    release lacks dia125_utt3 and copies dia110_utt7 (cached on disk; written once)."""
    root = DATA_DIR / f"meld-{utterances}-{MELD_CLIP_SECONDS:g}s-{CLIP_SIZE[0]}x{CLIP_SIZE[1]}-s{seed}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(seed)
    base = root / "MELD.Raw"
    for (split, csv_name, folder, _), count in zip(MELD_SPLITS, meld_split_sizes(utterances)):
        (base / folder).mkdir(parents=True)
        rows, dialogue = [], 0
        while len(rows) < count:
            season, episode = rng.randint(1, 10), rng.randint(1, 24)
            start = rng.uniform(0, 1300)
            for utterance in range(min(rng.randint(1, 17), count - len(rows))):
                emotion = rng.choice(list(MELD_EMOTIONS))
                text = " ".join(rng.sample(MELD_PHRASES, rng.randint(1, 3))).replace("…", "\x85")
                end = start + rng.uniform(1, 6)
                rows.append([len(rows) + 1, text, rng.choice(MELD_SPEAKERS), emotion,
                             rng.choice(MELD_EMOTIONS[emotion]), dialogue, utterance, season, episode,
                             episode_time(start), episode_time(end)])
                start = end + rng.uniform(0, 2)
            dialogue += 1
        with open(base / csv_name, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(MELD_HEADER)
            writer.writerows(rows)
        absent = rng.randrange(len(rows)) if split != "test" else None
        for index, row in enumerate(rows):
            if index != absent:
                write_clip(base / folder / f"dia{row[5]}_utt{row[6]}.mp4", MELD_CLIP_SECONDS,
                           np.random.default_rng(seed * 100003 + index))
    (root / ".complete").touch()
    return root


def episode_time(seconds: float) -> str:
    """`00:20:57,256`, a time in the episode as MELD's CSVs write it."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d},{int((seconds - whole) * 1000):03d}"


def meld_script(root: Path, read_header: Callable[[str], Any] | None = None) -> list[tuple[str, str]]:
    """The minimal script: each CSV with `pandas.read_csv`, each row's clip `dia{D}_utt{U}.mp4` in its split's
    folder, `os.path.exists` (and `read_header(path)` of each clip found, where given). Returns (mmdata's sample
    id, emotion) of the utterances found."""
    import pandas as pd

    base = os.path.join(root, "MELD.Raw")
    found = []
    for split, csv_name, folder, _ in MELD_SPLITS:
        table = pd.read_csv(os.path.join(base, csv_name))
        for dialogue, utterance, emotion in zip(table["Dialogue_ID"], table["Utterance_ID"], table["Emotion"]):
            path = os.path.join(base, folder, f"dia{dialogue}_utt{utterance}.mp4")
            if os.path.exists(path):
                if read_header is not None:
                    read_header(path)
                found.append((f"{split}_dia{dialogue}_utt{utterance}", emotion))
    return found


def meld_mmdata(root: Path) -> Any:
    return load_corpus("meld", root)


def meld_agreement(root: Path) -> dict[str, Any]:
    """The same utterances with the same emotions on both sides; mmdata's problems one per clip not found."""
    script = dict(meld_script(root))
    result = meld_mmdata(root)
    ours = {s.sample_id: s.extra["emotion"] for s in result.samples}
    assert ours == script, "mmdata and the script found different utterances or emotions"
    with_durations = sum(1 for s in result.samples if "video_duration" in s.extra and "audio_duration" in s.extra)
    return {"utterances_found": len(ours), "utterances_listed": result.metadata["clips_listed"],
            "clips_missing_named": len(result.problems), "samples_with_video_and_audio_durations": with_durations}


# --- img2dataset ---------------------------------------------------------------------------------------------

#: URLs a shard holds (img2dataset's number_sample_per_shard; its default is 10,000, CC3M runs often use less).
I2D_PER_SHARD = 2000
#: The share of URLs whose download or resize failed (CC3M's dead links run higher today; 10% is a fresh crawl's).
I2D_FAILED = 0.10
#: (status, error_message) of failed rows, as img2dataset records them.
I2D_ERRORS = (("failed_to_download", "HTTP Error 404: Not Found"), ("failed_to_download", "HTTP Error 403: Forbidden"),
              ("failed_to_download", "<urlopen error timed out>"), ("failed_to_download", "timed out"),
              ("failed_to_download", "[Errno 104] Connection reset by peer"),
              ("failed_to_resize", "image too small"), ("failed_to_resize", "cannot identify image file"))
#: Words of CC3M-like (hypernymized) captions.
I2D_WORDS = ("actor", "attends", "the", "premiere", "of", "film", "a", "person", "walking", "on", "beach", "at",
             "sunset", "vector", "illustration", "with", "flowers", "and", "leaves", "city", "skyline", "night",
             "football", "player", "celebrates", "goal", "during", "match", "between", "teams", "dog", "sits", "in",
             "grass", "house", "interior", "modern", "kitchen", "wooden", "table", "cartoon", "character", "smiling")
#: The one JPEG every tar holds (a crop of scikit-image's astronaut, resized): the loader reads tar headers, not
#: images, so its size only sets the bytes seeked over.
I2D_IMAGE_SIZE = (64, 64)


def img2dataset_shard_sizes(urls: int) -> list[int]:
    """URLs per shard: `urls` in shards of I2D_PER_SHARD (at least 2 shards)."""
    shards = max(2, math.ceil(urls / I2D_PER_SHARD))
    return [urls // shards + (index < urls % shards) for index in range(shards)]


def make_img2dataset_corpus(urls: int, seed: int = 0) -> Path:
    """An img2dataset `webdataset` output folder of `urls` URLs (CC3M-like captions, ~10% failed): per shard
    `NNNNN.parquet` (img2dataset's columns: url, caption, key, status, error_message, width, height,
    original_width, original_height, exif, sha256), `NNNNN.tar` holding `<key>.jpg`, `<key>.json`, `<key>.txt` of
    each success (in TarWriter's order, a float mtime as webdataset writes it: pax headers) and `NNNNN_stats.json`
    (cached on disk; written once)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image
    from skimage import data

    root = DATA_DIR / f"img2dataset-{urls}-s{seed}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rng = random.Random(seed)
    out = io.BytesIO()
    Image.fromarray(np.asarray(data.astronaut())[30:230, 150:350]).resize(I2D_IMAGE_SIZE).save(out, "JPEG", quality=90)
    jpeg = out.getvalue()
    schema = pa.schema([("url", pa.string()), ("caption", pa.string()), ("key", pa.string()),
                        ("status", pa.string()), ("error_message", pa.string()), ("width", pa.int64()),
                        ("height", pa.int64()), ("original_width", pa.int64()), ("original_height", pa.int64()),
                        ("exif", pa.string()), ("sha256", pa.string())])
    sizes = img2dataset_shard_sizes(urls)
    digits = math.ceil(math.log10(max(sizes)))  # img2dataset's oom_sample_per_shard
    mtime = 1700000000.0
    for shard, count in enumerate(sizes):
        rows, statuses = [], {}
        with tarfile.open(root / f"{shard:05d}.tar", "w") as tar:
            for index in range(count):
                key = f"{shard:05d}{index:0{digits}d}"
                caption = " ".join(rng.choice(I2D_WORDS) for _ in range(rng.randint(5, 16)))
                failed = rng.random() < I2D_FAILED
                status, error = rng.choice(I2D_ERRORS) if failed else ("success", None)
                width, height = (None, None) if failed else I2D_IMAGE_SIZE
                row = {"url": f"https://img{rng.randrange(100)}.example.com/photos/{rng.getrandbits(48):012x}.jpg",
                       "caption": caption, "key": key, "status": status, "error_message": error,
                       "width": width, "height": height,
                       "original_width": None if failed else rng.randint(300, 1600),
                       "original_height": None if failed else rng.randint(300, 1200),
                       "exif": None if failed else json.dumps({"Image Make": "Canon", "Image Orientation": "1"}),
                       "sha256": None if failed else f"{rng.getrandbits(256):064x}"}
                rows.append(row)
                statuses[status] = statuses.get(status, 0) + 1
                if failed:
                    continue
                mtime += rng.uniform(0.001, 0.5)
                for name, body in ((f"{key}.jpg", jpeg), (f"{key}.json", json.dumps(row, indent=4).encode()),
                                   (f"{key}.txt", caption.encode())):
                    info = tarfile.TarInfo(name)
                    info.size, info.mtime = len(body), mtime  # a float, as webdataset's TarWriter (time.time())
                    tar.addfile(info, io.BytesIO(body))
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), root / f"{shard:05d}.parquet")
        successes = statuses.get("success", 0)
        (root / f"{shard:05d}_stats.json").write_text(json.dumps(
            {"count": count, "successes": successes, "failed_to_download": statuses.get("failed_to_download", 0),
             "failed_to_resize": statuses.get("failed_to_resize", 0), "duration": 12.5, "start_time": mtime - 12.5,
             "end_time": mtime, "status_dict": {k: v for k, v in statuses.items() if k != "success"}}, indent=4))
    (root / ".complete").touch()
    return root


def img2dataset_script(root: Path) -> list[tuple[str, str]]:
    """What a CC3M user writes: each shard's Parquet with `pyarrow.parquet.read_table`, its rows filtered to
    status == 'success', its tar's member names with `tarfile.open(...).getnames()`, the keys whose `.jpg` is there
    kept. Returns (key, caption) of each success with its image."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    found = []
    for parquet in sorted(glob.glob(os.path.join(root, "*.parquet"))):
        table = pq.read_table(parquet)
        table = table.filter(pc.equal(table["status"], "success"))
        with tarfile.open(parquet.removesuffix(".parquet") + ".tar") as tar:
            images = {name[:-4] for name in tar.getnames() if name.endswith(".jpg")}
        found += [(key, caption) for key, caption in zip(table["key"].to_pylist(), table["caption"].to_pylist())
                  if key in images]
    return found


def img2dataset_mmdata(root: Path) -> Any:
    """`load_corpus("img2dataset", root)` as a fresh process runs it: the per-process cache of tar indexes
    (`mmdata.media.tar_members`, 8 tars) emptied first, so a run does not reuse the run before's scans (at 20
    shards read in order it would not anyway; at a smoke test's 2 it would)."""
    from mmdata.media import tar_members

    tar_members._index.cache_clear()
    return load_corpus("img2dataset", root)


def img2dataset_agreement(root: Path) -> dict[str, Any]:
    """The same (key, caption) of the successes with images on both sides; mmdata's problems one per failed URL."""
    script = img2dataset_script(root)
    result = img2dataset_mmdata(root)
    ours = [(s.sample_id, s.captions[0] if s.captions else None) for s in result.samples]
    assert len(set(script)) == len(script) and len(set(ours)) == len(ours), "a key found twice"
    assert set(ours) == set(script), "mmdata and the script found different samples or captions"
    statuses = result.metadata["statuses"]
    return {"samples_found": len(ours), "urls_listed": sum(statuses.values()), "shards": result.metadata["shards"],
            "statuses": statuses, "problems_named": len(result.problems)}


# --- IEMOCAP -------------------------------------------------------------------------------------------------

#: The release's emotion codes and how many of its 10,039 labelled utterances have each.
IEMOCAP_EMOTIONS = {"xxx": 2507, "fru": 1849, "neu": 1708, "ang": 1103, "sad": 1084, "exc": 1041, "hap": 595,
                    "sur": 107, "fea": 40, "oth": 3, "dis": 2}
#: torchaudio's `IEMOCAP` keeps these six; the script keeps every labelled utterance (as mmdata does).
TORCHAUDIO_EMOTIONS = ("neu", "hap", "ang", "sad", "exc", "fru")
IEMOCAP_UTTERANCES = 10039
IEMOCAP_HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"
IEMOCAP_EVALUATORS = ("C-E1:\t{emotion};\t()", "C-E2:\t{emotion};\t()", "C-E4:\tNeutral;\tFrustration;\t()",
                      "A-E1:\tval 3; act 2; dom  3;\t()", "A-E2:\tval 2; act 3; dom  3;\t()")
IEMOCAP_WORDS = ("I", "you", "what", "don't", "know", "it's", "just", "that", "the", "job", "yeah", "okay", "well",
                 "why", "would", "do", "this", "right", "here", "now", "we", "can't", "go", "again", "really")
#: An evaluator's name of each emotion code, for the `C-E1:` lines.
EMOTIONS_NAMED = {"neu": "Neutral", "hap": "Happiness", "sad": "Sadness", "ang": "Anger", "exc": "Excited",
                  "fru": "Frustration", "fea": "Fear", "sur": "Surprise", "dis": "Disgust"}
#: Each sentence WAV's length (16 kHz silence): a header read costs the same whatever the length.
IEMOCAP_WAV_SECONDS = 0.1


def iemocap_dialogs() -> list[str]:
    """The release's 151 dialog ids: per session the F and M actors' impro01-08 and script01_1-3, 02_1-2, 03_1-2
    (session 1 without impro08; session 3's male impro05 and impro08 in parts a and b; session 5's script01_1b)."""
    dialogs = []
    scripts = ("script01_1", "script01_2", "script01_3", "script02_1", "script02_2", "script03_1", "script03_2")
    for session in range(1, 6):
        for actor in "FM":
            impros = [f"impro{n:02d}" for n in range(1, 8 if session == 1 else 9)]
            if session == 3 and actor == "M":
                impros = [part for name in impros for part in
                          ((name + "a", name + "b") if name in ("impro05", "impro08") else (name,))]
            extra = ["script01_1b"] if session == 5 and actor == "M" else []
            dialogs += [f"Ses0{session}{actor}_{name}" for name in (*impros, *scripts, *extra)]
    return dialogs


def make_iemocap_corpus(scale: float, seed: int = 0) -> Path:
    """`IEMOCAP_full_release/` at `scale` times the release's size (1: 5 sessions, 151 dialogs, 10,039 labelled
    utterances with the release's emotion counts): per session `dialog/EmoEvaluation/<dialog>.txt` (the `%` header,
    a turn line per utterance followed by evaluators' `C-E1:`/`A-E1:` lines and a blank line; a Categorical/ folder
    of an evaluator's files), `dialog/transcriptions/<dialog>.txt` (a line per utterance, an `MXX` line of none),
    and a 0.1 s 16 kHz WAV per utterance in `sentences/wav/<dialog>/`; no dialog WAVs or AVIs (media=sentences reads
    none). `IEMOCAP` beside it is a link to it, the folder torchaudio's `IEMOCAP(root)` opens (cached on disk;
    written once)."""
    root = DATA_DIR / f"iemocap-x{scale:g}-s{seed}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(seed)
    base = root / "IEMOCAP_full_release"
    every = iemocap_dialogs()
    by_session = [[d for d in every if d.startswith(f"Ses0{s}")] for s in range(1, 6)]
    dialogs = [d for names in by_session for d in names[: max(1, round(len(names) * scale))]]
    total = max(len(dialogs), round(IEMOCAP_UTTERANCES * scale))
    weights = [rng.uniform(0.4, 1.6) for _ in dialogs]
    counts = [max(1, round(total * w / sum(weights))) for w in weights]
    counts[counts.index(max(counts))] += total - sum(counts)
    silence = np.zeros(int(WAV_RATE * IEMOCAP_WAV_SECONDS), dtype="<i2")
    codes, code_weights = list(IEMOCAP_EMOTIONS), list(IEMOCAP_EMOTIONS.values())
    for dialog, count in zip(dialogs, counts):
        session_dir = base / f"Session{int(dialog[3:5])}"
        labels_dir = session_dir / "dialog" / "EmoEvaluation"
        transcripts_dir = session_dir / "dialog" / "transcriptions"
        wav_dir = session_dir / "sentences" / "wav" / dialog
        for folder in (labels_dir / "Categorical", transcripts_dir, wav_dir):
            folder.mkdir(parents=True, exist_ok=True)
        labels, transcripts, categorical = [IEMOCAP_HEADER, ""], [], []
        spoken, start = {"F": 0, "M": 0}, rng.uniform(1, 8)
        for _ in range(count):
            speaker = rng.choice("FM")
            utterance = f"{dialog}_{speaker}{spoken[speaker]:03d}"
            spoken[speaker] += 1
            end = start + rng.uniform(0.6, 12)
            code = rng.choices(codes, code_weights)[0]
            v, a, d = (rng.randint(2, 10) / 2 for _ in range(3))
            labels += [f"[{start:.4f} - {end:.4f}]\t{utterance}\t{code}\t[{v:.4f}, {a:.4f}, {d:.4f}]",
                       *(line.format(emotion=EMOTIONS_NAMED.get(code, "Other")) for line in IEMOCAP_EVALUATORS), ""]
            text = " ".join(rng.choice(IEMOCAP_WORDS) for _ in range(rng.randint(1, 14)))
            transcripts.append(f"{utterance} [{start:08.4f}-{end:08.4f}]: {text[0].upper()}{text[1:]}.")
            if rng.random() < 0.05:
                transcripts.append(f"{dialog}_MXX{rng.randrange(10)} [{end:08.4f}-{end + 0.5:08.4f}]: [LAUGHTER]")
            categorical.append(f"{utterance} :{EMOTIONS_NAMED.get(code, 'Other')}; ()")
            write_wav(wav_dir / f"{utterance}.wav", silence)
            start = end + rng.uniform(0.1, 3)
        (labels_dir / f"{dialog}.txt").write_text("\n".join(labels) + "\n")
        (labels_dir / "Categorical" / f"{dialog}_e1_cat.txt").write_text("\n".join(categorical) + "\n")
        (transcripts_dir / f"{dialog}.txt").write_text("\n".join(transcripts) + "\n")
    (root / "IEMOCAP").symlink_to("IEMOCAP_full_release")
    (root / ".complete").touch()
    return root


def iemocap_script(root: Path, read_header: Callable[[str], Any] | None = None) -> dict[str, str]:
    """What torchaudio's `IEMOCAP(root)` does to index the corpus, as a plain script: per session the sorted
    `glob("*/*.wav")` of `sentences/wav/`, each EmoEvaluation `*.txt` line starting with `[` split on tab and
    newline, the utterance kept where its WAV was globbed; then `read_header(path)` of each WAV kept, where given.
    Two changes from torchaudio: no filter to its 6 emotions (every labelled utterance is kept, as mmdata keeps
    them), and the WAV stems in a set (torchaudio tests `in` a list of every stem globbed so far: quadratic).
    Returns utterance id -> emotion code."""
    base = Path(root) / "IEMOCAP_full_release"
    found: dict[str, str] = {}
    for session in range(1, 6):
        session_dir = base / f"Session{session}"
        wav_paths = sorted(str(p) for p in (session_dir / "sentences" / "wav").glob("*/*.wav"))
        stems = {Path(path).stem for path in wav_paths}
        labels: dict[str, str] = {}
        for label_path in (session_dir / "dialog" / "EmoEvaluation").glob("*.txt"):
            with open(label_path) as f:
                for line in f:
                    if not line.startswith("["):
                        continue
                    fields = re.split("[\t\n]", line)
                    if fields[1] in stems:
                        labels[fields[1]] = fields[2]
        for path in wav_paths:
            stem = Path(path).stem
            if stem in labels:
                if read_header is not None:
                    read_header(path)
                found[stem] = labels[stem]
    return found


def iemocap_mmdata(root: Path) -> Any:
    return load_corpus("iemocap", root)


def iemocap_agreement(root: Path) -> dict[str, Any]:
    """The same utterances with the same emotions on both sides; where torchaudio is installed, its `IEMOCAP(root)`
    finds the script's utterances of its 6 emotions (the restatement checked against the original)."""
    from mmdata.corpora.iemocap import EMOTIONS

    script = iemocap_script(root)
    result = iemocap_mmdata(root)
    name_of = {name: code for code, name in EMOTIONS.items()}
    ours = {s.sample_id: name_of[s.extra["emotion"]] for s in result.samples}
    assert ours == script, "mmdata and the script found different utterances or emotions"
    agreement = {"utterances_found": len(ours), "utterances_listed": result.metadata["utterances_listed"],
                 "problems_named": len(result.problems),
                 "samples_with_audio_duration": sum(1 for s in result.samples if "audio_duration" in s.extra)}
    try:
        from torchaudio.datasets import IEMOCAP
    except ImportError:
        agreement["torchaudio"] = "not installed: not checked"
        return agreement
    theirs = IEMOCAP(str(root))
    six = {sid for sid, code in script.items() if code in TORCHAUDIO_EMOTIONS}
    assert set(theirs.data) == six and len(theirs.data) == len(six), "torchaudio and the script disagree"
    agreement["torchaudio_utterances_of_its_6_emotions"] = len(theirs.data)
    return agreement


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
    "desed": {"script": "DCASE-baseline pandas + glob + os.path.exists",
              "script_headers": "the same + durations TSVs, soundfile.info per other WAV",
              "mmdata_sequential": "mmdata load_corpus, MMDATA_HEADER_THREADS=1", "mmdata": "mmdata load_corpus"},
    "meld": {"script": "pandas + os.path.exists", "script_headers": "the same + PyAV header per clip",
             "mmdata_sequential": "mmdata load_corpus, MMDATA_HEADER_THREADS=1", "mmdata": "mmdata load_corpus"},
    "img2dataset": {"script": "pyarrow read_table + status filter + tarfile getnames",
                    "mmdata": "mmdata load_corpus (tar index cache emptied)"},
    "iemocap": {"script": "torchaudio IEMOCAP's indexing (glob + EmoEvaluation lines)",
                "script_headers": "the same + soundfile.info per WAV",
                "mmdata_sequential": "mmdata load_corpus, MMDATA_HEADER_THREADS=1", "mmdata": "mmdata load_corpus"},
}


def summary(wall: dict[str, list[float]], rows: int) -> dict[str, Any]:
    """Medians, µs per annotation row, and mmdata's time over each other method's (below 1: mmdata is faster)."""
    medians = {key: statistics.median(times) for key, times in wall.items()}
    return {"wall_s": medians, "wall_runs_s": wall, "us_per_row": {k: v / rows * 1e6 for k, v in medians.items()},
            "mmdata_time_over": {k: medians["mmdata"] / v for k, v in medians.items() if k != "mmdata"}}


def measure(agreement: dict[str, Any], rows: int, script: Callable[..., Any], read_header: Callable[[str], Any],
            load: Callable[[Path], Any], root: Path, runs: int, seed: int,
            others: dict[str, Callable[[], Any]] | None = None) -> dict[str, Any]:
    """The interleaved timings of a corpus's methods: `others` (a peer's loader), the user's `script` without and
    with `read_header` per file, and mmdata's `load` with one header thread and as configured."""
    wall = interleaved({**(others or {}), "script": lambda: script(root),
                        "script_headers": lambda: script(root, read_header),
                        "mmdata_sequential": lambda: sequential(load, root),
                        "mmdata": lambda: load(root)}, runs, seed=seed)
    return {**summary(wall, rows), "agreement": agreement}


def measure_kinetics(root: Path, runs: int) -> dict[str, Any]:
    agreement = kinetics_agreement(root)
    return measure(agreement, agreement["clips_listed"], kinetics_script, container_durations, kinetics_mmdata,
                   root, runs, seed=0, others={"torchvision": lambda: kinetics_torchvision(root)})


def measure_audioset(root: Path, runs: int) -> dict[str, Any]:
    agreement = audioset_agreement(root)
    return measure(agreement, agreement["segments_listed"], audioset_script, sound_file_duration, audioset_mmdata,
                   root, runs, seed=1)


def measure_desed(root: Path, runs: int) -> dict[str, Any]:
    agreement = desed_agreement(root)
    return measure(agreement, agreement["clips_listed"], desed_script, sound_file_duration, desed_mmdata, root, runs,
                   seed=2)


def measure_meld(root: Path, runs: int) -> dict[str, Any]:
    agreement = meld_agreement(root)
    return measure(agreement, agreement["utterances_listed"], meld_script, container_durations, meld_mmdata, root,
                   runs, seed=3)


def measure_img2dataset(root: Path, runs: int) -> dict[str, Any]:
    """No header-reading variants: neither side opens an image (the sizes come from the Parquet)."""
    agreement = img2dataset_agreement(root)
    wall = interleaved({"script": lambda: img2dataset_script(root), "mmdata": lambda: img2dataset_mmdata(root)},
                       runs, seed=4)
    return {**summary(wall, agreement["urls_listed"]), "agreement": agreement}


def measure_iemocap(root: Path, runs: int) -> dict[str, Any]:
    agreement = iemocap_agreement(root)
    return measure(agreement, agreement["utterances_listed"], iemocap_script, sound_file_duration, iemocap_mmdata,
                   root, runs, seed=5)


def report(results: dict[str, Any]) -> None:
    rows = [("corpus", "method", "median wall s", "us per row", "mmdata's time over it", "runs s")]
    corpora = [corpus for corpus in METHODS if corpus in results]
    for corpus in corpora:
        labels, figures = METHODS[corpus], results[corpus]
        for key, label in labels.items():
            ratio = f"{figures['mmdata_time_over'][key]:.2f}x" if key != "mmdata" else ""
            rows.append((corpus, label, f"{figures['wall_s'][key]:.3f}", f"{figures['us_per_row'][key]:.0f}", ratio,
                         " ".join(f"{x:.3f}" for x in figures["wall_runs_s"][key])))
    print_table(rows)
    for corpus in corpora:
        print(f"{corpus}: {results[corpus]['agreement']}")
    load = results["load_average_1min"]
    print(f"load average (1 min) {load[0]:.2f} -> {load[1]:.2f} on {os.cpu_count()} CPUs")


#: The corpora measured, in the order they run (`--only` picks some).
CORPORA = ("kinetics", "audioset", "desed", "meld", "img2dataset", "iemocap")


def chosen_corpora(text: str, corpora: tuple[str, ...] = CORPORA) -> list[str]:
    """`--only`'s comma-separated corpora, in the order of `corpora` (the benchmark's)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in corpora]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown corpus {', '.join(unknown) or text!r}; expected some of "
                                         f"{','.join(corpora)}")
    return [corpus for corpus in corpora if corpus in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=600)
    parser.add_argument("--clip-seconds", type=float, default=CLIP_SECONDS,
                        help="length of each clip (torchvision counts every frame; mmdata reads the header)")
    parser.add_argument("--segments", type=int, default=20000)
    parser.add_argument("--desed-scale", type=float, default=None,
                        help="DESED's sets at this share of their real sizes (default 1: 33,128 clips; --quick 0.02)")
    parser.add_argument("--meld-utterances", type=int, default=None,
                        help="MELD rows over the three CSVs, a ~1 s MP4 each (default 1500; --quick 60)")
    parser.add_argument("--img2dataset-urls", type=int, default=None,
                        help=f"img2dataset URLs in shards of {I2D_PER_SHARD:,} (default 40000: 20 shards; --quick 400)")
    parser.add_argument("--iemocap-scale", type=float, default=None,
                        help="IEMOCAP at this share of the release (default 1: 151 dialogs, 10,039 utterances; "
                             "--quick 0.02)")
    parser.add_argument("--only", type=chosen_corpora, default=list(CORPORA),
                        help=f"comma-separated corpora to measure (default all: {','.join(CORPORA)})")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true",
                        help="24 clips, 500 segments, DESED at 0.02, 60 MELD rows, 400 img2dataset URLs, "
                             "IEMOCAP at 0.02, 1 round; writes no results")
    parser.add_argument("--out", type=Path, help="where the JSON goes (default results/corpus_load.json; with "
                                                 "--only a subset, results/corpus_load_<corpora>.json)")
    args = parser.parse_args()
    if args.quick:
        args.clips, args.segments, args.runs = 24, 500, 1
    if args.desed_scale is None:
        args.desed_scale = 0.02 if args.quick else 1.0
    if args.meld_utterances is None:
        args.meld_utterances = 60 if args.quick else 1500
    if args.img2dataset_urls is None:
        args.img2dataset_urls = 400 if args.quick else 40000
    if args.iemocap_scale is None:
        args.iemocap_scale = 0.02 if args.quick else 1.0
    logging.getLogger("mmdata").setLevel(logging.ERROR)  # the missing-clips warning, once per run
    makers = {"kinetics": lambda: make_kinetics_corpus(args.clips, args.clip_seconds),
              "audioset": lambda: make_audioset_corpus(args.segments),
              "desed": lambda: make_desed_corpus(args.desed_scale),
              "meld": lambda: make_meld_corpus(args.meld_utterances),
              "img2dataset": lambda: make_img2dataset_corpus(args.img2dataset_urls),
              "iemocap": lambda: make_iemocap_corpus(args.iemocap_scale)}
    measures = {"kinetics": measure_kinetics, "audioset": measure_audioset, "desed": measure_desed,
                "meld": measure_meld, "img2dataset": measure_img2dataset, "iemocap": measure_iemocap}
    roots = {corpus: makers[corpus]() for corpus in args.only}
    load_before = os.getloadavg()[0]
    results: dict[str, Any] = {
        "corpora": args.only, "clips": args.clips, "segments": args.segments, "desed_scale": args.desed_scale,
        "desed_set_clips": {name: size for (_, name, *_), size in zip(DESED_SETS, desed_set_sizes(args.desed_scale))},
        "meld_utterances": args.meld_utterances, "meld_clip_seconds": MELD_CLIP_SECONDS,
        "img2dataset_urls": args.img2dataset_urls,
        "img2dataset_shards": len(img2dataset_shard_sizes(args.img2dataset_urls)),
        "iemocap_scale": args.iemocap_scale, "runs": args.runs,
        "mmdata_header_threads": os.environ.get(HEADER_THREADS_VARIABLE, "the default"),
        "clip": {"size": list(CLIP_SIZE), "rate": CLIP_RATE, "seconds": args.clip_seconds, "audio_rate": AUDIO_RATE}}
    for corpus, root in roots.items():
        results[corpus] = measures[corpus](root, args.runs)
    results["load_average_1min"] = [load_before, os.getloadavg()[0]]
    report(results)
    if not args.quick:
        name = "corpus_load" if args.only == list(CORPORA) else "corpus_load_" + "_".join(args.only)
        print("wrote", write_results(name, results, args.out))

if __name__ == "__main__":
    main()
