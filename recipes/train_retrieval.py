"""Image-text retrieval on a COCO/Flickr-style dataset: MSE projection, CCA and InfoNCE, Recall@1/5/10.

    python recipes/train_retrieval.py out/coco                         # image tables + a caption-level text table
    python recipes/train_retrieval.py --demo out/demo-retrieval        # shapes corpus -> extract -> train

Prints the comparison table and the metrics path, and writes the metrics JSON (`--output`, also with
`--demo`; default inside the dataset or work directory). The same as `mmdata train retrieval` /
`mmdata train demo --task retrieval`; a user error (a missing split, a wrong table, ...) prints one
`error: ...` line and exits with status 2; a model that fails (diverges) is reported as failed, the others'
results are printed and written, and the script exits with status 1.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from mmdata.errors import MmdataError
from mmdata.models.demo import RetrievalDemo, run_retrieval_demo
from mmdata.models.report import metrics_file, write_metrics_json
from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, run_retrieval_recipe


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset_dir", type=Path, nargs="?", help="dataset directory (mmdata extract)")
    parser.add_argument("--demo", type=Path, metavar="WORK_DIR", help="run on the generated shapes corpus instead")
    parser.add_argument("--output", "-o", type=Path, help="metrics JSON path (a missing folder is created)")
    parser.add_argument("--model", "-m", action="append", help="model to train; repeat (default: all)")
    parser.add_argument("--image", action="append", help="pooled image, video or audio table; repeat "
                        "(default: all pooled image tables, else those of video, else audio)")
    parser.add_argument("--text", help="caption-level text table (default: the only one)")
    parser.add_argument("--train-split", action="append", help="split to train on; repeat (default: train*, restval)")
    parser.add_argument("--test-split", help="split to test on (default: test, else val*)")
    parser.add_argument("--epochs", type=int, help="training epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, help="Adam learning rate (default: the recipe's)")
    parser.add_argument("--zero-shot-only", action="store_true",
                        help="train nothing: score the zero-shot row of a shared space (CLIP) on the test split")
    args = parser.parse_args(argv)
    if (args.dataset_dir is None) == (args.demo is None):
        parser.error("give a dataset directory or --demo WORK_DIR (one of them)")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    base = RetrievalRecipeConfig()
    try:
        config = RetrievalRecipeConfig(image_tables=tuple(args.image or ()), text_table=args.text,
                                       train_splits=tuple(args.train_split or ()), test_split=args.test_split,
                                       models=tuple(args.model or base.models),
                                       train=base.train.override(epochs=args.epochs, seed=args.seed, lr=args.lr),
                                       zero_shot_only=args.zero_shot_only)
        if args.output is not None:  # refused before the demo's extraction and training, not after
            metrics_file(args.output, "--output", "retrieval-metrics.json")
        if args.demo is not None:
            report = run_retrieval_demo(args.demo, RetrievalDemo(recipe=config))
            path = args.output or args.demo / "retrieval-metrics.json"
            if args.output:
                write_metrics_json(path, report.to_json())
        else:
            path = args.output or args.dataset_dir / "retrieval-metrics.json"
            report = run_retrieval_recipe(args.dataset_dir, path, config)
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
