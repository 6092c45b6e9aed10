"""`--class-map FILE|NAME` on `mmdata fuse` and `mmdata train cross-validate`: the flag reaches the export (a map
file and the built-in `emotions`), a bad map file fails with exit 2 naming its line and writes nothing, and
cross-validate records a map file as an absolute path (a built-in by its name) and redoes every fold when the
map file's bytes change, while an unchanged map resumes."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.fusion import FuseOptions, read_fused_metadata
from mmdata.models.cross_validate import CROSS_VALIDATE_FILE, CrossValidateConfig
from mmdata.pipeline import extract
from tests.fusion.test_fuse_class_labels import text_dataset
from tests.fusion.test_fuse_folds import write_folded_corpus

runner = CliRunner()


def test_fuse_takes_a_map_file_or_the_built_in_emotions_and_refuses_a_bad_line(tmp_path):
    rows = [{"id": f"r{i}", "text": f"w{i % 3}", "split": ["train", "test"][i % 2],
             "emotion": ["fearful", "joy", "anger", "calm"][i % 4]} for i in range(8)]
    dataset = text_dataset(tmp_path, rows)
    result = runner.invoke(app, ["fuse", str(dataset), str(tmp_path / "builtin"), "--class-label", "emotion",
                                 "--class-map", "emotions", "--missing-class", "keep", "--normalize", "none"])
    assert result.exit_code == 0, result.output
    metadata = read_fused_metadata(tmp_path / "builtin")
    assert metadata["classes"] == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    assert metadata["class_label"]["class_map"]["map"] == "emotions"
    assert metadata["class_label"]["unlabeled"] == {"test": 2}  # calm: no class
    path = tmp_path / "map.tsv"
    path.write_text("fearful\tfear\njoy\thappy\ncalm\tneutral\n", encoding="utf-8")
    result = runner.invoke(app, ["fuse", str(dataset), str(tmp_path / "file"), "--class-label", "emotion",
                                 "--class-map", str(path), "--normalize", "none"])
    assert result.exit_code == 0, result.output
    assert read_fused_metadata(tmp_path / "file")["classes"] == ["anger", "fear", "happy", "neutral"]
    path.write_text("fearful\tfear\njoy\thappy\tyes\n", encoding="utf-8")
    result = runner.invoke(app, ["fuse", str(dataset), str(tmp_path / "bad"), "--class-label", "emotion",
                                 "--class-map", str(path)])
    assert result.exit_code == 2
    assert "map.tsv:2: 'joy\\thappy\\tyes' has 3 field(s); expected 2: name<TAB>class" in result.stderr
    assert not (tmp_path / "bad").exists()
    result = runner.invoke(app, ["fuse", str(dataset), str(tmp_path / "bad"), "--class-map", "emotions"])
    assert result.exit_code == 2 and "class_map (--class-map) needs class_label" in result.stderr


def test_cross_validate_redoes_the_folds_when_the_map_file_changes(tmp_path, monkeypatch):
    extract("manifest", write_folded_corpus(tmp_path / "corpus", folds=3, per_fold=8), tmp_path / "ds",
            extractors=["hashed-bow:dim=8"], num_workers=0)
    path = tmp_path / "map.csv"
    path.write_text("ant,insect\nbee,insect\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    command = ["train", "cross-validate", "ds", "cv", "--fold-by", "fold", "--class-label", "class",
               "--class-map", "map.csv"]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "cv" / CROSS_VALIDATE_FILE).read_text())
    assert saved["config"]["fuse"]["class_map"] == str(path.resolve())
    fused = read_fused_metadata(tmp_path / "cv" / "fold-1")
    assert fused["classes"] == ["cat", "dog", "insect"] and fused["class_label"]["class_map"]["renamed"] == 12
    again = runner.invoke(app, command)
    assert again.exit_code == 0, again.output
    assert "folds ['1', '2', '3'] read back" in again.output
    path.write_text("ant,insect\nbee,insect\ncat,pet\ndog,pet\n", encoding="utf-8")
    changed = runner.invoke(app, command)
    assert changed.exit_code == 0, changed.output
    assert "read back" not in changed.output
    assert read_fused_metadata(tmp_path / "cv" / "fold-1")["classes"] == ["insect", "pet"]


def test_cross_validate_keeps_a_built_in_map_as_its_name(tmp_path, monkeypatch):
    config = CrossValidateConfig(fold_by="fold", fuse=FuseOptions(class_label="emotion", class_map="emotions"))
    assert config.to_json()["fuse"]["class_map"] == "emotions"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "mine.csv").write_text("joy,happy\n", encoding="utf-8")
    config = CrossValidateConfig(fold_by="fold", fuse=FuseOptions(class_label="emotion", class_map="maps/mine.csv"))
    assert config.to_json()["fuse"]["class_map"].endswith("/maps/mine.csv")
    assert config.to_json()["fuse"]["class_map"].startswith("/")


def test_a_cross_validation_written_before_class_maps_resumes_and_a_map_added_is_named(tmp_path, monkeypatch):
    from mmdata.models.cross_validate import _read_folds, _resume_key, run_cross_validation
    from mmdata.store.reader import open_dataset

    extract("manifest", write_folded_corpus(tmp_path / "corpus", folds=3, per_fold=8), tmp_path / "ds",
            extractors=["hashed-bow:dim=8"], num_workers=0)
    config = CrossValidateConfig(fold_by="fold", fuse=FuseOptions(class_label="class"))
    run_cross_validation(tmp_path / "ds", tmp_path / "cv", config)
    # cross-validate.json as the release before class maps (0.5.9) wrote it: no class_map in the config or the key
    summary = tmp_path / "cv" / CROSS_VALIDATE_FILE
    saved = json.loads(summary.read_text())
    saved["config"]["fuse"].pop("class_map", None)
    options = CrossValidateConfig.result_options

    def without_class_map(self):
        found = options(self)
        return {**found, "fuse": {k: v for k, v in found["fuse"].items() if k != "class_map"}}

    with monkeypatch.context() as patched:
        patched.setattr(CrossValidateConfig, "result_options", without_class_map)
        dataset = open_dataset(tmp_path / "ds")
        saved["resume_key"] = _resume_key(dataset, config, _read_folds(dataset, config)[1])
    summary.write_text(json.dumps(saved))
    again = run_cross_validation(tmp_path / "ds", tmp_path / "cv", config)
    assert [r.resumed for r in again.folds] == [True, True, True]
    assert "class_map" not in json.loads(summary.read_text())["config"]["fuse"]
    (tmp_path / "map.csv").write_text("ant,insect\n", encoding="utf-8")
    mapped = CrossValidateConfig(fold_by="fold", fuse=FuseOptions(class_label="class", class_map=tmp_path / "map.csv"))
    with pytest.raises(DatasetError, match=r"with other options \(class_map: None then, '.*map.csv' now\); pass --force"):
        run_cross_validation(tmp_path / "ds", tmp_path / "cv", mapped)


def test_cross_validate_names_a_mistyped_built_in_map_as_typed(tmp_path, monkeypatch):
    extract("manifest", write_folded_corpus(tmp_path / "corpus", folds=3, per_fold=4), tmp_path / "ds",
            extractors=["hashed-bow:dim=8"], num_workers=0)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["train", "cross-validate", "ds", "cv", "--fold-by", "fold", "--class-label", "class",
                                 "--class-map", "emotion"])
    assert result.exit_code == 2, result.output
    assert "--class-map emotion: no such file, and no built-in class map of that name (built-in: emotions, emotions4)" in \
        result.stderr
    assert str(tmp_path / "emotion") not in result.stderr
    config = CrossValidateConfig(fold_by="fold", fuse=FuseOptions(class_label="class", class_map="maps/mine.csv"))
    assert config.fuse.class_map == "maps/mine.csv"
