"""Odd but real image files, decoded by `mmdata.media.image` and run through `extract` on a manifest: each
either gives the pixels an independent Pillow decode gives (`Image.open(...).convert("RGB")`, the way
torchvision's loaders read images: stored orientation, alpha dropped, colour profile not applied, first
frame), or fails into the errors table naming the sample, the file, what was expected and what to do."""
from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile
from skimage import data

from mmdata.errors import MediaError
from mmdata.features.image_stats import color_histogram, pixel_stats
from mmdata.media.image import load_rgb_array
from mmdata.pipeline import extract
from mmdata.store.reader import open_dataset

ASTRONAUT = data.astronaut()[::4, ::4]  # 128 x 128 RGB photo
COFFEE = data.coffee()  # 400 x 600, landscape as stored
GREY = data.camera()[::4, ::4]  # 128 x 128


def reference_rgb(path: Path) -> np.ndarray:
    """The pixels torchvision's `pil_loader` gives: Pillow's own conversion of the first frame."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def with_alpha_ramp(pixels: np.ndarray) -> np.ndarray:
    """`pixels` (H x W or H x W x 3) with an alpha channel going from transparent (left) to opaque."""
    alpha = np.tile(np.linspace(0, 255, pixels.shape[1]).astype(np.uint8), (pixels.shape[0], 1))
    return np.dstack([pixels, alpha])


def write_ycck_jpeg(path: Path, cmyk: Image.Image) -> None:
    """A YCCK JPEG (Adobe transform 2, as Photoshop saves CMYK): Pillow writes CMYK with transform 0, so
    the channels written are those a YCCK decoder turns back into `cmyk`, and the Adobe marker says YCCK."""
    stored = np.asarray(cmyk)
    ycc = np.asarray(Image.fromarray(stored[..., :3].copy(), "RGB").convert("YCbCr"))
    encoded = io.BytesIO()
    Image.fromarray(np.dstack([255 - ycc, stored[..., 3]]), "CMYK").save(encoded, "JPEG", quality=98)
    raw = bytearray(encoded.getvalue())
    adobe = raw.index(b"Adobe")
    raw[adobe + 11] = 2  # "Adobe", version, flags0, flags1, transform
    path.write_bytes(bytes(raw))


def display_p3_profile() -> bytes:
    """A minimal ICC v2 display profile with Display P3's primaries (D50-adapted) and a 2.2 gamma."""

    def xyz(*values: float) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    gamma = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(2.2 * 256)) + b"\0\0"
    description = b"desc\0\0\0\0" + struct.pack(">I", 11) + b"Display P3\0" + bytes(12) + bytes(67)
    tags = [(b"desc", description), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.5151, 0.2412, -0.0011)),
            (b"gXYZ", xyz(0.2919, 0.6922, 0.0419)), (b"bXYZ", xyz(0.1572, 0.0666, 0.7841)),
            (b"rTRC", gamma), (b"gTRC", gamma), (b"bTRC", gamma)]
    offset, table, body = 128 + 4 + 12 * len(tags), b"", b""
    for signature, tag in tags:
        tag += bytes(-len(tag) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(tag))
        body += tag
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + bytes(12) + b"acsp"
              + bytes(24) + struct.pack(">I", 0) + xyz(0.9642, 1.0, 0.8249)[8:] + bytes(48))
    return header + struct.pack(">I", len(tags)) + table + body


def save(img: Image.Image, name: str, **options) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        img.save(folder / name, **options)
        return folder / name

    return write


def save_as(img: Image.Image, name: str, fmt: str) -> Callable[[Path], Path]:
    return save(img, name, format=fmt)


def frames(*colours: tuple[int, int, int]) -> list[Image.Image]:
    return [Image.fromarray(np.full((24, 32, 3), colour, np.uint8)) for colour in colours]


ANIMATION = frames((200, 30, 30), (30, 200, 30), (30, 30, 200))
STRIP = np.tile(np.linspace(0, 255, 10000).astype(np.uint8)[None, :, None], (100, 1, 3))  # 10000 x 100

#: name -> writer of a file that decodes to what `reference_rgb` gives.
READABLE: dict[str, Callable[[Path], Path]] = {
    "cmyk-jpeg": save(Image.fromarray(ASTRONAUT).convert("CMYK"), "cmyk.jpg", quality=95),
    "grey": save(Image.fromarray(GREY), "grey.png"),
    "bilevel": save(Image.fromarray(GREY > 128), "bilevel.png"),
    "bilevel-group4-tiff": save(Image.fromarray(GREY > 128), "fax.tif", compression="group4"),
    "palette-with-trns": save(Image.fromarray(ASTRONAUT).quantize(16), "palette.png", transparency=0),
    "grey-with-trns": save(Image.fromarray(GREY), "grey_trns.png", transparency=int(GREY[0, 0])),
    "grey-partial-alpha": save(Image.fromarray(with_alpha_ramp(GREY), "LA"), "la.png"),
    "rgba-partial-alpha": save(Image.fromarray(with_alpha_ramp(ASTRONAUT), "RGBA"), "rgba.png"),
    "lossy-webp": save(Image.fromarray(ASTRONAUT), "photo.webp", quality=90),
    # exact: the encoder keeps the colour under transparent pixels (by default it may replace it)
    "webp-with-alpha": save(Image.fromarray(with_alpha_ramp(ASTRONAUT), "RGBA"), "alpha.webp", lossless=True,
                            exact=True),
    "bmp": save(Image.fromarray(ASTRONAUT), "photo.bmp"),
    "png-named-jpg": save_as(Image.fromarray(ASTRONAUT), "really_a_png.jpg", "PNG"),
    "one-pixel-png": save(Image.fromarray(np.array([[[10, 200, 30]]], np.uint8)), "dot.png"),
    "one-pixel-jpeg": save(Image.fromarray(np.array([[[10, 200, 30]]], np.uint8)), "dot.jpg"),
    "wide-strip-png": save(Image.fromarray(STRIP), "strip.png"),
    "wide-strip-jpeg": save(Image.fromarray(STRIP), "strip.jpg", quality=95),
    "apng": save(ANIMATION[0], "anim.png", save_all=True, append_images=ANIMATION[1:], duration=100),
    "multi-page-tiff": save(ANIMATION[0], "pages.tif", save_all=True, append_images=ANIMATION[1:]),
    "animated-gif": save(ANIMATION[0], "anim.gif", save_all=True, append_images=ANIMATION[1:], duration=100),
    "display-p3-jpeg": save(Image.fromarray(ASTRONAUT), "p3.jpg", quality=95, icc_profile=display_p3_profile()),
}


@pytest.mark.parametrize("case", sorted(READABLE))
def test_an_odd_but_readable_file_gives_the_pixels_pillow_s_own_conversion_gives(case, tmp_path):
    path = READABLE[case](tmp_path)
    expected = reference_rgb(path)
    np.testing.assert_array_equal(load_rgb_array(path), expected)
    reduced = load_rgb_array(path, min_size=32)  # JPEGs decode at a reduced scale, other formats whole
    if case.endswith("jpeg") and min(expected.shape[:2]) >= 64:
        assert min(reduced.shape[:2]) >= 32 and reduced.shape[0] < expected.shape[0]
    else:
        np.testing.assert_array_equal(reduced, expected)


def test_multi_frame_files_give_their_first_frame(tmp_path):
    for case in ("apng", "multi-page-tiff", "animated-gif"):
        path = READABLE[case](tmp_path)
        assert Image.open(path).n_frames == 3
        np.testing.assert_array_equal(load_rgb_array(path), np.full((24, 32, 3), (200, 30, 30), np.uint8))


def test_transparency_keeps_the_stored_colour_in_every_alpha_carrying_mode(tmp_path):
    """Alpha is dropped, never composited: a half-transparent pixel keeps the colour stored under it,
    whether transparency comes from an alpha channel (LA, RGBA, WebP) or a tRNS entry (palette, grey)."""
    np.testing.assert_array_equal(load_rgb_array(READABLE["grey-partial-alpha"](tmp_path)), np.dstack([GREY] * 3))
    for case in ("rgba-partial-alpha", "webp-with-alpha"):
        np.testing.assert_array_equal(load_rgb_array(READABLE[case](tmp_path)), ASTRONAUT)
    palette = Image.open(READABLE["palette-with-trns"](tmp_path))
    transparent = np.asarray(palette) == 0
    assert transparent.any()
    colour_of_index_0 = np.array(palette.getpalette()[:3], np.uint8)
    assert (load_rgb_array(tmp_path / "palette.png")[transparent] == colour_of_index_0).all()
    np.testing.assert_array_equal(load_rgb_array(READABLE["grey-with-trns"](tmp_path)), np.dstack([GREY] * 3))


def test_a_ycck_jpeg_decodes_to_the_colours_of_the_same_cmyk_picture(tmp_path):
    cmyk = Image.fromarray(ASTRONAUT).convert("CMYK")
    write_ycck_jpeg(tmp_path / "ycck.jpg", cmyk)
    assert Image.open(tmp_path / "ycck.jpg").info["adobe_transform"] == 2
    got = load_rgb_array(tmp_path / "ycck.jpg").astype(int)
    assert np.abs(got - np.asarray(cmyk.convert("RGB"))).mean() < 2  # JPEG loss only


def test_a_colour_profile_is_not_applied(tmp_path):
    """As torchvision's, timm's and Hugging Face's loaders read images: a Display P3 photo gives its stored
    values (converting it to sRGB, as a colour-managed viewer does, would change them)."""
    path = READABLE["display-p3-jpeg"](tmp_path)
    Image.fromarray(ASTRONAUT).save(tmp_path / "untagged.jpg", quality=95)
    with Image.open(path) as img:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(img.info["icc_profile"]))
        as_srgb = np.asarray(ImageCms.profileToProfile(img, profile, ImageCms.createProfile("sRGB")))
    stored = load_rgb_array(tmp_path / "untagged.jpg")
    np.testing.assert_array_equal(load_rgb_array(path), stored)
    assert np.abs(as_srgb.astype(int) - stored).max() > 20


def test_refused_pixel_formats_say_what_was_expected_and_what_to_do(tmp_path):
    Image.fromarray(data.camera().astype(np.float32) / 255).save(tmp_path / "depth.tif")
    with pytest.raises(MediaError, match=r"depth.tif: floating-point pixels \(Pillow mode F\); expected an 8- or "
                                         r"16-bit image; save it with 8 or 16 bits per channel"):
        load_rgb_array(tmp_path / "depth.tif")
    Image.fromarray(data.camera().astype(np.int32) * 1000).save(tmp_path / "counts.tif")
    with pytest.raises(MediaError, match=r"counts.tif: 32-bit integer pixels \(range 0..255000\); expected an 8- "
                                         r"or 16-bit image; save it with 8 or 16 bits per channel"):
        load_rgb_array(tmp_path / "counts.tif")


def write_manifest_corpus(root: Path) -> dict[str, Path]:
    """A manifest naming every readable case, phone photos tagged with EXIF orientation 6 and 8, and
    files that cannot give their pixels; returns sample id -> image file."""
    folder = root / "img"
    folder.mkdir(parents=True)
    images = {case: write(folder) for case, write in READABLE.items()}
    write_ycck_jpeg(folder / "ycck.jpg", Image.fromarray(ASTRONAUT).convert("CMYK"))
    images["ycck-jpeg"] = folder / "ycck.jpg"
    Image.fromarray(COFFEE).save(folder / "upright.jpg", quality=95)
    images["untagged-photo"] = folder / "upright.jpg"
    for orientation in (6, 8):
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(COFFEE).save(folder / f"phone{orientation}.jpg", exif=exif, quality=95)
        images[f"exif-orientation-{orientation}"] = folder / f"phone{orientation}.jpg"
    whole = (folder / "upright.jpg").read_bytes()
    (folder / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    Image.fromarray(data.camera().astype(np.float32)).save(folder / "float.tif")
    images.update({"truncated": folder / "cut.jpg", "empty": folder / "empty.jpg", "float": folder / "float.tif"})
    rows = [{"id": sample_id, "image": str(path.relative_to(root)), "caption": sample_id}
            for sample_id, path in images.items()]
    (root / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return images


def test_extract_gives_each_odd_file_its_reference_values_or_an_error_row(tmp_path, monkeypatch):
    images = write_manifest_corpus(tmp_path / "corpus")
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as training scripts often set it
    report = extract("manifest", tmp_path / "corpus", tmp_path / "out", num_workers=0, batch_size=8,
                     extractors=["color-hist:decode_size=0", "pixel-stats:decode_size=0", "resnet18:weights=random"])
    failing = {"truncated": "image file is corrupt or truncated: ", "empty": "image file is empty (0 bytes): ",
               "float": "floating-point pixels (Pillow mode F); expected an 8- or 16-bit image; save it with"}
    assert [(t.rows, t.errors) for t in report.tables] == [(len(images), len(failing))] * 3
    dataset = open_dataset(report.dataset_dir)
    errors = {(e["table"], e["sample_id"]): e for e in dataset.errors().to_pylist()}
    assert len(errors) == 3 * len(failing)
    for table in ("image.color-hist", "image.pixel-stats", "image.resnet18"):
        for sample_id, reason in failing.items():
            error = errors[(table, sample_id)]
            assert error["path"] == str(images[sample_id].relative_to(tmp_path / "corpus"))
            assert error["error_type"] == "MediaError" and reason in error["reason"]
            assert str(images[sample_id]) in error["reason"]
    assert "fetch or export the file again, or remove the sample" in errors[("image.color-hist", "truncated")]["reason"]

    reference = {"image.color-hist": lambda rgb: color_histogram(rgb, 16), "image.pixel-stats": pixel_stats}
    for table, feature_of in reference.items():
        features = {r["sample_id"]: r["feature"] for r in dataset.table(table).to_table().to_pylist()}
        assert {s for s, f in features.items() if f is None} == set(failing)
        for sample_id, path in images.items():
            if sample_id not in failing:
                np.testing.assert_allclose(features[sample_id], feature_of(reference_rgb(path)), atol=1e-6,
                                           err_msg=f"{table} {sample_id}")
        # phone photos keep their stored orientation, like the untagged photo (aspect ratio 600 / 400)
        for orientation in (6, 8):
            np.testing.assert_array_equal(features[f"exif-orientation-{orientation}"], features["untagged-photo"])
    embeddings = {r["sample_id"]: r["feature"] for r in dataset.table("image.resnet18").to_table().to_pylist()}
    assert all(np.isfinite(embeddings[s]).all() for s in images if s not in failing)


def test_a_strip_of_extreme_aspect_ratio_fails_the_backbone_instead_of_resizing_to_gigabytes(tmp_path):
    """10000 x 1 pixels would become 2560000 x 256 (2 GB) for resnet18's 224 x 224 crop; 1000 x 1 is made."""
    folder = tmp_path / "corpus" / "img"
    folder.mkdir(parents=True)
    for width in (1000, 10000):
        line = np.tile(np.arange(width, dtype=np.uint8)[None, :, None], (1, 1, 3))
        Image.fromarray(line).save(folder / f"{width}.png")
    rows = [{"id": f"line-{width}", "image": f"img/{width}.png", "caption": "a line"} for width in (1000, 10000)]
    (tmp_path / "corpus" / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = extract("manifest", tmp_path / "corpus", tmp_path / "out", num_workers=0,
                     extractors=["pixel-stats", "resnet18:weights=random"])
    assert [(t.rows, t.errors) for t in report.tables] == [(2, 0), (2, 1)]
    (error,) = open_dataset(report.dataset_dir).errors().to_pylist()
    assert (error["table"], error["sample_id"], error["path"]) == ("image.resnet18", "line-10000", "img/10000.png")
    assert error["error_type"] == "MediaError"
    assert ("a 10000 x 1 image would be resized to 2560000 x 256 pixels for its shorter side, over Pillow's "
            "decompression-bomb limit (2 x PIL.Image.MAX_IMAGE_PIXELS = 178956970)") in error["reason"]
    assert error["reason"].endswith("crop the image or remove the sample")
