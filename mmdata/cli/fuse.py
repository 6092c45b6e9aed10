"""`mmdata fuse DIR OUT` (or `DIR --out OUT`): one fused, normalized, leakage-free export a trainer loads directly."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mmdata.cli.app import command, table_names
from mmdata.cli.paths import output_dir as checked_dir
from mmdata.fusion import FoldSplits, FuseOptions, FuseReport, fuse
from mmdata.fusion.fuse import parse_normalization


@command("fuse")
def fuse_command(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset directory written by `mmdata extract`.")],
    output_dir: Annotated[Optional[Path], typer.Argument(help="Export directory to create (or --out).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Export directory to create (instead of OUTPUT_DIR).")] = None,
    tables: Annotated[Optional[list[str]], typer.Option(
        "--tables", "--table", "-t", help="Tables or modalities in output order (repeat or comma list); default: every "
                                          "table, one per modality.")] = None,
    normalize: Annotated[list[str], typer.Option(help="zscore|l2|none, or TABLE=METHOD,... per table (tables not named: none).")] = ["zscore"],  # noqa: B006
    missing: Annotated[str, typer.Option(help="error | zero (zero-fill + presence mask) | drop.")] = "error",
    non_finite: Annotated[str, typer.Option(help="A feature holding NaN/Inf: error | missing (then --missing decides).")] = "error",
    fmt: Annotated[str, typer.Option("--format", help="parquet | arrow | hf | npy (arrow, hf and npy are memory-mapped by mmdata.FusedDataset for PyTorch).")] = "parquet",
    sequences: Annotated[str, typer.Option(help="Temporal tables: pool | pad | ragged.")] = "pool",
    pool: Annotated[str, typer.Option(help="Pooling of sequences: mean | max | first | last.")] = "mean",
    max_length: Annotated[Optional[int], typer.Option(min=1, help="Padded length (default: the longest).")] = None,
    stats_split: Annotated[list[str], typer.Option(
        help="Split(s) the normalization statistics come from (repeat or comma list).")] = ["train"],  # noqa: B006
    force: Annotated[bool, typer.Option("--force", help="Replace an existing export.")] = False,
    allow_split_leaks: Annotated[bool, typer.Option(
        "--allow-split-leaks", help="Fuse although an image/video/group id lies in two splits.")] = False,
    labels: Annotated[Optional[list[str]], typer.Option(
        "--labels", help="Auxiliary labels as float64 columns label_<name> (NAME[,NAME...] as the loader named them, "
                         "e.g. happy,fear or label_T; or all); default: none.")] = None,
    class_label: Annotated[Optional[str], typer.Option(
        "--class-label", help="Key of the samples' extra holding a class name: an int64 class_id column, ids by "
                              "sorted name (or --classes order); lists of names: a multi-hot class_targets column.")] = None,
    classes: Annotated[Optional[Path], typer.Option(
        "--classes", metavar="FILE", help="UTF-8 file, one class name per line: class ids by line order; or a table index,mid,display_name (AudioSet's class_labels_indices.csv): ids by index.")] = None,
    missing_class: Annotated[str, typer.Option(
        help="A sample without a class name: error | keep (class_id -1) | empty (multi-label: no class).")] = "error",
    class_separator: Annotated[Optional[str], typer.Option(
        "--class-separator", metavar="SEP", help="Split each class name at SEP (a CSV cell 'Drama|Comedy'): "
                                                 "multi-label class_targets.")] = None,
    class_map: Annotated[Optional[str], typer.Option(
        "--class-map", metavar="FILE|NAME", help="Map class names to the class each counts as, before ids are "
                                                 "made: a CSV/TSV of name,class lines (empty class: no class; names "
                                                 "not listed kept) or a .json object; or the built-in emotions "
                                                 "(RAVDESS, CREMA-D, IEMOCAP, MELD -> angry, disgust, fear, happy, "
                                                 "neutral, sad, surprise; ids fixed, unlisted names refused).")] = None,
    targets: Annotated[Optional[str], typer.Option(
        "--targets", metavar="TABLE", help="A table exported as a targets column beside the features, not normalized "
                                           "(event-targets' frame targets; pooled rows: max over time).")] = None,
    normalize_by: Annotated[Optional[str], typer.Option(
        "--normalize-by", metavar="KEY", help="Z-score per group of samples, each with its own statistics (every "
                                              "split's rows, features only): group_id or a key of the samples' "
                                              "extra (speaker, source_dataset).")] = None,
    fold_by: Annotated[Optional[str], typer.Option(
        "--fold-by", metavar="KEY", help="Deal the splits again by the fold at the samples' extra[KEY] (fold, "
                                         "session, actor): --test-fold held out as test, --val-fold as val, the "
                                         "rest train; the loader's splits are not used.")] = None,
    test_fold: Annotated[Optional[str], typer.Option(
        "--test-fold", metavar="FOLD", help="With --fold-by: the fold exported as split test.")] = None,
    val_fold: Annotated[Optional[str], typer.Option(
        "--val-fold", metavar="FOLD", help="With --fold-by: the fold exported as split val (default: none).")] = None,
) -> None:
    """Concatenate one feature table per modality, normalize with train-only statistics, export."""
    if (output_dir is None) == (out is None):
        raise typer.BadParameter("give the export directory once: as OUTPUT_DIR or as --out OUT")
    for values, option in ((tables, "--tables"), (stats_split, "--stats-split")):
        if values is not None and not table_names(values):  # `-t "$UNSET"` must not mean "every table"
            raise typer.BadParameter(f"{option} was given but names nothing ({values!r}); name at least one, "
                                     "or leave the option out for its default")
    chosen = tuple(table_names(tables) or ()) or None
    options = FuseOptions(tables=chosen, normalize=parse_normalization(normalize), missing=missing,  # type: ignore[arg-type]
                          non_finite=non_finite, format=fmt, sequences=sequences, pool=pool,  # type: ignore[arg-type]
                          max_length=max_length, stats_splits=tuple(table_names(stats_split) or ()), overwrite=force,
                          allow_split_leaks=allow_split_leaks, labels=tuple(labels) if labels else None,
                          class_label=class_label, classes_file=classes, missing_class=missing_class,  # type: ignore[arg-type]
                          class_separator=class_separator, class_map=class_map, targets=targets,
                          folds=fold_splits(fold_by, test_fold, val_fold), normalize_by=normalize_by)
    export_dir = checked_dir(output_dir, "OUTPUT_DIR") if output_dir is not None else checked_dir(out, "--out")
    report = fuse(dataset_dir, export_dir, options)
    typer.echo(f"fused {report.total_rows} rows x {report.dim} dims ({', '.join(report.tables)}) -> {report.output_dir} "
               f"[{report.format}] in {report.seconds:.2f} s")
    typer.echo("rows per split: " + ", ".join(f"{k}: {v}" for k, v in report.rows.items()) + _dealt(options.folds))
    listed = f" (listed in {report.dropped_samples})" if report.dropped_samples else ""
    typer.echo("missing: " + ", ".join(f"{k}: {v}" + _no_time_step(report, k) for k, v in report.missing.items())
               + f"; dropped {report.dropped}{listed}")
    if report.no_time_step_warning:
        typer.echo(f"warning: {report.no_time_step_warning}", err=True)
    if report.normalize_by:
        grouped = [name for name, method in report.normalization.items() if method == "zscore"]
        typer.echo(f"z-scored by {report.normalize_by} ({report.groups} groups): {', '.join(grouped)}")
    if report.targets:
        typer.echo(f"targets: {report.targets} ({report.target_dim} dims)")
    if report.labels:
        typer.echo("labels: " + ", ".join(report.labels))
    if report.classes:
        column = "class_targets" if report.multi_label else "class_id"
        typer.echo(f"classes: {len(report.classes)} ({column}); present per split: " + ", ".join(
            f"{split} {sum(1 for n in counts if n)}" for split, counts in report.class_counts.items()))


def fold_splits(fold_by: str | None, test_fold: str | None, val_fold: str | None) -> FoldSplits | None:
    """--fold-by KEY --test-fold FOLD [--val-fold FOLD] as `FoldSplits`; None without them.

    Raises:
        typer.BadParameter: a fold without --fold-by, or --fold-by without --test-fold."""
    if fold_by is None:
        given = [name for name, value in (("--test-fold", test_fold), ("--val-fold", val_fold)) if value is not None]
        if given:
            raise typer.BadParameter(f"{given[0]} needs --fold-by KEY: the key of the samples' extra holding each "
                                     "sample's fold (fold, session, actor)")
        return None
    if test_fold is None:
        raise typer.BadParameter(f"--fold-by {fold_by} needs --test-fold FOLD: the fold exported as split test "
                                 "(`mmdata train cross-validate` runs every fold)")
    return FoldSplits(fold_by, test_fold, val_fold)


def _dealt(folds: FoldSplits | None) -> str:
    """What follows the rows per split when the splits were dealt by fold: " (dealt by fold: test 3, val 4)"."""
    if folds is None:
        return ""
    return f" (dealt by {folds.by}: test {folds.test}" + (f", val {folds.val}" if folds.val else "") + ")"


def _no_time_step(report: FuseReport, table: str) -> str:
    """What follows a pooled table's missing count: how many of them it has, but without a time step to ride on."""
    count = report.no_time_step.get(table)
    return f" ({count} with no time step)" if count else ""
