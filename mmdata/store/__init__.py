"""The on-disk dataset: a samples table, one feature table per (modality, extractor), a manifest.

Layout of a dataset directory (every table reads with plain `pyarrow.dataset.dataset(path)`; Arrow IPC
feature tables with `format="ipc"`):

    OUTPUT_DIR/
      mmdata.json                      manifest: corpus, tables, provenance, row counts
      samples/part-00000.parquet       the samples table, sharded by rows
      features/<table>/part-00000.parquet
                                       one feature table per (modality, extractor); shard k holds
                                       exactly the rows of samples shard k, in the same order.
                                       Parquet by default, or Arrow IPC files (`table_format="arrow"`:
                                       part-00000.arrow, memory-mapped, zero-copy reads)
      features/<table>/.moments/part-00000.arrow
                                       pooled tables: per-split moments of each shard (`store.moments`)
      errors/<table>/part-00000.parquet
                                       items that failed, with sample id, file and reason
"""
from mmdata.store.layout import LAYOUT_VERSION, MANIFEST_NAME
from mmdata.store.manifest import Manifest, TableEntry, read_manifest, write_manifest
from mmdata.store.metadata import FeatureSpec, feature_type, read_table_metadata
from mmdata.store.reader import Dataset, open_dataset
from mmdata.store.writer import ERRORS_SCHEMA, FeatureBatchBuilder, write_table_atomic

__all__ = [
    "ERRORS_SCHEMA",
    "LAYOUT_VERSION",
    "MANIFEST_NAME",
    "Dataset",
    "FeatureBatchBuilder",
    "FeatureSpec",
    "Manifest",
    "TableEntry",
    "feature_type",
    "open_dataset",
    "read_manifest",
    "read_table_metadata",
    "write_manifest",
    "write_table_atomic",
]
