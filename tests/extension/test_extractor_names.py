"""Extractor names are checked when registered (they become folder names), and a name is taken by
mmdata's own extractor whatever the import order: a clash is reported on the class registering later."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

import mmdata.features.base as extractor_base
from mmdata.errors import ConfigError
from mmdata.features import available_extractors, create_extractor, get_extractor_class, register_extractor
from mmdata.features.image_stats import ColorHistogram
from mmdata.pipeline import extract
from mmdata.store import layout, open_dataset
from tests.sample_corpus import copy_sample_corpus

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry(monkeypatch):
    """The registry as it is (mmdata's own extractors in it), restored after the test."""
    available_extractors()
    monkeypatch.setattr(extractor_base, "_REGISTRY", dict(extractor_base._REGISTRY))
    return extractor_base._REGISTRY


def _named(name: object) -> type:
    return type("Named", (ColorHistogram,), {"name": name, "__module__": "lab_extractors"})


@pytest.mark.parametrize("name", ["lab/grey", "../../../escaped", "x/../../samples", "a..b", "Grey Stats", "grey stats",
                                  "Grey", "-grey", ".grey", "", "a\\b", "grey:hist", None, 3])
def test_a_name_that_is_not_lowercase_kebab_case_is_refused(registry, name):
    with pytest.raises(ConfigError, match=r"extractor Named \(lab_extractors\) has name .*lowercase letters, digits.*"
                                          r"pattern \[a-z0-9\]\[a-z0-9\._-\]\*"):
        register_extractor(_named(name))
    assert name not in registry


@pytest.mark.parametrize("name", ["grey-hist", "lab_grey2", "lab-b-16", "grey.v2", "0grey"])
def test_lowercase_names_with_digits_dashes_underscores_and_dots_register(registry, name):
    cls = _named(name)
    assert register_extractor(cls) is cls and get_extractor_class(name) is cls


def test_every_builtin_name_and_table_name_follows_the_rules():
    for name in available_extractors():
        assert extractor_base.EXTRACTOR_NAME_RULE.fullmatch(name), name
        if name not in ("resnet18", "resnet50", "vit-b-16", "minilm", "word-embeddings", "tokens"):  # weights
            assert layout.check_table_name(create_extractor(name).table_name)


@pytest.mark.parametrize("table", ["image.x/../../samples", "../escaped", "..", ".image.hidden", "", "a\\b", "a\0b"])
def test_a_table_name_that_would_leave_the_features_folder_is_refused(tmp_path, table):
    with pytest.raises(ConfigError, match=r"is not the name of one folder inside features/"):
        layout.feature_dir(tmp_path, table)
    with pytest.raises(ConfigError, match=r"is not the name of one folder inside features/"):
        layout.errors_dir(tmp_path, table)


@pytest.mark.parametrize("table", ["image.color-hist", "text.hashed-bow.caption", "audio.covarep@text.words",
                                   "video.frames-color-hist-mean", "audio.covarep_cmu-mosi"])
def test_table_names_in_use_are_folders_inside_features(tmp_path, table):
    assert layout.feature_dir(tmp_path, table) == tmp_path / "features" / table


class EscapingTable(ColorHistogram):
    """A table name made by an extractor's own `table_name`, not from its (checked) name."""

    name: ClassVar[str] = "test-escaping-table"

    @property
    def table_name(self) -> str:
        return "image.x/../../samples"


def test_an_extractor_whose_table_would_replace_the_samples_table_is_refused(tmp_path):
    coco, out = copy_sample_corpus("coco", tmp_path), tmp_path / "out"
    extract("coco", coco, out, extractors=["color-hist"], num_workers=0)
    samples = sorted(p.name for p in (out / "samples").iterdir())
    with pytest.raises(ConfigError, match=r"table name 'image.x/../../samples' is not the name of one folder"):
        extract("coco", coco, out, extractors=[EscapingTable()], num_workers=0, force=True)
    assert sorted(p.name for p in (out / "samples").iterdir()) == samples
    assert open_dataset(out).samples_table().num_rows == 8


def test_a_name_taken_by_a_builtin_is_refused_naming_both_classes(registry):
    class MyColorHist(ColorHistogram):
        name: ClassVar[str] = "color-hist"

    with pytest.raises(ConfigError, match=r"extractor name 'color-hist' is already registered by ColorHistogram "
                                          r"\(mmdata\.features\.image_stats\), so .*MyColorHist \(.*\) cannot have it "
                                          r"too: choose another name"):
        register_extractor(MyColorHist)
    assert get_extractor_class("color-hist") is ColorHistogram


CLASH_MODULE = '''
import numpy as np
from mmdata.features import Extractor, register_extractor
from mmdata.store.metadata import FeatureSpec


@register_extractor
class MyColorHist(Extractor):
    name = "color-hist"
    modality = "image"

    def output_spec(self):
        return FeatureSpec(dim=1)

    def decode(self, row, root):
        return 0.0

    def compute(self, items):
        return [np.zeros(1, np.float32) for _ in items]
'''

CLASH_SCRIPT = '''
import sys
from mmdata.errors import ConfigError
try:
    import clash_extractors  # registered before anything looked up an extractor (mmdata's not loaded yet)
except ConfigError as e:
    print("refused:", e)
from mmdata.features import get_extractor_class
for name in ("color-hist", "pixel-stats"):
    cls = get_extractor_class(name)
    print(name, "->", cls.__module__, cls.__qualname__)
'''


def test_a_clash_with_a_builtin_is_refused_on_the_users_class_whatever_the_import_order(tmp_path):
    (tmp_path / "clash_extractors.py").write_text(CLASH_MODULE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    run = subprocess.run([sys.executable, "-c", CLASH_SCRIPT], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("refused: extractor name 'color-hist' is already registered by ColorHistogram "
                               "(mmdata.features.image_stats), so MyColorHist (clash_extractors) cannot have it too")
    assert lines[1:] == ["color-hist -> mmdata.features.image_stats ColorHistogram",
                         "pixel-stats -> mmdata.features.image_stats PixelStats"]
