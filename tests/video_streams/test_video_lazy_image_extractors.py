"""An image extractor whose decode defers reading (a path, a lazily opened PIL image) would
meet a frame file that is overwritten and deleted before compute: a path is a ConfigError naming it,
a PIL image is loaded as it comes back."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from mmdata.errors import ConfigError
from mmdata.features import Extractor, base, create_extractor, register_extractor
from mmdata.store.metadata import FeatureSpec
from tests.video_streams.conftest import frame_index, write_clip


class _FrameIndex(Extractor):
    modality: ClassVar = "image"

    def output_spec(self):
        return FeatureSpec(dim=1)

    def compute(self, items):
        from PIL import Image

        out = []
        for item in items:
            image = Image.open(item) if isinstance(item, str) else item
            out.append(np.array([frame_index(np.asarray(image.convert("RGB")))], np.float32))
        return out


class PathFrameIndex(_FrameIndex):
    name: ClassVar[str] = "test-path-frame-index"

    def decode(self, row, corpus_root):
        return str(Path(corpus_root) / row["image"])


class LazyPilFrameIndex(_FrameIndex):
    name: ClassVar[str] = "test-lazy-pil-frame-index"

    def decode(self, row, corpus_root):
        from PIL import Image

        return Image.open(Path(corpus_root) / row["image"])


@pytest.fixture
def registered(monkeypatch):
    base.available_extractors()
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    register_extractor(PathFrameIndex)
    register_extractor(LazyPilFrameIndex)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("lazy")
    write_clip(root / "videos" / "clip.mp4")
    return root


ROW = {"sample_id": "a", "video": "videos/clip.mp4", "start": 0.0, "end": 1.0}


def test_a_decode_returning_a_path_is_a_config_error_naming_the_image_extractor(registered, corpus):
    frames = create_extractor("video-frames:image_extractor=test-path-frame-index,fps=5")
    with pytest.raises(ConfigError, match=r"image extractor 'test-path-frame-index' decode returned a path .*"
                                          r"expected decode to return loaded data"):
        frames.decode(dict(ROW), corpus)


def test_a_lazily_opened_pil_image_is_loaded_before_its_frame_file_goes(registered, corpus):
    frames = create_extractor("video-frames:image_extractor=test-lazy-pil-frame-index,fps=5")
    decoded = frames.decode(dict(ROW), corpus)
    assert all(image.fp is None for image in decoded.items)  # read and closed: no file left to read later
    sequence, _ = frames.compute([decoded])[0]
    assert sequence[:, 0].tolist() == [0, 2, 4, 6, 8]
