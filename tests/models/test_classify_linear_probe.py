"""`mmdata train classify`: a linear probe on the class ids of a fused export (`fuse --class-label`), scored well
above chance on a corpus whose classes its words tell apart, with metrics equal to a NumPy recomputation from
the probe's logits, the same in every export format and on a rerun; exports it cannot train on are refused in
one line."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion import fuse, read_fused_metadata
from mmdata.models.classify_probe import C_GRID
from mmdata.models.classify_recipe import ClassifyRecipeConfig, run_classify_recipe
from mmdata.pipeline import extract

CLASSES = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen"]
FILLER = ["the", "a", "small", "big", "one", "seen", "here", "there", "old", "new"]
SPLITS = {"train": 96, "val": 32, "test": 48}
runner = CliRunner()


def write_corpus(root, splits=SPLITS, classes=CLASSES, *, noise=0.2, seed=0):
    """A text manifest: each row names its class's animal among filler words; `noise` of the rows name another."""
    rng = np.random.default_rng(seed)
    rows = []
    for split, count in splits.items():
        for i in range(count):
            name = classes[i % len(classes)]
            said = classes[rng.integers(len(classes))] if rng.random() < noise else name
            words = [*rng.choice(FILLER, 3), said]
            rng.shuffle(words)
            rows.append({"id": f"{split}-{i:03d}", "text": " ".join(words), "split": split, "class": name})
    root.mkdir(parents=True)
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def animals(tmp_path_factory):
    """The dataset extracted from the animal corpus, with hashed bags of words."""
    root = tmp_path_factory.mktemp("animals")
    extract("manifest", write_corpus(root / "corpus"), root / "ds", extractors=["hashed-bow:dim=64"], num_workers=0)
    return root / "ds"


@pytest.fixture(scope="module")
def animals_export(animals, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "fused"
    fuse(animals, out, format="parquet", class_label="class")
    return out


def export_rows(export_dir, split):
    """(sample ids, features (n, D) float64, class ids) of a Parquet export's split, read with pyarrow alone."""
    import pyarrow.parquet as pq

    metadata = read_fused_metadata(export_dir)
    table = pa.concat_tables([pq.read_table(export_dir / f) for f in metadata["files"][split]])
    features = np.stack(table.column("feature").to_numpy(zero_copy_only=False)).astype(np.float64)
    return np.array(table.column("sample_id").to_pylist()), features, table.column("class_id").to_numpy()


def test_the_probe_beats_chance_and_its_metrics_equal_a_numpy_recomputation(animals_export, tmp_path):
    report = run_classify_recipe(animals_export, tmp_path / "metrics.json")
    saved = json.loads((tmp_path / "metrics.json").read_text())
    probe = report.probe
    for split in ("val", "test"):
        ids, x, truth = export_rows(animals_export, split)
        logits = x @ probe.coef_.T + probe.intercept_
        top = probe.classes_[np.argsort(-logits, axis=1, kind="stable")[:, :5]]
        predictions = report.predictions[split]
        assert (predictions["sample_id"] == ids).all() and (predictions["class_id"] == truth).all()
        assert (predictions["top"] == top).all()
        expected = {"acc": np.mean(top[:, 0] == truth), "top5": np.mean((top == truth[:, None]).any(axis=1)),
                    "macro_f1": f1_score(truth, top[:, 0], average="macro"),
                    "weighted_f1": f1_score(truth, top[:, 0], average="weighted"),
                    "balanced_acc": balanced_accuracy_score(truth, top[:, 0])}
        row = report.row("linear", split)
        assert row.metrics == pytest.approx(expected, abs=1e-12)
        assert next(r for r in saved["results"] if r["model"] == "linear" and r["details"]["split"] == split)["metrics"] \
            == pytest.approx(expected, abs=1e-12)
        support = {CLASSES[c]: int(n) for c, n in zip(*np.unique(truth, return_counts=True))}
        assert {name: v["support"] for name, v in saved["per_class"][split].items()} == support
        f1s = f1_score(truth, top[:, 0], average=None, labels=np.unique(truth))
        assert [v["f1"] for v in saved["per_class"][split].values()] == pytest.approx(list(f1s))
    chance = 1 / len(CLASSES)
    assert report.row("linear", "test").metrics["acc"] > 0.6 > 3 * chance
    assert report.row("majority", "test").metrics["acc"] == pytest.approx(chance)
    assert report.row("linear", "test").metrics["top5"] > report.row("linear", "test").metrics["acc"]


def test_the_l2_strength_is_chosen_on_the_validation_split(animals_export):
    report = run_classify_recipe(animals_export)
    search = report.info["probe"]
    assert search["chosen_on"] == "val" and search["grid"] == list(C_GRID)
    best = max(search["valid_accuracy"].values())
    assert search["C"] == min(c for c in C_GRID if search["valid_accuracy"][str(c)] == best)
    assert probe_c(report) == search["C"]
    assert any("chosen on 'val' accuracy" in note for note in report.info["notes"])


def probe_c(report):
    return report.probe.get_params()["C"]


def test_without_a_validation_split_c_is_the_default_and_said_so(animals_export):
    report = run_classify_recipe(animals_export, config=ClassifyRecipeConfig(test_split="val"))
    assert report.info["splits"] == {"train": "train", "valid": None, "test": "val"}
    assert report.info["probe"]["C"] == 1.0 and report.info["probe"]["chosen_on"] is None
    assert report.info["notes"][0].startswith("C = 1 (no validation split to choose it on")


def scores(export_dir):
    """Each result row's model, split, metrics and C (its training time left out)."""
    return [(r["model"], r["details"], r["metrics"]) for r in run_classify_recipe(export_dir).to_json()["results"]]


def test_every_format_and_a_rerun_give_the_same_metrics(animals, animals_export, tmp_path):
    reference = scores(animals_export)
    for fmt in ("arrow", "hf", "npy"):
        fuse(animals, tmp_path / fmt, format=fmt, class_label="class")
        assert scores(tmp_path / fmt) == reference, fmt
    assert scores(animals_export) == reference


def test_cli_prints_a_table_per_split_and_writes_the_json_to_stdout(animals_export):
    result = runner.invoke(app, ["train", "classify", str(animals_export), "--json", "-"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["recipe"] == "classify" and metrics["classes"] == CLASSES
    assert metrics["rows"] == SPLITS
    assert "split 'val' (32 rows):" in result.stderr and "split 'test' (48 rows):" in result.stderr
    assert "Macro-F1  Weighted-F1  Bal-Acc" in result.stderr and "linear" in result.stderr


def test_an_export_without_class_ids_is_refused_saying_to_fuse_with_class_label(animals, tmp_path):
    fuse(animals, tmp_path / "plain", format="npy")
    result = runner.invoke(app, ["train", "classify", str(tmp_path / "plain")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "has no class_id column" in result.stderr and "--class-label NAME" in result.stderr


def test_a_train_split_of_one_class_is_refused(tmp_path):
    root = write_corpus(tmp_path / "corpus", {"train": 6, "test": 4}, ["ant"], noise=0)
    extract("manifest", root, tmp_path / "ds", extractors=["hashed-bow:dim=8"], num_workers=0)
    fuse(tmp_path / "ds", tmp_path / "fused", class_label="class", normalize="none")
    with pytest.raises(DatasetError, match=r"split 'train' of .*: all 6 rows with a class are 'ant'; a classifier "
                                           "needs at least two classes"):
        run_classify_recipe(tmp_path / "fused")


def test_an_export_with_no_split_to_score_is_refused(tmp_path):
    root = write_corpus(tmp_path / "corpus", {"train": 8}, ["ant", "bee"])
    extract("manifest", root, tmp_path / "ds", extractors=["hashed-bow:dim=8"], num_workers=0)
    fuse(tmp_path / "ds", tmp_path / "fused", class_label="class")
    with pytest.raises(DatasetError, match="has no split to score the probe on besides 'train'"):
        run_classify_recipe(tmp_path / "fused")
    with pytest.raises(DatasetError, match="has no row with a class in split 'trian'"):
        run_classify_recipe(tmp_path / "fused", config=ClassifyRecipeConfig(train_split="trian"))


def test_rows_without_a_class_are_left_out_and_counted(tmp_path):
    root = write_corpus(tmp_path / "corpus", {"train": 16, "test": 8}, ["ant", "bee"], noise=0)
    lines = (root / "manifest.jsonl").read_text().splitlines()
    row = json.loads(lines[-1])
    del row["class"]
    (root / "manifest.jsonl").write_text("\n".join([*lines[:-1], json.dumps(row)]) + "\n")
    extract("manifest", root, tmp_path / "ds", extractors=["hashed-bow:dim=8"], num_workers=0)
    fuse(tmp_path / "ds", tmp_path / "fused", class_label="class", missing_class="keep")
    report = run_classify_recipe(tmp_path / "fused")
    assert report.info["rows"] == {"train": 16, "test": 7}
    assert report.info["rows_without_class"] == {"test": 1}
    assert "rows without a class (class_id -1) left out: test 1" in report.text()


def test_the_same_split_twice_is_refused():
    with pytest.raises(ConfigError, match="the train, validation and test splits must differ"):
        ClassifyRecipeConfig(valid_split="train")
