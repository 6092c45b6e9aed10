"""Reading a dataset directory: the samples table, feature tables and errors, via pyarrow.dataset."""
from __future__ import annotations

import contextlib
import glob
import html
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from mmdata.entry_arguments import check_split_name
from mmdata.errors import ArgumentTypeError, DatasetError, DatasetNotFoundError, SchemaMismatchError, UnknownNameError
from mmdata.options import dataset_path
from mmdata.store.grown_samples import SamplesGrowth, rows_in_finished_shards, update_left_reason
from mmdata.store.arrays import fixed_rows, sequence_rows, single_chunk
from mmdata.store.layout import ERRORS_DIR, MANIFEST_NAME, MERGED_CORPORA_DIR, MERGED_KIND, shard_files
from mmdata.store.layout import samples_dir as layout_samples_dir
from mmdata.store.manifest import Manifest, TableEntry, read_manifest
from mmdata.store.metadata import FeatureSpec, decode_metadata, shown_dim, shown_kind
from mmdata.store.shards import RESTORE_SAMPLES, read_shard, repair_hint, shards_dataset
from mmdata.store.writer import staging_folders

log = logging.getLogger(__name__)


@dataclass
class Dataset:
    """A dataset directory opened for reading.

        >>> data = open_dataset("out/coco")
        >>> data                                          # splits, and each table's dim, kind, rows
        >>> "image.color-hist" in data                    # a table of that name?
        >>> ids, x = data.to_numpy("image.color-hist", split="val2017")           # (n,), (n, dim)
        >>> ids, offsets, values, intervals = data.read_sequences("text.minilm.caption")  # minilm:level=caption
        >>> values[offsets[0]:offsets[1]]                 # sample 0's rows: here one vector per caption
        >>> data.read_table("image.color-hist", split="val2017")  # a pyarrow Table; data[name]: all rows
        >>> for batch in data.table("image.color-hist").to_batches(batch_size=1024): ...   # a batch at a time

    A complete feature table is row-aligned with the samples table: row i of both is one sample. So a
    feature table takes the samples' columns as they are (pyarrow's `join` cannot carry the list-typed
    `feature` column): `data.read_table(name).append_column("label", data.samples_table(["label"])["label"])`.

    A sample whose extraction failed has a null feature (its reason is in `errors()`): `read_table` keeps
    that row, `to_numpy` and `read_sequences` leave it out (their ids name exactly the rows they return).
    A Dataset is not iterable (rows or tables? say which: `table_names`, or `table(name).to_batches()`).

    A table the manifest marks incomplete (an extraction writing it now, or one that was interrupted,
    or one that lacks the samples an `mmdata extract --update` added) has rows for the samples of its
    finished shards only: reading it logs a warning saying so, and which command completes it.
    """

    root: Path
    manifest: Manifest
    _warned_incomplete: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    #: How an `extract --update` grew the samples table, once worked out (`grown_samples.dataset_growth`,
    #: which every reader of an incomplete table asks): keyed by how it was told (None is a value).
    _samples_growth: dict[str, SamplesGrowth | None] = field(default_factory=dict, init=False, repr=False,
                                                             compare=False)

    def __post_init__(self) -> None:
        if self.manifest.corpus.get("kind") == MERGED_KIND:  # its links move with the folder: the root is here now
            self.manifest.corpus["root"] = str(Path(self.root).resolve() / MERGED_CORPORA_DIR)

    @property
    def table_names(self) -> list[str]:
        """The feature tables' names (`modality.extractor`, `<table>@<reference>` when aligned), sorted."""
        return sorted(self.manifest.tables)

    def samples(self) -> ds.Dataset:
        """The samples table as a pyarrow dataset over its shards (nothing is read yet; `samples_table`
        reads it)."""
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

    def samples_table(self, columns: str | Sequence[str] | None = None) -> pa.Table:
        """The samples table (only `columns` when given: a name or a list of names).

        Raises:
            UnknownNameError: a column the samples table does not have (the message lists those it has).
        """
        with self.reading():
            samples = self.samples()
            return samples.to_table(columns=_column_names(columns, samples.schema, f"the samples table of {self.root}"))

    def entry(self, name: str) -> TableEntry:
        """What the manifest records of table `name`: folder, format, extractor, config, spec, rows, errors.

        Raises:
            UnknownNameError: no table of that name (the message lists the tables).
            ArgumentTypeError: `name` is not a str (a list, None, an index).
        """
        if not isinstance(name, str):
            raise ArgumentTypeError(f"a table name is one string, got {type(name).__name__} {name!r}: read one table "
                                    f"per call; tables: {self.table_names}")
        try:
            return self.manifest.tables[name]
        except KeyError:
            is_split = (f"; {name!r} is a split: read its rows of a table with read_table(table, split={name!r})"
                        if name in self.split_counts else "")
            raise UnknownNameError(
                f"dataset {self.root} has no table {name!r}; tables: {self.table_names}{is_split}"
            ) from None

    @property
    def split_counts(self) -> dict[str, int]:
        """Samples per split, as the manifest records them."""
        return dict(self.manifest.samples.get("splits") or {})

    def __contains__(self, name: object) -> bool:
        """`"image.color-hist" in data`: whether the dataset has a feature table of that name."""
        return isinstance(name, str) and name in self.manifest.tables

    def __getitem__(self, name: str) -> pa.Table:
        """`data["image.color-hist"]` is `data.read_table("image.color-hist")`: the whole table."""
        return self.read_table(name)

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a Dataset is not iterable: its tables are `table_names`; read rows with "
                        "`read_table(name)` or `table(name).to_batches()`")

    def spec(self, name: str) -> FeatureSpec:
        """Table `name`'s declared feature spec: dim, dtype, kind (pooled or sequence), frame rate."""
        return FeatureSpec.from_json(self.entry(name).spec)

    def table_dir(self, name: str) -> Path:
        """The folder of table `name`'s shards."""
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
            raise DatasetError(update_left_reason(self, name) or (
                f"table {name!r} has no finished shard yet: {MANIFEST_NAME} marks it incomplete, so the `mmdata "
                f"extract` or `mmdata align` that writes it is running now or was interrupted{progress}; read it "
                "when that run has finished, or run the command that wrote the table again to finish it"))
        if not files:
            raise DatasetError(f"table {name!r}: {folder} has no finished shards, while {MANIFEST_NAME} lists the "
                               f"table; {repair_hint(folder / 'part')}")
        if not complete and name not in self._warned_incomplete:
            self._warned_incomplete.add(name)
            self._warn_incomplete(name, len(files))
        return files

    def _warn_incomplete(self, name: str, finished: int) -> None:
        """The warning of reading table `name`, which the manifest marks incomplete, from its `finished`
        shards: why it lacks rows (`grown_samples.update_left_reason`: samples an `extract --update`
        added, or an update unfinished; else a run writing it now or interrupted) and how it is completed."""
        shards = len(self.manifest.samples.get("shards") or ())
        reason = update_left_reason(self, name)
        if reason is not None:
            log.warning("%s; reading the %d of its %d shards that are finished, without the rows of the other "
                        "samples", reason, finished, shards)
            return
        log.warning("table %r is incomplete: %s marks it so (the `mmdata extract` or `mmdata align` that writes "
                    "it is running now or was interrupted); reading the %d of its %d shards that are finished, "
                    "without the rows of the other samples; run the command that wrote the table again to "
                    "finish it", name, MANIFEST_NAME, finished, shards)

    def table(self, name: str) -> ds.Dataset:
        """Feature table `name` as a pyarrow dataset over its finished shards (nothing is read yet)."""
        return _shards_dataset(self.table_files(name))

    def read_table(self, name: str, columns: str | Sequence[str] | None = None, *,
                   split: str | None = None) -> pa.Table:
        """Feature table `name` read whole: only `columns` when given (a name or a list of names), only the
        rows of the samples of `split` when given, in the table's order (the samples' order, for a table
        that `mmdata check` passes). A failed sample's row is there, with a null feature.

        Raises:
            UnknownNameError: no table, column or split of that name (the message lists those there are).
        """
        rows = None if split is None else ds.field("sample_id").isin(self._split_ids(split))
        with self.reading(name):
            table = self.table(name)
            if isinstance(columns, str) and columns not in table.schema.names and columns in self.split_counts:
                raise UnknownNameError(f"table {name!r} of {self.root} has no column {columns!r}, which is a split: "
                                       f"read its rows with read_table({name!r}, split={columns!r}); columns: "
                                       f"{table.schema.names}")
            wanted = _column_names(columns, table.schema, f"table {name!r} of {self.root}")
            return table.to_table(columns=wanted, filter=rows)

    def to_numpy(self, name: str, split: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pooled table `name` (of `split` only, when given) as NumPy: sample ids (n,) and features (n, dim).

        A failed sample (null feature; its reason is in `errors()`) has no row, never a zero vector: `ids`
        names exactly the rows returned, so `n` can be less than the samples' count. The features keep the
        table's dtype and are read-only where they share Arrow's memory (`.copy()` one to write to it).

        Raises:
            SchemaMismatchError: a sequence table (read it with `read_sequences`), or one of variable dim.
            UnknownNameError: no table or split of that name.
        """
        self._require_kind(name, "pooled", "to_numpy")
        table = _present_rows(self.read_table(name, ["sample_id", "feature"], split=split))
        return _sample_ids(table), fixed_rows(single_chunk(table["feature"]))

    def read_sequences(self, name: str, split: str | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Sequence table `name` (of `split` only, when given) as NumPy, without per-row Python: sample ids
        (n,), offsets (n + 1,), values (sum of lengths, dim) and, where the table has them, the (start, end)
        seconds of each value (sum of lengths, 2), else None. Sample i's rows are `values[offsets[i]:offsets[i+1]]`.

        A failed sample (null feature) has no rows and no id, as in `to_numpy`.

        Raises:
            SchemaMismatchError: a pooled table (read it with `to_numpy`), one of variable dim, or one whose
                intervals do not match its rows (`mmdata check` says where).
            UnknownNameError: no table or split of that name.
        """
        spec = self._require_kind(name, "sequence", "read_sequences")
        columns = ["sample_id", "feature", *(["intervals"] if spec.intervals else [])]
        table = _present_rows(self.read_table(name, columns, split=split))
        ids = _sample_ids(table)
        offsets, values = sequence_rows(single_chunk(table["feature"]))
        if not spec.intervals:
            return ids, offsets, values, None
        interval_offsets, intervals = sequence_rows(single_chunk(table["intervals"]))
        if not np.array_equal(offsets, interval_offsets):
            first = int(np.flatnonzero(np.diff(offsets) != np.diff(interval_offsets))[0])
            raise SchemaMismatchError(
                f"table {name!r}, sample {ids[first]!r}: {offsets[first + 1] - offsets[first]} feature rows but "
                f"{interval_offsets[first + 1] - interval_offsets[first]} intervals; `mmdata check {self.root}` "
                "lists every such sample")
        return ids, offsets, values, intervals

    def _require_kind(self, name: str, kind: str, method: str) -> FeatureSpec:
        """Table `name`'s spec, when it is a `kind` table of a fixed dim (what `method` returns as arrays)."""
        spec = self.spec(name)
        if spec.kind != kind:
            other = "read_sequences" if spec.kind == "sequence" else "to_numpy"
            pool = " (or pool it into one vector per sample with `mmdata fuse`)" if spec.kind == "sequence" else ""
            raise SchemaMismatchError(f"table {name!r} is a {spec.kind} table and {method} reads {kind} tables: "
                                      f"read it with {other}({name!r}){pool}")
        if spec.dim is None:
            raise SchemaMismatchError(f"table {name!r} holds vectors of variable length (no dim), which {method} "
                                      f"cannot stack: read it with read_table({name!r})")
        return spec

    def _split_ids(self, split: str) -> pa.Array:
        """The ids of the samples of `split`, in samples order.

        Raises:
            UnknownNameError: no sample has that split (the message lists the splits there are).
            ArgumentTypeError: `split` is not one name (a list of them, a number).
        """
        check_split_name(split)
        samples = self.samples_table(["sample_id", "split"])
        ids = samples["sample_id"].filter(pc.equal(samples["split"], split))
        if not len(ids):
            splits = sorted(s for s in pc.unique(samples["split"]).to_pylist() if s is not None)
            raise UnknownNameError(f"dataset {self.root} has no split {split!r}; splits: {splits}")
        return single_chunk(ids)

    def reading(self, name: str | None = None) -> contextlib.AbstractContextManager[None]:
        """A block that reads table `name` (the samples table when None) through `table` or `samples`:
        an Arrow error in it becomes the ShardReadError of the shard that cannot be read."""
        return naming_unreadable_shard(shard_files(self.samples_dir if name is None else self.table_dir(name)))

    def table_metadata(self, name: str) -> dict:
        """The provenance table `name`'s first shard carries in its schema: extractor, config, spec, versions."""
        return decode_metadata(self.table(name).schema)

    def __repr__(self) -> str:
        """Where the dataset is, its corpus and splits, and one line per table (see `mmdata.info` for all)."""
        rows = [_SUMMARY_HEADER, *self._summary_rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(_SUMMARY_HEADER))]
        lines = ["  ".join(cell.rjust(w) if i in _NUMERIC else cell.ljust(w)
                           for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
        return "\n".join([self._headline(), *(f"  {line}" for line in lines if len(rows) > 1)])

    def _repr_html_(self) -> str:
        """The summary of `__repr__` as an HTML table (what a notebook shows)."""
        def cells(row: Sequence[str], tag: str) -> str:
            return "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in row)

        body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in self._summary_rows())
        return (f"<div><p>{html.escape(self._headline())}</p><table><thead><tr>{cells(_SUMMARY_HEADER, 'th')}"
                f"</tr></thead><tbody>{body}</tbody></table></div>")

    def _headline(self) -> str:
        counts = self.split_counts
        splits = f": {', '.join(f'{s} {n}' for s, n in counts.items())}" if counts else ""
        loader_errors = self.manifest.samples.get("loader_errors") or 0
        unusable = f", {loader_errors} annotation entries unusable" if loader_errors else ""
        return (f"mmdata Dataset {self.root} (corpus {self.manifest.corpus.get('kind')}, "
                f"{self.manifest.samples.get('rows')} samples{splits}{unusable}; {len(self.manifest.tables)} tables)")

    def _summary_rows(self) -> list[tuple[str, ...]]:
        """Per table: name, dim, dtype, kind, rows, errors, as `mmdata info` shows them: dim `variable` for
        rows of varying length (token ids), the kind with a frame rate when the table has one (`sequence @100
        Hz`); rows from the manifest, of an unfinished table those of its finished shards, marked so."""
        out = []
        for name in self.table_names:
            entry = self.manifest.tables[name]
            spec = entry.spec
            rows = f"{entry.rows}" if entry.complete else f"{rows_in_finished_shards(self.root / entry.path)} (incomplete)"
            kind = shown_kind(str(spec.get("kind", "")), spec.get("frame_rate"))
            out.append((name, shown_dim(spec.get("dim")), str(spec.get("dtype", "")), kind, rows, str(entry.errors)))
        return out

    def errors(self) -> pa.Table:
        """All recorded failures (loader and every table), possibly empty."""
        from mmdata.store.writer import ERRORS_SCHEMA

        files = sorted((self.root / ERRORS_DIR).glob("*/part-*.parquet"))
        if not files:
            return ERRORS_SCHEMA.empty_table()
        with naming_unreadable_shard(files):
            return ds.dataset([str(f) for f in files], format="parquet", schema=ERRORS_SCHEMA).to_table()


def open_dataset(path: str | Path | Dataset) -> Dataset:
    """Open a dataset directory written by `mmdata extract`.

    Args:
        path: the dataset directory (the folder holding `mmdata.json`; a leading `~` is the home folder),
            or a `Dataset`, opened again from its directory (its manifest read anew).

    Returns:
        A `Dataset`; nothing is read beyond the manifest until a table is asked for.

    Raises:
        DatasetNotFoundError: the directory does not exist (a DatasetError, and a CorpusNotFoundError,
            as it was before it had a class of its own).
        DatasetError: it is not an mmdata dataset (the message says what it is where it can tell: a
            file, a fused export, a folder of datasets, one whose first extract is still running) or
            has an unknown layout version, or its path is not valid UTF-8 (Arrow could not open its files).
        ArgumentTypeError: `path` is not a str, Path or Dataset (None, bytes, a number).
    """
    root = dataset_path(path, argument="path")
    if not root.exists():
        # `mmdata segment` writes a new dataset into `.<name>.tmp-<pid>` beside it, `mmdata share` into
        # `.<name>.partial-XXXXXXXX` (moving one it replaces to `.<name>.replaced`), and renames the folder when done.
        hidden = glob.escape(f".{root.name}")
        staged = [*staging_folders(root), *sorted(root.parent.glob(f"{hidden}.partial-*")),
                  *sorted(root.parent.glob(f"{hidden}.partial")), *sorted(root.parent.glob(f"{hidden}.replaced"))]
        progress = f"; a command is writing it now into {staged[0]} (or was killed there)" if staged else ""
        raise DatasetNotFoundError(f"dataset directory not found: {root}{progress}")
    if not root.is_dir():
        inside = f"; open its directory, {root.parent}" if root.name == MANIFEST_NAME else ""
        raise DatasetError(f"{root} is a file, not an mmdata dataset directory{inside}")
    if not (root / MANIFEST_NAME).is_file():
        _explain_missing_manifest(root)
    require_utf8_path(root)
    return Dataset(root=root, manifest=read_manifest(root))


def require_utf8_path(root: Path) -> None:
    """Arrow opens files by UTF-8 paths only: a dataset whose path holds a byte that is not UTF-8 (a
    folder named in another encoding) cannot be read, and is refused in one line instead.

    Raises:
        DatasetError: naming the path and the fix.
    """
    try:
        str(root).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(root).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise DatasetError(f"{shown}: the dataset's path is not valid UTF-8, and Arrow opens UTF-8 paths only; "
                           "rename the folder (or give it a UTF-8 name with a symbolic link: "
                           "`ln -s OLD NEW`, then use NEW)") from None


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


_SUMMARY_HEADER = ("table", "dim", "dtype", "kind", "rows", "failed")  # as `mmdata info` heads them
_NUMERIC = {1, 4, 5}  # right-aligned columns of the summary


def _column_names(columns: str | Sequence[str] | None, schema: pa.Schema, what: str) -> list[str] | None:
    """`columns` (a name, a sequence of names, or None for all) as the list pyarrow takes.

    Raises:
        ArgumentTypeError: not a string or a sequence of strings.
        UnknownNameError: a name `schema` does not have (the message lists the columns there are).
    """
    if columns is None:
        return None
    names = [columns] if isinstance(columns, str) else list(columns) if isinstance(columns, Sequence) else None
    if names is None or not all(isinstance(c, str) for c in names):
        raise ArgumentTypeError(f"columns is a column name or a list of them, got {columns!r}")
    unknown = [c for c in names if c not in schema.names]
    if unknown:
        raise UnknownNameError(f"{what} has no column {unknown[0]!r}; columns: {schema.names}")
    return names


def _present_rows(table: pa.Table) -> pa.Table:
    """The rows whose feature is not null (the failed samples left out)."""
    feature = table["feature"]
    return table.filter(pc.is_valid(feature)) if feature.null_count else table


def _sample_ids(table: pa.Table) -> np.ndarray:
    return np.asarray(table["sample_id"].to_numpy(zero_copy_only=False), dtype=object)


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
