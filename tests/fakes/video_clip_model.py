"""A clip model as cheap as a channel mean: `r3d-18`'s decoding, clipping and batching with a tiny network
in place of the 3D ResNet, so that tests can push minutes of video through it on a CPU in seconds."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mmdata.features.video_models import R3D18


class ChannelMeanClipModel(R3D18):
    """`r3d-18` (its preprocessing, clips and table) whose network averages each clip's channels and maps the
    three means to 512 features with a seeded linear layer. Not registered: tests pass an instance."""

    def _build_model(self) -> tuple[Any, str]:
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)
            model = torch.nn.Sequential(torch.nn.AdaptiveAvgPool3d(1), torch.nn.Flatten(), torch.nn.Linear(3, self.dim))
        return model.eval(), "cpu"


def decode_spilling_every_frame(spec: str, row: dict[str, Any], corpus_root: Path) -> Any:
    """`spec`'s decoded item for `row`, its frames all in a temporary file: run in a decode worker of a test's
    own, which sends the item back as mmdata's workers do."""
    import mmdata.features.video_frame_store as frame_store
    from mmdata.features import create_extractor

    frame_store.SPILL_BYTES = 0
    return create_extractor(spec).decode(row, corpus_root)
