"""The image extractors against the same computation done by hand on real photographs (scikit-image's
sample photos, written as JPEG, PNG, WebP, BMP, TIFF and GIF): torchvision's model and its weights'
transforms for the backbones, NumPy for the colour histogram and the pixel statistics."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from skimage import data
from skimage.color import rgb2hsv

from mmdata.features import create_extractor
from mmdata.features.image_stats import PIXEL_STATS_NAMES, color_histogram, pixel_stats
from mmdata.media.image import load_rgb_array

#: photo, file format, size it is stored at (small, so that the models run fast on a CPU)
PHOTOS = [("astronaut", "jpg", (300, 300)), ("chelsea", "png", (240, 160)), ("coffee", "webp", (270, 180)),
          ("rocket", "bmp", (180, 270)), ("camera", "tiff", (200, 200)), ("hubble_deep_field", "gif", (250, 190))]


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("photos")
    paths = []
    for name, suffix, size in PHOTOS:
        img = Image.fromarray(getattr(data, name)()).resize(size, Image.BICUBIC)
        if suffix == "gif":
            img = img.quantize(128)  # a palette image, as GIFs are
        img.save(root / f"{name}.{suffix}")
        paths.append(root / f"{name}.{suffix}")
    return paths


def rows_of(paths: list[Path]) -> list[dict]:
    return [{"sample_id": p.stem, "image": p.name} for p in paths]


@pytest.mark.parametrize("name, arch, weights, head, dim", [
    ("resnet18", "resnet18", "IMAGENET1K_V1", "fc", 512),
    ("resnet50", "resnet50", "IMAGENET1K_V2", "fc", 2048),
    ("vit-b-16", "vit_b_16", "IMAGENET1K_V1", "heads", 768),
])
def test_backbone_features_are_the_weights_transforms_and_the_penultimate_layer_run_by_hand(
    name, arch, weights, head, dim, photos
):
    extractor = create_extractor(f"{name}:weights=random,seed=7")
    assert extractor.output_spec().dim == dim
    items = [extractor.decode(row, photos[0].parent) for row in rows_of(photos)]
    ours = np.stack(extractor.compute(items))

    torch.manual_seed(7)
    model = torchvision.models.get_model(arch, weights=None)
    setattr(model, head, torch.nn.Identity())
    model.eval()
    transforms = torchvision.models.get_model_weights(arch)[weights].transforms()
    with torch.inference_mode():
        expected = model(torch.stack([transforms(Image.open(p).convert("RGB")) for p in photos])).numpy()
    scale = float(np.abs(expected).max())
    assert ours.shape == (len(photos), dim) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5 * scale)
    # eval mode: an item's feature depends neither on the batch's order nor on its size
    reversed_batch = np.stack(extractor.compute(items[::-1]))[::-1]
    one_by_one = np.stack([extractor.compute([item])[0] for item in items])
    np.testing.assert_allclose(reversed_batch, ours, rtol=1e-5, atol=1e-6 * scale)
    np.testing.assert_allclose(one_by_one, ours, rtol=1e-5, atol=1e-6 * scale)
    assert not np.allclose(ours[0], ours[1])


@pytest.mark.parametrize("weights, size", [("IMAGENET1K_SWAG_E2E_V1", 384), ("IMAGENET1K_SWAG_LINEAR_V1", 224)])
def test_vit_swag_weights_get_their_bicubic_resize_and_crop(weights, size, photos):
    from torchvision.models import ViT_B_16_Weights

    extractor = create_extractor(f"vit-b-16:weights={weights}")
    transforms = ViT_B_16_Weights[weights].transforms()
    mean, std = torch.tensor(transforms.mean).view(3, 1, 1), torch.tensor(transforms.std).view(3, 1, 1)
    for row, path in zip(rows_of(photos), photos):
        pixels = extractor.decode(row, path.parent)
        assert pixels.shape == (size, size, 3) and pixels.dtype == np.uint8
        ours = (torch.from_numpy(pixels.copy()).permute(2, 0, 1) / 255.0 - mean) / std
        torch.testing.assert_close(ours, transforms(Image.open(path).convert("RGB")), rtol=0, atol=1e-6)


def numpy_histogram(rgb: np.ndarray, bins: int) -> np.ndarray:
    counts = [np.histogram(rgb[..., c], bins=bins, range=(0, 256))[0] for c in range(3)]
    return np.concatenate(counts) / (rgb.shape[0] * rgb.shape[1])


@pytest.mark.parametrize("bins", [16, 7, 256, 1])
def test_color_histogram_is_numpy_s_per_channel_histogram_of_the_rgb_pixels(bins, photos):
    full = create_extractor(f"color-hist:bins={bins},decode_size=0")
    for row, path in zip(rows_of(photos), photos):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        expected = numpy_histogram(rgb, bins)
        np.testing.assert_allclose(color_histogram(rgb, bins), expected, atol=1e-7)
        feature = full.compute([full.decode(row, path.parent)])[0]
        assert feature.shape == (3 * bins,) and feature.dtype == np.float32
        np.testing.assert_allclose(feature, expected, atol=1e-7)


def test_color_histogram_by_default_counts_a_jpeg_decoded_at_reduced_size(photos):
    """decode_size=128: a JPEG at least 256 px decodes at 1/2-1/8 scale, shorter side still >= 128."""
    path = photos[0].with_name("astronaut-full.jpg")
    Image.fromarray(data.astronaut()).save(path, quality=90)  # 512 x 512: decoded at 1/4
    reduced = load_rgb_array(path, min_size=128)
    assert reduced.shape == (128, 128, 3)
    feature = create_extractor("color-hist").decode({"sample_id": "a", "image": path.name}, path.parent)
    np.testing.assert_allclose(feature, numpy_histogram(reduced, 16), atol=1e-7)


def numpy_pixel_stats(rgb: np.ndarray) -> np.ndarray:
    """PIXEL_STATS_NAMES in float64, written out from their definitions."""
    x = rgb.astype(np.float64) / 255
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    grey = 0.299 * r + 0.587 * g + 0.114 * b  # ITU-R BT.601 luma
    rg, yb = r - g, (r + g) / 2 - b  # Hasler & Suesstrunk (2003)
    colorfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    edges = np.abs(np.diff(grey, axis=1)).mean() + np.abs(np.diff(grey, axis=0)).mean()
    return np.array([r.mean(), g.mean(), b.mean(), r.std(), g.std(), b.std(), grey.mean(), grey.std(),
                     rgb2hsv(rgb)[..., 1].mean(), colorfulness, edges, rgb.shape[1] / rgb.shape[0]])


def test_pixel_stats_equal_their_float64_definitions_on_full_size_photos():
    """Photos up to 2 megapixels: float32 sums over the pixels drifted by up to 2e-3 here."""
    for name in ("astronaut", "coffee", "rocket", "retina"):
        rgb = getattr(data, name)()
        ours = pixel_stats(rgb)
        assert ours.dtype == np.float32 and ours.shape == (len(PIXEL_STATS_NAMES),)
        np.testing.assert_allclose(ours, numpy_pixel_stats(rgb), rtol=1e-5, atol=1e-6, err_msg=name)


def test_pixel_stats_extractor_at_full_size_gives_the_stats_of_the_decoded_file(photos):
    extractor = create_extractor("pixel-stats:decode_size=0")
    for row, path in zip(rows_of(photos), photos):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        np.testing.assert_allclose(extractor.decode(row, path.parent), numpy_pixel_stats(rgb), rtol=1e-5, atol=1e-6)
