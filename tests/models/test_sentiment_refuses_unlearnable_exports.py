"""The sentiment recipe refuses, in one line that names the problem and a way out, the exports no model
can learn from or that would score garbage: train labels of one value, a single train row, NaN/inf
features (not a "diverged, lower --lr" failure), and features whose length disagrees with fused.json."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError, SchemaMismatchError
from mmdata.models.sentiment_recipe import SentimentRecipeConfig, run_sentiment_recipe
from mmdata.models.trainer import TrainConfig
from tests.cli_errors import one_line_error

FAST = SentimentRecipeConfig(models=("early",), train=TrainConfig(epochs=2, batch_size=16, patience=0))
COUNTS = {"train": 30, "valid": 10, "test": 10}


@pytest.mark.parametrize("value", [1.0, 0.5, -2.0, 0.0])
def test_train_labels_of_one_value_are_refused_as_such_not_as_class_ids(write_export, value):
    export = write_export("export", COUNTS, labels={"train": [value] * 30})
    with pytest.raises(DatasetError, match=rf"all 30 labelled row\(s\) of split 'train' of .* have the label {value:g}; "
                                           r"expected varying sentiment scores") as e:
        run_sentiment_recipe(export, None, FAST)
    assert "class ids" not in str(e.value)


def test_a_train_split_of_one_labelled_row_is_refused(write_export):
    export = write_export("export", {"train": 1, "valid": 10, "test": 10})
    with pytest.raises(DatasetError, match=r"split 'train' of .* has 1 labelled row \(label .*\); expected at least 2"):
        run_sentiment_recipe(export, None, FAST)


def test_a_train_split_of_two_rows_is_scored_with_a_note_under_the_table(write_export):
    export = write_export("export", {"train": 2, "valid": 10, "test": 10}, labels={"train": [-1.0, 1.2]})
    report = run_sentiment_recipe(export, None, FAST)
    assert "split train has 2 labelled row(s), fewer than 20" in report.text()
    assert any(note.startswith("split train has 2") for note in report.info["notes"])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_feature_is_refused_before_training_naming_split_modality_and_sample(write_export, bad):
    features = np.random.default_rng(1).normal(size=(30, 9)).astype(np.float32)
    features[7, 5] = bad  # column 5: the audio slice [4, 7)
    export = write_export("export", COUNTS, features={"train": features})
    with pytest.raises(DatasetError, match=r"split 'train' of .*, modality 'audio': NaN/inf in 1 of 30 row\(s\) "
                                           r"\(first: train-7\); expected finite features: .*--non-finite missing"):
        run_sentiment_recipe(export, None, FAST)


def test_the_cli_says_a_non_finite_feature_in_one_line_not_a_divergence(write_export, tmp_path):
    features = np.random.default_rng(1).normal(size=(10, 9)).astype(np.float32)
    features[0, 0] = np.nan
    export = write_export("export", COUNTS, features={"test": features}, labels={"test": list(np.linspace(-2, 2, 10))})
    line = one_line_error(CliRunner().invoke(app, ["train", "sentiment", str(export), "-m", "early", "--epochs", "1"]))
    assert "split 'test'" in line and "modality 'text'" in line and "diverged" not in line
    assert not (export / "sentiment-metrics.json").exists()


def test_features_shorter_than_fused_json_records_are_a_one_line_error(write_export):
    export = write_export("export", COUNTS)
    metadata = json.loads((export / "fused.json").read_text())
    (export / "fused.json").write_text(json.dumps({**metadata, "dim": metadata["dim"] + 1}))
    with pytest.raises(SchemaMismatchError, match=r"split '\w+' of .* holds a 10x9 feature array for 10 rows, but its "
                                                  r"metadata records dim 10; .*fuse the dataset again"):
        run_sentiment_recipe(export, None, FAST)
    line = one_line_error(CliRunner().invoke(app, ["train", "sentiment", str(export)]))
    assert "records dim 10" in line
