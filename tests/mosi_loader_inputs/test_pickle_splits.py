"""`mmsa` / `mult` splits: keys besides train/valid/test, empty splits, splits without lengths."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.mosi_loader_inputs._pickles import mmsa_file, mmsa_split, write_pickle


def _mult_split(tag: str, n: int) -> dict:
    return {"id": np.array([[f"{tag}{i}", "0.0", "1.5"] for i in range(n)], dtype=object).astype("S"),
            "audio": np.ones((n, 3, 2), np.float32), "labels": np.arange(n, dtype=np.float32).reshape(n, 1, 1)}


@pytest.mark.parametrize("kind", ["mmsa", "mult"])
def test_a_dev_key_is_loaded_as_its_own_split_with_a_warning(tmp_path, kind, caplog):
    make = mmsa_split if kind == "mmsa" else _mult_split
    write_pickle(tmp_path, {"train": make("tr", 3), "dev": make("dv", 2), "test": make("te", 2)})
    with caplog.at_level(logging.WARNING):
        samples = load_corpus(kind, tmp_path).samples
    assert [s.split for s in samples].count("dev") == 2 and len(samples) == 7
    assert "top-level key 'dev' (2 rows) is not one of train/valid/test; loaded as split 'dev'" in caplog.text
    assert [s.split for s in load_corpus(kind, tmp_path, split="dev").samples] == ["dev", "dev"]


def test_a_top_level_key_that_is_no_split_is_an_error_naming_it(tmp_path):
    path = write_pickle(tmp_path, {"train": mmsa_split("tr", 2), "meta": ["not", "a", "split"]})
    with pytest.raises(CorpusFormatError, match=rf"{path.name}: top-level key 'meta' holds a list; expected splits"):
        load_corpus("mmsa", tmp_path)


@pytest.mark.parametrize("protocol", [2, 4])
def test_an_empty_split_loads_as_zero_samples(tmp_path, protocol):
    empty = {k: v[:0] for k, v in mmsa_split("va", 2).items()}
    mmsa_file(tmp_path, protocol, train=mmsa_split("tr", 3), valid=empty)
    report = extract("mmsa", tmp_path, tmp_path / "out", extractors=[], num_workers=0)
    dataset = open_dataset(tmp_path / "out")
    assert dataset.manifest.samples["splits"] == {"train": 3} and report.loader_errors == 0
    assert dataset.spec("audio.mmsa").dim == 3
    assert dataset.entry("audio.mmsa").config["shapes"]["valid"] == [0, 4, 3]


def test_an_empty_mult_split_loads_as_zero_samples(tmp_path):
    empty = {k: v[:0] for k, v in _mult_split("va", 2).items()}
    write_pickle(tmp_path, {"train": _mult_split("tr", 2), "valid": empty}, protocol=2)
    samples = load_corpus("mult", tmp_path).samples
    assert [s.split for s in samples] == ["train", "train"]



def test_a_split_without_lengths_keeps_its_padding_and_the_others_are_trimmed(tmp_path, caplog):
    valid = mmsa_split("va", 2)
    del valid["audio_lengths"]
    train = mmsa_split("tr", 3)
    mmsa_file(tmp_path, train=train, valid=valid)
    with caplog.at_level(logging.WARNING):
        extract("mmsa", tmp_path, tmp_path / "out", extractors=[], num_workers=0)
    assert "split 'valid' has no 'audio_lengths' (the other splits have it)" in caplog.text
    dataset = open_dataset(tmp_path / "out")
    rows = {r["sample_id"]: r["feature"] for r in dataset.table("audio.mmsa").to_table().to_pylist()}
    assert [len(rows[i]) for i in train["id"]] == list(train["audio_lengths"])  # trimmed: 1, 2, 3 steps
    assert [len(rows[i]) for i in valid["id"]] == [4, 4]  # padding kept
    config = dataset.entry("audio.mmsa").config
    assert config["padding"] == "trimmed to audio_lengths, except in valid (no audio_lengths: kept)"
    assert config["padding_by_split"] == {"train": "trimmed to audio_lengths", "valid": "kept (no audio_lengths)"}
    assert dataset.manifest.extra["loader"]["padding_by_split"]["audio.mmsa"] == config["padding_by_split"]


@pytest.mark.parametrize("length", [-1, 5, 2.5])
def test_a_length_below_zero_or_above_the_padded_length_is_a_loader_error(tmp_path, length):
    train = mmsa_split("tr", 3)
    train["audio_lengths"] = train["audio_lengths"].astype(np.float64)
    train["audio_lengths"][1] = length
    path = mmsa_file(tmp_path, train=train)
    result = load_corpus("mmsa", tmp_path)
    [problem] = result.problems
    assert problem.sample_id == "trvid1$_$1" and problem.path == f"{path} [train]['audio_lengths'][1]"
    assert f"audio_lengths is {length:g}; expected a whole number of steps from 0 to 4" in problem.reason
    report = extract("mmsa", tmp_path, tmp_path / "out", extractors=[], num_workers=0)
    assert report.loader_errors == 1
    rows = {r["sample_id"]: r["feature"] for r in open_dataset(tmp_path / "out").table("audio.mmsa").to_table().to_pylist()}
    assert rows["trvid1$_$1"] is None and len(rows["trvid2$_$2"]) == 3


def test_a_length_of_zero_is_an_empty_row_without_an_error(tmp_path):
    train = mmsa_split("tr", 2)
    train["audio_lengths"][0] = 0
    mmsa_file(tmp_path, train=train)
    assert load_corpus("mmsa", tmp_path).problems == []
