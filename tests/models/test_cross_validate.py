"""`mmdata train cross-validate DATASET OUT --fold-by KEY --class-label NAME`: every fold held out as test in turn
from one extraction, each fold's export and probe the same as `fuse --fold-by ... --test-fold F` and `train
classify` give by hand, the mean and std (n - 1) over the folds equal to NumPy's; `--val next` holds the
next fold out to choose C; a rerun (from another folder, or with other --folds) reads the finished folds back,
while an interrupted fold, a fold export replaced since and every fold of a dataset extracted again are redone;
other options in the same folder are refused unless --force, which leaves no stale fold; a fold's error names the
fold, and what fails for every fold is refused before anything is written."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion import FoldSplits, FuseOptions, fuse
from mmdata.models.classify_recipe import run_classify_recipe
from mmdata.models.cross_validate import CROSS_VALIDATE_FILE, CrossValidateConfig, run_cross_validation
from mmdata.pipeline import extract
from tests.fusion.test_fuse_folds import write_folded_corpus

runner = CliRunner()
METRICS = ("acc", "macro_f1", "weighted_f1", "balanced_acc")


@pytest.fixture(scope="module")
def folded(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    extract("manifest", write_folded_corpus(root / "corpus", folds=4, per_fold=16, seed=1), root / "ds",
            extractors=["hashed-bow:dim=16"], num_workers=0)
    return root / "ds"


def config(**overrides):
    return CrossValidateConfig(fold_by="fold", fuse=FuseOptions(class_label="class"), **overrides)


def linear_test_row(metrics):
    return next(r for r in metrics["results"] if r["model"] == "linear" and r["details"]["split"] == "test")


def test_each_fold_equals_fuse_and_classify_by_hand_and_the_summary_equals_numpy(folded, tmp_path):
    report = run_cross_validation(folded, tmp_path / "cv", config())
    assert [r.fold for r in report.folds] == ["1", "2", "3", "4"]
    for result in report.folds:
        by_hand = tmp_path / f"hand-{result.fold}"
        fuse(folded, by_hand, format="arrow", class_label="class", folds=FoldSplits("fold", result.fold))
        expected = run_classify_recipe(by_hand).to_json()
        assert linear_test_row(result.metrics)["metrics"] == linear_test_row(expected)["metrics"]
        assert linear_test_row(result.metrics)["details"]["rows"] == 16
        assert json.loads((result.export / "fused.json").read_text())["folds"]["test"] == result.fold
    saved = json.loads((tmp_path / "cv" / CROSS_VALIDATE_FILE).read_text())
    assert saved["status"] == "done" and [f["fold"] for f in saved["folds"]] == ["1", "2", "3", "4"]
    for key in METRICS:
        values = np.array([linear_test_row(r.metrics)["metrics"][key] for r in report.folds])
        stats = saved["summary"]["models"]["linear"][key]
        assert stats["mean"] == pytest.approx(values.mean()) and stats["std"] == pytest.approx(values.std(ddof=1))
        assert (stats["min"], stats["max"], stats["n"]) == (values.min(), values.max(), 4)
    assert saved["summary"]["models"]["linear"]["acc"]["mean"] > saved["summary"]["models"]["majority"]["acc"]["mean"]


def test_val_next_holds_the_next_fold_out_and_folds_chooses_which_are_tested(folded, tmp_path):
    report = run_cross_validation(folded, tmp_path / "cv", config(val="next", folds=("4", "2")))
    assert [(r.fold, r.val) for r in report.folds] == [("4", "1"), ("2", "3")]
    for result in report.folds:
        assert result.metrics["splits"]["valid"] == "val"
        assert result.metrics["rows"] == {"train": 32, "val": 16, "test": 16}
    assert sorted(p.name for p in (tmp_path / "cv").iterdir()) == [CROSS_VALIDATE_FILE, "fold-2", "fold-4"]


def test_a_rerun_reads_finished_folds_back_and_redoes_an_interrupted_one(folded, tmp_path):
    first = run_cross_validation(folded, tmp_path / "cv", config())
    (tmp_path / "cv" / "fold-3" / "classify-metrics.json").unlink()  # as a run stopped inside fold 3 leaves it
    kept = (tmp_path / "cv" / "fold-1" / "fused.json").stat().st_mtime_ns
    again = run_cross_validation(folded, tmp_path / "cv", config())
    assert [r.resumed for r in again.folds] == [True, True, False, True]
    assert (tmp_path / "cv" / "fold-1" / "fused.json").stat().st_mtime_ns == kept
    assert again.summary == first.summary
    assert "folds ['1', '2', '4'] read back from the earlier run's exports and metrics" in again.notes


def test_other_folds_reuse_the_finished_ones_and_a_replaced_export_is_redone(folded, tmp_path):
    run_cross_validation(folded, tmp_path / "cv", config(folds=("1",)))
    # fold 2 exported by hand with other options into the run's folder: not the run's fold 2
    fuse(folded, tmp_path / "cv" / "fold-2", format="arrow", class_label="class", normalize="l2",
         folds=FoldSplits("fold", "2"))
    report = run_cross_validation(folded, tmp_path / "cv", config())
    assert [(r.fold, r.resumed) for r in report.folds] == [("1", True), ("2", False), ("3", False), ("4", False)]
    assert json.loads((tmp_path / "cv" / "fold-2" / "fused.json").read_text())["normalization"]["tables"]
    fused = json.loads((tmp_path / "cv" / "fold-2" / "fused.json").read_text())
    assert {t["method"] for t in fused["normalization"]["tables"].values()} == {"zscore"}


def test_every_fold_of_a_dataset_extracted_again_is_redone(tmp_path):
    corpus = write_folded_corpus(tmp_path / "corpus", folds=3, per_fold=8)
    extract("manifest", corpus, tmp_path / "ds", extractors=["hashed-bow:dim=8"], num_workers=0)
    run_cross_validation(tmp_path / "ds", tmp_path / "cv", config())
    extract("manifest", corpus, tmp_path / "ds", extractors=["hashed-bow:dim=16"], num_workers=0, force=True)
    report = run_cross_validation(tmp_path / "ds", tmp_path / "cv", config())
    assert [r.resumed for r in report.folds] == [False, False, False]
    assert {json.loads((r.export / "fused.json").read_text())["dim"] for r in report.folds} == {16}


def test_a_rerun_from_another_folder_with_relative_paths_resumes(folded, tmp_path, monkeypatch):
    (tmp_path / "data").symlink_to(folded)
    monkeypatch.chdir(tmp_path)
    run_cross_validation("data", "cv", config(folds=("1", "2")))
    monkeypatch.chdir(tmp_path / "cv")
    again = run_cross_validation("../data", "../cv", config(folds=("1", "2")))
    assert [r.resumed for r in again.folds] == [True, True]


def test_other_options_in_the_same_folder_are_refused_unless_forced_and_force_leaves_no_stale_fold(folded, tmp_path):
    run_cross_validation(folded, tmp_path / "cv", config())
    with pytest.raises(DatasetError, match="holds a cross-validation of .* with other options \\(val: 'none' then, "
                                           "'next' now\\); pass --force"):
        run_cross_validation(folded, tmp_path / "cv", config(val="next"))
    report = run_cross_validation(folded, tmp_path / "cv", config(folds=("2",)), force=True)
    assert [r.resumed for r in report.folds] == [False]
    assert sorted(p.name for p in (tmp_path / "cv").iterdir()) == [CROSS_VALIDATE_FILE, "fold-2"]


def test_a_folder_that_is_no_cross_validation_is_refused_even_with_force(folded, tmp_path):
    (tmp_path / "cv").mkdir()
    (tmp_path / "cv" / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="is not an earlier cross-validate output"):
        run_cross_validation(folded, tmp_path / "cv", config(), force=True)
    assert (tmp_path / "cv" / "notes.txt").read_text() == "mine"


def test_a_fold_error_names_the_fold_and_keeps_the_folds_done(tmp_path):
    # folds 2 and 3 hold one class: the probe of fold 1 held out has one class to train on
    corpus = write_folded_corpus(tmp_path / "corpus", folds=3, per_fold=8)
    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    for row in rows:
        row["class"] = row["class"] if row["fold"] == 1 else "ant"
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    extract("manifest", corpus, tmp_path / "ds", extractors=["hashed-bow:dim=8"], num_workers=0)
    with pytest.raises(DatasetError, match="^fold 1 \\(held out as test\\): split 'train' of .*fold-1: all 16 rows "
                                           "with a class are 'ant'"):
        run_cross_validation(tmp_path / "ds", tmp_path / "cv", config(folds=("2", "1")))
    saved = json.loads((tmp_path / "cv" / CROSS_VALIDATE_FILE).read_text())
    assert saved["status"] == "running" and list(saved["finished"]) == ["2"]


def test_what_fails_for_every_fold_is_refused_before_anything_is_written(tmp_path):
    corpus = write_folded_corpus(tmp_path / "corpus", folds=2, per_fold=8)
    lines = (corpus / "manifest.jsonl").read_text().splitlines()
    row = json.loads(lines[9])
    del row["class"]
    lines[9] = json.dumps(row)
    (corpus / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    extract("manifest", corpus, tmp_path / "ds", extractors=["hashed-bow:dim=8"], num_workers=0)
    with pytest.raises(DatasetError, match="^1 of 16 samples have no class name at extra\\['class'\\]"):
        run_cross_validation(tmp_path / "ds", tmp_path / "cv", config())
    with pytest.raises(ConfigError, match="no sample of dataset .* has a class name at extra\\['clas'\\]"):
        run_cross_validation(tmp_path / "ds", tmp_path / "cv", CrossValidateConfig(
            fold_by="fold", fuse=FuseOptions(class_label="clas")))
    assert not (tmp_path / "cv").exists()


def test_too_few_folds_and_unknown_folds_are_refused(folded, tmp_path):
    with pytest.raises(ConfigError, match="--folds names \\['9'\\], which no sample holds at extra\\['fold'\\]"):
        run_cross_validation(folded, tmp_path / "cv", config(folds=("9",)))
    with pytest.raises(ConfigError, match="needs a class_label|class label"):
        CrossValidateConfig(fold_by="fold", fuse=FuseOptions())
    extract("manifest", write_folded_corpus(tmp_path / "corpus", folds=1), tmp_path / "one",
            extractors=["hashed-bow:dim=8"], num_workers=0)
    with pytest.raises(ConfigError, match="extra\\['fold'\\] holds 1 fold\\(s\\) \\(\\['1'\\]\\); cross-validation "
                                          "needs at least 2"):
        run_cross_validation(tmp_path / "one", tmp_path / "cv2", config())
    assert not (tmp_path / "cv2").exists()


def test_the_command_prints_the_folds_their_mean_and_std(folded, tmp_path):
    result = runner.invoke(app, ["train", "cross-validate", str(folded), str(tmp_path / "cv"), "--fold-by", "fold",
                                 "--class-label", "class", "--val", "next"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("4 folds of extra['fold'] in ") and "C chosen on the next fold" in lines[0]
    assert [line.split()[0] for line in lines[3:10]] == ["1", "2", "3", "4", "mean", "std", "majority"]
    saved = json.loads((tmp_path / "cv" / CROSS_VALIDATE_FILE).read_text())
    mean = saved["summary"]["models"]["linear"]["acc"]["mean"]
    assert lines[7].split()[1] == f"{100 * mean:.1f}"
    assert lines[-1] == f"metrics: {tmp_path / 'cv' / CROSS_VALIDATE_FILE}"
