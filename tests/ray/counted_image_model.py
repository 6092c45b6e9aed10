"""An image model that records each time a process builds it, for the Ray tests of where model extractors
run; in an importable module (`tests.ray.counted_image_model`), so that Ray workers receive it by name
inside `video-frames`, as they would an extractor of one's own."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from mmdata.features.base import register_extractor
from mmdata.features.image_models import BackboneConfig, ResNet18


@dataclass(frozen=True)
class CountedConfig(BackboneConfig):
    #: A file that gets one line (the building process's pid) per model build.
    builds_log: str = ""


@register_extractor
class CountedResNet18(ResNet18):
    """`resnet18`, appending the building process's pid to `builds_log` whenever it builds its model."""

    name: ClassVar[str] = "counted-resnet18"
    config_type: ClassVar[type] = CountedConfig

    def _build_model(self) -> tuple[Any, str]:
        with open(self.config.builds_log, "a") as log:
            log.write(f"{os.getpid()}\n")
        return super()._build_model()


def builds(log: Path) -> list[int]:
    """The pids of the processes that built the model, one per build."""
    return [int(pid) for pid in log.read_text().split()] if log.exists() else []
