"""The retrieval recipe refuses, in one line, splits it cannot score honestly: NaN/inf vectors (not a
"diverged, lower --lr" failure or a LinAlgError traceback), a table whose vectors disagree with its
recorded dim, fewer than two scorable test or train images; a model whose scores tie every query
fails alone with the reason; a small test split's trivially full recalls are named under the table."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError, SchemaMismatchError
from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, run_retrieval_recipe
from mmdata.models.trainer import TrainConfig
from tests.cli_errors import one_line_error
from tests.models.conftest import extract_with_broken_images

FAST = RetrievalRecipeConfig(train=TrainConfig(epochs=2, batch_size=32, patience=0))


def _put_nan(dataset, table: str, row: int) -> str:
    """Write NaN into one stored vector of `table`; returns that row's sample id."""
    (shard,) = sorted((dataset / "features" / table).glob("*.parquet"))
    stored = pq.read_table(shard)
    values = np.asarray(stored.column("feature").combine_chunks().flatten()).reshape(stored.num_rows, -1).copy()
    values[row, 0] = np.nan
    field = stored.schema.field("feature")
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), pa.float32()), values.shape[1])
    pq.write_table(stored.set_column(stored.schema.get_field_index("feature"), field, vectors.cast(field.type)), shard)
    return stored.column("sample_id")[row].as_py()


def test_a_nan_image_vector_is_refused_naming_table_split_and_sample(shapes_copy):
    sample = _put_nan(shapes_copy, "image.color-hist", 3)
    with pytest.raises(DatasetError, match=rf"image vectors \(image.color-hist\) of split\(s\) \['train2017'\] of .*: "
                                           rf"NaN/inf in 1 of 30 row\(s\) \(first: {sample}\); expected finite features"):
        run_retrieval_recipe(shapes_copy, None, FAST)
    line = one_line_error(CliRunner().invoke(app, ["train", "retrieval", str(shapes_copy)]))
    assert "diverged" not in line and "LinAlgError" not in line


def test_a_table_whose_vectors_disagree_with_its_recorded_dim_is_a_one_line_error(shapes_copy):
    manifest = json.loads((shapes_copy / "mmdata.json").read_text())
    manifest["tables"]["image.color-hist"]["spec"]["dim"] = 13
    (shapes_copy / "mmdata.json").write_text(json.dumps(manifest))
    with pytest.raises(SchemaMismatchError, match=r"table 'image.color-hist' of .* holds vectors of 12 values, but its "
                                                  r"metadata records dim 13"):
        run_retrieval_recipe(shapes_copy, None, FAST)
    assert "records dim 13" in one_line_error(CliRunner().invoke(app, ["train", "retrieval", str(shapes_copy)]))


def test_one_scorable_test_image_is_refused_not_scored_100(shapes_corpus, tmp_path):
    dataset = extract_with_broken_images(shapes_corpus, tmp_path, {"val2017": 11})
    with pytest.raises(DatasetError, match=r"the test split\(s\) \['val2017'\] of .* have 1 image\(s\) with both an image "
                                           r"and a caption vector; expected at least 2: every recall would be 100"):
        run_retrieval_recipe(dataset, None, FAST)


def test_one_scorable_train_image_is_refused(shapes_corpus, tmp_path):
    dataset = extract_with_broken_images(shapes_corpus, tmp_path, {"train2017": 29})
    line = one_line_error(CliRunner().invoke(app, ["train", "retrieval", str(dataset)]))
    assert "the train split(s) ['train2017']" in line and "have 1 image(s)" in line and "--train-split" in line


def test_cca_tying_every_query_fails_alone_with_the_reason(shapes_corpus, tmp_path):
    dataset = extract_with_broken_images(shapes_corpus, tmp_path, {"train2017": 28})  # 2 train images: 1 component
    result = CliRunner().invoke(app, ["train", "retrieval", str(dataset), "--epochs", "2"])
    assert result.exit_code == 1, result.output
    assert "FAILED: model 'cca' scored every test query with a wrong item tied to the right one (12 images, 36 " \
           "captions), so its scores rank nothing; it kept 1 canonical component(s) from 2 train images" in result.stdout
    saved = json.loads((dataset / "retrieval-metrics.json").read_text())
    cca = next(row for row in saved["results"] if row["model"] == "cca")
    assert cca["status"] == "failed" and cca["metrics"] == {} and cca["details"]["tied_queries"] == {"i2t": 12, "t2i": 36}
    assert all(row["status"] == "ok" for row in saved["results"] if row["model"] != "cca")


def test_a_small_test_split_names_the_recalls_that_are_full_by_construction(shapes_corpus, tmp_path):
    dataset = extract_with_broken_images(shapes_corpus, tmp_path, {"val2017": 9})  # 3 test images, 9 captions
    report = run_retrieval_recipe(dataset, None, FAST)
    assert report.info["notes"] == [
        "only 3 test images: t2i R@5, R@10 are 100 by construction (every caption's image is in the top K; the chance "
        "row's too)",
        "only 9 test captions: i2t and t2t R@10 are 100 by construction (a caption of the query's image is in the top "
        "K; the chance row's too)"]
    assert all(row.metrics["t2i_r5"] == 100.0 for row in report.rows if "t2i_r5" in row.metrics)
    assert report.info["notes"][0] in report.text()


def test_the_full_shapes_test_split_has_no_notes(shapes_dataset, tmp_path):
    report = run_retrieval_recipe(shapes_dataset, tmp_path / "metrics.json", FAST)
    assert report.info["notes"] == [] and not report.failed()
