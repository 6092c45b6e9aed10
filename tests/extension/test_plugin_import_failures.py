"""An installed plugin that cannot be imported, even one that calls sys.exit at import, leaves mmdata's
own extractors and every command usable; it is named when an extractor cannot be found."""
from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import mmdata.features.base as extractor_base
from mmdata.errors import UnknownExtractorError
from tests.extension.fake_site import install_fake_distribution

REPO = Path(__file__).resolve().parents[2]
FINE_PLUGIN = """
from mmdata.features import register_extractor
from mmdata.features.image_stats import ColorHistogram


@register_extractor
class FineHist(ColorHistogram):
    name = "lab-fine-hist"
"""


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """Install plugin modules (name -> source) as the only entry points of `mmdata.extractors`; the
    registry (mmdata's own extractors in it) and the failed plugins as they are, restored after the test."""
    extractor_base.available_extractors()
    monkeypatch.setattr(extractor_base, "_REGISTRY", dict(extractor_base._REGISTRY))
    monkeypatch.setattr(extractor_base, "_FAILED_PLUGINS", {})
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(**sources: str) -> None:
        for module, source in sources.items():
            (tmp_path / f"{module}.py").write_text(source)
        entries = [EntryPoint(name=m, value=m, group=extractor_base.EXTRACTOR_ENTRY_POINTS) for m in sources]
        monkeypatch.setattr("importlib.metadata.entry_points", lambda group=None: entries)

    yield install
    for module in list(sys.modules):
        if module.startswith("lab_plugin_"):
            del sys.modules[module]


@pytest.mark.parametrize("source, error", [
    ("raise SystemExit('needs a licence file')", "SystemExit: needs a licence file"),
    ("import sys; sys.exit(3)", "SystemExit: 3"),
    ("raise ImportError('no module named torchlab')", "ImportError: no module named torchlab"),
])
def test_a_plugin_failing_at_import_is_recorded_and_the_others_load(plugins, source, error):
    plugins(lab_plugin_broken=source, lab_plugin_fine=FINE_PLUGIN)
    extractor_base._load_plugin_extractors.__wrapped__()
    assert extractor_base._FAILED_PLUGINS == {"'lab_plugin_broken' (lab_plugin_broken)": error}
    assert extractor_base.get_extractor_class("color-hist").name == "color-hist"
    assert extractor_base.get_extractor_class("lab-fine-hist").__module__ == "lab_plugin_fine"
    with pytest.raises(UnknownExtractorError, match=rf"plugin 'lab_plugin_broken' \(lab_plugin_broken\) could not be "
                                                    rf"imported \({error}\)"):
        extractor_base.get_extractor_class("lab-broken-hist")


def test_a_keyboard_interrupt_during_a_plugin_import_still_stops(plugins):
    plugins(lab_plugin_interrupted="raise KeyboardInterrupt")
    with pytest.raises(KeyboardInterrupt):
        extractor_base._load_plugin_extractors.__wrapped__()


def test_commands_run_with_an_installed_plugin_that_exits_at_import(tmp_path):
    site = tmp_path / "site"
    install_fake_distribution(site, "lab-exiting-plugin", "1.0.0", "lab_exiting_plugin",
                              "raise SystemExit('lab_exiting_plugin: needs a licence file')\n", entry_point="lab")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    version = subprocess.run([sys.executable, "-m", "mmdata", "--version"], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=300)
    assert version.returncode == 0 and version.stdout.startswith("mmdata "), version.stderr
    listed = subprocess.run([sys.executable, "-c", "from mmdata.features import available_extractors as a; print(a())"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert listed.returncode == 0 and "'color-hist'" in listed.stdout, listed.stderr
    assert "could not be imported, its extractors are unavailable: SystemExit: lab_exiting_plugin: needs a licence" \
        in listed.stderr
