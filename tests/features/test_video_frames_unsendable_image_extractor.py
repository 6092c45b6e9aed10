"""`video-frames` over an image extractor whose class no decode worker can import (defined in a
function or a notebook): the wrapper cannot be sent either, and says so as the image extractor alone
does, instead of every worker dying as it rebuilds the image extractor by name."""
from __future__ import annotations

import pickle
from typing import ClassVar

import numpy as np
import pytest

from mmdata.errors import WorkersCannotStartError
from mmdata.executors import _why_not_sendable
from mmdata.features import Extractor, base, create_extractor, register_extractor
from mmdata.store.metadata import FeatureSpec


@pytest.fixture
def local_image_extractor(monkeypatch):
    base.available_extractors()  # the built-ins first: the registry copy restored after the test holds them
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))

    @register_extractor
    class LocalGrey(Extractor):
        name: ClassVar[str] = "local-grey"
        modality: ClassVar = "image"

        def output_spec(self):
            return FeatureSpec(dim=1)

        def decode(self, row, corpus_root):
            return np.zeros(1, np.float32)

        def compute(self, items):
            return items

    return LocalGrey


def test_video_frames_over_a_local_image_extractor_cannot_be_pickled(local_image_extractor):
    frames = create_extractor("video-frames:image_extractor=local-grey,fps=2")
    with pytest.raises(WorkersCannotStartError, match="local-grey.*inside a function"):
        pickle.dumps(frames)


def test_auto_mode_decodes_video_frames_over_a_local_image_extractor_here(local_image_extractor):
    frames = create_extractor("video-frames:image_extractor=local-grey,fps=2")
    reason = _why_not_sendable(frames)
    assert reason is not None and "local-grey" in reason


def test_video_frames_over_an_importable_image_extractor_round_trips():
    frames = pickle.loads(pickle.dumps(create_extractor("video-frames:image_extractor=color-hist,fps=2")))
    assert frames.image.name == "color-hist" and frames.table_name == "video.frames-color-hist"
    assert _why_not_sendable(frames) is None
