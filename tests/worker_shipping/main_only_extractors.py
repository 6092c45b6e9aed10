"""An extractor module that imports only in the process whose pid `MAIN_PID_VARIABLE` holds (the
`main_only_module` fixture sets it): in decode workers and Ray workers importing it raises ImportError, as a plugin that
needs something only the main process set up does."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from tests.worker_shipping.extension_extractors import MAIN_PID_VARIABLE
from tests.fakes.extractors import PassThrough

if os.environ.get(MAIN_PID_VARIABLE) != str(os.getpid()):
    raise ImportError("main-only extractors: this process has no licence")


class MainOnly(PassThrough):
    name: ClassVar[str] = "test-main-only"
    modality: ClassVar = "image"

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        return np.zeros(1, np.float32)
