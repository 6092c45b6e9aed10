"""Sentiment on a MOSI-style fused export: unimodal baselines vs early, late, intermediate and tensor fusion.

    python recipes/train_sentiment.py out/mosi-fused                   # a pooled export from `mmdata fuse`
    python recipes/train_sentiment.py --demo out/demo-sentiment        # demo corpus -> extract -> fuse -> train

Prints the comparison table and the metrics path, and writes the metrics JSON (`--output`, also with
`--demo`; default inside the export or work directory). The same as `mmdata train sentiment` /
`mmdata train demo --task sentiment`; a user error (a missing split, a wrong table, ...) prints one
`error: ...` line and exits with status 2; a model that fails (diverges) is reported as failed, the others'
results are printed and written, and the script exits with status 1.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from mmdata.errors import MmdataError
from mmdata.models.demo import SentimentDemo, run_sentiment_demo
from mmdata.models.report import metrics_file, write_metrics_json
from mmdata.models.sentiment_recipe import SentimentRecipeConfig, run_sentiment_recipe


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export_dir", type=Path, nargs="?", help="pooled fused export (mmdata fuse)")
    parser.add_argument("--demo", type=Path, metavar="WORK_DIR", help="run on the generated demo corpus instead")
    parser.add_argument("--output", "-o", type=Path, help="metrics JSON path (a missing folder is created)")
    parser.add_argument("--model", "-m", action="append", help="model to train; repeat (default: all)")
    parser.add_argument("--train-split", default="train", help="split to train on (default: train)")
    parser.add_argument("--valid-split", help="early-stopping split (default: valid/val/dev)")
    parser.add_argument("--test-split", default="test", help="split to report (default: test)")
    parser.add_argument("--epochs", type=int, help="training epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, help="Adam learning rate (default: the recipe's)")
    args = parser.parse_args(argv)
    if (args.export_dir is None) == (args.demo is None):
        parser.error("give an export directory or --demo WORK_DIR (one of them)")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    base = SentimentRecipeConfig()
    try:
        config = SentimentRecipeConfig(models=tuple(args.model or base.models), train_split=args.train_split,
                                       valid_split=args.valid_split, test_split=args.test_split,
                                       train=base.train.override(epochs=args.epochs, seed=args.seed, lr=args.lr))
        if args.output is not None:  # refused before the demo's extraction and training, not after
            metrics_file(args.output, "--output", "sentiment-metrics.json")
        if args.demo is not None:
            report = run_sentiment_demo(args.demo, SentimentDemo(recipe=config))
            path = args.output or args.demo / "sentiment-metrics.json"
            if args.output:
                write_metrics_json(path, report.to_json())
        else:
            path = args.output or args.export_dir / "sentiment-metrics.json"
            report = run_sentiment_recipe(args.export_dir, path, config)
    except MmdataError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    print(report.text())
    print(f"metrics: {path}")
    if report.failed():
        print(f"error: {len(report.failed())} model(s) failed, the other results are kept: "
              + "; ".join(row.error for row in report.failed()), file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
