"""`mmdata extract clotho` end to end on a v2.1 layout of real WAVs: caption-level text and audio tables, a row
naming a missing sound in the errors table with its `file:line`, `--split`, a clean `check`, and
`mmdata train retrieval` taking the pooled audio table as its media side."""
from __future__ import annotations

import json

import pytest

from mmdata.checks import check_dataset
from tests.corpora.cli_extract import SOUND_AND_CAPTIONS, run_extract, run_mmdata
from tests.fakes.captioned_media import write_fake_clotho

FILES = {"development": ("Distorted AM Radio noise.wav", "birds, morning chorus.wav", "door slam.wav"),
         "validation": ("Rain on café roof.wav", "kettle.wav"),
         "evaluation": ("Radio Garble.wav", "train passing.wav")}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clotho")
    fake = write_fake_clotho(tmp / "corpus", files=FILES)
    with (fake.root / "clotho_captions_development.csv").open("a", encoding="utf-8") as f:
        f.write("not unzipped.wav,a,b,c,d,e\n")  # line 5: its WAV is not there
    return fake, run_extract("clotho", fake.root, tmp / "out", SOUND_AND_CAPTIONS)


def test_every_sound_is_a_row_with_one_text_vector_per_caption(extracted):
    fake, data = extracted
    samples = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert {sid: (row["split"], row["audio"], tuple(row["captions"]), row["corpus"]) for sid, row in samples.items()} \
        == {sid: (e.split, e.audio, e.captions, "clotho") for sid, e in fake.expected.items()}
    text = data.read_table("text.hashed-bow.caption").to_pylist()
    assert sorted(row["sample_id"] for row in text) == sorted(fake.expected)
    assert {len(row["feature"]) for row in text} == {5}  # five captions, five vectors
    assert sorted(data.to_numpy("audio.egemaps-functionals")[0]) == sorted(fake.expected)
    assert data.read_table("audio.librosa-logmel").num_rows == len(fake.expected)
    assert json.loads(samples["kettle"]["extra"])["audio_duration"] == 0.5


def test_the_row_naming_a_missing_sound_is_in_the_errors_table_with_its_line(extracted):
    fake, data = extracted
    errors = data.errors().to_pylist()
    assert [(e["table"], e["sample_id"], e["path"]) for e in errors] == [
        ("loader", "not unzipped", f"{fake.root / 'clotho_captions_development.csv'}:5")]
    assert "audio file not unzipped.wav not found in development/" in errors[0]["reason"]


def test_check_finds_no_error(extracted):
    _, data = extracted
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []
    assert {i.code for i in report.issues if i.severity == "warning"} == {"loader-errors"}


def test_split_val_extracts_the_validation_sounds_only(extracted, tmp_path):
    fake, _ = extracted
    data = run_extract("clotho", fake.root, tmp_path / "val", SOUND_AND_CAPTIONS, "--split", "val")
    assert data.samples_table().column("sample_id").to_pylist() == ["Rain on café roof", "kettle"]
    assert data.errors().num_rows == 0  # the missing sound is a development row


def test_train_retrieval_takes_the_pooled_audio_table_as_its_media_side(extracted, tmp_path):
    _, data = extracted
    metrics = tmp_path / "retrieval.json"
    run_mmdata("train", "retrieval", str(data.root), "--json", str(metrics), "-m", "mse", "--epochs", "2")
    info = json.loads(metrics.read_text())
    assert info["image_tables"] == ["audio.egemaps-functionals"]
    assert (info["train_splits"], info["test_split"], info["train_images"], info["test_images"]) == (["train"], "test", 3, 2)
    assert [row["model"] for row in info["results"] if not row.get("error")][-1] == "mse"
