"""`--media embed`: from the right corpus only, never a file that does not decode, missing media carried
over when a share is shared again, and a failure when nothing at all could be embedded."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile
from typer.testing import CliRunner

import tests.share.corpus  # noqa: F401  (registers wave-rms)
from mmdata.cli import app
from mmdata.errors import ConfigError, MediaError
from mmdata.pipeline import extract
from mmdata.sample_data import sample_corpus_dir
from mmdata.share import share_dataset, verify_checksums
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> tuple[Path, Path]:
    """(corpus root, dataset) of the COCO sample with one image table."""
    tmp = tmp_path_factory.mktemp("coco")
    corpus = copy_sample_corpus("coco", tmp)
    extract("coco", corpus, tmp / "ds", extractors=["pixel-stats"], num_workers=0)
    return corpus, tmp / "ds"


def embedded_files(share: Path, column: str = "image_file") -> dict[str, dict | None]:
    table = pq.read_table(share / "samples", columns=["sample_id", column])
    return dict(zip(table.column("sample_id").to_pylist(), table.column(column).to_pylist()))


def share_manifest(share: Path) -> dict:
    return json.loads((share / "mmdata.json").read_text())["extra"]["share"]


def test_embedding_from_a_share_needs_the_corpus_root_not_a_folder_of_that_name_here(coco, tmp_path, monkeypatch):
    corpus, dataset = coco
    reference = tmp_path / "ref"
    share_dataset(dataset, reference)
    assert json.loads((reference / "mmdata.json").read_text())["corpus"]["root"] == corpus.name
    decoy = tmp_path / "here" / corpus.name / "val2017"  # other photographs under the corpus's names
    decoy.mkdir(parents=True)
    others = sorted((sample_corpus_dir("flickr30k") / "flickr30k-images").glob("*.jpg"))
    for image, other in zip(sorted((corpus / "val2017").glob("*.jpg")), others):
        shutil.copy(other, decoy / image.name)
    monkeypatch.chdir(tmp_path / "here")
    with pytest.raises(ConfigError, match=rf"records the corpus root as '{corpus.name}'.* pass --corpus-root"):
        share_dataset(reference, tmp_path / "embed", media="embed")
    result = runner.invoke(app, ["share", str(reference), "--out", str(tmp_path / "embed"), "--media", "embed"])
    assert result.exit_code == 2 and "--corpus-root" in result.stderr
    assert not (tmp_path / "embed").exists()
    share_dataset(reference, tmp_path / "embed", media="embed", corpus_root=corpus)
    files = embedded_files(tmp_path / "embed")
    assert len(files) == 8
    assert all(cell["bytes"] == (corpus / cell["path"]).read_bytes() for cell in files.values())


def test_a_corpus_root_that_is_not_a_folder_is_a_config_error_naming_it(coco, tmp_path):
    _, dataset = coco
    with pytest.raises(ConfigError, match=rf"the corpus root {tmp_path / 'nowhere'} \(given with --corpus-root\) "
                                          "is not a folder"):
        share_dataset(dataset, tmp_path / "hf", media="embed", corpus_root=tmp_path / "nowhere")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_embedding_fails_and_publishes_nothing_when_not_one_file_can_be_read(coco, tmp_path):
    corpus, dataset = coco
    out = tmp_path / "hf"
    share_dataset(dataset, out)
    before = (out / "checksums.sha256").read_bytes()
    (tmp_path / "empty").mkdir()
    with pytest.raises(MediaError, match=r"none of the 8 media files could be embedded \(first: sample "
                                         r"'000000000100', val2017/000000000100.jpg: .*\); nothing was shared"):
        share_dataset(dataset, out, media="embed", corpus_root=tmp_path / "empty", overwrite=True)
    result = runner.invoke(app, ["share", str(dataset), "--out", str(out), "--media", "embed", "--force",
                                 "--corpus-root", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "none of the 8 media files could be embedded" in result.stderr
    assert (out / "checksums.sha256").read_bytes() == before and verify_checksums(out).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "hf"]


def test_resharing_an_embedded_share_keeps_its_missing_media(coco, tmp_path):
    corpus, dataset = coco
    broken = tmp_path / "corpus"
    shutil.copytree(corpus, broken)
    (broken / "val2017" / "000000000107.jpg").unlink()
    first = tmp_path / "first"
    share_dataset(dataset, first, media="embed", corpus_root=broken)
    assert share_manifest(first)["missing_media"] == ["000000000107"]
    again = tmp_path / "again"
    report = share_dataset(first, again, media="embed")
    assert [(m.sample_id, m.column, m.path) for m in report.missing_media] == [
        ("000000000107", "image", "val2017/000000000107.jpg")]
    assert share_manifest(again)["missing_media"] == ["000000000107"]
    assert embedded_files(again)["000000000107"] is None
    assert "1 media files could not be read and are null: `000000000107`" in (again / "README.md").read_text()
    result = runner.invoke(app, ["share", str(first), "--out", str(tmp_path / "cli"), "--media", "embed"])
    assert result.exit_code == 0 and "warning: 1 media files could not be embedded" in result.stderr


def write_wav_corpus(root: Path) -> Path:
    """A manifest corpus of four whole WAV files: a good one, one cut inside its header, one cut in
    the middle of its samples, and a RIFF header followed by zeros."""
    rate = 16000
    good = root / "good.wav"
    root.mkdir(parents=True)
    soundfile.write(str(good), 0.3 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate), rate, subtype="PCM_16")
    data = good.read_bytes()
    (root / "header.wav").write_bytes(data[:30])
    (root / "half.wav").write_bytes(data[: len(data) // 2])
    (root / "garbage.wav").write_bytes(b"RIFF" + b"\x00" * 100)
    rows = [{"id": name, "audio": f"{name}.wav", "text": "a tone"} for name in ("good", "header", "half", "garbage")]
    (root / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def test_audio_files_that_do_not_decode_are_missing_media_not_embedded(tmp_path):
    corpus = write_wav_corpus(tmp_path / "corpus")
    extract("manifest", corpus, tmp_path / "ds", extractors=["wave-rms"], num_workers=0)
    report = share_dataset(tmp_path / "ds", tmp_path / "hf", media="embed")
    assert sorted(m.sample_id for m in report.missing_media) == ["garbage", "half", "header"]
    assert all(m.path in m.reason for m in report.missing_media)
    assert sorted(share_manifest(tmp_path / "hf")["missing_media"]) == ["garbage", "half", "header"]
    files = embedded_files(tmp_path / "hf", "audio_file")
    assert files["good"]["bytes"] == (corpus / "good.wav").read_bytes()
    assert files["header"] is None and files["half"] is None and files["garbage"] is None
