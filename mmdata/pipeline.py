"""corpus -> samples table -> extractors -> feature tables, resumable at shard granularity.

    result = extract("coco", "/data/coco", "out/coco", extractors=["color-hist", "minilm"], split="val2017")

A finished shard is never rewritten: a re-run skips it, so an interrupted run resumes where it
stopped. Shards and the manifest are written atomically, so readers never see partial output.
"""
from __future__ import annotations

import hashlib
import json
import logging
import numbers
import shlex
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from mmdata.batch_work import ItemResult, item_failure
from mmdata.corpora.base import LoadProblem, get_corpus_kind, load_corpus, require_dir
from mmdata.corpora.sources import SOURCES_KEY, changed_sources, source_names, stat_sources
from mmdata.errors import ConfigError, CorpusFormatError, DatasetError, ExtractionError, SchemaMismatchError
from mmdata.executors import LocalExecutor
from mmdata.features.base import Extractor, create_extractor
from mmdata.options import (
    build_options, did_you_mean, check_count, check_flag, key_value_mapping, literal_choices, option_text,
    options_to_json, short_repr, spec_list,
)
from mmdata.precomputed import write_precomputed_tables
from mmdata.progress import ProgressSink, progress_sink
from mmdata.records import samples_to_table
from mmdata.store import layout
from mmdata.store.lock import writing
from mmdata.store.manifest import Manifest, read_manifest, write_manifest
from mmdata.store.metadata import FeatureSpec, feature_schema
from mmdata.store.moments import feature_moments, has_moments, stored_moments, write_shard_moments
from mmdata.store.reader import Dataset, open_dataset
from mmdata.store.shard_writer import BackgroundShardWriter
from mmdata.store.shards import read_shard, shard_rows
from mmdata.store.tables import (
    WAYS_OUT, MixedVersionsError, TableReport, claim_refusal, claim_table, drop_table, finish_table, put_back,
    refuse_mixed_versions, shard_path, versions_differ,
)
from mmdata.store.writer import FeatureBatchBuilder, errors_table, write_table_atomic

log = logging.getLogger(__name__)
OnError = Literal["fail", "skip"]
ExecutorName = Literal["local", "ray"]


@dataclass(repr=False)
class ExtractReport:
    """What `extract` wrote: the samples table's rows, and a `TableReport` per feature table."""

    dataset_dir: Path
    samples: int
    loader_errors: int
    tables: list[TableReport] = field(default_factory=list)
    #: The samples table an earlier run of this corpus made, kept as it is: the corpus was not read
    #: again, so files added to it since are not in the dataset (extract into a new directory for them).
    samples_reused: bool = False
    #: Corpus files the kept samples or precomputed tables were read from that changed since
    #: ('CMU_MOSI_COVAREP.csd (modified)', `corpora.sources`); the dataset still holds what they held.
    changed_sources: list[str] = field(default_factory=list)

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
        reused = " (kept from an earlier run)" if self.samples_reused else ""
        lines = [f"dataset_dir={str(self.dataset_dir)!r}",
                 f"samples={self.samples}{reused}, loader_errors={self.loader_errors}"]
        lines += [f"{t.name}: {t.rows} rows, {t.errors} failed ({t.shards_written} shards written, "
                  f"{t.shards_skipped} kept)" for t in self.tables[:8]]
        if len(self.tables) > 8:
            lines.append(f"... {len(self.tables) - 8} more tables")
        if self.changed_sources:
            lines.append(f"changed_sources={self.changed_sources[:3]}" + (" ..." if len(self.changed_sources) > 3 else ""))
        lines.append("ok" if self.ok else f"every item failed in {self.failed_tables}")
        return short_repr(type(self).__name__, lines)


def extract(
    kind: str,
    corpus_dir: str | Path,
    output_dir: str | Path,
    *,
    extractors: Sequence[str | Extractor] | None = None,
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
) -> ExtractReport:
    """Load a corpus into a dataset directory and compute every requested feature table.

    Args:
        kind: corpus kind (`coco`, `karpathy`, `flickr30k`, `manifest`, ...).
        corpus_dir: the corpus folder, in the kind's own layout (`mmdata kinds` lists them).
        output_dir: the dataset directory to write (made when new). One holding a dataset of the same
            corpus, split and options gains the requested tables; another corpus's is refused.
        extractors: extractor specs (`"resnet50"`, `"color-hist:bins=8"`) or instances, as a list,
            or a string of specs separated by commas (`"color-hist:bins=8,minilm"`; a comma before
            `KEY=` separates a spec's options); None picks defaults that need no download for the
            modalities the corpus has (see `default_extractors`); [] writes the samples table (and
            the tables a corpus carries, such as a .csd folder's) only.
        split: load only this split of the corpus (`val2017`); None: every split.
        corpus_options: the loader's options (`mmdata kinds KIND` lists them), as a dict or as
            `"key=value,key=value"` text read as the command line's `-o` (`{"labels": "none"}` or
            `"labels=none"`).
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
            table of the run in one error, before any is computed: `refuse_tables_not_kept`).

    Returns:
        An `ExtractReport`; `report.ok` is False, and a warning is logged, when every item of a
        table failed (`report.failed_tables`; the errors tables say why).

    Raises:
        CorpusNotFoundError, CorpusFormatError: the corpus is missing or malformed.
        ConfigError: an argument has a value the pipeline does not take (`on_error`, `table_format`,
            `executor`, `batch_size`, `shard_size`, `num_workers`, `force`, `corpus_options`, `extractors`):
            refused before anything is read or written.
        DatasetError: a requested table cannot be kept (without `force`), or two extractors write one table.
        ExtractionError: an item failed with on_error='fail'.

    Example:
        >>> report = extract("coco", "/data/coco", "out/coco", extractors="color-hist,minilm", split="val2017")
        >>> report.ok, [(t.name, t.rows, t.errors) for t in report.tables]
    """
    check_run_options(on_error=on_error, batch_size=batch_size, shard_size=shard_size, table_format=table_format)
    check_executor(executor)
    check_count("num_workers", num_workers, minimum=0, optional=True)
    check_flag("force", force)
    corpus_options = key_value_mapping(corpus_options, argument="corpus_options")
    if extractors is not None:
        extractors = spec_list(extractors, argument="extractors", item_types=(str, Extractor))
    instances = None if extractors is None else [e if isinstance(e, Extractor) else create_extractor(e) for e in extractors]
    get_corpus_kind(kind)  # unknown kinds, missing corpora and weights fail before the output directory is made
    require_dir(corpus_dir)
    for instance in instances or ():
        instance.check_ready()
    with writing(output_dir, "extraction"), make_executor(executor, num_workers=num_workers,
                                                          ray_address=ray_address) as runner:
        runner.start(instances)  # local workers boot while the corpus loads
        reused = (Path(output_dir) / layout.MANIFEST_NAME).is_file()  # _prepare refuses it for another corpus
        dataset, precomputed = _prepare(
            kind, corpus_dir, output_dir, split=split, options=corpus_options, on_error=on_error, shard_size=shard_size,
            table_format=table_format, force=force,
        )
        report = ExtractReport(
            dataset_dir=dataset.root,
            samples=int(dataset.manifest.samples["rows"]),
            loader_errors=int(dataset.manifest.samples.get("loader_errors", 0)),
            samples_reused=reused,
        )
        if reused:
            log.info("%s: the samples table of an earlier run is kept; the corpus is not read again", dataset.root)
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


def _prepare(
    kind: str, corpus_dir: str | Path, output_dir: str | Path, *, split: str | None, options: dict[str, Any] | None,
    on_error: OnError, shard_size: int, table_format: str = layout.DEFAULT_FEATURE_FORMAT, force: bool = False,
) -> tuple[Dataset, list[TableReport]]:
    get_corpus_kind(kind)  # unknown kinds fail before anything is read
    root = require_dir(corpus_dir).resolve()
    output_dir = Path(output_dir)
    corpus_spec = {"kind": kind, "root": str(root), "split": split, "options": dict(sorted((options or {}).items()))}
    if (output_dir / layout.MANIFEST_NAME).is_file():
        manifest = read_manifest(output_dir)
        differing = [k for k in ("kind", "root", "split") if manifest.corpus.get(k) != corpus_spec[k]]
        differing += [] if _same_options(kind, manifest.corpus.get("options"), corpus_spec["options"]) else ["options"]
        if not differing:
            dataset = open_dataset(output_dir)
            pending = [n for n in manifest.samples.get("precomputed", []) if not _table_complete(manifest, n)]
            if not pending:
                return dataset, []
            changed = changed_sources(root, manifest.extra.get(SOURCES_KEY))
            if changed:  # finishing the tables from the files as they are now would mix two versions of them
                raise DatasetError(
                    f"{output_dir}: the precomputed tables {pending} are unfinished, and corpus files they or the "
                    f"samples were read from changed since: {', '.join(changed)}; extract into a new output "
                    "directory to read the corpus as it is now")
            # An interrupted run left precomputed tables unfinished: load again to finish them.
            tables = load_corpus(kind, root, split=split, options=options).tables
            return open_dataset(output_dir), write_precomputed_tables(dataset, tables, on_error=on_error, force=force,
                                                                      table_format=table_format)
        if set(differing) <= {"split", "options"}:
            changes = "; ".join(f"{k} {manifest.corpus.get(k)!r} there, {corpus_spec[k]!r} now" for k in differing)
            raise DatasetError(
                f"{output_dir} holds a dataset of this corpus loaded with other settings ({changes}); use the "
                "settings it was made with to add tables, or choose another output directory"
            )
        raise DatasetError(
            f"{output_dir} already holds a dataset of another corpus ({manifest.corpus['kind']} at "
            f"{manifest.corpus['root']}, split {manifest.corpus.get('split')}); choose another output directory"
        )
    result = load_corpus(kind, root, split=split, options=options)
    if not result.samples:
        first = f"; the first: {result.problems[0].path}: {result.problems[0].reason}" if result.problems else ""
        if split and not result.problems:  # the loaders report only entries of the split asked for
            raise CorpusFormatError(
                f"no sample loaded from {root} (corpus {kind}, split {split}): split {split!r} matched no entry of "
                "the corpus; check the split name (without --split, every "
                "split is loaded)"
            )
        raise CorpusFormatError(
            f"no sample loaded from {root} (corpus {kind}" + (f", split {split}" if split else "") + f"): "
            f"{len(result.problems)} annotation entries could not be used{first}; check the corpus kind, split "
            "and annotation files"
        )
    if on_error == "fail" and result.problems:
        first, more = result.problems[0], len(result.problems) - 1
        raise CorpusFormatError(
            f"{first.path}: {first.reason}" + (f" (sample {first.sample_id})" if first.sample_id else "")
            + "; nothing was written: --on-error fail stops at the loader's first problem"
            + (f" ({more} more)" if more else "") + "; --on-error skip records them in the errors table and goes on"
        )
    table = samples_to_table(result.samples)
    write_samples(output_dir, table, result.problems, shard_size=shard_size)
    manifest = Manifest(
        corpus=corpus_spec,
        samples=samples_entry(table, shard_size, loader_errors=len(result.problems),
                              precomputed=[t.name for t in result.tables]),
        extra={"loader": result.metadata} if result.metadata else {},
    )
    sources = stat_sources(root, source_names(result))
    if sources:  # so that a rerun can tell a .csd, pickle or label file replaced since (`corpora.sources`)
        manifest.extra[SOURCES_KEY] = sources
    write_manifest(output_dir, manifest)
    reports = write_precomputed_tables(open_dataset(output_dir), result.tables, on_error=on_error,
                                       table_format=table_format)
    return open_dataset(output_dir), reports


def write_samples(output_dir: Path, table: pa.Table, problems: Sequence[LoadProblem], *, shard_size: int) -> None:
    """Write the samples table in shards of `shard_size` rows, and the loader's problems as errors.

    Runs before the manifest exists, so whatever shards its folders hold are an interrupted run's
    (killed before it wrote the manifest): they are removed first, never counted with the new ones."""
    _check_unique_ids(table)
    _remove_unfinished_samples(output_dir)
    for index, start in enumerate(range(0, max(len(table), 1), shard_size)):
        write_table_atomic(table.slice(start, shard_size), layout.samples_dir(output_dir) / layout.shard_name(index))
    if problems:
        records = [
            {"table": layout.LOADER_ERRORS_TABLE, "sample_id": p.sample_id, "path": p.path, "stage": "load",
             "error_type": p.error_type, "reason": p.reason}
            for p in problems
        ]
        write_table_atomic(
            errors_table(records), layout.errors_dir(output_dir, layout.LOADER_ERRORS_TABLE) / layout.shard_name(0)
        )


def _remove_unfinished_samples(output_dir: Path) -> None:
    """The shards a run killed while writing the samples table or the loader's errors left behind
    (only files of the store's naming: a folder of other files is left alone; its temporary files
    went when this run took the writer lock, `store.lock.remove_stale_temporaries`)."""
    for folder in (layout.samples_dir(output_dir), layout.errors_dir(output_dir, layout.LOADER_ERRORS_TABLE)):
        for path in layout.shard_files(folder):
            path.unlink(missing_ok=True)


def _table_complete(manifest: Manifest, name: str) -> bool:
    return name in manifest.tables and manifest.tables[name].complete


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
    with writing(dataset.root, "extraction"), make_executor(executor, num_workers=num_workers,
                                                           ray_address=ray_address) as runner:
        return _extract_all(dataset, extractors, corpus_root, runner, batch_size, on_error, progress, table_format,
                            force)


def make_executor(executor: ExecutorName, *, num_workers: int | None = None, ray_address: str | None = None) -> Any:
    """The executor named: 'local' (process pool) or 'ray' (Ray Data); `num_workers` None: each
    executor's default (local: decide per extractor from its measured decoding; Ray: one task per CPU
    of the cluster)."""
    check_executor(executor)
    if executor == "local":
        return LocalExecutor(num_workers=num_workers)
    if executor == "ray":
        from mmdata.ray_executor import RayExecutor

        return RayExecutor(address=ray_address, num_workers=num_workers)
    raise AssertionError(f"executor {executor!r} passed check_executor")  # unreachable


def check_executor(executor: Any) -> None:
    """Refuse an executor name `make_executor` does not know (before anything is written, in `extract`).

    Raises:
        ConfigError: naming the value and the executors there are.
    """
    if isinstance(executor, bool) or not isinstance(executor, str) or executor not in literal_choices(ExecutorName):
        raise ConfigError(f"unknown executor {executor!r}; expected 'local' (process pool) or 'ray' (Ray Data)"
                          f"{did_you_mean(executor, literal_choices(ExecutorName))}")


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
    if not force:
        refuse_tables_not_kept(dataset, extractors, table_format)
    reports = []
    sink = progress_sink(progress)
    for extractor in extractors:
        if force:
            drop_table(dataset, extractor.table_name)
        reports.append(_extract_table(dataset, extractor, root, runner, batch_size, on_error, sink, table_format))
    return reports


def refuse_tables_not_kept(dataset: Dataset, extractors: Sequence[Extractor], table_format: str) -> None:
    """Refuse, before any table is claimed or computed, every requested table `claim_table` would refuse
    (made with another config, feature spec or table format, or for other samples), all in one error: a
    run stopping at the first would leave the user to meet the next one only after fixing it.

    Raises:
        DatasetError: one refused table: `claim_table`'s own one-line message; several: a first line
            with their count and the `--force` run that replaces just them, then one line per table.
    """
    if table_format not in layout.TABLE_FORMATS:
        return  # the claim itself refuses the format, as it always has
    refused = [(e, why) for e in extractors
               if (why := claim_refusal(dataset, _table_provenance(dataset, e), table_format=table_format))]
    if len(refused) == 1:
        table_dir = layout.feature_dir(dataset.root, refused[0][0].table_name)
        errors_dir = layout.errors_dir(dataset.root, refused[0][0].table_name)
        raise DatasetError(f"{refused[0][1]}; {WAYS_OUT.format(table_dir=table_dir, errors_dir=errors_dir)}")
    if refused:
        raise DatasetError(_tables_refused_message(dataset, extractors, refused, table_format))


def _tables_refused_message(dataset: Dataset, extractors: Sequence[Extractor],
                            refused: list[tuple[Extractor, str]], table_format: str) -> str:
    """Several tables refused: their count and the way out on the first line, then each table's reason."""
    command = force_command(dataset, [e for e, _ in refused], table_format)
    first = (f"{len(refused)} requested tables of {dataset.root} cannot be kept, so the run changed nothing; --force "
             f"replaces the named extractors' tables, so a run naming only these {len(refused)} replaces just them: "
             f"`{command}`" + (" (then the run without --force goes on with the others)" if len(extractors) > len(refused)
                               else "") + "; or remove these tables' folders, or write to another output directory:")
    return "\n".join([first, *(f"  {why}" for _, why in refused)])


def force_command(dataset: Dataset, extractors: Sequence[Extractor], table_format: str) -> str:
    """The `mmdata extract ... --force` command line that replaces just these extractors' tables of the
    dataset: its corpus as the manifest records it, each extractor spelled as the command line takes it."""
    corpus = dataset.manifest.corpus
    words = ["mmdata", "extract", corpus["kind"], corpus["root"], str(dataset.root)]
    if corpus.get("split"):
        words += ["--split", corpus["split"]]
    for key, value in (corpus.get("options") or {}).items():
        words += ["-o", f"{key}={_option_spelling(value)}"]
    for extractor in extractors:
        words += [f"--{extractor.modality}", extractor_spec(extractor)]
    if table_format != layout.DEFAULT_FEATURE_FORMAT:
        words += ["--table-format", table_format]
    return shlex.join([*words, "--force"])


def extractor_spec(extractor: Extractor) -> str:
    """`name[:key=value,...]` as the command line and recipes take it (`create_extractor`), with the
    options that differ from the extractor's defaults and apply (`Extractor.inapplicable_options`):
    `kaldi-fbank:snip_edges=false`."""
    config, defaults = options_to_json(extractor.config), options_to_json(type(extractor.config)())
    skipped = extractor.inapplicable_options()
    options = ",".join(f"{key}={_option_spelling(value)}" for key, value in config.items()
                       if value != defaults.get(key) and key not in skipped)
    return f"{extractor.name}:{options}" if options else extractor.name


def _option_spelling(value: Any) -> str:
    """An option value as the command line takes it (`option_text`); one it cannot spell, as JSON."""
    try:
        return option_text(value)
    except ConfigError:
        return json.dumps(value)


def _table_provenance(dataset: Dataset, extractor: Extractor) -> dict[str, Any]:
    """What the extractor's table records of how it was made, this dataset's samples included."""
    provenance = extractor.provenance()
    provenance["samples_fingerprint"] = dataset.manifest.samples["fingerprint"]
    return provenance


#: The samples-table columns an extractor of each modality reads its media from (audio extractors
#: fall back to the audio track of the video).
MEDIA_COLUMNS = {"image": ("image",), "audio": ("audio", "video"), "video": ("video",)}


def _check_media_present(dataset: Dataset, extractors: Sequence[Extractor]) -> None:
    """Refuse, before anything is computed, an extractor whose modality no sample has a file for:
    every item would fail."""
    wanted = {e.modality for e in extractors if e.modality in MEDIA_COLUMNS}
    if not wanted or not int(dataset.manifest.samples["rows"]):
        return
    columns = sorted({c for m in wanted for c in MEDIA_COLUMNS[m]})
    samples = dataset.samples_table(columns=columns)
    present = {c for c in columns if samples.column(c).null_count < len(samples)}
    for extractor in extractors:
        files = MEDIA_COLUMNS.get(extractor.modality, ())
        if files and not present.intersection(files):
            corpus = dataset.manifest.corpus
            raise ConfigError(
                f"extractor {extractor.name!r} reads {extractor.modality}, but no sample of {dataset.root} has "
                f"{' or '.join(repr(c) for c in files)} media (corpus {corpus['kind']} at {corpus['root']}); "
                f"drop --{extractor.modality}, or extract a corpus that has {extractor.modality}"
            )


def _extract_table(
    dataset: Dataset, extractor: Extractor, corpus_root: Path, runner: Any, batch_size: int,
    on_error: OnError, progress: ProgressSink, table_format: str,
) -> TableReport:
    name = extractor.table_name
    provenance = _table_provenance(dataset, extractor)
    spec = extractor.output_spec()
    before = dataset.manifest.tables.get(name)
    claim_table(dataset, provenance, table_format=table_format)
    try:
        return _fill_table(dataset, extractor, provenance, spec, corpus_root, runner, batch_size, on_error, progress)
    except MixedVersionsError:
        put_back(dataset, {name: before})  # a refused run leaves the table as it found it
        raise
    except BaseException:
        if not layout.shard_files(layout.feature_dir(dataset.root, name)):
            drop_table(dataset, name)  # failed before its first shard (weights missing, a bad option): no trace
        raise


def _fill_table(
    dataset: Dataset, extractor: Extractor, provenance: dict[str, Any], spec: FeatureSpec, corpus_root: Path,
    runner: Any, batch_size: int, on_error: OnError, progress: ProgressSink,
) -> TableReport:
    """Compute the claimed table's pending shards (and those that no longer match the samples)."""
    name = extractor.table_name
    shards = layout.shard_files(layout.samples_dir(dataset.root))
    total_rows = int(dataset.manifest.samples["rows"])
    progress.start(f"{name}", total_rows)
    pending = []
    fingerprint = provenance["samples_fingerprint"]
    redone = 0
    for index, samples_shard in enumerate(shards):
        out_path = shard_path(dataset, name, index)
        if out_path.is_file() and not _rows_match(out_path, samples_shard):
            # edited or replaced since it was written: computed again (and written atomically over it)
            log.warning("%s: %s does not hold the rows of samples shard %s; computing it again", name, out_path,
                        samples_shard.name)
            redone += 1
            pending.append((index, samples_shard))
        elif out_path.is_file():
            _count_as_already_done(progress, shard_rows(out_path))
            if has_moments(spec) and stored_moments(out_path, int(spec.dim or 0), fingerprint) is None:
                # interrupted between the two writes, or the moments file was damaged or outlived its shard
                _write_moments(out_path, read_shard(out_path, ["feature"]), samples_shard, spec, fingerprint)
        else:
            pending.append((index, samples_shard))
    refuse_mixed_versions(dataset, name, provenance["versions"], len(pending))
    if hasattr(runner, "stream_shards"):  # Ray: one execution over every pending shard
        runner.stream_shards(extractor, [s for _, s in pending], corpus_root, batch_size)
    pooled_floats = has_moments(spec)
    written = 0
    try:
        # Shards are written on a thread as their chunks arrive, while the next rows are computed.
        with BackgroundShardWriter(feature_schema(spec, provenance), keep_rows=pooled_floats) as writer:
            for index, chunk, errors in _run_shards(extractor, spec, provenance, pending, corpus_root, runner,
                                                    batch_size, on_error, progress):
                out_path = shard_path(dataset, name, index)
                writer.add(out_path, chunk)
                if errors is None:  # more rows of this shard to come
                    continue
                err_path = layout.errors_dir(dataset.root, name) / layout.shard_name(index)
                moments = partial(_write_moments, out_path, samples_shard=shards[index], spec=spec,
                                  fingerprint=fingerprint) if pooled_floats else None
                writer.finish(out_path, before=partial(_write_errors, err_path, errors), then=moments)
                written += 1
    finally:
        progress.finish()
    report = finish_table(dataset, name, written=written)
    report.decoded_in = getattr(runner, "decisions", {}).get(name)
    report.shards_redone = redone
    report.made_with = versions_differ(dataset.manifest.tables[name].versions, provenance["versions"])
    return report


def _count_as_already_done(progress: ProgressSink, rows: int) -> None:
    """Rows of a shard an earlier run wrote: shown as done, but not as this run's throughput, where
    the sink tells them apart (`RichProgress.already_done`); others just advance."""
    getattr(progress, "already_done", progress.advance)(rows)


def _rows_match(shard: Path, samples_shard: Path) -> bool:
    """The feature shard holds exactly the sample ids of its samples shard, in order (a finished
    shard a re-run may keep)."""
    return read_shard(shard, ["sample_id"]).column(0).equals(read_shard(samples_shard, ["sample_id"]).column(0))


def _write_errors(path: Path, errors: list[dict[str, Any]]) -> None:
    """The shard's errors table (before the shard itself: a finished shard always has its errors)."""
    if errors:
        write_table_atomic(errors_table(errors), path)
    else:
        path.unlink(missing_ok=True)


def _write_moments(path: Path, features: pa.Table, samples_shard: Path, spec: FeatureSpec, fingerprint: str | None) -> None:
    """Per-split moments of a pooled shard next to it, so `fuse` need not read it again for its statistics."""
    splits = read_shard(samples_shard, ["split"]).column("split").to_numpy(zero_copy_only=False)
    write_shard_moments(path, feature_moments(features.column("feature"), splits), int(spec.dim or 0), fingerprint)


#: A shard's rows go to the writer in chunks of about this many feature bytes (Parquet row groups).
CHUNK_BYTES = 8 << 20


def _run_shards(
    extractor: Extractor, spec: FeatureSpec, provenance: dict[str, Any], pending: list[tuple[int, Path]],
    corpus_root: Path, runner: Any, batch_size: int, on_error: OnError, progress: ProgressSink,
) -> Iterator[tuple[int, Callable[[], pa.Table], list[dict[str, Any]] | None]]:
    """Yield (shard index, feature rows, error records) per chunk of each pending samples shard:
    the error records come with a shard's last chunk, None with the chunks before it. The rows
    come as a function that builds their Arrow table, for the shard writer's thread to call.

    The batches of every pending shard go to the runner as one stream, so the workers stay busy
    across shard boundaries while a finished shard is written. A batch never spans two shards.
    """
    boundaries: deque[tuple[int, int]] = deque()  # (shard index, rows), appended as the stream reads ahead

    def batches() -> Iterator[list[dict[str, Any]]]:
        for index, samples_shard in pending:
            rows = read_shard(samples_shard).to_pylist()
            boundaries.append((index, len(rows)))
            yield from _batches(rows, batch_size)

    builder, errors, handed = FeatureBatchBuilder(spec, provenance), [], 0  # handed: rows of this shard yielded

    def ready_chunks() -> Iterator[tuple[int, Callable[[], pa.Table], list[dict[str, Any]] | None]]:
        nonlocal builder, errors, handed
        while boundaries and handed + len(builder) == boundaries[0][1]:
            index, _ = boundaries.popleft()
            yield index, builder.build, errors
            builder, errors, handed = FeatureBatchBuilder(spec, provenance), [], 0
        # A chunk is cut at CHUNK_BYTES, and before a shard's last batch when it holds a quarter of
        # that: the writer is then left with one batch's rows to encode once the computing is over.
        last_batch_next = boundaries and 0 < boundaries[0][1] - handed - len(builder) <= batch_size
        if boundaries and (builder.nbytes >= CHUNK_BYTES or (last_batch_next and builder.nbytes >= CHUNK_BYTES // 4)):
            handed += len(builder)
            yield boundaries[0][0], builder.build, None
            builder = FeatureBatchBuilder(spec, provenance)

    stream = batches()
    for batch_rows, results in runner.run(extractor, stream, corpus_root):
        for row, result in zip(batch_rows, results):
            if result.ok:
                unfit = _add_feature(builder, spec, result)
                if unfit is None:
                    continue
                result = _unfit_output(extractor, spec, row, unfit)
            if on_error == "fail":
                raise ExtractionError(
                    f"sample {result.sample_id!r}" + (f" ({result.path})" if result.path else "")
                    + f": {result.stage} failed in {extractor.table_name}: {result.error_type}: {result.reason}"
                    + "; fix or remove the item, or re-run with --on-error skip to record it and go on"
                )
            builder.add(row["sample_id"], None)
            errors.append(_error_record(extractor.table_name, result))
        progress.advance(len(batch_rows))
        yield from ready_chunks()
    for _ in stream:  # shards with no rows left in the stream (empty samples table)
        pass
    yield from ready_chunks()


def _add_feature(builder: FeatureBatchBuilder, spec: FeatureSpec, result: ItemResult) -> Exception | None:
    """Add the item's feature to the shard's rows; a feature the table cannot hold (None, another
    shape, values that are not numbers) adds nothing and is returned, to fail that item alone."""
    if result.value is None:
        return SchemaMismatchError("the extractor returned no feature (None) for this item")
    if spec.intervals and not (isinstance(result.value, (tuple, list)) and len(result.value) == 2):
        return SchemaMismatchError(f"the extractor declares intervals, so compute must return (features (T, D), "
                                   f"intervals (T, 2)) per item; got {type(result.value).__name__}")
    try:
        if spec.intervals:
            values, intervals = result.value
            builder.add(result.sample_id, values, intervals)
        else:
            builder.add(result.sample_id, result.value)
    except (SchemaMismatchError, ValueError, TypeError) as e:  # the builder added nothing
        return e
    return None


def _unfit_output(extractor: Extractor, spec: FeatureSpec, row: dict[str, Any], error: Exception) -> ItemResult:
    """The failure of an item whose computed feature does not fit the extractor's declared output."""
    failure = item_failure(row, extractor, "compute", error)
    declared = f"{spec.kind} {spec.dtype} features of dim {spec.dim if spec.dim is not None else 'any'}"
    return replace(failure, reason=f"extractor {extractor.name!r} declares {declared}, and this item's cannot be "
                                   f"stored as one: {failure.reason}")


def _error_record(table: str, result: ItemResult) -> dict[str, Any]:
    return {"table": table, "sample_id": result.sample_id, "path": result.path, "stage": result.stage,
            "error_type": result.error_type, "reason": result.reason}


def _batches(rows: list[dict[str, Any]], batch_size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), batch_size):
        yield rows[start : start + batch_size]


def _same_options(kind: str, recorded: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """Whether two corpus option mappings mean the same loader options: compared as the loader reads
    them (typed, defaults filled in), so a recipe's `false`, the flag's `False` and leaving the default
    agree. Options this version cannot read are compared as written."""
    if (recorded or {}) == wanted:
        return True
    options_type = get_corpus_kind(kind).options_type
    try:
        return build_options(options_type, recorded or {}, owner="recorded") == \
            build_options(options_type, wanted, owner="given")
    except ConfigError:
        return False


def _check_unique_ids(table: pa.Table) -> None:
    ids = table.column("sample_id")
    if len(ids) != len(set(ids.to_pylist())):
        import pyarrow.compute as pc

        counts = pc.value_counts(ids)
        dup = next(c["values"] for c in counts.to_pylist() if c["counts"] > 1)
        raise CorpusFormatError(f"sample id {dup!r} occurs more than once; loaders must yield unique ids")


def samples_entry(table: pa.Table, shard_size: int, *, loader_errors: int,
                  precomputed: Sequence[str] = ()) -> dict[str, Any]:
    """The manifest's `samples` entry for a samples table written by `write_samples` in shards of `shard_size`."""
    import pyarrow.compute as pc

    total = len(table)
    return {
        "path": layout.SAMPLES_DIR,
        "rows": total,
        "shards": [min(shard_size, total - start) for start in range(0, total, shard_size)] or [0],
        "shard_size": shard_size,
        "fingerprint": fingerprint_ids(table.column("sample_id").to_pylist()),
        "loader_errors": loader_errors,
        "splits": {c["values"]: c["counts"] for c in pc.value_counts(table.column("split")).to_pylist()},
        "precomputed": list(precomputed),
    }


def fingerprint_ids(ids: Any) -> str:
    digest = hashlib.sha256()
    for sample_id in ids:
        digest.update(sample_id.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
