"""Reading a dataset directory: the samples table, feature tables and errors, via pyarrow.dataset."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from mmdata.errors import CorpusNotFoundError, DatasetError, UnknownNameError
from mmdata.store.layout import ERRORS_DIR, MANIFEST_NAME, shard_files
from mmdata.store.layout import samples_dir as layout_samples_dir
from mmdata.store.manifest import Manifest, TableEntry, read_manifest
from mmdata.store.metadata import FeatureSpec, decode_metadata
from mmdata.store.shards import RESTORE_SAMPLES, read_shard, repair_hint, shards_dataset


@dataclass
class Dataset:
    """A dataset directory opened for reading.

    Example:
        >>> data = open_dataset("out/coco")
        >>> data.table("image.color-hist").to_table().num_rows
    """

    root: Path
    manifest: Manifest

    @property
    def table_names(self) -> list[str]:
        return sorted(self.manifest.tables)

    def samples(self) -> ds.Dataset:
        files = shard_files(self.samples_dir)
        if not files:  # `mmdata extract` writes the samples once: running it again does not help
            raise DatasetError(
                f"samples table {self.samples_dir} has no finished shards, while {MANIFEST_NAME} lists "
                f"{self.manifest.samples['rows']} samples; the folder was deleted or copied incompletely: "
                f"{RESTORE_SAMPLES}")
        return _shards_dataset(files)

    @property
    def samples_dir(self) -> Path:
        """Where the samples table's shards are (`layout.samples_dir`, as every writer and reader of
        the dataset has it; the manifest's `samples.path` records the same folder)."""
        return layout_samples_dir(self.root)

    def samples_table(self, columns: list[str] | None = None) -> pa.Table:
        with self.reading():
            return self.samples().to_table(columns=columns)

    def entry(self, name: str) -> TableEntry:
        try:
            return self.manifest.tables[name]
        except KeyError:
            raise UnknownNameError(
                f"dataset {self.root} has no table {name!r}; tables: {self.table_names}"
            ) from None

    def spec(self, name: str) -> FeatureSpec:
        return FeatureSpec.from_json(self.entry(name).spec)

    def table_dir(self, name: str) -> Path:
        return self.root / self.entry(name).path

    def table_files(self, name: str) -> list[Path]:
        """Table `name`'s finished shard files, in order.

        Raises:
            DatasetError: there are none, while the manifest lists the table.
        """
        folder = self.table_dir(name)
        files = shard_files(folder)
        if not files:
            raise DatasetError(f"table {name!r}: {folder} has no finished shards, while {MANIFEST_NAME} lists the "
                               f"table; {repair_hint(folder / 'part')}")
        return files

    def table(self, name: str) -> ds.Dataset:
        return _shards_dataset(self.table_files(name))

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """Feature table `name` read whole (only `columns` when given)."""
        with self.reading(name):
            return self.table(name).to_table(columns=columns)

    def reading(self, name: str | None = None) -> contextlib.AbstractContextManager[None]:
        """A block that reads table `name` (the samples table when None) through `table` or `samples`:
        an Arrow error in it becomes the ShardReadError of the shard that cannot be read."""
        return naming_unreadable_shard(shard_files(self.samples_dir if name is None else self.table_dir(name)))

    def table_metadata(self, name: str) -> dict:
        return decode_metadata(self.table(name).schema)

    def errors(self) -> pa.Table:
        """All recorded failures (loader and every table), possibly empty."""
        from mmdata.store.writer import ERRORS_SCHEMA

        files = sorted((self.root / ERRORS_DIR).glob("*/part-*.parquet"))
        if not files:
            return ERRORS_SCHEMA.empty_table()
        with naming_unreadable_shard(files):
            return ds.dataset([str(f) for f in files], format="parquet", schema=ERRORS_SCHEMA).to_table()


def open_dataset(path: str | Path) -> Dataset:
    """Open a dataset directory written by `mmdata extract`.

    Raises:
        CorpusNotFoundError: the directory does not exist.
        DatasetError: it is not an mmdata dataset or has an unknown layout version.
    """
    root = Path(path)
    if not root.is_dir():
        raise CorpusNotFoundError(f"dataset directory not found: {root}")
    return Dataset(root=root, manifest=read_manifest(root))


def _shards_dataset(files: list[Path]) -> ds.Dataset:
    with naming_unreadable_shard(files):  # pyarrow reads the first shard's schema here
        return shards_dataset(files)


@contextlib.contextmanager
def naming_unreadable_shard(files: Sequence[Path]) -> Iterator[None]:
    """pyarrow.dataset's error while reading the shard `files` of a table (it names no file when the
    first shard is bad, and no fix) as the ShardReadError of the first one that cannot be read; any
    other error goes on as it is."""
    try:
        yield
    except (pa.ArrowException, OSError):
        for shard in files:
            read_shard(shard)  # raises the ShardReadError naming the shard and the fix
        raise
