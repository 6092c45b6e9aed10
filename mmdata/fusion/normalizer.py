"""The normalization an export was made with, applied to the features of new samples.

A model trained on a fused export expects its inputs normalized as the export's rows were: the train split's
z-score statistics (or each speaker's, `fuse --normalize-by`), L2, or none, per table, concatenated in the
export's order. `ExportNormalizer` reads them back from the export (`fused.json`, and
`normalization_groups.parquet` for per-group statistics) and applies them with the same arithmetic `fuse` used:

    normalizer = ExportNormalizer.from_export("out/iemocap-fused")
    x = normalizer({"audio": egemaps_rows, "text": minilm_rows}, groups="Ses01F")   # (n, D) float32

Keys are the export's table names or modalities; each value is one vector (D_t,) or rows (n, D_t) (a kept
sequence's time steps are rows too: padding to `max_length` and repeating a pooled table at each step are the
caller's). A sequence table the export pooled is given pooled, as `fuse --pool` did (`pooled` names them and the
pooling). Features of a table fused with `--missing zero` may be left out: they are zeros there, as in the export.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion.formats import GROUP_STATS_FILE
from mmdata.fusion.group_norm import GroupStats
from mmdata.fusion.normalize import NormStats, apply_normalization
from mmdata.options import did_you_mean, path_argument


@dataclass
class ExportNormalizer:
    """Each fused table's slice and normalization, in the export's order; per-group statistics where it has them."""

    tables: list[str]
    modalities: list[str]
    slices: dict[str, tuple[int, int]]
    stats: dict[str, NormStats]
    #: `fuse --normalize-by`: the key, the groups (in the statistics' order) and each grouped table's statistics.
    group_key: str | None = None
    group_names: list[str] = field(default_factory=list)
    group_stats: dict[str, GroupStats] = field(default_factory=dict)
    #: The export filled a missing table with zeros (`--missing zero`): its features may be left out.
    zero_fill: bool = False
    source: str = ""
    #: Sequence tables the export pooled to one vector per sample, and how (fused.json's `sequences.pool`): give
    #: their pooled vectors (the export's rows are of pooled vectors; a sequence's frames are no rows of it).
    pooled: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_export(cls, export_dir: str | Path) -> ExportNormalizer:
        """Read an export's normalization (any export `fuse` wrote: its fused.json, and the groups' file).

        Raises:
            DatasetError: no fused export there, or its per-group statistics file is missing."""
        from mmdata.fusion.torch_dataset import read_fused_metadata

        export_dir = path_argument(export_dir, argument="export_dir", what="a fused export's folder (str or Path)")
        meta = read_fused_metadata(export_dir)
        normalization = meta.get("normalization") or {}
        entries = normalization.get("tables") or {}
        tables = list(meta["tables"])
        stats = {name: NormStats.from_json(entries[name]) if "by" not in entries.get(name, {})
                 else NormStats("none") for name in tables}
        out = cls(tables, list(meta.get("modalities") or [""] * len(tables)),
                  {name: (int(a), int(b)) for name, (a, b) in meta["slices"].items() if name in tables}, stats,
                  zero_fill=(meta.get("missing") or {}).get("policy") == "zero", source=str(export_dir))
        if meta.get("rows_kind") == "pooled":
            pool = str((meta.get("sequences") or {}).get("pool") or "mean")
            specs = {name: (entry.get("spec") or {}) for name, entry in ((meta.get("source") or {}).get("tables")
                                                                         or {}).items()}
            out.pooled = {name: pool for name in tables if specs.get(name, {}).get("kind") == "sequence"}
        by = normalization.get("by")
        if by:
            out._read_groups(export_dir / str(by.get("file") or GROUP_STATS_FILE), str(by["key"]),
                             [name for name in tables if "by" in entries.get(name, {})])
        return out

    def _read_groups(self, path: Path, key: str, grouped: list[str]) -> None:
        if not path.is_file():
            raise DatasetError(f"{self.source}: fused.json says its tables were z-scored per {key}, and {path.name}, "
                               "which holds those statistics, is not there; fuse the dataset again")
        table = pq.read_table(path).to_pydict()
        self.group_key = key
        for name in grouped:
            rows = [i for i, t in enumerate(table["table"]) if t == name]
            if not self.group_names:
                self.group_names = [table["group"][i] for i in rows]
            self.group_stats[name] = GroupStats(np.array([table["mean"][i] for i in rows], np.float64),
                                                np.array([table["std"][i] for i in rows], np.float64),
                                                np.array([table["count"][i] for i in rows], np.int64))

    @property
    def dim(self) -> int:
        """The fused feature's dim D."""
        return max((stop for _, stop in self.slices.values()), default=0)

    def __call__(self, features: Mapping[str, Any], groups: str | Sequence[str] | None = None) -> np.ndarray:
        """The fused, normalized features of new samples: (n, D) float32, or (D,) for one vector per table.

        Args:
            features: {table name or modality: (D_t,) or (n, D_t) array}, every table of the export (a table
                the export zero-filled may be left out: zeros).
            groups: with per-group statistics, each row's group (one for every row, or n of them).

        Raises:
            ConfigError: a key no table or modality of the export has, a table given twice or left out, rows of
                another dim or count, NaN/Inf, a group missing or one the statistics do not hold."""
        given = {name: self._array(name, values) for name, values in self._by_table(features).items()}
        single = all(v.ndim == 1 for v in given.values())
        rows = {name: np.atleast_2d(values) for name, values in given.items()}
        counts = {len(r) for r in rows.values()}
        if len(counts) > 1:
            raise ConfigError(f"the features hold different numbers of rows: "
                              f"{ {name: len(r) for name, r in rows.items()} }; give each table the same samples")
        n = counts.pop() if counts else 1
        if groups is not None and not self.group_stats:
            raise ConfigError(f"groups given, and {self.source} was not normalized per group: leave groups out")
        grouped = [name for name in rows if name in self.group_stats]
        codes = self._codes(groups, n) if grouped else None
        out = np.zeros((n, self.dim), np.float32)
        for name in self.tables:
            if name not in rows:
                continue
            start, stop = self.slices[name]
            values = rows[name]
            if values.ndim != 2 or values.shape[1] != stop - start:
                raise ConfigError(f"table {name!r}: expected vectors of dim {stop - start}, got shape "
                                  f"{np.shape(given[name])}")
            if not np.isfinite(values).all():
                row = int(np.argmax(~np.isfinite(values).all(axis=1)))
                raise ConfigError(f"table {name!r}: row {row} holds NaN or Inf (or a value beyond float32); fuse "
                                  "exported no such value (it stopped, or left the feature out as missing)")
            if name in self.group_stats:
                stats = self.group_stats[name]
                empty = stats.count[codes] == 0
                if empty.any():
                    group = self.group_names[int(codes[np.argmax(empty)])]
                    raise ConfigError(f"{self.group_key} {group!r} has no statistics for table {name!r}: none of its "
                                      f"samples had that feature when {self.source} was fused")
                out[:, start:stop] = stats.normalized(values, codes)
            else:
                out[:, start:stop] = apply_normalization(values, self.stats[name])
        return out[0] if single else out

    def _array(self, name: str, values: Any) -> np.ndarray:
        """A table's values as a float32 vector (D_t,) or rows (n, D_t)."""
        try:
            rows = np.asarray(values, np.float32)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"table {name!r}: expected a vector or (n, dim) rows of numbers, got "
                              f"{type(values).__name__} ({e})") from None
        if rows.ndim not in (1, 2):
            raise ConfigError(f"table {name!r}: expected a vector or (n, dim) rows, got shape {rows.shape}")
        return rows

    def _by_table(self, features: Mapping[str, Any]) -> dict[str, Any]:
        """{table name: values}, keys given as table names or modalities."""
        if not isinstance(features, Mapping):
            raise ConfigError(f"features: expected a mapping of table name or modality to vectors, got "
                              f"{type(features).__name__}")
        out: dict[str, Any] = {}
        for key, values in features.items():
            name = key if key in self.tables else next(
                (t for t, m in zip(self.tables, self.modalities) if m == key), None)
            if name is None:
                known = [*self.tables, *self.modalities]
                raise ConfigError(f"features: {key!r} is no table or modality of {self.source}{did_you_mean(key, known)}"
                                  f"; its tables: {self.tables}")
            if name in out:
                raise ConfigError(f"features: table {name!r} is given twice (as {key!r} too)")
            out[name] = values
        if not out:
            raise ConfigError(f"features: none given; {self.source} fuses {self.tables}")
        lacking = [name for name in self.tables if name not in out]
        if lacking and not self.zero_fill:
            raise ConfigError(f"features: no values for table(s) {lacking}; {self.source} fuses {self.tables} and was "
                              "fused with --missing error or drop, so every row has every table")
        return out

    def _codes(self, groups: str | Sequence[str] | None, n: int) -> np.ndarray:
        """Each row's group as an index into the statistics."""
        if groups is None:
            raise ConfigError(f"{self.source} was z-scored per {self.group_key}: give each row's {self.group_key} "
                              "(groups=...)")
        if isinstance(groups, str):
            names = [groups] * n
        elif isinstance(groups, Sequence) or isinstance(groups, np.ndarray):
            names = [str(g) for g in groups]
        else:
            raise ConfigError(f"groups={groups!r}: expected one {self.group_key} (a string) or one for each row")
        if len(names) != n:
            raise ConfigError(f"groups: {len(names)} given for {n} rows")
        index = {name: i for i, name in enumerate(self.group_names)}
        unknown = [name for name in dict.fromkeys(names) if name not in index]
        if unknown:
            raise ConfigError(f"{self.group_key} {unknown[0]!r}: the statistics of {self.source} hold no such group "
                              f"({len(self.group_names)} groups{did_you_mean(unknown[0], self.group_names)}); a "
                              "group's statistics come from its samples in the fused dataset")
        return np.array([index[name] for name in names], np.int64)


__all__ = ["ExportNormalizer"]
