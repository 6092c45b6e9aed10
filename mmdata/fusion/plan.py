"""What to fuse (tables, order, slices) and the validated, prefetching shard reader behind it.

`plan_fusion` resolves the requested tables and runs the cheap checks of `mmdata.checks` (shard
footers and id columns only) before any feature is read, turning the first error into one line
naming the table and the sample. `iter_shards` then yields, per samples shard, every table's
features decoded to NumPy (record shapes below), reading the next shard while this one is fused.

    ShardData.tables[name]: TableData
        valid    (n,) bool            the sample has this table's feature (NaN/Inf: per FuseOptions.non_finite)
        no_step  (n,) bool or None    pooled tables beside kept sequences: has the feature, but no time step
        vectors  (n, D) float32       pooled tables, and sequences pooled to one vector
        offsets  (n+1,), rows (sum T_i, D) float32, intervals (sum T_i, 2)   sequences kept as such
    ShardData.aux_labels  (n, k) float64   the chosen auxiliary labels (`labels.py`), NaN = none; or None
    ShardData.class_ids   (n,) int64       class ids of the chosen class label (`classes.py`), -1 = none; or None
                          (n, C) float32   multi-label: multi-hot targets (`class_targets.py`), -1 = none
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks import tables as table_checks
from mmdata.checks.aligned import aligned_reference
from mmdata.checks.issues import Issue
from mmdata.checks.splits import LEAK_KEYS, check_split_leaks
from mmdata.checks.stream import (
    ShardInfo, fixed_rows, read_shard_infos_and_ids, row_starts, scan_samples, sequence_rows, valid_mask,
)
from mmdata.errors import ConfigError, DatasetError, SchemaMismatchError
from mmdata.fusion.classes import ClassLabels, choose_classes
from mmdata.fusion.folds import deal_folds
from mmdata.fusion.formats import check_split_name
from mmdata.fusion.group_norm import GROUP_COLUMN, GroupNormalization, group_codes
from mmdata.fusion.labels import AuxLabels, choose_labels, read_label_values
from mmdata.fusion.normalize import Normalization, pool_sequences
from mmdata.store.arrays import non_finite_rows, single_chunk
from mmdata.store.grown_samples import update_left_reason
from mmdata.store.layout import samples_dir, shard_files
from mmdata.store.shards import parquet_pool, read_shard, release_unused_memory
from mmdata.store.manifest import TableEntry
from mmdata.store.metadata import FeatureSpec
from mmdata.store.reader import Dataset

if TYPE_CHECKING:
    from mmdata.fusion.fuse import FuseOptions

#: Input shards read ahead of the one being fused, and the threads the plan reads the tables' ids on.
PREFETCH = 2
#: Shards between two hand-backs of freed Arrow memory (`iter_shards`).
RELEASE_EVERY = 8
#: Feature dtypes fusion reads: the float tables `mmdata check` accepts, each read as float32 (the
#: export's dtype) before anything else; a value float32 cannot hold reads as Inf.
FUSED_DTYPES = ("float16", "float32", "float64")


@dataclass
class TablePlan:
    name: str
    modality: str
    entry: TableEntry
    spec: FeatureSpec
    method: Normalization
    files: list[Path]
    start: int = 0
    #: Exported as the `targets` column (`FuseOptions.targets`), after the features in the working rows.
    target: bool = False
    #: The targets table's classes file as its provenance records it ({path, count, sha256}: `event-targets`).
    classes_record: dict | None = None

    @property
    def dim(self) -> int:
        return int(self.spec.dim or 0)

    @property
    def stop(self) -> int:
        return self.start + self.dim


@dataclass
class FusePlan:
    dataset: Dataset
    tables: list[TablePlan]
    sample_files: list[Path]
    stats_splits: tuple[str, ...]
    keeps_sequences: bool
    has_sequences: bool
    needs_first_pass: bool
    pool: str
    compare_intervals: bool = False
    #: A feature holding NaN or Inf: "error" or "missing" (`FuseOptions.non_finite`).
    non_finite: str = "error"
    #: The samples table's sample_id, split and label (read once, by the plan), and the first row of
    #: each samples shard in it, then its row count: the passes slice shard k's rows
    #: [sample_starts[k], sample_starts[k + 1]) instead of reading its file again.
    samples: pa.Table | None = None
    sample_starts: list[int] = field(default_factory=list)
    #: Each sample's split as a code into `split_names` (null: "None"): a shard's splits as strings
    #: come from one NumPy take, without a Python string per row.
    split_codes: np.ndarray | None = None
    split_names: np.ndarray | None = None
    #: The auxiliary labels to export (`FuseOptions.labels`) and their values, one row per sample
    #: (n, k) float64, NaN where a sample has none: read from `extra` only when labels are requested.
    labels: AuxLabels | None = None
    label_values: np.ndarray | None = None
    #: The class label to export as `class_id` (`FuseOptions.class_label`): names and every sample's id.
    class_labels: ClassLabels | None = None
    #: The folds there are, in natural order, when the splits were dealt by fold (`FuseOptions.folds`).
    fold_values: list[str] | None = None
    #: Every sample's group and the grouped tables' per-group statistics (`FuseOptions.normalize_by`): the
    #: shards' rows of those tables are read z-scored per group, and the tables' `method` is then "none".
    group_norm: GroupNormalization | None = None

    @property
    def dim(self) -> int:
        """Width of the working rows: the fused feature, then the targets (`feature_dim`, `target_dim`)."""
        return sum(t.dim for t in self.tables)

    @property
    def feature_tables(self) -> list[TablePlan]:
        """The tables fused into `feature`, in order (every table but the targets)."""
        return [t for t in self.tables if not t.target]

    @property
    def target_table(self) -> TablePlan | None:
        """The table exported as `targets` (`FuseOptions.targets`), or None."""
        return next((t for t in self.tables if t.target), None)

    @property
    def feature_dim(self) -> int:
        """D: the fused feature's dim (the working rows' first D columns)."""
        return sum(t.dim for t in self.feature_tables)

    @property
    def target_dim(self) -> int:
        """C: the targets' dim (the working rows' last C columns), 0 without targets."""
        target = self.target_table
        return target.dim if target is not None else 0

    @property
    def label_columns(self) -> tuple[str, ...]:
        """The export's auxiliary label columns, in order (none unless labels are requested)."""
        return self.labels.columns if self.labels is not None else ()

    @property
    def classes(self) -> tuple[str, ...] | None:
        """The class names (index = id) when the export has a class_id (or class_targets) column, else None."""
        return self.class_labels.names if self.class_labels is not None else None

    @property
    def multi_label(self) -> bool:
        """The class label holds lists of classes: a multi-hot class_targets column (`class_targets.py`)."""
        return self.class_labels is not None and self.class_labels.multi_label

    def shard_rows(self, index: int) -> int:
        """Rows of samples shard `index` (and of every table's shard `index`)."""
        return self.sample_starts[index + 1] - self.sample_starts[index]


@dataclass
class TableData:
    valid: np.ndarray
    why_missing: str
    vectors: np.ndarray | None = None
    offsets: np.ndarray | None = None
    rows: np.ndarray | None = None
    intervals: np.ndarray | None = None
    #: Samples whose feature this (pooled) table has but whose row has no time step to carry it
    #: (`_without_steps_no_vector`): not in `valid`, yet not lacking from the table.
    no_step: np.ndarray | None = None

    def lacking(self) -> np.ndarray:
        """Samples the table itself has no feature for (failed, empty, NaN/Inf): not `valid`, less `no_step`."""
        return ~self.valid if self.no_step is None else ~(self.valid | self.no_step)

    def rows_of(self, samples: np.ndarray) -> np.ndarray:
        """Feature rows of the chosen samples: their vectors, or all their time steps."""
        if self.offsets is None:
            return self.vectors[samples]
        return self.rows[np.repeat(samples, np.diff(self.offsets))]


@dataclass
class ShardData:
    sample_ids: pa.Array
    split_array: pa.Array
    labels: pa.Array
    splits: np.ndarray
    tables: dict[str, TableData] = field(default_factory=dict)
    #: Time steps per sample shared by the sequence tables (`common_lengths`), when rows keep sequences.
    steps: np.ndarray | None = None
    #: (n, k) float64 auxiliary label values (NaN = none), when labels are requested.
    aux_labels: np.ndarray | None = None
    #: (n,) int64 class ids (-1 = none), when a class label is requested.
    class_ids: np.ndarray | None = None


def plan_fusion(dataset: Dataset, options: FuseOptions) -> FusePlan:
    """Resolve tables, check they agree with the samples table, and lay out the fused vector.

    Raises:
        ConfigError, DatasetError, SchemaMismatchError: see `fuse`.
    """
    names = _select_tables(dataset, options.tables, leave_out=options.targets)
    if options.targets is not None:
        names.append(_target_table(dataset, options.targets, names))
    labels = choose_labels(dataset.manifest, options.labels, str(dataset.root))  # before any table is read
    if not isinstance(options.normalize, str):
        if options.targets is not None and options.targets in options.normalize:
            raise ConfigError(f"--normalize names {options.targets!r}, the targets table: targets are exported as "
                              "they are, not normalized; leave it out of --normalize")
        fused = [n for n in names if n != options.targets]
        modalities = {dataset.entry(n).modality for n in fused}
        unknown = sorted(k for k in options.normalize if k not in fused and k not in modalities)
        if unknown:
            raise ConfigError(f"--normalize names {unknown}, which are not among the fused tables {fused}"
                              + (f" (the targets {options.targets!r} are not normalized)" if options.targets else ""))
    # The tables' footers and ids are read on `PREFETCH` threads while this one scans the samples
    # (Arrow releases the GIL), and the samples are decoded here, not on threads of their own, as
    # those two keep the CPUs busy: the plan of 100k samples x 3 Arrow IPC tables took 0.146 s with
    # the samples on threads of their own, 0.123 s so (Parquet tables: 0.117 -> 0.103 s).
    with ThreadPoolExecutor(max_workers=PREFETCH) as pool:
        reads = [pool.submit(read_shard_infos_and_ids, dataset.table_dir(name)) for name in names]
        # JSON of every sample: read only when labels, a class label or folds need it
        grouped_by_extra = options.normalize_by not in (None, GROUP_COLUMN)
        wanted = (labels, options.class_label, options.folds)
        extra = ["extra"] if any(value is not None for value in wanted) or grouped_by_extra else []
        samples, sample_rows = scan_samples(dataset, ["sample_id", "split", "label", *LEAK_KEYS, *extra], threads=0)
        fold_values = None
        if options.folds is not None:  # before the leak check: the export's splits are these
            samples, fold_values = deal_folds(samples, options.folds, str(dataset.root))
        if not options.allow_split_leaks:
            _refuse_split_leaks(samples)
        label_values = None if labels is None else \
            read_label_values(samples.column("extra"), samples.column("sample_id"), labels)
        class_labels = None if options.class_label is None else choose_classes(
            samples.column("extra"), samples.column("sample_id"), options.class_label, options.classes_file,
            options.missing_class, str(dataset.root), options.class_separator, options.class_map)
        groups = None if options.normalize_by is None else group_codes(samples, options.normalize_by, str(dataset.root))
        samples = samples.select(["sample_id", "split", "label"])  # what the passes need; the keys go
        sample_ids = samples.column("sample_id").combine_chunks()  # for the comparisons; the passes slice `samples`
        tables, start = [], 0
        for name, read in zip(names, reads):
            shards, table_ids = read.result()
            table = _plan_table(dataset, name, options, sample_ids, sample_rows, shards, table_ids)
            table.start, start = start, start + table.dim
            if name == options.targets:  # the last one: its columns follow the fused feature's
                table.target, table.method = True, "none"
                table.classes_record = next((s.metadata.get("classes") for s in shards), None)
            tables.append(table)
    group_norm = None if groups is None else _group_normalization(tables, options, *groups)
    sample_files = shard_files(samples_dir(dataset.root))
    stats_splits = tuple(options.stats_splits)
    if any(t.method == "zscore" for t in tables):
        available = sorted(pc.unique(samples.column("split")).drop_null().to_pylist())
        unknown = [s for s in stats_splits if s not in available]
        if unknown:
            raise ConfigError(
                f"split {unknown[0]!r} named for normalization statistics does not exist; splits: {available}; "
                "pass --stats-split with one of them (or --normalize l2/none)"
            )
    sequences = [t for t in tables if t.spec.kind == "sequence"]
    keeps = bool(sequences) and options.sequences != "pool"
    first_pass = (any(t.method == "zscore" for t in tables) or options.format == "npy"
                  or (keeps and options.sequences == "pad" and options.max_length is None))
    with_intervals = [t for t in sequences if t.spec.intervals]
    split_codes, split_names = _split_codes(samples.column("split"))
    for name in split_names:  # they name the export's files: a bad one stops the fuse before any pass
        check_split_name(str(name))
    return FusePlan(dataset, tables, sample_files, stats_splits, keeps, bool(sequences), first_pass, options.pool,
                    compare_intervals=keeps and len(with_intervals) > 1, samples=samples,
                    sample_starts=[int(x) for x in np.cumsum([0, *sample_rows])],
                    split_codes=split_codes, split_names=split_names, non_finite=options.non_finite,
                    labels=labels, label_values=label_values, class_labels=class_labels, fold_values=fold_values,
                    group_norm=group_norm)


def _group_normalization(tables: list[TablePlan], options: FuseOptions, codes: np.ndarray,
                         names: list[str]) -> GroupNormalization:
    """The z-scored tables normalized per group instead (their method becomes "none": their rows are read so)."""
    grouped = [t for t in tables if t.method == "zscore" and not t.target]
    if not grouped:
        raise ConfigError(f"--normalize-by {options.normalize_by} z-scores per group, and no fused table is z-scored "
                          f"(--normalize {options.normalize}); pass --normalize zscore, or TABLE=zscore for the "
                          "tables to normalize per group")
    for table in grouped:
        table.method = "none"
    return GroupNormalization(str(options.normalize_by), codes, names, tuple(t.name for t in grouped))


def _split_codes(splits: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, names): names[codes] is the split of every row as a NumPy string array, "None" where null."""
    encoded = pc.dictionary_encode(single_chunk(splits))
    names = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=str)
    names = np.append(names, "None")
    return pc.fill_null(encoded.indices, len(names) - 1).to_numpy().astype(np.int32), names


def iter_shards(plan: FusePlan) -> Iterator[ShardData]:
    """Decoded shards in order, `PREFETCH` shards read ahead on one thread (Arrow releases the GIL).

    One reader thread, not one per CPU: the main thread gathers and normalizes and the export's
    writer thread encodes, and a second reader took CPU from them. 100k samples x 3 tables, medians
    of 4-10 alternating processes: Parquet tables -> Parquet 1.32 -> 1.25 s and 1.43 -> 1.37 s (a
    third run: 1.31 vs 1.33), Arrow IPC tables -> Arrow IPC 0.63 -> 0.58 s and 0.76 -> 0.70 s; the
    other two pairs the same within noise.

    Every `RELEASE_EVERY` shards the Arrow pools hand freed memory back: mimalloc keeps what a
    thread freed, jemalloc its dirty pages for a while, and peak memory would creep up with the
    number of shards."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: deque[Future[ShardData]] = deque()
        for index in range(len(plan.sample_files)):
            pending.append(pool.submit(_read_shard, plan, index))
            if len(pending) > PREFETCH:
                yield pending.popleft().result()
            if index % RELEASE_EVERY == RELEASE_EVERY - 1:
                release_unused_memory(pa.default_memory_pool(), parquet_pool())  # Parquet shards decode into the second
        while pending:
            yield pending.popleft().result()


def _read_shard(plan: FusePlan, index: int) -> ShardData:
    assert plan.samples is not None and plan.split_codes is not None and plan.split_names is not None
    start, stop = plan.sample_starts[index], plan.sample_starts[index + 1]  # the plan's copy: a slice, no file read
    samples = plan.samples.slice(start, stop - start)
    splits = plan.split_names[plan.split_codes[start:stop]]
    shard = ShardData(samples.column("sample_id").combine_chunks(), samples.column("split").combine_chunks(),
                      samples.column("label").combine_chunks(), splits,
                      aux_labels=None if plan.label_values is None else plan.label_values[start:stop],
                      class_ids=None if plan.class_labels is None else plan.class_labels.rows(start, stop))
    for table in plan.tables:
        shard.tables[table.name] = _read_table_shard(plan, table, index, shard.sample_ids)
    if plan.group_norm is not None:
        plan.group_norm.apply(shard, start, stop)
    if plan.keeps_sequences:
        from mmdata.fusion.sequences import common_lengths

        shard.steps = common_lengths(plan, shard)
        _without_steps_no_vector(plan, shard)
    return shard


def _without_steps_no_vector(plan: FusePlan, shard: ShardData) -> None:
    """A pooled table's vector is repeated at each time step of its sample: where the sample has none
    (no sequence table has it), the vector has nowhere to go, so it counts as missing (in `present`,
    the missing counts and the statistics) rather than present and stored nowhere. Such samples are
    kept in `no_step`, so the report names that cause rather than a failure of the pooled table."""
    no_steps = shard.steps == 0
    for table in plan.tables:
        data = shard.tables[table.name]
        if data.offsets is None:
            data.no_step = data.valid & no_steps
            data.valid = data.valid & ~no_steps


def _read_table_shard(plan: FusePlan, table: TablePlan, index: int, sample_ids: pa.Array) -> TableData:
    read_intervals = plan.compare_intervals and table.spec.intervals
    data = read_shard(table.files[index], columns=["feature", "intervals"] if read_intervals else ["feature"])
    if data.num_rows != len(sample_ids):  # plan_fusion checked the footers; a file replaced since then lands here
        raise DatasetError(f"table {table.name!r}: shard {table.files[index].name} has {data.num_rows} rows, "
                           f"samples shard {index} has {len(sample_ids)}; re-run `mmdata check`")
    feature = data.column("feature")
    valid = valid_mask(feature)
    why = "extraction failed; the reason is in the errors table (`mmdata check`)"
    if table.spec.kind == "pooled":
        vectors = fixed_rows(feature).astype(np.float32, copy=False)
        valid, why = _screen_non_finite(plan, table, index, sample_ids, valid, why, non_finite_rows(vectors))
        return TableData(valid, why, vectors=vectors)
    offsets, values = sequence_rows(feature)
    values = values.astype(np.float32, copy=False)
    bad_steps = non_finite_rows(values)
    bad = None if bad_steps is None else np.unique(np.searchsorted(offsets, bad_steps, side="right") - 1)
    valid, why = _screen_non_finite(plan, table, index, sample_ids, valid, why, bad)
    if not plan.keeps_sequences:  # frame targets pool to clip targets: a class is on where any frame has it
        pooled, nonempty = pool_sequences(offsets, values, "max" if table.target else plan.pool)  # type: ignore[arg-type]
        empty = valid & ~nonempty
        return TableData(valid & nonempty, why if not empty.any() else f"{why}, or the sequence is empty",
                         vectors=pooled)
    intervals = sequence_rows(data.column("intervals"))[1] if read_intervals else None
    steps = np.diff(offsets) > 0  # a sequence of no step is no feature, kept or pooled alike
    empty = valid & ~steps
    return TableData(valid & steps, why if not empty.any() else f"{why}, or the sequence is empty",
                     offsets=offsets, rows=values, intervals=intervals)


def _screen_non_finite(plan: FusePlan, table: TablePlan, index: int, sample_ids: pa.Array, valid: np.ndarray,
                       why: str, bad: np.ndarray | None) -> tuple[np.ndarray, str]:
    """Apply the plan's policy to the samples whose feature holds NaN or Inf: 'error' raises naming
    the first, 'missing' makes them missing features (then --missing decides)."""
    if bad is None:
        return valid, why
    bad = bad[valid[bad]]  # a null row has no feature: whatever its slots hold is no value
    if not len(bad):
        return valid, why
    if plan.non_finite == "error":
        raise DatasetError(
            f"table {table.name!r}, sample {sample_ids[int(bad[0])].as_py()!r}: the feature holds NaN or Inf; "
            f"{len(bad)} such samples in shard {table.files[index].name}; `mmdata check` lists them; re-extract, "
            "or pass --non-finite missing to treat such features as missing (--missing then decides)"
        )
    valid = valid.copy()
    valid[bad] = False
    return valid, f"{why}, or the feature holds NaN or Inf (--non-finite missing)"


def _select_tables(dataset: Dataset, requested: tuple[str, ...] | None, leave_out: str | None = None) -> list[str]:
    """Table names in output order from table or modality names; one table per modality. `leave_out` (the
    targets table) and its copies (`targets_copy`) are no candidates: by default each other modality's table,
    and a modality naming them picks among the modality's other tables."""
    by_modality: dict[str, list[str]] = {}
    for name in dataset.table_names:
        if leave_out is None or not targets_copy(name, leave_out):
            by_modality.setdefault(dataset.entry(name).modality, []).append(name)
    if not dataset.table_names:
        raise DatasetError(f"dataset {dataset.root} has no feature tables to fuse; run `mmdata extract` first")
    if not by_modality:
        raise DatasetError(f"dataset {dataset.root} has no feature table to fuse besides the targets {leave_out!r}; "
                           "extract the features first (`mmdata extract`)")
    if requested is None:
        several = {m: names for m, names in by_modality.items() if len(names) > 1}
        if several:
            modality, names = next(iter(several.items()))
            raise ConfigError(f"modality {modality!r} has {len(names)} tables {names}; choose one per modality "
                              f"with --tables (e.g. --tables {','.join(_suggested_tables(dataset, by_modality))})")
        return [names[0] for names in by_modality.values()]
    chosen = []
    for item in requested:
        if item in dataset.manifest.tables:
            chosen.append(item)
        elif item in by_modality and len(by_modality[item]) == 1:
            chosen.append(by_modality[item][0])
        elif item in by_modality:
            raise ConfigError(f"modality {item!r} has several tables {by_modality[item]}; name one of them")
        elif leave_out in dataset.manifest.tables and item == dataset.entry(leave_out).modality:
            raise ConfigError(f"modality {item!r} has no table to fuse besides the targets {leave_out!r}; name the "
                              "feature tables to fuse with --tables")
        else:
            raise DatasetError(f"no feature table {item!r} in {dataset.root} (neither a table nor a modality); "
                               f"tables: {dataset.table_names}; extract it first with `mmdata extract`")
    modalities = [dataset.entry(n).modality for n in chosen]
    for modality in dict.fromkeys(modalities):
        if modalities.count(modality) > 1:
            twice = [n for n in chosen if dataset.entry(n).modality == modality]
            if len(set(twice)) == 1:
                raise ConfigError(f"table {twice[0]!r} is named {len(twice)} times in --tables; name each table once")
            raise ConfigError(f"tables {twice} are both {modality!r}; early fusion takes one table per modality")
    return chosen


def targets_copy(name: str, targets: str) -> bool:
    """Table `name` holds the targets' values: it is the targets table, or it and the targets table are one
    table aligned elsewhere (`X@REF`: `mmdata align --reference TARGETS` also writes `TARGETS@TARGETS`).
    Fused into `feature`, it would hand a model its own targets."""
    return name.partition("@")[0] == targets.partition("@")[0]


def _target_table(dataset: Dataset, name: str, features: list[str]) -> str:
    """The targets table `name` (`FuseOptions.targets`), checked to exist and not to be fused too."""
    if name not in dataset.manifest.tables:
        raise DatasetError(f"no feature table {name!r} in {dataset.root} for --targets; tables: {dataset.table_names}; "
                           "extract it first (e.g. `mmdata extract KIND CORPUS DIR --audio event-targets:classes=FILE`)")
    copies = [f for f in features if targets_copy(f, name)]
    if copies:
        what = "is" if copies[0] == name else f"holds the values of the targets {name!r}"
        raise ConfigError(f"table {copies[0]!r} {what} both fused and the targets: a model would be given its own "
                          "targets; drop it from --tables")
    return name


def _suggested_tables(dataset: Dataset, by_modality: dict[str, list[str]]) -> list[str]:
    """One table per modality for a hint: the ones aligned (`mmdata align`, then maybe `segment` or an
    `export-csd` round trip: `checks.aligned.aligned_reference`) to the reference most tables were aligned to, when there are such (`X@REF` tables share REF's time steps, so they fuse as padded
    sequences too); each modality's first table otherwise."""
    reference_of = {name: aligned_reference(name, dataset.entry(name).extractor, dataset.entry(name).config)
                    for name in dataset.table_names}
    references = [r for r in reference_of.values() if r is not None]
    if not references:
        return [names[0] for names in by_modality.values()]
    reference = max(dict.fromkeys(references), key=references.count)  # the first one on a tie

    def aligned(name: str) -> bool:
        return reference_of.get(name) == reference

    return [next((n for n in names if aligned(n)), names[0]) for names in by_modality.values()]


def _plan_table(dataset: Dataset, name: str, options: FuseOptions, sample_ids: pa.Array, sample_rows: list[int],
                shards: list[ShardInfo], table_ids: pa.Array) -> TablePlan:
    """The plan of one table, from its shards' infos and ids (`read_shard_infos_and_ids`)."""
    entry = dataset.entry(name)
    spec = FeatureSpec.from_json(entry.spec)
    if spec.dim is None or spec.dtype not in FUSED_DTYPES:
        raise SchemaMismatchError(f"table {name!r} holds {'variable-length' if spec.dim is None else spec.dtype} "
                                  f"vectors; fusion concatenates fixed-dim float features only ({', '.join(FUSED_DTYPES)})")
    _refuse_update_left(dataset, name, sample_ids)
    _raise_first(name, table_checks.check_table_state(name, entry, shards))
    files = [s.path for s in shards]
    starts = row_starts(shards)
    first_ids = [table_ids[int(starts[k])].as_py() if s.rows else None for k, s in enumerate(shards)]
    _raise_first(name, table_checks.check_shard_types(name, spec, shards, first_ids), SchemaMismatchError)
    # Shards of another dataset, or written by another extractor, config or library version: a
    # fused column mixing them would silently hold two different features.
    _raise_first(name, table_checks.check_provenance(name, entry, dataset.manifest.samples.get("fingerprint"), shards,
                                                     first_ids))
    _raise_first(name, table_checks.check_ids(name, table_ids, sample_ids, table_shard_rows=[s.rows for s in shards],
                                              sample_shard_rows=sample_rows))
    normalize = options.normalize
    method = normalize if isinstance(normalize, str) else normalize.get(name, normalize.get(entry.modality, "none"))
    return TablePlan(name, entry.modality, entry, spec, method, files)


def _refuse_update_left(dataset: Dataset, name: str, sample_ids: pa.Array) -> None:
    """Raise when table `name` is incomplete because it lacks the samples an `mmdata extract --update`
    added (or an update is unfinished), naming the command that completes it
    (`grown_samples.update_left_reason`); a table an interrupted run left is refused by `check_table_state`."""
    if dataset.entry(name).complete:
        return
    reason = update_left_reason(dataset, name, sample_ids)  # the ids turned into strings only if hashed
    if reason is not None:
        raise DatasetError(f"{reason} [table-incomplete]")


def _refuse_split_leaks(samples: pa.Table) -> None:
    """Raise when a sample, image or video id lies in two splits: the export would leak it (one
    line naming the first offender; `mmdata check` lists them all)."""
    leaks = check_split_leaks(samples, max_examples=1)
    if leaks:
        leak = leaks[0]
        raise DatasetError(
            f"sample {leak.sample_id!r}: {leak.message}; the export would leak it between splits; pass "
            f"--allow-split-leaks if the protocol shares it on purpose (e.g. speaker-dependent folds) [{leak.code}]"
        )


def _raise_first(name: str, issues: list[Issue], error: type[Exception] = DatasetError) -> None:
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        issue = errors[0]
        sample = f", sample {issue.sample_id!r}" if issue.sample_id is not None else ""
        raise error(f"table {name!r}{sample}: {issue.message} [{issue.code}]")

