"""The restricted unpickler and the `mmsa` / `mult` corpus kinds (pickles of dicts of numpy arrays)."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError
from mmdata.formats.safe_pickle import UnsafePickleError, load_pickle_safely
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import MMSA_DIMS, MMSA_SIZES, write_mmsa_pickle, write_mult_pickle


class RunsACommand:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


@pytest.mark.parametrize("protocol", [2, 5])
def test_pickle_calling_os_system_is_refused_before_anything_runs(tmp_path, protocol, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"train": {"audio": np.zeros(2), "x": RunsACommand()}}, protocol=protocol))
    with pytest.raises(UnsafePickleError, match=r"evil\.pkl: refusing to unpickle the global (posix|os)\.system; "
                                                r"expected only numpy arrays and plain containers"):
        load_pickle_safely(path)
    assert not (tmp_path / "pwned.txt").exists()
    with pytest.raises(UnsafePickleError, match="builtins.eval"):
        (tmp_path / "eval.pkl").write_bytes(b"cbuiltins\neval\n(S'1+1'\ntR.")
        load_pickle_safely(tmp_path / "eval.pkl")


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_numpy_arrays_scalars_and_containers_round_trip(tmp_path, protocol):
    value = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "ids": np.array(["x$_$1", "y"], dtype=object),
             "b": [b"bytes", "text", 1.5, np.float64(2.5), (1, 2), {3}], "u": np.array(["ab", "c"])}
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps(value, protocol=protocol))
    loaded = load_pickle_safely(path)
    assert np.array_equal(loaded["a"], value["a"]) and loaded["a"].dtype == np.float32
    assert loaded["ids"].tolist() == ["x$_$1", "y"] and loaded["u"].tolist() == ["ab", "c"]
    assert loaded["b"] == [b"bytes", "text", 1.5, 2.5, (1, 2), {3}]


def test_truncated_pickle_is_a_format_error_naming_the_file(tmp_path):
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps({"a": np.zeros(100)})[:50])
    with pytest.raises(CorpusFormatError, match=r"cut\.pkl: not a readable pickle"):
        load_pickle_safely(path)


def test_mmsa_pickle_loads_samples_and_tables_with_lengths(tmp_path):
    data = write_mmsa_pickle(tmp_path / "mosi" / "Processed" / "unaligned_50.pkl")
    report = extract("mmsa", tmp_path / "mosi", tmp_path / "out", extractors=[], num_workers=0)
    assert {t.name: t.rows for t in report.tables} == {
        "audio.mmsa": 6, "video.mmsa": 6, "text.mmsa": 6, "text.mmsa-tokens": 6}
    dataset = open_dataset(tmp_path / "out")
    samples = {s["sample_id"]: s for s in dataset.samples_table().to_pylist()}
    assert len(samples) == sum(MMSA_SIZES.values()) and dataset.manifest.samples["splits"] == MMSA_SIZES
    train = data["train"]
    first = samples[train["id"][1]]
    assert (first["split"], first["group_id"], first["transcript"]) == ("train", "vidtrain0", "train text 1")
    assert first["label"] == pytest.approx(float(train["regression_labels"][1]))
    tables = {name: {r["sample_id"]: r for r in dataset.table(name).to_table().to_pylist()}
              for name in dataset.table_names}
    for k, sample_id in enumerate(train["id"]):
        audio = np.array(tables["audio.mmsa"][sample_id]["feature"], np.float32)
        assert np.array_equal(audio, train["audio"][k][: train["audio_lengths"][k]])  # padding dropped
        vision = np.array(tables["video.mmsa"][sample_id]["feature"], np.float32)
        assert vision.shape == (train["vision_lengths"][k], MMSA_DIMS["vision"][1])
        real = train["text_bert"][k][1] == 1  # BERT padding dropped by the attention mask (text_padding=trim)
        text = np.array(tables["text.mmsa"][sample_id]["feature"], np.float32)
        assert np.array_equal(text, train["text"][k][real]) and text.shape == (real.sum(), MMSA_DIMS["text"][1])
        tokens = np.array(tables["text.mmsa-tokens"][sample_id]["feature"])
        assert np.array_equal(tokens, train["text_bert"][k].T.astype(np.int64)[real])
    assert dataset.spec("audio.mmsa").dim == MMSA_DIMS["audio"][1] and not dataset.spec("audio.mmsa").intervals
    assert dataset.spec("text.mmsa-tokens").dtype == "int64"


def test_mult_pickle_loads_with_id_triples_and_nonfinite_policy(tmp_path):
    data = write_mult_pickle(tmp_path / "mult" / "mosi_data_noalign.pkl")
    result = load_corpus("mult", tmp_path / "mult", split="valid")
    assert [(s.sample_id, s.group_id, s.start, s.end, s.split) for s in result.samples] == [
        ("vvalid0_0.000_1.250", "vvalid0", 0.0, 1.25, "valid")]
    assert result.samples[0].label == pytest.approx(float(data["valid"]["labels"][0, 0, 0]))
    report = extract("mult", tmp_path / "mult", tmp_path / "out", extractors=[], num_workers=0)
    assert {t.name: t.errors for t in report.tables} == {"audio.mult": 3, "video.mult": 0, "text.mult": 0}  # -inf
    dataset = open_dataset(tmp_path / "out")
    assert dataset.manifest.extra["nonfinite_values"] == {"audio.mult": 3, "video.mult": 0, "text.mult": 0}
    errors = [e for e in dataset.errors().to_pylist() if e["table"] == "audio.mult"]
    assert "non-finite" in errors[0]["reason"] and "['audio'][0]" in errors[0]["reason"]
    extract("mult", tmp_path / "mult", tmp_path / "zero", corpus_options={"nonfinite": "zero"}, extractors=[], num_workers=0)
    rows = {r["sample_id"]: r for r in open_dataset(tmp_path / "zero").table("audio.mult").to_table().to_pylist()}
    audio = np.array(rows["vtrain0_0.000_1.250"]["feature"], np.float32)
    expected = np.where(np.isfinite(data["train"]["audio"][0]), data["train"]["audio"][0], 0)
    assert np.array_equal(audio, expected) and audio.shape == (5, 5)
    text = open_dataset(tmp_path / "zero").table("text.mult").to_table().to_pylist()[0]["feature"]
    assert np.array(text).shape == (5, 300)


def test_pickle_with_unexpected_object_or_shape_is_refused_by_the_loader(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.pkl").write_bytes(pickle.dumps({"train": {"id": ["a"], "f": RunsACommand()}}))
    with pytest.raises(UnsafePickleError, match=r"x\.pkl: refusing to unpickle the global"):
        load_corpus("mmsa", tmp_path / "a")
    (tmp_path / "b").mkdir()
    with open(tmp_path / "b" / "y.pkl", "wb") as f:
        pickle.dump({"train": {"id": ["a", "b"], "regression_labels": np.zeros(3), "audio": np.zeros((2, 3, 4))}}, f)
    with pytest.raises(CorpusFormatError, match=r"y\.pkl: split 'train' key 'regression_labels' has 3 rows, expected 2"):
        load_corpus("mmsa", tmp_path / "b")
    with open(tmp_path / "b" / "y.pkl", "wb") as f:
        pickle.dump([1, 2], f)
    with pytest.raises(CorpusFormatError, match=r"expected a dict with keys \['train', 'valid', 'test'\]"):
        load_corpus("mmsa", tmp_path / "b")


@pytest.mark.parametrize("change, words", [
    (lambda part: part.update(audio=part["audio"][:-1]), r"key 'audio' has \d+ rows \(shape .*\), expected \d+ \(one per id\)"),
    (lambda part: part.update(audio=[a[: 2 + i % 2] for i, a in enumerate(part["audio"])]), r"key 'audio' is ragged"),
    (lambda part: part.update(audio_lengths=part["audio_lengths"][:1]), r"key 'audio_lengths' has 1 rows"),
    (lambda part: part.update(id="v0$_$0"), r"key 'id' holds one str, expected a list or array of sample ids"),
    (lambda part: part.update(regression_labels=["a"] * len(part["id"])),
     r"key 'regression_labels' holds values that are not numbers"),
], ids=["short-feature", "ragged-feature", "short-lengths", "id-string", "text-labels"])
def test_a_malformed_key_is_a_format_error_naming_file_split_and_key_before_anything_is_written(tmp_path, change, words):
    data = write_mmsa_pickle(tmp_path / "corpus" / "data.pkl")
    change(data["train"])
    with open(tmp_path / "corpus" / "data.pkl", "wb") as f:
        pickle.dump(data, f)
    with pytest.raises(CorpusFormatError, match=rf"data\.pkl: split 'train' {words}"):
        extract("mmsa", tmp_path / "corpus", tmp_path / "out", extractors=[], num_workers=0)
    assert not (tmp_path / "out").exists()


def test_mmsa_pickle_nonfinite_values_follow_the_policy(tmp_path):
    """The released MOSI audio holds -inf; MMSA pickles go through the same policy as MulT's and .csd."""
    path = tmp_path / "mosi" / "Processed" / "unaligned_50.pkl"
    data = write_mmsa_pickle(path)
    data["train"]["audio"][1, 0, 2] = -np.inf
    data["train"]["audio"][1, 1, 0] = np.nan
    with open(path, "wb") as f:
        pickle.dump(data, f)
    sample_id = str(data["train"]["id"][1])
    report = extract("mmsa", tmp_path / "mosi", tmp_path / "out", extractors=[], num_workers=0)
    assert {t.name: t.errors for t in report.tables}["audio.mmsa"] == 1
    dataset = open_dataset(tmp_path / "out")
    assert dataset.manifest.extra["nonfinite_values"]["audio.mmsa"] == 2
    error = next(e for e in dataset.errors().to_pylist() if e["table"] == "audio.mmsa")
    assert error["sample_id"] == sample_id and "non-finite" in error["reason"]
    extract("mmsa", tmp_path / "mosi", tmp_path / "zero", corpus_options={"nonfinite": "zero"}, extractors=[],
            num_workers=0)
    rows = {r["sample_id"]: r for r in open_dataset(tmp_path / "zero").table("audio.mmsa").to_table().to_pylist()}
    audio = np.array(rows[sample_id]["feature"], np.float32)
    length = data["train"]["audio_lengths"][1]
    expected = data["train"]["audio"][1][:length]
    assert np.array_equal(audio, np.where(np.isfinite(expected), expected, 0))


def test_float32_labels_keep_the_value_written_not_its_float64_widening(tmp_path):
    data = write_mmsa_pickle(tmp_path / "sims" / "Processed" / "unaligned_39.pkl")
    data["train"]["regression_labels"][:2] = np.array([0.1, -0.7], np.float32)  # CH-SIMS class boundaries
    data["train"]["regression_labels_T"] = np.array([0.1] * len(data["train"]["id"]), np.float32)
    with open(tmp_path / "sims" / "Processed" / "unaligned_39.pkl", "wb") as f:
        pickle.dump(data, f)
    samples = {s.sample_id: s for s in load_corpus("mmsa", tmp_path / "sims").samples}
    first, second = samples[data["train"]["id"][0]], samples[data["train"]["id"][1]]
    assert (first.label, second.label) == (0.1, -0.7)  # float(np.float32(0.1)) is 0.10000000149011612
    assert first.extra["label_T"] == 0.1
