"""What `fuse` is asked to do: `FuseOptions` (tables, normalization, missing features, sequences, format, labels,
classes, targets, folds, groups), each value checked when the options are made, and `parse_normalization` (the
command line's `--normalize` values).

    FuseOptions(tables=("image", "text"), normalize={"image": "l2"}, missing="zero", format="arrow")
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mmdata.errors import ConfigError
from mmdata.fusion.classes import MissingClassPolicy
from mmdata.fusion.folds import FoldSplits
from mmdata.fusion.formats import EXPORT_FORMATS, ExportFormat
from mmdata.fusion.group_norm import check_group_key
from mmdata.fusion.labels import ALL_LABELS
from mmdata.fusion.normalize import NORMALIZATIONS, POOLINGS, Normalization, Pooling
from mmdata.options import check_choice, check_count, check_flag, name_list

MissingPolicy = Literal["error", "zero", "drop"]
NonFinitePolicy = Literal["error", "missing"]
SequenceMode = Literal["pool", "pad", "ragged"]

@dataclass(frozen=True)
class FuseOptions:
    """What to fuse and how.

    tables: table names or modality names, in output order (default: every table, one per modality);
        a string is one name or a comma list of them, as `stats_splits`.
    normalize: one method for all tables, or {table or modality: method} (a table it does not name
        is not normalized); statistics come from `stats_splits`.
    missing: a sample lacking a table's feature: 'error' stops, 'zero' fills zeros and adds a
        `present` mask column, 'drop' leaves the sample out (counted in the report).
    non_finite: a feature holding NaN or Inf (one would turn a z-score's statistics, and with them
        every exported row, into NaN): 'error' stops naming the table and sample, 'missing' treats
        the feature as missing, and `missing` decides.
    allow_split_leaks: fuse although a sample, image or video id (group_id, image, video) lies in
        more than one split; by default that stops the export, which would leak it.
    sequences: temporal tables are pooled to one vector ('pool', with `pool`), or kept as (T, D)
        sequences aligned to a common reference, 'pad'ded to `max_length` (default: the longest;
        longer sequences keep their first steps; z-score statistics are those of every train step,
        the cut ones included, so they describe the table, not the cut) or 'ragged' (every step:
        `max_length` is the padded length only).
    labels: auxiliary labels to export beside `label`, each as its own float64 column: names the
        dataset's loader recorded (`extra.loader.label_names`: CMU-MOSEI's happy, sad, ...; CH-SIMS's
        label_T, label_A, label_V), or their column names, as a tuple or a comma list, or 'all' for
        every one of them. Column `label_<name>` (`label_happy`), or the name itself when it starts
        with `label_` (`label_T`); null where a sample has no value. None (the default): no such column.
    class_label: a key of the samples' `extra` holding a class name (a string; an integer is read as its
        decimal string): the export gets an int64 `class_id` column after the label columns and fused.json
        the class names (`classes`, index = id) with per-split counts. Ids follow the sorted names, or the
        line order of `classes_file` (UTF-8, one class name per line, or a table index,mid,display_name as
        AudioSet's class_labels_indices.csv, ids by index; a sample whose class it lacks is refused). A sample
        without a class is refused unless `missing_class` is 'keep' (class_id -1; 'empty': multi-label, a row of
        no class). Values that are lists of names (MM-IMDb's genres), or names split at `class_separator` ('|' for a CSV cell
        `Drama|Comedy`), make it multi-label: a float32 multi-hot `class_targets` column instead (`class_targets`).
    class_map: a map of the class names as the corpus writes them to the class each counts as, applied before
        the ids are made (`class_map`): a CSV/TSV file of name,class lines (an empty class: no class; a name it
        does not list keeps its own) or a .json object, or a built-in map's name ('emotions': RAVDESS's, CREMA-D's,
        IEMOCAP's and MELD's emotions as Ekman's six and neutral), whose sorted classes are the ids (unless
        `classes_file` gives them) and which refuses a name it does not list. A path that exists wins over a
        built-in name. fused.json's `class_label.class_map` records it and how many samples it renamed.
    targets: a feature table exported as training targets beside the features (`event-targets`' frame-level
        sound-event targets): a `targets` column of the same shape as `feature`, dim C, not normalized and not
        part of the fused vector. Kept sequences need it on the features' time steps (the same number per
        sample: `mmdata align --reference TARGETS`); pooled rows take each target column's max over time
        (frame targets -> clip targets). A sample lacking it follows `missing` as a feature table does (its
        `present` flag is the last one). None (the default): no such column.
    folds: deal the splits again by each sample's fold at `extra[folds.by]` (`folds.FoldSplits`): `test` held
        out as split test, `val` (where given) as val, every other fold train; the loader's splits are not
        used. One extraction then gives every fold's export (cross-validation; `mmdata train cross-validate`).
        None (the default): the samples' splits.
    normalize_by: z-score every z-scored table per group of samples instead of with the statistics splits'
        statistics (`group_norm`): 'group_id', or a key of the samples' `extra` holding each sample's group
        (IEMOCAP's and MELD's 'speaker', a merged dataset's 'source_dataset'). A group's statistics are those of
        its own rows in every split (a test speaker's come from the test speaker's features; no label is read);
        the export holds them in `normalization_groups.parquet`. None (the default): one set of statistics.
    """

    tables: tuple[str, ...] | None = None
    normalize: Normalization | Mapping[str, Normalization] = "zscore"
    missing: MissingPolicy = "error"
    non_finite: NonFinitePolicy = "error"
    format: ExportFormat = "parquet"
    stats_splits: tuple[str, ...] = ("train",)
    sequences: SequenceMode = "pool"
    pool: Pooling = "mean"
    max_length: int | None = None
    shard_rows: int = 100_000
    overwrite: bool = False
    allow_split_leaks: bool = False
    labels: tuple[str, ...] | Literal["all"] | None = None
    class_label: str | None = None
    classes_file: str | Path | None = None
    missing_class: MissingClassPolicy = "error"
    class_separator: str | None = None
    class_map: str | Path | None = None
    targets: str | None = None
    folds: FoldSplits | None = None
    normalize_by: str | None = None

    def __post_init__(self) -> None:
        if self.stats_splits is None:
            raise ConfigError("fuse option stats_splits is None; name the split(s) whose z-score statistics "
                              "normalize every split ('train', the default), as a list or a comma list")
        # One name given as a string (`tables="image"`) would otherwise be taken letter by letter.
        for name in ("tables", "stats_splits"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _names(value, name))
        if self.tables is not None and not self.tables:
            raise ConfigError("fuse option tables is empty; name at least one table or modality, "
                              "or leave it None to fuse every table, one per modality")
        if self.labels is not None:
            object.__setattr__(self, "labels", _label_names(self.labels))
        _check_class_options(self)
        _check_targets_option(self)
        if self.normalize_by is not None:
            check_group_key(self.normalize_by)
            object.__setattr__(self, "normalize_by", self.normalize_by.strip())
        if self.folds is not None and not isinstance(self.folds, FoldSplits):
            raise ConfigError(f"fuse option folds={self.folds!r}: expected a FoldSplits(by, test, val) or None")
        _expect_choice("missing", self.missing, ("error", "zero", "drop"))
        _expect_choice("non_finite", self.non_finite, ("error", "missing"))
        _expect_choice("format", self.format, EXPORT_FORMATS)
        _expect_choice("sequences", self.sequences, ("pool", "pad", "ragged"))
        _expect_choice("pool", self.pool, POOLINGS)
        methods = self.normalize.values() if isinstance(self.normalize, Mapping) else [self.normalize]
        for method in methods:
            _expect_choice("normalize", method, NORMALIZATIONS)
        check_count("fuse option max_length", self.max_length, optional=True)  # "5" or 2.5 failed later
        check_count("fuse option shard_rows", self.shard_rows)
        check_flag("fuse option overwrite", self.overwrite)
        check_flag("fuse option allow_split_leaks", self.allow_split_leaks)


def parse_normalization(values: list[str] | tuple[str, ...] | str) -> Normalization | dict[str, Normalization]:
    """`"zscore"` -> "zscore"; `["image=l2", "text=none"]` or `"image=l2,text=none"` -> a per-table map.

    Keys are table or modality names. Raises ConfigError on a method that does not exist.
    """
    items = [p.strip() for v in ([values] if isinstance(values, str) else values) for p in v.split(",") if p.strip()]
    if len(items) == 1 and "=" not in items[0]:
        _expect_choice("normalize", items[0], NORMALIZATIONS)
        return items[0]  # type: ignore[return-value]
    out: dict[str, Normalization] = {}
    for item in items:
        key, sep, method = item.partition("=")
        if not sep:
            raise ConfigError(f"--normalize: expected METHOD or TABLE=METHOD,..., got {item!r}")
        _expect_choice("normalize", method.strip(), NORMALIZATIONS)
        out[key.strip()] = method.strip()  # type: ignore[assignment]
    return out


def _names(value: str | tuple[str, ...] | list[str], option: str = "names") -> tuple[str, ...]:
    """Names as a tuple: a string is one name, or a comma list of them ("image,text") (`options.name_list`)."""
    return tuple(name_list(value, argument=f"fuse option {option}"))


def _label_names(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...] | Literal["all"]:
    """`labels` as 'all' or a tuple of names ("happy,fear" or ["happy,fear"] -> ("happy", "fear"))."""
    names = tuple(n for item in name_list(value, argument="fuse option labels") for n in _names(item, "labels"))
    if ALL_LABELS in names:
        if len(names) > 1:
            raise ConfigError(f"fuse option labels={','.join(names)!r} names {ALL_LABELS!r} and more; give {ALL_LABELS!r} "
                              "alone (every label the dataset names) or the names you want")
        return ALL_LABELS
    if not names:
        raise ConfigError("fuse option labels is empty; name at least one label, or 'all', or leave it None "
                          "for no auxiliary label")
    return names


def _check_class_options(options: FuseOptions) -> None:
    """class_label is one non-empty key; classes_file, missing_class, class_separator and class_map only go
    with it."""
    if options.class_label is not None and (not isinstance(options.class_label, str) or not options.class_label.strip()):
        raise ConfigError(f"fuse option class_label={options.class_label!r}: expected the key of the samples' extra "
                          "that holds the class name, e.g. 'class' (--class-label class)")
    _expect_choice("missing_class", options.missing_class, ("error", "keep", "empty"))
    if options.class_separator is not None and (not isinstance(options.class_separator, str) or not options.class_separator):
        raise ConfigError(f"fuse option class_separator={options.class_separator!r}: expected the text between class "
                          "names in one value, e.g. '|' (--class-separator '|')")
    class_map = options.class_map
    if class_map is not None and (not isinstance(class_map, (str, Path)) or not str(class_map).strip()):
        raise ConfigError(f"fuse option class_map={options.class_map!r}: expected a class map file (name,class lines) or "
                          "a built-in map's name, e.g. 'emotions' (--class-map emotions)")
    given = [name for name, value in (("classes_file (--classes)", options.classes_file is not None),
                                      ("missing_class (--missing-class)", options.missing_class != "error"),
                                      ("class_separator (--class-separator)", options.class_separator is not None),
                                      ("class_map (--class-map)", options.class_map is not None)) if value]
    if options.class_label is None and given:
        raise ConfigError(f"fuse option {given[0]} needs class_label (--class-label NAME): the key of the samples' "
                          "extra that holds the class name")


def _check_targets_option(options: FuseOptions) -> None:
    """targets is one table name, not also among `tables`."""
    if options.targets is None:
        return
    if not isinstance(options.targets, str) or not options.targets.strip() or "," in options.targets:
        raise ConfigError(f"fuse option targets={options.targets!r}: expected the name of one feature table to export "
                          "as targets, e.g. 'audio.event-targets' (--targets audio.event-targets)")
    if options.tables is not None and options.targets in options.tables:
        raise ConfigError(f"fuse option targets={options.targets!r} is also in tables {list(options.tables)}; a table "
                          "is either fused into `feature` or exported as `targets`: drop it from --tables")


def _expect_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    check_choice(f"fuse option {name}", value, choices)


__all__ = ["FuseOptions", "MissingPolicy", "NonFinitePolicy", "SequenceMode", "parse_normalization"]
