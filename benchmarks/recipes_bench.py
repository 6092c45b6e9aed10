"""Training recipes on the demo corpora: does fusion beat the best single modality, is retrieval far above chance?

Runs the whole path on CPU, timing each stage, with the recipes' default models and settings:
  1. sentiment: MOSI-style demo corpus (espeak-ng speech, MP4 video) -> `extract` (MiniLM, eGeMAPS
     functionals, colour histogram of frames) -> `fuse` (train-only z-score) -> unimodal / early / late /
     intermediate / tensor fusion, trained with `--seeds` seeds; reports the mean and spread of each metric;
  2. retrieval: shapes corpus (COCO captions) -> `extract` (colour histogram + pixel statistics, MiniLM
     per caption) -> MSE projection / CCA / InfoNCE, same seeds; Recall@K against chance.

    python benchmarks/recipes_bench.py [--seeds 0 1 2] [--quick] [--work DIR]
"""
from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_results  # noqa: E402

from mmdata.demo_corpora.mosi_demo import MosiDemoConfig, write_mosi_demo  # noqa: E402
from mmdata.demo_corpora.shapes_demo import ShapesDemoConfig, write_shapes_demo  # noqa: E402
from mmdata.models.demo import RETRIEVAL_EXTRACTORS, SENTIMENT_EXTRACTORS  # noqa: E402
from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, run_retrieval_recipe  # noqa: E402
from mmdata.models.sentiment_recipe import SentimentRecipeConfig, run_sentiment_recipe  # noqa: E402


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def summarize(reports: list[Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per result row: mean and (population) std over seeds of each metric, plus mean train seconds."""
    out = []
    for index, row in enumerate(reports[0].rows):
        runs = [r.rows[index] for r in reports]
        entry = {"model": row.model, "kind": row.kind, "modalities": row.modalities,
                 "train_seconds": round(statistics.mean(r.train_seconds for r in runs), 2)}
        for key in keys:
            values = [r.metrics[key] for r in runs if key in r.metrics and r.metrics[key] == r.metrics[key]]
            if values:
                entry[key] = round(statistics.mean(values), 4)
                entry[key + "_std"] = round(statistics.pstdev(values), 4)
        out.append(entry)
    return out


def bench_sentiment(work: Path, corpus: MosiDemoConfig, seeds: list[int]) -> dict[str, Any]:
    from mmdata.fusion import fuse
    from mmdata.pipeline import extract

    info, t_corpus = timed(write_mosi_demo, work / "corpus", corpus)
    _, t_extract = timed(extract, "mosi-raw", work / "corpus", work / "dataset", extractors=list(SENTIMENT_EXTRACTORS),
                         num_workers=1, on_error="fail")
    _, t_fuse = timed(fuse, work / "dataset", work / "fused", tables=("text", "audio", "video"), format="arrow")
    base = SentimentRecipeConfig()
    reports, t_train = [], []
    for seed in seeds:
        report, seconds = timed(run_sentiment_recipe, work / "fused", None, replace(base, train=base.train.override(seed=seed)))
        reports.append(report)
        t_train.append(seconds)
        print(f"\nsentiment, seed {seed}:\n{report.table()}")
    rows = summarize(reports, ("mae", "corr", "acc2_has0", "f1_has0", "acc2_non0", "f1_non0", "acc7", "acc5", "acc7_cmumosei"))
    unimodal = [r for r in rows if r["kind"] == "unimodal"]
    fused = [r for r in rows if r["kind"] == "multimodal"]
    best_uni = max(unimodal, key=lambda r: r["corr"])
    worst_fused = min(fused, key=lambda r: r["corr"])
    # The claim holds per seed: every fusion model beats every unimodal one on that seed's run.
    per_seed = [all(f.metrics["corr"] > u.metrics["corr"] and f.metrics["mae"] < u.metrics["mae"]
                    for f in rep.rows if f.kind == "multimodal" for u in rep.rows if u.kind == "unimodal")
                for rep in reports]
    return {
        "corpus": {"segments": len(info.segments), "splits": info.split_counts(), "audio": corpus.audio},
        "extractors": list(SENTIMENT_EXTRACTORS),
        "seconds": {"corpus": round(t_corpus, 1), "extract": round(t_extract, 1), "fuse": round(t_fuse, 2),
                    "train_all_models_per_seed": round(statistics.mean(t_train), 1)},
        "seeds": seeds,
        "rows": rows,
        "claim": {"best_unimodal": f"{best_uni['modalities'][0]} corr {best_uni['corr']}",
                  "worst_fusion": f"{worst_fused['model']} corr {worst_fused['corr']}",
                  "every_fusion_beats_every_unimodal_on_every_seed": all(per_seed)},
    }


def bench_retrieval(work: Path, corpus: ShapesDemoConfig, seeds: list[int]) -> dict[str, Any]:
    from mmdata.pipeline import extract

    _, t_corpus = timed(write_shapes_demo, work / "corpus", corpus)
    _, t_extract = timed(extract, "coco", work / "corpus", work / "dataset", extractors=list(RETRIEVAL_EXTRACTORS),
                         num_workers=1, on_error="fail")
    base = RetrievalRecipeConfig()
    reports, t_train = [], []
    for seed in seeds:
        report, seconds = timed(run_retrieval_recipe, work / "dataset", None, replace(base, train=base.train.override(seed=seed)))
        reports.append(report)
        t_train.append(seconds)
        print(f"\nretrieval, seed {seed}:\n{report.table()}")
    keys = ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "rsum", "t2t_r1", "t2t_r5", "t2t_r10")
    rows = summarize(reports, keys)
    chance = rows[0]
    return {
        "corpus": {"train_images": corpus.num_train, "test_images": corpus.num_val,
                   "captions_per_image": corpus.captions_per_image},
        "extractors": list(RETRIEVAL_EXTRACTORS),
        "seconds": {"corpus": round(t_corpus, 1), "extract": round(t_extract, 1),
                    "train_all_models_per_seed": round(statistics.mean(t_train), 1)},
        "seeds": seeds,
        "rows": rows,
        "times_chance_r1": {r["model"]: {"i2t": round(r["i2t_r1"] / chance["i2t_r1"], 1),
                                         "t2i": round(r["t2i_r1"] / chance["t2i_r1"], 1)}
                            for r in rows if r["kind"] == "cross-modal"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="small corpora (a smoke run, not the figures of docs/training.md)")
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one, removed)")
    parser.add_argument("--only", choices=("sentiment", "retrieval"), help="run one of the two")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    mosi = MosiDemoConfig(num_videos=8, segments_per_video=5) if args.quick else MosiDemoConfig()
    shapes = ShapesDemoConfig(num_train=200, num_val=50) if args.quick else ShapesDemoConfig()
    work = args.work or Path(tempfile.mkdtemp(prefix="mmdata-recipes-"))
    results: dict[str, Any] = {"quick": args.quick}
    try:
        started = time.perf_counter()
        if args.only in (None, "sentiment"):
            shutil.rmtree(work / "sentiment", ignore_errors=True)
            results["sentiment"] = bench_sentiment(work / "sentiment", mosi, args.seeds)
        if args.only in (None, "retrieval"):
            shutil.rmtree(work / "retrieval", ignore_errors=True)
            results["retrieval"] = bench_retrieval(work / "retrieval", shapes, args.seeds)
        results["total_seconds"] = round(time.perf_counter() - started, 1)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if "sentiment" in results:
        s = results["sentiment"]
        print("\nsentiment (mean over seeds):")
        print_table([("model", "modalities", "MAE", "Corr", "Acc2 has0", "Acc2 non0", "Acc7")] + [
            (r["model"], "+".join(r["modalities"]), f"{r['mae']:.3f}", f"{r.get('corr', float('nan')):.3f}",
             f"{100 * r['acc2_has0']:.1f}", f"{100 * r['acc2_non0']:.1f}", f"{100 * r['acc7']:.1f}") for r in s["rows"]])
        print(f"claim: {s['claim']}; seconds: {s['seconds']}")
    if "retrieval" in results:
        r = results["retrieval"]
        print("\nretrieval (mean over seeds):")
        print_table([("model", "i2t R@1", "R@5", "R@10", "t2i R@1", "R@5", "R@10")] + [
            (x["model"], *(f"{x[k]:.1f}" if k in x else "-" for k in ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10")))
            for x in r["rows"]])
        print(f"times chance (R@1): {r['times_chance_r1']}; seconds: {r['seconds']}")
    path = write_results("recipes_quick" if args.quick else "recipes", results)
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
