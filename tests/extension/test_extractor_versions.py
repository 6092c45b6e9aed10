"""A table records the version of the extractor that computed it, not only mmdata's and the libraries':
the version of the installed package providing the class, and the class's own `version`. A resume
after either changed is refused instead of mixing rows of both versions in one table."""
from __future__ import annotations

import importlib
import sys

import pytest

import mmdata.features.base as extractor_base
from mmdata.features import available_extractors, create_extractor, get_extractor_class
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.manifest import write_manifest
from mmdata.store.tables import MixedVersionsError
from tests.extension.extractors import VersionedHist
from tests.extension.fake_site import forget_installed_versions, install_fake_distribution
from tests.sample_corpus import copy_sample_corpus

PLUGIN_SOURCE = '''
from mmdata.features import register_extractor
from mmdata.features.image_stats import ColorHistogram


@register_extractor
class LabHist(ColorHistogram):
    name = "lab-plugin-hist"
'''
PLUGIN_TABLE = "image.lab-plugin-hist"


@pytest.fixture
def coco(tmp_path):
    return copy_sample_corpus("coco", tmp_path)


@pytest.fixture
def lab_plugin(tmp_path, monkeypatch):
    """The distribution `lab-hist-plugin` 1.0.0 installed, its module `lab_hist_plugin` imported;
    returns the folder it is installed in."""
    site = tmp_path / "site"
    install_fake_distribution(site, "lab-hist-plugin", "1.0.0", "lab_hist_plugin", PLUGIN_SOURCE)
    available_extractors()  # mmdata's own extractors in the registry restored after the test
    monkeypatch.setattr(extractor_base, "_REGISTRY", dict(extractor_base._REGISTRY))
    monkeypatch.syspath_prepend(str(site))
    importlib.import_module("lab_hist_plugin")
    yield site
    sys.modules.pop("lab_hist_plugin", None)
    forget_installed_versions()


def _extract(coco, out, name, **kwargs):
    return extract("coco", coco, out, extractors=[name], num_workers=0, shard_size=3, **kwargs)


def _interrupt(out, table: str) -> None:
    """As a run killed before the table's second shard was written: that shard missing, the table incomplete."""
    (out / "features" / table / "part-00001.parquet").unlink()
    data = open_dataset(out)
    data.manifest.tables[table].complete = False
    write_manifest(out, data.manifest)


def test_a_plugin_extractor_records_the_version_of_its_distribution(lab_plugin):
    extractor = create_extractor("lab-plugin-hist")
    versions = extractor.provenance()["versions"]
    assert versions["lab-hist-plugin"] == "1.0.0"
    assert set(versions) == {"mmdata", *extractor.libraries, "lab-hist-plugin"}


def test_resuming_after_the_plugin_was_upgraded_is_refused_then_force_recomputes(lab_plugin, coco, tmp_path):
    out = tmp_path / "out"
    _extract(coco, out, "lab-plugin-hist")
    assert open_dataset(out).entry(PLUGIN_TABLE).versions["lab-hist-plugin"] == "1.0.0"
    _interrupt(out, PLUGIN_TABLE)
    install_fake_distribution(lab_plugin, "lab-hist-plugin", "1.1.0", "lab_hist_plugin", PLUGIN_SOURCE)
    with pytest.raises(MixedVersionsError,
                       match=r"lab-hist-plugin 1\.0\.0 \(this install: 1\.1\.0\).*would mix rows.*--force"):
        _extract(coco, out, "lab-plugin-hist")
    assert not (out / "features" / PLUGIN_TABLE / "part-00001.parquet").exists()  # nothing computed
    report = _extract(coco, out, "lab-plugin-hist", force=True)
    assert report.tables[0].shards_written == 3
    assert {open_dataset(out).table_metadata(PLUGIN_TABLE)["versions"]["lab-hist-plugin"]} == {"1.1.0"}


def test_an_extractor_records_its_own_version(coco, tmp_path):
    out = tmp_path / "out"
    _extract(coco, out, "test-versioned-hist")
    assert open_dataset(out).entry("image.test-versioned-hist").versions["extractor:test-versioned-hist"] == "1"


def test_resuming_after_the_extractor_version_changed_is_refused(coco, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _extract(coco, out, "test-versioned-hist")
    _interrupt(out, "image.test-versioned-hist")
    monkeypatch.setattr(VersionedHist, "version", "2")
    with pytest.raises(MixedVersionsError, match=r"extractor:test-versioned-hist 1 \(this install: 2\).*would mix rows"):
        _extract(coco, out, "test-versioned-hist")
    assert not (out / "features" / "image.test-versioned-hist" / "part-00001.parquet").exists()


def test_resuming_with_the_same_extractor_version_still_resumes(coco, tmp_path):
    out = tmp_path / "out"
    _extract(coco, out, "test-versioned-hist")
    _interrupt(out, "image.test-versioned-hist")
    table = _extract(coco, out, "test-versioned-hist").tables[0]
    assert (table.shards_written, table.shards_skipped, table.made_with) == (1, 2, None)


def test_mmdata_own_extractors_record_no_version_of_their_own():
    for name in available_extractors():
        cls = get_extractor_class(name)
        if cls.__module__.startswith("mmdata."):
            assert cls.version is None, name
            assert extractor_base._providing_distribution_versions(cls.__module__) == {}, name
    extractor = create_extractor("color-hist")
    assert extractor.provenance()["versions"] == extractor_base.library_versions(("mmdata", *extractor.libraries))


def test_a_module_no_installed_distribution_provides_records_none():
    """This test module's top-level name, `tests`, is also one some distributions install (their own
    test suites); none of them provides it."""
    assert extractor_base._providing_distribution_versions(VersionedHist.__module__) == {}
    assert set(VersionedHist().provenance()["versions"]) == {"mmdata", *VersionedHist.libraries,
                                                             "extractor:test-versioned-hist"}


def test_video_frames_records_the_versions_of_its_image_extractor():
    import tests.extension.extractors  # noqa: F401 - registers test-versioned-hist

    frames = create_extractor("video-frames:image_extractor=test-versioned-hist")
    versions = frames.provenance()["versions"]
    # in `versions`, where a resume compares them: a new image extractor version refuses the resume
    assert versions["extractor:test-versioned-hist"] == "1" and versions["av"] and versions["pillow"]
