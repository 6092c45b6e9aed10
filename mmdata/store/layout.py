"""Names of files and folders inside a dataset directory."""
from __future__ import annotations

from pathlib import Path

LAYOUT_VERSION = 1
MANIFEST_NAME = "mmdata.json"
SAMPLES_DIR = "samples"
FEATURES_DIR = "features"
ERRORS_DIR = "errors"
LOADER_ERRORS_TABLE = "loader"
DEFAULT_SHARD_SIZE = 1000


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def samples_dir(dataset_dir: Path) -> Path:
    return dataset_dir / SAMPLES_DIR


def feature_dir(dataset_dir: Path, table_name: str) -> Path:
    return dataset_dir / FEATURES_DIR / table_name


def errors_dir(dataset_dir: Path, table_name: str) -> Path:
    return dataset_dir / ERRORS_DIR / table_name


def shard_files(table_dir: Path) -> list[Path]:
    """Finished shards of a table, in order (temporary files start with '.' and are skipped)."""
    if not table_dir.is_dir():
        return []
    return sorted(p for p in table_dir.glob("part-*.parquet") if p.is_file())
