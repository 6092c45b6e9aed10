"""Image decoding as 8-bit RGB, at reduced size where a feature allows it.

A feature that only needs a small image should not pay for decoding 640x480 pixels: PIL's
`Image.draft` asks libjpeg for the smallest DCT scale (1/2, 1/4, 1/8) that still covers the
requested size. Its pixels differ slightly from a full decode resized to the same size.

Pixels are the stored ones, as Pillow and torchvision load them: EXIF orientation is not applied
(a photo tagged "rotate 90" is seen as stored, the orientation COCO's and Flickr30K's annotations and
torchvision's loaders use; Hugging Face `datasets` turns it upright), colour profiles (ICC) are not
applied (a Display P3 or Adobe RGB photo gives its stored values, as torchvision, timm and Hugging
Face read them), and alpha is dropped (the colour stored under transparent pixels is kept, whatever
background the image would be shown on, for an alpha channel and a palette's or grey image's tRNS
entry alike; Hugging Face `transformers` processors composite on white instead). An animated GIF,
PNG or WebP, or a multi-page TIFF, gives its first frame. Grey, 1-bit, palette, CMYK and YCCK images
convert to RGB as Pillow converts them; 16-bit images keep their 8 high bits; floating-point and
32-bit images are refused.

A file that cannot give every pixel is a `MediaError` naming it: a truncated file (never padded with
grey, even where the calling program turned Pillow's `ImageFile.LOAD_TRUNCATED_IMAGES` on), an empty
file, a file in no image format Pillow reads (an HTML error page saved as .jpg), and an image over
Pillow's decompression-bomb limit (2 x `PIL.Image.MAX_IMAGE_PIXELS` pixels).
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from mmdata.errors import MediaError
from mmdata.media.files import check_media_file
from mmdata.media.tar_members import read_member, tar_member


def open_image(path: Path, *, min_size: int | None = None) -> Image.Image:
    """Decode an image as RGB; with `min_size`, JPEGs decode at the smallest scale whose shorter
    side is still >= min_size (draft mode). That includes the multi-picture JPEGs (MPO) many cameras
    and phones write as .jpg: their first picture is a plain JPEG.

    `path` may name a member of an uncompressed tar (`00000.tar/000000012.jpg`, a webdataset shard), read in
    place (`mmdata.media.tar_members`).

    Raises:
        MediaError: the path is not a readable file (missing, a folder, a broken link, a FIFO,
            permission denied, empty: `mmdata.media.files.check_media_file`), or the file is
            truncated or corrupt, not an image, too large, or
            has pixels with no 8-bit reading; the message names the file.
    """
    check_media_file(path, "image")
    member = tar_member(path)  # `shard.tar/key.jpg`: read from inside the tar
    source = path if member is None else io.BytesIO(read_member(member, "image"))
    try:
        with _truncated_files_fail(), Image.open(source) as img:
            if min_size is not None and img.format in _JPEG_FORMATS:
                width, height = img.size
                scale = min(width, height) / float(min_size)
                if scale >= 2:
                    img.draft("RGB", (max(1, int(width / scale)), max(1, int(height / scale))))
            rawmode = _stored_rawmode(img)
            img.load()
            return _as_rgb(img, path, rawmode)
    except MediaError:
        raise
    except Image.DecompressionBombError as e:
        raise _too_large(str(path), e) from e
    except UnidentifiedImageError as e:
        head = _head(source)
        raise MediaError(
            f"image file is corrupt or truncated, or not an image: {path} (Pillow recognises no image format "
            f"in it; it starts with {head!r}); expected a JPEG, PNG, WebP, GIF, TIFF or BMP file"
        ) from e
    except (OSError, SyntaxError, ValueError) as e:
        raise MediaError(
            f"image file is corrupt or truncated: {path} ({type(e).__name__}: {e}); expected every pixel of the "
            f"image to be readable; {_DAMAGED_FILE_HINT}"
        ) from e


def _head(source: Path | io.BytesIO) -> bytes:
    """The first 16 bytes of a file or of a tar member's bytes, to show what a file that is no image holds."""
    if isinstance(source, io.BytesIO):
        return source.getvalue()[:16]
    with open(source, "rb") as f:
        return f.read(16)


def decode_image_bytes(data: bytes, name: str) -> Image.Image:
    """Decode an image held in memory (an embedded `image_file`) as RGB, by the rules of
    `open_image`: truncated data fails, 16-bit images keep their 8 high bits, alpha is dropped.

    Raises:
        MediaError: the bytes hold no image Pillow reads, or a truncated or corrupt one; the message names `name`.
    """
    try:
        with _truncated_files_fail(), Image.open(io.BytesIO(data)) as img:
            rawmode = _stored_rawmode(img)
            img.load()
            return _as_rgb(img, Path(name), rawmode)
    except MediaError:
        raise
    except Image.DecompressionBombError as e:
        raise _too_large(name, e) from e
    except UnidentifiedImageError as e:
        raise MediaError(f"{name} holds no image format Pillow reads") from e
    except (OSError, SyntaxError, ValueError) as e:
        raise MediaError(f"{name} is corrupt or truncated ({type(e).__name__}: {e})") from e


#: What to do about a file whose pixels cannot all be read.
_DAMAGED_FILE_HINT = "fetch or export the file again, or remove the sample"
#: What to do about an image whose pixels have no 8-bit reading.
_DEEP_PIXELS_HINT = "save it with 8 or 16 bits per channel (scaled to that range), or remove the sample"

#: Pillow's formats that `Image.draft` decodes at a reduced DCT scale.
_JPEG_FORMATS = ("JPEG", "MPO")


def _too_large(name: str, error: Exception) -> MediaError:
    return MediaError(
        f"image is too large to decode: {name} ({error}); the limit is Pillow's decompression-bomb guard, "
        "2 x PIL.Image.MAX_IMAGE_PIXELS; downscale the file or remove the sample"
    )


def _stored_rawmode(img: Image.Image) -> str | None:
    """How the file stores its pixels (Pillow's raw mode, e.g. "I;16B" or "I;32S"), read before
    `load()` clears it: Pillow's mode "I" holds 16-bit (PGM, older Pillow's PNG) and 32-bit files alike."""
    tile = getattr(img, "tile", None)
    if not tile:
        return None
    args = tile[0][3]
    if isinstance(args, tuple):
        args = args[0] if args else None
    return args if isinstance(args, str) else None


@contextmanager
def _truncated_files_fail() -> Iterator[None]:
    """Pillow pads a truncated file with grey when its process-wide `LOAD_TRUNCATED_IMAGES` is on
    (training scripts often turn it on): here it is off, and the caller's setting comes back after."""
    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved


def _as_rgb(img: Image.Image, path: Path, rawmode: str | None = None) -> Image.Image:
    """8-bit RGB. Pillow's own conversion of a 16-bit grey image clips it (nearly all white), so
    those keep their 8 high bits instead. `rawmode`: how the file stored the pixels (`_stored_rawmode`);
    a file of 32-bit integers is refused whatever its values."""
    if img.mode == "RGB":
        return img.copy()
    if img.mode.startswith("I;16") or img.mode == "I":
        values = np.asarray(img)
        stored_32_bit = rawmode is not None and rawmode.startswith("I;32")
        if img.mode == "I" and (stored_32_bit or values.min() < 0 or values.max() > 0xFFFF):
            raise MediaError(f"{path}: 32-bit integer pixels (range {values.min()}..{values.max()}); "
                             f"expected an 8- or 16-bit image; {_DEEP_PIXELS_HINT}")
        return Image.fromarray((values.astype(np.uint32) >> 8).astype(np.uint8), "L").convert("RGB")
    if img.mode == "F":
        raise MediaError(f"{path}: floating-point pixels (Pillow mode F); expected an 8- or 16-bit image; "
                         f"{_DEEP_PIXELS_HINT}")
    return img.convert("RGB")


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

    Raises:
        MediaError: the resized image would be over Pillow's decompression-bomb limit (a strip of extreme
            aspect ratio: 10000 x 1 pixels would become 2560000 x 256, gigabytes for a 224 x 224 crop).
    """
    if not 0 < crop_size <= resize_size:
        raise ValueError(f"crop_size must be in [1, resize_size={resize_size}], got {crop_size}")
    width, height = img.size
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = resize_size, int(resize_size * long / short)
    new_width, new_height = (new_short, new_long) if width <= height else (new_long, new_short)
    check_resized_size(width, height, new_width, new_height)
    if (new_width, new_height) != (width, height):
        img = img.resize((new_width, new_height), _resampling(resample))
    top = int(round((new_height - crop_size) / 2.0))
    left = int(round((new_width - crop_size) / 2.0))
    return img.crop((left, top, left + crop_size, top + crop_size))


def check_resized_size(width: int, height: int, new_width: int, new_height: int) -> None:
    """Refuse a resize whose result Pillow would refuse to decode: memory and time grow with the
    resized size, which for an image of extreme aspect ratio is far larger than the file's."""
    limit = None if Image.MAX_IMAGE_PIXELS is None else 2 * Image.MAX_IMAGE_PIXELS
    if limit is not None and new_width * new_height > limit:
        raise MediaError(
            f"a {width} x {height} image would be resized to {new_width} x {new_height} pixels for its shorter side, "
            f"over Pillow's decompression-bomb limit (2 x PIL.Image.MAX_IMAGE_PIXELS = {limit}); expected an aspect "
            "ratio the limit allows; crop the image or remove the sample"
        )


def _resampling(name: str) -> Image.Resampling:
    try:
        return Image.Resampling[name.upper()]
    except KeyError:
        options = [m.name.lower() for m in Image.Resampling]
        raise ValueError(f"unknown resampling {name!r}; expected one of {options}") from None
