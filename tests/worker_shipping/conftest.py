"""Fixtures of the executor tests in this folder."""
from __future__ import annotations

import importlib
import os
import sys
import types

import pytest

from tests.worker_shipping.extension_extractors import MAIN_ONLY_MODULE, MAIN_PID_VARIABLE


@pytest.fixture(scope="module")
def ray_session():
    """The test session's Ray instance (tests/ray/conftest.py's `ray_session`) when it is running;
    else one started the same way for this module and shut down after it, so that the session's own
    fixture can start Ray later (`ray.init` refuses to run twice)."""
    import ray

    if ray.is_initialized():
        yield ray
        return
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024**2, log_to_driver=False,
             logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.fixture
def main_only_module(monkeypatch) -> types.ModuleType:
    """`main_only_extractors`, imported in this process (and only here)."""
    monkeypatch.setenv(MAIN_PID_VARIABLE, str(os.getpid()))
    monkeypatch.delitem(sys.modules, MAIN_ONLY_MODULE, raising=False)
    yield importlib.import_module(MAIN_ONLY_MODULE)
    sys.modules.pop(MAIN_ONLY_MODULE, None)
