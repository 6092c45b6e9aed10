"""mmdata.media.image and the weight-free image extractors on image files as cameras, phones and
scientific tools write them: a multi-picture JPEG (MPO) decodes at reduced size like any JPEG, a file of
32-bit integers is refused whatever its values, an oversized embedded image is a MediaError naming it,
and the EXIF orientation tag is ignored at full and at reduced size alike."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from mmdata.errors import MediaError
from mmdata.features import create_extractor
from mmdata.media.image import decode_image_bytes, load_rgb_array


def numpy_histogram(rgb: np.ndarray, bins: int) -> np.ndarray:
    pixels = rgb.shape[0] * rgb.shape[1]
    return np.concatenate([np.histogram(rgb[..., c], bins=bins, range=(0, 256))[0] for c in range(3)]) / pixels


def test_a_multi_picture_jpeg_decodes_at_reduced_size_like_the_same_photo_as_a_plain_jpeg(tmp_path):
    """Phones and 3D/HDR cameras store a second picture (depth or gain map) after the photo; Pillow calls
    such a .jpg "MPO". Its photo is a plain JPEG, so it decodes at reduced size and gives the same features."""
    photo = np.tile(data.astronaut(), (2, 2, 1))  # 1024 x 1024: decoded at 1/8 for decode_size=128
    Image.fromarray(photo).save(tmp_path / "plain.jpg", quality=90)
    second = Image.fromarray(photo[::8, ::8].copy())
    Image.fromarray(photo).save(tmp_path / "phone.jpg", format="MPO", save_all=True, append_images=[second],
                                quality=90)
    stored = Image.open(tmp_path / "phone.jpg")
    assert stored.format == "MPO" and stored.n_frames == 2
    stored.close()
    # the full-size photo of both files is the same
    np.testing.assert_array_equal(load_rgb_array(tmp_path / "phone.jpg"), load_rgb_array(tmp_path / "plain.jpg"))

    reduced = load_rgb_array(tmp_path / "phone.jpg", min_size=128)
    assert reduced.shape == (128, 128, 3)
    np.testing.assert_array_equal(reduced, load_rgb_array(tmp_path / "plain.jpg", min_size=128))

    hist, stats = create_extractor("color-hist"), create_extractor("pixel-stats")
    features = {name: (hist.decode({"sample_id": name, "image": f"{name}.jpg"}, tmp_path),
                       stats.decode({"sample_id": name, "image": f"{name}.jpg"}, tmp_path))
                for name in ("plain", "phone")}
    np.testing.assert_allclose(features["phone"][0], numpy_histogram(reduced, 16), atol=1e-7)
    np.testing.assert_array_equal(features["phone"][0], features["plain"][0])
    np.testing.assert_array_equal(features["phone"][1], features["plain"][1])


def test_a_32_bit_integer_image_is_refused_even_with_values_that_fit_in_16_bits(tmp_path):
    """As documented (32-bit images are refused): a 32-bit TIFF holding 0..255 is not read as 16-bit
    (which made it black); a 16-bit grey PGM, which Pillow also opens in mode I, keeps its high bits."""
    camera = data.camera()[::4, ::4]
    Image.fromarray(camera.astype(np.int32)).save(tmp_path / "int32.tiff")
    assert Image.open(tmp_path / "int32.tiff").mode == "I"
    values = rf"\(range {camera.min()}..{camera.max()}\)"  # 0..255 would be black as 16-bit
    with pytest.raises(MediaError, match=rf"int32.tiff: 32-bit integer pixels {values}; expected an 8- or 16-bit"):
        load_rgb_array(tmp_path / "int32.tiff")
    with pytest.raises(MediaError, match=r"scan.tiff: 32-bit integer pixels"):
        decode_image_bytes((tmp_path / "int32.tiff").read_bytes(), "scan.tiff")
    row = {"sample_id": "s", "image": "int32.tiff"}
    with pytest.raises(MediaError, match=r"int32.tiff: 32-bit integer pixels"):
        create_extractor("color-hist").decode(row, tmp_path)

    grey16 = camera.astype(np.uint16) * 257 + np.uint16(0x42)
    Image.fromarray(grey16).save(tmp_path / "grey16.pgm")
    assert Image.open(tmp_path / "grey16.pgm").mode == "I"
    np.testing.assert_array_equal(load_rgb_array(tmp_path / "grey16.pgm"),
                                  np.repeat((grey16 >> 8).astype(np.uint8)[..., None], 3, axis=2))


def test_an_oversized_embedded_image_is_a_media_error_naming_it(monkeypatch):
    buffer = io.BytesIO()
    Image.fromarray(data.coffee()[:80, :80]).save(buffer, "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1600)  # 6400 pixels > 2 x 1600
    with pytest.raises(MediaError, match=r"image is too large to decode: the embedded image_file \(Image size "
                                         r"\(6400 pixels\).*downscale the file or remove the sample"):
        decode_image_bytes(buffer.getvalue(), "the embedded image_file")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_the_orientation_tag_is_ignored_at_full_and_at_reduced_size(orientation, tmp_path):
    photo = data.coffee()  # 400 x 600, landscape as stored
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(photo).save(tmp_path / "tagged.jpg", exif=exif, quality=95)
    Image.fromarray(photo).save(tmp_path / "untagged.jpg", quality=95)
    for min_size in (None, 100):  # 100: decoded at 1/4, 100 x 150
        tagged = load_rgb_array(tmp_path / "tagged.jpg", min_size=min_size)
        assert tagged.shape == ((400, 600, 3) if min_size is None else (100, 150, 3))
        np.testing.assert_array_equal(tagged, load_rgb_array(tmp_path / "untagged.jpg", min_size=min_size))
