"""The `Issue` record, its codes, and a collector that keeps reports small on big datasets.

A check never raises for bad data: it returns issues. One issue per (code, table) is kept, with
the number of offending rows and the first few offending sample ids, so a million NaN rows make
one line of the report, not a million.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}

#: Every issue code a check can emit, with what it means (stable: tests and users match on them).
CODES: dict[str, str] = {
    # tables against the samples table
    "table-missing": "the manifest names a table whose directory has no finished shards",
    "table-incomplete": "the manifest marks the table as not complete (the extract, align or segment run that writes "
                        "it was interrupted, or an `extract --update` added samples no extract computed its rows for "
                        "yet)",
    "update-interrupted": "an `extract --update` is running or was interrupted: the same command finishes it",
    "ids-missing": "a sample of the samples table has no row in the feature table",
    "ids-extra": "a feature-table row names a sample id the samples table does not have",
    "ids-duplicate": "a sample id occurs more than once in a table",
    "ids-order": "the feature table has the samples' ids but not in the samples table's order",
    "shard-rows": "feature shard k does not hold exactly the rows of samples shard k",
    "shard-unreadable": "a shard file cannot be read (truncated or corrupt); the rest of its table is not checked",
    # declared spec against the data
    "dim-mismatch": "a shard's feature type (dim, dtype, kind) differs from the spec the manifest declares",
    "non-finite": "feature values that are NaN or +/-Inf",
    "feature-failed": "null features whose extraction failure is recorded in the errors table",
    "feature-null": "null features with no errors-table row explaining them",
    # temporal tables
    "intervals-length": "a sample has a different number of intervals than feature rows",
    "intervals-unsorted": "a sample's intervals are not sorted by start time",
    "intervals-negative": "an interval starts before 0 s or ends before it starts",
    "intervals-overlap": "a word of a word table runs into the next word",
    "intervals-outside": "an interval lies outside the sample's media span (start/end or duration)",
    "coverage-low": "a modality covers less of the segment than the coverage threshold",
    "duration-unknown": "samples have no end time and no media duration: intervals are checked up to the last one only",
    "frame-count": "the number of frames differs from duration x frame rate beyond the tolerance",
    "events-past-media": "a sample's timed sound events (extra.events) end past its audio's end, where its "
                         "event-targets table has no frame",
    "aligned-out-of-step": "a table aligned to a reference has other time steps than the reference's own aligned table",
    "caption-count": "a caption-level table holds another number of items for a sample than the sample has texts "
                     "(captions, else its transcript)",
    # samples table
    "captions-missing": "a sample of a captioned corpus has no caption",
    "transcript-missing": "a sample of a transcribed corpus has no transcript",
    "label-missing": "a sample of a labelled corpus has no label",
    "label-range": "a label lies outside the corpus's label range",
    "aux-label-range": "a further label (CH-SIMS label_T/A/V, a CMU-MOSEI emotion) lies outside its range",
    "split-leak": "one image, video or group id occurs in more than one split",
    "split-counts": "per-split sample counts (informational)",
    "samples-empty": "the samples table has no rows (the loader found no usable sample)",
    "loader-errors": "annotation entries the loader could not use, recorded in its errors table",
    "manifest-counts": "the manifest's row, error or per-split counts differ from what the tables hold",
    # provenance
    "provenance-mismatch": "a shard was written by another extractor, config, spec or version than the manifest names",
    "provenance-missing": "a shard carries no mmdata metadata, so its provenance cannot be verified",
    "provenance-runtime": "a table's shards were computed with different runtime options (e.g. device), as a run resumed elsewhere does",
    "fingerprint-mismatch": "a table was computed for another samples table (another dataset)",
}


@dataclass(frozen=True)
class Issue:
    """One finding of a check.

    `sample_id` is the first offending sample (None for table-level findings), `count` how many
    rows or samples the finding covers, `examples` the first few offending samples in table order;
    `message` says what failed, the offending value, what was expected and a hint.
    """

    code: str
    severity: Severity
    sample_id: str | None
    message: str
    table: str | None = None
    count: int = 1
    examples: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "examples", tuple(self.examples))  # a list, as read back from JSON

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "examples": list(self.examples)}

    def one_line(self) -> str:
        where = f"table {self.table!r}" if self.table else "samples"
        sample = f", sample {self.sample_id!r}" if self.sample_id is not None else ""
        return f"{self.code} ({where}{sample}): {self.message}"

    def __str__(self) -> str:
        """`one_line()`, so `print(issue)` reads as the report does (`repr` keeps every field)."""
        return self.one_line()


def make_issue(
    code: str,
    severity: Severity,
    message: str,
    *,
    table: str | None = None,
    offenders: Sequence[Any] = (),
    count: int | None = None,
    max_examples: int = 5,
) -> Issue:
    """Build an issue naming the first offender and listing up to `max_examples` of them.

    Raises:
        KeyError: `code` is not one of `CODES` (a programming error, not a data error).
    """
    if code not in CODES:
        raise KeyError(f"unknown issue code {code!r}; codes: {sorted(CODES)}")
    examples = tuple(str(o) for o in list(offenders)[:max_examples])
    total = len(offenders) if count is None else count
    message += _listing(total, examples)
    return Issue(code, severity, examples[0] if examples else None, message, table, max(total, 1), examples)


def _listing(total: int, examples: Sequence[str]) -> str:
    """What `make_issue` appends to a message of several offenders: ` (N rows; first: 'a', 'b' and 3 more)`."""
    if total <= 1 or not examples:
        return ""
    more = f" and {total - len(examples)} more" if total > len(examples) else ""
    return f" ({total} rows; first: {', '.join(repr(e) for e in examples)}{more})"


@dataclass
class IssueCollector:
    """Accumulates issues, merging repeated (code, table) findings from successive shards.

    A merged issue counts every finding and names the first `max_examples` offenders in the order
    they were found; its message is the first finding's, followed by the total.
    """

    max_examples: int = 5
    _issues: dict[tuple[str, str | None, str], list[Any]] = field(default_factory=dict)
    _order: list[tuple[str, str | None, str]] = field(default_factory=list)

    def add(self, issue: Issue) -> None:
        self.extend([issue])

    def extend(self, issues: Iterable[Issue]) -> None:
        for issue in issues:
            key = (issue.code, issue.table, issue.severity)
            if key not in self._issues:
                self._issues[key] = [issue, issue.count, []]
                self._order.append(key)
            else:
                self._issues[key][1] += issue.count
            examples = self._issues[key][2]
            for example in issue.examples or ([issue.sample_id] if issue.sample_id is not None else []):
                if len(examples) < self.max_examples and example not in examples:
                    examples.append(example)

    def issues(self) -> list[Issue]:
        """The merged issues, errors first, in the order they were first found."""
        out = []
        for key in self._order:
            first, count, examples = self._issues[key]
            message = first.message
            if count != first.count:
                # The first finding's numbers describe its own shard or batch of rows; the total follows.
                base = message.removesuffix(_listing(first.count, first.examples))
                message = f"{base} (first finding); {count} in all, first samples: {examples}"
            out.append(Issue(first.code, first.severity, first.sample_id, message, first.table, count, tuple(examples)))
        return sorted(out, key=lambda i: SEVERITY_ORDER[i.severity])
