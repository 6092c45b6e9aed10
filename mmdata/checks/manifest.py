"""Checks of what the manifest says against what the tables hold, and of what the loader left out
(pure functions over counts already read).

`mmdata info`, `fuse` and `share` take their counts from the manifest, so a stale or hand-edited
count would mislead them; and a loader that dropped annotation entries (or every sample) leaves
tables that agree with each other but not with the corpus.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mmdata.checks.issues import Issue, make_issue

#: What to do about a manifest count that differs from its tables.
_MANIFEST_HINT = ("the manifest was edited by hand or outlived its tables; restore mmdata.json, or extract again "
                  "into a new output directory")


def check_samples_entry(samples: dict[str, Any], rows: int, splits: dict[str, int],
                        loader_errors: int | None = None) -> list[Issue]:
    """The manifest's samples entry counts the samples table's rows, its samples per split and the
    loader's errors-table rows (`loader_errors`, which `share`'s card and `report` show; one issue
    naming every count that differs)."""
    wrong = []
    if samples.get("rows") != rows:
        wrong.append(f"the manifest counts {samples.get('rows')} samples, the samples table holds {rows}")
    if loader_errors is not None and "loader_errors" in samples and samples["loader_errors"] != loader_errors:
        wrong.append(f"the manifest counts {samples['loader_errors']} loader errors, the loader's errors table "
                     f"holds {loader_errors}")
    recorded = {str(k): v for k, v in (samples.get("splits") or {}).items()}
    if recorded != splits:
        wrong.append(f"the manifest counts samples per split as {dict(sorted(recorded.items()))}, the samples "
                     f"table holds {splits}")
    if not wrong:
        return []
    return [make_issue("manifest-counts", "error", f"{'; '.join(wrong)}; {_MANIFEST_HINT}")]


def check_table_entry(table: str, entry_rows: int, entry_errors: int, rows: int, errors: int) -> list[Issue]:
    """A complete table's manifest entry counts its rows and its errors-table rows."""
    if (entry_rows, entry_errors) == (rows, errors):
        return []
    return [make_issue(
        "manifest-counts", "error",
        f"the manifest counts {entry_rows} rows and {entry_errors} failed samples, the table holds {rows} rows "
        f"and its errors table {errors}; {_MANIFEST_HINT}",
        table=table,
    )]


def check_loaded(rows: int, loader_failures: Sequence[str | None], *, kept: Sequence[bool] = (),
                 repeated: Sequence[bool] = (), max_examples: int = 5) -> list[Issue]:
    """An empty samples table is an error; annotation entries the loader could not use, a warning.

    `kept[i]`: whether the sample of `loader_failures[i]` is in the samples table all the same (a
    problem the loader recorded and kept the sample with, e.g. a missing WAV); the others were left out.
    `repeated[i]`: the entry was left out because an earlier entry loaded its sample (an image listed
    twice, possibly in two splits): its id has a row, but not from this entry. A repeated entry whose
    id has no row (the earlier entry was dropped too) counts as left out, and a sample kept with several
    problems counts once.
    """
    issues = []
    where = "errors/loader, `mmdata info`"
    if rows == 0:
        issues.append(make_issue(
            "samples-empty", "error",
            f"the samples table has no rows ({len(loader_failures)} loader errors, in {where}); check that the corpus "
            "kind, split and annotation files are the right ones",
        ))
    elif loader_failures:
        kept = list(kept) or [False] * len(loader_failures)
        repeated = list(repeated) or [False] * len(loader_failures)
        left_out = [s for s, k in zip(loader_failures, kept) if not k]
        repeats = [s for s, k, r in zip(loader_failures, kept, repeated) if k and r]
        with_problem = list(dict.fromkeys(s for s, k, r in zip(loader_failures, kept, repeated) if k and not r))
        parts = []
        if left_out:
            parts.append(f"the loader left out {len(left_out)} annotation entries it could not use; they have no "
                         "row in any table")
        if repeats:
            parts.append(f"{len(repeats)} entries repeat a sample an earlier entry loaded and were left out (the "
                         "reasons name both entries, and both splits where they differ)")
        if with_problem:
            parts.append(f"{len(with_problem)} samples were kept with a problem the loader recorded (their "
                         "extractors fail them where it matters)")
        named = [s for s in left_out + repeats + with_problem if s is not None]
        issues.append(make_issue(
            "loader-errors", "warning", f"{'; '.join(parts)} (reasons in {where})",
            offenders=named[:max_examples], count=len(loader_failures), max_examples=max_examples,
        ))
    return issues
