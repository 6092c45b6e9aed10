"""Result tables and metrics JSON shared by the training recipes.

A recipe's result is a list of rows (`ResultRow`: model name, kind, modalities, metrics, and `status`
'ok' or 'failed' with the `error` that says why); `format_table` renders them as a plain-text table for
the terminal (a failed row reads FAILED, its reason below the table; an undefined metric reads n/a, its
reason in the report's notes) and `write_metrics_json` writes the whole report atomically (temporary
file + rename) so a reader never sees half a file. `metrics_file` checks a metrics path before any
training: a new file, an empty one, or a metrics JSON written earlier, never another file (an export's
fused.json, a data file) that writing would destroy.
"""
from __future__ import annotations

import json
import math
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmdata.store.files import write_text_atomic
from mmdata.store.output_files import OutputPathError, is_json_object_with, output_file

RowKind = Literal["unimodal", "multimodal", "cross-modal", "reference"]
RowStatus = Literal["ok", "failed"]


@dataclass
class ResultRow:
    """One model's test metrics (and how long it took to train), or why it has none (`status` 'failed')."""

    model: str
    kind: RowKind
    modalities: list[str]
    metrics: dict[str, float]
    train_seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    status: RowStatus = "ok"
    #: Why the model failed (names the model and the epoch), None when it did not.
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["metrics"] = {k: _json_number(v) for k, v in self.metrics.items()}
        return out


def format_table(
    rows: Sequence[ResultRow], columns: Sequence[tuple[str, str]], *, percent: Sequence[str] = (), decimals: int = 3
) -> str:
    """A plain-text table: model, kind, modalities, then one column per (metric key, header).

    Metrics named in `percent` are fractions shown as percentages with one decimal; the others get
    `decimals` decimals. A metric a row lacks shows as '-', an undefined one (NaN) as 'n/a' (the recipe's
    notes say why); a failed row reads FAILED (its reason is in `failure_lines`).
    """
    header = ["model", "kind", "modalities", *[h for _, h in columns]]
    lines = [header]
    for row in rows:
        cells = [row.model, row.kind, "+".join(row.modalities)]
        if row.failed:
            lines.append(cells + ["FAILED"] + ["-"] * (len(columns) - 1))
            continue
        lines.append(cells + [metric_cell(key, row.metrics.get(key), percent, decimals) for key, _ in columns])
    return aligned_table(lines, left=3)


def metric_cell(key: str, value: Any, percent: Sequence[str] = (), decimals: int = 3) -> str:
    """A metric as a table shows it: a percentage with one decimal (metrics in `percent`, fractions), else
    `decimals` decimals; '-' where there is none, 'n/a' where it is undefined (NaN)."""
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return f"{100 * value:.1f}" if key in percent else f"{value:.{decimals}f}"


def aligned_table(lines: Sequence[Sequence[str]], *, left: int) -> str:
    """Rows of cells as aligned columns, the first line the header with a rule under it: the first `left`
    columns flush left, the others (the figures) flush right."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    rendered = ["  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
                for line in lines]
    rendered.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(rendered)


def failure_lines(rows: Sequence[ResultRow]) -> list[str]:
    """One line per failed row: its reason, for under the table (the reason names the model)."""
    return [f"FAILED: {row.error}" for row in rows if row.failed]


def render_report(table: str, legend: str, rows: Sequence[ResultRow], notes: Sequence[str] = ()) -> str:
    """The printed form of a recipe's result: the table, a legend line (units and conventions), the notes
    (why a metric reads n/a, what limits the numbers) and the reason of every failed model."""
    return "\n".join([table, legend, *notes, *failure_lines(rows)])


def failures_json(rows: Sequence[ResultRow]) -> list[dict[str, Any]]:
    """The failed rows for the report's top-level `failures` list: model, modalities and reason."""
    return [{"model": r.model, "modalities": r.modalities, "error": r.error} for r in rows if r.failed]


def write_metrics_json(path: str | Path, report: dict[str, Any]) -> Path:
    """Write a recipe report as indented JSON (NaN becomes null, NumPy arrays lists), atomically.

    Raises:
        OutputPathError: as `metrics_file`; nothing is written.
    """
    path = metrics_file(path, "metrics path", "metrics.json")
    return write_text_atomic(path, json.dumps(json_ready(report), indent=2, sort_keys=False) + "\n")


def metrics_file(path: str | Path, what: str, example: str) -> Path:
    """`path` if a metrics JSON may be written there: a new or empty file, or a metrics JSON an earlier run
    wrote (it is replaced); `what` names the path in the error (an option), `example` a file name to suggest.

    Raises:
        OutputPathError: `path` is a directory, a file of a dataset (its manifest, card, checksums, or a
            file in its samples/, features/ or errors/ folder), not a regular file (a device), or another
            existing file, such as a fused export's fused.json or data file (it is kept).
    """
    path = output_file(path, what, example)
    if path.exists() and not path.is_file():  # a device (/dev/null), a socket: the atomic rename would replace it
        raise OutputPathError(f"{what} {path} is not a regular file; expected a file path for the metrics JSON, "
                              f"e.g. {Path.cwd() / example}")
    if not (path.is_file() and path.stat().st_size) or _is_metrics_json(path):
        return path
    export = _enclosing_export(path.resolve())
    if export is not None:
        raise OutputPathError(
            f"{what} {path} is a file of the fused export {export}; writing there would destroy the export; expected "
            f"a new file, or metrics written earlier, e.g. {export / example}")
    raise OutputPathError(
        f"{what} {path} is an existing file that is not a recipe's metrics JSON; expected a new file, or metrics "
        f"written earlier, which are replaced; choose another path, e.g. {path.with_name(example)}, or remove "
        "the file if it may go")


def _enclosing_export(target: Path) -> Path | None:
    """The nearest folder above `target` (an absolute path) that holds a fused export's metadata, if any."""
    from mmdata.fusion.formats import FUSED_METADATA

    return next((folder for folder in target.parents if (folder / FUSED_METADATA).is_file()), None)


def _is_metrics_json(path: Path) -> bool:
    """A metrics JSON a recipe wrote: a JSON object whose first key is `recipe`, with its `results`."""
    with open(path, "rb") as f:
        head = f.read(256)
    return is_json_object_with(head, path, ("recipe", "results"))


def environment() -> dict[str, str]:
    """Versions that make a result reproducible: Python, torch, numpy, scikit-learn, mmdata."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("mmdata", "torch", "numpy", "scikit-learn"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_ready(value: Any) -> Any:
    """`value` as JSON holds it: keys as strings, tuples as lists, paths as strings, NumPy values as Python
    ones, NaN and Inf as None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):  # a list of its values, whatever its size (`item` takes size 1 only)
        return json_ready(value.tolist())
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        value = value.item()
    return _json_number(value)
