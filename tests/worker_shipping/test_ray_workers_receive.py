"""What Ray workers need to run an extractor as this process does, checked before a table runs:

- a recipe's `modules` found beside it (a folder this process appends to sys.path) reach the Ray
  workers mmdata starts, on their PYTHONPATH; the run used to end in a Ray traceback
  (`RayTaskError ... ModuleNotFoundError: No module named 'rec_extractors'`) while `-j 2` worked;
- where the caller started Ray without that folder, a ConfigError says how to pass it on;
- a module that fails to import on the workers stops the run with one WorkersCannotStartError;
- state outside the extractor's config is refused as by the local executor's workers;
- an mmdata error other than a configuration error raised by `compute` fails only its item, as locally.

The in-process tests use the test session's Ray (`ray_session`); where mmdata starts Ray itself, the
run is a subprocess that starts and stops its own Ray instance.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mmdata
from mmdata.errors import ConfigError, WorkersCannotStartError
from mmdata.pipeline import extract
from mmdata.ray_executor import _import_failure, paths_added_here, worker_runtime_env
from mmdata.sample_data import sample_corpus_dir
from mmdata.store import open_dataset
from tests.worker_shipping.extension_extractors import Offset, RaisingCompute, RaisingConfig

#: Far more than the subprocess takes (one Ray start and a table of 8 images, ~15 s on 2 CPUs).
SUBPROCESS_TIMEOUT_S = 240

MODULE_SOURCE = '''
from typing import ClassVar

import numpy as np

from mmdata.features.base import Extractor, register_extractor
from mmdata.store.metadata import FeatureSpec


@register_extractor
class {cls}(Extractor):
    name: ClassVar[str] = "{name}"
    modality: ClassVar = "image"

    def output_spec(self):
        return FeatureSpec(dim=1)

    def decode(self, row, corpus_root):
        return np.full(1, len(row["sample_id"]), np.float32)

    def compute(self, items):
        return items
'''


def _coco(tmp_path, extractor, **options):
    return extract("coco", sample_corpus_dir("coco"), tmp_path / "out", extractors=[extractor], executor="ray",
                   **options)


def test_ray_refuses_an_extractor_with_state_outside_its_config(ray_session, tmp_path):
    with pytest.raises(ConfigError, match=r"extractor 'test-offset' .*Ray workers would not get: offset = 5\.0 here, "
                                          r"0\.0 there.*self\.config\.offset.*--executor local -j 0"):
        _coco(tmp_path, Offset(offset=5.0))


def test_an_mmdata_error_in_compute_on_ray_fails_only_its_item(ray_session, tmp_path):
    ids = sorted(p.stem for p in (sample_corpus_dir("coco") / "val2017").iterdir())
    report = _coco(tmp_path, RaisingCompute(RaisingConfig(fail_on=(ids[3],))), batch_size=4)
    assert (report.tables[0].rows, report.tables[0].errors) == (8, 1)
    records = open_dataset(tmp_path / "out").errors().to_pylist()
    assert [(r["sample_id"], r["stage"], r["error_type"]) for r in records] == [(ids[3], "compute", "SchemaMismatchError")]


def test_a_configuration_error_in_compute_on_ray_stops_the_run_as_itself(ray_session, tmp_path):
    ids = sorted(p.stem for p in (sample_corpus_dir("coco") / "val2017").iterdir())
    with pytest.raises(ConfigError, match="has 3 columns"):
        _coco(tmp_path, RaisingCompute(RaisingConfig(fail_on=(ids[3],), error="ConfigError")), batch_size=4)


def test_a_module_in_a_folder_only_this_process_has_is_a_config_error_when_the_caller_started_ray(
        ray_session, tmp_path, monkeypatch):
    folder = tmp_path / "my extractors"
    folder.mkdir()
    (folder / "only_here_extractors.py").write_text(MODULE_SOURCE.format(cls="OnlyHere", name="test-only-here"))
    monkeypatch.setattr(sys, "path", [*sys.path, str(folder)])
    monkeypatch.delitem(sys.modules, "only_here_extractors", raising=False)
    from mmdata.features import base

    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    import only_here_extractors

    where = re.escape(str(folder))
    with pytest.raises(ConfigError, match=rf"Ray workers cannot import module 'only_here_extractors' of extractor "
                                          rf"'test-only-here' \(ModuleNotFoundError: No module named "
                                          rf"'only_here_extractors'\): it is in {where}, which is on this process's "
                                          rf"sys.path only.*runtime_env=\{{\"env_vars\": \{{\"PYTHONPATH\": "
                                          rf"\"{where}\"\}}\}}"):
        _coco(tmp_path, only_here_extractors.OnlyHere())
    assert not (tmp_path / "out" / "features").exists() or not list((tmp_path / "out" / "features").iterdir())
    sys.modules.pop("only_here_extractors", None)


def test_a_module_that_fails_to_import_on_ray_workers_stops_the_run_with_its_error(
        ray_session, main_only_module, tmp_path):
    with pytest.raises(WorkersCannotStartError,
                       match=r"Ray workers cannot receive extractor 'test-main-only'.*main_only_extractors\.MainOnly, "
                             r"fails \(ImportError: main-only extractors: this process has no licence\).*PYTHONPATH"):
        _coco(tmp_path, main_only_module.MainOnly())


def test_the_workers_mmdata_starts_get_the_folders_this_process_added_first_on_their_pythonpath(tmp_path, monkeypatch):
    folder = tmp_path / "added"
    folder.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(folder), str(tmp_path / "missing")])
    monkeypatch.setenv("PYTHONPATH", "/inherited/folder")
    added = paths_added_here()
    assert str(folder) in added and str(tmp_path / "missing") not in added
    assert not any(os.path.basename(path) == "site-packages" for path in added)  # a fresh process has those
    assert worker_runtime_env(joining=False) == {
        "env_vars": {"PYTHONPATH": os.pathsep.join([*added, "${PYTHONPATH}"])}}
    monkeypatch.delenv("PYTHONPATH")
    assert worker_runtime_env(joining=False)["env_vars"]["PYTHONPATH"] == os.pathsep.join(added)
    assert worker_runtime_env(joining=True)["env_vars"]["PYTHONPATH"].endswith(os.pathsep + "${PYTHONPATH}")


def test_an_import_error_is_read_from_a_ray_error_text():
    text = ("ray::MapBatches(_decode_and_compute_tasks)() (pid=26775)\nray.exceptions.RaySystemError: System error: "
            "No module named 'rec_extractors'\ntraceback: Traceback (most recent call last):\n  File \"x.py\"\n"
            "ModuleNotFoundError: No module named 'rec_extractors'\n")
    assert _import_failure(RuntimeError(text)) == "ModuleNotFoundError: No module named 'rec_extractors'"
    assert _import_failure(RuntimeError("ValueError: something else")) is None


def test_a_recipes_modules_beside_it_reach_the_ray_workers_mmdata_starts(tmp_path):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "rec_grey_extractors.py").write_text(MODULE_SOURCE.format(cls="RecGrey", name="test-rec-grey"))
    (recipes / "grey.toml").write_text(textwrap.dedent("""
        [corpus]
        kind = "coco"
        [extract]
        modules = ["rec_grey_extractors"]
        image = ["test-rec-grey"]
    """))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONPATH"] = str(Path(mmdata.__file__).parents[1])  # the mmdata under test, and not the recipe's folder
    work = tmp_path / "cwd"  # neither the recipe's folder (Ray passes the current folder on itself) nor the tests'
    work.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "mmdata", "extract", str(recipes / "grey.toml"), str(sample_corpus_dir("coco")),
         str(tmp_path / "out"), "--executor", "ray", "-q"],
        capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S, env=env, cwd=work)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "table image.test-rec-grey: 8 rows, 0 failed" in result.stdout, output
    assert "Traceback" not in output
