"""The tables an `align_dataset` run reads and writes: the outputs' names (`<table>@<reference>`), and
the refusals made before anything is written.

A run refuses an input that is unknown, not temporal or itself an output of align (it would be
aligned twice), `skip_pauses` with a reference that has no words, and a run that would rewrite
`<reference>@<reference>` under tables an earlier run aligned to it (`_refuse_out_of_step`).
Kept apart from `mmdata.alignment.dataset` so that the run itself reads as its steps.
"""
from __future__ import annotations

import logging

from mmdata.alignment.core import CollapseSpec, OnAbsent, OnMissing
from mmdata.errors import ConfigError, DatasetError, UnknownNameError
from mmdata.options import did_you_mean
from mmdata.store import layout
from mmdata.store.reader import Dataset
from mmdata.store.shards import shard_schema

log = logging.getLogger(__name__)
ALIGNED_SEPARATOR = "@"


def aligned_name(table: str, reference: str) -> str:
    return f"{table}{ALIGNED_SEPARATOR}{reference}"


def _refuse_out_of_step(dataset: Dataset, reference: str, names: list[str], collapse: CollapseSpec,
                        on_missing: OnMissing, skip_pauses: bool, on_absent: OnAbsent = "drop") -> None:
    """Refuse a run that would rewrite `<reference>@<reference>` under tables an earlier run aligned to it.

    Which reference intervals are kept depends on the settings and, with on_missing='drop', on every
    table aligned together (an interval one of them does not overlap is dropped from all): aligning
    another table alone would rewrite the reference's rows and leave the earlier outputs out of step
    with them. Tables aligned with 'impute' or 'error' and the same skip_pauses and on_absent keep the same
    rows (on_absent decides whether a sample one table lacks has rows in the others at all).
    """
    stale = []
    for out in dataset.table_names:
        entry = dataset.manifest.tables[out]
        table = entry.config.get("table")
        if entry.extractor != "align" or entry.config.get("reference") != reference or table in names:
            continue
        if ALIGNED_SEPARATOR in str(table):
            # An earlier mmdata aligned an aligned table: no run can align it again (`_refuse_aligned`),
            # so it cannot be kept in step, and refusing for it would leave no way forward.
            log.warning("table %r of %s was aligned from the aligned table %r, which align no longer accepts; it "
                        "is left as it is and may be out of step with %r: remove it", out, dataset.root, table,
                        aligned_name(reference, reference))
            continue
        if (on_missing == "drop" or entry.config.get("on_missing") == "drop"
                or entry.config.get("skip_pauses") != skip_pauses
                or entry.config.get("on_absent", "drop") != on_absent):
            stale.append((out, table, entry.config.get("on_missing"), entry.config.get("skip_pauses"),
                          entry.config.get("on_absent", "drop")))
    if stale:
        out, _, their_missing, their_pauses, their_absent = stale[0]
        flags = " ".join([*(f"-t {n}" for n in [*names[1:], *(table for _, table, _, _, _ in stale)]),
                          *([f"--collapse {collapse}"] if isinstance(collapse, str) and collapse != "mean" else []),
                          *([f"--on-missing {on_missing}"] if on_missing != "drop" else []),
                          *(["--skip-pauses"] if skip_pauses else []),
                          *(["--on-absent keep"] if on_absent != "drop" else [])])
        why = ("with on_missing 'drop' an interval is kept only where every table aligned together overlaps it"
               if on_missing == "drop" or their_missing == "drop" or their_pauses != skip_pauses else
               "on_absent decides whether a sample one table lacks has rows in the others")
        raise DatasetError(
            f"table {out!r} of {dataset.root} was aligned to {reference!r} by an earlier run (on_missing {their_missing!r}, "
            f"skip_pauses {their_pauses}, on_absent {their_absent!r}); aligning {names[1:]} without it (on_missing "
            f"{on_missing!r}, skip_pauses {skip_pauses}, on_absent {on_absent!r}) would rewrite "
            f"{aligned_name(reference, reference)!r} with other reference intervals and leave "
            f"{[o for o, *_ in stale]} out of step ({why}); expected one run for all of them: "
            f"`mmdata align {dataset.root} -r {reference} {flags} --force`")


def _is_temporal(dataset: Dataset, name: str) -> bool:
    spec = dataset.spec(name)
    return spec.kind == "sequence" and spec.intervals and spec.dim is not None


def _check_has_words(dataset: Dataset, reference: str) -> None:
    """Refuse skip_pauses for a reference without tokens: there would be no pause to leave out, silently."""
    if _has_words(dataset, reference) is False:
        words = [n for n in dataset.table_names if ALIGNED_SEPARATOR not in n and _has_words(dataset, n)]
        raise ConfigError(f"skip_pauses leaves out the reference rows whose word is a pause (sp), but the reference "
                          f"{reference!r} has no words column; expected a word or phone table as the reference "
                          f"(tables with words: {words}), or no --skip-pauses (a word-embeddings table leaves "
                          "pauses out when extracted with pauses=drop)")


def _has_words(dataset: Dataset, name: str) -> bool | None:
    """Whether the table's shards carry a `words` column (None: it has no shard to tell)."""
    shards = layout.shard_files(dataset.table_dir(name))
    return "words" in shard_schema(shards[0]).names if shards else None


def _check_input(dataset: Dataset, name: str, role: str, reference: str) -> None:
    """A table the run reads as `role` ('reference' or 'table'): in the dataset, not aligned, temporal."""
    if name not in dataset.table_names:
        raise UnknownNameError(f"{role} {name!r} of align: dataset {dataset.root} has no table {name!r}; tables: "
                               f"{dataset.table_names}{did_you_mean(name, dataset.table_names)}")
    _refuse_aligned(name, role, reference)
    _check_temporal(dataset, name, role)


def _refuse_aligned(name: str, role: str, reference: str) -> None:
    """Refuse an output of align (`<table>@<reference>`) as the reference or a table to align.

    Aligning it would align twice (`text.words@text.words` as the reference wrote
    `text.words@text.words@text.words@text.words`); its rows are the intervals of the reference it was
    aligned to, so the table it came from and that reference are what to pass.
    """
    if ALIGNED_SEPARATOR not in name:
        return
    parts = name.split(ALIGNED_SEPARATOR)
    source, aligned_to = parts[0], parts[-1]
    if role == "reference":
        instead = (f"pass `-r {aligned_to}` (its rows are the intervals of {aligned_to!r} that alignment kept; "
                   f"`--force` aligns the tables to it anew)")
    elif source == reference:
        written = aligned_name(reference, reference)
        instead = f"leave it out of -t (every run aligned to {reference!r} writes {written!r})"
    else:
        instead = f"pass `-t {source}` (with `-r {reference}`)"
    raise DatasetError(
        f"{role} {name!r} is an aligned table (an output of `mmdata align`: {source!r} aligned to {aligned_to!r}); "
        f"aligning it again would align twice; expected a table align did not write: {instead}")


def _refuse_foreign_output(dataset: Dataset, name: str, reference: str, out: str) -> None:
    """Refuse, without force, an output name held by a table align did not write (a table read back from
    a `.csd` that `export-csd` named `X@REF`, or one named so at extraction): the claim's refusal would
    list every option of two unrelated configs, and naming what holds the name says what to do."""
    entry = dataset.manifest.tables.get(out)
    if entry is None or entry.extractor == "align":
        return
    origin = entry.config.get("file") if isinstance(entry.config, dict) else None
    raise DatasetError(
        f"table {out!r} of {dataset.root} is not an output of align (extractor {entry.extractor!r}"
        f"{f', read from {origin}' if origin else ''}); aligning {name!r} to {reference!r} would replace it; expected "
        f"that name free: leave {name!r} out (-t), or pass --force to replace {out!r} with {name!r} aligned to "
        f"{reference!r}")


def _check_temporal(dataset: Dataset, name: str, role: str) -> None:
    if not _is_temporal(dataset, name):
        temporal = [n for n in dataset.table_names if ALIGNED_SEPARATOR not in n and _is_temporal(dataset, n)]
        spec = dataset.spec(name)
        kind = ("pooled: one vector per sample" if spec.kind != "sequence" else
                "a sequence without per-row intervals" if not spec.intervals else "a sequence of rows of no fixed width")
        raise DatasetError(f"{role} {name!r} is not a temporal table ({kind}); align needs sequence tables with "
                           f"intervals; temporal tables: {temporal}")
