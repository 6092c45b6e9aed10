"""mmdata's version is one number everywhere (the package metadata tables record, `__version__`, the
changelog's newest entry), so a release that changes what tables hold is told apart by resumes."""
from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import mmdata
from mmdata.features.base import library_versions

REPO = Path(__file__).resolve().parents[2]


def test_the_module_and_the_installed_package_name_one_version():
    assert mmdata.__version__ == version("mmdata")
    assert library_versions(("mmdata",)) == {"mmdata": mmdata.__version__}  # what every table records


def test_the_changelog_opens_with_this_version():
    headings = re.findall(r"^## (\S+)", (REPO / "CHANGELOG.md").read_text(encoding="utf-8"), flags=re.M)
    assert headings and headings[0] == mmdata.__version__
    project = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^version = "([^"]+)"', project, flags=re.M).group(1) == mmdata.__version__


def test_tables_record_the_running_codes_version_not_the_install_metadata(monkeypatch):
    """An editable install keeps the version it was installed at in its metadata until installed again;
    a table records the version of the code that computed it."""
    from mmdata.features import base

    base._library_versions.cache_clear()
    monkeypatch.setattr(mmdata, "__version__", "9.9.9")
    try:
        assert library_versions(("mmdata", "numpy"))["mmdata"] == "9.9.9"
    finally:
        base._library_versions.cache_clear()
