"""Image extractors take decoded pictures (`decode_pixels`): the item equals what `decode` makes of the
same pixels in a file, so `video-frames` skips the PNG round trip and computes exactly what it computed
through it; an image extractor of one's own without the hook still gets frames as files."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image

from mmdata.features import Extractor, base, create_extractor, register_extractor
from mmdata.features.base import takes_decoded_pictures
from mmdata.features.image_stats import ColorHistogram, histogram_from_counts
from mmdata.media.image import open_image

BUILTIN_SPECS = ["color-hist", "color-hist:bins=4,decode_size=0", "pixel-stats", "pixel-stats:decode_size=0",
                 "resnet18:weights=random", "resnet50:weights=random,decode=draft", "vit-b-16:weights=random"]


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A crop of a real photograph (scikit-image's astronaut) with an odd size, stored losslessly."""
    from skimage import data

    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    Image.fromarray(data.astronaut()[37:400, 11:298]).save(path)
    return path


@pytest.mark.parametrize("spec", BUILTIN_SPECS)
def test_decode_pixels_gives_what_decode_gives_for_the_same_pixels_in_a_file(photo, spec):
    extractor = create_extractor(spec, modality="image")
    assert takes_decoded_pictures(extractor)
    from_file = extractor.decode({"sample_id": "a", "image": photo.name}, photo.parent)
    with Image.open(photo) as image:
        from_pixels = extractor.decode_pixels(image.convert("RGB"), "a")
    np.testing.assert_array_equal(from_pixels, from_file)


class FileOnlyColorHistogram(ColorHistogram):
    """color-hist as an image extractor of one's own that reads files only."""

    name: ClassVar[str] = "test-file-only-color-hist"
    decode_pixels = Extractor.decode_pixels

    def decode(self, row, corpus_root):
        image = open_image(Path(corpus_root) / row["image"], min_size=self.config.decode_size)
        return histogram_from_counts(np.asarray(image.histogram()), self.config.bins)


@pytest.fixture
def file_only(monkeypatch):
    base.available_extractors()
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    register_extractor(FileOnlyColorHistogram)


def test_an_image_extractor_without_the_hook_reads_frames_from_files(file_only):
    extractor = create_extractor("test-file-only-color-hist", modality="image")
    assert not takes_decoded_pictures(extractor)
    with pytest.raises(NotImplementedError, match="decodes files only"):
        extractor.decode_pixels(Image.new("RGB", (4, 4)), "a")


@pytest.mark.parametrize("angle", [0, 90])
def test_video_frames_compute_the_same_features_with_and_without_the_file_round_trip(file_only, rotated_clips, angle):
    row = {"sample_id": "v", "video": rotated_clips[angle].name, "start": 0.1, "end": 0.9}
    out = {}
    for image in ("color-hist", "test-file-only-color-hist"):
        frames = create_extractor(f"video-frames:image_extractor={image},fps=7")
        decoded = frames.decode(dict(row), rotated_clips[angle].parent)
        out[image] = frames.compute([decoded])[0]
    (with_hook, intervals), (through_files, file_intervals) = out.values()
    assert with_hook.shape == (6, 48)
    np.testing.assert_array_equal(with_hook, through_files)
    np.testing.assert_array_equal(intervals, file_intervals)
