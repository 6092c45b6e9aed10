"""mmdata: multimodal corpora to aligned, validated, self-describing Arrow feature tables.

    import mmdata
    from torch.utils.data import DataLoader

    if __name__ == "__main__":                          # decode workers start from a fork server
        mmdata.extract("coco", "/data/coco", "out/coco-val", split="val2017")
        data = mmdata.open_dataset("out/coco-val")      # its repr lists the splits and tables
        ids, x = data.to_numpy("image.color-hist", split="val2017")
        report = mmdata.check_dataset("out/coco-val")   # report.ok, report.errors
        mmdata.fuse("out/coco-val", "out/coco-fused", stats_splits=("val2017",), format="arrow")
        fused = mmdata.FusedDataset("out/coco-fused", "val2017")
        loader = DataLoader(fused, batch_size=64, shuffle=True, num_workers=2, collate_fn=mmdata.collate_fused)

Every failure a user can fix raises a subclass of `mmdata.MmdataError` (all of them are here too).
The names above are imported when first used, so `import mmdata` stays light (and comes before
pyarrow's import, which reads the memory pool chosen here).
"""
from __future__ import annotations

import importlib
from typing import Any

from mmdata.environment import prefer_jemalloc_arrow_pool

prefer_jemalloc_arrow_pool()  # before anything imports pyarrow

__version__ = "0.5.11"

#: Public names and the module that defines each.
_EXPORTS = {
    # extract, read, describe, check
    "extract": "mmdata.pipeline",
    "extract_recipe": "mmdata.recipe",
    "open_dataset": "mmdata.store.reader",
    "Dataset": "mmdata.store.reader",
    "describe_dataset": "mmdata.info",
    "check_dataset": "mmdata.checks.dataset",
    "CheckOptions": "mmdata.checks.dataset",
    "Issue": "mmdata.checks.issues",
    # align and segment temporal tables
    "align_dataset": "mmdata.alignment.dataset",
    "segment_dataset": "mmdata.alignment.segment",
    # merge datasets made with the same extractors
    "merge_datasets": "mmdata.merge.dataset",
    "MergeReport": "mmdata.merge.dataset",
    # fuse, and read a fused export for training
    "fuse": "mmdata.fusion.fuse",
    "FuseOptions": "mmdata.fusion.fuse_options",
    "FoldSplits": "mmdata.fusion.folds",
    "FusedDataset": "mmdata.fusion.torch_dataset",
    "collate_fused": "mmdata.fusion.torch_dataset",
    "read_fused_metadata": "mmdata.fusion.torch_dataset",
    "ExportNormalizer": "mmdata.fusion.normalizer",
    # share, report, export
    "share_dataset": "mmdata.share.export",
    "verify_checksums": "mmdata.share.checksums",
    "write_report": "mmdata.report.html",
    "export_csd": "mmdata.formats.csd_export",
    "sample_corpus_dir": "mmdata.sample_data",
    # errors
    **{name: "mmdata.errors" for name in (
        "MmdataError", "CorpusNotFoundError", "CorpusFormatError", "MediaError", "SchemaMismatchError",
        "UnknownNameError", "UnknownExtractorError", "UnknownCorpusError", "MissingWeightsError", "DatasetError",
        "DatasetNotFoundError", "ChecksFailedError", "DatasetBusyError", "ShardReadError", "ConfigError",
        "ArgumentTypeError", "ExtractionError", "WorkersCannotStartError")},
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mmdata' has no attribute {name!r}{_closest_name(name)}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def _closest_name(name: str) -> str:
    """"; did you mean 'check_dataset'?" for `mmdata.check`: the public name a mistyped or shortened
    one stands for, or "" when none is close (or for a dunder name, which tools probe for)."""
    import difflib

    if name.startswith("_"):
        return ""
    close = difflib.get_close_matches(name, list(_EXPORTS), n=1, cutoff=0.6)
    if not close:
        close = [n for n in _EXPORTS if n.lower().startswith(name.lower())][:1] if len(name) >= 3 else []
    return f"; did you mean {close[0]!r}?" if close else ""


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
