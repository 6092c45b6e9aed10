"""`video-frames` with an image extractor of one's own: a decode worker rebuilds it by name, so the
module that registers it must come along."""
from __future__ import annotations

import pickle
import sys
import textwrap

import numpy as np

from mmdata.features import base, create_extractor

MODULE = "lab_frame_features"
SOURCE = textwrap.dedent('''
    from typing import ClassVar

    import numpy as np

    from mmdata.features import Extractor, register_extractor
    from mmdata.store.metadata import FeatureSpec


    @register_extractor
    class MeanColour(Extractor):
        name: ClassVar[str] = "lab-mean-colour"
        modality: ClassVar = "image"

        def output_spec(self):
            return FeatureSpec(dim=3)

        def decode(self, row, corpus_root):
            return np.zeros(3, np.float32)

        def compute(self, items):
            return items
''')


def test_a_worker_without_the_module_rebuilds_video_frames_of_an_own_image_extractor(tmp_path, monkeypatch):
    (tmp_path / f"{MODULE}.py").write_text(SOURCE)
    base.available_extractors()  # the built-ins first: the registry copy restored after the test holds them
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__(MODULE)
    payload = pickle.dumps(create_extractor("video-frames:image_extractor=lab-mean-colour,fps=2"))
    # A fresh worker: the module not imported, its extractor not registered.
    del sys.modules[MODULE]
    del base._REGISTRY["lab-mean-colour"]
    frames = pickle.loads(payload)
    assert frames.image.name == "lab-mean-colour" and frames.table_name == "video.frames-lab-mean-colour"
    np.testing.assert_array_equal(frames.image.decode({}, tmp_path), np.zeros(3, np.float32))
    sys.modules.pop(MODULE, None)
