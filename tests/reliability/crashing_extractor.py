"""An extractor whose decoder kills its own process on one file, as a segfaulting C decoder would."""
from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from tests.fakes.extractors import PassThrough


@dataclass(frozen=True)
class CrashingConfig:
    crash_on: str = ""


class CrashingDecoder(PassThrough):
    """File size as a 1-d feature; SIGKILLs the decoding process on the sample named `crash_on`."""

    name: ClassVar[str] = "test-crashing-decoder"
    modality: ClassVar = "image"
    config_type: ClassVar[type] = CrashingConfig

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        if row["sample_id"] == self.config.crash_on:
            os.kill(os.getpid(), signal.SIGKILL)
        return np.array([(corpus_root / row["image"]).stat().st_size], dtype=np.float32)
