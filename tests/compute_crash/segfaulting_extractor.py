"""An extractor whose `compute` segfaults the process it runs in, as a crashing native model would."""
from __future__ import annotations

import ctypes
from typing import Any, ClassVar

import numpy as np

from tests.fakes.extractors import PassThrough


class SegfaultingCompute(PassThrough):
    """Decodes to the file size; `compute` reads address 0 (SIGSEGV) on any batch."""

    name: ClassVar[str] = "test-segfaulting-compute"
    modality: ClassVar = "image"

    def decode(self, row: dict[str, Any], corpus_root: Any) -> np.ndarray:
        return np.array([(corpus_root / row["image"]).stat().st_size], dtype=np.float32)

    def compute(self, items: list[Any]) -> list[Any]:
        ctypes.string_at(0)
        return items
