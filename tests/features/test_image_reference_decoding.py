"""mmdata.media.image against Pillow and NumPy by hand on real photographs: the RGB pixels of grey,
palette, CMYK, 16-bit and animated files; and a clear MediaError, recorded per item by the pipeline,
for every file that cannot give its pixels (truncated, empty, not an image, too large)."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile
from skimage import data

from mmdata.errors import MediaError
from mmdata.media.image import load_rgb_array
from mmdata.pipeline import extract
from mmdata.store.reader import open_dataset


def write_png16(path: Path, pixels: np.ndarray) -> None:
    """A 16-bit RGB PNG (Pillow writes none), filter type 0 on every row."""
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def test_grey_and_palette_images_become_their_grey_values_and_palette_colours(tmp_path):
    camera = data.camera()[::4, ::4]
    Image.fromarray(camera).save(tmp_path / "grey.png")
    np.testing.assert_array_equal(load_rgb_array(tmp_path / "grey.png"), np.repeat(camera[..., None], 3, axis=2))

    palette_img = Image.fromarray(data.astronaut()[::4, ::4]).quantize(32)
    palette_img.save(tmp_path / "palette.png", transparency=0)  # palette entry 0 is transparent
    stored = Image.open(tmp_path / "palette.png")
    assert stored.mode == "P" and stored.info["transparency"] == 0
    palette = np.array(stored.getpalette(), np.uint8).reshape(-1, 3)
    # the stored colour of every pixel, transparent ones included
    np.testing.assert_array_equal(load_rgb_array(tmp_path / "palette.png"), palette[np.asarray(stored)])


def test_a_cmyk_jpeg_converts_with_pillow_s_formula_and_keeps_the_photo_s_colours(tmp_path):
    photo = data.coffee()[::2, ::2]
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    cmyk = np.asarray(Image.open(tmp_path / "cmyk.jpg")).astype(np.float64)
    assert cmyk.shape[2] == 4
    c, k = cmyk[..., :3], cmyk[..., 3:]
    expected = (255 - c) * (255 - k) / 255  # R = (1 - C)(1 - K), G and B alike
    rgb = load_rgb_array(tmp_path / "cmyk.jpg")
    np.testing.assert_allclose(rgb, expected, atol=1)
    assert np.abs(rgb.astype(np.float64) - photo).mean() < 3  # the photo, up to JPEG's loss
    assert load_rgb_array(tmp_path / "cmyk.jpg", min_size=75).shape == (100, 150, 3)  # draft decode: 1/2


def test_a_16_bit_rgb_png_keeps_its_high_bytes(tmp_path):
    rocket16 = data.rocket()[::4, ::4].astype(np.uint16) * 257 + np.uint16(0x55)
    write_png16(tmp_path / "rgb16.png", rocket16)
    np.testing.assert_array_equal(load_rgb_array(tmp_path / "rgb16.png"), (rocket16 >> 8).astype(np.uint8))


@pytest.mark.parametrize("suffix", ["gif", "webp"])
def test_an_animated_image_gives_its_first_frame(suffix, tmp_path):
    frames = [Image.fromarray(np.full((24, 32, 3), value, np.uint8)) for value in (40, 130, 220)]
    frames[0].save(tmp_path / f"anim.{suffix}", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    assert Image.open(tmp_path / f"anim.{suffix}").n_frames == 3
    np.testing.assert_array_equal(load_rgb_array(tmp_path / f"anim.{suffix}"), np.full((24, 32, 3), 40, np.uint8))


def encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    img = Image.fromarray(data.chelsea())
    img.save(buffer, fmt, **({"progressive": True} if fmt == "JPEG" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP"])
def test_a_truncated_file_fails_even_where_the_program_lets_pillow_pad_it_with_grey(fmt, tmp_path, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as training scripts often set it
    whole = encoded(fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    for fraction in (0.3, 0.9, 0.99):
        path.write_bytes(whole[: int(len(whole) * fraction)])
        for min_size in (None, 64):
            with pytest.raises(MediaError, match=rf"image file is corrupt or truncated.*: {path}"):
                load_rgb_array(path, min_size=min_size)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the program's own setting is left as it was
    path.write_bytes(whole)
    assert load_rgb_array(path).shape == (300, 451, 3)


def test_empty_non_image_and_oversized_files_say_what_they_are(tmp_path, monkeypatch):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(MediaError, match=r"image file is empty \(0 bytes\): .*empty.jpg; the copy or download that wrote it may have failed"):
        load_rgb_array(tmp_path / "empty.jpg")
    (tmp_path / "page.jpg").write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>")
    with pytest.raises(MediaError, match=r"not an image: .*page.jpg \(Pillow recognises no image format in it; "
                                         r"it starts with b'<!DOCTYPE html><'\); expected a JPEG, PNG"):
        load_rgb_array(tmp_path / "page.jpg")
    Image.fromarray(data.astronaut()[:80, :80]).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1600)  # 6400 pixels > 2 x 1600
    with pytest.raises(MediaError, match=r"image is too large to decode: .*big.png \(Image size \(6400 pixels\) "
                                         r"exceeds limit of 3200 pixels.*downscale the file or remove the sample"):
        load_rgb_array(tmp_path / "big.png")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_the_pipeline_records_each_bad_image_with_its_sample_and_reason(fake_coco, tmp_path, monkeypatch):
    ids = sorted(fake_coco.images)
    good = fake_coco.images[ids[0]].read_bytes()
    fake_coco.images[ids[1]].write_bytes(good[: len(good) * 2 // 3])
    fake_coco.images[ids[2]].write_text("<html>rate limited</html>")
    Image.fromarray(data.astronaut()).save(fake_coco.images[ids[3]], "PNG")  # 512 x 512 = 262144 pixels
    # over 2 x 100000 pixels, while resnet18's resizes of the others to a 256 shorter side (at most 384 x 256)
    # stay under it; num_workers=0 decodes here
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100000)
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    report = extract("coco", fake_coco.root, tmp_path / "out", split=fake_coco.split, num_workers=0, batch_size=2,
                     extractors=["color-hist", "resnet18:weights=random"],
                     corpus_options={"keep_images_without_captions": True})
    assert [(t.rows, t.errors) for t in report.tables] == [(5, 3), (5, 3)]
    dataset = open_dataset(report.dataset_dir)
    errors = {(e["table"], e["sample_id"]): e for e in dataset.errors().to_pylist()}
    reasons = {ids[1]: "corrupt or truncated: ", ids[2]: "not an image: ", ids[3]: "too large to decode: "}
    for table in ("image.color-hist", "image.resnet18"):
        for sample_id, reason in reasons.items():
            error = errors[(table, sample_id)]
            assert error["path"] == f"{fake_coco.split}/{sample_id}.jpg" and error["error_type"] == "MediaError"
            assert reason + str(fake_coco.images[sample_id]) in error["reason"], error
        features = dataset.table(table).to_table()
        assert features.column("sample_id").to_pylist() == ids
        assert [v is None for v in features.column("feature").to_pylist()] == [False, True, True, True, False]
