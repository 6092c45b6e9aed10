"""Fixtures of the executor tests in this folder."""
from __future__ import annotations

import importlib
import os
import sys
import types

import pytest

from tests.ray_module import module_ray_session
from tests.worker_shipping.extension_extractors import MAIN_ONLY_MODULE, MAIN_PID_VARIABLE


@pytest.fixture(scope="module")
def ray_session():
    yield from module_ray_session()


@pytest.fixture
def main_only_module(monkeypatch) -> types.ModuleType:
    """`main_only_extractors`, imported in this process (and only here)."""
    monkeypatch.setenv(MAIN_PID_VARIABLE, str(os.getpid()))
    monkeypatch.delitem(sys.modules, MAIN_ONLY_MODULE, raising=False)
    yield importlib.import_module(MAIN_ONLY_MODULE)
    sys.modules.pop(MAIN_ONLY_MODULE, None)
