"""A folds file is found where the user typed it: absolute, from the current directory, then the corpus root."""
from __future__ import annotations

import json
import re

import pytest

from mmdata.alignment import segment_dataset
from mmdata.corpora import load_corpus
from mmdata.errors import CorpusNotFoundError
from mmdata.formats.folds import resolve_folds_path
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.av import write_fake_mosi_cmu
from tests.fakes.csd import FOLDS, LABELS_FILE, write_mosi_csd


def test_absolute_then_current_directory_then_corpus_root(tmp_path, monkeypatch):
    corpus, work = tmp_path / "corpus", tmp_path / "work"
    (corpus / "splits").mkdir(parents=True)
    (work / "splits").mkdir(parents=True)
    in_corpus = corpus / "splits" / "folds.json"
    in_corpus.write_text("{}")
    monkeypatch.chdir(work)
    assert resolve_folds_path(in_corpus) == in_corpus
    assert resolve_folds_path("splits/folds.json", corpus) == in_corpus  # not in the current directory
    (work / "splits" / "folds.json").write_text("{}")
    assert resolve_folds_path("splits/folds.json", corpus) == work / "splits" / "folds.json"  # as typed wins
    assert resolve_folds_path("splits/folds.json") == work / "splits" / "folds.json"


def test_a_missing_file_is_one_error_listing_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            f"folds file not found: {tmp_path / 'f.json'} or {tmp_path / 'corpus' / 'f.json'} (a relative path is read "
            "from the current directory, then the corpus root); expected a JSON {split: [video ids]}")):
        resolve_folds_path("f.json", tmp_path / "corpus")
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            f"folds file not found: {tmp_path / 'f.json'} (a relative path is read from the current directory);")):
        resolve_folds_path("f.json")
    with pytest.raises(CorpusNotFoundError, match=re.escape(f"folds file not found: {tmp_path / 'abs.json'}; expected")):
        resolve_folds_path(tmp_path / "abs.json", tmp_path / "corpus")


def test_segment_reads_a_relative_folds_path_from_the_current_directory(tmp_path, monkeypatch):
    fake = write_mosi_csd(tmp_path / "csd")
    (fake.root / "folds.json").write_text(json.dumps(FOLDS))
    extract("csd", fake.root, tmp_path / "videos", extractors=[], corpus_options={"labels": "none"}, num_workers=0)
    monkeypatch.chdir(tmp_path)
    segment_dataset("videos", "out", f"csd/{LABELS_FILE}", folds="csd/folds.json")
    samples = open_dataset(tmp_path / "out").samples_table().to_pylist()
    assert {s["group_id"]: s["split"] for s in samples} == {v: split for split, vids in FOLDS.items() for v in vids}
    with pytest.raises(CorpusNotFoundError, match=re.escape(f"folds file not found: {tmp_path / 'folds.json'} (a "
                                                            "relative path is read from the current directory)")):
        segment_dataset("videos", "out2", f"csd/{LABELS_FILE}", folds="folds.json")


def test_mosi_raw_folds_file_from_the_current_directory_or_the_root(tmp_path, monkeypatch):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    (tmp_path / "mine.json").write_text(json.dumps({"valid": ["a_b-1", "Xy9"]}))
    monkeypatch.chdir(tmp_path)
    splits = {s.split for s in load_corpus("mosi-raw", fake.root, options={"folds_file": "mine.json"}).samples}
    assert splits == {"valid"}
    splits = {s.sample_id: s.split for s in load_corpus("mosi-raw", fake.root, options={"folds_file": "folds.json"}).samples}
    assert splits == {"a_b-1_1": "train", "a_b-1_2": "train", "Xy9_1": "test"}  # the corpus's folds.json
    with pytest.raises(CorpusNotFoundError, match=r"folds file not found: .*nope\.json or .*mosi/nope\.json"):
        load_corpus("mosi-raw", fake.root, options={"folds_file": "nope.json"})
