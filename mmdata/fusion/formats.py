"""Export formats of a fused dataset: Parquet shards, Arrow IPC, a Hugging Face dataset, NumPy .npy.

Every format holds the same columns, one row per sample, files split by the samples' split:

    sample_id  string
    split      string
    label      double (null when the corpus has none)
    label_<name>  double, one per auxiliary label asked for (`FuseOptions.labels`; null where the sample has none)
    class_id   int64, with `FuseOptions.class_label` (-1 where the sample has no class; hf: a ClassLabel)
    class_targets  fixed_size_list<float32>[C] instead, with a multi-label class label (multi-hot; -1s: no class)
    feature    pooled:  fixed_size_list<float32>[D]
               padded:  fixed_size_list<fixed_size_list<float32>[D]>[L]   (+ length, mask)
               ragged:  list<fixed_size_list<float32>[D]>                 (+ length)
               (never null, nor are its values: missing modalities are zero-filled or dropped)
    targets    as feature, of dim C, with `FuseOptions.targets` (a table exported as training targets)
    present    fixed_size_list<bool>[m]   only with missing='zero': which modalities the row really has (then
                                          the targets, last)
    length     int32                      sequences only: time steps before padding
    mask       fixed_size_list<bool>[L]   padded only: True on real time steps

Files inside the export directory:

    parquet  data/<split>-00000-of-00002.parquet   (HF `load_dataset("parquet")` reads the features
                                                     from the b"huggingface" schema metadata)
    arrow    data/<split>.arrow                    (IPC file format, uncompressed: memory-mappable)
    hf       dataset_dict.json, <split>/...        (`datasets.load_from_disk`)
    npy      <split>/features.npy (+ targets.npy, lengths.npy, offsets.npy, present.npy, class_ids.npy or
             class_targets.npy), <split>/index.parquet (sample_id, split, label, the label_<name> columns,
             class_id or class_targets, row) and <split>/index.arrow (sample_id, label, the label_<name>
             columns: what readers map; IPC file format, uncompressed: memory-mappable)

A split's name is part of its files' names, so it must be a plain file name that is none of the
export's own (`check_split_name`, which `plan_fusion` applies to every split before any pass).

This module holds the base `Sink`, the writers of the parquet, arrow and hf formats, the names of the
export's files, `BackgroundSink` and `open_sink`; the npy writer is in `npy_sink` (`NpySink`).
"""
from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mmdata.background import SerialWorker
from mmdata.errors import DatasetError
from mmdata.fusion.classes import count_classes
from mmdata.fusion.rows import FusedBatch, RowLayout
from mmdata.store.shards import parquet_pool

ExportFormat = Literal["parquet", "arrow", "hf", "npy"]
EXPORT_FORMATS: tuple[str, ...] = ("parquet", "arrow", "hf", "npy")
FUSED_METADATA = "fused.json"
#: The samples `--missing drop` left out, with the tables each lacked (`passes.DROPPED_SCHEMA`), when any was.
DROPPED_SAMPLES = "dropped.parquet"
#: Every group's statistics when the export was z-scored per group (`group_norm`, `FuseOptions.normalize_by`).
GROUP_STATS_FILE = "normalization_groups.parquet"
DATA_DIR = "data"
#: Names at the top of an export that are the export's own, so no split may take them (an hf or npy
#: split is a folder there).
EXPORT_OWN_NAMES = frozenset({FUSED_METADATA, DROPPED_SAMPLES, GROUP_STATS_FILE, "dataset_dict.json"})
#: An npy export's class column -> its .npy file, memory-mapped by readers (a multi-hot class_targets column is
#: N x C float32: 4 GB at AudioSet's 2M x 527); index.parquet keeps the column too, for pandas and pyarrow readers.
NPY_CLASS_FILES = {"class_id": "class_ids.npy", "class_targets": "class_targets.npy"}
#: An npy export's index as readers map it (Parquet cannot be mapped: each DataLoader worker decoded
#: index.parquet into ~47 bytes a row of its own), and as pandas and pyarrow readers read it.
NPY_INDEX_ARROW = "index.arrow"
NPY_INDEX_PARQUET = "index.parquet"


class Sink(ABC):
    """Receives fused batches (rows of any split) and writes them under `root`."""

    #: Features per batch the direct pass hands over (Arrow record batch, Parquet row group). One
    #: buffer per split is filling and the writer holds `queue_depth` + 1 more, so memory is a few
    #: times this whatever the dataset size. 2 MB stay in cache: fuse -> Arrow IPC took 0.67 s
    #: against 0.83 with 4 MB.
    batch_bytes: ClassVar[int] = 2 << 20
    #: Batches waiting for the writer thread (`BackgroundSink`) while it writes another.
    queue_depth: ClassVar[int] = 2

    def __init__(self, root: Path, layout: RowLayout, metadata: dict[str, Any], counts: dict[str, dict[str, int]] | None):
        self.root = root
        self.layout = layout
        self.schema = layout.schema(metadata)
        self.counts = counts or {}
        self.rows: dict[str, int] = {}
        #: split -> rows per class id, the last count that of rows without a class (`classes.count_classes`).
        self.class_counts: dict[str, np.ndarray] = {}

    def write(self, batch: FusedBatch) -> None:
        distinct = pc.unique(batch.split)
        if len(distinct) == 1:  # one split, as the direct pass's batches: ~20 us instead of ~0.25 ms a batch
            parts = [(str(distinct[0].as_py()), batch)]
        else:
            splits = batch.split.to_numpy(zero_copy_only=False).astype(str)
            bounds = np.concatenate([[0], np.flatnonzero(splits[1:] != splits[:-1]) + 1, [len(splits)]])
            names = [str(splits[b]) for b in bounds[:-1]]
            if len(set(names)) == len(names):  # each split is one run: write slices (views)
                parts = [(name, batch.slice(int(a), int(b), self.layout))
                         for name, a, b in zip(names, bounds[:-1], bounds[1:])]
            else:
                parts = [(name, batch.take(np.flatnonzero(splits == name), self.layout)) for name in dict.fromkeys(names)]
        for split, part in parts:
            self._write(split, part)
            self.rows[split] = self.rows.get(split, 0) + len(part)
            if self.layout.classes is not None:
                count_classes(self.class_counts, split, part.class_ids, len(self.layout.classes))

    @abstractmethod
    def _write(self, split: str, batch: FusedBatch) -> None: ...

    @abstractmethod
    def close(self) -> dict[str, list[str]]:
        """Finish every file; returns the files of each split, relative to `root`. Every file is closed
        even when finishing one raises (the first error is raised then)."""

    @abstractmethod
    def abort(self) -> None:
        """Close every file still open without finishing it (no footer, rename or flush), errors ignored: the
        caller removes them. An aborted fuse then holds no descriptor to its staged folder, which would keep
        the removed files' space in use until garbage collection (a full disk stays full)."""


def close_all(steps: Iterable[Callable[[], Any]]) -> None:
    """Run every step, even after one raised, then raise the first error: one file that cannot be finished
    (a full disk) leaves no other open."""
    error: BaseException | None = None
    for step in steps:
        try:
            step()
        except BaseException as e:  # noqa: BLE001 - raised once every step ran
            error = error or e
    if error is not None:
        raise error


def discard_writer(writer: Any, file: Any = None) -> None:
    """Close a Parquet or Arrow IPC `writer` and the `file` it writes (a ParquetWriter opened from a path
    holds its own, `file_handle`) without finishing it: the file first, so no footer is written, then the
    writer, whose close fails on the closed file, quietly (the file is about to be removed)."""
    file = file if file is not None else getattr(writer, "file_handle", None)
    try:
        if file is not None:
            file.close()
        writer.close()
    except (OSError, pa.ArrowException):
        pass
    if isinstance(writer, pq.ParquetWriter):
        writer.is_open = False  # or its __del__ closes it again


def check_split_name(split: str | None) -> None:
    """A split's name names its files (data/<split>.arrow, <split>/features.npy, ...): it must be one
    plain file name, or its files would land in a folder of their own or outside the export, and it
    must not be a name the export uses for itself (`fused.json`, hf's `dataset_dict.json`, the hidden
    folders it stages in: names starting with '.').

    Raises:
        DatasetError: the name is empty, starts with '.', holds a path separator, or is one of the
            export's own file names.
    """
    if (split is None or split == "" or split.startswith(".") or any(c in split for c in "/\\\0")
            or split in EXPORT_OWN_NAMES):
        raise DatasetError(
            f"split {split!r} cannot name the files of its rows in the export: a split name must be a plain "
            "file name (not empty, not starting with '.', no '/' or '\\', not one of the export's own files "
            f"{', '.join(sorted(EXPORT_OWN_NAMES))}); rename the split in the corpus (a manifest's `split` column) "
            "and extract it again"
        )


#: Values the Parquet writer encodes between two page-size checks (pyarrow's default is 1024): a
#: fused row holds ~1000 of them, and larger steps write the export ~6% faster (A/B, 100k x 970).
WRITE_BATCH_VALUES = 64 * 1024


class ParquetSink(Sink):
    """data/<split>-<i>-of-<n>.parquet, `shard_rows` rows per file, one row group per batch.

    Encoding is the slow side of a Parquet export: a batch of 4 MB, with one waiting, keeps the
    writer thread busy while the next is gathered. Against 2 MB batches two deep, fuse -> Parquet
    of 100k x 970 from Arrow IPC tables took 0.84-0.90 s instead of 1.00 (A/B), its peak memory
    growing 1.09-1.14x from 10k to 100k samples; 8 MB batches were no faster and grew it 1.20-1.23x.

    The encoder allocates from jemalloc (`parquet_pool`): Arrow's default pool purged what each
    batch's encoding freed and the next faulted it in again (~45% of the writer thread's time went
    to the kernel). 100k x 970, medians of 4 in 3 alternating processes: 0.90-1.06 -> 0.82-0.91 s
    from Arrow IPC tables, 1.45-1.72 -> 1.34-1.43 s from Parquet tables; peak memory 5-7% lower.
    """

    batch_bytes: ClassVar[int] = 4 << 20
    queue_depth: ClassVar[int] = 1

    def __init__(self, *args: Any, shard_rows: int = 100_000, compression: str = "snappy", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.shard_rows = shard_rows
        self.compression = compression
        self._writers: dict[str, tuple[pq.ParquetWriter, int]] = {}
        self._files: dict[str, list[Path]] = {}

    def _write(self, split: str, batch: FusedBatch) -> None:
        table = pa.Table.from_batches([batch.to_arrow(self.layout, self.schema)])
        start = 0
        while start < table.num_rows:
            writer, written = self._writer(split)
            take = min(self.shard_rows - written, table.num_rows - start)
            writer.write_table(table.slice(start, take))
            self._writers[split] = (writer, written + take)
            start += take

    def _writer(self, split: str) -> tuple[pq.ParquetWriter, int]:
        current = self._writers.get(split)
        if current is not None and current[1] < self.shard_rows:
            return current
        if current is not None:
            current[0].close()
        path = self.root / DATA_DIR / f".{split}-{len(self._files.get(split, [])):05d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._files.setdefault(split, []).append(path)
        writer = pq.ParquetWriter(
            path, self.schema, compression=self.compression, use_dictionary=["sample_id", "split"],
            write_statistics=["sample_id", "split", "label"], write_batch_size=WRITE_BATCH_VALUES,
            memory_pool=parquet_pool(),
        )
        self._writers[split] = (writer, 0)
        return writer, 0

    def close(self) -> dict[str, list[str]]:
        close_all(writer.close for writer, _ in self._writers.values())
        out = {}
        for split, paths in self._files.items():
            names = []
            for index, path in enumerate(paths):
                final = path.with_name(f"{split}-{index:05d}-of-{len(paths):05d}.parquet")
                path.rename(final)
                names.append(str(final.relative_to(self.root)))
            out[split] = names
        return out

    def abort(self) -> None:
        for writer, _ in self._writers.values():
            discard_writer(writer)


class ArrowSink(Sink):
    """data/<split>.arrow: one uncompressed Arrow IPC file per split (memory-mapped, zero-copy reads).

    Each batch the passes hand over becomes one record batch: rows of one split, about 2 MB from the
    direct pass (`Sink.batch_bytes`), 16 MB from the staged one (`passes.MERGE_BYTES`).
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._writers: dict[str, tuple[Any, Any]] = {}

    def _write(self, split: str, batch: FusedBatch) -> None:
        if split not in self._writers:
            path = self.root / DATA_DIR / f"{split}.arrow"
            path.parent.mkdir(parents=True, exist_ok=True)
            sink = pa.OSFile(str(path), "wb")
            self._writers[split] = (sink, pa.ipc.new_file(sink, self.schema))
        self._writers[split][1].write_batch(batch.to_arrow(self.layout, self.schema))

    def close(self) -> dict[str, list[str]]:
        close_all(step for sink, writer in self._writers.values() for step in (writer.close, sink.close))
        return {split: [f"{DATA_DIR}/{split}.arrow"] for split in self._writers}

    def abort(self) -> None:
        for sink, writer in self._writers.values():
            discard_writer(writer, sink)


class HfSink(ParquetSink):
    """A `DatasetDict` saved with `save_to_disk`, built from Parquet shards staged in the export."""

    STAGING = ".hf-staging"

    def __init__(self, root: Path, *args: Any, **kwargs: Any):
        self.final_root = root
        super().__init__(root / self.STAGING, *args, **kwargs)

    def close(self) -> dict[str, list[str]]:
        import datasets

        from mmdata.share.hf import hf_split_names

        staged = super().close()
        features = datasets.Features.from_dict(self.layout.hf_features())
        quiet = datasets.are_progress_bars_disabled()
        datasets.disable_progress_bars()  # library code draws no bars; the CLI reports a summary
        splits: dict[str, Any] = {}
        try:
            # The DatasetDict keys are mmdata's split names, as in every format; each Dataset's own
            # `split` is the name `datasets` can hold (`all` is reserved, `test-dev2017` refused).
            for split, files in staged.items():
                splits[split] = datasets.Dataset.from_parquet(
                    [str(self.root / f) for f in files], features=features, cache_dir=str(self.root / "cache"),
                    split=hf_split_names([split])[split])
            datasets.DatasetDict(splits).save_to_disk(str(self.final_root))
        finally:
            splits.clear()  # their cache files are mapped: unmapped here, not when a traceback lets them go
            if not quiet:
                datasets.enable_progress_bars()
        shutil.rmtree(self.root)
        return {split: [f"{split}/"] for split in staged}


#: Batches' worth of memory the writer thread frees between two hand-backs to the system.
RELEASE_BYTES = 16 << 20


class BackgroundSink:
    """A sink whose writes run on a thread while the caller builds the next batch.

    Arrow's IPC and Parquet writers release the GIL, so encoding and writing one batch overlaps
    gathering and normalizing the next on the other core. At most `depth` batches wait (the sink's
    `queue_depth` by default; memory stays bounded); a writer error stops the writes and is raised
    by the next `write` or `close`. Batches must not be modified after `write` (the passes hand
    over fresh arrays).
    """

    def __init__(self, inner: Sink, depth: int | None = None):
        self.inner = inner
        # Freed memory goes back every ~16 MB of batches, whatever their size (8 batches of 2 MB).
        self._worker = SerialWorker("mmdata-fuse-writer", inner.queue_depth if depth is None else depth,
                                    release_every=RELEASE_BYTES // inner.batch_bytes)

    @property
    def rows(self) -> dict[str, int]:
        return self.inner.rows

    @property
    def class_counts(self) -> dict[str, np.ndarray]:
        return self.inner.class_counts

    @property
    def batch_bytes(self) -> int:
        return self.inner.batch_bytes

    def write(self, batch: FusedBatch) -> None:
        self._worker.submit(lambda: self.inner.write(batch))

    def close(self) -> dict[str, list[str]]:
        self._worker.close()
        return self.inner.close()

    def abort(self) -> None:
        """Stop the writer thread and close the files without finishing them (the caller removes them)."""
        try:
            self._worker.stop()
        finally:
            self.inner.abort()


def open_sink(fmt: ExportFormat, root: Path, layout: RowLayout, metadata: dict[str, Any],
              counts: dict[str, dict[str, int]] | None, *, shard_rows: int) -> Sink:
    """The sink writing format `fmt` under `root`."""
    if fmt == "parquet":
        return ParquetSink(root, layout, metadata, counts, shard_rows=shard_rows)
    if fmt == "hf":
        return HfSink(root, layout, metadata, counts, shard_rows=shard_rows)
    if fmt == "arrow":
        return ArrowSink(root, layout, metadata, counts)
    from mmdata.fusion.npy_sink import NpySink  # npy_sink imports this module

    return NpySink(root, layout, metadata, counts)
