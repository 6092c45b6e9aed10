"""An image-text corpus as img2dataset writes it (CC3M, CC12M, SBU, LAION subsets, any url + caption list), in its
`files` or `webdataset` output format.

The output folder holds, per shard (5-digit numbers by default; numbers may be skipped, img2dataset#174):
    00000.parquet        one row per input URL: key, url, caption, status, error_message, width, height, ...
    00000_stats.json     counts of the shard (not read)
    00000/000000012.jpg  files format: the image (.jpg, .png or .webp), `.txt` caption, `.json` metadata
    00000.tar            webdataset format: the same `000000012.jpg/.txt/.json` as tar members
A 00000.parquet row looks like:
    {"key": "000000012", "url": "https://...", "caption": "a dog", "status": "success", "error_message": null,
     "width": 256, "height": 256, "original_width": 640, "original_height": 480, "exif": "{...}", <extra columns>}
The Parquet says what was attempted, so it is read (a shard's `.json` files only where its Parquet is missing, with
a warning). One sample per successful row with its image: sample_id = the key (unique across the corpus); captions =
(the caption,) (none when empty); image = `00000/000000012.jpg`, or for a tar the member path `00000.tar/000000012.jpg`
(read in place, `mmdata.media.tar_members`); group_id = the url (the same URL listed twice, as LAION does, is the
same image, so it stays in one split), else the key; extra = url, width, height, original_width, original_height and
every further column (`save_additional_columns`, the hash), exif only with option keep_exif. A row whose download
or resize failed, and a successful row whose image is not in its folder or tar, are errors-table rows naming the
Parquet, the key, the status and img2dataset's error message. Every sample is in split `all`, unless the options
hold out shards (val_shards, test_shards) or a fraction of URLs (val_fraction, test_fraction; a hash of the url, so
the same on every run), the rest then in `train`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mmdata.corpora.base import (
    REPEATED_ENTRY,
    LoadProblem,
    LoadResult,
    read_json,
    register_corpus,
    require_dir,
    safe_relative_path,
    short_repr,
)
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError, MediaError
from mmdata.media.tar_members import TarMember, member_names, read_member
from mmdata.records import Sample

log = logging.getLogger(__name__)

SUCCESS = "success"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
#: Columns of img2dataset's own; any other column of a shard's Parquet is kept in `extra` (save_additional_columns,
#: the hash column).
OWN_COLUMNS = ("key", "status", "error_message", "url", "caption", "width", "height", "original_width",
               "original_height", "exif")
EXTRA_COLUMNS = ("url", "width", "height", "original_width", "original_height")
SPLITS = ("train", "val", "test")
#: The errors-table `error_type` of a URL img2dataset could not download or resize.
DOWNLOAD_FAILED = "DownloadFailed"
_SHARD = re.compile(r"\d+")
Format = Literal["auto", "files", "webdataset"]


@dataclass(frozen=True)
class Img2datasetOptions:
    #: Output format: `files` (shard folders `00000/`), `webdataset` (`00000.tar`), or `auto`: the one present.
    format: Format = "auto"
    #: Shard numbers held out as split `val` / `test` (e.g. `val_shards=0+1`); the other samples are in `train`.
    val_shards: tuple[int, ...] = ()
    test_shards: tuple[int, ...] = ()
    #: Fraction of URLs held out as `val` / `test`, by a hash of the url (stable across runs and machines).
    val_fraction: float = 0.0
    test_fraction: float = 0.0
    #: Keep each image's EXIF (a JSON string, often kilobytes) in `extra`.
    keep_exif: bool = False
    #: Accept shard folders or tars that are links out of the corpus root.
    allow_outside_root: bool = False


@dataclass(frozen=True)
class _Shard:
    name: str  # "00000"
    media: str | None  # the folder or tar relative to the root (or absolute, outside it); None when missing
    parquet: Path | None


@register_corpus("img2dataset", Img2datasetOptions)
def load_img2dataset(corpus_dir: Path, options: Img2datasetOptions, split: str | None) -> LoadResult:
    """An img2dataset output folder (`files` or `webdataset` format), one sample per successfully downloaded image.

    `split`: none or `all` for every sample; train/val/test need a holdout option (val_shards, test_shards,
    val_fraction, test_fraction).

    Example:
        >>> result = load_img2dataset(Path("/data/cc3m"), Img2datasetOptions(), None)
        >>> result.samples[0].sample_id, result.samples[0].image
        ('000000000', '00000.tar/000000000.jpg')

    Raises:
        CorpusNotFoundError: no shard folder or tar in the folder (img2dataset's `parquet` and `tfrecord` formats,
            which hold the images elsewhere, are named).
        CorpusFormatError: a shard Parquet that cannot be read or lacks key/status, a `.json` that is no JSON
            object, a shard that links out of the root without allow_outside_root.
        ConfigError: a bad holdout option, a split without one, both formats present with format=auto.
    """
    holdout = _check_options(options, split)
    wanted = None if split in (None, "all") else split
    root = require_dir(corpus_dir)
    shards, fmt = _find_shards(root, options)
    samples: list[Sample] = []
    problems: list[LoadProblem] = []
    statuses: Counter[str] = Counter()
    first_shard: dict[str, str] = {}
    without_parquet = [s.name for s in shards if s.parquet is None]
    if without_parquet:
        log.warning("%s: %d shards have no Parquet (%s); their samples are read from their .json files, so the "
                    "URLs that failed there are not known", root, len(without_parquet), ", ".join(without_parquet[:10]))
    if holdout is not None:
        _check_held_out_shards(root, shards, options)
        holdout["urls"] = _held_out_urls(root, shards, fmt, holdout)
    unread = []
    for shard in shards:
        images: dict[str, str] | None = None  # the folder or tar listed when a sample first needs it
        try:
            for where, row in _shard_rows(root, shard, fmt, options.keep_exif):
                key = row["key"]
                status = row.get("status")
                group = row.get("url") if isinstance(row.get("url"), str) and row.get("url") else key
                if key in first_shard:  # before the split: a key is one sample, whichever split is loaded
                    problems.append(LoadProblem(key, where, f"key {key} is listed again (first in shard "
                                                f"{first_shard[key]}); this row left out", REPEATED_ENTRY))
                    continue
                first_shard[key] = shard.name
                row_split = _split_of(shard.name, group, holdout)
                if wanted is not None and row_split != wanted:
                    continue
                statuses[str(status)] += 1
                if status != SUCCESS:
                    reason = (f"status {status!r}: {row.get('error_message')} (url {row.get('url')}); img2dataset "
                              "wrote no image for this URL, no sample")
                    problems.append(LoadProblem(key, where, reason, DOWNLOAD_FAILED))
                    continue
                images = _shard_images(root, shard, fmt) if images is None else images
                image = images.get(key)
                if image is None:
                    problems.append(LoadProblem(key, where, _missing_image(shard, fmt, key)))
                    continue
                samples.append(_sample(key, row, image, group, row_split))
        except (CorpusFormatError, MediaError) as e:
            if (root / f"{shard.name}_stats.json").is_file():  # a finished shard, damaged since: stop, naming it
                raise CorpusFormatError(f"{e}; the shard is damaged (img2dataset finished it: its "
                                        f"{shard.name}_stats.json is there): fetch or write it again") from e
            unread.append(shard.name)
            problems.append(LoadProblem(None, str(shard.parquet or root / str(shard.media)), (
                f"{e}; the shard's rows from here on not read (no {shard.name}_stats.json: img2dataset had not "
                "finished this shard, an interrupted run; rerun it with incremental_mode='incremental' to finish it)")))
    if unread:
        log.warning("%s: %d shards an interrupted img2dataset run left unfinished could not be read whole (%s): each "
                    "is named in the errors table", root, len(unread), ", ".join(unread[:10]))
    return LoadResult(samples=samples, problems=problems, metadata={
        "format": fmt, "shards": len(shards), "shards_without_parquet": without_parquet, "shards_unread": unread,
        "statuses": dict(sorted(statuses.items()))})


def _check_held_out_shards(root: Path, shards: list[_Shard], options: Img2datasetOptions) -> None:
    """Refuse a held-out shard number that is no shard of the folder (its split would be empty, silently).

    Raises:
        ConfigError: naming the numbers and the shards there.
    """
    present = {int(s.name) for s in shards}
    for name in ("val_shards", "test_shards"):
        absent = sorted(set(getattr(options, name)) - present)
        if absent:
            there = sorted(present)
            shown = ", ".join(map(str, there[:10])) + (", ..." if len(there) > 10 else "")
            raise ConfigError(f"option {name} names shard{'s' * (len(absent) > 1)} {', '.join(map(str, absent))}, "
                              f"which {root} does not hold (shards there: {shown}); expected numbers of its shards")


def _held_out_urls(root: Path, shards: list[_Shard], fmt: str, holdout: dict[str, Any]) -> dict[str, str]:
    """{url: split} of the URLs of the held-out shards (val_shards, test_shards), the first shard's split where
    several list one: LAION lists a URL in more than one shard, and its rows in the other shards join it there, so
    that one image is in one split. Only those shards' urls are read (the others are what is kept)."""
    urls: dict[str, str] = {}
    for shard in shards:
        split = "val" if int(shard.name) in holdout["val"] else "test" if int(shard.name) in holdout["test"] else None
        if split is None:
            continue
        try:
            for _, row in _shard_rows(root, shard, fmt, keep_exif=False, columns=("key", "url")):
                url = row.get("url")
                if isinstance(url, str) and url:
                    urls.setdefault(url, split)
        except (CorpusFormatError, MediaError):
            pass  # named when the shard is read for its samples
    return urls


def _sample(key: str, row: dict[str, Any], image: str, group: str, split: str) -> Sample:
    caption = row.get("caption")
    caption = str(caption) if caption is not None and not isinstance(caption, str) else caption  # as its .txt has it
    extra = {name: _json_value(row[name]) for name in row
             if name not in OWN_COLUMNS or name in EXTRA_COLUMNS or name == "exif"}
    return Sample(sample_id=key, corpus="img2dataset", split=split, group_id=group, image=image,
                  captions=(caption,) if isinstance(caption, str) and caption.strip() else (),
                  extra={k: v for k, v in extra.items() if v is not None})


def _check_options(options: Img2datasetOptions, split: str | None) -> dict[str, Any] | None:
    """The holdout (`_split_of`), or None when every sample is in split `all`.

    Raises:
        ConfigError: a fraction out of [0, 1) or summing to 1 or more, a shard in both lists, a split
            without a holdout, an unknown split.
    """
    for name in ("val_fraction", "test_fraction"):
        value = getattr(options, name)
        if not 0 <= value < 1:
            raise ConfigError(f"option {name}={value} is out of range; expected a fraction in [0, 1)")
    if options.val_fraction + options.test_fraction >= 1:
        raise ConfigError(f"options val_fraction={options.val_fraction} and test_fraction={options.test_fraction} "
                          "leave nothing for train; expected a sum below 1")
    both = sorted(set(options.val_shards) & set(options.test_shards))
    if both:
        raise ConfigError(f"shards {both} are in both val_shards and test_shards; expected each in one")
    holds_out = bool(options.val_shards or options.test_shards or options.val_fraction or options.test_fraction)
    if split not in (None, "all"):
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; expected one of {['all', *SPLITS]}")
        if not holds_out:
            raise ConfigError(f"split {split!r} asked, but img2dataset output has no splits: hold some out with "
                              "the options val_shards/test_shards (shard numbers) or val_fraction/test_fraction, "
                              "or ask for no split")
        if split != "train" and not (getattr(options, f"{split}_shards") or getattr(options, f"{split}_fraction")):
            raise ConfigError(f"split {split!r} asked, but no option holds any out for it (its split would be empty): "
                              f"expected {split}_shards or {split}_fraction")
    if not holds_out:
        return None
    return {"val": set(options.val_shards), "test": set(options.test_shards),
            "val_fraction": options.val_fraction, "test_fraction": options.test_fraction}


def _split_of(shard: str, group: str, holdout: dict[str, Any] | None) -> str:
    """`all` without a holdout; else val/test for a held-out shard, or for a url a held-out shard lists too
    (`_held_out_urls`), then by the group's (url's) hash, else train."""
    if holdout is None:
        return "all"
    number = int(shard)
    if number in holdout["val"]:
        return "val"
    if number in holdout["test"]:
        return "test"
    held = holdout.get("urls", {}).get(group)
    if held is not None:
        return held
    if holdout["val_fraction"] or holdout["test_fraction"]:
        u = int.from_bytes(hashlib.sha1(group.encode("utf-8", "surrogatepass")).digest()[:8], "big") / 2.0 ** 64
        if u < holdout["test_fraction"]:
            return "test"
        if u < holdout["test_fraction"] + holdout["val_fraction"]:
            return "val"
    return "train"


def _find_shards(root: Path, options: Img2datasetOptions) -> tuple[list[_Shard], str]:
    """The shards of the folder (any numbers, in numeric order) and the format read."""
    folders, tars, parquets = set(), set(), set()
    with os.scandir(root) as entries:
        for entry in entries:
            stem, dot, suffix = entry.name.partition(".")
            if not _SHARD.fullmatch(stem):
                continue
            if not dot and entry.is_dir():
                folders.add(stem)
            elif suffix == "tar" and entry.is_file():
                tars.add(stem)
            elif suffix == "parquet" and entry.is_file():
                parquets.add(stem)
    fmt = options.format
    if fmt == "auto":
        if folders and tars:
            raise ConfigError(f"{root} holds both shard folders ({min(folders)}/) and tars ({min(tars)}.tar); pass "
                              "the option format=files or format=webdataset")
        fmt = "files" if folders else "webdataset" if tars else "auto"
    found = folders if fmt == "files" else tars if fmt == "webdataset" else set()
    if not found:
        other = "" if not parquets else (
            f"; its {len(parquets)} shard Parquet files ({min(parquets)}.parquet) come with no images here (the "
            "`parquet` and `tfrecord` output formats, which hold the images in those files, are not read: write the "
            "corpus with output_format files or webdataset)")
        wanted = {"files": "shard folders (00000/)", "webdataset": "shard tars (00000.tar)"}.get(
            fmt, "shard folders (00000/) or tars (00000.tar)")
        raise CorpusNotFoundError(f"no img2dataset {wanted} found in {root}{other}; expected the output_folder "
                                  "img2dataset wrote")
    suffix = ".tar" if fmt == "webdataset" else ""
    shards = []
    for name in sorted(found | parquets, key=lambda n: (int(n), n)):
        media = None
        if name in found:
            media = safe_relative_path(root, name + suffix, where=f"{root}: shard {name}",
                                       allow_outside=options.allow_outside_root)
        shards.append(_Shard(name, media, root / f"{name}.parquet" if name in parquets else None))
    return shards, fmt


def _shard_images(root: Path, shard: _Shard, fmt: str) -> dict[str, str]:
    """{key: image path relative to the root} of what the shard's folder or tar holds."""
    if shard.media is None:
        return {}
    if fmt == "webdataset":
        names = list(member_names(root / shard.media))
    else:
        with os.scandir(root / shard.media) as entries:
            names = [e.name for e in entries]
    images = {}
    for name in names:
        stem, suffix = os.path.splitext(name)
        if suffix.lower() in IMAGE_SUFFIXES and "/" not in name:
            images.setdefault(stem, f"{shard.media}/{name}")
    return images


def _shard_rows(root: Path, shard: _Shard, fmt: str, keep_exif: bool,
                columns: tuple[str, ...] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, row) of each URL of the shard: from its Parquet (its `columns` alone where given), else from its
    `.json` files (successes only)."""
    if shard.parquet is not None:
        yield from _parquet_rows(shard.parquet, keep_exif, columns)
    elif shard.media is not None:
        yield from _json_rows(root, shard, fmt, keep_exif)


def _parquet_rows(path: Path, keep_exif: bool,
                  columns: tuple[str, ...] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        table = pq.read_table(path, columns=[n for n in names if (keep_exif or n != "exif")
                                             and (columns is None or n in columns or n in ("key", "status"))])
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise CorpusFormatError(f"{path}: not a readable Parquet file ({e}); expected the shard's metadata as "
                                "img2dataset writes it; delete it to read the shard's .json files instead") from e
    missing = [c for c in ("key", "status") if c not in names]
    if missing:
        raise CorpusFormatError(f"{path}: no column {' or '.join(missing)} (columns: {', '.join(names)}); expected "
                                "img2dataset's per-shard metadata (key, url, caption, status, error_message, ...)")
    columns = table.to_pydict()
    for i in range(table.num_rows):
        row = {name: values[i] for name, values in columns.items()}
        if not isinstance(row["key"], str) or not row["key"]:
            raise CorpusFormatError(f"{path}: row {i}: key {short_repr(row['key'])}; expected a key string "
                                    "('000000012')")
        yield f"{path}: row {i}", row


def _json_rows(root: Path, shard: _Shard, fmt: str, keep_exif: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """Rows from the shard's `<key>.json` (every one a success: img2dataset writes them only for images)."""
    media = root / str(shard.media)
    if fmt == "webdataset":
        names = sorted(n for n in member_names(media) if n.endswith(".json") and "/" not in n)
    else:
        names = sorted(n for n in os.listdir(media) if n.endswith(".json"))
    for name in names:
        where = f"{media}/{name}"
        if fmt == "webdataset":
            try:
                row = json.loads(read_member(TarMember(media, name), "metadata"))
            except (ValueError, MediaError) as e:
                raise CorpusFormatError(f"{where}: not readable JSON ({e})") from e
        else:
            row = read_json(media / name)
        if not isinstance(row, dict):
            raise CorpusFormatError(f"{where}: expected a JSON object of sample metadata, got {short_repr(row)}")
        row.setdefault("key", name.removesuffix(".json"))
        row.setdefault("status", SUCCESS)
        if "caption" not in row:
            row["caption"] = _caption_file(media, fmt, row["key"])
        if not keep_exif:
            row.pop("exif", None)
        yield where, row


def _caption_file(media: Path, fmt: str, key: str) -> str | None:
    """The `<key>.txt` caption beside a `.json` that has none, or None."""
    try:
        if fmt == "webdataset":
            return read_member(TarMember(media, f"{key}.txt"), "caption").decode("utf-8")
        return (media / f"{key}.txt").read_text(encoding="utf-8")
    except (OSError, MediaError, UnicodeDecodeError):
        return None


def _missing_image(shard: _Shard, fmt: str, key: str) -> str:
    if shard.media is None:
        what = f"the shard's {'tar ' + shard.name + '.tar' if fmt == 'webdataset' else 'folder ' + shard.name + '/'}"
        return f"status 'success' but {what} is missing; no sample (copy the shard again, or rerun img2dataset)"
    return (f"status 'success' but no image {key}.jpg/.png/.webp in {shard.media}; no sample (the download was cut "
            "short or the file removed: rerun img2dataset on this shard)")


def _json_value(value: Any) -> Any:
    """A Parquet value as JSON can hold it (dates, decimals and bytes as text; NaN as None)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
