"""The sentiment recipe's train, validation and test rows, read from a fused export.

Rows without a label are left out (with a warning), labelled splits the recipe does not use are
named, and without a validation split a seeded `HOLD_OUT_FRACTION` of the train rows is held out
for early stopping: whole videos where the export's source dataset still names them
(`source_groups`), so that segments of one video are not on both sides. The recipe itself
(`mmdata.models.sentiment_recipe`) calls `load_sentiment_splits`; these names stay importable from there.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mmdata.errors import DatasetError
from mmdata.models.data import SplitArrays, read_fused_splits

if TYPE_CHECKING:
    from mmdata.models.sentiment_recipe import SentimentRecipeConfig

log = logging.getLogger(__name__)

VALID_SPLIT_NAMES = ("valid", "val", "dev", "validation")


def load_sentiment_splits(
    export_dir: Path, config: SentimentRecipeConfig
) -> tuple[SplitArrays, SplitArrays, SplitArrays, str]:
    """Train, validation and test arrays of the export (rows without a label are left out).

    The validation split is `config.valid_split`, else the first non-empty one named valid/val/dev/
    validation other than the train and test splits, else 15% of the train rows.

    Raises:
        DatasetError: the export has no label at all, or the train, test or named validation split has
            no labelled row.
    """
    splits = {name: _labelled(name, data) for name, data in read_fused_splits(export_dir).items()}
    if not any(len(data) for data in splits.values()):
        raise DatasetError(
            f"fused export {export_dir} has no labels (splits: {sorted(splits)}, every label null); the sentiment "
            "recipe needs a labelled corpus (MOSI, MOSEI, CH-SIMS): fuse one whose samples have labels"
        )
    for name in (config.train_split, config.test_split):
        if name not in splits or not len(splits[name]):
            raise DatasetError(
                f"fused export {export_dir} has no labelled rows in split {name!r}; splits: {sorted(splits)}; "
                "choose others with train_split=/test_split= (CLI: --train-split, --test-split)"
            )
    train = splits[config.train_split]
    evaluated = (config.train_split, config.test_split)
    valid_name = config.valid_split or next(
        (n for n in VALID_SPLIT_NAMES if n in splits and len(splits[n]) and n not in evaluated), None)
    if valid_name is not None:
        if valid_name not in splits:
            raise DatasetError(f"fused export {export_dir} has no split {valid_name!r}; splits: {sorted(splits)}")
        if not len(splits[valid_name]):
            raise DatasetError(f"split {valid_name!r} of {export_dir} has no labelled rows; expected some for early "
                               "stopping; choose another with valid_split= (CLI: --valid-split)")
        warn_unused_splits(export_dir, splits, (config.train_split, valid_name, config.test_split))
        return train, splits[valid_name], splits[config.test_split], valid_name
    warn_unused_splits(export_dir, splits, evaluated)
    if len(train) < 4:
        raise DatasetError(f"split {config.train_split!r} has {len(train)} rows; expected at least 4 to hold some out")
    held_out, by = hold_out_rows(train, source_groups(export_dir, train), config.train.seed)
    log.warning("no validation split in %s: holding out %d of %d train rows (%s) for early stopping", export_dir,
                int(held_out.sum()), len(train), by)
    return train.subset(np.flatnonzero(~held_out)), train.subset(np.flatnonzero(held_out)), \
        splits[config.test_split], f"{config.train_split} (15% held out)"


def warn_unused_splits(export_dir: Path, splits: dict[str, SplitArrays], used: tuple[str, ...]) -> None:
    """Say which labelled splits the recipe leaves out (e.g. `unassigned`: videos no fold names), so
    that rows are not left out without a word."""
    unused = {name: len(data) for name, data in splits.items() if name not in used and len(data)}
    if unused:
        log.warning("%s: split(s) %s are not used (the recipe trains on %r, stops early on the validation split "
                    "and scores %r); name them with --train-split/--valid-split/--test-split to use them",
                    export_dir, ", ".join(f"{name!r} ({rows} labelled rows)" for name, rows in sorted(unused.items())),
                    used[0], used[-1])


#: Share of the train rows held out for early stopping when the export has no validation split.
HOLD_OUT_FRACTION = 0.15


def hold_out_rows(train: SplitArrays, groups: np.ndarray | None, seed: int) -> tuple[np.ndarray, str]:
    """(mask of the train rows held out for early stopping, how they were chosen).

    Whole groups (videos) are held out when `groups` is given, drawn in a seeded order until at
    least `HOLD_OUT_FRACTION` of the rows are out: segments of one video on both sides would make
    the validation score optimistic, as speaker-independent folds exist to prevent. Without groups,
    single rows.
    """
    target = max(1, int(round(HOLD_OUT_FRACTION * len(train))))
    if groups is not None:
        names, codes, sizes = np.unique(groups, return_inverse=True, return_counts=True)
        chosen = np.random.default_rng(seed).permutation(len(names))
        taken = chosen[: int(np.searchsorted(np.cumsum(sizes[chosen]), target)) + 1]
        mask = np.isin(codes, taken)
        if mask.sum() <= 2 * target and not mask.all():
            return mask, f"{len(taken)} whole videos of {len(names)}"
        why = "single segments: the videos are too few to hold out whole ones near 15%"
    else:
        why = "single segments: the export's source dataset, with its video ids, was not found"
    mask = np.zeros(len(train), bool)
    mask[np.random.default_rng(seed).permutation(len(train))[:target]] = True
    return mask, why


def source_groups(export_dir: Path, train: SplitArrays) -> np.ndarray | None:
    """The group (video) id of each train row, from the samples table of the dataset the export was
    fused from, when it is still there with the same samples; else None."""
    from mmdata.fusion import read_fused_metadata
    from mmdata.store.reader import open_dataset

    source = read_fused_metadata(export_dir).get("source") or {}
    folder = source.get("dataset_dir")
    if not folder or not Path(folder, "mmdata.json").is_file():
        return None
    try:
        dataset = open_dataset(folder)
    except Exception as e:  # noqa: BLE001 - any unreadable source only means no groups
        log.info("source dataset %s of %s not readable (%s): holding out single segments", folder, export_dir, e)
        return None
    if dataset.manifest.samples.get("fingerprint") != source.get("samples_fingerprint"):
        return None
    table = dataset.samples_table(["sample_id", "group_id"])
    group_of = dict(zip(table.column("sample_id").to_pylist(), table.column("group_id").to_pylist()))
    groups = [group_of.get(str(i)) or str(i) for i in train.sample_ids]
    return np.asarray(groups, dtype=object)


def _labelled(name: str, data: SplitArrays) -> SplitArrays:
    keep = np.isfinite(data.labels)
    if not keep.all():
        log.warning("split %s: %d rows without a label are left out", name, int((~keep).sum()))
    return data.subset(np.flatnonzero(keep))
