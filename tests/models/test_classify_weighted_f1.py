"""`train classify` reports weighted-F1 (each class's F1 weighted by its support, the figure MELD and IEMOCAP
results give) beside accuracy, top-5 and macro-F1: equal to scikit-learn's `f1_score(average='weighted')` on the
probe's predictions and on the majority row's, in the table, its legend, the JSON and its definitions; on
classes of unequal support it differs from macro-F1. And balanced accuracy (the mean recall per class, the UA of
speech emotion results): scikit-learn's `balanced_accuracy_score`."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score

from mmdata.fusion import fuse
from mmdata.models.classify_probe import classification_metrics
from mmdata.models.classify_recipe import CLASSIFY_COLUMNS, CLASSIFY_DEFINITIONS, run_classify_recipe
from mmdata.pipeline import extract

#: Classes of unequal support: weighted-F1 and macro-F1 then differ.
SHARES = {"ant": 6, "bee": 3, "cat": 2, "dog": 1}
FILLER = ["the", "a", "small", "big", "one", "seen", "here", "there"]
SPLITS = {"train": 8, "val": 3, "test": 4}  # times sum(SHARES) rows


def write_corpus(root, *, noise=0.35, seed=1):
    """A text manifest: each row names its class's animal among filler words; `noise` of the rows name another."""
    rng = np.random.default_rng(seed)
    names = [name for name, share in SHARES.items() for _ in range(share)]
    rows = []
    for split, repeats in SPLITS.items():
        for i, name in enumerate(names * repeats):
            said = names[rng.integers(len(names))] if rng.random() < noise else name
            words = [*rng.choice(FILLER, 3), said]
            rows.append({"id": f"{split}-{i:03d}", "text": " ".join(words), "split": split, "class": name})
    root.mkdir(parents=True)
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def report_and_json(tmp_path_factory):
    """The probe's report on the fused corpus, and the metrics JSON it wrote."""
    root = tmp_path_factory.mktemp("weighted")
    extract("manifest", write_corpus(root / "corpus"), root / "ds", extractors=["hashed-bow:dim=32"], num_workers=0)
    fuse(root / "ds", root / "fused", format="parquet", class_label="class")
    report = run_classify_recipe(root / "fused", root / "metrics.json")
    return report, json.loads((root / "metrics.json").read_text())


def saved_metrics(saved, model, split):
    return next(r for r in saved["results"] if r["model"] == model and r["details"]["split"] == split)["metrics"]


def test_weighted_f1_equals_sklearn_on_the_probes_predictions(report_and_json):
    report, saved = report_and_json
    for split in ("val", "test"):
        rows = report.predictions[split]
        expected = f1_score(rows["class_id"], rows["top"][:, 0], average="weighted")
        assert report.row("linear", split).metrics["weighted_f1"] == pytest.approx(expected, abs=1e-12)
        assert saved_metrics(saved, "linear", split)["weighted_f1"] == pytest.approx(expected, abs=1e-12)
    test = report.row("linear", "test").metrics
    assert 0 < test["weighted_f1"] < 1 and abs(test["weighted_f1"] - test["macro_f1"]) > 1e-3  # unequal supports


def test_the_weighted_f1_is_the_per_class_f1_weighted_by_support(report_and_json):
    _, saved = report_and_json
    for split in ("val", "test"):
        per_class = saved["per_class"][split]
        support = np.array([v["support"] for v in per_class.values()])
        f1 = np.array([v["f1"] for v in per_class.values()])
        assert saved_metrics(saved, "linear", split)["weighted_f1"] == pytest.approx(f1 @ support / support.sum())


def test_the_majority_rows_weighted_f1_is_sklearns_for_always_the_most_frequent_train_class(report_and_json):
    report, saved = report_and_json
    most_frequent = report.info["classes"].index("ant")  # 6 of every 12 train rows
    for split in ("val", "test"):
        truth = report.predictions[split]["class_id"]
        expected = f1_score(truth, np.full(len(truth), most_frequent), average="weighted")
        share = np.mean(truth == most_frequent)  # its F1 is 2 share / (1 + share), weighted by its share
        assert expected == pytest.approx(share * 2 * share / (1 + share))
        assert report.row("majority", split).metrics["weighted_f1"] == pytest.approx(expected, abs=1e-12)
        assert saved_metrics(saved, "majority", split)["weighted_f1"] == pytest.approx(expected, abs=1e-12)


def test_the_table_legend_and_json_carry_weighted_f1_beside_the_other_metrics(report_and_json):
    report, saved = report_and_json
    assert CLASSIFY_COLUMNS == [("acc", "Acc"), ("top5", "Top-5"), ("macro_f1", "Macro-F1"),
                                ("weighted_f1", "Weighted-F1"), ("balanced_acc", "Bal-Acc")]
    header = report.table().splitlines()[1].split()
    assert header == ["model", "kind", "modalities", "Acc", "Top-5", "Macro-F1", "Weighted-F1", "Bal-Acc"]
    linear = report.table().split("split 'test'", 1)[1].splitlines()[-1].split()
    metrics = report.row('linear', 'test').metrics
    assert linear[-2:] == [f"{100 * metrics['weighted_f1']:.1f}", f"{100 * metrics['balanced_acc']:.1f}"]  # in %
    assert "Weighted-F1 (F1 weighted by class support) and Bal-Acc (mean recall per class: UA) in %" in report.text()
    for row in saved["results"]:
        assert set(row["metrics"]) == {"acc", "top5", "macro_f1", "weighted_f1", "balanced_acc"}
    assert saved["metric_definitions"] == CLASSIFY_DEFINITIONS
    assert "average='weighted'" in saved["metric_definitions"]["weighted_f1"]


@pytest.mark.parametrize("truth, predicted", [
    ([0, 0, 0, 1, 2, 2], [0, 0, 1, 1, 2, 0]),
    ([0, 0, 0, 0, 1], [3, 0, 0, 0, 3]),  # class 3 only predicted: it weighs 0, as in scikit-learn
    ([1, 1, 1], [1, 1, 1]),
    ([0, 1, 2], [2, 0, 1]),
])
def test_classification_metrics_weighted_f1_matches_sklearn(truth, predicted):
    truth, predicted = np.array(truth), np.array(predicted)
    metrics = classification_metrics(truth, predicted[:, None], known=4)
    assert metrics["weighted_f1"] == pytest.approx(f1_score(truth, predicted, average="weighted", zero_division=0))
    assert metrics["macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro", zero_division=0))
    assert metrics["balanced_acc"] == pytest.approx(balanced_accuracy_score(truth, predicted))


def test_balanced_accuracy_equals_sklearn_for_the_probe_and_the_majority_row(report_and_json):
    report, saved = report_and_json
    most_frequent = report.info["classes"].index("ant")
    for split in ("val", "test"):
        rows = report.predictions[split]
        truth = rows["class_id"]
        expected = balanced_accuracy_score(truth, rows["top"][:, 0])
        assert saved_metrics(saved, "linear", split)["balanced_acc"] == pytest.approx(expected, abs=1e-12)
        majority = balanced_accuracy_score(truth, np.full(len(truth), most_frequent))
        assert majority == pytest.approx(1 / len(np.unique(truth)))  # one class fully recalled, the others never
        assert saved_metrics(saved, "majority", split)["balanced_acc"] == pytest.approx(majority, abs=1e-12)
    assert "balanced_accuracy_score" in saved["metric_definitions"]["balanced_acc"]
