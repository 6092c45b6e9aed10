"""Sharing a dataset: a Hub-ready folder with a dataset card, and SHA-256 checksums to verify any copy.

    from mmdata.share import share_dataset, verify_checksums
    share_dataset("out/coco-val", "out/coco-val-hf", media="embed")
    verify_checksums("out/coco-val-hf").ok

Modules: `export` (share_dataset), `card` (README.md), `card_loading` (the card's `## Loading` code),
`hf` (`datasets` features and split names), `media` (embedding image/audio files), `rows` (a table's
rows read shard by shard), `row_groups` (the files' row groups and page index, for streaming readers),
`redact` and `redact_tables` (no absolute path of this machine published), `publish` (the output folder),
`source_lock` (no writer while a dataset is shared), `failed` (the card's errors tables), `checksums`
(checksums.sha256), `checks` (the checks' verdict).
"""
from mmdata.share.checks import ChecksFailedError, require_passing, run_checks
from mmdata.share.checksums import CHECKSUMS_NAME, VerifyReport, compute_checksums, verify_checksums, write_checksums
from mmdata.share.export import MediaMode, ShareReport, share_dataset

__all__ = [
    "CHECKSUMS_NAME",
    "ChecksFailedError",
    "MediaMode",
    "ShareReport",
    "VerifyReport",
    "compute_checksums",
    "require_passing",
    "run_checks",
    "share_dataset",
    "verify_checksums",
    "write_checksums",
]
