"""`mmdata train classify` on a multi-label export (`fuse --class-label genres` over lists): one-vs-rest logistic
regression whose mAP is well above the positive-rate baseline on a corpus whose words tell the genres apart,
with mAP, micro-F1, macro-F1 and per-class AP equal to a scikit-learn recomputation from the probe's scores,
the same in every export format; classes no train row holds are noted and left out; exports it cannot train
on are refused in one line."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import average_precision_score, f1_score
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.fusion import fuse, read_fused_metadata
from mmdata.models.classify_recipe import ClassifyRecipeConfig, run_classify_recipe
from mmdata.pipeline import extract

GENRES = ["action", "comedy", "drama", "horror", "romance", "western"]
FILLER = ["the", "a", "film", "story", "old", "new", "long", "short", "about", "one"]
SPLITS = {"train": 120, "val": 40, "test": 60}
runner = CliRunner()


def genre_rows(splits=SPLITS, genres=GENRES, *, noise=0.15, seed=0, rare=None):
    """Rows whose text says most of their genres among filler words; each genre held with probability 0.3.
    `rare` names a genre only the test split holds."""
    rng = np.random.default_rng(seed)
    rows = []
    for split, count in splits.items():
        for i in range(count):
            held = [g for g in genres if g != rare and rng.random() < 0.3]
            if rare and split == "test" and i % 6 == 0:
                held.append(rare)
            said = [g for g in held if rng.random() > noise] + [g for g in genres if rng.random() < noise / 5]
            words = [*rng.choice(FILLER, 4), *said]
            rng.shuffle(words)
            rows.append({"id": f"{split}-{i:03d}", "text": " ".join(words), "split": split, "genres": held})
    return rows


def dataset_of(root, rows):
    root.mkdir(parents=True)
    (root / "corpus").mkdir()
    (root / "corpus" / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    extract("manifest", root / "corpus", root / "ds", extractors=["hashed-bow:dim=64"], num_workers=0)
    return root / "ds"


@pytest.fixture(scope="module")
def genres_dataset(tmp_path_factory):
    return dataset_of(tmp_path_factory.mktemp("genres") / "g", genre_rows())


@pytest.fixture(scope="module")
def genres_export(genres_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "fused"
    fuse(genres_dataset, out, format="parquet", class_label="genres")
    return out


def export_rows(export_dir, split):
    """(sample ids, features (n, D) float64, targets (n, C)) of a Parquet export's split, read with pyarrow alone."""
    metadata = read_fused_metadata(export_dir)
    table = pa.concat_tables([pq.read_table(export_dir / f) for f in metadata["files"][split]])
    features = np.stack(table.column("feature").to_numpy(zero_copy_only=False)).astype(np.float64)
    targets = np.array(table.column("class_targets").to_pylist())
    return np.array(table.column("sample_id").to_pylist()), features, targets


def test_the_probe_beats_the_positive_rate_and_its_metrics_equal_a_sklearn_recomputation(genres_export, tmp_path):
    report = run_classify_recipe(genres_export, tmp_path / "metrics.json")
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["multi_label"] is True and saved["learned_classes"] == GENRES == saved["classes"]
    coef = np.stack([e.coef_[0] for e in report.probe.estimators_])
    intercept = np.array([e.intercept_[0] for e in report.probe.estimators_])
    for split in ("val", "test"):
        ids, x, truth = export_rows(genres_export, split)
        scores = x @ coef.T + intercept
        np.testing.assert_allclose(report.predictions[split]["scores"], scores, rtol=1e-9, atol=1e-9)
        assert (report.predictions[split]["sample_id"] == ids).all()
        ap = [average_precision_score(truth[:, k], scores[:, k]) for k in range(len(GENRES))]
        predicted = (1 / (1 + np.exp(-scores)) > 0.5).astype(int)
        expected = {"map": np.mean(ap), "micro_f1": f1_score(truth, predicted, average="micro"),
                    "macro_f1": f1_score(truth, predicted, average="macro")}
        linear = report.row("linear", split).metrics
        assert linear == pytest.approx(expected, abs=1e-12)
        saved_row = next(r for r in saved["results"] if r["model"] == "linear" and r["details"]["split"] == split)
        assert saved_row["metrics"] == pytest.approx(expected, abs=1e-12)
        prior = report.row("prior", split).metrics
        assert prior["map"] == pytest.approx(truth.mean(axis=0).mean(), abs=1e-12)  # AP of a constant: the positive rate
        assert linear["map"] > prior["map"] + 0.35 and linear["map"] > 0.7 and linear["micro_f1"] > 0.6
        per_class = saved["per_class"][split]
        assert [per_class[g]["ap"] for g in GENRES] == pytest.approx(ap, abs=1e-12)
        assert [per_class[g]["support"] for g in GENRES] == truth.sum(axis=0).astype(int).tolist()
    assert saved["probe"]["C"] in saved["probe"]["grid"]
    assert set(saved["probe"]["valid_map"]) == {"0.01", "0.1", "1.0", "10.0", "100.0"}
    assert "mAP" in report.text() and "prior" in report.text()


@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
def test_every_export_format_gives_the_metrics_of_the_parquet_export(genres_dataset, genres_export, tmp_path, fmt):
    fuse(genres_dataset, tmp_path / "fused", format=fmt, class_label="genres")
    reference = run_classify_recipe(genres_export)
    report = run_classify_recipe(tmp_path / "fused")
    for row, expected in zip(report.rows, reference.rows, strict=True):
        assert (row.model, row.details["split"]) == (expected.model, expected.details["split"])
        assert row.metrics == pytest.approx(expected.metrics, abs=1e-9)
    assert report.info["per_class"] == reference.info["per_class"]


def test_a_class_no_train_row_holds_is_noted_and_left_out_of_every_figure(tmp_path):
    dataset = dataset_of(tmp_path / "rare", genre_rows(rare="western"))
    fuse(dataset, tmp_path / "fused", format="npy", class_label="genres")
    report = run_classify_recipe(tmp_path / "fused", tmp_path / "metrics.json")
    saved = json.loads((tmp_path / "metrics.json").read_text())
    learned = GENRES[:-1]
    assert saved["learned_classes"] == learned and saved["train_classes"] == 5
    test = saved["per_class"]["test"]["western"]
    assert test == {"support": 10, "ap": None, "f1": None, "learned": False}
    assert any("1 class(es) held by no train row (or by every one) cannot be learned and are left out of every "
               "figure: 'western' (their positives left out: val 0, test 10)" in note for note in saved["notes"])
    scores = report.predictions["test"]["scores"]
    truth = report.predictions["test"]["class_targets"][:, :5]
    assert scores.shape == (60, 5)
    assert report.row("linear", "test").metrics["map"] == pytest.approx(
        np.mean([average_precision_score(truth[:, k], scores[:, k]) for k in range(5)]), abs=1e-12)


def test_rows_without_a_class_value_are_left_out_and_counted(tmp_path):
    rows = genre_rows()
    for row in rows[::10]:
        del row["genres"]
    dataset = dataset_of(tmp_path / "gaps", rows)
    fuse(dataset, tmp_path / "fused", format="arrow", class_label="genres", missing_class="keep")
    report = run_classify_recipe(tmp_path / "fused")
    assert report.info["rows_without_class"] == {"train": 12, "val": 4, "test": 6}
    assert report.info["rows"] == {"train": 108, "val": 36, "test": 54}
    assert "rows without a class value (class_targets -1) left out: test 6, train 12, val 4" in report.info["notes"]


def test_a_train_split_with_no_learnable_class_is_refused(tmp_path):
    rows = [{"id": f"{s}{i}", "text": f"w{i % 3}", "split": s, "genres": ["drama"] if s == "train" else [["drama"], []][i % 2]}
            for s in ("train", "test") for i in range(6)]
    dataset = dataset_of(tmp_path / "flat", rows)
    fuse(dataset, tmp_path / "fused", class_label="genres", normalize="none")
    with pytest.raises(DatasetError, match=r"split 'train' of .*: none of its 1 classes is held by some of its 6 rows and "
                                           r"not by others \(held by every row: \['drama'\]\)"):
        run_classify_recipe(tmp_path / "fused")
    with pytest.raises(DatasetError, match=r"has no row with a class value in split 'training'"):
        run_classify_recipe(tmp_path / "fused", config=ClassifyRecipeConfig(train_split="training"))


def test_the_command_line_prints_the_map_table_and_writes_the_json(genres_export, tmp_path):
    result = runner.invoke(app, ["train", "classify", str(genres_export), "--json", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    assert "mAP  Micro-F1  Macro-F1" in result.stdout and "split 'test' (60 rows)" in result.stdout
    assert json.loads((tmp_path / "m.json").read_text())["recipe"] == "classify"
