"""Tables aligned to one reference must keep the same time steps.

`mmdata align DIR -r REF` writes `X@REF` for each table X and `REF@REF`, the reference's own rows at
the kept intervals; fusion keeps sequences aligned because every `X@REF` has, per sample, exactly
the intervals of `REF@REF`. Tables aligned in separate runs with `--on-missing drop` (each run drops
the intervals its own tables miss), or made before `align` refused such runs, can fall out of step:
each table is fine on its own, and only `fuse` would notice. Here the intervals of every `X@REF` are
compared with those of `REF@REF`, shard by shard (the intervals column only). `mmdata segment` keeps
the names and cuts every table by the same segments, so a cut `X@REF` (extractor "segment", its
source's extractor "align" in `config.source`) must still step with the cut `REF@REF`: those are
grouped the same way, the reference taken from the name; so are tables `extract csd` read back from
an `export-csd` file that recorded their reference.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmdata.checks.issues import Issue, make_issue
from mmdata.checks.stream import iter_table_shards, sequence_rows, valid_mask
from mmdata.formats.csd_folder import TABLE_IDENTITY_KEY
from mmdata.store.layout import shard_files
from mmdata.store.reader import Dataset

#: Seconds within which two aligned tables' intervals count as the same step (`check` and `fuse`).
INTERVAL_ATOL = 1e-6


def aligned_groups(dataset: Dataset, names: Sequence[str]) -> dict[str, list[str]]:
    """{reference: complete tables `mmdata align` made on it}, for the tables checked; tables `mmdata
    segment` cut from such tables count too (their reference: the one in their name)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        entry = dataset.entry(name)
        reference = aligned_reference(name, entry.extractor, entry.config)
        if reference is not None and entry.complete and entry.spec.get("intervals"):
            groups.setdefault(reference, []).append(name)
    return groups


def aligned_reference(name: str, extractor: str, config: dict) -> str | None:
    """The reference a table was aligned to: `config.reference` of an `align` output; for a table
    `segment` cut from one (its `config.source.extractor` is "align"), the part of its name after the
    last '@' (align names its outputs `X@REF`, and REF is never itself an aligned table); else None."""
    if extractor == "align":
        reference = config.get("reference")
        return reference if isinstance(reference, str) else None
    source = config.get("source")
    if extractor == "segment" and isinstance(source, dict) and source.get("extractor") == "align" and "@" in name:
        return name.rpartition("@")[2] or None
    return _recorded_reference(name, config)


def _recorded_reference(name: str, config: dict) -> str | None:
    """The reference `export-csd` recorded for an aligned table read back from its `.csd` (`extract
    csd` keeps the file's metadata in the config, and `segment` copies it), when the table still has
    the name recorded there; else None."""
    metadata = config.get("metadata")
    identity = metadata.get(TABLE_IDENTITY_KEY) if isinstance(metadata, dict) else None
    if not isinstance(identity, dict) or identity.get("name") != name:
        return None
    reference = identity.get("reference")
    return reference if isinstance(reference, str) and name.endswith("@" + reference) else None


def check_aligned_in_step(dataset: Dataset, names: Sequence[str], *, max_examples: int = 5) -> list[Issue]:
    """An `aligned-out-of-step` error per table whose intervals differ from its reference's `REF@REF`
    for some sample (both features present), naming the first such sample."""
    issues: list[Issue] = []
    for reference, members in aligned_groups(dataset, names).items():
        anchor = f"{reference}@{reference}"
        if anchor not in members:
            continue
        for name in members:
            if name == anchor:
                continue
            offenders = _samples_out_of_step(dataset, anchor, name)
            if offenders:
                issues.append(make_issue(
                    "aligned-out-of-step", "error",
                    f"table {name!r} has other time steps than {anchor!r} for {len(offenders)} samples, though both "
                    f"are aligned to {reference!r} (they were aligned in separate runs that dropped different "
                    f"intervals, or one was edited); {_realign_hint(dataset, name, reference)}",
                    table=name, offenders=offenders, count=len(offenders), max_examples=max_examples,
                ))
    return issues


def _realign_hint(dataset: Dataset, name: str, reference: str) -> str:
    """How to bring `name` back in step: align it again in one run with the reference's other tables;
    for a table `segment` cut, in the whole-video dataset it was cut from, then cut again."""
    table = name.removesuffix("@" + reference)
    source = dataset.manifest.extra.get("segment", {}).get("source") if dataset.entry(name).extractor == "segment" else None
    if source:
        return (f"align them in one run in the dataset it was cut from: `mmdata align {source} -r {reference} "
                f"-t {table} ... --force`, then run `mmdata segment` again")
    return f"align them in one run: `mmdata align {dataset.root} -r {reference} -t {table} ... --force`"


def _samples_out_of_step(dataset: Dataset, anchor: str, name: str) -> list[str]:
    anchor_files, files = shard_files(dataset.table_dir(anchor)), shard_files(dataset.table_dir(name))
    if len(anchor_files) != len(files):
        return []  # the per-table checks report shards that do not match the samples table
    offenders: list[str] = []
    columns = ["sample_id", "intervals"]
    pairs = zip(iter_table_shards(anchor_files, columns, threads=0), iter_table_shards(files, columns, threads=0))
    for (_, ours), (_, theirs) in pairs:
        if ours is None or theirs is None or ours.num_rows != theirs.num_rows:
            continue
        if not ours.column("sample_id").equals(theirs.column("sample_id")):
            continue  # ids that differ are the ids checks' finding
        offenders += _differing(ours.column("sample_id"), ours.column("intervals"), theirs.column("intervals"))
    return offenders


def _differing(ids, ours, theirs) -> list[str]:
    """Ids of the rows present in both whose intervals differ (count, or a bound by more than the tolerance)."""
    both = valid_mask(ours) & valid_mask(theirs)
    our_offsets, our_rows = sequence_rows(ours)
    their_offsets, their_rows = sequence_rows(theirs)
    our_lengths, their_lengths = np.diff(our_offsets), np.diff(their_offsets)
    differ = both & (our_lengths != their_lengths)
    same = both & ~differ  # the same number of steps: compare them step by step, in order
    a, b = our_rows[np.repeat(same, our_lengths)], their_rows[np.repeat(same, their_lengths)]
    off = ~np.isclose(a, b, rtol=0.0, atol=INTERVAL_ATOL).all(axis=1)
    differ[np.repeat(np.flatnonzero(same), our_lengths[same])[off]] = True
    return [ids[int(i)].as_py() for i in np.flatnonzero(differ)]
