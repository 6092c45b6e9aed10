"""Installed distributions written by hand into a folder put on sys.path: a package and its
`<name>-<version>.dist-info` (METADATA, RECORD, top_level.txt, entry points), as pip lays them out."""
from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import mmdata.features.base as extractor_base


def install_fake_distribution(site: Path, name: str, version: str, package: str, source: str,
                              entry_point: str | None = None) -> None:
    """Install `package` (its `__init__.py` holding `source`) as distribution `name` `version` into
    `site`, replacing an earlier version of it; with `entry_point`, the package is declared in the
    group `mmdata.extractors` under that name."""
    site.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_")  # as pip escapes it in the folder name
    for old in site.glob(f"{stem}-*.dist-info"):
        shutil.rmtree(old)
    (site / package).mkdir(exist_ok=True)
    (site / package / "__init__.py").write_text(source)
    info = site / f"{stem}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{package}\n")
    files = [f"{package}/__init__.py", *(f"{info.name}/{f}" for f in ("METADATA", "top_level.txt", "RECORD"))]
    if entry_point is not None:
        (info / "entry_points.txt").write_text(f"[mmdata.extractors]\n{entry_point} = {package}\n")
        files.append(f"{info.name}/entry_points.txt")
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files))
    forget_installed_versions()


def forget_installed_versions() -> None:
    """Drop what this process looked up about installed distributions (mmdata caches it per process)."""
    importlib.invalidate_caches()
    extractor_base._packages_distributions.cache_clear()
    extractor_base._providing_distributions.cache_clear()
    extractor_base._library_versions.cache_clear()
