"""A fake img2dataset output folder in its `files` or `webdataset` format: shard numbers 0 and 2 (1 skipped, as
img2dataset#174 reports), four URLs each, real JPEGs cut from scikit-image's photos.

Per shard, as img2dataset writes it: `00000.parquet` (one row per URL, failed ones included), `00000_stats.json`,
and either `00000/<key>.jpg|.txt|.json` or `00000.tar` holding the same members (in the order webdataset's
TarWriter writes a sample's: jpg, json, txt). With `failures`, two URLs failed (`FAILED`: status and
error_message as img2dataset records them) and one success row has no image (`MISSING_IMAGE`).
"""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Literal

import numpy as np

from tests.fakes import ExpectedSample, FakeCorpus, register_fake
from tests.fakes.imagetext import caption_text

SHARDS = (0, 2)
PER_SHARD = 4
#: Failed URLs: key -> (status, error_message).
FAILED = {"000000001": ("failed_to_download", "HTTP Error 404: Not Found"),
          "000020003": ("failed_to_resize", "image too small")}
#: A success row whose image the folder or tar lacks.
MISSING_IMAGE = "000000002"
#: The columns kept with save_additional_columns, and the hash column.
ADDITIONAL = ("similarity", "LICENSE", "sha256")
Output = Literal["files", "webdataset"]


def fake_key(shard: int, index: int) -> str:
    return f"{shard:05d}{index:04d}"


def fake_url(key: str) -> str:
    return f"https://images.example.org/photos/{key}.jpg?size=large"


def jpeg_bytes(index: int, size: tuple[int, int] = (32, 24)) -> bytes:
    """A real JPEG: a crop of one of scikit-image's photos."""
    from PIL import Image
    from skimage import data

    photos = (data.astronaut, data.coffee, data.chelsea, data.rocket)
    pixels = np.asarray(photos[index % len(photos)]())[40 * index: 40 * index + 120, 60: 220]
    out = io.BytesIO()
    Image.fromarray(pixels).resize(size).save(out, format="JPEG", quality=90)
    return out.getvalue()


def write_fake_img2dataset(root: Path, output_format: Output = "files", *, failures: bool = True,
                           without_parquet: tuple[int, ...] = ()) -> FakeCorpus:
    """The output folder (see the module docstring); `expected` holds the samples with images. `without_parquet`:
    shards whose Parquet is not written (their samples come from the `.json` files)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root.mkdir(parents=True, exist_ok=True)
    expected: dict[str, ExpectedSample] = {}
    for shard in SHARDS:
        rows, members = [], []
        for index in range(PER_SHARD):
            key = fake_key(shard, index)
            status, error = FAILED.get(key, ("success", None)) if failures else ("success", None)
            ok = status == "success"
            caption = caption_text(key, index)
            row = {"url": fake_url(key), "caption": caption, "similarity": 0.25 + index / 10,
                   "LICENSE": "?" if index % 2 else "cc-by", "key": key, "status": status, "error_message": error,
                   "width": 32 if ok else None, "height": 24 if ok else None,
                   "original_width": 640 + index if ok else None, "original_height": 480 if ok else None,
                   "exif": json.dumps({"Image Make": "Canon", "Image Model": f"EOS {index}"}) if ok else None,
                   "sha256": f"{index:064x}" if ok else None}
            rows.append(row)
            if not ok or (failures and key == MISSING_IMAGE):
                continue
            members += [(f"{key}.jpg", jpeg_bytes(shard + index)),
                        (f"{key}.json", json.dumps(row, indent=4).encode()), (f"{key}.txt", caption.encode())]
            image = f"{shard:05d}.tar/{key}.jpg" if output_format == "webdataset" else f"{shard:05d}/{key}.jpg"
            expected[key] = ExpectedSample(image=image, captions=(caption,))
        if shard not in without_parquet:
            pq.write_table(pa.Table.from_pylist(rows), root / f"{shard:05d}.parquet")
        _write_members(root, f"{shard:05d}", members, output_format)
        successes = sum(r["status"] == "success" for r in rows)
        (root / f"{shard:05d}_stats.json").write_text(json.dumps(
            {"count": len(rows), "successes": successes, "failed_to_download": len(rows) - successes,
             "failed_to_resize": 0, "status_dict": {}}, indent=4))
    parquet = root / "00000.parquet"
    return FakeCorpus("img2dataset", root, parquet, expected, corrupt=lambda: _garble(parquet))


def _write_members(root: Path, shard: str, members: list[tuple[str, bytes]], output_format: Output) -> None:
    if output_format == "files":
        (root / shard).mkdir()
        for name, data in members:
            (root / shard / name).write_bytes(data)
        return
    with tarfile.open(root / f"{shard}.tar", "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1700000000.25  # a float, as webdataset writes it: pax headers
            tar.addfile(info, io.BytesIO(data))


def _garble(path: Path) -> str:
    """Overwrite a shard Parquet with text; the error names the file."""
    path.write_bytes(b"not a parquet file\n")
    return str(path)


@register_fake("img2dataset", "files")
def fake_img2dataset_files(root: Path) -> FakeCorpus:
    # The webdataset variant is tested in tests/corpora/test_img2dataset_loader.py: its images are tar members,
    # which the contract test's `is_file()` does not take for files.
    return write_fake_img2dataset(root, "files", failures=False)
