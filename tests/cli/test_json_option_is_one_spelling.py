"""`--json PATH|-` is the one spelling of "write this command's JSON" in info, check and train; a bare `--json`
means stdout, and the older spellings (`info --json`, `train -o/--out FILE`) keep working."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.fusion import FuseOptions, fuse
from mmdata.pipeline import extract
from tests.cli_errors import one_line_error
from tests.sample_corpus import copy_sample_corpus

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The COCO sample corpus with 4-bin colour histograms."""
    tmp = tmp_path_factory.mktemp("json-spelling")
    corpus = copy_sample_corpus("coco", tmp)
    result = runner.invoke(app, ["extract", "coco", str(corpus), str(tmp / "ds"), "--image", "color-hist:bins=4",
                                 "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    return tmp / "ds"


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A pooled fused export of 90 labelled texts in train/valid/test (hashed bags of words)."""
    tmp = tmp_path_factory.mktemp("json-train")
    words = ["good", "bad", "fine", "film", "plot", "actor"]
    lines = [json.dumps({"id": f"s{i:03d}", "text": " ".join(words[(i + k) % 6] for k in range(4)),
                         "split": ("train", "valid", "test")[i % 3], "label": float(i % 7 - 3)}) for i in range(90)]
    (tmp / "corpus").mkdir()
    (tmp / "corpus" / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    extract("manifest", tmp / "corpus", tmp / "ds", extractors=["hashed-bow:dim=16"], num_workers=0)
    fuse(tmp / "ds", tmp / "fused", FuseOptions())
    return tmp / "fused"


def _train(export, *args):
    return runner.invoke(app, ["train", "sentiment", str(export), "-m", "unimodal", "--epochs", "1", *args])


# --- info -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("words", [["{ds}", "--json"], ["--json", "{ds}"], ["{ds}", "--json", "-"],
                                   ["--json", "-", "{ds}"], ["--json=-", "{ds}"]])
def test_info_json_to_stdout_in_every_spelling(dataset, words):
    result = runner.invoke(app, ["info", *(w.format(ds=dataset) for w in words)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["samples"]["rows"] == 8


@pytest.mark.parametrize("before", [True, False])
def test_info_json_file_is_written_and_the_text_still_printed(dataset, tmp_path, before):
    out = tmp_path / "new" / "info.json"
    args = ["--json", str(out), str(dataset)] if before else [str(dataset), "--json", str(out)]
    result = runner.invoke(app, ["info", *args], env=WIDE)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["tables"][0]["name"] == "image.color-hist"
    assert "samples: 8 rows" in result.stdout
    again = runner.invoke(app, ["info", str(dataset), "--json", str(out)])  # its own earlier output is replaced
    assert again.exit_code == 0, again.output


def test_info_json_never_replaces_another_file(dataset, tmp_path):
    other = tmp_path / "notes.json"
    other.write_text('{"mine": 1}')
    line = one_line_error(runner.invoke(app, ["info", str(dataset), "--json", str(other)]))
    assert f"--json {other} is an existing file that is not an `mmdata info` JSON" in line
    assert other.read_text() == '{"mine": 1}'


def test_info_json_into_the_dataset_manifest_is_refused(dataset):
    manifest = dataset / "mmdata.json"
    before = manifest.read_bytes()
    line = one_line_error(runner.invoke(app, ["info", str(dataset), "--json", str(manifest)]))
    assert "is the manifest of the dataset" in line
    assert manifest.read_bytes() == before


# --- check ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("words", [["{ds}", "--json"], ["--json", "{ds}"], ["{ds}", "--json", "--table", "image.color-hist"]])
def test_check_bare_json_writes_the_report_to_stdout(dataset, tmp_path, monkeypatch, words):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", *(w.format(ds=dataset) for w in words)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["dataset_dir"] == str(dataset)
    assert list(tmp_path.iterdir()) == []  # no file named "-" or after the dataset


# --- train ------------------------------------------------------------------------------------------

def test_train_json_dash_prints_the_metrics_alone_on_stdout(export):
    result = _train(export, "--json", "-")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["recipe"] == "sentiment" and [r["model"] for r in metrics["results"]][:1] == ["mean"]
    assert "MAE" in result.stderr  # the table goes to stderr
    assert not (export / "sentiment-metrics.json").exists()


@pytest.mark.parametrize("option", ["--json", "--out", "-o"])
def test_train_writes_the_metrics_file_with_json_and_its_older_spellings(export, tmp_path, option):
    out = tmp_path / f"m{option.strip('-')}.json"
    result = _train(export, option, str(out))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["recipe"] == "sentiment"
    assert result.stdout.rstrip().endswith(f"metrics: {out}")


def test_train_refuses_json_and_out_together_before_training(export, tmp_path):
    line = one_line_error(_train(export, "--json", str(tmp_path / "a.json"), "-o", str(tmp_path / "b.json")))
    assert "--out/-o is the earlier spelling of --json" in line
    assert list(tmp_path.iterdir()) == []


def test_every_json_option_has_the_same_metavar_and_says_what_dash_does():
    for words in (["info"], ["check"], ["train", "sentiment"], ["train", "retrieval"]):
        text = " ".join(runner.invoke(app, [*words, "--help"], env=WIDE).stdout.split())
        assert "--json PATH|-" in text, words
        assert "- (or a bare --json)" in text, words
