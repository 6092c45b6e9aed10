"""`mmdata info` counts rows from the shards on disk and names, in one line each, a shard or table folder
that is gone or cannot be read (exit 2, the description printed all the same); a dataset in mid-extraction
is described as such (exit 0); a folder that is no dataset is one line and exit 2."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from tests.cli_errors import one_line_error
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()
TABLE_KEYS = {"name", "path", "format", "modality", "extractor", "config", "rows", "dim", "dtype", "kind", "frame_rate",
              "errors", "complete", "incomplete", "versions", "source", "problems"}
TOP_KEYS = {"dataset", "layout_version", "mmdata_version", "corpus", "samples", "update", "tables", "errors",
            "problems", "unlisted_tables"}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """The COCO sample corpus: two tables of three shards each."""
    tmp = tmp_path_factory.mktemp("info")
    corpus = copy_sample_corpus("coco", tmp)
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp / "ds"), "--image", "color-hist:bins=4",
                                 "--text", "hashed-bow", "-j", "0", "-q", "--shard-size", "3"])
    assert result.exit_code == 0, result.output
    return tmp / "ds"


@pytest.fixture
def dataset(pristine, tmp_path) -> Path:
    copy = tmp_path / "ds"
    shutil.copytree(pristine, copy)
    return copy


def _info_json(folder: Path):
    result = runner.invoke(app, ["info", str(folder), "--json"])
    return result, json.loads(result.stdout)


def test_a_clean_dataset_has_the_rows_pyarrow_counts_no_problems_and_stable_keys(dataset):
    result, info = _info_json(dataset)
    assert result.exit_code == 0 and result.stderr == ""
    assert set(info) == TOP_KEYS and info["problems"] == [] and info["unlisted_tables"] == []
    assert info["samples"]["rows"] == ds.dataset(dataset / "samples").count_rows() == 8
    for table in info["tables"]:
        assert set(table) == TABLE_KEYS and table["problems"] == []
        assert table["rows"] == ds.dataset(table["path"]).count_rows() == 8


def test_a_truncated_shard_is_named_in_one_line_and_its_rows_are_not_counted(dataset):
    shard = dataset / "features" / "image.color-hist" / "part-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:100])
    result = runner.invoke(app, ["info", str(dataset)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "image.color-hist (damaged)" in result.stdout
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"error: {shard}: cannot read this shard")
    assert "delete it, then re-run" in errors[0]
    result, info = _info_json(dataset)
    assert result.exit_code == 2
    table = next(t for t in info["tables"] if t["name"] == "image.color-hist")
    assert table["rows"] == 5 and len(table["problems"]) == 1 and info["problems"] == table["problems"]


def test_a_deleted_shard_and_a_deleted_table_folder_are_named(dataset):
    (dataset / "features" / "image.color-hist" / "part-00000.parquet").unlink()
    shutil.rmtree(dataset / "features" / "text.hashed-bow")
    result, info = _info_json(dataset)
    assert result.exit_code == 2
    assert info["problems"] == [
        f"{dataset / 'features' / 'image.color-hist'}: its shards hold 5 rows, while mmdata.json counts 8 rows of table "
        "'image.color-hist'; run the `mmdata extract` (or `mmdata align`) that wrote the table again, which computes "
        "missing shards again, or restore the files from a copy",
        f"{dataset / 'features' / 'text.hashed-bow'}: no such folder, while mmdata.json counts 8 rows of table "
        "'text.hashed-bow' there; run the `mmdata extract` (or `mmdata align`) that wrote the table again, which "
        "computes missing shards again, or restore the files from a copy",
    ]
    assert result.stderr.splitlines() == [f"error: {p}" for p in info["problems"]]


def test_a_missing_samples_table_is_named_with_its_fix(dataset):
    shutil.rmtree(dataset / "samples")
    result, info = _info_json(dataset)
    assert result.exit_code == 2 and info["samples"]["rows"] == 0
    assert info["problems"] == [f"{dataset / 'samples'}: no such folder, while mmdata.json counts 8 rows of the "
                                "samples table there; restore the file from a copy, or extract the corpus again into "
                                "a new output directory"]


def test_a_table_folder_the_manifest_does_not_list_is_noted_not_an_error(dataset):
    manifest = json.loads((dataset / "mmdata.json").read_text())
    del manifest["tables"]["text.hashed-bow"]
    (dataset / "mmdata.json").write_text(json.dumps(manifest))
    result = runner.invoke(app, ["info", str(dataset)])
    assert result.exit_code == 0, result.output
    assert (f"{dataset / 'features' / 'text.hashed-bow'}: a table folder mmdata.json does not list, so no command "
            "reads it") in result.stdout
    assert _info_json(dataset)[1]["unlisted_tables"] == [str(dataset / "features" / "text.hashed-bow")]


def test_a_dataset_without_feature_tables_says_so(dataset):
    manifest = json.loads((dataset / "mmdata.json").read_text())
    manifest["tables"] = {}
    (dataset / "mmdata.json").write_text(json.dumps(manifest))
    shutil.rmtree(dataset / "features")
    result = runner.invoke(app, ["info", str(dataset)])
    assert result.exit_code == 0
    assert "no feature tables yet: `mmdata extract` with this dataset as OUTPUT_DIR adds them" in result.stdout
    assert "┏" not in result.stdout  # no empty table


def test_an_extraction_killed_part_way_is_described_as_incomplete(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "img").mkdir(parents=True)
    sample = sorted((copy_sample_corpus("coco", tmp_path) / "val2017").glob("*.jpg"))
    rows = []
    for i in range(400):
        os.link(sample[i % len(sample)], corpus / "img" / f"{i:04d}.jpg")
        rows.append({"id": f"s{i:04d}", "image": f"img/{i:04d}.jpg"})
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "ds"
    run = subprocess.Popen([sys.executable, "-m", "mmdata", "extract", "manifest", str(corpus), str(out), "--image",
                            "pixel-stats", "--shard-size", "10", "-j", "0", "-q"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    shards = out / "features" / "image.pixel-stats"
    deadline = time.monotonic() + 120
    while len(list(shards.glob("part-*.parquet"))) < 2 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait()
    result, info = _info_json(out)
    table = info["tables"][0]
    assert result.exit_code == 0 and info["problems"] == []
    assert not table["complete"] and table["rows"] == ds.dataset(shards).count_rows() < 400
    text = runner.invoke(app, ["info", str(out)]).stdout
    assert "image.pixel-stats (incomplete)" in text
    assert f"image.pixel-stats is incomplete ({table['rows']} of 400 rows in finished shards)" in text


def test_a_dataset_under_a_folder_name_that_is_not_utf8_is_one_line(pristine, tmp_path):
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/\xffds"))
    shutil.copytree(pristine, odd)
    line = one_line_error(runner.invoke(app, ["info", str(odd)]))
    assert line.startswith(f"error: {tmp_path}/\\xffds: the dataset's path is not valid UTF-8")
    assert "symbolic link" in line
