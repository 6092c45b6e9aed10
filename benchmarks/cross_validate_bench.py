"""The 5-fold protocol of a corpus cut into folds (ESC-50's), three ways, in one run:

  one extraction    mmdata: `extract` once, then `train cross-validate --fold-by fold` (each fold fused with its
                    own train statistics, a linear probe fit and scored);
  five extractions  what mmdata's docs gave before: `extract -o test_fold=F`, `fuse`, `train classify` per fold;
  script            what a user writes over the same extracted features: pyarrow reads the log-mel table, NumPy
                    mean-pools each clip, and per fold scikit-learn's StandardScaler (fit on the train folds) and
                    LogisticRegression(C=1) as the probe fits it. Compared with the cross-validate step alone.

The corpus is ESC-50's layout at its size: meta/esc50.csv and 2,000 one-second 16 kHz clips, 50 classes of 40 in 5
folds, each class a chord of its own tones faint in noise. Every way's mean test accuracy is printed beside its
time: they must agree (same features, same probe), and the run stops after a round where they do not. Medians of
`--repeats` runs (the five extractions: once, unless `--repeats-slow`).

    python benchmarks/cross_validate_bench.py [--clips 2000] [--repeats 3] [--repeats-slow 1] [--work DIR]
"""
from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_results  # noqa: E402

from mmdata.fusion import FuseOptions, fuse  # noqa: E402
from mmdata.models.classify_recipe import ClassifyRecipeConfig, run_classify_recipe  # noqa: E402
from mmdata.models.cross_validate import CrossValidateConfig, run_cross_validation  # noqa: E402
from mmdata.pipeline import extract  # noqa: E402

EXTRACTOR = "librosa-logmel"
FOLDS = (1, 2, 3, 4, 5)
CLASSES = 50
RATE = 16_000


def write_corpus(root: Path, clips: int, seed: int = 0) -> Path:
    """ESC-50's layout: meta/esc50.csv and audio/<fold>-<src>-A-<target>.wav, the clips dealt into 5 folds."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    (root / "audio").mkdir(parents=True)
    (root / "meta").mkdir()
    t = np.arange(RATE) / RATE
    rows = []
    for i in range(clips):
        target, fold = i % CLASSES, i // CLASSES % len(FOLDS) + 1
        tones = sum(np.sin(2 * np.pi * (150.0 + 37.0 * target * k) * t + rng.uniform(0, 6.3)) for k in (1, 2, 3))
        wave = (0.07 * tones / 3 + 0.3 * rng.standard_normal(RATE)).astype(np.float32)  # faint: not every clip told
        name = f"{fold}-{100000 + i}-A-{target}.wav"
        sf.write(root / "audio" / name, wave, RATE, subtype="PCM_16")
        rows.append([name, fold, target, f"class{target:02d}", "False", 100000 + i, "A"])
    with open(root / "meta" / "esc50.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        writer.writerows(rows)
    return root


def one_extraction(corpus: Path, work: Path) -> float:
    """mmdata: one extraction, then every fold; the mean test accuracy."""
    extract("esc50", corpus, work / "ds", extractors=[EXTRACTOR], num_workers=1)
    return cross_validate(work / "ds", work / "cv")


def cross_validate(dataset: Path, out: Path) -> float:
    report = run_cross_validation(dataset, out, CrossValidateConfig(
        fold_by="fold", fuse=FuseOptions(class_label="class")), force=True)
    return float(report.summary["linear"]["acc"]["mean"])


def five_extractions(corpus: Path, work: Path) -> float:
    """The loop the docs gave before: an extraction, a fuse and a probe per held-out fold."""
    accuracies = []
    for fold in FOLDS:
        extract("esc50", corpus, work / f"ds{fold}", extractors=[EXTRACTOR], num_workers=1,
                corpus_options={"test_fold": fold})
        fuse(work / f"ds{fold}", work / f"fused{fold}", format="arrow", class_label="class")
        report = run_classify_recipe(work / f"fused{fold}", None, ClassifyRecipeConfig())
        accuracies.append(report.row("linear", "test").metrics["acc"])
    return float(np.mean(accuracies))


def script(dataset: Path) -> float:
    """A user's script over the extracted table: pyarrow, NumPy mean pooling, scikit-learn per fold."""
    import json

    import pyarrow.dataset as ds
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    samples = ds.dataset(dataset / "samples", format="parquet").to_table(columns=["sample_id", "extra"])
    meta = {sid: json.loads(extra) for sid, extra in zip(samples.column("sample_id").to_pylist(),
                                                          samples.column("extra").to_pylist())}
    table = ds.dataset(dataset / "features" / f"audio.{EXTRACTOR}", format="parquet").to_table(
        columns=["sample_id", "feature"])
    frames = table.column("feature").combine_chunks()  # list<fixed_size_list<float>>: the frames of each clip
    offsets = frames.offsets.to_numpy()
    dim = frames.values.type.list_size
    values = frames.values.flatten().to_numpy().reshape(-1, dim)
    pooled = np.add.reduceat(values, offsets[:-1], axis=0) / np.diff(offsets)[:, None]
    ids = table.column("sample_id").to_pylist()
    folds = np.array([meta[s]["fold"] for s in ids])
    labels = np.array([meta[s]["class"] for s in ids])
    accuracies = []
    for fold in FOLDS:
        train, test = folds != fold, folds == fold
        scaler = StandardScaler().fit(pooled[train])
        probe = LogisticRegression(C=1.0, max_iter=1000, random_state=0).fit(scaler.transform(pooled[train]),
                                                                              labels[train])
        accuracies.append(float(np.mean(probe.predict(scaler.transform(pooled[test])) == labels[test])))
    return float(np.mean(accuracies))


def timed(fn, *args) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--repeats-slow", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mmdata-cv-bench-"))
    corpus = write_corpus(work / "ESC-50", args.clips)
    times: dict[str, list[float]] = {"one extraction + cross-validate": [], "five extractions": [],
                                     "cross-validate step": [], "script (pyarrow + NumPy + scikit-learn)": []}
    accuracy: dict[str, float] = {}
    for run in range(max(args.repeats, args.repeats_slow)):
        if run < args.repeats:
            shutil.rmtree(work / "one", ignore_errors=True)
            seconds, accuracy["one extraction + cross-validate"] = timed(one_extraction, corpus, work / "one")
            times["one extraction + cross-validate"].append(seconds)
            seconds, accuracy["cross-validate step"] = timed(cross_validate, work / "one" / "ds", work / "one" / "cv")
            times["cross-validate step"].append(seconds)
            seconds, accuracy["script (pyarrow + NumPy + scikit-learn)"] = timed(script, work / "one" / "ds")
            times["script (pyarrow + NumPy + scikit-learn)"].append(seconds)
        if run < args.repeats_slow:
            shutil.rmtree(work / "five", ignore_errors=True)
            seconds, accuracy["five extractions"] = timed(five_extractions, corpus, work / "five")
            times["five extractions"].append(seconds)
        if max(accuracy.values()) - min(accuracy.values()) > 1e-9:
            raise SystemExit(f"the ways disagree on the mean test accuracy: {accuracy}")
    medians = {name: statistics.median(values) for name, values in times.items() if values}
    rows = [("way", "median s", "runs", "mean test acc")]
    rows += [(name, f"{medians[name]:.2f}", str(len(times[name])), f"{accuracy[name]:.4f}") for name in medians]
    print_table(rows)
    pairs = {"five extractions / one extraction": ("five extractions", "one extraction + cross-validate"),
             "cross-validate step / script": ("cross-validate step", "script (pyarrow + NumPy + scikit-learn)")}
    ratios = {name: medians[a] / medians[b] for name, (a, b) in pairs.items() if a in medians and b in medians}
    for name, ratio in ratios.items():
        print(f"{name}: {ratio:.2f}x")
    write_results("cross_validate", {"clips": args.clips, "folds": len(FOLDS), "extractor": EXTRACTOR,
                                     "seconds": times, "median_seconds": medians, "mean_test_accuracy": accuracy,
                                     "ratios": ratios})
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
