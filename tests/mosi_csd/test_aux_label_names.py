"""Loaders name the auxiliary labels they keep in `extra` (loader metadata `label_names` / `label_fields`,
the manifest's `extra.loader`): CMU-MOSEI's seven values per segment, other label rows of several values by
position, CH-SIMS's unimodal labels in MMSA pickles and label.csv; extra itself stays as it was."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.csd_labels import MOSEI_LABEL_NAMES, label_numbers
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.av import write_fake_mmsa, write_fake_mosi_cmu
from tests.fakes.csd import LABELS_ROOT, SDK_METADATA, frames, mmsa_split, write_mosi_csd, write_sdk_csd

MOSEI = ("sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear")
VIDEOS = ("a_b-1", "Zx9")
SEGMENTS = [(0.0, 2.0), (2.0, 4.0)]
MOSEI_METADATA = {"dataset name": "CMU-MOSEI", "computational sequence version": "1.0"}


def write_label_csd(root, name="CMU_MOSEI_Labels.csd", count=7, metadata=None):
    """COVAREP frames and a label file of `count` values per segment row (`All Labels` for 7); returns the values."""
    metadata = MOSEI_METADATA if metadata is None else metadata
    write_sdk_csd(root / "CMU_MOSEI_COVAREP.csd", "COVAREP", {v: frames(4.0, 100, 4, i) for i, v in enumerate(VIDEOS)},
                  metadata)
    values = {v: np.random.default_rng(i).uniform(-3, 3, (len(SEGMENTS), count)).astype(np.float32)
              for i, v in enumerate(VIDEOS)}
    write_sdk_csd(root / name, "All Labels", {v: (values[v], np.array(SEGMENTS)) for v in VIDEOS}, metadata)
    # float32 labels read as the decimals the file holds (`label_numbers`, as the mmsa loader reads them)
    return {f"{v}[{i}]": label_numbers(values[v][i]).tolist() for v in VIDEOS for i in range(len(SEGMENTS))}


def value_at(extra, field):
    for step in field:
        extra = extra[step]
    return extra


def test_mosei_all_labels_are_named_in_the_sdk_order_and_each_field_finds_its_value(tmp_path):
    values = write_label_csd(tmp_path)
    result = load_corpus("csd", tmp_path)
    assert result.problems == [] and result.metadata["dataset"] == "cmu-mosei"
    assert result.metadata["label_names"] == list(MOSEI) == list(MOSEI_LABEL_NAMES)
    fields = result.metadata["label_fields"]
    assert fields == {name: ["labels", i] for i, name in enumerate(MOSEI)}
    for sample in result.samples:
        assert sample.extra["labels"] == values[sample.sample_id]  # kept as before: every value, in file order
        assert sample.label == values[sample.sample_id][0]
        assert [value_at(sample.extra, fields[n]) for n in MOSEI] == values[sample.sample_id]


def test_the_names_reach_the_manifest(tmp_path):
    write_label_csd(tmp_path / "corpus")
    extract("csd", tmp_path / "corpus", tmp_path / "ds", extractors=[], num_workers=0)
    loader = open_dataset(tmp_path / "ds").manifest.extra["loader"]
    assert loader["label_names"] == list(MOSEI) and loader["label_fields"]["fear"] == ["labels", 6]


def test_rows_of_several_values_of_another_corpus_are_named_by_position(tmp_path):
    write_label_csd(tmp_path, name="CMU_MOSEI_Labels.csd", count=3)  # MOSEI, but not its seven values
    result = load_corpus("csd", tmp_path)
    assert result.metadata["label_names"] == ["label_0", "label_1", "label_2"]
    assert result.metadata["label_fields"] == {"label_0": ["labels", 0], "label_1": ["labels", 1],
                                               "label_2": ["labels", 2]}


def test_seven_values_are_mosei_s_only_when_the_corpus_is_known_to_be_mosei(tmp_path):
    values = write_label_csd(tmp_path, name="All_Labels.csd", metadata={"computational sequence version": "1.0"})
    unknown = load_corpus("csd", tmp_path)
    assert "dataset" not in unknown.metadata
    assert unknown.metadata["label_names"] == [f"label_{i}" for i in range(7)]
    named = load_corpus("csd", tmp_path, options={"dataset": "cmu-mosei"})
    assert named.metadata["label_names"] == list(MOSEI)
    assert {s.sample_id: s.extra["labels"] for s in named.samples} == values


def test_a_label_file_of_one_value_per_row_names_no_auxiliary_label(tmp_path):
    write_mosi_csd(tmp_path)
    result = load_corpus("csd", tmp_path)
    assert result.samples and "labels" not in result.samples[0].extra
    assert "label_names" not in result.metadata and "label_fields" not in result.metadata


def test_raw_mosi_clips_with_an_sdk_label_file_of_seven_mosei_values_name_them(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    rows = {"a_b-1": np.arange(14, dtype=np.float32).reshape(2, 7) / 7, "Xy9": np.full((1, 7), 0.5, np.float32)}
    spans = {"a_b-1": np.array([[2.0, 2.5], [2.5, 3.0]]), "Xy9": np.array([[10.0, 10.5]])}
    write_sdk_csd(fake.root / "CMU_MOSEI_Labels.csd", LABELS_ROOT, {v: (rows[v], spans[v]) for v in rows},
                  {**SDK_METADATA, "dataset name": "CMU-MOSEI"})
    result = load_corpus("mosi-raw", fake.root, options={"labels_file": "CMU_MOSEI_Labels.csd"})
    assert result.metadata["label_names"] == list(MOSEI)
    fields = result.metadata["label_fields"]
    samples = {s.sample_id: s for s in result.samples}
    assert [value_at(samples["a_b-1_2"].extra, fields[n]) for n in MOSEI] == label_numbers(rows["a_b-1"][1]).tolist()
    assert samples["a_b-1_2"].extra["labels"] == label_numbers(rows["a_b-1"][1]).tolist()


def test_raw_mosi_clips_with_a_one_value_sdk_label_file_name_none(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    write_sdk_csd(fake.root / "CMU_MOSI_Opinion_Labels.csd", LABELS_ROOT, {
        "a_b-1": (np.array([[1.0], [2.0]], np.float32), np.array([[2.0, 2.5], [2.5, 3.0]])),
        "Xy9": (np.array([[0.5]], np.float32), np.array([[10.0, 10.5]]))})
    result = load_corpus("mosi-raw", fake.root, options={"labels_file": "CMU_MOSI_Opinion_Labels.csd"})
    assert result.samples and "label_names" not in result.metadata


def write_sims_pickle(path, unimodal):
    """An MMSA pickle whose splits hold the unimodal label keys `unimodal[split]` (e.g. ('T', 'A'))."""
    data = {split: mmsa_split(split, n, seed) for seed, (split, n) in enumerate({"train": 3, "valid": 1, "test": 2}.items())}
    for split, part in data.items():
        for modality in unimodal.get(split, ()):
            part[f"regression_labels_{modality}"] = np.linspace(-1, 1, len(part["id"]), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(data))
    return data


def test_mmsa_names_the_unimodal_labels_its_samples_hold_in_t_a_v_order(tmp_path):
    write_sims_pickle(tmp_path / "Processed" / "unaligned_39.pkl", {"train": "VT", "valid": "T", "test": ""})
    result = load_corpus("mmsa", tmp_path)
    assert result.metadata["label_names"] == ["label_T", "label_V"]  # no split holds label_A
    assert result.metadata["label_fields"] == {"label_T": ["label_T"], "label_V": ["label_V"]}
    by_split = {s.split: s.extra for s in result.samples}
    assert "label_T" in by_split["valid"] and "label_V" not in by_split["valid"] and "label_T" not in by_split["test"]
    train = [s for s in result.samples if s.split == "train"]
    assert [s.extra["label_V"] for s in train] == pytest.approx([-1.0, 0.0, 1.0])


def test_mmsa_without_unimodal_labels_names_none(tmp_path):
    write_sims_pickle(tmp_path / "unaligned_50.pkl", {})
    result = load_corpus("mmsa", tmp_path)
    assert result.samples and "label_names" not in result.metadata
    assert "classification_label" in result.samples[0].extra  # kept in extra, not a named auxiliary label


def test_mmsa_raw_label_csv_names_the_unimodal_columns_that_have_values(tmp_path):
    fake = write_fake_mmsa(tmp_path / "sims")
    result = load_corpus("mmsa-raw", fake.root)
    assert result.metadata["label_names"] == ["label_T", "label_A", "label_V"]
    samples = {s.sample_id: s.extra for s in result.samples}
    assert (samples["video_0001$_$0001"]["label_T"], samples["video_0001$_$0001"]["label_A"]) == (-1.0, -0.6)
    lines = (fake.root / "label.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    blank = [",".join("" if header[i] == "label_A" else cell for i, cell in enumerate(line.split(","))) for line in lines[1:]]
    (fake.root / "label.csv").write_text("\n".join([lines[0], *blank]) + "\n", encoding="utf-8")
    assert load_corpus("mmsa-raw", fake.root).metadata["label_names"] == ["label_T", "label_V"]
