"""The per-table scan context of `check_dataset`: what every feature table's scan needs from the samples table.

`_Context.build` reads the samples table once: its small columns (ids, splits, spans, labels) are kept,
its text is checked shard by shard and dropped, and the rows of each shard are counted. The context
then gives each table's scan the segment spans of its medium (computed once per set of duration
keys), the failed ids of a table from the errors tables, and a `video-frames` table's frame cap.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks import captions as caption_checks
from mmdata.checks import samples as sample_checks
from mmdata.checks import temporal
from mmdata.checks.aligned import aligned_reference
from mmdata.checks.issues import Issue
from mmdata.checks.stream import scan_samples
from mmdata.corpora.base import UNCAPTIONED_SPLITS_KEY
from mmdata.options import convert_value
from mmdata.records import duration_keys, media_spans
from mmdata.store.grown_samples import SamplesGrowth, dataset_growth, interrupted_update
from mmdata.store.reader import Dataset

if TYPE_CHECKING:
    from mmdata.checks.dataset import CheckOptions

_SAMPLE_COLUMNS = ["sample_id", "split", "group_id", "image", "video", "label"]
_SPAN_COLUMNS = ["start", "end", "audio"]
#: Read with them, checked shard by shard (`samples.check_text`) and not kept.
_TEXT_COLUMNS = ["corpus", "captions", "transcript"]


def _captions_expected(dataset: Dataset) -> tuple[list[str], bool]:
    """(splits the corpus publishes without captions, whether images without captions were kept on
    purpose), from what the loader recorded and the options the corpus was loaded with."""
    uncaptioned = (dataset.manifest.extra.get("loader") or {}).get(UNCAPTIONED_SPLITS_KEY) or []
    kept = (dataset.manifest.corpus.get("options") or {}).get("keep_images_without_captions", False)
    # read as the loader read it (`-o` values are recorded as typed: "on", "yes", "1" ...)
    return list(uncaptioned), convert_value(kept, bool, owner="corpus option keep_images_without_captions")


class ScanStopped(Exception):
    """A feature table's scan in `check_dataset` ended because another table's scan failed (`_Context.stop`);
    never reaches `check_dataset`'s caller."""


@dataclass
class _Context:
    dataset: Dataset
    options: CheckOptions
    samples: pa.Table
    sample_ids: pa.Array
    sample_shard_rows: list[int]
    failed: pa.Table
    lo: np.ndarray
    end: np.ndarray  # each sample's end, NaN for a whole file (its media's duration bounds it)
    extra: pa.ChunkedArray | None  # the samples' `extra`, where durations are read (None: no sequence table)
    text_issues: list[Issue]
    #: Some sample names an audio or video file (a `.csd` or pickle corpus names none).
    has_media: bool = True
    #: Samples without a start (a whole clip, or one cut only at its end): they begin where their medium does.
    start_null: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    #: Texts per sample (`captions.text_counts`), for caption-level tables; None when none is checked.
    text_counts: np.ndarray | None = None
    _spans: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: Set when the check stops early (a table's scan failed, or Ctrl-C): the other tables' scans end at
    #: their next batch (`table_scan.check_tables` scans tables side by side).
    stop: threading.Event = field(default_factory=threading.Event)
    #: Threads decoding a table scan's Parquet shards ahead (None: one per CPU; 0: none, the scanning thread
    #: decodes each shard: `check_tables` sets it when it scans tables side by side).
    decode_threads: int | None = None
    #: Held while a cache shared by the table scans is filled (`samples_growth`, `_modality_spans`), so
    #: scans side by side work each out once.
    _fill_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def samples_growth(self) -> SamplesGrowth | None:
        """How an `extract --update` grew the samples table (`grown_samples.dataset_growth`, once per
        `Dataset`), or None; worked out the first time an incomplete table asks: the count the manifest
        records, confirmed against the ids held here (the fingerprint of that many), else told from the
        ids (hashing every one)."""
        with self._fill_lock:
            return dataset_growth(self.dataset, self.sample_ids, verify=True)

    def max_frames(self, table: str) -> int | None:
        """The frames per sample a `video-frames` table was capped at (its config's `max_frames`), or the
        clips per sample a clip model's table was (`max_clips`, recorded only when set), or None."""
        entry = self.dataset.manifest.tables.get(table)
        cap = None if entry is None else \
            entry.config.get("max_frames" if entry.extractor == "video-frames" else "max_clips")
        return cap if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0 else None

    def spans(self, table: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lo, hi, media_end) of every sample for `table`: the segment's start (a whole clip's: where
        its medium starts, `records.START_KEYS`, else 0), its end (else the end of the table's medium),
        and where that medium ends, its start + duration (`records.duration_keys`; NaN: none given).
        An aligned table (`X@REF`) carries REF's intervals over its own medium's features: it is held
        to both media (`temporal.union_spans`)."""
        own = self._modality_spans(self.dataset.entry(table).modality)
        reference = self._reference_modality(table)
        return own if reference is None else temporal.union_spans(own, self._modality_spans(reference))

    def _modality_spans(self, modality: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`spans` of a medium, computed once per set of duration keys, not per batch."""
        keys = duration_keys(modality)
        with self._fill_lock:
            if keys not in self._spans:
                self._spans[keys] = self._spans_for(keys)
            return self._spans[keys]

    def _reference_modality(self, table: str) -> str | None:
        """The modality of the table `table` was aligned to (the part of its name before the first '.'
        when the dataset no longer holds it); None for a table not aligned."""
        entry = self.dataset.entry(table)
        reference = aligned_reference(table, entry.extractor, entry.config)
        if reference is None:
            return None
        found = self.dataset.manifest.tables.get(reference)
        return found.modality if found is not None else reference.partition(".")[0]

    def _spans_for(self, keys: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.extra is None:
            media_start = media_end = np.full(len(self.sample_ids), np.nan)
        else:
            media_start, duration = media_spans(self.extra, keys)
            media_end = media_start + duration
        lo = np.where(self.start_null & np.isfinite(media_start), np.fmax(self.lo, media_start), self.lo)
        hi = np.where(np.isfinite(self.end), self.end, media_end)
        # A whole clip of unknown start and end is measured by its intervals at both ends (NaN here:
        # `temporal` takes its first interval's start), as its end already is: its stream may start after 0.
        lo = np.where(self.start_null & ~np.isfinite(hi), np.nan, lo)
        return lo, hi, media_end

    @classmethod
    def build(cls, dataset: Dataset, options: CheckOptions, needs_spans: bool,
              needs_text_counts: bool = False) -> _Context:
        """One scan of the samples table: its small columns are kept, its text is checked shard by
        shard (`text_issues`) and dropped (counted per sample first when `needs_text_counts`), and
        the rows of each shard are counted."""
        text_issues: list[Issue] = []
        text_counts: list[np.ndarray] = []

        uncaptioned, optional = _captions_expected(dataset)

        loader = dataset.manifest.extra.get("loader") or {}
        aux_labels = sample_checks.AuxLabelCheck(
            sample_checks.corpus_dataset(dataset.manifest.corpus, loader), max_examples=options.max_examples,
            label_names=loader.get("label_names"))

        def check_text(shard: pa.Table) -> None:
            text_issues.extend(sample_checks.check_text(shard, max_examples=options.max_examples,
                                                        uncaptioned_splits=uncaptioned, captions_optional=optional))
            aux_labels.add(shard)
            if needs_text_counts:
                text_counts.append(caption_checks.text_counts(shard.column("captions"), shard.column("transcript")))

        keep = _SAMPLE_COLUMNS + (_SPAN_COLUMNS if needs_spans else [])
        # `extra` is read only for corpora with further labels in it (CH-SIMS, CMU-MOSEI), or with transcripts
        # (its word lists tell a segment lying in a pause from a lost transcript)
        needs_extra = bool(aux_labels.ranges) or sample_checks.reads_words(dataset.manifest.corpus)
        read = keep + _TEXT_COLUMNS + (["extra"] if needs_extra else [])
        # an unfinished update has written part of the grown samples table: the manifest lists the rows before it
        samples, sample_shard_rows = scan_samples(dataset, read, keep, check_text,
                                                  as_listed=interrupted_update(dataset.manifest) is None)
        text_issues += aux_labels.issues()
        ids = samples.column("sample_id").combine_chunks()
        lo = end = np.empty(0)  # segment spans: only sequence tables are checked against them
        start_null = np.empty(0, dtype=bool)
        extra = None
        if needs_spans:
            extra = dataset.samples_table(columns=["extra"]).column("extra")
            start = samples.column("start").to_numpy(zero_copy_only=False).astype(np.float64)
            end = samples.column("end").to_numpy(zero_copy_only=False).astype(np.float64)
            lo = np.nan_to_num(start, nan=0.0)
            start_null = np.isnan(start)
        errors = dataset.errors().select(["table", "sample_id", "error_type"])
        has_media = any(c in samples.column_names and samples.column(c).null_count < len(samples) for c in ("audio", "video"))
        return cls(dataset, options, samples, ids, sample_shard_rows, errors, lo, end, extra, text_issues, has_media,
                   start_null=start_null,
                   text_counts=np.concatenate(text_counts) if needs_text_counts else None)

    def failed_ids(self, table: str) -> pa.Array:
        rows = self.failed.filter(pc.equal(self.failed.column("table"), table))
        return rows.column("sample_id").combine_chunks()
