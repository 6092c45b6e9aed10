"""Log-mel features of many short WAVs: mmdata's batched pipeline vs a plain per-file librosa loop.

Data: >= 500 WAVs of 1-3 s at 16 kHz (espeak-ng speech over a quiet tone and noise, seeded), laid
out as a generic `mosi-raw` corpus (segments.csv) and cached under the benchmark data directory.
Both sides compute the same feature: ln(mel + 1e-6) of an 80-band Slaney mel power spectrogram,
n_fft 400, hop 160, periodic Hann window, centred frames with zero padding.

  baseline  for each file: `librosa.load(path, sr=16000)`, `librosa.feature.melspectrogram`, log;
            results kept in memory (nothing written).
  mmdata    `mmdata.pipeline.extract("mosi-raw", ..., extractors=["torchaudio-logmel"])`, the defaults
            a user gets: load the corpus, write the samples table, decode the first batch in the
            main process to measure what decoding costs, then decode the rest wherever that says
            is faster (for these WAVs: the main process; the run records the decision), compute in
            the main process (batches of 64 rows, sorted by length into batched torch.stft + mel
            filter bank calls of 16 signals), write the feature table (on a background thread, as
            its chunks arrive) and the manifest. Each run writes a fresh dataset directory.
  mmdata-2  the same with num_workers=2: decode in 2 worker processes whatever it costs (start-up
            included), to show what the workers would add.
  mmdata-0  the same with num_workers=0 (decode in the main process, nothing measured), and once
            more writing an Arrow IPC feature table (`table_format="arrow"`) instead of Parquet.

Runs are interleaved (each round runs every method once, in a shuffled order, after a 0.3 s pause
for the thread pools of the run before to go idle) so that all see the same machine load; each
method runs once untimed first (warm-up). Two
thread configurations, each in its own interpreter: the libraries' default thread pools (what a
user gets; OpenBLAS and torch start one thread per core, and mmdata caps its own workers at one)
and one thread per process
(OMP/OPENBLAS/MKL_NUM_THREADS=1), because on a machine with more runnable processes than cores,
idle pool threads spinning for work cost more than the work. Reports medians of >= 3 runs (default
10), main-process CPU seconds, the 1-minute load average, the speed-ups, and the largest absolute
difference between the two feature sets (per frame and band, over every file); results go to
benchmarks/results/audio_bench.json.

    python benchmarks/audio_bench.py [--files 600] [--runs 10] [--threads both|default|1]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SETTLE_S, DATA_DIR, median_time, peak_rss_mb, print_table, write_results  # noqa: E402

from mmdata.pipeline import extract  # noqa: E402
from mmdata.store.reader import open_dataset  # noqa: E402

SAMPLE_RATE = 16000
MEL = dict(n_fft=400, hop_length=160, n_mels=80)
LOG_OFFSET = 1e-6
SENTENCES = (
    "the movie was surprisingly good", "i did not like the ending at all", "honestly it was a waste of time",
    "the actors were brilliant", "i would watch it again", "the plot made no sense to me",
    "what a wonderful soundtrack", "it was boring and far too long", "my kids loved every minute",
    "the special effects looked cheap", "a masterpiece of modern cinema", "i fell asleep halfway through",
)


def make_wav_corpus(num_files: int, seed: int = 0) -> Path:
    """A generic mosi-raw corpus of `num_files` 1-3 s WAVs (cached; written once)."""
    import librosa
    import soundfile as sf

    root = DATA_DIR / f"wav-{num_files}-s{seed}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    (root / "audio").mkdir(parents=True)
    voices = []
    for text in SENTENCES:
        wav = subprocess.run(["espeak-ng", "--stdout", "-s", "170", text], check=True, capture_output=True).stdout
        samples = np.frombuffer(wav[44:], dtype="<i2").astype(np.float32) / 32768  # 22.05 kHz mono PCM
        voices.append(librosa.resample(samples, orig_sr=22050, target_sr=SAMPLE_RATE, res_type="soxr_hq"))
    rng = np.random.default_rng(seed)
    rows = ["segment_id,audio,text"]
    for index in range(num_files):
        n = int(rng.uniform(1.0, 3.0) * SAMPLE_RATE)
        voice = voices[index % len(voices)][:n]
        t = np.arange(n) / SAMPLE_RATE
        signal = 0.02 * np.sin(2 * np.pi * rng.uniform(80, 400) * t) + 0.003 * rng.standard_normal(n)
        offset = int(rng.integers(0, max(1, n - len(voice))))
        signal[offset : offset + len(voice)] += voice * rng.uniform(0.5, 1.0)
        name = f"audio/utt{index:05d}.wav"
        sf.write(str(root / name), np.clip(signal, -1, 1).astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        rows.append(f"utt{index:05d},{name},{SENTENCES[index % len(SENTENCES)]}")
    (root / "segments.csv").write_text("\n".join(rows) + "\n")
    (root / ".complete").touch()
    return root


def librosa_loop(corpus: Path) -> dict[str, np.ndarray]:
    """The baseline: one file at a time with librosa."""
    import librosa

    out = {}
    for path in sorted((corpus / "audio").glob("*.wav")):
        y, _ = librosa.load(path, sr=SAMPLE_RATE)
        mel = librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, center=True, pad_mode="constant", power=2.0,
                                             htk=False, norm="slaney", **MEL)
        out[path.stem] = np.log(mel + LOG_OFFSET).T
    return out


def run_mmdata(corpus: Path, output: Path, num_workers: int | None, table_format: str = "parquet") -> str | None:
    """One extraction; returns where it decoded (the executor's decision)."""
    shutil.rmtree(output, ignore_errors=True)
    report = extract("mosi-raw", corpus, output, extractors=["torchaudio-logmel"], num_workers=num_workers, batch_size=64,
                     table_format=table_format)
    assert report.tables[0].errors == 0, report
    return report.tables[0].decoded_in


def max_difference(output: Path, baseline: dict[str, np.ndarray]) -> tuple[float, int]:
    table = open_dataset(output).table("audio.torchaudio-logmel").to_table()
    worst, frames = 0.0, 0
    for sample_id, feature in zip(table.column("sample_id").to_pylist(), table.column("feature").to_pylist()):
        ours = np.asarray(feature, dtype=np.float32)
        theirs = baseline[sample_id]
        assert ours.shape == theirs.shape, (sample_id, ours.shape, theirs.shape)
        worst = max(worst, float(np.abs(ours - theirs).max()))
        frames += len(ours)
    return worst, frames


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
METHODS = {"baseline": "librosa per-file loop", "mmdata": "mmdata pipeline, defaults", "mmdata2": "mmdata pipeline, 2 workers",
           "mmdata0": "mmdata pipeline, 0 workers", "mmdata0_ipc": "mmdata pipeline, 0 workers, Arrow IPC table"}


def measure(corpus: Path, runs: int) -> dict[str, Any]:
    """Wall and main-process CPU seconds of each method, interleaved over `runs` rounds."""
    wall: dict[str, list[float]] = {k: [] for k in METHODS}
    cpu: dict[str, list[float]] = {k: [] for k in METHODS}
    with tempfile.TemporaryDirectory(prefix="mmdata-audio-bench-") as tmp:
        out = Path(tmp) / "out"
        # Warm-ups (untimed), one per method: numba-compiled librosa paths, torch import, first-touch
        # file cache, and the fork server the worker pools fork from (started once per process).
        librosa_loop(corpus)
        run_mmdata(corpus, out, 0)
        run_mmdata(corpus, out, 2)
        decisions = [run_mmdata(corpus, out, None)]
        calls = {"baseline": lambda: librosa_loop(corpus), "mmdata": lambda: decisions.append(run_mmdata(corpus, out, None)),
                 "mmdata2": lambda: run_mmdata(corpus, out, 2),
                 "mmdata0": lambda: run_mmdata(corpus, out, 0), "mmdata0_ipc": lambda: run_mmdata(corpus, out, 0, "arrow")}
        load_before = os.getloadavg()[0]
        order = random.Random(0)
        for _ in range(runs):
            # Interleaved, so that every method sees the same machine load, in a shuffled order, with a
            # pause before each: BLAS threads keep spinning in this process for a while after librosa's
            # loop returns, and would slow whatever ran next (its CPU time counts them).
            for key in order.sample(list(calls), len(calls)):
                call = calls[key]
                time.sleep(SETTLE_S)
                cpu_start = time.process_time()
                wall[key].append(median_time(call, 1)[0])
                cpu[key].append(time.process_time() - cpu_start)
        load_after = os.getloadavg()[0]
        worst, frames = max_difference(out, librosa_loop(corpus))
    medians = {k: statistics.median(v) for k, v in wall.items()}
    return {
        "wall_s": medians, "wall_runs_s": wall, "main_process_cpu_s": {k: statistics.median(v) for k, v in cpu.items()},
        "speedup_defaults": medians["baseline"] / medians["mmdata"], "decoded_in": sorted({str(d).split(" (")[0] for d in decisions}),
        "decision_example": decisions[-1],
        "speedup_2_workers": medians["baseline"] / medians["mmdata2"],
        "speedup_0_workers": medians["baseline"] / medians["mmdata0"],
        "speedup_0_workers_ipc": medians["baseline"] / medians["mmdata0_ipc"],
        "max_abs_difference": worst, "frames_compared": frames, "load_average_1min": [load_before, load_after],
        "peak_rss_mb_main_process": peak_rss_mb(),
    }


def run_configuration(args: argparse.Namespace, threads: str) -> dict[str, Any]:
    """Measure in a fresh interpreter whose BLAS/OpenMP/torch thread counts are set before any import."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    if threads != "default":
        env.update({k: threads for k in THREAD_VARIABLES})
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "figures.json"
        command = [sys.executable, __file__, "--files", str(args.files), "--runs", str(args.runs), "--threads", threads,
                   "--json", str(target)]
        subprocess.run(command, env=env, check=True)
        return json.loads(target.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=600)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--threads", choices=["both", "default", "1"], default="both",
                        help="library default thread pools, one thread per process, or both (two interpreters)")
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)  # where a child interpreter writes its figures
    args = parser.parse_args()
    corpus = make_wav_corpus(args.files)
    if args.json is not None:
        args.json.write_text(json.dumps(measure(corpus, args.runs)))
        return
    threads = ("default", "1") if args.threads == "both" else (args.threads,)
    configurations = {t: run_configuration(args, t) for t in threads}
    rows = [("threads", "method", "median wall s", "files/s", "main CPU s", "wall runs")]
    for t, figures in configurations.items():
        for key, label in METHODS.items():
            wall = figures["wall_s"][key]
            rows.append((t, label, f"{wall:.2f}", f"{args.files / wall:.0f}", f"{figures['main_process_cpu_s'][key]:.2f}",
                         " ".join(f"{x:.2f}" for x in figures["wall_runs_s"][key])))
    print_table(rows)
    for t, figures in configurations.items():
        load = figures["load_average_1min"]
        print(f"threads={t}: speed-up {figures['speedup_defaults']:.1f}x (defaults: decoded in {figures['decoded_in']}), "
              f"{figures['speedup_2_workers']:.1f}x (2 workers), {figures['speedup_0_workers']:.1f}x "
              f"(0 workers), {figures['speedup_0_workers_ipc']:.1f}x (0 workers, IPC table); max |difference| {figures['max_abs_difference']:.2e} over {figures['frames_compared']} frames; "
              f"load average {load[0]:.1f} -> {load[1]:.1f} on {os.cpu_count()} CPUs")
    seconds = sum(_duration(p) for p in (corpus / "audio").glob("*.wav"))
    path = write_results("audio_bench", {
        "files": args.files, "audio_seconds": round(seconds, 1), "runs": args.runs,
        "feature": {**MEL, "log_offset": LOG_OFFSET, "sample_rate": SAMPLE_RATE}, "configurations": configurations,
    })
    print(f"results: {path}")


def _duration(path: Path) -> float:
    import soundfile as sf

    return sf.info(str(path)).duration


if __name__ == "__main__":
    main()
