"""The sentiment recipe as an experiment must be run: seeded and thread-independent, early stopping on the
validation split only with the best epoch's weights kept, test metrics on exactly the labelled test rows,
splits that share no sample, warnings for splits too small or labels of the wrong range, and a metrics
JSON that names what the export was made from."""
from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdata.errors import ConfigError, DatasetError
from mmdata.metrics import mae, sentiment_metrics
from mmdata.models.data import read_fused_splits
from mmdata.models.report import write_metrics_json
from mmdata.models.sentiment import create_sentiment_model
from mmdata.models.sentiment_recipe import (
    SentimentRecipeConfig,
    predict_sentiment,
    run_sentiment_recipe,
    train_sentiment_model,
)
from mmdata.models.trainer import TrainConfig, seed_everything

REPO = Path(__file__).resolve().parents[2]
FAST = TrainConfig(epochs=4, batch_size=8, patience=3)
# Tables in an order other than the modalities' sorted one: the slice map, not the order, must cut them.
DIMS = {"video.t": ("video", 3), "audio.t": ("audio", 5), "text.t": ("text", 4)}
MOSI = {"kind": "cmu-mosi", "options": {}}
RECIPE_LOGGER = "mmdata.models.sentiment_recipe"


def _write_export(root: Path, counts: dict[str, int], *, seed: int = 0, corpus: dict = MOSI, scale: float = 1.5,
                  labels: dict[str, list[float | None]] | None = None, ids: dict[str, list[str]] | None = None) -> Path:
    """A pooled npy export as `mmdata fuse` writes it; labels depend on the text columns alone."""
    rng = np.random.default_rng(seed)
    slices, start = {}, 0
    for table, (_, dim) in DIMS.items():
        slices[table], start = [start, start + dim], start + dim
    text = slice(*slices["text.t"])
    root.mkdir(parents=True)
    for split, n in counts.items():
        features = rng.normal(size=(n, start)).astype(np.float32)
        values = labels[split] if labels and split in labels else list(scale * np.tanh(features[:, text].sum(1)))
        names = ids[split] if ids and split in ids else [f"{split}-{i}" for i in range(n)]
        (root / split).mkdir()
        np.save(root / split / "features.npy", features)
        pq.write_table(pa.table({"sample_id": names, "label": pa.array(values, pa.float64())}),
                       root / split / "index.parquet")
    metadata = {
        "layout_version": 1, "mmdata_version": "0.test", "format": "npy", "dim": start, "rows": counts,
        "rows_kind": "pooled", "tables": list(DIMS), "modalities": [m for m, _ in DIMS.values()], "slices": slices,
        "files": {}, "source": {"dataset_dir": "/data/mosi", "samples_fingerprint": "f00d", "corpus": corpus},
        "normalization": {"stats_splits": ["train"], "tables": {t: {"method": "zscore"} for t in DIMS}},
    }
    (root / "fused.json").write_text(json.dumps(metadata))
    return root


@pytest.fixture
def export(tmp_path) -> Path:
    return _write_export(tmp_path / "export", {"train": 48, "valid": 20, "test": 21})


def _config(*models: str, train: TrainConfig = FAST, **options) -> SentimentRecipeConfig:
    return SentimentRecipeConfig(models=models, train=train, **options)


def test_the_recipe_repeats_exactly_under_its_seed_and_up_to_rounding_on_other_thread_counts(export):
    one = run_sentiment_recipe(export, None, _config("early", "tensor", num_threads=1))
    again = run_sentiment_recipe(export, None, _config("early", "tensor", num_threads=1))
    two = run_sentiment_recipe(export, None, _config("early", "tensor", num_threads=2))
    assert _results(one) == _results(again)
    # Another thread count may split a matrix product's sums otherwise (AVX-512 GEMM kernels do: the
    # tensor-fusion model's MAE moved by 2e-9): the same epochs and classes, values equal to rounding.
    for a, b in zip(_results(one), _results(two)):
        assert a["model"] == b["model"] and a["details"].keys() == b["details"].keys()
        for key, value in [*a["metrics"].items(), *a["details"].items()]:
            other = b["metrics"].get(key, b["details"].get(key))
            if isinstance(value, float):
                assert value == pytest.approx(other, rel=1e-6, abs=1e-9), key
            else:  # epochs, counts
                assert value == other, key


def _results(report) -> list:
    """The rows as the metrics JSON holds them (an undefined correlation as null: NaN equals nothing)."""
    return [row.to_json() | {"train_seconds": None} for row in report.rows]


def test_the_kept_weights_are_those_of_the_best_validation_epoch(export):
    splits = read_fused_splits(export)
    seed_everything(0)
    model = create_sentiment_model("intermediate", {m: x.shape[1] for m, x in splits["train"].features.items()})
    result = train_sentiment_model(model, splits["train"], splits["valid"], TrainConfig(epochs=8, batch_size=8, lr=0.05))
    assert result.best_score == min(result.valid_score) == result.valid_score[result.best_epoch]
    assert mae(predict_sentiment(model, splits["valid"]), splits["valid"].labels) == pytest.approx(result.best_score)


def test_the_report_counts_the_kept_epoch_from_one_as_it_counts_epochs_run(export):
    # one epoch, no early stopping: the first and only epoch is the kept one
    report = run_sentiment_recipe(export, None, _config("early", train=TrainConfig(epochs=1, patience=0)))
    assert report.row("early").details["best_epoch"] == report.row("early").details["epochs_run"] == 1
    for row in run_sentiment_recipe(export, None, _config("early", "late")).rows[1:]:
        assert 1 <= row.details["best_epoch"] <= row.details["epochs_run"]


def test_test_labels_play_no_part_in_training_or_selection(tmp_path):
    counts = {"train": 40, "valid": 20, "test": 20}
    first = _write_export(tmp_path / "a", counts)
    shuffled = _write_export(tmp_path / "b", counts, labels={"test": list(np.linspace(-3, 3, 20))})
    config = _config("early", "late")
    a, b = run_sentiment_recipe(first, None, config), run_sentiment_recipe(shuffled, None, config)
    assert [r.details for r in a.rows] == [r.details for r in b.rows]
    assert a.row("early").metrics != b.row("early").metrics


def test_metrics_are_those_of_exactly_the_labelled_test_rows(tmp_path):
    # 23 test rows (not a multiple of the batch size), 2 without a label; 3 train rows without one
    rng = np.random.default_rng(1)
    test_labels = [*rng.uniform(-3, 3, 21), None, None]
    train_labels = [*rng.uniform(-3, 3, 37), None, None, None]
    export = _write_export(tmp_path / "export", {"train": 40, "valid": 20, "test": 23},
                           labels={"test": test_labels, "train": train_labels})
    report = run_sentiment_recipe(export, None, _config("early"))
    assert report.info["rows"] == {"train": 37, "valid": 20, "test": 21}
    assert report.info["rows_without_label"] == {"train": 3, "valid": 0, "test": 2}
    splits = read_fused_splits(export)
    labelled = np.flatnonzero(np.isfinite(splits["test"].labels))
    train = splits["train"].subset(np.flatnonzero(np.isfinite(splits["train"].labels)))
    seed_everything(FAST.seed)
    model = create_sentiment_model("early", {m: x.shape[1] for m, x in train.features.items()})
    train_sentiment_model(model, train, splits["valid"], FAST)
    test = splits["test"].subset(labelled)
    assert report.row("early").metrics == pytest.approx(sentiment_metrics(predict_sentiment(model, test), test.labels))
    assert report.row("mean").metrics["mae"] == pytest.approx(np.mean(np.abs(np.mean(train.labels) - test.labels)))


def test_a_held_out_validation_counts_as_part_of_the_train_split_in_the_rows_left_out(tmp_path):
    export = _write_export(tmp_path / "export", {"train": 40, "test": 20},
                           labels={"train": [*np.linspace(-2, 2, 38), None, None]})
    report = run_sentiment_recipe(export, None, _config("early"))
    assert report.info["rows"]["train"] + report.info["rows"]["valid"] == 38
    assert report.info["rows_without_label"] == {"train": 2, "test": 0}


def test_each_modality_is_cut_from_the_fused_vector_by_the_slice_map(export):
    raw = np.load(export / "train" / "features.npy")
    train = read_fused_splits(export)["train"]
    assert np.array_equal(train.features["video"], raw[:, 0:3])
    assert np.array_equal(train.features["audio"], raw[:, 3:8])
    assert np.array_equal(train.features["text"], raw[:, 8:12])
    # the label follows the text columns alone: of the unimodal models only text's correlates with it
    report = run_sentiment_recipe(export, None, _config("unimodal", train=TrainConfig(epochs=30, batch_size=8)))
    assert report.row("unimodal", ["text"]).metrics["corr"] > 0.6
    assert report.row("unimodal", ["audio"]).metrics["corr"] < 0.5


def test_splits_that_share_a_sample_are_refused(tmp_path):
    shared = _write_export(tmp_path / "shared", {"train": 30, "valid": 20, "test": 20},
                           ids={"test": ["train-3", *[f"test-{i}" for i in range(19)]]})
    with pytest.raises(DatasetError, match=r"\['train-3'\] \(1 in all\) .* in both split 'train' and split 'test'"):
        run_sentiment_recipe(shared, None, _config("early"))
    repeated = _write_export(tmp_path / "repeated", {"train": 30, "valid": 20, "test": 20},
                             ids={"test": ["test-0", *[f"test-{i}" for i in range(19)]]})
    with pytest.raises(DatasetError, match=r"split 'test' of .* holds sample id\(s\) \['test-0'\] more than once"):
        run_sentiment_recipe(repeated, None, _config("early"))


def test_splits_too_small_to_rank_models_are_warned_about(tmp_path, caplog):
    export = _write_export(tmp_path / "export", {"train": 40, "valid": 20, "test": 4})
    with caplog.at_level(logging.WARNING, logger=RECIPE_LOGGER):
        run_sentiment_recipe(export, None, _config("early"))
    assert "split test of" in caplog.text and "has 4 labelled row(s), fewer than 20: one row is 25% of it" in caplog.text
    assert "split train of" not in caplog.text and "split valid of" not in caplog.text


def test_labels_in_the_ch_sims_range_scored_as_mosi_are_warned_about(tmp_path, caplog):
    sims_like = _write_export(tmp_path / "sims-like", {"train": 40, "valid": 20, "test": 20}, scale=0.9,
                              corpus={"kind": "mmsa", "options": {}})
    with caplog.at_level(logging.WARNING, logger=RECIPE_LOGGER):
        report = run_sentiment_recipe(sims_like, None, _config("early"))
    assert report.info["metrics"] == "mosi" and "as CH-SIMS labels do" in caplog.text
    caplog.clear()
    declared = _write_export(tmp_path / "declared", {"train": 40, "valid": 20, "test": 20}, scale=0.9,
                             corpus={"kind": "mmsa", "options": {"dataset": "ch-sims"}})
    mosi = _write_export(tmp_path / "mosi", {"train": 40, "valid": 20, "test": 20}, scale=2.5)
    with caplog.at_level(logging.WARNING, logger=RECIPE_LOGGER):
        assert run_sentiment_recipe(declared, None, _config("early")).info["metrics"] == "sims"
        run_sentiment_recipe(mosi, None, _config("early"))
    assert "CH-SIMS labels do" not in caplog.text


def test_the_metrics_json_names_the_tables_and_the_source_of_the_export(export, tmp_path):
    out = tmp_path / "metrics.json"
    run_sentiment_recipe(export, out, _config("early", train=TrainConfig(epochs=2, seed=7)))
    saved = json.loads(out.read_text())
    assert saved["source"] == {"dataset_dir": "/data/mosi", "samples_fingerprint": "f00d", "corpus": MOSI,
                               "loader": None, "tables": ["video.t", "audio.t", "text.t"], "format": "npy",
                               "mmdata_version": "0.test"}
    assert saved["modalities"] == {"audio": {"table": "audio.t", "dim": 5}, "text": {"table": "text.t", "dim": 4},
                                   "video": {"table": "video.t", "dim": 3}}
    assert saved["config"]["train"]["seed"] == 7 and saved["splits"] == {"train": "train", "valid": "valid",
                                                                         "test": "test"}
    assert {"python", "torch", "numpy"} <= set(saved["environment"])


def test_a_seed_numpy_cannot_take_is_a_one_line_error(export, capsys):
    for seed in (-1, 2**32):
        with pytest.raises(ConfigError, match=r"seed must be in \[0, 4294967295\]"):
            TrainConfig(seed=seed)
    spec = importlib.util.spec_from_file_location("train_sentiment", REPO / "recipes" / "train_sentiment.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with pytest.raises(SystemExit) as exit_info:
        script.main([str(export), "--seed", "-1"])
    assert exit_info.value.code == 2 and capsys.readouterr().err.startswith("error: seed must be in [0, 4294967295]")


def test_the_metrics_json_keeps_numpy_arrays_as_lists_of_any_size(tmp_path):
    report = {"counts": np.array([3, 1, 2]), "one": np.array([0.5]), "none": np.array([]),
              "scores": np.array([[np.nan, 1.0]]), "scalar": np.float32(2.5)}
    saved = json.loads(write_metrics_json(tmp_path / "m.json", report).read_text())
    assert saved == {"counts": [3, 1, 2], "one": [0.5], "none": [], "scores": [[None, 1.0]], "scalar": 2.5}
