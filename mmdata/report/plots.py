"""The report's figures (matplotlib, Agg backend), each returned as PNG bytes.

One figure per modality for norms, PCA and temporal coverage (one panel per table of that
modality), and one label histogram. Colours: one per split, in a fixed order; labels on a
continuous colour map.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from mmdata.report.stats import SampleColumns, TableVectors, pca_2d

_PANEL = (4.2, 3.0)  # inches per panel
_DPI = 90
_MAX_COLS = 3


def norms_figure(modality: str, tables: Sequence[TableVectors], samples: SampleColumns) -> bytes:
    """Histograms of L2 norms per table, one overlaid histogram per split."""
    fig, axes = _panels(len(tables))
    for ax, vectors in zip(axes, tables):
        finite = np.isfinite(vectors.norms)
        splits = _split_of(vectors.positions, samples)
        edges = _edges(vectors.norms[finite])
        for color, split in zip(_colors(len(samples.split_counts)), samples.split_counts):
            values = vectors.norms[finite & (splits == split)]
            if len(values):
                ax.hist(values, bins=edges, alpha=0.55, color=color, label=f"{_plain(split)} ({len(values)})")
        ax.set_title(_title(vectors, "L2 norm"), fontsize=9)
        label = "norm" + (" of the mean over items" if vectors.pooled_by_mean else "")
        if finite.any() and np.ptp(vectors.norms[finite]) <= 1e-6 * max(1.0, float(np.abs(vectors.norms[finite]).max())):
            label += f" (all {float(vectors.norms[finite][0]):.4g})"
        if not finite.all():  # null features, empty sequences, NaN or Inf values
            label += f"; {int((~finite).sum())} rows without a finite norm not shown"
        ax.set_xlabel(label, fontsize=8)
        ax.set_ylabel("samples", fontsize=8)
        _legend(ax)
    return _png(fig, f"{modality}: feature norms by split")


def pca_figure(modality: str, tables: Sequence[TableVectors], samples: SampleColumns) -> tuple[bytes, str]:
    """2-D PCA scatter per table, coloured by label when the samples have labels, else by split.

    Returns the PNG and what the colours mean ('label' or 'split').
    """
    labelled = bool(np.isfinite(samples.labels).any())
    fig, axes = _panels(len(tables))
    for ax, vectors in zip(axes, tables):
        coords, (r1, r2) = pca_2d(vectors.points)
        if len(coords) < 2:
            ax.text(0.5, 0.5, f"no projection: {len(coords)} sample{'' if len(coords) == 1 else 's'} with a "
                    "finite feature, 2 needed", ha="center", va="center", fontsize=8, transform=ax.transAxes)
            ax.set_title(_title(vectors, "PCA"), fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        if labelled:
            labels = samples.labels[vectors.point_positions.clip(0)]
            known = np.isfinite(labels) & (vectors.point_positions >= 0)
            if (~known).any():
                ax.scatter(coords[~known, 0], coords[~known, 1], s=10, c="#bbbbbb", label=f"no label ({int((~known).sum())})")
                _legend(ax)
            if known.any():
                art = ax.scatter(coords[known, 0], coords[known, 1], s=10, c=labels[known], cmap="coolwarm")
                fig.colorbar(art, ax=ax, label="label")
        else:
            splits = _split_of(vectors.point_positions, samples)
            for color, split in zip(_colors(len(samples.split_counts)), samples.split_counts):
                mask = splits == split
                if mask.any():
                    ax.scatter(coords[mask, 0], coords[mask, 1], s=12, color=color, label=_plain(split), alpha=0.8)
            _legend(ax)
        ax.set_title(_title(vectors, f"PCA of {len(coords)} samples"), fontsize=9)
        ax.set_xlabel(f"PC1 ({r1:.1%} of variance)", fontsize=8)
        ax.set_ylabel(f"PC2 ({r2:.1%} of variance)", fontsize=8)
    return _png(fig, f"{modality}: 2-D PCA projection"), "label" if labelled else "split"


def coverage_figure(modality: str, tables: Sequence[TableVectors], samples: SampleColumns) -> bytes:
    """Per sequence table: the covered fraction of each sample's segment (tables with intervals),
    else the number of items per sample, one histogram per split."""
    fig, axes = _panels(len(tables))
    for ax, vectors in zip(axes, tables):
        splits = _split_of(vectors.positions, samples)
        if vectors.coverage is not None:
            values, what = vectors.coverage, "covered fraction of the segment"
            edges = np.linspace(0.0, max(1.0, float(np.nanmax(values)) if np.isfinite(values).any() else 1.0), 21)
        else:  # a sample whose feature is null failed: its items are unknown, not 0
            values, what = np.where(vectors.present, vectors.items, np.nan), "items per sample"
            edges = _edges(values[np.isfinite(values)], integer=True)
        for color, split in zip(_colors(len(samples.split_counts)), samples.split_counts):
            chosen = values[np.isfinite(values) & (splits == split)]
            if len(chosen):
                ax.hist(chosen, bins=edges, alpha=0.55, color=color, label=f"{_plain(split)} ({len(chosen)})")
        ax.set_title(_title(vectors, what), fontsize=9)
        failed = int((~vectors.present).sum())
        ax.set_xlabel(what + (f"; {failed} samples without a feature not shown" if failed else ""), fontsize=8)
        ax.set_ylabel("samples", fontsize=8)
        _legend(ax)
    timed = any(t.coverage is not None for t in tables)
    return _png(fig, f"{modality}: " + ("temporal coverage" if timed else "items per sample"))


def labels_figure(samples: SampleColumns) -> bytes:
    """Histogram of the samples' labels, stacked by split."""
    fig, axes = _panels(1)
    ax = axes[0]
    finite = np.isfinite(samples.labels)
    groups, names, colors = [], [], []
    for color, split in zip(_colors(len(samples.split_counts)), samples.split_counts):
        values = samples.labels[finite & (samples.splits == split)]
        if len(values):
            groups.append(values)
            names.append(f"{_plain(split)} ({len(values)})")
            colors.append(color)
    edges = _edges(samples.labels[finite])
    ax.hist(groups, bins=edges, stacked=True, color=colors, label=names)
    ax.set_xlabel("label", fontsize=8)
    ax.set_ylabel("samples", fontsize=8)
    ax.legend(fontsize=7, loc="upper right")
    return _png(fig, f"labels of {int(finite.sum())} samples ({int((~finite).sum())} unlabelled)")


def waveform_png(samples: np.ndarray, sample_rate: int, offset: float = 0.0) -> bytes:
    """A small waveform picture (min/max envelope when long) of mono audio."""
    fig, ax = _pyplot().subplots(figsize=(3.2, 0.9), dpi=_DPI)
    n = len(samples)
    width = 800
    if n > 2 * width:
        # `width` runs of consecutive samples covering all n (each at least 2 long), each drawn at its own time
        edges = np.linspace(0, n, width + 1).astype(np.int64)
        t = offset + (edges[:-1] + edges[1:]) / 2 / sample_rate
        ax.fill_between(t, np.minimum.reduceat(samples, edges[:-1]), np.maximum.reduceat(samples, edges[:-1]),
                        color="#3465a4", linewidth=0)
    else:
        ax.plot(offset + np.arange(n) / sample_rate, samples, color="#3465a4", linewidth=0.6)
    ax.set_xlim(offset, offset + n / max(sample_rate, 1))
    ax.set_yticks([])
    ax.tick_params(labelsize=6)
    ax.set_xlabel("seconds", fontsize=6)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return _png(fig, None)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display; figures only become PNG bytes
    import matplotlib.pyplot as plt

    return plt


def _panels(count: int) -> tuple[Any, list[Any]]:
    plt = _pyplot()
    cols = min(_MAX_COLS, max(count, 1))
    rows = -(-max(count, 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(_PANEL[0] * cols, _PANEL[1] * rows), dpi=_DPI, squeeze=False)
    flat = list(axes.reshape(-1))
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat[: max(count, 1)]


def _png(fig: Any, title: str | None) -> bytes:
    plt = _pyplot()
    if title:
        fig.suptitle(_plain(title), fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _title(vectors: TableVectors, what: str) -> str:
    return f"{_plain(vectors.name)}: {what}"


def _plain(text: object) -> str:
    """Text as it is written: matplotlib reads a pair of `$` as math (a split named `$\\frac$` fails)."""
    return str(text).replace("$", r"\$")


def _legend(ax: Any) -> None:
    """A legend of the labelled artists, none on a panel without any (matplotlib warns)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper right")


def _split_of(positions: np.ndarray, samples: SampleColumns) -> np.ndarray:
    out = np.full(len(positions), None, dtype=object)
    known = positions >= 0
    out[known] = samples.splits[positions[known]]
    return out


def _edges(values: np.ndarray, *, integer: bool = False) -> np.ndarray:
    if len(values) == 0:
        return np.linspace(0.0, 1.0, 11)
    lo, hi = float(values.min()), float(values.max())
    if integer:
        return np.arange(np.floor(lo), np.ceil(hi) + 2) - 0.5
    if hi - lo <= 1e-6 * max(1.0, abs(hi)):  # one value (e.g. L2-normalized features): centre it
        pad = 0.05 * abs(hi) or 0.5
        return np.linspace(lo - pad, hi + pad, 30)  # an odd number of bins: the value sits mid-bin
    return np.linspace(lo, hi, 31)


def _colors(count: int) -> list[Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(max(count, 1))]
