"""corpus -> samples table -> extractors -> feature tables, resumable at shard granularity.

    result = extract("coco", "/data/coco", "out/coco", extractors=["color-hist", "minilm"], split="val2017")

A finished shard is never rewritten: a re-run skips it, so an interrupted run resumes where it
stopped. Shards and the manifest are written atomically, so readers never see partial output.

This module holds `extract` (and `prepare_dataset`, `extract_features`, its two halves), the run
options they check, and the default extractors; the rest lives in:
    mmdata.samples_loading    the corpus loaded into the samples table, or an earlier run's kept
    mmdata.samples_update     with `update`: the samples a grown corpus gained, appended to the kept table
    mmdata.extract_refusals   tables that cannot be kept and media no sample has, refused before computing
    mmdata.extract_tables     one feature table computed: claimed, its pending shards run and written
    mmdata.executor_choice    the executor an `executor` name means
The names moved there stay importable from here.
"""
from __future__ import annotations

import logging
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mmdata.corpora.base import get_corpus_kind, require_dir
from mmdata.corpora.sources import SOURCES_KEY, changed_sources
from mmdata.entry_arguments import extract_arguments
from mmdata.errors import ConfigError, DatasetError
from mmdata.executor_choice import ExecutorName, check_executor, make_executor
from mmdata.extract_refusals import (  # noqa: F401 - also re-exported from here
    MEDIA_COLUMNS, _check_media_present, _option_spelling, _tables_refused_message, extractor_spec, force_command,
    refuse_tables_not_kept,
)
from mmdata.extract_tables import (  # noqa: F401 - also re-exported from here
    CHUNK_BYTES, _add_feature, _batches, _count_as_already_done, _error_record, _extract_table, _fill_table,
    _rows_match, _run_shards, _table_provenance, _unfit_output, _write_errors, _write_moments,
)
from mmdata.features.base import Extractor, create_extractor
from mmdata.features.image_models import refuse_devices_missing_here
from mmdata.options import check_count, check_flag, did_you_mean, key_value_mapping, short_repr, spec_list
from mmdata.progress import ProgressSink, progress_sink
from mmdata.samples_loading import (  # noqa: F401 - also re-exported from here
    _check_unique_ids, _prepare, _remove_unfinished_samples, _same_options, _table_complete, fingerprint_ids,
    samples_entry, write_samples,
)
from mmdata.samples_update import incomplete_tables
from mmdata.store import layout
from mmdata.store.footers import footers_read_once
from mmdata.store.lock import writing
from mmdata.store.reader import Dataset
from mmdata.store.tables import TableReport, drop_table
from mmdata.store.write_errors import named_write_errors

log = logging.getLogger(__name__)
OnError = Literal["fail", "skip"]


@dataclass(repr=False)
class ExtractReport:
    """What `extract` wrote: the samples table's rows, and a `TableReport` per feature table."""

    dataset_dir: Path
    samples: int
    loader_errors: int
    tables: list[TableReport] = field(default_factory=list)
    #: The samples table an earlier run of this corpus made, kept as it is: the corpus was not read
    #: again, so samples added to it since are not in the dataset (`update=True` adds them).
    samples_reused: bool = False
    #: Corpus files the kept samples or precomputed tables were read from that changed since
    #: ('CMU_MOSI_COVAREP.csd (modified)', `corpora.sources`); the dataset still holds what they held.
    changed_sources: list[str] = field(default_factory=list)
    #: With `update` over an existing dataset: the samples appended after its rows (0: it was up to
    #: date with the corpus); None otherwise.
    samples_added: int | None = None
    #: With `update`: the tables left without rows for the added samples (no extractor of this run
    #: writes them); an extract naming them completes them.
    incomplete_tables: list[str] = field(default_factory=list)

    @property
    def failed_tables(self) -> list[str]:
        """The tables that have rows and whose every item failed (the errors tables say why): the
        dataset is written, but such a table holds no feature."""
        return [t.name for t in self.tables if t.rows and t.errors == t.rows]

    @property
    def ok(self) -> bool:
        """No table of the run had every item fail (the CLI exits 1 otherwise)."""
        return not self.failed_tables

    def __repr__(self) -> str:
        reused = " (kept from an earlier run)" if self.samples_reused else "" if self.samples_added is None else \
            f" ({self.samples_added} added by the update)"
        lines = [f"dataset_dir={str(self.dataset_dir)!r}",
                 f"samples={self.samples}{reused}, loader_errors={self.loader_errors}"]
        lines += [f"{t.name}: {t.rows} rows, {t.errors} failed ({t.shards_written} shards written, "
                  f"{t.shards_skipped} kept)" for t in self.tables[:8]]
        if len(self.tables) > 8:
            lines.append(f"... {len(self.tables) - 8} more tables")
        if self.incomplete_tables:
            lines.append(f"incomplete_tables={self.incomplete_tables}")
        if self.changed_sources:
            lines.append(f"changed_sources={self.changed_sources[:3]}" + (" ..." if len(self.changed_sources) > 3 else ""))
        lines.append("ok" if self.ok else f"every item failed in {self.failed_tables}")
        return short_repr(type(self).__name__, lines)


def extract(
    kind: str,
    corpus_dir: str | Path,
    output_dir: str | Path,
    *,
    extractors: Sequence[str | Extractor] | str | None = None,
    split: str | None = None,
    corpus_options: Mapping[str, Any] | str | None = None,
    batch_size: int = 32,
    num_workers: int | None = None,
    on_error: OnError = "skip",
    shard_size: int = layout.DEFAULT_SHARD_SIZE,
    executor: ExecutorName = "local",
    ray_address: str | None = None,
    progress: ProgressSink | bool | None = None,
    table_format: str = layout.DEFAULT_FEATURE_FORMAT,
    force: bool = False,
    update: bool = False,
) -> ExtractReport:
    """Load a corpus into a dataset directory and compute every requested feature table.

    Args:
        kind: corpus kind (`coco`, `karpathy`, `flickr30k`, `manifest`, ...; `mmdata extract --help`
            lists them all).
        corpus_dir: the corpus folder, in the kind's own layout (docs/corpora.md describes each).
        output_dir: the dataset directory to write (made when new). One holding a dataset of the same
            corpus, split and options gains the requested tables; another corpus's is refused.
        extractors: extractor specs (`"resnet50"`, `"color-hist:bins=8"`) or instances, as a list,
            or a string of specs separated by commas (`"color-hist:bins=8,minilm"`; a comma before
            `KEY=` separates a spec's options); None picks defaults that need no download for the
            modalities the corpus has (see `default_extractors`); [] writes the samples table (and
            the tables a corpus carries, such as a .csd folder's) only.
        split: load only this split of the corpus (`val2017`); None: every split.
        corpus_options: the loader's options (docs/corpora.md; an unknown one is refused with the list
            of those the kind takes), as a dict or as `"key=value,key=value"` text read as the command
            line's `-o` (`{"labels": "none"}` or `"labels=none"`).
        batch_size: items an extractor computes at a time (and a worker decodes per task).
        num_workers: decode processes (0: decode in this process); None measures each extractor's
            decoding on its first batch and starts workers only where they pay (`LocalExecutor`).
        on_error: 'skip' records failed items in the errors table and goes on; 'fail' stops at
            the first, naming the sample and file, leaving only complete shards behind. An item
            fails when its decoding or computing raises, kills its decode worker, or when the
            extractor returns for it no feature (None) or one its declared spec cannot hold.
        shard_size: samples per shard of every table (a rerun keeps the dataset's own).
        executor: 'local' (decode processes on this machine) or 'ray' (Ray Data, a cluster).
        ray_address: the Ray cluster to join with executor='ray' (None: a local one, or RAY_ADDRESS).
        progress: where progress goes: True (or `mmdata.progress.RichProgress()`) draws bars; None shows none.
        table_format: the feature tables' shard files: 'parquet' (the default; any tool reads it) or
            'arrow' (Arrow IPC files: memory-mapped zero-copy reads; check ~1.4x and fuse to Parquet
            1.3-1.5x faster, benchmarks/README.md).
        force: compute the extractors' tables from scratch, replacing what the dataset holds of them
            (another config's table included). Without it a re-run keeps finished shards whose rows
            still match the samples table, and refuses a table made with another config (every such
            table of the run in one error, before any is computed:
            `extract_refusals.refuse_tables_not_kept`).
        update: read the corpus again and append the samples it gained since the dataset was made
            after the rows it has (which keep their places), then compute the named tables' rows for
            them; tables not named are left incomplete until an extract names them. A sample whose
            row changed or that left the corpus is refused, before anything is written
            (`samples_update`). Without it a rerun keeps the samples table as it is.

    Returns:
        An `ExtractReport`; `report.ok` is False, and a warning is logged, when every item of a
        table failed (`report.failed_tables`; the errors tables say why).

    Raises:
        CorpusNotFoundError, CorpusFormatError: the corpus is missing or malformed.
        ConfigError: an argument has a value the pipeline does not take (`on_error`, `table_format`,
            `executor`, `batch_size`, `shard_size`, `num_workers`, `force`, `corpus_options`, `extractors`,
            and as an ArgumentTypeError a folder that is not a str or Path, a `split` that is not one
            name, a `progress` that is not a flag or a sink): refused before anything is read or written.
        DatasetError: a requested table cannot be kept (without `force`), two extractors write one table, or
            (`update`) a sample changed or left the corpus.
        ExtractionError: an item failed with on_error='fail'.

    Example:
        >>> report = extract("coco", "/data/coco", "out/coco", extractors="color-hist,minilm", split="val2017")
        >>> report.ok, [(t.name, t.rows, t.errors) for t in report.tables]
    """
    corpus_dir, output_dir = extract_arguments(corpus_dir, output_dir, split=split, progress=progress)
    check_run_options(on_error=on_error, batch_size=batch_size, shard_size=shard_size, table_format=table_format)
    check_executor(executor)
    check_count("num_workers", num_workers, minimum=0, optional=True)
    check_flag("force", force)
    check_flag("update", update)
    corpus_options = key_value_mapping(corpus_options, argument="corpus_options")
    if extractors is not None:
        extractors = spec_list(extractors, argument="extractors", item_types=(str, Extractor))
    instances = None if extractors is None else [e if isinstance(e, Extractor) else create_extractor(e) for e in extractors]
    get_corpus_kind(kind)  # unknown kinds, missing corpora and weights fail before the output directory is made
    require_dir(corpus_dir)
    for instance in instances or ():
        instance.check_ready()
    if executor == "local":  # Ray may have the GPUs on other nodes: `RayExecutor.start` asks the cluster
        refuse_devices_missing_here(instances or (), extractor_spec)
    # A write the system refuses names its file (the store's writers), else the dataset directory.
    with named_write_errors(output_dir), writing(output_dir, "extraction"), \
            make_executor(executor, num_workers=num_workers, ray_address=ray_address) as runner:
        # Local workers boot while the corpus loads; Ray refuses a CUDA device its cluster lacks.
        runner.start(instances)
        reused = (Path(output_dir) / layout.MANIFEST_NAME).is_file()  # _prepare refuses it for another corpus
        dataset, precomputed, added = _prepare(
            kind, corpus_dir, output_dir, split=split, options=corpus_options, on_error=on_error, shard_size=shard_size,
            table_format=table_format, force=force, update=update,
        )
        report = ExtractReport(
            dataset_dir=dataset.root,
            samples=int(dataset.manifest.samples["rows"]),
            loader_errors=int(dataset.manifest.samples.get("loader_errors", 0)),
            samples_reused=reused and not update,
            samples_added=added,
        )
        if reused and not update:
            log.info("%s: the samples table of an earlier run is kept; the corpus is not read again", dataset.root)
        if reused:
            recorded = dataset.manifest.samples.get("shard_size")
            if shard_size != layout.DEFAULT_SHARD_SIZE and recorded not in (None, shard_size):
                log.warning("%s: shards keep the %s rows of the samples table the dataset was made with, not the "
                            "%d asked for (every table's shards hold the samples shards' rows); extract into a new "
                            "output directory for other shards", dataset.root, recorded, shard_size)
            report.changed_sources = changed_sources(Path(dataset.manifest.corpus["root"]),
                                                     dataset.manifest.extra.get(SOURCES_KEY))
            if report.changed_sources:
                log.warning("%s: corpus files changed since the dataset was made: %s; it keeps what it read then "
                            "(extract into a new output directory to read them again)", dataset.root,
                            ", ".join(report.changed_sources))
        if instances is None:
            instances = [create_extractor(name) for name in default_extractors(dataset)]
        report.tables = precomputed + _extract_all(dataset, instances, None, runner, batch_size, on_error, progress,
                                                   table_format, force)
        if added:
            report.incomplete_tables = incomplete_tables(dataset.manifest)
    if report.failed_tables:
        log.warning("%s: every item of %s failed; the reasons are in %s", report.dataset_dir,
                    ", ".join(report.failed_tables), report.dataset_dir / layout.ERRORS_DIR)
    return report


#: The values `on_error` takes: record a failed item and go on, or stop at it.
ON_ERROR_CHOICES = ("skip", "fail")


def check_run_options(*, on_error: str, batch_size: int = 1, shard_size: int = 1,
                      table_format: str = layout.DEFAULT_FEATURE_FORMAT) -> None:
    """Refuse, before anything is read or written, an `on_error` the pipeline does not know (any
    other value would silently act as 'skip'), batch or shard sizes below one, and a table format
    that is not one of `layout.TABLE_FORMATS` (refused otherwise only after the samples are written).

    Raises:
        ConfigError: naming the value and what is expected.
    """
    if on_error not in ON_ERROR_CHOICES:
        raise ConfigError(f"on_error must be 'skip' (record failed items in the errors table and go on) or 'fail' "
                          f"(stop at the first), got {on_error!r}")
    for name, value in (("batch_size", batch_size), ("shard_size", shard_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ConfigError(f"{name} must be a whole number of rows, at least 1, got {value!r}")
    if not isinstance(table_format, str) or table_format not in layout.TABLE_FORMATS:
        raise ConfigError(f"table_format={table_format!r} is not one of {sorted(layout.TABLE_FORMATS)}"
                          f"{did_you_mean(table_format, layout.TABLE_FORMATS)}")


#: Per modality, the extractors used when none are named: no weights to download.
DEFAULT_EXTRACTORS: dict[str, tuple[str, ...]] = {
    "image": ("color-hist",),
    "text": ("minilm",),
    "audio": ("librosa-logmel",),
    "video": ("video-frames",),
}


def default_extractors(dataset: Dataset) -> list[str]:
    """The default extractors for the modalities present in a dataset's samples table."""
    import pyarrow.compute as pc

    from mmdata.features.base import available_extractors

    samples = dataset.samples_table(columns=["image", "audio", "video", "captions", "transcript"])
    present = {
        "image": samples.column("image").null_count < len(samples),
        "audio": samples.column("audio").null_count < len(samples),
        "video": samples.column("video").null_count < len(samples),
        "text": bool(pc.sum(pc.list_value_length(samples.column("captions"))).as_py() or 0)
        or samples.column("transcript").null_count < len(samples),
    }
    registered = set(available_extractors())
    return [
        name
        for modality, names in DEFAULT_EXTRACTORS.items()
        if present[modality] and len(samples)
        for name in names
        if name in registered
    ]


def prepare_dataset(
    kind: str,
    corpus_dir: str | Path,
    output_dir: str | Path,
    *,
    split: str | None = None,
    options: dict[str, Any] | None = None,
    on_error: OnError = "skip",
    shard_size: int = layout.DEFAULT_SHARD_SIZE,
    table_format: str = layout.DEFAULT_FEATURE_FORMAT,
) -> Dataset:
    """Load the corpus and write the samples table (or reuse it when the same corpus is there).

    Tables the loader reads from the corpus files themselves (`LoadResult.tables`: .csd sequences,
    processed pickles) are written here too, shard-aligned with the samples and resumable.
    """
    check_run_options(on_error=on_error, shard_size=shard_size, table_format=table_format)
    return _prepare(kind, corpus_dir, output_dir, split=split, options=options, on_error=on_error,
                    shard_size=shard_size, table_format=table_format)[0]


def extract_features(
    dataset: Dataset,
    extractors: Sequence[Extractor],
    *,
    corpus_root: str | Path | None = None,
    batch_size: int = 32,
    num_workers: int | None = None,
    on_error: OnError = "skip",
    executor: ExecutorName = "local",
    ray_address: str | None = None,
    progress: ProgressSink | bool | None = None,
    table_format: str = layout.DEFAULT_FEATURE_FORMAT,
    force: bool = False,
) -> list[TableReport]:
    """Compute one feature table per extractor for an existing dataset, skipping finished shards
    (`force`: computing them all again, as `extract` does)."""
    check_run_options(on_error=on_error, batch_size=batch_size, table_format=table_format)
    if executor == "local":
        refuse_devices_missing_here(extractors, extractor_spec)
    with named_write_errors(dataset.root), writing(dataset.root, "extraction"), \
            make_executor(executor, num_workers=num_workers, ray_address=ray_address) as runner:
        if executor == "ray":
            runner.start(extractors)  # refuses a CUDA device the cluster lacks before any table is touched
        return _extract_all(dataset, extractors, corpus_root, runner, batch_size, on_error, progress, table_format,
                            force)


def _extract_all(
    dataset: Dataset, extractors: Sequence[Extractor], corpus_root: str | Path | None, runner: Any, batch_size: int,
    on_error: OnError, progress: ProgressSink | bool | None, table_format: str = layout.DEFAULT_FEATURE_FORMAT,
    force: bool = False,
) -> list[TableReport]:
    root = Path(corpus_root or dataset.manifest.corpus["root"])
    names = [e.table_name for e in extractors]
    if len(set(names)) != len(names):  # name the table and the two specs, as the command line takes them
        table = next(name for name in names if names.count(name) > 1)
        specs = [extractor_spec(e) for e in extractors if e.table_name == table]
        raise DatasetError(
            f"two extractors write the same table {table!r}: {specs[0]!r} and {specs[1]!r}; expected one extractor per "
            "table (a dataset holds one config per table): extract the other config into another OUTPUT_DIR, or run it "
            "alone with --force to replace the table"
        )
    _check_media_present(dataset, extractors)
    with footers_read_once():  # the refusals, each claim and each finish read a shard's footer once in all
        if not force:
            refuse_tables_not_kept(dataset, extractors, table_format)
        reports = []
        sink = progress_sink(progress)
        for extractor in extractors:
            if force:
                drop_table(dataset, extractor.table_name)
            reports.append(_extract_table(dataset, extractor, root, runner, batch_size, on_error, sink, table_format))
    return reports
