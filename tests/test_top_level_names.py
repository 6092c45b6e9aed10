"""`from mmdata import ...` gives every name of the whole flow (extract, read, check, align, fuse, share,
report, export, the errors), and `import mmdata` alone imports none of the heavy libraries."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import mmdata

FLOW = ("extract", "open_dataset", "Dataset", "describe_dataset", "check_dataset", "align_dataset", "segment_dataset",
        "fuse", "FuseOptions", "FusedDataset", "collate_fused", "share_dataset", "verify_checksums", "write_report",
        "export_csd", "sample_corpus_dir")
ERRORS = ("MmdataError", "DatasetError", "DatasetNotFoundError", "CorpusNotFoundError", "UnknownNameError",
          "SchemaMismatchError", "ChecksFailedError", "ShardReadError", "ConfigError")


def test_the_whole_flow_and_its_errors_are_top_level_names():
    assert set(FLOW) | set(ERRORS) <= set(mmdata.__all__) <= set(dir(mmdata))


@pytest.mark.parametrize("name", sorted(set(mmdata.__all__) - {"__version__"}))
def test_every_public_name_imports_as_the_object_its_module_defines(name):
    namespace: dict = {}
    exec(f"from mmdata import {name}", namespace)  # what a notebook user types
    defined = getattr(importlib.import_module(mmdata._EXPORTS[name]), name)
    assert namespace[name] is defined is getattr(mmdata, name)


def test_every_exported_error_is_an_mmdata_error():
    for name in ERRORS:
        assert issubclass(getattr(mmdata, name), mmdata.MmdataError)


def test_star_import_gives_every_public_name():
    namespace: dict = {}
    exec("from mmdata import *", namespace)
    assert set(mmdata.__all__) <= set(namespace)


def test_checks_failed_error_is_one_class_wherever_it_is_imported_from():
    from mmdata.errors import ChecksFailedError
    from mmdata.share import ChecksFailedError as from_share
    from mmdata.share.checks import ChecksFailedError as from_checks

    assert ChecksFailedError is from_share is from_checks is mmdata.ChecksFailedError
    assert issubclass(ChecksFailedError, mmdata.DatasetError)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'mmdata' has no attribute 'check'"):
        mmdata.check  # noqa: B018


def test_import_mmdata_and_its_errors_stays_light():
    script = ("import sys, mmdata\n"
              "from mmdata import MmdataError, DatasetError, sample_corpus_dir\n"
              "print(sorted(m for m in ('pyarrow', 'numpy', 'pandas', 'torch', 'typer') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
