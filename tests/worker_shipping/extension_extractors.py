"""Extractors of the tests in this folder, in an importable module (decode workers and Ray tasks
receive them by module and name): one that holds state outside its config, and one whose `compute`
raises a chosen error class for chosen samples."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmdata import errors
from mmdata.features.base import Extractor
from mmdata.store.metadata import FeatureSpec
from tests.fakes.extractors import PassThrough

#: `main_only_extractors` imports only in the process whose pid this variable holds.
MAIN_PID_VARIABLE = "MMDATA_TEST_MAIN_ONLY_PID"
MAIN_ONLY_MODULE = "tests.worker_shipping.main_only_extractors"


class Offset(PassThrough):
    """Every feature is `offset`: a constructor argument, not a config field (what workers do not get)."""

    name: ClassVar[str] = "test-offset"
    modality: ClassVar = "image"

    def __init__(self, config: Any = None, offset: float = 0.0):
        super().__init__(config)
        self.offset = offset

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        return np.array([self.offset], np.float32)


class LazyModel(PassThrough):
    """Loads its "model" on first use, as the built-in model extractors do: state each process builds."""

    name: ClassVar[str] = "test-lazy-model"
    modality: ClassVar = "image"
    _cache: Any = None

    def __init__(self, config: Any = None):
        super().__init__(config)
        self._model: Any = None
        self._device: str | None = None

    def load(self) -> None:
        self._model, self._device, self._cache = object(), "cpu", {"weights": np.ones(3)}

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        return np.zeros(1, np.float32)


@dataclass(frozen=True)
class RaisingConfig:
    #: Samples whose `compute` raises (for any batch holding them).
    fail_on: tuple[str, ...] = ()
    #: The name of the error class in `mmdata.errors` raised.
    error: str = "SchemaMismatchError"


class RaisingCompute(PassThrough):
    """`compute` raises `mmdata.errors.<error>` for a batch holding a sample of `fail_on`."""

    name: ClassVar[str] = "test-raising-compute"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = RaisingConfig

    def decode(self, row: dict[str, Any], corpus_root: Path) -> str:
        return row["sample_id"]

    def compute(self, items: list[str]) -> list[np.ndarray]:
        for sample_id in items:
            if sample_id in self.config.fail_on:
                raise getattr(errors, self.config.error)(f"sidecar file of {sample_id} has 3 columns, expected 4")
        return [np.zeros(1, np.float32) for _ in items]
