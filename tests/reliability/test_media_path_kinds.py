"""A media path that names something other than a readable file gets an errors-table reason saying
what it is: a folder, a broken link, a file without read permission, an empty file, a FIFO. The run
finishes (a FIFO is never opened: opening one waits for a writer forever) and the other samples'
rows are intact, for images (COCO, manifest), audio and video (manifest, mosi-raw).

Permission: as root any mode-000 file is readable, so the unreadable case is then a link to a
write-only sysfs file, which refuses even root. Where no such file exists, that case is left out of
the parameters (`UNREADABLE` is None) and the other kinds are still asserted.
"""
from __future__ import annotations

import glob
import json
import os
import signal
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.av import tone, write_fake_mosi_cmu, write_mp4, write_tone_wav
from tests.reliability.fake_coco import SPLIT, image_bytes, sample_id, write_fake_coco


def _unreadable_even_as_root() -> Path | None:
    """A non-empty regular file this process cannot open for reading: a mode-000 file does for a
    normal user (made per test); for root, a write-only sysfs file (kernfs refuses reads to root)."""
    if os.geteuid() != 0:
        return None
    for pattern in ("/sys/bus/*/uevent", "/sys/module/*/uevent", "/sys/bus/*/drivers_probe", "/sys/bus/*/rescan"):
        for candidate in sorted(glob.glob(pattern)):
            try:
                info = os.stat(candidate)
                if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
                    continue
                os.close(os.open(candidate, os.O_RDONLY | os.O_NONBLOCK))
            except PermissionError:
                return Path(candidate)
            except OSError:
                continue
    return None


AS_ROOT = os.geteuid() == 0
UNREADABLE = _unreadable_even_as_root()
#: Kinds of bad media path, each checked for every modality; 'unreadable' where the system allows it.
KINDS = ["folder", "broken-link", "empty", "fifo"] + (["unreadable"] if not AS_ROOT or UNREADABLE else [])


def expected_reason(kind: str, modality: str, path: Path) -> str:
    """The reason's opening, up to the path (hints follow it)."""
    article = "an" if modality[0] in "aeiou" else "a"
    return {
        "folder": f"{modality} path is a folder, not {article} {modality} file: {path}",
        "broken-link": f"{modality} path is a broken link to {path.parent / 'gone' / path.name}: {path}",
        "empty": f"{modality} file is empty (0 bytes): {path}",
        "fifo": f"{modality} path is not a regular file (a FIFO): {path}",
        "unreadable": f"{modality} file cannot be read (permission denied): ",
    }[kind]


def make_bad(path: Path, kind: str, good: bytes) -> None:
    """Put a path of `kind` at `path` (in place of a good file with bytes `good`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "folder":
        path.mkdir()
    elif kind == "broken-link":
        path.symlink_to(path.parent / "gone" / path.name)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "fifo":
        os.mkfifo(path)
    elif UNREADABLE is not None:  # root: a link to a file even root cannot read
        path.symlink_to(UNREADABLE)
    else:
        path.write_bytes(good)
        path.chmod(0)


@contextmanager
def finishes_within(seconds: int) -> Iterator[None]:
    """Fail (rather than hang) if the block blocks, e.g. on opening a FIFO."""
    def stuck(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: something waits on a FIFO?")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def errors_by_table(out: Path) -> dict[tuple[str, str], dict]:
    return {(r["table"], r["sample_id"]): r for r in open_dataset(out).errors().to_pylist()}


def feature_ids(out: Path, table: str) -> dict[str, bool]:
    """sample id -> whether its feature is present (non-null)."""
    data = open_dataset(out).table(table).to_table().to_pydict()
    return {sid: feature is not None for sid, feature in zip(data["sample_id"], data["feature"])}


@pytest.fixture
def manifest_corpus(tmp_path) -> Path:
    """A manifest corpus: row 'good' with a JPEG, a WAV and an MP4; one row per bad kind, whose image,
    audio and video are all that kind. Rows cut 0-0.5 s, so loading reads the files' time origins."""
    root = tmp_path / "manifest"
    rng = np.random.default_rng(0)
    good = {"image": image_bytes(rng), "audio": write_tone_wav(root / "good.wav").read_bytes(),
            "video": write_mp4(root / "good.mp4", [(200, 40, 40)], audio=tone(220, 1.0)).read_bytes()}
    (root / "good.jpg").write_bytes(good["image"])
    rows = [{"id": "good", "image": "good.jpg", "audio": "good.wav", "video": "good.mp4"}]
    for kind in KINDS:
        names = {"image": f"{kind}.jpg", "audio": f"{kind}.wav", "video": f"{kind}.mp4"}
        for modality, name in names.items():
            make_bad(root / name, kind, good[modality])
        rows.append({"id": kind, **names})
    (root / "manifest.jsonl").write_text("".join(json.dumps({**r, "caption": r["id"], "start": 0.0, "end": 0.5}) + "\n"
                                                 for r in rows))
    return root


TABLES = {"image": "image.color-hist", "audio": "audio.kaldi-fbank", "video": "video.frames-color-hist"}


def test_each_bad_media_path_of_a_manifest_is_named_for_what_it_is(manifest_corpus, tmp_path):
    out = tmp_path / "out"
    with finishes_within(240):
        extract("manifest", manifest_corpus, out, extractors=["color-hist", "kaldi-fbank", "video-frames:fps=2"],
                num_workers=0, corpus_options={"allow_outside_root": True})
    errors = errors_by_table(out)
    assert {sid for _, sid in errors} == set(KINDS)
    for modality, table in TABLES.items():
        assert feature_ids(out, table) == {"good": True, **{kind: False for kind in KINDS}}
        for kind in KINDS:
            suffix = {"image": "jpg", "audio": "wav", "video": "mp4"}[modality]
            error = errors[table, kind]
            assert error["error_type"] == "MediaError"
            assert error["stage"] == "decode"
            assert error["reason"].startswith(expected_reason(kind, modality, manifest_corpus / f"{kind}.{suffix}")), error
            assert "not found" not in error["reason"]


def test_a_symlinked_folder_and_a_link_chain_say_where_they_lead(tmp_path):
    root = tmp_path / "manifest"
    (root / "pictures").mkdir(parents=True)
    (root / "good.jpg").write_bytes(image_bytes(np.random.default_rng(1)))
    (root / "folder-link.jpg").symlink_to(root / "pictures")
    (root / "hop.jpg").symlink_to("missing.jpg")  # relative, and itself broken
    (root / "chain.jpg").symlink_to(root / "hop.jpg")
    rows = [{"id": i, "image": f"{i}.jpg", "caption": i} for i in ("good", "folder-link", "chain")]
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    extract("manifest", root, out, extractors=["color-hist"], num_workers=0)
    errors = errors_by_table(out)
    assert errors["image.color-hist", "folder-link"]["reason"].startswith(
        f"image path is a folder, not an image file: {root / 'folder-link.jpg'} (a link to {root / 'pictures'}); ")
    assert errors["image.color-hist", "chain"]["reason"].startswith(
        f"image path is a broken link to {root / 'hop.jpg'} ({root / 'missing.jpg'}): {root / 'chain.jpg'}; ")
    assert feature_ids(out, "image.color-hist") == {"good": True, "folder-link": False, "chain": False}


def test_each_bad_image_path_of_a_coco_corpus_is_named_for_what_it_is(tmp_path):
    corpus = write_fake_coco(tmp_path / "coco", len(KINDS) + 1)
    bad = {sample_id(i + 2): kind for i, kind in enumerate(KINDS)}
    for sid, kind in bad.items():
        path = corpus.root / SPLIT / f"{sid}.jpg"
        make_bad(path, kind, path.read_bytes())
    out = tmp_path / "out"
    with finishes_within(120):
        extract("coco", corpus.root, out, extractors=["color-hist"], num_workers=0,
                corpus_options={"allow_outside_root": True})
    errors = errors_by_table(out)
    assert set(errors) == {("image.color-hist", sid) for sid in bad}
    for sid, kind in bad.items():
        assert errors["image.color-hist", sid]["reason"].startswith(
            expected_reason(kind, "image", corpus.root / SPLIT / f"{sid}.jpg")), errors["image.color-hist", sid]
    assert feature_ids(out, "image.color-hist") == {sid: sid not in bad for sid in corpus.ids}


def test_a_mosi_raw_wav_that_is_a_fifo_neither_blocks_loading_nor_extraction(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    fifo_id, wav = next((sid, e.audio) for sid, e in sorted(fake.expected.items()) if e.audio)
    make_bad(fake.root / wav, "fifo", b"")
    out = tmp_path / "out"
    with finishes_within(120):
        extract("mosi-raw", fake.root, out, extractors=["kaldi-fbank"], num_workers=0)
    errors = errors_by_table(out)
    assert list(errors) == [("audio.kaldi-fbank", fifo_id)]
    assert errors["audio.kaldi-fbank", fifo_id]["reason"].startswith(
        f"audio path is not a regular file (a FIFO): {fake.root / wav}; ")
    present = feature_ids(out, "audio.kaldi-fbank")
    assert present.pop(fifo_id) is False and present and all(present.values())
