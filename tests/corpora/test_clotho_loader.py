"""The `clotho` loader on Clotho v2.1 layouts: splits as train/val/test, metadata in `extra`, and the rows it
leaves out (missing sound, blank caption, a file listed twice) named `file:line` in the problems."""
from __future__ import annotations

import re
import shutil

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from tests.fakes.captioned_media import CLOTHO_FILES, clotho_caption, write_csv, write_fake_clotho

RADIO = "Distorted AM Radio noise"


@pytest.fixture
def clotho(tmp_path):
    return write_fake_clotho(tmp_path / "clotho")


def test_splits_are_train_val_test_with_clothos_name_kept_in_extra(clotho):
    result = load_corpus("clotho", clotho.root)
    assert {s.sample_id: s.split for s in result.samples} == {
        RADIO: "train", "birds, morning chorus": "train", "Rain on café roof": "val", "Radio Garble": "test"}
    assert {s.extra["clotho_split"] for s in result.samples} == {"development", "validation", "evaluation"}
    assert result.metadata["captions_files"]["val"] == "clotho_captions_validation.csv"


@pytest.mark.parametrize(("split", "ids"), [("train", [RADIO, "birds, morning chorus"]), ("val", ["Rain on café roof"]),
                                            ("test", ["Radio Garble"]), ("all", [RADIO, "birds, morning chorus",
                                                                                "Rain on café roof", "Radio Garble"])])
def test_a_split_loads_only_its_sounds(clotho, split, ids):
    assert [s.sample_id for s in load_corpus("clotho", clotho.root, split=split).samples] == ids


@pytest.mark.parametrize(("native", "ours"), [("development", "train"), ("evaluation", "test"), ("validation", "val")])
def test_clothos_own_split_names_are_refused_naming_the_one_to_pass(clotho, native, ours):
    with pytest.raises(ConfigError, match=f"split '{native}' is named '{ours}' here.*--split {ours}"):
        load_corpus("clotho", clotho.root, split=native)


def test_metadata_from_the_iso_8859_1_file_goes_to_extra_with_keywords_as_a_list(clotho):
    radio = next(s for s in load_corpus("clotho", clotho.root).samples if s.sample_id == RADIO)
    assert radio.extra["keywords"] == ["radio", "noise", "am"]
    assert radio.extra["manufacturer"] == "Jürgen" and radio.extra["sound_id"] == "80399"
    assert radio.extra["start_end_samples"] == [1024, 845524]
    assert radio.extra["license"].startswith("http://creativecommons.org/")
    assert radio.extra["audio_duration"] == 0.5  # read from the WAV header, for `check`
    assert radio.captions == tuple(clotho_caption(f"{RADIO}.wav", k) for k in range(1, 6))


def test_the_aac_datasets_layout_with_csv_and_audio_folders_loads_the_same(tmp_path):
    fake = write_fake_clotho(tmp_path / "c", csv_dir="clotho_csv_files", audio_dir="clotho_audio_files")
    result = load_corpus("clotho", fake.root)
    assert {s.sample_id: s.audio for s in result.samples} == {sid: e.audio for sid, e in fake.expected.items()}
    assert result.samples[0].audio.startswith("clotho_audio_files/development/")


def test_a_missing_sound_a_blank_caption_and_repeated_files_are_left_out_and_named_by_line(clotho):
    dev = clotho.root / "clotho_captions_development.csv"
    birds, radio = "birds, morning chorus.wav", f"{RADIO}.wav"
    caption = [clotho_caption("x.wav", k) for k in range(1, 6)]
    write_csv(dev, ["file_name", *(f"caption_{k}" for k in range(1, 6))], [
        [radio, "", *caption[1:]],               # line 2: one blank caption
        ["no such sound.wav", *caption],         # line 3: no WAV
        [radio, *caption],                       # line 4: listed again
        ["Radio Garble.wav", *caption],          # line 5: also in the evaluation file, which comes later
        [birds, "", "", "", "", ""],             # line 6: no caption at all
    ])
    shutil.copy(clotho.root / "evaluation" / "Radio Garble.wav", clotho.root / "development")
    result = load_corpus("clotho", clotho.root)
    problems = {(p.sample_id, p.path): p for p in result.problems}
    assert sorted(problems) == sorted([(RADIO, f"{dev}:2"), ("no such sound", f"{dev}:3"), (RADIO, f"{dev}:4"),
                                       ("Radio Garble", f"{clotho.root / 'clotho_captions_evaluation.csv'}:2"),
                                       ("birds, morning chorus", f"{dev}:6")])
    assert "empty caption_1" in problems[(RADIO, f"{dev}:2")].reason
    assert "audio file no such sound.wav not found in development/" in problems[("no such sound", f"{dev}:3")].reason
    assert problems[(RADIO, f"{dev}:4")].error_type == REPEATED_ENTRY
    leak = problems[("Radio Garble", f"{clotho.root / 'clotho_captions_evaluation.csv'}:2")]
    assert leak.error_type == REPEATED_ENTRY and f"first at {dev}:5" in leak.reason
    assert "has no caption" in problems[("birds, morning chorus", f"{dev}:6")].reason
    samples = {s.sample_id: s for s in result.samples}
    assert samples[RADIO].captions == tuple(caption[1:]) and samples[RADIO].extra["caption_numbers"] == [2, 3, 4, 5]
    assert samples["Radio Garble"].split == "train"  # the development row comes first
    assert "no such sound" not in samples and "birds, morning chorus" not in samples


def test_problems_of_other_splits_are_not_reported_when_one_split_is_asked(clotho):
    dev = clotho.root / "clotho_captions_development.csv"
    write_csv(dev, ["file_name", "caption_1"], [["gone.wav", "a caption"]])
    assert load_corpus("clotho", clotho.root, split="test").problems == []
    assert [p.path for p in load_corpus("clotho", clotho.root, split="train").problems] == [f"{dev}:2"]


def test_a_header_without_caption_columns_stops_the_load_naming_line_1(clotho):
    dev = clotho.root / "clotho_captions_development.csv"
    write_csv(dev, ["file_name", "keywords"], [["a.wav", "x"]])
    with pytest.raises(CorpusFormatError, match=re.escape(f"{dev}:1: expected the header 'file_name,caption_1")):
        load_corpus("clotho", clotho.root)


def test_a_split_whose_audio_folder_is_missing_is_refused_with_the_archive_to_unzip(tmp_path):
    fake = write_fake_clotho(tmp_path / "c")
    for wav in (fake.root / "validation").iterdir():
        wav.unlink()
    (fake.root / "validation").rmdir()
    with pytest.raises(CorpusNotFoundError, match="validation/ not found.*clotho_audio_validation.7z"):
        load_corpus("clotho", fake.root)
    assert len(load_corpus("clotho", fake.root, split="train").samples) == 2


def test_a_split_without_its_captions_file_is_refused_listing_the_splits_there(tmp_path):
    fake = write_fake_clotho(tmp_path / "c", files={"development": CLOTHO_FILES["development"]})
    with pytest.raises(CorpusNotFoundError, match=r"clotho_captions_evaluation.csv is not in .*splits there: \['train'\]"):
        load_corpus("clotho", fake.root, split="test")
    with pytest.raises(CorpusNotFoundError, match="no Clotho captions file"):
        load_corpus("clotho", tmp_path / "c" / "development")
