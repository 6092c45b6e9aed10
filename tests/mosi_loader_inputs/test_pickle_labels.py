"""`mmsa` / `mult` labels of several values, non-finite labels, features beyond float32's range."""
from __future__ import annotations

import numpy as np
import pyarrow.dataset as pads
import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.mosi_loader_inputs._pickles import mmsa_file, mmsa_split, write_pickle


def test_labels_of_two_columns_keep_both_and_the_first_is_the_label(tmp_path):
    train = mmsa_split("tr", 3)
    train["regression_labels"] = np.array([[0.1, 1.5], [-0.7, 2.8], [3.0, -3.0]], dtype=np.float32)
    mmsa_file(tmp_path, train=train)
    result = load_corpus("mmsa", tmp_path)
    assert [s.label for s in result.samples] == [0.1, -0.7, 3.0]
    assert [s.extra["labels"] for s in result.samples] == [[0.1, 1.5], [-0.7, 2.8], [3.0, -3.0]]
    assert result.metadata["label_fields"] == {"label_0": ["labels", 0], "label_1": ["labels", 1]}


@pytest.mark.parametrize("shape", [(3,), (3, 1), (3, 1, 1)])
def test_labels_of_one_value_per_sample_keep_no_extra_labels(tmp_path, shape):
    train = mmsa_split("tr", 3)
    train["regression_labels"] = np.array([0.1, -0.7, 2.8], dtype=np.float32).reshape(shape)
    mmsa_file(tmp_path, train=train)
    samples = load_corpus("mmsa", tmp_path).samples
    assert [s.label for s in samples] == [0.1, -0.7, 2.8] and not any("labels" in s.extra for s in samples)


@pytest.mark.parametrize("shape", [(3, 2, 2), (3, 0)])
def test_labels_of_other_shapes_are_refused_naming_the_shape(tmp_path, shape):
    train = mmsa_split("tr", 3)
    train["regression_labels"] = np.zeros(shape, np.float32)
    path = mmsa_file(tmp_path, train=train)
    with pytest.raises(CorpusFormatError, match=rf"{path.name}: split 'train' key 'regression_labels' has shape "
                                                rf"\({shape[0]}, {shape[1]}.*; expected \(N,\) labels, \(N, k\)"):
        load_corpus("mmsa", tmp_path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_mmsa_label_is_null_and_a_loader_error(tmp_path, bad):
    train = mmsa_split("tr", 3)
    train["regression_labels"][1] = bad
    path = mmsa_file(tmp_path, train=train)
    result = load_corpus("mmsa", tmp_path)
    assert [s.label for s in result.samples] == [-0.2, None, 0.0]
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("trvid1$_$1", f"{path} [train]['regression_labels'][1]")
    assert "is not finite; expected numbers; stored as null" in problem.reason
    assert extract("mmsa", tmp_path, tmp_path / "out", extractors=[], num_workers=0).loader_errors == 1


def test_a_non_finite_mult_label_is_null_and_a_loader_error(tmp_path):
    labels = np.array([0.5, np.nan], dtype=np.float32).reshape(2, 1, 1)
    path = write_pickle(tmp_path, {"train": {"audio": np.ones((2, 3, 2), np.float32), "labels": labels,
                                             "id": np.array([[b"v", b"0", b"1"], [b"w", b"1", b"2"]])}})
    result = load_corpus("mult", tmp_path)
    assert [s.label for s in result.samples] == [0.5, None]
    assert [(p.sample_id, p.path) for p in result.problems] == [("w_1_2", f"{path} [train]['labels'][1]")]


def test_float64_features_beyond_float32_fail_their_row_naming_file_and_row(tmp_path):
    train = mmsa_split("tr", 2)
    train["audio"] = train["audio"].astype(np.float64)
    train["audio"][1, 0, 2] = 1e39
    path = mmsa_file(tmp_path, train=train)
    report = extract("mmsa", tmp_path, tmp_path / "out", extractors=[], num_workers=0)
    [table] = report.tables
    assert table.errors == 1
    rows = {r["sample_id"]: r["feature"] for r in open_dataset(tmp_path / "out").table("audio.mmsa").to_table().to_pylist()}
    assert rows["trvid1$_$1"] is None and rows["trvid0$_$0"] is not None
    [error] = pads.dataset(tmp_path / "out" / "errors" / "audio.mmsa", format="parquet").to_table().to_pylist()
    assert error["path"] == str(path) and error["sample_id"] == "trvid1$_$1"
    assert error["reason"].startswith(f"{path} [train]['audio'][1]: holds 1e+39, which exceeds the range of float32")
    assert "output_spec" not in error["reason"]
