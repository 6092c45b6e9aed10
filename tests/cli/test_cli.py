"""The command line, end to end with Typer's CliRunner (and once as a real subprocess)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def test_extract_then_info_json_names_every_table(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp_path / "out"), "--image", "color-hist",
                                 "--image", "pixel-stats", "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    assert "table image.color-hist: 8 rows, 0 failed" in result.output
    info = runner.invoke(app, ["info", str(tmp_path / "out"), "--json"])
    assert info.exit_code == 0
    data = json.loads(info.stdout)
    assert data["samples"]["rows"] == 8
    tables = {t["name"]: t for t in data["tables"]}
    assert set(tables) == {"image.color-hist", "image.pixel-stats"}
    hist = tables["image.color-hist"]
    assert (hist["modality"], hist["extractor"], hist["rows"], hist["dim"]) == ("image", "color-hist", 8, 48)
    assert hist["config"] == {"bins": 16, "decode_size": 128}
    assert hist["format"] == "parquet"
    for table in [data["samples"], *data["tables"]]:
        assert ds.dataset(table["path"]).count_rows() == 8
    assert data["errors"] == {"rows": 0, "path": None}  # no item failed: no errors folder to read
    (corpus / "val2017" / "000000000100.jpg").write_bytes(b"not a jpeg")
    runner.invoke(app, ["extract", "coco", str(corpus), str(tmp_path / "bad"), "--image", "color-hist", "-j", "0", "-q"])
    errors = json.loads(runner.invoke(app, ["info", str(tmp_path / "bad"), "--json"]).stdout)["errors"]
    assert errors["rows"] == 1 and ds.dataset(errors["path"]).count_rows() == 1


def test_missing_corpus_root_is_a_one_line_error(tmp_path):
    result = runner.invoke(app, ["extract", "coco", str(tmp_path / "nowhere"), str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: corpus root not found: {tmp_path / 'nowhere'}"
    assert "Traceback" not in result.output


def test_malformed_annotation_json_names_file_and_line(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    ann = corpus / "annotations" / "captions_val2017.json"
    ann.write_text('{\n "images": [\n  {"id": 1,}\n ]\n}\n')
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp_path / "out")])
    assert result.exit_code == 2
    assert f"{ann}:3:" in result.stderr and "invalid JSON" in result.stderr


def test_unknown_kind_and_bad_option_are_clear_errors(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    result = runner.invoke(app, ["extract", "cocoa", str(corpus), str(tmp_path / "out")])
    assert result.exit_code == 2 and "unknown corpus kind 'cocoa'; available: [" in result.stderr
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp_path / "out"), "-o", "nope=1"])
    assert result.exit_code == 2 and "unknown option 'nope'" in result.stderr
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp_path / "out"), "--image", "color-hist:bins=x"])
    assert result.exit_code == 2 and "expected int, got 'x'" in result.stderr


def test_fail_policy_exits_non_zero_naming_the_file(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    bad = sorted((corpus / "val2017").iterdir())[2]
    bad.write_bytes(b"not a jpeg")
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp_path / "out"), "--image", "color-hist",
                                 "--on-error", "fail", "-j", "0", "-q"])
    assert result.exit_code == 2
    assert f"val2017/{bad.name}" in result.stderr


def test_recipe_file_supplies_kind_and_extractors(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    recipe = tmp_path / "r.toml"
    recipe.write_text('[corpus]\nkind = "coco"\nsplit = "val2017"\n[extract]\nimage = ["color-hist:bins=4"]\nnum_workers = 0\n')
    result = runner.invoke(app, ["extract", str(recipe), str(corpus), str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    info = json.loads(runner.invoke(app, ["info", str(tmp_path / "out"), "--json"]).stdout)
    assert info["corpus"]["split"] == "val2017"
    assert [t["dim"] for t in info["tables"]] == [12]


def test_info_on_a_non_dataset_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["info", str(tmp_path)])
    assert result.exit_code == 2 and "not an mmdata dataset" in result.stderr


def test_top_level_cli_py_and_module_entry_point_run_the_same_app():
    for cmd in ([sys.executable, str(REPO / "cli.py"), "--help"], [sys.executable, "-m", "mmdata", "--help"]):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO).stdout
        assert "extract" in out and "info" in out


def test_demo_extracts_both_embedded_corpora(tmp_path):
    result = runner.invoke(app, ["demo", str(tmp_path / "demo"), "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    for kind in ("coco", "flickr30k"):
        info = json.loads(runner.invoke(app, ["info", str(tmp_path / "demo" / kind), "--json"]).stdout)
        tables = {t["name"]: t for t in info["tables"]}
        assert set(tables) == {"image.color-hist", "text.minilm", "text.minilm.caption"}
        assert all(t["rows"] == info["samples"]["rows"] == 8 and t["errors"] == 0 for t in tables.values())
        assert tables["text.minilm"]["dim"] == 384


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The COCO sample corpus extracted with one undecodable image: feature, samples and errors shards."""
    tmp = tmp_path_factory.mktemp("extracted")
    corpus = copy_sample_corpus("coco", tmp)
    sorted((corpus / "val2017").iterdir())[2].write_bytes(b"not a jpeg")
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp / "ds"), "--image", "color-hist:bins=4",
                                 "-j", "0", "-q", "--shard-size", "3"])
    assert result.exit_code == 0, result.output
    return tmp / "ds"


def _truncated(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[:40])
    return path


def _replaced(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _edit_manifest(root: Path, edit) -> Path:
    data = json.loads((root / "mmdata.json").read_text())
    edit(data)
    (root / "mmdata.json").write_text(json.dumps(data))
    return root / "mmdata.json"


DAMAGE = {
    "manifest-array": lambda root: _replaced(root / "mmdata.json", "[]"),
    "spec-unknown-field": lambda root: _edit_manifest(root, lambda d: d["tables"]["image.color-hist"]["spec"].update(x=1)),
    "errors-shard": lambda root: _truncated(root / "errors" / "image.color-hist" / "part-00000.parquet"),
    "samples-shard": lambda root: _truncated(root / "samples" / "part-00001.parquet"),
    "feature-shard": lambda root: _truncated(root / "features" / "image.color-hist" / "part-00002.parquet"),
}


@pytest.mark.parametrize(("damage", "command"), [
    ("manifest-array", ["info"]),
    ("spec-unknown-field", ["check"]),
    ("spec-unknown-field", ["fuse", "{out}", "--stats-split", "val2017"]),
    ("errors-shard", ["info"]),
    ("errors-shard", ["check"]),
    ("samples-shard", ["export-csd", "{out}"]),
    ("feature-shard", ["share", "--out", "{out}", "--allow-failed-checks"]),
])
def test_a_damaged_dataset_is_a_one_line_error_naming_the_file(extracted, tmp_path, damage, command):
    root = tmp_path / "ds"
    shutil.copytree(extracted, root)
    damaged = DAMAGE[damage](root)
    args = [command[0], str(root), *(a.format(out=tmp_path / "out") for a in command[1:])]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {damaged}") and len(result.stderr.strip().splitlines()) == 1


def test_a_rerun_says_the_samples_table_is_kept_and_the_corpus_not_read_again(tmp_path):
    corpus, out = copy_sample_corpus("coco", tmp_path), tmp_path / "out"
    first = runner.invoke(app, ["extract", "coco", str(corpus), str(out), "--image", "color-hist", "-q"])
    assert first.exit_code == 0 and "not read again" not in first.stdout
    annotations = next(corpus.rglob("captions_*.json"))
    data = json.loads(annotations.read_text())
    data["images"].append({**data["images"][0], "id": 999999})  # an image added to the corpus since
    annotations.write_text(json.dumps(data))
    again = runner.invoke(app, ["extract", "coco", str(corpus), str(out), "--image", "color-hist", "-q"])
    assert again.exit_code == 0, again.output
    assert "samples: 8 " in again.stdout and "the corpus is not read again" in again.stdout


def test_extract_exits_1_when_every_item_of_a_table_failed(tmp_path):
    corpus = copy_sample_corpus("coco", tmp_path)
    for image in (corpus / "val2017").iterdir():
        image.write_bytes(b"not a jpeg")
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp_path / "out"), "--image", "color-hist",
                                 "--text", "hashed-bow", "-q"])
    assert result.exit_code == 1, result.output
    assert "table image.color-hist: 8 rows, 8 failed" in result.stdout
    assert "error: every item of image.color-hist failed; the reasons are in" in result.stderr
    assert "hashed-bow" not in result.stderr  # the text table is fine
