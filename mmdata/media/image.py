"""Image decoding at reduced size: JPEG draft mode decodes at 1/2, 1/4 or 1/8 scale directly.

A feature that only needs a 224-pixel image should not pay for decoding 640x480 pixels: PIL's
`Image.draft` asks libjpeg for the smallest DCT scale that still covers the requested size.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from mmdata.errors import MediaError

# Truncated files must fail, not be silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False


def open_image(path: Path, *, min_size: int | None = None) -> Image.Image:
    """Decode an image as RGB; with `min_size`, JPEGs decode at the smallest scale whose shorter
    side is still >= min_size (draft mode). Raises MediaError naming the file."""
    if not path.is_file():
        raise MediaError(f"image file not found: {path}")
    try:
        with Image.open(path) as img:
            if min_size is not None and img.format == "JPEG":
                width, height = img.size
                scale = min(width, height) / float(min_size)
                if scale >= 2:
                    img.draft("RGB", (max(1, int(width / scale)), max(1, int(height / scale))))
            img.load()
            return img.convert("RGB") if img.mode != "RGB" else img.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        kind = "empty (0 bytes)" if path.stat().st_size == 0 else "corrupt or truncated"
        raise MediaError(f"image file is {kind}: {path} ({type(e).__name__}: {e})") from e


def load_rgb_array(path: Path, *, min_size: int | None = None) -> np.ndarray:
    """H x W x 3 uint8 array."""
    return np.asarray(open_image(path, min_size=min_size))


def resize_shorter_side(img: Image.Image, size: int) -> Image.Image:
    width, height = img.size
    if min(width, height) == size:
        return img
    scale = size / min(width, height)
    return img.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.BILINEAR)


def center_crop(img: Image.Image, size: int) -> Image.Image:
    width, height = img.size
    left, top = (width - size) // 2, (height - size) // 2
    return img.crop((left, top, left + size, top + size))


def resize_center_crop(
    img: Image.Image, resize_size: int, crop_size: int, *, resample: str = "bilinear"
) -> Image.Image:
    """Resize so the shorter side is `resize_size`, then cut the centre `crop_size` square.

    Follows torchvision's conventions exactly (the longer side is truncated, `int(size * long / short)`;
    the crop offset is `round((side - crop) / 2)`), so the result equals torchvision's
    `Resize(resize_size)` + `CenterCrop(crop_size)` on the same PIL image and a model sees the same
    pixels whether it was fed by mmdata or by the weights' own transforms.
    """
    if not 0 < crop_size <= resize_size:
        raise ValueError(f"crop_size must be in [1, resize_size={resize_size}], got {crop_size}")
    width, height = img.size
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = resize_size, int(resize_size * long / short)
    new_width, new_height = (new_short, new_long) if width <= height else (new_long, new_short)
    if (new_width, new_height) != (width, height):
        img = img.resize((new_width, new_height), _resampling(resample))
    top = int(round((new_height - crop_size) / 2.0))
    left = int(round((new_width - crop_size) / 2.0))
    return img.crop((left, top, left + crop_size, top + crop_size))


def _resampling(name: str) -> Image.Resampling:
    try:
        return Image.Resampling[name.upper()]
    except KeyError:
        options = [m.name.lower() for m in Image.Resampling]
        raise ValueError(f"unknown resampling {name!r}; expected one of {options}") from None
