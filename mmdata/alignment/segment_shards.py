"""Writing a cut table (`_ShardSink`): output shard k once it holds the rows of samples shard k, with
its errors-table rows, the videos' segments taken in the output's order (`_video_blocks`); and the
table's provenance (`_provenance`), which keeps what `export-csd` writes a `.csd` table back with.
"""
from __future__ import annotations

from typing import Any

import pyarrow as pa

from mmdata.alignment.core import EPSILON
from mmdata.alignment.dataset import config_fingerprint
from mmdata.alignment.segment_cut import _Failed
from mmdata.features.base import library_versions
from mmdata.formats.csd import split_key
from mmdata.store import layout
from mmdata.store.reader import Dataset
from mmdata.store.tables import shard_path
from mmdata.store.writer import FeatureBatchBuilder, errors_table, write_table_atomic


def _video_blocks(order: list[str]) -> list[tuple[str, list[str]]]:
    blocks: list[tuple[str, list[str]]] = []
    for sample_id in order:
        video = split_key(sample_id)[0]
        if not blocks or blocks[-1][0] != video:
            blocks.append((video, []))
        blocks[-1][1].append(sample_id)
    return blocks


class _ShardSink:
    """Rows of one output table, written as shard k once it holds the rows of samples shard k."""

    def __init__(self, out: Dataset, name: str, provenance: dict[str, Any], columns: dict[str, pa.DataType]):
        self.out, self.name, self.provenance, self.columns = out, name, provenance, columns
        self.sizes = list(out.manifest.samples["shards"])  # rows of each samples shard
        self.index = self.written = self.empty = self.overrun = self.bad_times = 0
        self._start()

    def _start(self) -> None:
        self.builder = FeatureBatchBuilder(self.out.spec(self.name), self.provenance)
        self.values: dict[str, list[Any]] = {c: [] for c in self.columns}
        self.errors: list[dict[str, Any]] = []

    def add(self, sample_id: str, cut: Any) -> None:
        """One segment's rows (features, intervals, {column: values}), or its failure."""
        if isinstance(cut, _Failed):
            self.builder.add(sample_id, None)
            self.errors.append({"table": self.name, "sample_id": sample_id, "path": cut.path, "stage": "segment",
                                "error_type": cut.error_type, "reason": cut.reason})
            self.empty += cut.kind == "empty"
            self.overrun += cut.kind == "overrun"
            self.bad_times += cut.kind == "times"
        else:
            features, intervals, _ = cut
            self.builder.add(sample_id, features, intervals)
        for c in self.columns:
            self.values[c].append(None if isinstance(cut, _Failed) else cut[2][c])
        if len(self.builder) == self.sizes[self.index]:
            self._write()

    def close(self) -> None:
        while self.index < len(self.sizes):  # an empty samples table still has one (empty) shard
            self._write()

    def _write(self) -> None:
        table = self.builder.build()
        for c, arrow_type in self.columns.items():
            table = table.append_column(pa.field(c, arrow_type), pa.array(self.values[c], arrow_type))
        if self.errors:
            write_table_atomic(errors_table(self.errors), layout.errors_dir(self.out.root, self.name) / layout.shard_name(self.index))
        write_table_atomic(table, shard_path(self.out, self.name, self.index))
        self.index += 1
        self.written += 1
        self._start()


#: Config keys of a table read from a `.csd` (`extract csd`) that `export-csd` writes it back with: its
#: file name, root name, metadata and feature shape (copied, so that a cut table keeps them).
CSD_IDENTITY_KEYS = ("file", "root_name", "metadata", "feature_shape")


def _provenance(source: Dataset, out: Dataset, name: str, spec: Any) -> dict[str, Any]:
    entry = source.entry(name)
    extra = out.manifest.extra["segment"]
    config = {"table": name, "labels": extra["labels"]["file"], "epsilon": EPSILON,
              "source": {"extractor": entry.extractor, "source": entry.source, "rows": entry.rows,
                         "config": config_fingerprint(entry.config), "samples": source.manifest.samples["fingerprint"]}}
    if "root_name" in entry.config:
        config.update({key: entry.config[key] for key in CSD_IDENTITY_KEYS if key in entry.config})
    return {"table": name, "modality": entry.modality, "extractor": "segment", "config": config,
            "spec": spec.to_json(), "versions": library_versions(("mmdata", "numpy", "pyarrow")),
            "samples_fingerprint": out.manifest.samples["fingerprint"]}
