"""`mmdata extract wavcaps` end to end on the Hugging Face release's layout of real FLAC sounds: an audio row and a
caption vector per sound in split train, the entries of the default blacklist (test_ac) left out and counted in
the manifest, a missing sound in the errors table at its JSON entry, a clean `check`, and `-o sources=` /
`-o blacklist=none`."""
from __future__ import annotations

import json

import pytest

from mmdata.checks import check_dataset
from tests.corpora.cli_extract import run_extract
from tests.fakes.wavcaps import BLACKLISTED, ENTRIES, audio_folder, write_fake_wavcaps

LOGMEL_AND_CAPTIONS = ("--audio", "librosa-logmel", "--text", "hashed-bow:level=caption")  # the features extracted


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wavcaps")
    fake = write_fake_wavcaps(tmp / "corpus")
    (fake.root / audio_folder("release", "FreeSound") / "180913.flac").unlink()  # in a zip part not unzipped
    return fake, run_extract("wavcaps", fake.root, tmp / "out", LOGMEL_AND_CAPTIONS)


def test_every_sound_found_is_a_train_row_with_its_audio_and_caption_vectors(extracted):
    fake, data = extracted
    expected = {sid: e for sid, e in fake.expected.items() if sid != "FreeSound/180913"}
    samples = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    got = {sid: (row["split"], row["audio"], tuple(row["captions"]), row["group_id"]) for sid, row in samples.items()}
    assert got == {sid: ("train", e.audio, e.captions, sid) for sid, e in expected.items()}
    assert json.loads(samples["AudioSet_SL/Y7fmOlUlwoNg"]["extra"])["youtube_id"] == "7fmOlUlwoNg"
    text = {row["sample_id"]: len(row["feature"]) for row in data.read_table("text.hashed-bow.caption").to_pylist()}
    assert text == {sid: 1 for sid in expected}
    assert data.read_table("audio.librosa-logmel").num_rows == len(expected)


def test_the_blacklisted_entries_are_counted_in_the_manifest_and_the_missing_sound_is_an_error(extracted):
    fake, data = extracted
    assert data.manifest.extra["loader"]["blacklist"]["left_out"] == {
        "AudioSet_SL": 1, "BBC_Sound_Effects": 0, "FreeSound": 1, "SoundBible": 0}
    assert data.manifest.extra["loader"]["blacklist"]["files"] == ["blacklist_exclude_test_ac.json"]
    [error] = data.errors().to_pylist()
    assert (error["table"], error["sample_id"]) == ("loader", "FreeSound/180913")
    freesound = fake.root / "json_files" / "FreeSound" / "fsd_final.json"
    assert error["path"] == f"{freesound}:4:5: data[0]"  # the entry's opening brace
    assert "audio file 180913.flac not found" in error["reason"]


def test_check_finds_no_error(extracted):
    _, data = extracted
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []


def test_one_source_without_the_blacklists(extracted, tmp_path):
    fake, _ = extracted
    data = run_extract("wavcaps", fake.root, tmp_path / "out", LOGMEL_AND_CAPTIONS, "-o", "sources=FreeSound",
                       "-o", "blacklist=none")
    kept = {f"FreeSound/{e['id']}" for e in ENTRIES["FreeSound"]} - {"FreeSound/180913"}
    assert set(data.samples_table().column("sample_id").to_pylist()) == kept and kept & BLACKLISTED
    assert data.manifest.extra["loader"]["blacklist"] is None
    assert data.errors().column("sample_id").to_pylist() == ["FreeSound/180913"]
