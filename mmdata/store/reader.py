"""Reading a dataset directory: the samples table, feature tables and errors, via pyarrow.dataset."""
from __future__ import annotations

import contextlib
import glob
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from mmdata.errors import CorpusNotFoundError, DatasetError, UnknownNameError
from mmdata.store.layout import ERRORS_DIR, MANIFEST_NAME, shard_files
from mmdata.store.layout import samples_dir as layout_samples_dir
from mmdata.store.manifest import Manifest, TableEntry, read_manifest
from mmdata.store.metadata import FeatureSpec, decode_metadata
from mmdata.store.shards import RESTORE_SAMPLES, read_shard, repair_hint, shards_dataset
from mmdata.store.writer import staging_folders

log = logging.getLogger(__name__)


@dataclass
class Dataset:
    """A dataset directory opened for reading.

    A complete feature table is row-aligned with the samples table: row i of both is one sample. So a
    feature table takes the samples' columns as they are (pyarrow's `join` cannot carry the list-typed
    `feature` column):

        >>> import pyarrow.compute as pc
        >>> data = open_dataset("out/coco")
        >>> data.table("image.color-hist").to_table().num_rows
        >>> samples = data.samples_table(["split", "label"])
        >>> features = data.read_table("image.color-hist").append_column("split", samples["split"])
        >>> train = features.filter(pc.equal(features["split"], "train"))
        >>> for batch in data.table("image.color-hist").to_batches(batch_size=1024): ...   # a batch at a time

    A table the manifest marks incomplete (an extraction writing it now, or one that was interrupted)
    has rows for the samples of its finished shards only: reading it logs a warning saying so.
    """

    root: Path
    manifest: Manifest
    _warned_incomplete: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

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
        """Table `name`'s finished shard files, in order (of a table the manifest marks incomplete: the
        shards written so far, with a warning logged once).

        Raises:
            DatasetError: there are none, while the manifest lists the table.
        """
        folder = self.table_dir(name)
        files = shard_files(folder)
        complete = self.entry(name).complete
        if not files and not complete:
            written = sorted(p.name for p in folder.glob(".part-*")) if folder.is_dir() else []
            progress = f" ({written[0]} in {folder} is a shard being written)" if written else ""
            raise DatasetError(
                f"table {name!r} has no finished shard yet: {MANIFEST_NAME} marks it incomplete, so the `mmdata "
                f"extract` or `mmdata align` that writes it is running now or was interrupted{progress}; read it "
                "when that run has finished, or run the command that wrote the table again to finish it")
        if not files:
            raise DatasetError(f"table {name!r}: {folder} has no finished shards, while {MANIFEST_NAME} lists the "
                               f"table; {repair_hint(folder / 'part')}")
        if not complete and name not in self._warned_incomplete:
            self._warned_incomplete.add(name)
            log.warning("table %r is incomplete: %s marks it so (the `mmdata extract` or `mmdata align` that writes "
                        "it is running now or was interrupted); reading the %d of its %d shards that are finished, "
                        "without the rows of the other samples; run the command that wrote the table again to "
                        "finish it", name, MANIFEST_NAME, len(files), len(self.manifest.samples.get("shards") or ()))
        return files

    def table(self, name: str) -> ds.Dataset:
        """Feature table `name` as a pyarrow dataset over its finished shards (nothing is read yet)."""
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
        DatasetError: it is not an mmdata dataset (the message says what it is where it can tell: a
            file, a fused export, a folder of datasets, one whose first extract is still running) or
            has an unknown layout version.
    """
    root = Path(path)
    if not root.exists():
        # `mmdata segment` writes a new dataset into `.<name>.tmp-<pid>` beside it, `mmdata share` into
        # `.<name>.partial-XXXXXXXX` (moving one it replaces to `.<name>.replaced`), and renames the folder when done.
        hidden = glob.escape(f".{root.name}")
        staged = [*staging_folders(root), *sorted(root.parent.glob(f"{hidden}.partial-*")),
                  *sorted(root.parent.glob(f"{hidden}.partial")), *sorted(root.parent.glob(f"{hidden}.replaced"))]
        progress = f"; a command is writing it now into {staged[0]} (or was killed there)" if staged else ""
        raise CorpusNotFoundError(f"dataset directory not found: {root}{progress}")
    if not root.is_dir():
        inside = f"; open its directory, {root.parent}" if root.name == MANIFEST_NAME else ""
        raise DatasetError(f"{root} is a file, not an mmdata dataset directory{inside}")
    if not (root / MANIFEST_NAME).is_file():
        _explain_missing_manifest(root)
    return Dataset(root=root, manifest=read_manifest(root))


def _explain_missing_manifest(root: Path) -> None:
    """Raise the DatasetError saying what `root`, a directory without a manifest, is instead, where it
    can tell (`read_manifest`'s error says the rest)."""
    from mmdata.fusion.formats import FUSED_METADATA

    if (root / FUSED_METADATA).is_file():
        raise DatasetError(f"{root} is not an mmdata dataset but a fused export (it holds {FUSED_METADATA}, not "
                           f"{MANIFEST_NAME}): read it with `mmdata.fusion.FusedDataset`, pyarrow or `datasets`")
    samples = layout_samples_dir(root)
    if any(samples.glob("part-*.parquet")) or any(samples.glob(".part-*")):
        raise DatasetError(f"{root} is not an mmdata dataset yet: it holds a samples table but no {MANIFEST_NAME}, "
                           "which `mmdata extract` writes right after it; the extract is running now (open the "
                           "dataset when it has finished) or was interrupted (run it again)")
    inside = sorted(p.name for p in root.iterdir() if (p / MANIFEST_NAME).is_file())
    if inside:
        raise DatasetError(f"{root} is not an mmdata dataset: no {MANIFEST_NAME} found; it holds the datasets "
                           f"{inside}: open one of them")


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
