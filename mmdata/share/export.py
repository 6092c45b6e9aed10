"""`share_dataset`: a dataset directory -> a folder ready to publish on the Hugging Face Hub or copy anywhere.

The folder is still an mmdata dataset (`open_dataset`, `mmdata check`, `mmdata report` work on it),
re-sharded by split so that `datasets.load_dataset(OUT, name=...)` finds one Parquet file list per
split and config:

    OUT/
      README.md                                  dataset card: YAML configs + dataset_info, then the description
      mmdata.json                                manifest (samples re-sharded by split; provenance kept)
      checksums.sha256                           SHA-256 of every other file (`mmdata verify OUT`)
      samples/part-00000-train.parquet ...       config "samples" (the default)
      features/<table>/part-00000-train.parquet  one config per feature table; shard k holds the rows of
                                                 samples shard k, in the same order
      errors/<table>/part-*.parquet              failed items, copied as they are

Rows of a split come in the same order in every config, so row i of `samples` and row i of a
feature table are the same sample. Feature tables are re-sharded one at a time, an output shard
at a time, each read from the source shards that hold its rows, a batch at a time (`share.rows`),
so memory does not grow with a table's size; embedded media are read one output shard at a time.
Each file is cut into row groups a streaming reader can hold (`share.row_groups`: 100 rows where they
embed media); where samples embed media, an output shard is cut further into files of at most ~500 MB
(`share.row_groups.file_lengths`), and every table's files follow that cut.
No absolute path of the producer's machine is published: media paths, the ids made from them and
the paths in error reasons are relative to the corpus root or `<outside corpus>/<name>`
(`share.redact`, `share.redact_tables`).

A dataset an extract or align writes now is refused, and none starts until the share has read it
(`share.source_lock`; shares of one dataset run side by side). One share at a time writes an OUT (a lock
file beside it; a second one is refused at once). Each
run writes into a temporary folder of its own beside OUT and moves it in when complete; a share
it replaces is moved aside first and deleted last, so a kill leaves the old share (maybe still aside,
as `.OUT.replaced`) or the new one, and the next run clears what a killed one left (`share.publish`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.corpora.sources import SOURCES_KEY
from mmdata.errors import ConfigError, DatasetError, MediaError, MmdataError
from mmdata.options import check_count, check_flag, dataset_path, path_argument, short_repr
from mmdata.share.card import CardConfig, LabelSummary, render_card, shareable_provenance
from mmdata.share.checks import checks_summary, require_passing, run_checks
from mmdata.share.checksums import write_checksums
from mmdata.share.failed import failed_items
from mmdata.share.hf import MediaKind, hf_features, hf_split_names, with_hf_metadata
from mmdata.share.media import (
    MissingMedia,
    count_media_files,
    embed_media,
    embedded_columns,
    embedded_name,
    media_columns,
    missing_kept_media,
)
from mmdata.share.publish import CARD_NAME, check_out_dir, new_partial_folder, recover_interrupted_share, replace_folder
from mmdata.share.redact import PathRedactor
from mmdata.share.redact_tables import (
    copy_errors_tables,
    redact_checks,
    redact_column,
    redact_feature_rows,
    redact_samples,
    share_redactor,
)
from mmdata.share.row_groups import file_bytes, file_lengths, row_group_rows, write_share_file
from mmdata.share.rows import TableRows
from mmdata.share.source_lock import no_writer
from mmdata.store.lock import output_lock
from mmdata.store import layout
from mmdata.store.files import write_text_atomic
from mmdata.store.grown_samples import FINGERPRINT_ROWS_KEY, UPDATE_LEFT_KEY
from mmdata.store.manifest import Manifest, TableEntry, write_manifest
from mmdata.store.metadata import METADATA_KEY, decode_metadata
from mmdata.store.reader import Dataset, open_dataset

if TYPE_CHECKING:
    from mmdata.checks import CheckReport

log = logging.getLogger(__name__)

MediaMode = Literal["reference", "embed"]


@dataclass(frozen=True)
class OutputShard:
    """One output shard: rows `indices` of the source samples table, all of split `split`."""

    index: int
    split: str
    hf_split: str
    indices: pa.Array  # int64 positions in the source samples table

    @property
    def file_name(self) -> str:
        return f"part-{self.index:05d}-{self.hf_split}.parquet"


@dataclass(repr=False)
class ShareReport:
    """What `share_dataset` wrote."""

    out_dir: Path
    rows: int
    splits: dict[str, int]  # datasets split name -> rows
    configs: list[str]
    files: int
    bytes: int
    media: MediaMode
    checks: CheckReport
    missing_media: list[MissingMedia] = field(default_factory=list)

    def __repr__(self) -> str:
        from mmdata.checks.report import summary_line

        splits = ", ".join(f"{split}: {n}" for split, n in self.splits.items())
        lines = [f"out_dir={str(self.out_dir)!r}: {self.rows} samples ({splits}), media {self.media}",
                 f"{self.files} files, {self.bytes:,} bytes; configs {self.configs[:8]}"
                 + (f" ... {len(self.configs) - 8} more" if len(self.configs) > 8 else ""),
                 f"checks: {summary_line(self.checks)}"]
        if self.missing_media:
            lines.append(f"missing media: {len(self.missing_media)} (first: sample {self.missing_media[0].sample_id!r})")
        return short_repr(type(self).__name__, lines)


def share_dataset(
    dataset_dir: str | Path | Dataset,
    out_dir: str | Path,
    *,
    media: MediaMode = "reference",
    corpus_root: str | Path | None = None,
    allow_failed_checks: bool = False,
    shard_size: int | None = None,
    overwrite: bool = False,
    overwrite_card: bool = False,
    force: bool = False,
) -> ShareReport:
    """Write a publishable copy of a dataset: Parquet per split and table, a dataset card, checksums.

    The share is written into a temporary folder beside `out_dir` and moved in when complete; an
    existing share is moved aside, then deleted, so a killed run leaves the old share or the new
    one, and the next run into `out_dir` clears what it left. One share at a time writes to an
    `out_dir` (a lock file `.<name>.lock` beside it while it runs).

    Args:
        dataset_dir: the dataset directory, or a `Dataset` (`open_dataset`).
        out_dir: the share folder to write.
        media: 'reference' keeps media as paths relative to the corpus root; 'embed' also stores the
            image and audio files in the samples table, as `image_file`/`audio_file` columns
            (`datasets.Image`/`Audio`). Sharing a shared folder again, 'embed' keeps the files it
            holds and 'reference' leaves them out.
        corpus_root: where the corpus lies now (default: the root recorded in the manifest, which a
            shared dataset does not have); only read with media='embed'.
        allow_failed_checks: share even when `mmdata check` finds errors.
        shard_size: rows per output shard (default: the dataset's shard size).
        overwrite: replace an existing share folder at `out_dir`. What tools keep in it (`.git/`,
            `.cache/huggingface/`, `.gitattributes`) is carried over to the new share.
        overwrite_card: with `overwrite`, replace a README.md that differs from the card mmdata
            wrote (edited by hand, say to fill in the licence); without it such a share is refused.
        force: the same as `overwrite` (the name extract, align, segment and the command line use).

    Returns:
        A `ShareReport`: rows per split, the configs (samples and one per table), files and bytes
        written, the checks' report, and media that could not be found or embedded.

    Raises:
        ConfigError: `media` is neither 'reference' nor 'embed', a flag that is not a bool, a
            `shard_size` below 1; media to embed and no corpus root (the dataset records none, or not a folder).
        MediaError: media to embed and not one of the files could be embedded.
        DatasetBusyError: another share writes to `out_dir` now, or an extract or align writes the dataset
            (none starts while it is shared; `share.source_lock`).
        DatasetError: not a dataset, an older layout, failing checks (`ChecksFailedError`), a
            feature table without rows for some samples, or an unusable `out_dir` (an edited card
            among the reasons).

    Example:
        >>> share_dataset("out/coco-val", "out/coco-val-hf", media="embed")
        >>> datasets.load_dataset("out/coco-val-hf", "image.color-hist", split="val2017")
    """
    if media not in ("reference", "embed"):
        raise ConfigError(f"--media must be 'reference' or 'embed', got {media!r}")
    for name, flag in (("allow_failed_checks", allow_failed_checks), ("overwrite", overwrite),
                       ("overwrite_card", overwrite_card), ("force", force)):
        check_flag(name, flag)
    check_count("shard_size", shard_size, optional=True)
    overwrite = overwrite or force
    out_dir = path_argument(out_dir, argument="out_dir")
    source = open_dataset(dataset_path(dataset_dir)).root  # a missing or foreign folder named before any lock
    with no_writer(source):  # the dataset stays one state while it is checked and copied (`share.source_lock`)
        report = _share_unchanging(source, Path(out_dir), media, corpus_root, allow_failed_checks, shard_size,
                                   overwrite, overwrite_card)
    log.info("shared %s as %s (%d files, %d bytes)", source, out_dir, report.files, report.bytes)
    return report


def _share_unchanging(source: Path, out_dir: Path, media: MediaMode, corpus_root: str | Path | None,
                      allow_failed_checks: bool, shard_size: int | None, overwrite: bool,
                      overwrite_card: bool) -> ShareReport:
    """`share_dataset` while no writer changes the dataset: its manifest is read now, so it and the
    tables stay one state while they are checked and copied."""
    dataset = open_dataset(source)
    samples = dataset.samples_table()
    plan = plan_media(samples, media)
    root = embedding_root(dataset, corpus_root) if plan.embedded else None
    checks = run_checks(dataset)
    require_passing(checks, allow_failed_checks=allow_failed_checks, action="share")
    target = Path(os.path.realpath(out_dir))  # a link to a folder stays; the folder it names is replaced
    shard_size = shard_size or int(dataset.manifest.samples.get("shard_size", layout.DEFAULT_SHARD_SIZE))
    with _writable(out_dir, target), output_lock(target, "share", out_dir):
        recover_interrupted_share(target)
        check_out_dir(dataset.root, out_dir, overwrite, overwrite_card)
        partial = new_partial_folder(target)
        try:
            report = _write_share(dataset, plan, partial, root, checks, shard_size)
            replace_folder(partial, target)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    report.out_dir = out_dir
    return report


@dataclass(frozen=True)
class MediaPlan:
    """What happens to the media columns of the samples table being shared."""

    mode: MediaMode
    samples: pa.Table  # the samples table, without the embedded files 'reference' leaves out
    embedded: dict[str, MediaKind]  # path columns whose files are embedded now
    kept: dict[str, MediaKind]  # path columns whose files the samples table holds already (a shared dataset)


def plan_media(samples: pa.Table, media: MediaMode) -> MediaPlan:
    """A dataset shared before with media='embed' holds its files already: 'embed' keeps them as they
    are (the corpus may not be at hand), 'reference' leaves them out."""
    kept = embedded_columns(samples)
    if media == "reference":
        return MediaPlan(media, samples.drop_columns([embedded_name(c) for c in kept]), {}, {})
    return MediaPlan(media, samples, {c: kind for c, kind in media_columns(samples).items() if c not in kept}, kept)


def embedding_root(dataset: Dataset, corpus_root: str | Path | None) -> Path:
    """The corpus folder media are embedded from: `corpus_root`, else the place the manifest records.

    Raises:
        ConfigError: no place is recorded (a shared dataset keeps the folder's name only, which a
            folder of that name under the current directory would match by chance), or the folder
            does not exist.
    """
    recorded = dataset.manifest.corpus.get("root")
    if corpus_root is None and dataset.manifest.corpus_location() is None:
        raise ConfigError(
            f"cannot embed media of {dataset.root}: its {layout.MANIFEST_NAME} records the corpus root as "
            f"{recorded!r}, not a folder's full path (a shared dataset keeps only the folder's name); pass "
            "--corpus-root with the folder that holds the corpus"
        )
    root = Path(corpus_root) if corpus_root is not None else dataset.manifest.corpus_location()
    if not root.is_dir():
        given = "given with --corpus-root" if corpus_root is not None else f"recorded in {layout.MANIFEST_NAME}"
        raise ConfigError(f"cannot embed media of {dataset.root}: the corpus root {root} ({given}) is not a folder; "
                          "pass --corpus-root with the folder that holds the corpus now, or share with --media reference")
    return root


def plan_shards(splits: pa.Array, shard_size: int) -> list[OutputShard]:
    """Group row positions by split (usual split order), in source order, cut into shards of `shard_size`."""
    names = hf_split_names(splits.to_pylist())
    shards: list[OutputShard] = []
    for split, hf_split in names.items():
        positions = pc.indices_nonzero(pc.equal(splits, split)).cast(pa.int64())
        for start in range(0, len(positions), shard_size):
            shards.append(OutputShard(len(shards), split, hf_split, positions.slice(start, shard_size)))
    return shards


def _write_share(dataset: Dataset, plan: MediaPlan, out: Path, corpus_root: Path | None, checks: CheckReport,
                 shard_size: int) -> ShareReport:
    from mmdata.pipeline import fingerprint_ids

    samples = plan.samples
    # Every absolute path the share would publish, and what it publishes instead (`share.redact`).
    redactor = share_redactor(samples, dataset.manifest.corpus.get("root"))
    shards = plan_shards(samples.column("split").combine_chunks(), shard_size)
    order = pa.concat_arrays([s.indices for s in shards]) if shards else pa.array([], pa.int64())
    ordered_ids = redact_column(samples.column("sample_id").take(order), redactor.value)
    fingerprint = fingerprint_ids(ordered_ids.to_pylist())

    # the shards as written: a shard of embedded media cut into files of at most ~500 MB each
    samples_config, missing, shards = _write_samples(samples, shards, out, plan, corpus_root, redactor)
    configs = [samples_config]
    for name in dataset.table_names:
        configs.append(_write_feature_table(dataset, name, samples.column("sample_id"), shards, out, fingerprint,
                                            redactor))
    copy_errors_tables(dataset.root, out, redactor)

    published_missing = [_published_missing(m, redactor) for m in missing]
    manifest = _shared_manifest(dataset.manifest, shards, shard_size, fingerprint, plan.mode, checks,
                                published_missing)
    card = render_card(manifest, configs, redact_checks(checks, redactor), plan.mode, published_missing,
                       label_summary(samples), failed_items(out))
    # What tells a card edited by hand (the licence, say) from this one when the share is replaced.
    manifest.extra["share"]["card_sha256"] = hashlib.sha256(card.encode()).hexdigest()
    write_manifest(out, manifest)
    write_text_atomic(out / CARD_NAME, card)
    write_checksums(out)
    files = [p for p in out.rglob("*") if p.is_file()]
    split_rows: dict[str, int] = {}
    for shard in shards:
        split_rows[shard.hf_split] = split_rows.get(shard.hf_split, 0) + len(shard.indices)
    return ShareReport(out, len(samples), split_rows, [c.name for c in configs], len(files),
                       sum(p.stat().st_size for p in files), plan.mode, checks, missing)


def label_summary(samples: pa.Table) -> LabelSummary | None:
    """How many samples have a label and the labels' span, for the card; None when no sample has one."""
    if "label" not in samples.column_names:
        return None
    labels = samples.column("label")
    labelled = pc.drop_null(labels)
    if pa.types.is_floating(labelled.type):  # NaN is no label either (check counts it as missing)
        labelled = labelled.filter(pc.invert(pc.is_nan(labelled)))
    if len(labelled) == 0:
        return None
    span = pc.min_max(labelled)
    return LabelSummary(len(labelled), len(labels), span["min"].as_py(), span["max"].as_py())


def _write_samples(samples: pa.Table, shards: list[OutputShard], out: Path, plan: MediaPlan,
                   corpus_root: Path | None, redactor: PathRedactor,
                   ) -> tuple[CardConfig, list[MissingMedia], list[OutputShard]]:
    """Write the samples shards, embedding the files of the `plan.embedded` path columns (`plan.kept`
    ones hold theirs; their null cells are missing media still), with their paths and ids as `redactor`
    publishes them; the missing media are returned as the producer's machine names them, with the
    shards as written (with media, `shards` cut into files of at most `file_bytes`; numbered anew).

    Raises:
        MediaError: there were files to embed and not one of them could be.
    """
    config = CardConfig("samples", layout.SAMPLES_DIR, default=True)
    missing: list[MissingMedia] = []
    tried, lost_now, written = 0, [], []
    for shard in shards:
        part = samples.take(shard.indices)
        missing += missing_kept_media(part, plan.kept)
        if plan.embedded:
            tried += count_media_files(part, plan.embedded)
            part, lost = embed_media(part, corpus_root, plan.embedded, redactor.value)
            missing += lost
            lost_now += lost
        if config.features is None:
            media = {embedded_name(c): kind for c, kind in {**plan.kept, **plan.embedded}.items()}
            config.features = hf_features(part.schema, media)
        part = redact_samples(part, redactor)
        part = part.replace_schema_metadata(with_hf_metadata(part.schema, config.features).metadata)
        for piece, rows in _cut_shard(shard, part, len(written), file_bytes(config.features)):
            write_share_file(rows, out / layout.SAMPLES_DIR / piece.file_name, row_group_rows(config.features))
            config.add(piece.hf_split, f"{layout.SAMPLES_DIR}/{piece.file_name}", rows)
            written.append(piece)
    if tried and len(lost_now) == tried:
        first = lost_now[0]
        raise MediaError(
            f"none of the {tried} media files could be embedded (first: sample {first.sample_id!r}, {first.path}: "
            f"{first.reason}); nothing was shared. Pass --corpus-root with the folder that holds the corpus "
            f"(tried: {corpus_root}), or share with --media reference"
        )
    return config, missing, written


def _cut_shard(shard: OutputShard, part: pa.Table, index: int,
               max_bytes: int | None) -> list[tuple[OutputShard, pa.Table]]:
    """`shard`, whose rows are `part`, as the shards its files hold (`file_lengths`), numbered from `index`."""
    pieces, start = [], 0
    for offset, length in enumerate(file_lengths(part, max_bytes)):
        piece = OutputShard(index + offset, shard.split, shard.hf_split, shard.indices.slice(start, length))
        pieces.append((piece, part.slice(start, length)))
        start += length
    return pieces


def _write_feature_table(dataset: Dataset, name: str, sample_ids: pa.ChunkedArray, shards: list[OutputShard],
                         out: Path, fingerprint: str, redactor: PathRedactor) -> CardConfig:
    """Write table `name`'s rows in the shared samples' order, an output shard at a time, each taken
    from the source shards that hold its rows (`TableRows`): the table is never in memory whole. Its
    ids (and an aligned table's keys) are those the shared samples have (`redactor`)."""
    schema = dataset.table(name).schema  # the first shard's, with its metadata, as a whole-table read has it
    # its provenance as the manifest's entry has it: no path of the producer's machine (`shareable_provenance`)
    metadata = shareable_provenance(decode_metadata(schema), dataset.manifest.corpus.get("root"))
    if metadata:
        metadata["samples_fingerprint"] = fingerprint  # the rows now follow the shared samples' order
    entry_path = dataset.entry(name).path
    config = CardConfig(name, entry_path, features=hf_features(schema))
    schema_metadata = dict(with_hf_metadata(schema, config.features).metadata)
    if metadata:
        schema_metadata[METADATA_KEY] = _json_bytes(metadata)
    positions = _row_positions(name, dataset.read_table(name, ["sample_id"]).column("sample_id"), sample_ids)
    with TableRows(dataset.table_files(name), schema) as rows:
        for shard in shards:
            part = redact_feature_rows(rows.take(positions.take(shard.indices).to_numpy()), redactor)
            part = part.replace_schema_metadata(schema_metadata)
            relative = f"{entry_path}/{shard.file_name}"
            write_share_file(part, out / relative, row_group_rows(config.features))
            config.add(shard.hf_split, relative, part)
            del part  # before the next shard's rows are read
    return config


def _row_positions(name: str, table_ids: pa.ChunkedArray, sample_ids: pa.ChunkedArray) -> pa.Array:
    """Position in the feature table of each sample (identity when the table is row-aligned)."""
    if table_ids.equals(sample_ids):
        return pa.array(np.arange(len(sample_ids), dtype=np.int64))
    positions = pc.index_in(sample_ids, value_set=table_ids)
    if positions.null_count:
        lacking = sample_ids.filter(pc.is_null(positions))
        raise DatasetError(
            f"table {name!r} has no row for {len(lacking)} samples (first: {lacking[0].as_py()!r}); a shared "
            "table must have a row for every sample; re-run `mmdata extract` to complete it"
        )
    return positions.combine_chunks().cast(pa.int64())


def _published_missing(missing: MissingMedia, redactor: PathRedactor) -> MissingMedia:
    """A media file that could not be embedded, as the card and the share's manifest name it."""
    return dataclasses.replace(missing, sample_id=redactor.value(missing.sample_id), path=redactor.value(missing.path),
                               reason=redactor.text(missing.reason, [missing.path]))


def _shared_manifest(source: Manifest, shards: list[OutputShard], shard_size: int, fingerprint: str, media: MediaMode,
                     checks: CheckReport, missing: list[MissingMedia]) -> Manifest:
    manifest = Manifest.from_json(source.to_json())
    root = manifest.corpus.get("root")
    # loader options' paths (`-o folds=/data/mosi/folds.json`) relative to the corpus root, else their file name only
    manifest.corpus = shareable_provenance(manifest.corpus, root)
    if root:  # the folder's name only: where the producer kept the corpus is not shared
        manifest.corpus["root"] = Path(root).name
    manifest.tables = {name: TableEntry(**shareable_provenance(asdict(entry), root))
                       for name, entry in manifest.tables.items()}
    for entry in manifest.tables.values():
        entry.format = "parquet"  # every table is written as Parquet, whatever the source's shards were
    manifest.samples = {
        # (not how many rows an update's kept fingerprint covered: a share's fingerprint covers all its rows)
        **shareable_provenance({k: v for k, v in source.samples.items() if k != FINGERPRINT_ROWS_KEY}, root),
        "path": layout.SAMPLES_DIR,
        "shards": [len(s.indices) for s in shards] or [0],
        "shard_size": shard_size,
        "fingerprint": fingerprint,
    }
    manifest.extra = {
        # (not the sizes and times of the producer's corpus files, `corpora.sources`: a share has no corpus; nor
        # the tables an update left, `grown_samples.UPDATE_LEFT_KEY`: a share holds complete tables only)
        **shareable_provenance({key: value for key, value in source.extra.items()
                                 if key not in (SOURCES_KEY, UPDATE_LEFT_KEY)}, root),
        "share": {
            "media": media,
            "split_names": {s.split: s.hf_split for s in shards},
            "checks": checks_summary(checks),
            "missing_media": [m.sample_id for m in missing],
        },
    }
    return manifest


def _json_bytes(metadata: dict) -> bytes:
    return json.dumps(metadata, sort_keys=True).encode()


@contextmanager
def _writable(out_dir: Path, target: Path) -> Iterator[None]:
    """A folder the system will not let us write (read-only, /proc, no space) as a one-line error."""
    try:
        yield
    except OSError as e:
        if isinstance(e, MmdataError):  # CorpusNotFoundError and the like: already say what is wrong
            raise
        raise DatasetError(f"cannot write the share to {out_dir} ({e.strerror or e}: {e.filename or target}); "
                           "choose a folder you can write to") from e
