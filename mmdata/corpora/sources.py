"""The corpus files a dataset read its precomputed tables and labels from, and whether they changed since.

`extract` reads a corpus once: a rerun into the same output directory keeps the samples and the
precomputed tables (.csd sequences, processed pickles) the first run read. When one of those files
was replaced since (a new release of the features, an edited label file), the dataset no longer says
what the corpus holds; the manifest records each file's size and modification time
(`extra.sources`) so that a rerun can say so:

    extra.sources = {"CMU_MOSI_COVAREP.csd": {"size": 123456789, "mtime_ns": 1700000000000000000}, ...}

Names are relative to the corpus root. Copying a corpus without keeping modification times makes its
files look changed: the rerun then warns, and a new output directory reads them again.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mmdata.corpora.base import LoadResult

#: Key of the manifest's `extra` holding the files' sizes and modification times.
SOURCES_KEY = "sources"


def source_names(result: LoadResult) -> list[str]:
    """The corpus files (relative names) of the loader's precomputed tables and of its label file."""
    names = [t.config.get("file") for t in result.tables]
    labels = result.metadata.get("labels")
    if isinstance(labels, Mapping):
        names.append(labels.get("file"))
    return list(dict.fromkeys(n for n in names if isinstance(n, str) and n))


def stat_sources(root: Path, names: Iterable[str]) -> dict[str, dict[str, int]]:
    """{name: {"size", "mtime_ns"}} of the files that exist under `root`."""
    out = {}
    for name in names:
        path = root / name
        if path.is_file():
            stat = path.stat()
            out[name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return out


def changed_sources(root: Path, recorded: Any) -> list[str]:
    """What changed in the recorded files since: 'NAME (size A -> B bytes)', 'NAME (modified)' or
    'NAME (missing)', in the recorded order; empty when nothing did (or nothing was recorded)."""
    if not isinstance(recorded, Mapping):
        return []
    changes = []
    for name, before in recorded.items():
        if not isinstance(before, Mapping):
            continue
        now = stat_sources(root, [name]).get(name)
        if now is None:
            changes.append(f"{name} (missing)")
        elif now["size"] != before.get("size"):
            changes.append(f"{name} (size {before.get('size')} -> {now['size']} bytes)")
        elif now["mtime_ns"] != before.get("mtime_ns"):
            changes.append(f"{name} (modified)")
    return changes
