"""`mmdata train sentiment|retrieval|classify|demo`: the training recipes over mmdata's exports.

Each prints the comparison table, a legend of units and conventions, and the metrics path. When a model
fails (diverges), the others still run and the JSON is written; the command then says how many failed
and exits with status 1 (user errors exit 2, as every mmdata command's). The metrics JSON goes where
`--json PATH|-` says, as every mmdata command's JSON (`--out/-o PATH`, its earlier spelling, is kept as
an alias); `-` prints it on stdout, the table then on stderr. Its folder is created when missing, as for
every mmdata output file (`check --json`, `report --out`); an existing file there is replaced only when
it is metrics written earlier (or empty), as `check --json` does.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer

from mmdata.cli.app import FOUND_ERRORS_EXIT_CODE, app, command
from mmdata.cli.json_output import JSON_METAVAR
from mmdata.cli.paths import output_dir as checked_dir
from mmdata.cli.train_output import metrics_destination, run_with_metrics

train_app = typer.Typer(help="Train the recipe models on an export and report standard metrics.", no_args_is_help=True)
app.add_typer(train_app, name="train")

Models = Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Model to train; repeat (default: all).")]
Epochs = Annotated[Optional[int], typer.Option(min=1, help="Training epochs (default: the recipe's).")]
Seed = Annotated[int, typer.Option(help="Seed of everything random.")]
LearningRate = Annotated[Optional[float], typer.Option("--lr", help="Adam learning rate, > 0 (default: the recipe's).")]
JsonPath = Annotated[Optional[Path], typer.Option(
    "--json", metavar=JSON_METAVAR, help="Metrics JSON: a new file or metrics written earlier (default: inside the "
                                         "input directory; a missing folder is created); - (or a bare --json) prints "
                                         "it on stdout, the table then on stderr.")]
Output = Annotated[Optional[Path], typer.Option(
    "--out", "-o", metavar="PATH", help="The same as --json PATH (its earlier spelling, kept working).")]
#: Exit status when a model failed but the others were reported (user errors exit 2).
MODEL_FAILED_EXIT = FOUND_ERRORS_EXIT_CODE


@command("sentiment", group=train_app)
def sentiment_command(
    export_dir: Annotated[Path, typer.Argument(help="Pooled fused export written by `mmdata fuse`.")],
    json_path: JsonPath = None, output: Output = None,
    model: Models = None, epochs: Epochs = None, seed: Seed = 0, lr: LearningRate = None,
    train_split: Annotated[str, typer.Option(help="Split to train on.")] = "train",
    valid_split: Annotated[Optional[str], typer.Option(help="Early-stopping split (default: valid/val/dev).")] = None,
    test_split: Annotated[str, typer.Option(help="Split to report.")] = "test",
) -> None:
    """Unimodal baselines vs early, late, intermediate and tensor fusion: MAE, Corr, Acc-2/F1, Acc-7/Acc-5."""
    from mmdata.models.sentiment_recipe import SentimentRecipeConfig, run_sentiment_recipe

    base = SentimentRecipeConfig()
    config = SentimentRecipeConfig(models=tuple(model or base.models), train_split=train_split, valid_split=valid_split,
                                   test_split=test_split, train=base.train.override(epochs=epochs, seed=seed, lr=lr))
    destination = metrics_destination(json_path, output, export_dir / "sentiment-metrics.json")
    _finish(run_with_metrics(lambda path: run_sentiment_recipe(export_dir, path, config), destination))


@command("retrieval", group=train_app)
def retrieval_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset with pooled image (or video, audio) tables and a caption-level text table.")],
    json_path: JsonPath = None, output: Output = None,
    model: Models = None, epochs: Epochs = None, seed: Seed = 0, lr: LearningRate = None,
    image: Annotated[Optional[list[str]], typer.Option(help="Pooled image, video or audio table; repeat to concatenate (default: all pooled image tables, else those of video, else audio).")] = None,
    text: Annotated[Optional[str], typer.Option(help="Caption-level text table (default: the only one).")] = None,
    train_split: Annotated[Optional[list[str]], typer.Option(help="Split to train on; repeat (default: train*, restval).")] = None,
    test_split: Annotated[Optional[str], typer.Option(help="Split to test on (default: test, else val*).")] = None,
    zero_shot_only: Annotated[bool, typer.Option(
        "--zero-shot-only", help="Train nothing, need no train split: chance, text-only and zero-shot rows only "
                                 "(media and caption tables of one CLIP checkpoint).")] = False,
) -> None:
    """MSE projection, CCA and InfoNCE alignment: Recall@1/5/10 media->text and text->media (image, video or audio)."""
    from mmdata.errors import ConfigError
    from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, run_retrieval_recipe

    training = [name for name, given in (("--model", model), ("--train-split", train_split), ("--epochs", epochs),
                                         ("--lr", lr)) if given]
    if zero_shot_only and training:
        raise ConfigError(f"--zero-shot-only trains no model, so {', '.join(training)} would be ignored; drop them, "
                          "or drop --zero-shot-only to train")
    base = RetrievalRecipeConfig()
    config = RetrievalRecipeConfig(image_tables=tuple(image or ()), text_table=text, train_splits=tuple(train_split or ()),
                                   test_split=test_split, models=() if zero_shot_only else tuple(model or base.models),
                                   train=base.train.override(epochs=epochs, seed=seed, lr=lr),
                                   zero_shot_only=zero_shot_only)
    destination = metrics_destination(json_path, output, dataset_dir / "retrieval-metrics.json")
    _finish(run_with_metrics(lambda path: run_retrieval_recipe(dataset_dir, path, config), destination))


@command("classify", group=train_app)
def classify_command(
    export_dir: Annotated[Path, typer.Argument(help="Pooled fused export with class ids or multi-label class targets "
                                                    "(`mmdata fuse --class-label`).")],
    json_path: JsonPath = None, output: Output = None, seed: Seed = 0,
    train_split: Annotated[str, typer.Option(help="Split to train on.")] = "train",
    valid_split: Annotated[Optional[str], typer.Option(help="Split the L2 strength is chosen on (default: valid/val/dev).")] = None,
    test_split: Annotated[Optional[str], typer.Option(help="Split to score (default: test, when there is one).")] = None,
) -> None:
    """Linear probe (multinomial logistic regression): accuracy, top-5, macro-F1, weighted-F1, balanced accuracy,
    per-class support; on a multi-label export one-vs-rest logistic regression: mAP, micro-F1, macro-F1, per-class
    AP."""
    from mmdata.models.classify_recipe import ClassifyRecipeConfig, run_classify_recipe

    config = ClassifyRecipeConfig(train_split=train_split, valid_split=valid_split, test_split=test_split, seed=seed)
    destination = metrics_destination(json_path, output, export_dir / "classify-metrics.json")
    _finish(run_with_metrics(lambda path: run_classify_recipe(export_dir, path, config), destination))


@command("cross-validate", group=train_app)
def cross_validate_command(
    dataset_dir: Annotated[Path, typer.Argument(
        help="Dataset written by `mmdata extract` or `mmdata merge`, each sample's fold in its extra.")],
    output_dir: Annotated[Path, typer.Argument(help="Folder of the folds' exports and cross-validate.json (new, or an "
                                                    "earlier run to resume).")],
    fold_by: Annotated[str, typer.Option("--fold-by", metavar="KEY", help="Key of the samples' extra holding the "
                                         "fold: fold (ESC-50, RAVDESS, CREMA-D), session (IEMOCAP), actor, source_dataset (a merged dataset: "
                                         "leave one corpus out), ...")],
    class_label: Annotated[str, typer.Option("--class-label", help="Key of the samples' extra holding the class "
                                                                   "name (as for `mmdata fuse`).")],
    folds: Annotated[Optional[list[str]], typer.Option(
        "--folds", help="Folds to hold out as test (repeat or comma list; default: every fold).")] = None,
    val: Annotated[Literal["none", "next"], typer.Option(
        "--val", help="none (C = 1, every other fold trains) | next (the next fold is val and chooses C).")] = "none",
    tables: Annotated[Optional[list[str]], typer.Option(
        "--tables", "--table", "-t", help="Tables or modalities to fuse (as for `mmdata fuse`).")] = None,
    normalize: Annotated[list[str], typer.Option(help="zscore|l2|none, or TABLE=METHOD,... (statistics of each fold's "
                                                      "train split).")] = ["zscore"],  # noqa: B006
    missing: Annotated[str, typer.Option(help="error | zero | drop (as for `mmdata fuse`).")] = "error",
    missing_class: Annotated[str, typer.Option(help="A sample without a class: error | keep (left out of the "
                                                    "probe, counted).")] = "error",
    classes: Annotated[Optional[Path], typer.Option("--classes", metavar="FILE", help="Class names in id order "
                                                    "(as for `mmdata fuse`).")] = None,
    class_map: Annotated[Optional[str], typer.Option(
        "--class-map", metavar="FILE|NAME", help="Class names mapped to the class each counts as: a name,class "
                                                 "file or the built-in emotions (as for `mmdata fuse`).")] = None,
    normalize_by: Annotated[Optional[str], typer.Option(
        "--normalize-by", metavar="KEY", help="Z-score per group, each with its own statistics: group_id or a key "
                                              "of the samples' extra (speaker, source_dataset) (as for `mmdata "
                                              "fuse`).")] = None,
    seed: Seed = 0,
    force: Annotated[bool, typer.Option("--force", help="Run there although the folder holds a cross-validation "
                                                         "of other options (its folds are replaced).")] = False,
) -> None:
    """Hold each fold out as test in turn from one extraction: fuse, linear probe, mean and std over the folds."""
    from mmdata.cli.app import table_names
    from mmdata.fusion import FuseOptions
    from mmdata.fusion.fuse import parse_normalization
    from mmdata.models.cross_validate import CROSS_VALIDATE_FILE, CrossValidateConfig, run_cross_validation

    fuse_options = FuseOptions(tables=tuple(table_names(tables) or ()) or None,
                               normalize=parse_normalization(normalize), missing=missing,  # type: ignore[arg-type]
                               class_label=class_label, classes_file=classes, class_map=class_map,
                               missing_class=missing_class, normalize_by=normalize_by)  # type: ignore[arg-type]
    config = CrossValidateConfig(fold_by=fold_by, fuse=fuse_options, folds=tuple(table_names(folds) or ()) or None,
                                 val=val, seed=seed)
    report = run_cross_validation(dataset_dir, checked_dir(output_dir, "OUTPUT_DIR"), config, force=force)
    typer.echo(report.text())
    typer.echo(f"metrics: {report.output_dir / CROSS_VALIDATE_FILE}")
    _exit_if_failed([f"fold {fold.fold}: {row['error']}" for fold in report.folds for row in fold.failed()])


@command("demo", group=train_app)
def demo_command(
    work_dir: Annotated[Path, typer.Argument(help="Work directory (corpus, dataset, export, metrics).")] = Path("out/train-demo"),
    task: Annotated[str, typer.Option(help="sentiment | retrieval | all.")] = "all",
    num_workers: Annotated[int, typer.Option("--num-workers", "-j", min=0, help="Decode processes.")] = 1,
    audio: Annotated[Literal["speech", "tones"], typer.Option(help="The sentiment corpus's audio: speech (espeak-ng) or hummed tones (no espeak-ng needed).")] = "speech",
) -> None:
    """Generate the demo corpora, extract, fuse and train: the models compared on data of known structure."""
    from mmdata.models.demo import run_demos

    failed = []
    for name, report, path in run_demos(checked_dir(work_dir, "WORK_DIR"), task, num_workers=num_workers, audio=audio):
        typer.echo(f"\n{name} ({path}):\n{report.text()}")
        failed += [f"{name}: {row.error}" for row in report.failed()]
    _exit_if_failed(failed)


def _finish(report: Any) -> None:
    """Exit 1 when a model failed (the report, its metrics and the failures are printed by now)."""
    _exit_if_failed([row.error for row in report.failed()])


def _exit_if_failed(reasons: list[str]) -> None:
    """Say how many models failed (the others' results are reported and written) and exit 1; nothing if none."""
    if reasons:
        typer.echo(f"error: {len(reasons)} model(s) failed, the other results are kept: " + "; ".join(reasons), err=True)
        raise typer.Exit(MODEL_FAILED_EXIT)
