"""Early fusion and trainer-ready exports.

    from torch.utils.data import DataLoader
    from mmdata.fusion import fuse, FusedDataset, collate_fused
    fuse("out/mosi", "out/mosi-fused", tables=("text", "audio", "video"), missing="zero", format="arrow")
    loader = DataLoader(FusedDataset("out/mosi-fused", "train"), batch_size=32, collate_fn=collate_fused)

Modules: `plan` (table selection, validation, shard reader), `normalize` (z-score/L2, pooling), `rows`
(row layout and batches), `sequences` (aligned time axis), `passes` (the two streaming passes),
`formats` (Parquet, Arrow IPC, HF, NumPy sinks), `labels` (auxiliary labels), `classes` (class ids),
`class_targets` (multi-hot targets of multi-label classes), `folds` (splits dealt by fold),
`group_norm` (z-scores per speaker or corpus), `fuse` (the atomic export; `fuse_options`, `fuse_report`),
`normalizer` (an export's normalization applied to new samples), `torch_dataset` (with `export_files`, its
mapped columns), `bucketing` (batches of similar lengths).
"""
from mmdata.fusion.bucketing import LengthBucketSampler
from mmdata.fusion.folds import FoldSplits
from mmdata.fusion.formats import EXPORT_FORMATS, FUSED_METADATA, ExportFormat
from mmdata.fusion.fuse import FuseOptions, FuseReport, MissingPolicy, SequenceMode, fuse
from mmdata.fusion.normalize import Normalization, NormStats, Pooling
from mmdata.fusion.normalizer import ExportNormalizer
from mmdata.fusion.torch_dataset import FusedDataset, collate_fused, read_fused_metadata

__all__ = [
    "EXPORT_FORMATS",
    "FUSED_METADATA",
    "ExportFormat",
    "ExportNormalizer",
    "FoldSplits",
    "FuseOptions",
    "FuseReport",
    "FusedDataset",
    "LengthBucketSampler",
    "MissingPolicy",
    "NormStats",
    "Normalization",
    "Pooling",
    "SequenceMode",
    "collate_fused",
    "fuse",
    "read_fused_metadata",
]
