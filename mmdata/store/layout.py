"""Names of files and folders inside a dataset directory."""
from __future__ import annotations

from pathlib import Path

from mmdata.errors import ConfigError, DatasetError

LAYOUT_VERSION = 1
MANIFEST_NAME = "mmdata.json"
SAMPLES_DIR = "samples"
FEATURES_DIR = "features"
ERRORS_DIR = "errors"
#: The checksums file `mmdata share` and `mmdata checksum` write beside the manifest.
CHECKSUMS_NAME = "checksums.sha256"
LOADER_ERRORS_TABLE = "loader"
#: The corpus kind of a dataset `mmdata merge` made, and its folder of links to each merged corpus (its corpus
#: root, wherever the dataset lies now: `reader.Dataset` reads it so).
MERGED_KIND = "merged"
MERGED_CORPORA_DIR = "corpora"
DEFAULT_SHARD_SIZE = 1000
#: On-disk formats of a table's shards, by file suffix. The samples and errors tables are Parquet.
#: Feature tables are Parquet by default (every tool reads it; `pyarrow.dataset.dataset(path)` with no
#: format) or Arrow IPC files on request: memory-mapped zero-copy reads, about twice as fast as
#: decoding Parquet (benchmarks/README.md), for dense float vectors that barely compress anyway.
TABLE_FORMATS = {"arrow": ".arrow", "parquet": ".parquet"}
DEFAULT_FEATURE_FORMAT = "parquet"


def shard_name(index: int, table_format: str = "parquet") -> str:
    return f"part-{index:05d}{TABLE_FORMATS[table_format]}"


def shard_format(path: Path) -> str:
    """'arrow' or 'parquet', from a shard file's suffix."""
    for name, suffix in TABLE_FORMATS.items():
        if path.suffix == suffix:
            return name
    raise ValueError(f"{path} is not a table shard (expected one of {sorted(TABLE_FORMATS.values())})")


def samples_dir(dataset_dir: Path) -> Path:
    return dataset_dir / SAMPLES_DIR


def feature_dir(dataset_dir: Path, table_name: str) -> Path:
    """features/<table_name>: a folder directly inside features/ (see `check_table_name`)."""
    return dataset_dir / FEATURES_DIR / check_table_name(table_name)


def errors_dir(dataset_dir: Path, table_name: str) -> Path:
    """errors/<table_name>: a folder directly inside errors/ (see `check_table_name`)."""
    return dataset_dir / ERRORS_DIR / check_table_name(table_name)


def check_table_name(table_name: str) -> str:
    """`table_name` when it names one folder directly inside features/ (or errors/), that readers
    list: not empty, no '/' or '\\', not '.' or '..', not hidden (a leading '.' marks temporary
    folders). Else an extractor named 'x/../../samples' would write over the samples table.

    Raises:
        ConfigError: naming the table and what a table name may not hold.
    """
    if (not isinstance(table_name, str) or not table_name or table_name.startswith(".")
            or any(c in table_name for c in ("/", "\\", "\0"))):
        raise ConfigError(f"table name {table_name!r} is not the name of one folder inside {FEATURES_DIR}/; expected a "
                          "name without '/', '\\', NUL or a leading '.' (e.g. 'image.color-hist'): check the extractor's "
                          "name, modality and table_name")
    return table_name


def shard_files(table_dir: Path) -> list[Path]:
    """Finished shards of a table, in order (temporary files start with '.' and are skipped).

    A table holds shards of one format; a directory holding both (a table re-extracted with another
    `table_format` over an old one) is refused rather than read twice.
    """
    if not table_dir.is_dir():
        return []
    files = sorted((p for p in table_dir.glob("part-*") if p.is_file() and p.suffix in TABLE_FORMATS.values()),
                   key=_shard_order)
    suffixes = {p.suffix for p in files}
    if len(suffixes) > 1:
        raise DatasetError(f"table directory {table_dir} holds shards of two formats ({sorted(suffixes)}); "
                           "remove the table and extract it again with one --table-format")
    return files


def shard_number(path: Path) -> int | None:
    """The number in a name of the shards' form (`part-00012.parquet`, its moments' `part-00012.arrow`: 12),
    else None: `shard_files` orders shards by it, `extract --update` picks the files to replace by it."""
    number = path.stem.removeprefix("part-")
    # ASCII digits only: `isdigit` alone takes '²' or '٣', which `int` refuses or reads as another number
    return int(number) if number.isascii() and number.isdigit() else None


def _shard_order(path: Path) -> tuple[int, str]:
    """Shards by their number, not by name: past part-99999 the number has 6 digits, and by name
    part-100000 would come before part-10001."""
    number = shard_number(path)
    return (number, path.name) if number is not None else (-1, path.name)
