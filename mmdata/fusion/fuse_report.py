"""What `fuse` wrote: `FuseReport` (rows per split, dims and slices, normalization, missing and dropped counts,
files, labels, classes, targets, groups) and its short repr."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmdata.options import short_repr


@dataclass(repr=False)
class FuseReport:
    """What `fuse` wrote: rows per split, dims, slices, missing and dropped counts."""

    output_dir: Path
    format: str
    dim: int
    tables: list[str]
    slices: dict[str, tuple[int, int]]
    rows: dict[str, int]
    missing: dict[str, int]
    dropped: int
    normalization: dict[str, str]
    files: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    #: The auxiliary label columns written (`FuseOptions.labels`), in order.
    labels: list[str] = field(default_factory=list)
    #: Splits of the samples table of which no row was exported (every sample left out by missing='drop').
    emptied_splits: list[str] = field(default_factory=list)
    #: The file listing the samples missing='drop' left out (`formats.DROPPED_SAMPLES`), when any was.
    dropped_samples: Path | None = None
    #: Kept sequences: pooled table -> samples counted in `missing` whose feature exists but has no
    #: time step to ride on (no sequence table has a row for the sample); empty for pooled rows.
    no_time_step: dict[str, int] = field(default_factory=dict)
    #: One line naming those samples' count, the sequence tables and a sample id; None when there are none.
    no_time_step_warning: str | None = None
    #: The class names (index = class_id) with `FuseOptions.class_label`, and the rows of each class per split
    #: (multi-label, `multi_label`: the rows holding each class, a class_targets column instead of class_id).
    classes: list[str] = field(default_factory=list)
    multi_label: bool = False
    class_counts: dict[str, list[int]] = field(default_factory=dict)
    #: One line naming the classes of a split that the train split(s) lack; None when there are none.
    class_warning: str | None = None
    #: The table exported as the `targets` column (`FuseOptions.targets`) and its dim C; None and 0 without.
    targets: str | None = None
    target_dim: int = 0
    #: The key the z-scored tables were normalized by, per group (`FuseOptions.normalize_by`), and its groups.
    normalize_by: str | None = None
    groups: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def _grouped(self, table: str) -> bool:
        return self.normalize_by is not None and self.normalization.get(table) == "zscore"

    def __repr__(self) -> str:
        rows = ", ".join(f"{split}: {n}" for split, n in self.rows.items())
        lines = [f"output_dir={str(self.output_dir)!r} ({self.format}, {sum(len(f) for f in self.files.values())} files)",
                 f"{self.total_rows} rows ({rows}) x {self.dim} dims",
                 "tables: " + ", ".join(f"{name} [{a}:{b}] {self.normalization.get(name, '')}"
                                        + (f" by {self.normalize_by}" if self._grouped(name) else "")
                                        for name, (a, b) in list(self.slices.items())[:8])
                 + (f", ... {len(self.slices) - 8} more" if len(self.slices) > 8 else "")]
        missing = {name: n for name, n in self.missing.items() if n}
        if missing or self.dropped:
            lines.append(f"missing: {missing}, dropped: {self.dropped}")
        if self.no_time_step_warning:
            lines.append(self.no_time_step_warning)
        if self.emptied_splits:
            lines.append(f"emptied splits: {self.emptied_splits}")
        if self.targets:
            lines.append(f"targets: {self.targets} ({self.target_dim} dims)")
        if self.labels:
            lines.append(f"labels: {self.labels}")
        if self.classes:
            lines.append(f"{len(self.classes)} classes; {'positives' if self.multi_label else 'rows'} per split: "
                         + ", ".join(f"{split}: {sum(counts)}" for split, counts in self.class_counts.items()))
        if self.class_warning:
            lines.append(self.class_warning)
        return short_repr(type(self).__name__, lines)


__all__ = ["FuseReport"]
