"""Loading the acted-emotion corpora: mmdata `load_corpus` vs what a user would otherwise write.

RAVDESS (corpus kind `ravdess`): both audio-only zips unpacked into one root, as the release's: `--ravdess-actors`
actors' `Actor_NN/` folders (24: 1,440 speech WAVs, 60 an actor, and 1,012 song WAVs, 44 an actor, actor 18 sang
none), each file `03-VV-EE-II-SS-RR-AA.wav` (speech emotions 01-08, songs 01-06, no strong neutral; 2 statements x
2 repetitions), a short clip of seeded noise (`--ravdess-seconds`, 0.2 s by default, 48 kHz 16-bit mono).

  script       what the Kaggle notebooks write: `glob(root/Actor_*/*.wav)`, each stem split on '-', the codes mapped
               to names (emotion, intensity, vocal channel, statement, actor and its sex)
  script+hdr   the same, plus `soundfile.info(path).duration` of each WAV (mmdata's header read)
  mmdata       `load_corpus("ravdess", root, options={"channels": "speech+song"})`: every name checked, each WAV's
               header read for its duration on threads (`MMDATA_HEADER_THREADS`, default 8)
  mmdata-seq   the same with MMDATA_HEADER_THREADS=1: every header read one after another
  (agreement: the same utterance ids, `VV-EE-II-SS-RR-AA`, with the same emotion, intensity and sex)

CREMA-D (corpus kind `crema-d`): the GitHub repository as git-lfs clones it: `AudioWAV/<actor>_<sentence>_<emotion>_
<level>.wav` of `--crema-actors` actors (91: 1001-1091, 82 clips an actor, IEO at LO/MD/HI for the five emotions
and NEU_XX, the 11 other sentences XX in all six emotions, less 20 absent clips at random: 7,442 WAVs), each a short
clip of seeded noise (0.2 s, 16 kHz 16-bit mono), and `VideoDemographics.csv` (the release's quoting, 91 rows).
The four clips the release holds damaged (`mmdata.corpora.crema_d.DAMAGED_CLIPS`) are among the files (their
actors, 1064 and 1076, are the first chosen at any `--crema-actors`): mmdata leaves them out by default.

  script       `glob(root/AudioWAV/*.wav)`, each stem split on '_', the codes mapped to names, VideoDemographics.csv
               read with `csv.DictReader` for each actor's age, sex, race and ethnicity
  script+hdr   the same, plus `soundfile.info(path).duration` of each WAV
  mmdata       `load_corpus("crema-d", root)`: every name and demographics row checked, the damaged clips named and
               left out, each WAV's header read on threads; mmdata-seq as above
  (agreement: the script's clips less the damaged ones, with the same emotion, level and sex; with
  `keep_damaged`, every clip of the script)

Every method of a corpus must find the same clips (checked before timing). Methods run interleaved (helpers of
corpus_load_bench.py), in a shuffled order per round after a 0.3 s pause, each once untimed first; medians of
`--runs` rounds. The 1-minute load average before and after is recorded: other jobs may run on the machine meanwhile.

    python benchmarks/emotion_load_bench.py [--ravdess-actors 24] [--crema-actors 91] [--only ravdess,crema-d]
        [--runs 5] [--quick]
"""
from __future__ import annotations

import argparse
import csv
import glob
import logging
import os
import random
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, print_table, write_results  # noqa: E402
from corpus_load_bench import (  # noqa: E402
    HEADER_THREADS_VARIABLE,
    WAV_RATE,
    WAV_SECONDS,
    chosen_corpora,
    measure,
    sound_file_duration,
    write_wav,
)

from mmdata.corpora import load_corpus  # noqa: E402
from mmdata.corpora.crema_d import DAMAGED_CLIPS  # noqa: E402

# --- RAVDESS -------------------------------------------------------------------------------------------------

RAVDESS_ACTORS = 24
#: The actor who sang none (Audio_Song_Actors_01-24.zip has no Actor_18/ files).
RAVDESS_NO_SONG_ACTOR = 18
RAVDESS_RATE, RAVDESS_SECONDS = 48000, 0.2
#: What a user maps each code to (the release's README): emotion, intensity, vocal channel.
RAVDESS_EMOTIONS = {1: "neutral", 2: "calm", 3: "happy", 4: "sad", 5: "angry", 6: "fearful", 7: "disgust",
                    8: "surprised"}
RAVDESS_INTENSITIES = {1: "normal", 2: "strong"}
RAVDESS_CHANNELS = {1: "speech", 2: "song"}
#: The emotions each vocal channel holds (songs: no disgust, no surprise).
RAVDESS_CHANNEL_EMOTIONS = {1: range(1, 9), 2: range(1, 7)}


def ravdess_actors(count: int) -> list[int]:
    """The `count` actors of a corpus: actor 18 (no songs) and 21 (of fold 6, which mmdata holds out as test by
    default: a corpus without its actors is refused) first, then the others in order; sorted."""
    first = [RAVDESS_NO_SONG_ACTOR, 21]
    return sorted((first + [a for a in range(1, RAVDESS_ACTORS + 1) if a not in first])[:count])


def ravdess_names(actor: int) -> list[str]:
    """An actor's audio-only file names as the release has them: 60 spoken, 44 sung (none for actor 18)."""
    names = []
    for channel, emotions in RAVDESS_CHANNEL_EMOTIONS.items():
        if channel == 2 and actor == RAVDESS_NO_SONG_ACTOR:
            continue
        for emotion in emotions:
            for intensity in (1,) if emotion == 1 else (1, 2):  # no strong neutral
                for statement in (1, 2):
                    for repetition in (1, 2):
                        names.append(f"03-{channel:02d}-{emotion:02d}-{intensity:02d}-{statement:02d}-"
                                     f"{repetition:02d}-{actor:02d}.wav")
    return names


def make_ravdess_corpus(actors: int, seconds: float = RAVDESS_SECONDS, seed: int = 0) -> Path:
    """Both audio-only zips of `actors` actors unpacked into one root (`Actor_NN/`), a short 48 kHz WAV per file
    (cached on disk; written once)."""
    root = DATA_DIR / f"ravdess-{actors}a-{seconds:g}s-s{seed}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(seed)
    frames = int(RAVDESS_RATE * seconds)
    noise = (np.random.default_rng(seed).standard_normal(frames * 4) * 3000).astype("<i2")
    for actor in ravdess_actors(actors):
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir(parents=True)
        for name in ravdess_names(actor):
            offset = rng.randrange(0, len(noise) - frames)
            write_wav(folder / name, noise[offset : offset + frames], RAVDESS_RATE)
    (root / ".complete").touch()
    return root


def ravdess_script(root: Path, read_header: Callable[[str], Any] | None = None) -> dict[str, tuple[str, str, str]]:
    """What the Kaggle notebooks write: the WAVs of every `Actor_*` folder, each stem split on '-' and its codes
    mapped to names (and `read_header(path)` of each, where given). Returns utterance id (the six codes after the
    modality) -> (emotion, intensity, sex)."""
    found = {}
    for path in glob.glob(os.path.join(root, "Actor_*", "*.wav")):
        parts = os.path.basename(path)[:-4].split("-")
        _modality, channel, emotion, intensity, _statement, _repetition, actor = (int(p) for p in parts)
        record = {"emotion": RAVDESS_EMOTIONS[emotion], "intensity": RAVDESS_INTENSITIES[intensity],
                  "vocal_channel": RAVDESS_CHANNELS[channel], "actor": actor,
                  "sex": "male" if actor % 2 else "female", "path": path}
        if read_header is not None:
            record["duration"] = read_header(path)
        found["-".join(parts[1:])] = (record["emotion"], record["intensity"], record["sex"])
    return found


def ravdess_mmdata(root: Path) -> Any:
    return load_corpus("ravdess", root, options={"channels": "speech+song"})


def ravdess_agreement(root: Path) -> dict[str, Any]:
    """The same utterances with the same emotion, intensity and sex on both sides; no problem named."""
    script = ravdess_script(root)
    result = ravdess_mmdata(root)
    ours = {s.sample_id: (s.extra["emotion"], s.extra["intensity"], s.extra["sex"]) for s in result.samples}
    assert ours == script, "mmdata and the script found different utterances or labels"
    assert not result.problems, f"mmdata named problems: {result.problems[:3]}"
    channels = {name: sum(1 for s in result.samples if s.extra["vocal_channel"] == name) for name in ("speech", "song")}
    return {"files": len(script), "utterances_found": len(ours), **{f"{k}_utterances": v for k, v in channels.items()},
            "problems_named": len(result.problems),
            "samples_with_audio_duration": sum(1 for s in result.samples if "audio_duration" in s.extra)}


# --- CREMA-D -------------------------------------------------------------------------------------------------

CREMA_FIRST_ACTOR, CREMA_ACTORS = 1001, 91
CREMA_SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
CREMA_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
CREMA_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
#: Clips the release lacks of its 91 x 82 (7,462 - 20 = 7,442 WAVs); scaled with --crema-actors.
CREMA_ABSENT = 20
CREMA_RACES = ("Caucasian", "African American", "Asian", "Unknown")
CREMA_ETHNICITIES = ("Not Hispanic", "Hispanic")


def crema_actors(count: int) -> list[int]:
    """The `count` actors of a corpus: those of the damaged clips first, then the others in id order; sorted."""
    damaged = sorted({int(clip[:4]) for clip in DAMAGED_CLIPS})
    others = [a for a in range(CREMA_FIRST_ACTOR, CREMA_FIRST_ACTOR + CREMA_ACTORS) if a not in damaged]
    return sorted((damaged + others)[:count])


def crema_clips(actor: int) -> list[str]:
    """An actor's 82 clip stems: IEO at LO/MD/HI in the five emotions and NEU_XX, every other sentence XX in six."""
    stems = []
    for sentence in CREMA_SENTENCES:
        for emotion in CREMA_EMOTIONS:
            if sentence != "IEO" or emotion == "NEU":
                stems.append(f"{actor}_{sentence}_{emotion}_XX")
            else:
                stems.extend(f"{actor}_{sentence}_{emotion}_{level}" for level in ("LO", "MD", "HI"))
    return stems


def make_crema_corpus(actors: int, seed: int = 0) -> Path:
    """CREMA-D's AudioWAV/ of `actors` actors (82 clips each less ~20 per 91 actors absent, the damaged four kept)
    and VideoDemographics.csv (cached on disk; written once)."""
    root = DATA_DIR / f"crema-d-{actors}a-{WAV_SECONDS:g}s-s{seed}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(seed)
    stems = [stem for actor in crema_actors(actors) for stem in crema_clips(actor)]
    absent = set(rng.sample([s for s in stems if s not in DAMAGED_CLIPS], round(CREMA_ABSENT * actors / CREMA_ACTORS)))
    audio_dir = root / "AudioWAV"
    audio_dir.mkdir(parents=True)
    frames = int(WAV_RATE * WAV_SECONDS)
    noise = (np.random.default_rng(seed).standard_normal(frames * 4) * 3000).astype("<i2")
    for stem in stems:
        if stem not in absent:
            offset = rng.randrange(0, len(noise) - frames)
            write_wav(audio_dir / f"{stem}.wav", noise[offset : offset + frames])
    with open(root / "VideoDemographics.csv", "w", newline="") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)  # "ActorID",...; 1001,51,"Male",...
        writer.writerow(["ActorID", "Age", "Sex", "Race", "Ethnicity"])
        for actor in range(CREMA_FIRST_ACTOR, CREMA_FIRST_ACTOR + CREMA_ACTORS):
            writer.writerow([actor, rng.randint(20, 74), rng.choice(("Male", "Female")), rng.choice(CREMA_RACES),
                             rng.choice(CREMA_ETHNICITIES)])
    (root / ".complete").touch()
    return root


def crema_script(root: Path, read_header: Callable[[str], Any] | None = None) -> dict[str, tuple[str, str, str]]:
    """What a user writes: the WAVs of AudioWAV/, each stem split on '_' and its codes mapped to names, each
    actor's row of VideoDemographics.csv with `csv` (and `read_header(path)` of each WAV, where given). Returns clip
    id -> (emotion, level, sex)."""
    with open(os.path.join(root, "VideoDemographics.csv"), newline="") as f:
        people = {int(row["ActorID"]): row for row in csv.DictReader(f)}
    found = {}
    for path in glob.glob(os.path.join(root, "AudioWAV", "*.wav")):
        stem = os.path.basename(path)[:-4]
        actor, sentence, emotion, level = stem.split("_")
        person = people[int(actor)]
        record = {"emotion": CREMA_EMOTIONS[emotion], "level": CREMA_LEVELS[level], "sentence": sentence,
                  "actor": int(actor), "age": int(person["Age"]), "sex": person["Sex"], "race": person["Race"],
                  "ethnicity": person["Ethnicity"], "path": path}
        if read_header is not None:
            record["duration"] = read_header(path)
        found[stem] = (record["emotion"], record["level"], record["sex"])
    return found


def crema_mmdata(root: Path) -> Any:
    return load_corpus("crema-d", root)


def crema_agreement(root: Path) -> dict[str, Any]:
    """mmdata finds the script's clips less the damaged ones (each named), with the same emotion, level and sex;
    with keep_damaged, every clip of the script."""
    script = crema_script(root)
    result = crema_mmdata(root)
    ours = {s.sample_id: (s.extra["emotion"], s.extra["level"], s.extra["sex"]) for s in result.samples}
    damaged = sorted(set(script) & set(DAMAGED_CLIPS))
    # mmdata's sex is the CSV's lower case (`male`, as RAVDESS's)
    script_lower = {k: (emotion, level, sex.lower()) for k, (emotion, level, sex) in script.items()}
    assert ours == {k: v for k, v in script_lower.items() if k not in DAMAGED_CLIPS}, \
        "mmdata and the script (less the damaged clips) found different clips or labels"
    assert sorted(p.sample_id for p in result.problems) == damaged, f"mmdata named other problems: {result.problems}"
    kept = load_corpus("crema-d", root, options={"keep_damaged": True})
    assert {s.sample_id for s in kept.samples} == set(script), "mmdata (keep_damaged) and the script differ"
    return {"files": len(script), "clips_found": len(ours), "damaged_left_out_and_named": len(damaged),
            "clips_with_keep_damaged": len(kept.samples), "problems_named": len(result.problems),
            "samples_with_audio_duration": sum(1 for s in result.samples if "audio_duration" in s.extra)}


# --- measuring -----------------------------------------------------------------------------------------------

#: Each corpus's methods as the table names them, mmdata last.
METHODS = {
    "ravdess": {"script": "glob Actor_*/*.wav + split '-' + code maps",
                "script_headers": "the same + soundfile.info per WAV",
                "mmdata_sequential": "mmdata load_corpus, MMDATA_HEADER_THREADS=1",
                "mmdata": "mmdata load_corpus channels=speech+song"},
    "crema-d": {"script": "glob AudioWAV/*.wav + split '_' + code maps + csv demographics",
                "script_headers": "the same + soundfile.info per WAV",
                "mmdata_sequential": "mmdata load_corpus, MMDATA_HEADER_THREADS=1", "mmdata": "mmdata load_corpus"},
}
#: The corpora measured, in the order they run (`--only` picks some).
CORPORA = tuple(METHODS)


def measure_ravdess(root: Path, runs: int) -> dict[str, Any]:
    agreement = ravdess_agreement(root)
    return measure(agreement, agreement["files"], ravdess_script, sound_file_duration, ravdess_mmdata, root, runs,
                   seed=10)


def measure_crema(root: Path, runs: int) -> dict[str, Any]:
    agreement = crema_agreement(root)
    return measure(agreement, agreement["files"], crema_script, sound_file_duration, crema_mmdata, root, runs,
                   seed=11)


def report(results: dict[str, Any]) -> None:
    rows = [("corpus", "method", "median wall s", "us per file", "mmdata's time over it", "runs s")]
    corpora = [corpus for corpus in METHODS if corpus in results]
    for corpus in corpora:
        figures = results[corpus]
        for key, label in METHODS[corpus].items():
            ratio = f"{figures['mmdata_time_over'][key]:.2f}x" if key != "mmdata" else ""
            rows.append((corpus, label, f"{figures['wall_s'][key]:.3f}", f"{figures['us_per_row'][key]:.0f}", ratio,
                         " ".join(f"{x:.3f}" for x in figures["wall_runs_s"][key])))
    print_table(rows)
    for corpus in corpora:
        print(f"{corpus}: {results[corpus]['agreement']}")
    load = results["load_average_1min"]
    print(f"load average (1 min) {load[0]:.2f} -> {load[1]:.2f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ravdess-actors", type=int, default=None,
                        help=f"RAVDESS actors, 1-{RAVDESS_ACTORS} (default {RAVDESS_ACTORS}: 2,452 WAVs; --quick 2, "
                             "actors 18 and 21: 164)")
    parser.add_argument("--ravdess-seconds", type=float, default=RAVDESS_SECONDS, help="each RAVDESS WAV's length")
    parser.add_argument("--crema-actors", type=int, default=None,
                        help=f"CREMA-D actors, 1-{CREMA_ACTORS} (default {CREMA_ACTORS}: 7,442 WAVs; --quick 3)")
    parser.add_argument("--only", type=lambda text: chosen_corpora(text, CORPORA), default=list(CORPORA),
                        help=f"comma-separated corpora to measure (default all: {','.join(CORPORA)})")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true",
                        help="RAVDESS of 2 actors, CREMA-D of 3, 1 round; writes no results")
    parser.add_argument("--out", type=Path, help="where the JSON goes (default results/emotion_load.json; with "
                                                 "--only a subset, results/emotion_load_<corpora>.json)")
    args = parser.parse_args()
    if args.quick:
        args.runs = 1
    if args.ravdess_actors is None:
        args.ravdess_actors = 2 if args.quick else RAVDESS_ACTORS
    if args.crema_actors is None:
        args.crema_actors = 3 if args.quick else CREMA_ACTORS
    if not (1 <= args.ravdess_actors <= RAVDESS_ACTORS and 1 <= args.crema_actors <= CREMA_ACTORS):
        parser.error(f"--ravdess-actors is 1-{RAVDESS_ACTORS}, --crema-actors 1-{CREMA_ACTORS}")
    logging.getLogger("mmdata").setLevel(logging.ERROR)
    makers = {"ravdess": lambda: make_ravdess_corpus(args.ravdess_actors, args.ravdess_seconds),
              "crema-d": lambda: make_crema_corpus(args.crema_actors)}
    measures = {"ravdess": measure_ravdess, "crema-d": measure_crema}
    roots = {corpus: makers[corpus]() for corpus in args.only}
    load_before = os.getloadavg()[0]
    results: dict[str, Any] = {
        "corpora": args.only, "runs": args.runs, "ravdess_actors": ravdess_actors(args.ravdess_actors),
        "ravdess_wav": {"rate": RAVDESS_RATE, "seconds": args.ravdess_seconds},
        "crema_actors": args.crema_actors, "crema_wav": {"rate": WAV_RATE, "seconds": WAV_SECONDS},
        "mmdata_header_threads": os.environ.get(HEADER_THREADS_VARIABLE, "the default")}
    for corpus, root in roots.items():
        results[corpus] = measures[corpus](root, args.runs)
    results["load_average_1min"] = [load_before, os.getloadavg()[0]]
    report(results)
    if not args.quick:
        name = "emotion_load" if args.only == list(CORPORA) else "emotion_load_" + "_".join(args.only)
        print("wrote", write_results(name, results, args.out))


if __name__ == "__main__":
    main()
