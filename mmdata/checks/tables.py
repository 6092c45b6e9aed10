"""Checks of one feature table against the samples table and its manifest entry (pure functions).

Each function takes arrays already read (ids, shard footers, one batch of features) and returns
a list of `Issue`s; none reads files or raises for bad data.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks.issues import Issue, make_issue
from mmdata.checks.stream import ShardInfo
from mmdata.store.arrays import non_finite_rows
from mmdata.store.manifest import TableEntry
from mmdata.store.metadata import FeatureSpec, feature_type, feature_types
from mmdata.store.tables import INAPPLICABLE_OPTIONS, options_differ, same_config

FLOAT_DTYPES = ("float16", "float32", "float64")


def check_shard_types(table: str, spec: FeatureSpec, shards: Sequence[ShardInfo], first_ids: Sequence[str | None]) -> list[Issue]:
    """Every shard's `feature` (and `intervals`) column has the type the declared spec implies.

    `first_ids[k]` is the first sample id of shard k (to name it in the message).
    """
    expected = feature_type(spec)
    issues = []
    for shard, first_id in zip(shards, first_ids):
        if shard_type_ok(spec, shard):
            continue
        actual = shard.feature_type
        what = "no 'intervals' column" if actual in feature_types(spec) else f"feature type {actual}"
        issues.append(make_issue(
            "dim-mismatch", "error",
            f"shard {shard.path.name} has {what}, expected {expected} (dim {spec.dim}, dtype {spec.dtype}, "
            f"kind {spec.kind}{', with intervals' if spec.intervals else ''}) as the manifest declares; "
            "re-extract the table (`mmdata extract ... --force`) so that every shard has the same spec",
            table=table, offenders=[first_id] if first_id is not None else [],
        ))
    return issues


def shard_type_ok(spec: FeatureSpec, shard: ShardInfo) -> bool:
    """The shard's `feature` column has the spec's type (and an `intervals` column when the spec has one)."""
    if shard.feature_type not in feature_types(spec):
        return False
    return not (spec.kind == "sequence" and spec.intervals and "intervals" not in shard.schema.names)


def check_unique_ids(table: str | None, ids: pa.Array, *, max_examples: int = 5) -> list[Issue]:
    """No sample id occurs twice (in the samples table when `table` is None)."""
    if len(ids) < 2 or pc.all(pc.less(ids.slice(0, len(ids) - 1), ids.slice(1))).as_py():
        return []  # strictly increasing (the samples table is sorted by id): no duplicate, no hash table
    counts = pc.value_counts(ids)
    dup_values = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(dup_values) == 0:
        return []
    where = "feature table; re-run `mmdata extract`, which computes such shards again" if table else "samples table; loaders must yield unique ids"
    return [make_issue(
        "ids-duplicate", "error", f"sample ids occur more than once in the {where}",
        table=table, offenders=dup_values.to_pylist()[:max_examples], count=len(dup_values), max_examples=max_examples,
    )]


def check_provenance(
    table: str, entry: TableEntry, samples_fingerprint: str | None, shards: Sequence[ShardInfo], first_ids: Sequence[str | None]
) -> list[Issue]:
    """Shards were written by the extractor, config, spec and versions the manifest names, for these samples
    (a config that differs only by options a shard lists as not applying, `same_config`, is the same)."""
    declared = {"extractor": entry.extractor, "config": entry.config, "spec": entry.spec}
    if entry.versions:
        declared["versions"] = entry.versions
    issues = []
    for shard, first_id in zip(shards, first_ids):
        offenders = [first_id] if first_id is not None else []
        meta = shard.metadata
        if not meta:
            issues.append(make_issue(
                "provenance-missing", "warning",
                f"shard {shard.path.name} has no mmdata schema metadata; its extractor and config cannot be verified",
                table=table, offenders=offenders,
            ))
            continue
        differ = [key for key, value in declared.items() if key in meta and meta[key] != value
                  and not (key == "config" and same_config(value, meta))]  # options not applying aside
        if differ:  # one finding per shard, however many of its keys differ
            what = "; with ".join(_provenance_differ(key, meta, declared[key]) for key in differ)
            issues.append(make_issue(
                "provenance-mismatch", "error",
                f"shard {shard.path.name} was written with {what}; the manifest names the second of each; re-extract "
                f"the table (`mmdata extract ... --force`) so all shards share one {' and '.join(differ)}",
                table=table, offenders=offenders,
            ))
        recorded = meta.get("samples_fingerprint")
        if samples_fingerprint and recorded and recorded != samples_fingerprint:
            issues.append(make_issue(
                "fingerprint-mismatch", "error",
                f"shard {shard.path.name} was computed for samples with fingerprint {recorded}, this dataset's "
                f"samples have {samples_fingerprint}: the table comes from another dataset; re-extract it here",
                table=table, offenders=offenders,
            ))
    return issues + _check_runtime(table, shards, first_ids)


#: How `options_differ` calls the keys that are equal, per provenance key a shard records.
_PROVENANCE_PARTS = {"config": "options", "spec": "fields", "versions": "versions"}


def _provenance_differ(key: str, meta: dict[str, Any], declared: Any) -> str:
    """'config size=3, not size=1 (other options equal)': of provenance `key`, just the entries in which the
    shard's `meta` differs from what the manifest declares, as a refused resume names them (`options_differ`);
    options the shard lists as not applying aside."""
    if not isinstance(meta[key], Mapping) or not isinstance(declared, Mapping):  # the extractor's name
        return f"{key} {_short(meta[key])}, not {_short(declared)}"
    ignored = frozenset(meta.get(INAPPLICABLE_OPTIONS) or ()) if key == "config" else frozenset()
    return f"{key} {options_differ(meta[key], declared, ignored=ignored, what=_PROVENANCE_PARTS.get(key, key))}"


def _check_runtime(table: str, shards: Sequence[ShardInfo], first_ids: Sequence[str | None]) -> list[Issue]:
    """One warning when the shards record different runtime options (`device`): allowed, since the
    options do not change what is computed, but the features then differ by rounding between shards."""
    groups: dict[str, list[int]] = {}  # runtime options (JSON) -> positions of its shards, in shard order
    for position, shard in enumerate(shards):
        if shard.metadata:
            groups.setdefault(json.dumps(shard.metadata.get("runtime") or {}, sort_keys=True), []).append(position)
    if len(groups) < 2:
        return []
    parts = [f"{runtime} in {shards[members[0]].path.name}" + (f" and {len(members) - 1} more" if len(members) > 1 else "")
             for runtime, members in groups.items()]
    first_id = first_ids[list(groups.values())[1][0]]  # the first shard computed with the second options met
    return [make_issue(
        "provenance-runtime", "warning",
        "shards were computed with different runtime options: " + "; ".join(parts) + " (a run resumed with "
        "another device); a model's features on CUDA differ from the CPU's by rounding (~1e-6 relative, ~5e-4 "
        "where PyTorch runs convolutions as TF32): re-extract the table on one device if that matters",
        table=table, offenders=[first_id] if first_id is not None else [],
    )]


def check_ids(
    table: str,
    table_ids: pa.Array,
    sample_ids: pa.Array,
    *,
    table_shard_rows: Sequence[int] = (),
    sample_shard_rows: Sequence[int] = (),
    max_examples: int = 5,
) -> list[Issue]:
    """The table has exactly the samples' ids, in the same order, no duplicates, shard for shard."""
    if table_ids.equals(sample_ids):
        return _check_shard_rows(table, table_shard_rows, sample_shard_rows, sample_ids)
    issues = check_unique_ids(table, table_ids, max_examples=max_examples)
    missing = sample_ids.filter(pc.invert(pc.is_in(sample_ids, value_set=table_ids)))
    if len(missing):
        issues.append(make_issue(
            "ids-missing", "error",
            "samples have no row in the feature table (a failed sample must still have a row, with a null "
            "feature); re-run `mmdata extract`, which computes the shards that lack them again",
            table=table, offenders=missing.to_pylist()[:max_examples], count=len(missing), max_examples=max_examples,
        ))
    extra = table_ids.filter(pc.invert(pc.is_in(table_ids, value_set=sample_ids)))
    if len(extra):
        issues.append(make_issue(
            "ids-extra", "error",
            "feature rows name sample ids the samples table does not have: the table belongs to another dataset",
            table=table, offenders=extra.to_pylist()[:max_examples], count=len(extra), max_examples=max_examples,
        ))
    if not issues:
        differ = pc.not_equal(table_ids, sample_ids).to_numpy(zero_copy_only=False)
        position = int(np.argmax(differ))
        issues.append(make_issue(
            "ids-order", "error",
            f"row {position} holds sample {table_ids[position].as_py()!r}, the samples table has "
            f"{sample_ids[position].as_py()!r} there: same ids, different order; rows must follow the samples table (re-run "
            "`mmdata extract`, which computes such shards again)",
            table=table, offenders=table_ids.filter(pa.array(differ)).slice(0, max_examples).to_pylist(),
            count=int(differ.sum()), max_examples=max_examples,
        ))
    return issues


def check_finite(table: str, sample_ids: pa.Array, values: np.ndarray, row_sample: np.ndarray | None = None,
                 *, max_examples: int = 5) -> list[Issue]:
    """No NaN/Inf in a batch of feature rows.

    `values` is (rows, D); `row_sample[r]` maps each row to its position in `sample_ids` (frames of a
    sequence map to their sample); None means one row per sample.
    """
    if values.size == 0 or values.dtype.kind != "f":
        return []
    rows = non_finite_rows(values)
    if rows is None:
        return []
    bad = values[rows]
    bad_values = int((~np.isfinite(bad)).sum())
    samples = np.unique(rows if row_sample is None else row_sample[rows])
    nan = int(np.isnan(bad).sum())
    return [make_issue(
        "non-finite", "error",
        f"{bad_values} feature values are not finite ({nan} NaN, {bad_values - nan} Inf) in {len(samples)} samples; "
        "for a table an extractor computed, check its input and config; for one read from the corpus's files "
        "(.csd, pickles: COVAREP holds -inf), extract again with -o nonfinite=zero",
        table=table, offenders=sample_ids.take(pa.array(samples[:max_examples])).to_pylist(),
        count=len(samples), max_examples=max_examples,
    )]


def check_nulls(table: str, sample_ids: pa.Array, valid: np.ndarray, failed_ids: pa.Array,
                *, max_examples: int = 5) -> list[Issue]:
    """Null features are failures recorded in the errors table (warning) or unexplained (error)."""
    if valid.all():
        return []
    null_ids = sample_ids.filter(pa.array(~valid))
    explained = pc.is_in(null_ids, value_set=failed_ids).to_numpy(zero_copy_only=False)
    issues = []
    if explained.any():
        ids = null_ids.filter(pa.array(explained))
        issues.append(make_issue(
            "feature-failed", "warning",
            "samples have no feature because extraction failed (reasons in the errors table, `mmdata info`)",
            table=table, offenders=ids.to_pylist()[:max_examples], count=len(ids), max_examples=max_examples,
        ))
    if not explained.all():
        ids = null_ids.filter(pa.array(~explained))
        issues.append(make_issue(
            "feature-null", "error",
            "null features with no errors-table row saying why; the table was written outside `mmdata extract` "
            "or its errors were lost; re-extract it (`mmdata extract ... --force`)",
            table=table, offenders=ids.to_pylist()[:max_examples], count=len(ids), max_examples=max_examples,
        ))
    return issues


def check_table_state(table: str, entry: TableEntry, shards: Sequence[ShardInfo]) -> list[Issue]:
    """The manifest's entry is complete and its directory holds shards."""
    if not shards:
        return [make_issue(
            "table-missing", "error",
            f"the manifest lists table {table!r} at {entry.path!r} but it has no finished shards; {_rewrite_hint(entry)}",
            table=table,
        )]
    if not entry.complete:
        return [make_issue("table-incomplete", "error", f"the manifest marks the table as incomplete ({_finish_hint(entry)})",
                           table=table)]
    return []


def _rewrite_hint(entry: TableEntry) -> str:
    """How to write a table's shards again, by the command that wrote it (an aligned table is no extraction)."""
    if entry.extractor == "align":
        config = entry.config
        reference, source = config.get("reference", "REFERENCE"), config.get("table", "TABLE")
        collapse = config.get("collapse")
        options = " ".join([f"--reference {reference}", *([f"-t {source}"] if source != reference else []),
                            *([f"--collapse {collapse}"] if collapse in ("mean", "max", "first", "last") else []),
                            f"--on-missing {config.get('on_missing', 'drop')}",
                            *(["--skip-pauses"] if config.get("skip_pauses") else []),
                            *(["--on-absent keep"] if config.get("on_absent") == "keep" else [])])
        by_function = "" if collapse in (None, "mean", "max", "first", "last") else (
            f" (it was collapsed by the function {collapse!r}: pass it to `align_dataset`)")
        return (f"an aligned table: run `mmdata align DATASET {options}` again (with the other tables aligned to that "
                f"reference){by_function} to write it, or add --force to align them anew")
    if entry.extractor == "segment":
        return "run `mmdata segment` again with --force to write the segmented dataset anew"
    return "run `mmdata extract`"


def _finish_hint(entry: TableEntry) -> str:
    """What left a table incomplete, by the command that writes it, and how to finish it."""
    if entry.extractor == "align":
        reference = entry.config.get("reference", "REFERENCE")
        return (f"an interrupted `mmdata align`; re-run it with the same options (--reference {reference}) to finish "
                "it, or pass --force to align again")
    if entry.extractor == "segment":
        return "an interrupted `mmdata segment`; run it again with --force to write the segmented dataset anew"
    return "an interrupted extraction; re-run `mmdata extract` to finish it"


def _check_shard_rows(table: str, table_rows: Sequence[int], sample_rows: Sequence[int], sample_ids: pa.Array) -> list[Issue]:
    if not table_rows or list(table_rows) == list(sample_rows):
        return []
    table_shard = np.repeat(np.arange(len(table_rows)), table_rows)
    sample_shard = np.repeat(np.arange(len(sample_rows)), sample_rows)
    differ = table_shard != sample_shard
    if not differ.any():  # every row in its shard: one of the two has empty shards after the other's last
        return [make_issue(
            "shard-rows", "error",
            f"the table has {len(table_rows)} shards, the samples table {len(sample_rows)}; the first "
            f"{min(len(table_rows), len(sample_rows))} hold the same rows, the others none; feature shard k must "
            "hold exactly the rows of samples shard k (resume and fusion pair them up); delete the empty shard "
            "files or re-run `mmdata extract ... --force`",
            table=table,
        )]
    row = int(np.argmax(differ))
    return [make_issue(
        "shard-rows", "error",
        f"row {row} is in shard {table_shard[row]} of the table but in samples shard {sample_shard[row]} "
        f"({len(table_rows)} vs {len(sample_rows)} shards); feature shard k must hold exactly "
        "the rows of samples shard k (resume and fusion pair them up); re-run `mmdata extract`, which computes "
        "such shards again",
        table=table, offenders=[sample_ids[row].as_py()],
    )]


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
