"""`write_report`: one self-contained HTML page about a dataset, made for a person to look at.

No scripts, no network: CSS is inline and every picture is a `data:` URI. Sections, in order
(each a `<section id=...>`): overview (corpus, splits), tables (rows, dims, dtype, extractor,
config, failed and missing counts), plots (norms, PCA, temporal coverage, labels), gallery
(thumbnails with captions, transcripts with waveforms) and checks (issues with the offending
sample ids).

A feature table that cannot be read (an interrupted extraction left no finished shard, a shard is
truncated or corrupt) is left out of the tables and plots and named, with the reason and the fix,
in a list of its own, as `mmdata check` names it among the failing checks: a page made with
`--allow-failed-checks` shows the failures instead of stopping at the first.
"""
from __future__ import annotations

import base64
import errno
import html
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mmdata.errors import DatasetError, MmdataError
from mmdata.report.gallery import GalleryItem, gallery_items
from mmdata.report.stats import (SampleColumns, TableSummary, TableVectors, failed_counts, read_sample_columns,
                                 summarize_table, table_vectors)
from mmdata.share.checks import require_passing, run_checks, severity_counts
from mmdata.store.files import write_text_atomic
from mmdata.store.layout import ERRORS_DIR
from mmdata.store.manifest import Manifest
from mmdata.store.metadata import shown_dim
from mmdata.store.output_files import OutputPathError, report_file
from mmdata.store.reader import Dataset, open_dataset

if TYPE_CHECKING:
    from mmdata.checks import CheckReport

log = logging.getLogger(__name__)

SECTIONS = ("overview", "tables", "plots", "gallery", "checks")
_MAX_FAILED_ROWS = 20
_MAX_TEXTS = 5  # captions shown per gallery sample


class ReportWriteError(MmdataError, OSError):
    """The HTML file cannot be written where it was asked for."""


@dataclass
class Figure:
    """One plot of the page."""

    title: str
    png: bytes
    caption: str


@dataclass
class ReportSummary:
    """What `write_report` put on the page."""

    out_path: Path
    tables: int
    figures: int
    gallery: int
    issues: int
    checks_ok: bool
    bytes: int
    titles: list[str] = field(default_factory=list)
    severities: dict[str, int] = field(default_factory=dict)  # issues per severity: error, warning, info
    unreadable: dict[str, str] = field(default_factory=dict)  # tables left out of the page -> why (the read error)


def write_report(
    dataset_dir: str | Path,
    out_path: str | Path,
    *,
    corpus_root: str | Path | None = None,
    allow_failed_checks: bool = False,
    max_gallery: int = 12,
    max_points: int = 2000,
) -> ReportSummary:
    """Write the HTML report of a dataset.

    Args:
        dataset_dir: the dataset directory (written by `mmdata extract`, or a share of one).
        out_path: the HTML file to write.
        corpus_root: where the corpus lies now, for the gallery (default: the manifest's root).
        allow_failed_checks: report even when `mmdata check` finds errors (the page lists them).
        max_gallery: samples in the gallery; max_points: samples per PCA projection.

    Returns:
        A `ReportSummary`: the file written, its size, and the tables, figures, gallery items and issues on it.

    Raises:
        DatasetError: not a dataset, an older layout, or failing checks (`ChecksFailedError`).
        OutputPathError: `out_path` is a directory, a file of a dataset (its manifest, a shard, any file in
            its samples/, features/ or errors/ folder), or an existing file that is not an earlier report
            (an earlier report, or an empty file, is replaced); checked before any work, nothing is written.
        ReportWriteError: `out_path` cannot be written (no such folder can be made, no permission).

    Example:
        >>> write_report("out/coco-val", "out/coco-val.html")
    """
    out_path = _checked_out_path(out_path)
    dataset = open_dataset(dataset_dir)
    checks = run_checks(dataset)
    require_passing(checks, allow_failed_checks=allow_failed_checks, action="report on")
    root = Path(corpus_root) if corpus_root else dataset.manifest.corpus_location()
    samples = read_sample_columns(dataset)
    unreadable: dict[str, str] = {}
    summaries = _summaries(dataset, unreadable)
    figures = build_figures(dataset, samples, max_points=max_points, unreadable=unreadable)
    gallery = gallery_items(dataset, root, max_gallery)
    page = render_page(dataset, samples, summaries, figures, gallery, checks, unreadable=unreadable)
    try:
        write_text_atomic(out_path, page)
    except OSError as e:
        raise _write_error(out_path, e) from e
    log.info("wrote report of %s to %s (%d figures, %d gallery items)", dataset.root, out_path, len(figures), len(gallery))
    return ReportSummary(out_path, len(summaries), len(figures), len(gallery), len(checks.issues), checks.ok,
                         out_path.stat().st_size, [f.title for f in figures], severity_counts(checks), dict(unreadable))


def _checked_out_path(out_path: str | Path) -> Path:
    """`out_path` if a report may be written there (`report_file`: no file of a dataset, no file but an
    earlier report), checked before any work; a path the system cannot even look at (a name over 255
    bytes) is a `ReportWriteError`, as when the write itself fails, and so is a folder that cannot be
    written (read-only, no permission): the checks and plots of a large dataset take minutes."""
    try:
        path = report_file(out_path, "report path", "report.html")
    except OutputPathError as e:
        if isinstance(e.__cause__, OSError):
            raise _write_error(Path(out_path), e.__cause__) from e.__cause__
        raise
    folder = next(p for p in path.absolute().parents if p.exists())  # the folder, or where it would be made
    if folder.is_dir() and not os.access(folder, os.W_OK):
        read_only = hasattr(os, "statvfs") and bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        code = errno.EROFS if read_only else errno.EACCES
        raise _write_error(path, OSError(code, f"{folder} is on a read-only file system" if read_only
                                         else f"no permission to write in {folder}"))
    return path


def _write_error(out_path: Path, error: OSError) -> ReportWriteError:
    return ReportWriteError(f"cannot write the report to {out_path} ({error.strerror or error}); "
                            "choose an --out path in a folder you can write to")


def _summaries(dataset: Dataset, unreadable: dict[str, str]) -> list[TableSummary]:
    """`summarize_table` table by table: a table that cannot be read goes into `unreadable` (name ->
    the error naming its shard and the fix) instead of stopping the report."""
    failed = failed_counts(dataset)  # a damaged errors table is the dataset's error, not one table's: stops the report
    out = []
    for name in dataset.table_names:
        try:
            out.append(summarize_table(dataset, name, failed))
        except DatasetError as e:
            unreadable[name] = str(e)
    return out


def build_figures(dataset: Dataset, samples: SampleColumns, *, max_points: int = 2000,
                  unreadable: dict[str, str] | None = None) -> list[Figure]:
    """Norms and PCA per modality, temporal coverage per modality with sequence tables, label histogram.

    Tables in `unreadable` are left out; with `unreadable` given, a table that cannot be read is added to
    it instead of stopping (without it, its error is raised)."""
    from mmdata.report import plots

    by_modality: dict[str, list[TableVectors]] = {}
    for name in dataset.table_names:
        if unreadable is not None and name in unreadable:
            continue
        try:
            with dataset.reading(name):
                vectors = table_vectors(dataset, name, samples, max_points=max_points)
        except DatasetError as e:
            if unreadable is None:
                raise
            unreadable[name] = str(e)
            continue
        if vectors is not None and len(vectors.norms):
            by_modality.setdefault(vectors.modality, []).append(vectors)
    figures = []
    for modality, tables in sorted(by_modality.items()):
        figures.append(Figure(f"{modality}: feature norms", plots.norms_figure(modality, tables, samples),
                              "L2 norm of each sample's feature (sequences: of the mean over items), per split."))
        png, coloured_by = plots.pca_figure(modality, tables, samples)
        figures.append(Figure(f"{modality}: PCA", png,
                              f"First two principal components of up to {max_points} samples, coloured by {coloured_by}."))
        sequences = [t for t in tables if t.kind == "sequence"]
        if sequences:
            timed = any(t.coverage is not None for t in sequences)
            figures.append(Figure(
                f"{modality}: " + ("temporal coverage" if timed else "items per sample"),
                plots.coverage_figure(modality, sequences, samples),
                "Fraction of each sample's segment its intervals cover (items per sample for sequences without "
                "intervals), per split." if timed else "Number of items (captions, words, ...) per sample, per split."))
    if np.isfinite(samples.labels).any():
        figures.append(Figure("labels", plots.labels_figure(samples), "Histogram of the samples' labels, stacked by split."))
    return figures


def render_page(dataset: Dataset, samples: SampleColumns, summaries: list[TableSummary], figures: list[Figure],
                gallery: list[GalleryItem], checks: CheckReport, *, unreadable: dict[str, str] | None = None) -> str:
    """The whole HTML document."""
    manifest = dataset.manifest
    corpus = manifest.corpus
    title = f"mmdata report: {dataset.root.name or dataset.root}"
    body = "\n".join([
        f"<header><h1>{_e(title)}</h1><p>{_e(str(dataset.root))} &middot; corpus <b>{_e(corpus.get('kind'))}</b>"
        + (f" (split {_e(corpus['split'])})" if corpus.get("split") else "")
        + f" &middot; written by mmdata {_e(manifest.mmdata_version)} &middot; {_verdict(checks)}</p></header>",
        _section("overview", "Overview", _overview(manifest, samples)),
        _section("tables", "Feature tables", _tables(summaries, dataset, unreadable or {})),
        _section("plots", "Plots", _figures(figures) + _not_plotted(summaries)),
        _section("gallery", "Gallery", _gallery(gallery, len(samples.ids))),
        _section("checks", "Checks", _checks(checks)),
    ])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mmdata report">
<title>{_e(title)}</title>
<style>{_CSS}</style></head>
<body>
{body}
</body></html>
"""


def _overview(manifest: Manifest, samples: SampleColumns) -> str:
    info = manifest.samples
    rows = [(split, str(count)) for split, count in samples.split_counts.items()]
    labelled = int(np.isfinite(samples.labels).sum())
    facts = [
        ("samples", str(info.get("rows", len(samples.ids)))),
        ("feature tables", str(len(manifest.tables))),
        ("labelled samples", str(labelled)),
        ("loader errors", str(info.get("loader_errors", 0))),
        ("corpus root", str(manifest.corpus.get("root"))),
        ("corpus options", json.dumps(manifest.corpus.get("options", {}), sort_keys=True)),
    ]
    return _table(None, facts) + "<h3>Splits</h3>" + _table(["split", "samples"], rows)


def _tables(summaries: list[TableSummary], dataset: Dataset, unreadable: dict[str, str]) -> str:
    header = ["table", "modality", "extractor", "config", "rows", "dim", "dtype", "kind", "failed", "missing", "versions"]
    rows = []
    for s in summaries:
        kind = s.kind + (f" @ {s.frame_rate:g} Hz" if s.frame_rate else "") + ("" if s.complete else " (incomplete)")
        versions = ", ".join(f"{k} {v}" for k, v in sorted(s.versions.items()))
        rows.append((s.name, s.modality, s.extractor, json.dumps(s.config, sort_keys=True), str(s.rows), shown_dim(s.dim),
                     s.dtype, kind, str(s.failed), str(s.missing), versions))
    text = _table(header, rows) if rows or unreadable else "<p>No feature tables yet (run <code>mmdata extract</code>).</p>"
    if unreadable:
        text += (f"<h3 class=fail>Tables that cannot be read ({len(unreadable)}; left out of the table above and "
                 "the plots)</h3>" + _table(["table", "why, and what to do"], sorted(unreadable.items()),
                                            row_class=lambda row: "error"))
    text += ("<p class=note><b>failed</b>: items recorded in the errors table; <b>missing</b>: rows with a null "
             "feature.</p>")
    errors = dataset.errors()
    if errors.num_rows:
        failed = errors.slice(0, _MAX_FAILED_ROWS).to_pylist()
        shown = "" if errors.num_rows <= _MAX_FAILED_ROWS else (
            f"; the first {_MAX_FAILED_ROWS}, all are in the Parquet files under {_e(dataset.root / ERRORS_DIR)}")
        text += f"<h3>Failed items ({errors.num_rows}{shown})</h3>" + _table(
            ["table", "sample", "file", "stage", "error"],
            [(r["table"], r["sample_id"] or "", r["path"] or "", r["stage"] or "", f"{r['error_type']}: {r['reason']}")
             for r in failed])
    return text


def _figures(figures: list[Figure]) -> str:
    if not figures:
        return "<p>No feature vectors to plot.</p>"
    return "\n".join(
        f'<figure><img alt="{_e(f.title)}" src="{_data_uri(f.png, "image/png")}"><figcaption><b>{_e(f.title)}</b>. '
        f"{_e(f.caption)}</figcaption></figure>"
        for f in figures
    )


def _not_plotted(summaries: list[TableSummary]) -> str:
    """A note naming the tables without a fixed dim (token ids, say), which have no vectors to plot."""
    names = [s.name for s in summaries if s.dim is None]
    if not names:
        return ""
    return (f"<p class=note>Not plotted: {_e(', '.join(names))} (rows of different lengths: no common vector to "
            "take a norm or a projection of).</p>")


def _gallery(items: list[GalleryItem], samples: int) -> str:
    if not items:
        return f"<p>None of the {samples} samples shown (a gallery of 0 was asked for).</p>" if samples else "<p>No samples.</p>"
    cards = []
    for item in items:
        parts = [f"<div class=card><div class=id>{_e(item.sample_id)} <span class=split>{_e(item.split)}</span>"
                 + (f" <span class=label>label {item.label:g}</span>" if item.label is not None else "") + "</div>"]
        if item.image:
            parts.append(f'<img class=thumb alt="{_e(item.sample_id)}" src="{_data_uri(*item.image)}">')
        if item.waveform:
            parts.append(f'<img class=wave alt="waveform of {_e(item.sample_id)}" src="{_data_uri(*item.waveform)}">')
        if item.texts:
            more = len(item.texts) - _MAX_TEXTS
            parts.append("<ul>" + "".join(f"<li>{_e(t)}</li>" for t in item.texts[:_MAX_TEXTS])
                         + (f"<li class=note>and {more} more</li>" if more > 0 else "") + "</ul>")
        parts += [f"<p class=note>{_e(n)}</p>" for n in item.notes]
        cards.append("".join(parts) + "</div>")
    return '<div class=grid>' + "\n".join(cards) + "</div>"


def _checks(checks: CheckReport) -> str:
    counts = severity_counts(checks)
    text = (f"<p>{_verdict(checks)}: {counts['error']} errors, {counts['warning']} warnings, {counts['info']} notes "
            f"(<code>mmdata check</code>).</p>")
    if checks.issues:
        text += _table(
            ["severity", "code", "table", "count", "first offending sample", "message"],
            [(i.severity, i.code, i.table or "samples", str(i.count), i.sample_id or "", i.message) for i in checks.issues],
            row_class=lambda row: row[0],
        )
    return text


def _verdict(checks: CheckReport) -> str:
    return "<span class=ok>checks passed</span>" if checks.ok else "<span class=fail>checks FAILED</span>"


def _section(section_id: str, title: str, content: str) -> str:
    return f'<section id="{section_id}"><h2>{_e(title)}</h2>\n{content}\n</section>'


def _table(header: list[str] | None, rows: Iterable[tuple[str, ...]], row_class=None) -> str:
    if header is None:  # a list of (field, value) facts
        body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
        return f"<table><tbody>{body}</tbody></table>"
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        (f'<tr class="{_e(row_class(row))}">' if row_class else "<tr>") + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1400px;padding:0 24px 48px;
color:#1d1d1f;background:#fafafa;line-height:1.4}
header{border-bottom:2px solid #ddd;margin-bottom:8px}h1{font-size:1.6em;margin:18px 0 4px}
h2{font-size:1.25em;margin:28px 0 10px;border-bottom:1px solid #e3e3e3;padding-bottom:4px}h3{font-size:1.02em}
table{border-collapse:collapse;font-size:.86em;margin:6px 0 12px;background:#fff}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;max-width:520px;overflow-wrap:break-word}
th{background:#f0f0f3}tr.error td{background:#fdecea}tr.warning td{background:#fff7e0}
figure{display:inline-block;margin:0 16px 18px 0;vertical-align:top;background:#fff;border:1px solid #e3e3e3;padding:8px}
figure img{max-width:100%;display:block}figcaption{font-size:.84em;color:#444;max-width:1200px;margin-top:4px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:14px}
.card{background:#fff;border:1px solid #e3e3e3;padding:10px;font-size:.85em}.card ul{padding-left:18px;margin:6px 0}
.thumb{display:block;max-width:240px;max-height:240px;margin:6px 0}.wave{display:block;width:100%;margin:6px 0}
.id{font-family:ui-monospace,monospace;font-weight:600}.split,.label{font-weight:400;color:#fff;background:#5a6;
border-radius:3px;padding:0 5px;font-family:system-ui,sans-serif;font-size:.85em}.label{background:#68a}
.note{color:#666;font-size:.85em}.ok{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}
"""
