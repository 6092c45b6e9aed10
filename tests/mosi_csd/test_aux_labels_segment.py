"""Auxiliary label names through `mmdata segment` (the SDK's canonical pipeline: whole videos aligned to
words, then cut into the label file's segments) and through `mosi-raw`'s `dataset` option."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import pyarrow.parquet as pq

from mmdata.alignment import segment_dataset
from mmdata.alignment.dataset import align_dataset
from mmdata.corpora import load_corpus
from mmdata.corpora.csd_labels import MOSEI_LABEL_NAMES
from mmdata.fusion import fuse
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.av import write_fake_mosi_cmu
from tests.fakes.csd import LABELS_ROOT, SDK_METADATA, SEGMENTS, write_mosi_csd, write_sdk_csd


def _seven_values(videos):
    """MOSEI-like `All Labels` rows (sentiment, then six emotions in [0, 3]) at the fake's segments."""
    rng = np.random.default_rng(3)
    data = {}
    for v in videos:
        spans = np.array([[a, b] for a, b, _ in SEGMENTS[v]])
        values = np.concatenate([rng.uniform(-3, 3, (len(spans), 1)), rng.uniform(0, 3, (len(spans), 6))], axis=1)
        data[v] = (values.astype(np.float32), spans)
    return data


def test_segmenting_with_a_mosei_label_file_names_its_seven_labels_and_fuse_exports_them(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    videos = tmp_path / "videos"
    extract("csd", fake.root, videos, extractors=[], num_workers=0)
    align_dataset(videos, "text.words", collapse="mean")
    assert "label_names" not in open_dataset(videos).manifest.extra.get("loader", {})  # whole videos: no labels
    data = _seven_values(["abc", "abcd", "x9Y_z-1"])
    labels = tmp_path / "CMU_MOSEI_Labels.csd"
    write_sdk_csd(labels, "All Labels", data, {**SDK_METADATA, "dataset name": "CMU-MOSEI"})
    segment_dataset(videos, tmp_path / "cut", labels)
    loader = open_dataset(tmp_path / "cut").manifest.extra["loader"]
    assert loader["label_names"] == list(MOSEI_LABEL_NAMES) and loader["label_fields"]["fear"] == ["labels", 6]
    fuse(tmp_path / "cut", tmp_path / "fused", tables=["audio.covarep@text.words"], labels="happy,fear",
         normalize="none")
    rows = pq.read_table(tmp_path / "fused" / "data").to_pylist()
    expected = {f"{v}[{i}]": values[i] for v, (values, _) in data.items() for i in range(len(values))}
    assert rows and all(np.isclose(r["label_happy"], expected[r["sample_id"]][1]) for r in rows)
    assert all(np.isclose(r["label_fear"], expected[r["sample_id"]][6]) for r in rows)


def test_a_one_value_label_file_leaves_the_source_names_out_of_the_segmented_dataset(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    videos = tmp_path / "videos"
    extract("csd", fake.root, videos, extractors=[], corpus_options={"labels": "none"}, num_workers=0)
    align_dataset(videos, "text.words", collapse="mean")
    manifest = open_dataset(videos).manifest
    manifest.extra["loader"].update(label_names=["stale"], label_fields={"stale": ["labels", 1]})
    from mmdata.store.manifest import write_manifest

    write_manifest(videos, manifest)
    segment_dataset(videos, tmp_path / "cut", fake.root / "CMU_MOSI_Opinion_Labels.csd")
    loader = open_dataset(tmp_path / "cut").manifest.extra["loader"]
    assert "label_names" not in loader and "label_fields" not in loader


def test_mosi_raw_passes_its_dataset_option_to_an_sdk_label_file(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    rows = {"a_b-1": np.full((2, 7), 0.5, np.float32), "Xy9": np.full((1, 7), 1.0, np.float32)}
    spans = {"a_b-1": np.array([[2.0, 2.5], [2.5, 3.0]]), "Xy9": np.array([[10.0, 10.5]])}
    # A label file whose name and metadata say nothing of MOSEI: the option says it.
    write_sdk_csd(fake.root / "labels.csd", LABELS_ROOT, {v: (rows[v], spans[v]) for v in rows}, SDK_METADATA)
    plain = load_corpus("mosi-raw", fake.root, options={"labels_file": "labels.csd"})
    assert plain.metadata["label_names"] == [f"label_{i}" for i in range(7)]
    named = load_corpus("mosi-raw", fake.root, options={"labels_file": "labels.csd", "dataset": "cmu-mosei"})
    assert named.metadata["label_names"] == list(MOSEI_LABEL_NAMES)


def test_info_lists_the_labels_fuse_can_export(tmp_path):
    import json

    from typer.testing import CliRunner

    from mmdata.cli import app

    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    write_sdk_csd(fake.root / "CMU_MOSEI_Labels.csd", "All Labels", _seven_values(["abc", "abcd", "x9Y_z-1"]),
                  {**SDK_METADATA, "dataset name": "CMU-MOSEI"})
    extract("csd", fake.root, tmp_path / "ds", extractors=[], num_workers=0)
    runner = CliRunner()
    shown = runner.invoke(app, ["info", str(tmp_path / "ds")])
    assert shown.exit_code == 0
    assert "labels besides label (fuse --labels): sentiment, happy, sad, anger, surprise, disgust, fear" in shown.output
    listed = json.loads(runner.invoke(app, ["info", str(tmp_path / "ds"), "--json"]).output)
    assert listed["samples"]["aux_labels"] == list(MOSEI_LABEL_NAMES)


def test_a_raw_labels_csv_keeps_its_further_number_columns_as_named_labels(tmp_path, caplog):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    lines = (fake.root / "labels.csv").read_text().splitlines()
    rows = [line + (",2.5,,note" if i % 2 else ",0,1,x") for i, line in enumerate(lines[1:])]
    (fake.root / "labels.csv").write_text("\n".join([lines[0] + ",happy,fear,comment", *rows]) + "\n")
    result = load_corpus("mosi-raw", fake.root)
    assert result.metadata["label_names"] == ["happy", "fear"]
    assert result.metadata["label_fields"] == {"happy": ["happy"], "fear": ["fear"]}
    by_id = {s.sample_id: s for s in result.samples}
    first, second = (lines[1].split(",")[0], lines[2].split(",")[0])
    assert (by_id[first].extra["happy"], by_id[first].extra["fear"]) == (0.0, 1.0)
    assert by_id[second].extra["happy"] == 2.5 and "fear" not in by_id[second].extra  # empty: no value
    assert "comment" not in by_id[first].extra
    assert "['comment'] hold values that are no numbers" in caplog.text
    extract("mosi-raw", fake.root, tmp_path / "ds", extractors=[], num_workers=0)
    assert open_dataset(tmp_path / "ds").manifest.extra["loader"]["label_names"] == ["happy", "fear"]


def test_the_share_card_names_the_further_labels_and_where_they_lie(tmp_path):
    from mmdata.share import share_dataset

    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    write_sdk_csd(fake.root / "CMU_MOSEI_Labels.csd", "All Labels", _seven_values(["abc", "abcd", "x9Y_z-1"]),
                  {**SDK_METADATA, "dataset name": "CMU-MOSEI"})
    extract("csd", fake.root, tmp_path / "ds", extractors=[], num_workers=0)
    share_dataset(tmp_path / "ds", tmp_path / "shared")
    card = (tmp_path / "shared" / "README.md").read_text()
    assert "further labels: `sentiment` (`extra['labels'][0]`), `happy` (`extra['labels'][1]`)" in card
    assert "`fear` (`extra['labels'][6]`); `mmdata fuse --labels` exports them" in card
    assert "sources" in open_dataset(tmp_path / "ds").manifest.extra  # the producer's corpus files ...
    assert "sources" not in open_dataset(tmp_path / "shared").manifest.extra  # ... are not shared


def test_mult_labels_of_several_values_are_named_by_position_and_fuse_exports_them(tmp_path):
    """An IEMOCAP-shaped MulT pickle whose (4, 2) label pairs are not one-hot (random 0/1 values): kept
    whole in extra["labels"] and named by position, since they are not MulT's emotion pairs."""
    import pickle

    from tests.fakes.csd import mult_split

    data = {s: mult_split(s, n, k) for k, (s, n) in enumerate({"train": 4, "valid": 2, "test": 2}.items())}
    for k, part in enumerate(data.values()):
        part["labels"] = np.random.default_rng(k).integers(0, 2, size=(len(part["id"]), 4, 2)).astype(np.float32)
    (tmp_path / "mult").mkdir()
    with open(tmp_path / "mult" / "iemocap_data.pkl", "wb") as f:
        pickle.dump(data, f, protocol=2)
    result = load_corpus("mult", tmp_path / "mult")
    names = [f"label_{i}_{j}" for i in range(4) for j in range(2)]
    assert result.metadata["label_names"] == names and result.metadata["label_fields"]["label_2_1"] == ["labels", 2, 1]
    assert re.fullmatch(r"IEMOCAP label pairs are not all one-hot \(\['train'\]\['labels'\]\[\d\]\[\d\] = "
                        r"\[\d\.0, \d\.0\]\): named by position", result.metadata["labels"])
    extract("mult", tmp_path / "mult", tmp_path / "ds", extractors=[], num_workers=0)
    fuse(tmp_path / "ds", tmp_path / "fused", labels="label_2_1,label_3_0", missing="zero", normalize="none")
    rows = {r["sample_id"]: r for r in pq.read_table(tmp_path / "fused" / "data").to_pylist()}
    for split, part in data.items():
        for k, raw in enumerate(part["id"]):
            sample_id = "_".join(v.decode() for v in raw)
            assert (rows[sample_id]["label_2_1"], rows[sample_id]["label_3_0"]) == \
                   (float(part["labels"][k, 2, 1]), float(part["labels"][k, 3, 0]))


def _iemocap_pickle(folder: Path, name: str = "iemocap_data.pkl") -> dict:
    """A MulT IEMOCAP pickle: labels (N, 4, 2), one one-hot (absent, present) pair per emotion."""
    import pickle

    from tests.fakes.csd import mult_split

    data = {s: mult_split(s, n, k) for k, (s, n) in enumerate({"train": 6, "valid": 2, "test": 3}.items())}
    for k, part in enumerate(data.values()):
        present = np.random.default_rng(k).integers(0, 2, size=(len(part["id"]), 4))
        part["labels"] = np.stack([1 - present, present], axis=-1).astype(np.float32)
    folder.mkdir(parents=True)
    with open(folder / name, "wb") as f:
        pickle.dump(data, f, protocol=2)
    return data


def test_mult_iemocap_labels_are_named_by_emotion_and_fuse_exports_what_mult_trains_on(tmp_path):
    """MulT's order (eval_iemocap: Neutral, Happy, Sad, Angry), each emotion's label the argmax of its
    pair, as MulT's loader takes it."""
    data = _iemocap_pickle(tmp_path / "mult")
    result = load_corpus("mult", tmp_path / "mult")
    assert result.metadata["label_names"] == ["neutral", "happy", "sad", "angry"]
    assert result.metadata["label_fields"]["sad"] == ["labels", 2, 1] and "labels" not in result.metadata
    extract("mult", tmp_path / "mult", tmp_path / "ds", extractors=[], num_workers=0)
    fuse(tmp_path / "ds", tmp_path / "fused", labels="all", missing="zero", normalize="none")
    rows = {r["sample_id"]: r for r in pq.read_table(tmp_path / "fused" / "data").to_pylist()}
    for part in data.values():
        for k, raw in enumerate(part["id"]):
            row = rows["_".join(v.decode() for v in raw)]
            exported = [row[f"label_{name}"] for name in ("neutral", "happy", "sad", "angry")]
            assert exported == np.argmax(part["labels"][k], axis=-1).astype(float).tolist()


def test_mult_labels_of_iemocap_shape_in_a_file_of_another_name_keep_positional_names(tmp_path):
    _iemocap_pickle(tmp_path / "mult", name="my_labels.pkl")
    assert load_corpus("mult", tmp_path / "mult").metadata["label_names"][:2] == ["label_0_0", "label_0_1"]


def test_a_further_label_that_is_not_finite_is_refused_like_the_label_naming_its_line(tmp_path):
    from mmdata.errors import CorpusFormatError

    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    lines = (fake.root / "labels.csv").read_text().splitlines()
    rows = [line + (",inf" if i == 1 else ",0.5") for i, line in enumerate(lines[1:])]
    (fake.root / "labels.csv").write_text("\n".join([lines[0] + ",happy", *rows]) + "\n")
    with pytest.raises(CorpusFormatError, match=r"labels\.csv:3: happy 'inf' is not finite; expected a number"):
        load_corpus("mosi-raw", fake.root)
