"""`mmdata share` into a folder: one run at a time, a replacement no kill can leave half done, and what the
user keeps in a share (a git clone's `.git/`, `hf download`'s cache, an edited card) survives `--force`."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetBusyError, DatasetError
from mmdata.pipeline import extract
from mmdata.share import export, share_dataset, verify_checksums
from mmdata.share.checksums import sha256_file
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("coco")
    corpus = copy_sample_corpus("coco", tmp)
    extract("coco", corpus, tmp / "ds", extractors=["pixel-stats"], num_workers=0)
    return tmp / "ds"


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_second_share_into_the_same_folder_is_refused_while_the_first_runs(coco, tmp_path, monkeypatch):
    out = tmp_path / "hf"
    writing, finish = threading.Event(), threading.Event()
    write_share = export._write_share

    def slow_write_share(*args, **kwargs):
        report = write_share(*args, **kwargs)
        writing.set()
        assert finish.wait(60)
        return report

    monkeypatch.setattr(export, "_write_share", slow_write_share)
    first = threading.Thread(target=share_dataset, args=(coco, out))
    first.start()
    try:
        assert writing.wait(60)
        monkeypatch.setattr(export, "_write_share", write_share)
        with pytest.raises(DatasetBusyError, match=rf"output folder {out} is being written by another mmdata process now.*run this share"):
            share_dataset(coco, out, overwrite=True)
        result = runner.invoke(app, ["share", str(coco), "--out", str(out), "--force"])
        assert result.exit_code == 2 and "is being written by another mmdata process now" in " ".join(result.stderr.split())
    finally:
        finish.set()
        first.join()
    assert verify_checksums(out).ok and json.loads((out / "mmdata.json").read_text())["samples"]["rows"] == 8
    assert names_in(tmp_path) == ["hf"]  # no lock file, no temporary folder left


def test_each_share_writes_into_a_temporary_folder_of_its_own(coco, tmp_path, monkeypatch):
    seen = []
    write_share = export._write_share

    def recording(dataset, plan, out, *args):
        seen.append(out.name)
        return write_share(dataset, plan, out, *args)

    monkeypatch.setattr(export, "_write_share", recording)
    share_dataset(coco, tmp_path / "hf")
    share_dataset(coco, tmp_path / "hf", overwrite=True)
    assert len(set(seen)) == 2 and all(name.startswith(".hf.partial-") for name in seen)


KILL_BETWEEN_RENAMES = """
import os, signal, sys
from mmdata.share import export, share_dataset

rename = os.rename
def rename_then_die(source, destination):
    rename(source, destination)
    if str(destination).endswith(".hf.replaced"):  # the old share is aside, the new one not yet in
        os.kill(os.getpid(), signal.SIGKILL)
export.os.rename = rename_then_die
share_dataset(sys.argv[1], sys.argv[2], overwrite=True)
"""


def test_a_share_killed_between_moving_the_old_one_aside_and_the_new_one_in_is_recovered(coco, tmp_path):
    out = tmp_path / "hf"
    share_dataset(coco, out)
    old_manifest = (out / "mmdata.json").read_bytes()
    killed = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES, str(coco), str(out)], cwd=Path.cwd())
    assert killed.returncode == -signal.SIGKILL
    assert not out.exists() and (tmp_path / ".hf.replaced").is_dir()
    with pytest.raises(DatasetError, match=r"already exists; choose another or pass force=True \(--force\)"):
        share_dataset(coco, out)  # the next run puts the old share back first
    assert (out / "mmdata.json").read_bytes() == old_manifest and verify_checksums(out).ok
    assert names_in(tmp_path) == ["hf"]
    share_dataset(coco, out, overwrite=True)
    assert verify_checksums(out).ok and names_in(tmp_path) == ["hf"]


def test_a_replaced_share_left_aside_by_a_killed_run_is_deleted_and_its_tool_folders_kept(coco, tmp_path):
    out, aside = tmp_path / "hf", tmp_path / ".hf.replaced"
    share_dataset(coco, out)
    share_dataset(coco, tmp_path / "old")
    (tmp_path / "old" / ".git").mkdir()
    (tmp_path / "old" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "old").rename(aside)  # killed after the new share moved in, before the old one was deleted
    partial = tmp_path / ".hf.partial-0a1b2c3d"
    partial.mkdir()
    (partial / "mmdata.json").write_text("{}")
    (tmp_path / ".hf.partial").mkdir()  # what mmdata before this fix left
    share_dataset(coco, out, overwrite=True)
    assert names_in(tmp_path) == ["hf"]
    assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n" and verify_checksums(out).ok


def test_an_interrupted_replacement_puts_the_old_share_back(coco, tmp_path, monkeypatch):
    out = tmp_path / "hf"
    share_dataset(coco, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    rename = os.rename

    def interrupted(source, destination):
        if Path(source).name.startswith(".hf.partial-") and Path(destination) == out:
            raise KeyboardInterrupt
        rename(source, destination)

    monkeypatch.setattr(export.os, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        share_dataset(coco, out, overwrite=True)
    monkeypatch.setattr(export.os, "rename", rename)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert names_in(tmp_path) == ["hf"]


def test_force_keeps_a_git_clone_the_hub_cache_and_gitattributes(coco, tmp_path):
    out = tmp_path / "hf"
    share_dataset(coco, out)
    subprocess.run(["git", "init", "-q"], cwd=out, check=True)
    (out / ".cache" / "huggingface").mkdir(parents=True)
    (out / ".cache" / "huggingface" / "download-meta").write_text("x")
    (out / ".gitattributes").write_text("*.parquet filter=lfs diff=lfs merge=lfs -text\n")
    git_files = sorted(p.relative_to(out) for p in (out / ".git").rglob("*"))
    share_dataset(coco, out, overwrite=True)
    assert sorted(p.relative_to(out) for p in (out / ".git").rglob("*")) == git_files
    assert (out / ".cache" / "huggingface" / "download-meta").read_text() == "x"
    assert (out / ".gitattributes").is_file() and verify_checksums(out).ok


def test_force_refuses_to_replace_a_card_edited_by_hand_unless_told_to(coco, tmp_path):
    out = tmp_path / "hf"
    share_dataset(coco, out)
    card = out / "README.md"
    assert json.loads((out / "mmdata.json").read_text())["extra"]["share"]["card_sha256"] == sha256_file(card)
    edited = card.read_text().replace("license: unknown", "license: cc-by-4.0")
    card.write_text(edited)
    with pytest.raises(DatasetError, match=r"README.md differs from the card mmdata wrote .* overwrite_card=True \(--overwrite-card\)"):
        share_dataset(coco, out, overwrite=True)
    result = runner.invoke(app, ["share", str(coco), "--out", str(out), "--force"])
    assert result.exit_code == 2 and f"{card} differs from the card mmdata wrote" in result.stderr
    assert card.read_text() == edited
    result = runner.invoke(app, ["share", str(coco), "--out", str(out), "--force", "--overwrite-card"])
    assert result.exit_code == 0, result.output
    assert "license: unknown" in card.read_text() and verify_checksums(out).ok


def test_a_card_whose_share_records_no_checksum_of_it_is_not_replaced_silently(coco, tmp_path):
    out = tmp_path / "hf"
    share_dataset(coco, out)
    manifest = json.loads((out / "mmdata.json").read_text())
    del manifest["extra"]["share"]["card_sha256"]  # as a share of an older mmdata
    (out / "mmdata.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match="README.md may have been edited by hand: the share records no checksum"):
        share_dataset(coco, out, overwrite=True)
    share_dataset(coco, out, overwrite=True, overwrite_card=True)
    assert verify_checksums(out).ok


def test_the_published_folder_has_the_mode_the_umask_gives_not_a_temporary_folders(coco, tmp_path):
    umask = os.umask(0o022)
    try:
        share_dataset(coco, tmp_path / "hf")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "hf").stat().st_mode) == 0o755
