"""`align_dataset`: align a dataset's temporal tables to a reference table, writing `<table>@<reference>`.

    report = align_dataset("out/mosi", "text.words", collapse="mean", on_missing="drop")

Streaming: one samples shard at a time (tables are row-aligned with the samples shard by shard),
and within it one sample (a video or a segment) at a time, so memory stays bounded by a shard.
Each chosen table's rows are clipped to the reference rows and collapsed (`core.align_video`, the
SDK's semantics). The outputs are sequence tables whose intervals are the kept reference
intervals, so all `*@<reference>` tables of a dataset line up row for row; a `keys` column names
each row the SDK's way (`<sample_id>[<i>]`, i = the reference row), and word tables keep a `words`
column (the tokens of the pieces, joined by spaces). `<reference>@<reference>` holds the kept
reference rows themselves. Outputs are registered in the manifest like any other table; a rerun
with the same settings skips finished shards, other settings need `force=True`. Tables aligned to
one reference are aligned in one run: with on_missing='drop' the kept intervals depend on every
table of the run, so a run that would rewrite `<reference>@<reference>` while leaving out a table
an earlier run aligned to it (or that changes on_missing/skip_pauses under it) is refused, and so is
an aligned table as the reference or as a table to align (it would be aligned twice).

After an `extract --update` (`mmdata.samples_update`) the outputs are incomplete, their shards from the
samples shard the update rewrote on removed: once the inputs are complete again, the same run aligns those
shards only (the rows an output records of its inputs are those of the samples the samples fingerprint
names, `_input_tables`, so the rows the update added do not read as changed inputs); an input the update
left incomplete is refused first (`_refuse_incomplete_inputs`).

This module holds `align_dataset`, its report and its plan (the outputs' settings, claimed all or
none); the rest lives in:
    mmdata.alignment.align_inputs   output names, and the refusals of inputs a run may not read or rewrite
    mmdata.alignment.align_shard    one samples shard aligned: its rows streamed, aligned and written
    mmdata.alignment.row_batches    a shard's rows read a few at a time (shared with `segment` and `export-csd`)
The names moved there stay importable from here; `_align` calls `_align_shard` and `_provenance` calls
`library_versions` through this module's names, so replacing them here reaches the run.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmdata.alignment.align_inputs import (  # noqa: F401 - also re-exported from here
    ALIGNED_SEPARATOR, _check_has_words, _check_input, _check_temporal, _has_words, _is_temporal, _refuse_aligned,
    _refuse_foreign_output,
    _refuse_out_of_step, aligned_name,
)
from mmdata.alignment.align_shard import (  # noqa: F401 - also re-exported from here
    STRINGS, _add_failed, _align_shard, _aligned_words, _check_rows_match, _ShardOutput, _stream_rows,
)
from mmdata.alignment.collapse_setting import collapse_config
from mmdata.alignment.core import COLLAPSES, EPSILON, CollapseSpec, OnAbsent, OnMissing, collapsed_dim
from mmdata.alignment.row_batches import (  # noqa: F401 - also re-exported from here
    BATCH_BYTES, batch_sequences, shard_row_batches,
)
from mmdata.alignment.write_errors import named_write_errors
from mmdata.errors import ConfigError, DatasetError
from mmdata.features.base import library_versions
from mmdata.options import (
    check_choice, check_flag, dataset_path, did_you_mean, literal_choices, optional_name_list, short_repr,
)
from mmdata.pipeline import OnError
from mmdata.store import layout
from mmdata.store.grown_samples import FINGERPRINT_ROWS_KEY, update_left_reason, valid_fingerprint_rows
from mmdata.store.lock import writing
from mmdata.store.manifest import write_manifest
from mmdata.store.metadata import FeatureSpec, read_table_metadata
from mmdata.store.reader import Dataset, open_dataset
from mmdata.store.tables import (
    WAYS_OUT, TableReport, claim_again_if_other_versions, claim_refusal, claim_table, finish_table, options_differ,
    put_back, refuse_mixed_versions, shard_path,
)
from mmdata.store.undo import restored_on_refusal

#: Where a run keeps the earlier outputs until it ends (`store.undo.restored_on_refusal`).
#: The hidden folder a run keeps its outputs' earlier files in (hard links) until it ends: put back on a refusal.
ALIGN_PREVIOUS_DIR = ".align-previous"


@dataclass(repr=False)
class AlignReport:
    """What `align_dataset` wrote, and what happened to the reference intervals."""

    reference: str
    tables: list[TableReport] = field(default_factory=list)
    intervals: int = 0  # reference intervals of the samples aligned
    kept: int = 0  # intervals present in every output table
    dropped: int = 0  # intervals some table did not overlap (on_missing='drop')
    skipped: int = 0  # zero-length (< 1e-5 s) or pause intervals, never aligned
    imputed: dict[str, int] = field(default_factory=dict)  # zero-filled intervals per table (on_missing='impute')
    # Samples a table had no features for, kept in the other tables' outputs, per table (on_absent='keep').
    absent: dict[str, int] = field(default_factory=dict)
    # Samples aligned to no interval (no reference row, or all dropped or skipped): empty sequences in every output.
    empty_samples: list[str] = field(default_factory=list)
    shards_aligned: int = 0  # samples shards aligned by this call: the counts above are theirs
    shards_done: int = 0  # samples shards whose outputs an earlier run wrote: skipped, not counted above

    @property
    def up_to_date(self) -> bool:
        """Every output was already there: nothing was recomputed (a resumed run that had nothing left)."""
        return self.shards_aligned == 0

    def __repr__(self) -> str:
        lines = [f"reference={self.reference!r}: {self.intervals} intervals, {self.kept} kept, {self.dropped} dropped, "
                 f"{self.skipped} skipped",
                 f"shards: {self.shards_aligned} aligned, {self.shards_done} already done"]
        if self.empty_samples:
            lines.append(f"{len(self.empty_samples)} samples aligned to no interval: {self.empty_samples[:3]}")
        lines += [f"{t.name}: {t.rows} rows, {t.errors} failed"
                  + (f", {self.imputed[source]} intervals imputed" if self.imputed.get(source := t.name.split(
                      ALIGNED_SEPARATOR)[0]) else "")
                  + absent_note(self.absent.get(source, 0))
                  + f" -> {t.path}" for t in self.tables[:8]]
        if len(self.tables) > 8:
            lines.append(f"... {len(self.tables) - 8} more tables")
        return short_repr(type(self).__name__, lines)


def absent_note(count: int) -> str:
    """How a table's report line counts the samples it lacked (on_absent='keep'); nothing for none."""
    return f", {count} sample{'s' * (count != 1)} it lacks (null in it alone)" if count else ""


def align_dataset(
    dataset_dir: str | Path | Dataset,
    reference: str,
    *,
    tables: Sequence[str] | str | None = None,
    collapse: CollapseSpec = "mean",
    on_missing: OnMissing = "drop",
    skip_pauses: bool = False,
    on_error: OnError = "skip",
    on_absent: OnAbsent = "drop",
    force: bool = False,
) -> AlignReport:
    """Align temporal tables of a dataset to the intervals of `reference` and write `<table>@<reference>`.

    Args:
        dataset_dir: the dataset directory, or a `Dataset` (`open_dataset`).
        reference: the temporal table whose intervals the others are aligned to (`text.words`).
        tables: the tables to align, as a list or a comma-separated string (default: every temporal
            table with intervals, except aligned ones).
        collapse: mean / max / first / last, or f(intervals, features) -> vector (SDK signature).
        on_missing: a reference interval some table does not overlap is dropped from every output,
            zero-filled ('impute'), or raises ('error').
        skip_pauses: leave out reference rows whose word is a pause token (`sp`, any case), with their rows
            (the reference must have words: a word or phone table).
        on_error: a sample that has no features in an input table (it failed earlier) gets null
            outputs recorded in the errors table ('skip'), or stops the run ('fail'); with
            on_absent='keep', only a sample the reference lacks does.
        on_absent: a sample some table (not the reference) has no features for: null in every output
            ('drop', the SDK's keys present in every sequence), or null only in that table's output, its
            reason in that output's errors table, and aligned in the others without it ('keep': with
            on_missing='drop' its intervals are those every table that has it covers). `fuse --missing
            zero` then exports it with that modality zero and flagged absent.
        force: write the outputs from scratch, replacing those an earlier run made with other settings
            (without it a rerun keeps the finished shards of the same settings and refuses other ones).

    Returns:
        An `AlignReport`: the reference intervals kept, dropped and skipped, and a row count per output.

    Raises:
        DatasetError: the reference is not a temporal table, a table is missing, the reference or a
            table is an output of align (`<table>@<reference>`: pass the table it came from), an
            output exists with other settings (use force=True), the run would put tables an earlier
            run aligned to the reference out of step (align them in one run), an input row has not
            one interval per feature row, or on_missing='error' met an uncovered interval.
        ConfigError: an option of another value than it takes (an unknown collapse, on_missing or
            on_error, a flag that is not a bool, tables that are not names), refused before anything
            is written, or skip_pauses with a reference that has no words.

    A refused run (any of these, or on_error='fail' stopping it) leaves the dataset as it was: the
    manifest, and the outputs' shards and errors tables, even those force had replaced before the
    refusal came (`store.undo.restored_on_refusal`). A run interrupted otherwise (Ctrl-C, a kill) resumes.
    """
    dataset_dir = dataset_path(dataset_dir)
    tables = optional_name_list(tables, argument="tables")
    check_options(reference=reference, collapse=collapse, on_missing=on_missing, skip_pauses=skip_pauses,
                  on_error=on_error, on_absent=on_absent, force=force)
    if not dataset_dir.is_dir():
        open_dataset(dataset_dir)  # the usual error for a path that is no dataset, before any lock
    with named_write_errors(dataset_dir), writing(dataset_dir, "alignment"):
        return _align(open_dataset(dataset_dir), reference, tables, collapse, on_missing, skip_pauses, on_error,
                      on_absent, force)


def check_options(*, reference: Any, collapse: Any, on_missing: Any, skip_pauses: Any, on_error: Any,
                  on_absent: Any = "drop", force: Any) -> None:
    """Refuse, before the dataset is locked or anything written, an option value `align_dataset` does not
    take: recorded in the outputs' config, it would make the next run with the defaults a refusal.

    Raises:
        ConfigError: naming the option, the value and the values it takes.
    """
    if not isinstance(reference, str) or not reference:
        raise ConfigError(f"reference must be a table name (str), got {reference!r}")
    if not callable(collapse) and (not isinstance(collapse, str) or collapse not in COLLAPSES):
        raise ConfigError(f"collapse={collapse!r} is not one of {list(COLLAPSES)}{did_you_mean(collapse, COLLAPSES)} "
                          "(or a function f(intervals, features) -> vector)")
    check_choice("on_missing", on_missing, literal_choices(OnMissing))
    check_choice("on_error", on_error, literal_choices(OnError))
    check_choice("on_absent", on_absent, literal_choices(OnAbsent))
    check_flag("skip_pauses", skip_pauses)
    check_flag("force", force)


def _align(dataset: Dataset, reference: str, tables: list[str] | None, collapse: CollapseSpec, on_missing: OnMissing,
           skip_pauses: bool, on_error: OnError, on_absent: OnAbsent, force: bool) -> AlignReport:
    _check_input(dataset, reference, "reference", reference)
    if skip_pauses:
        _check_has_words(dataset, reference)
    sources = list(dict.fromkeys(tables)) if tables else [n for n in dataset.table_names if n != reference
                                                          and ALIGNED_SEPARATOR not in n and _is_temporal(dataset, n)]
    for name in sources:
        _check_input(dataset, name, "table", reference)
    if not sources:
        raise DatasetError(f"dataset {dataset.root} has no temporal table to align to {reference!r} besides it")
    names = [reference, *[s for s in sources if s != reference]]
    _refuse_incomplete_inputs(dataset, names)
    planned = {name: _provenance(dataset, name, reference, collapse, on_missing, skip_pauses, on_absent)
               for name in names}
    if not _up_to_date(dataset, planned):
        _refuse_out_of_step(dataset, reference, names, collapse, on_missing, skip_pauses, on_absent)
    with restored_on_refusal(dataset, [planned[name][0] for name in names], ALIGN_PREVIOUS_DIR):
        outputs = _claim_all(dataset, names, reference, planned, force)
        report = AlignReport(reference=reference, imputed=dict.fromkeys(names, 0), absent=dict.fromkeys(names, 0))
        written = {name: 0 for name in names}
        for index, samples_shard in enumerate(layout.shard_files(layout.samples_dir(dataset.root))):
            if all(shard_path(dataset, out, index).is_file() for out, _, _ in outputs.values()):
                report.shards_done += 1
                continue
            report.shards_aligned += 1
            _align_shard(dataset, index, reference, names, outputs, collapse, on_missing, skip_pauses, on_error,
                         on_absent, report)
            for name in names:
                written[name] += 1
        for name, (out, spec, provenance) in outputs.items():
            report.tables.append(finish_table(dataset, out, written=written[name]))
        write_manifest(dataset.root, dataset.manifest)
    return report


def _refuse_incomplete_inputs(dataset: Dataset, names: list[str]) -> None:
    """Refuse, before any output is claimed, an input table an `extract --update` left without the rows of the
    samples it added (`grown_samples.update_left_reason` says so, and names the extract that computes them):
    the outputs would lack those samples' rows. (An input an interrupted extract left is refused when a shard
    to align lacks its rows, `align_shard`.)

    Raises:
        DatasetError: naming the first such table, why it is incomplete and the commands that complete it.
    """
    for name in names:
        reason = None if dataset.entry(name).complete else update_left_reason(dataset, name)
        if reason:
            raise DatasetError(f"{dataset.root}: align reads table {name!r}, which is incomplete: {reason}; then run "
                               "this `mmdata align` again (it aligns only the shards its outputs lack); nothing was "
                               "written")


def _provenance(dataset: Dataset, name: str, reference: str, collapse: CollapseSpec, on_missing: OnMissing,
                skip_pauses: bool, on_absent: OnAbsent = "drop") -> tuple[str, FeatureSpec, dict[str, Any]]:
    """(output name, spec, provenance) of `name` aligned to `reference` with these settings.

    The config names on_absent only when it is 'keep', so outputs made before the option existed (all 'drop')
    keep their config. The classes file the input's columns are named from (`event-targets` records it) is
    recorded as the input recorded it: the output's columns are the input's, as they were when aligned (unless a
    collapse function makes other columns: a width of its own)."""
    out = aligned_name(name, reference)
    source_spec, ref_spec = dataset.spec(name), dataset.spec(reference)
    dim = source_spec.dim if name == reference else collapsed_dim(collapse, np.zeros((1, source_spec.dim or 1)))
    spec = FeatureSpec(dim=dim, kind="sequence", intervals=True, item_axis=ref_spec.item_axis or "interval")
    source_entry = dataset.entry(name)
    config = {
        "reference": reference, "table": name, "on_missing": on_missing, "skip_pauses": skip_pauses, "epsilon": EPSILON,
        **({"on_absent": on_absent} if on_absent != "drop" else {}),
        **collapse_config(collapse),  # a function: its name and a fingerprint of its code
        "inputs": config_fingerprint(inputs := _input_tables(dataset, name, reference)),
    }
    provenance = {"table": out, "modality": source_entry.modality, "extractor": "align", "config": config,
                  "spec": spec.to_json(), "versions": library_versions(("mmdata", "numpy", "pyarrow")),
                  "samples_fingerprint": dataset.manifest.samples["fingerprint"], INPUT_TABLES: inputs}
    classes = read_table_metadata(layout.feature_dir(dataset.root, name)).get(CLASSES_KEY)
    if classes is not None and dim == source_spec.dim:  # a collapse function may make other columns
        provenance[CLASSES_KEY] = classes
    return out, spec, provenance


#: Shard-metadata key of the classes file a table's columns are named from (`event-targets` writes it; `fuse
#: --targets` names the targets' columns by it): an aligned table keeps its input's.
CLASSES_KEY = "classes"

#: Shard-metadata key of an aligned table: what its config's `inputs` fingerprint was made of, {input table:
#: [its config, its rows]}, so that a refused resume names the input that changed instead of two hashes.
#: Outside the config: what makes a resume refused stays the fingerprint alone.
INPUT_TABLES = "input_tables"


def _input_tables(dataset: Dataset, name: str, reference: str) -> dict[str, list[Any]]:
    """{input table: [its config, its rows]} of `name` aligned to `reference`: an input made again with other
    options or into other rows makes the outputs' `inputs` fingerprint, and so their config, differ.

    The rows counted are those of the samples the samples fingerprint names (`_fingerprinted_rows`): all of
    them, but in a dataset an `extract --update` grew, the rows before the first update. So the rows the
    update added to an input do not make its outputs' kept shards (recorded with the rows there were) look
    made from other inputs: `align` after the update completes them instead of refusing them. An output made
    in a grown dataset before its count was recorded (an update of mmdata 0.5.2 grew it) recorded more rows:
    those it recorded are counted for it while they read as unchanged (`_recorded_unchanged_inputs`)."""
    every_row = {n: [dataset.entry(n).config, dataset.entry(n).rows] for n in (name, reference)}
    covered = _fingerprinted_rows(dataset)
    if covered is None:
        return every_row
    made = dataset.manifest.tables.get(aligned_name(name, reference))
    made_with = made.config.get("inputs") if made is not None and isinstance(made.config, dict) else None
    if made_with == config_fingerprint(every_row):
        return every_row
    recorded = _recorded_unchanged_inputs(dataset, aligned_name(name, reference), made_with, every_row, covered)
    return recorded or {n: [config, min(rows, covered)] for n, (config, rows) in every_row.items()}


def _recorded_unchanged_inputs(dataset: Dataset, out: str, made_with: Any, every_row: dict[str, list[Any]],
                               covered: int) -> dict[str, list[Any]] | None:
    """The input tables output `out` recorded (`INPUT_TABLES` of its first shard, the fingerprint `made_with`
    its config holds), when each is unchanged since: the same config, and a row count between the rows the
    samples fingerprint covers and the rows it holds now, as an update appends rows after the covered ones
    and leaves those before alone (an output aligned in a dataset grown before its count was recorded
    counted every row then: 4 of a count now recorded as 3). None when any input differs, or nothing
    recorded them."""
    if made_with is None:
        return None
    recorded = read_table_metadata(layout.feature_dir(dataset.root, out)).get(INPUT_TABLES)
    if not isinstance(recorded, dict) or set(recorded) != set(every_row) or config_fingerprint(recorded) != made_with:
        return None
    for input_name, (config, rows) in every_row.items():
        made = recorded[input_name]
        if not (isinstance(made, list) and len(made) == 2 and made[0] == config and isinstance(made[1], int)
                and min(rows, covered) <= made[1] <= rows):
            return None
    return recorded


def _fingerprinted_rows(dataset: Dataset) -> int | None:
    """How many leading samples the samples fingerprint names, when an `extract --update` recorded fewer than
    the samples table holds (the manifest's `grown_samples.FINGERPRINT_ROWS_KEY`); None: all of them."""
    covered = dataset.manifest.samples.get(FINGERPRINT_ROWS_KEY)
    return covered if valid_fingerprint_rows(covered, int(dataset.manifest.samples["rows"])) else None


def _claim(dataset: Dataset, name: str, reference: str, out: str, spec: FeatureSpec, provenance: dict[str, Any],
           force: bool) -> tuple[str, FeatureSpec, dict[str, Any]]:
    table_format = dataset.entry(reference).format
    if not force:
        _refuse_foreign_output(dataset, name, reference, out)
        _refuse_changed_inputs(dataset, provenance, reference, table_format)
    claim_table(dataset, provenance, force=force, source=f"{name} aligned to {reference}", table_format=table_format)
    return out, spec, provenance


def _refuse_changed_inputs(dataset: Dataset, provenance: dict[str, Any], reference: str, table_format: str) -> None:
    """Refuse a claim `claim_table` would refuse, where an input changed since the output was made, with its
    refusal followed by which input changed and how ('inputs=577b..., not inputs=b017...' alone names none).

    Raises:
        DatasetError: the claim's refusal, the inputs that differ, and the ways out.
    """
    changed = _inputs_changed(dataset, provenance, reference)
    refusal = changed and claim_refusal(dataset, provenance, table_format=table_format)
    if refusal:
        out = provenance["table"]
        raise DatasetError(f"{refusal}: {changed}; " + WAYS_OUT.format(
            table_dir=layout.feature_dir(dataset.root, out), errors_dir=layout.errors_dir(dataset.root, out)))


def _inputs_changed(dataset: Dataset, provenance: dict[str, Any], reference: str) -> str | None:
    """'inputs differ: ...' (`inputs_differ`) when the output's recorded `inputs` fingerprint is not this
    run's and its first shard records what that fingerprint was made of; None otherwise (an output made
    by a version that recorded the fingerprint alone: its refusal names the two fingerprints)."""
    out = provenance["table"]
    entry = dataset.manifest.tables.get(out)
    made_with = entry.config.get("inputs") if entry is not None and isinstance(entry.config, dict) else None
    if made_with is None or made_with == provenance["config"]["inputs"]:
        return None
    recorded = read_table_metadata(layout.feature_dir(dataset.root, out)).get(INPUT_TABLES)
    if not isinstance(recorded, dict) or config_fingerprint(recorded) != made_with:
        return None
    return inputs_differ(recorded, provenance[INPUT_TABLES], reference)


def inputs_differ(recorded: dict[str, Any], running: dict[str, Any], reference: str) -> str:
    """'inputs differ: 'text.embeddings' changed since (config dim=8, not dim=16 (other options equal)),
    reference 'text.words' unchanged': each input table of an aligned output (`INPUT_TABLES`) as it was
    when the output was made against this run's, the aligned table first, its changes as `options_differ`
    spells them (what made the output first)."""
    names = sorted(set(recorded) | set(running), key=lambda n: (n == reference, n))
    return "inputs differ: " + ", ".join(
        f"{'reference ' if n == reference else ''}{n!r} {_input_change(recorded.get(n), running.get(n))}" for n in names)


def _input_change(recorded: list[Any] | None, running: list[Any] | None) -> str:
    """'unchanged', or 'changed since (config ..., not ...; rows 8, not 6)' for one input table's [config, rows]."""
    if recorded == running:
        return "unchanged"
    if recorded is None or running is None:
        return "absent then" if recorded is None else "absent now"
    (config, rows), (config_now, rows_now) = recorded, running
    changes = ([f"config {options_differ(config, config_now)}"] if config != config_now else []) + (
        [f"rows {rows}, not {rows_now}"] if rows != rows_now else [])
    return f"changed since ({'; '.join(changes)})"


def _claim_all(dataset: Dataset, names: list[str], reference: str,
               planned: dict[str, tuple[str, FeatureSpec, dict[str, Any]]], force: bool) -> dict[str, Any]:
    """Claim every output table, or none of them.

    A claim refused (an output made with other settings, without force, or a shard to align again
    next to outputs made with other library versions) would leave the outputs
    claimed before it marked incomplete, `<reference>@<reference>` first: a refused run would
    break a finished alignment. Their manifest entries are put back before the error goes on.
    """
    before = {planned[name][0]: dataset.manifest.tables.get(planned[name][0]) for name in names}
    try:
        outputs = {name: _claim(dataset, name, reference, *planned[name], force) for name in names}
        # A shard any output lacks is aligned again for every output: none may keep rows of other versions.
        count = len(layout.shard_files(layout.samples_dir(dataset.root)))
        to_align = sum(not all(shard_path(dataset, out, i).is_file() for out, _, _ in outputs.values())
                       for i in range(count))
        if force and to_align:  # --force: outputs made with other versions are aligned again whole
            for name, (_, _, provenance) in outputs.items():
                claim_again_if_other_versions(dataset, provenance, source=f"{name} aligned to {reference}",
                                              table_format=dataset.entry(reference).format)
        # (an interrupted output first: the refusal names the table the user was resuming)
        for out, _, provenance in sorted(outputs.values(), key=lambda o: bool(before[o[0]] and before[o[0]].complete)):
            refuse_mixed_versions(dataset, out, provenance["versions"], to_align)
        return outputs
    except DatasetError:
        put_back(dataset, before)
        raise


def _up_to_date(dataset: Dataset, planned: dict[str, tuple[str, FeatureSpec, dict[str, Any]]]) -> bool:
    """Every output exists, complete, with these settings and every shard: the run will rewrite nothing."""
    count = len(layout.shard_files(layout.samples_dir(dataset.root)))
    for out, _, provenance in planned.values():
        entry = dataset.manifest.tables.get(out)
        if entry is None or not entry.complete or entry.config != provenance["config"]:
            return False
        if not all(shard_path(dataset, out, index).is_file() for index in range(count)):
            return False
    return True


def config_fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]
