"""mmdata.media.image: every image becomes 8-bit RGB as Pillow and torchvision load it; 16-bit grey keeps
its high bits (Pillow's own conversion would clip it to white); pixel formats without an 8-bit reading
are refused naming the file."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mmdata.errors import MediaError
from mmdata.features.image_stats import pixel_stats
from mmdata.media.image import load_rgb_array


def test_a_16_bit_grey_png_keeps_its_high_bits(tmp_path):
    grey16 = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "grey16.png")
    assert Image.open(tmp_path / "grey16.png").mode == "I;16"
    rgb = load_rgb_array(tmp_path / "grey16.png")
    assert rgb.dtype == np.uint8 and rgb.shape == (48, 64, 3)
    np.testing.assert_array_equal(rgb[..., 0], grey16 >> 8)
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])
    # the same picture stored with 8 bits gives the same statistics
    Image.fromarray((grey16 >> 8).astype(np.uint8)).save(tmp_path / "grey8.png")
    np.testing.assert_allclose(pixel_stats(rgb), pixel_stats(load_rgb_array(tmp_path / "grey8.png")))


def test_floating_point_and_out_of_range_integer_pixels_are_refused(tmp_path):
    Image.fromarray(np.linspace(0, 1, 48 * 64, dtype=np.float32).reshape(48, 64)).save(tmp_path / "float.tiff")
    with pytest.raises(MediaError, match=r"float.tiff: floating-point pixels \(Pillow mode F\)"):
        load_rgb_array(tmp_path / "float.tiff")
    Image.fromarray(np.full((8, 8), 70000, np.int32)).save(tmp_path / "int32.tiff")
    with pytest.raises(MediaError, match=r"int32.tiff: 32-bit integer pixels \(range 70000..70000\)"):
        load_rgb_array(tmp_path / "int32.tiff")


def test_alpha_is_dropped_and_orientation_tags_are_not_applied(tmp_path):
    """As documented: the stored colour under transparency, the stored orientation."""
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 0  # red, fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    assert (load_rgb_array(tmp_path / "clear.png")[..., 0] == 200).all()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(tmp_path / "tagged.jpg", exif=exif)
    assert load_rgb_array(tmp_path / "tagged.jpg").shape == (4, 6, 3)
