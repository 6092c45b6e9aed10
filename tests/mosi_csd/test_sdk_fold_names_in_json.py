"""The SDK's standard folds dumped to JSON (`{"standard_train_fold": [...], ...}`, how its users pass
them around) give the splits train, valid and test, as its `cmu_mosi_std_folds.py` does; they were
read as three splits named after the lists."""
from __future__ import annotations

import json

from mmdata.corpora import load_corpus
from tests.fakes.csd import write_mosi_csd

SDK_FOLDS = {"standard_train_fold": ["abc"], "standard_valid_fold": ["abcd"], "standard_test_fold": ["x9Y_z-1"]}


def test_sdk_fold_names_in_json_are_the_standard_splits(tmp_path):
    write_mosi_csd(tmp_path)
    (tmp_path / "folds.json").write_text(json.dumps(SDK_FOLDS))
    (tmp_path / "cmu_mosi_std_folds.py").write_text("".join(f"{k} = {v!r}\n" for k, v in SDK_FOLDS.items()))
    from_json = load_corpus("csd", tmp_path, options={"folds": "folds.json"}).samples
    from_module = load_corpus("csd", tmp_path, options={"folds": "cmu_mosi_std_folds.py"}).samples
    assert [(s.sample_id, s.split) for s in from_json] == [(s.sample_id, s.split) for s in from_module]
    assert {s.split for s in from_json} == {"train", "valid", "test"}


def test_other_json_fold_names_are_the_splits_as_written(tmp_path):
    write_mosi_csd(tmp_path)
    (tmp_path / "folds.json").write_text(json.dumps({"fold_a": ["abc", "abcd"], "fold_b": ["x9Y_z-1"]}))
    samples = load_corpus("csd", tmp_path, options={"folds": "folds.json"}).samples
    assert {s.split for s in samples} == {"fold_a", "fold_b"}
