"""`fuse --fold-by KEY --test-fold F [--val-fold G]`: the splits dealt again from the samples' fold for one export,
from one extraction: the rows of fold F are `test`, of G `val`, of every other fold `train`, whatever the loader's
splits; the z-score statistics are those of that train split (the moments extraction stored per loader split are
not used), equal to a NumPy computation; split leaks are judged on the new splits; fused.json records the folds;
a fold key or a fold no sample has, and samples without a fold, are refused in one line."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion import FoldSplits, FusedDataset, fuse, read_fused_metadata
from mmdata.fusion.folds import deal_folds, natural_order
from mmdata.pipeline import extract
from mmdata.store.reader import open_dataset

runner = CliRunner()
CLASSES = ["ant", "bee", "cat", "dog"]
WORDS = ["the", "a", "small", "big", "one", "seen", "here", "there"]


def write_folded_corpus(root, folds=4, per_fold=12, *, fold_of=None, seed=0, group_of=None):
    """A text manifest of `folds` folds (extra.fold, an integer; extra.speaker a string per fold), each row naming
    its class among filler words; the loader's own split: fold 1 test, the others train."""
    rng = np.random.default_rng(seed)
    rows = []
    for fold in range(1, folds + 1):
        for i in range(per_fold):
            name = CLASSES[i % len(CLASSES)]
            words = [*rng.choice(WORDS, 3), name]
            rng.shuffle(words)
            row = {"id": f"f{fold}-{i:02d}", "text": " ".join(words), "split": "test" if fold == 1 else "train",
                   "class": name, "fold": fold if fold_of is None else fold_of(fold, i), "speaker": f"spk{fold}"}
            if group_of is not None:
                row["group_id"] = group_of(fold, i)
            rows.append(row)
    root.mkdir(parents=True)
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def folded(tmp_path_factory):
    root = tmp_path_factory.mktemp("folded")
    extract("manifest", write_folded_corpus(root / "corpus"), root / "ds", extractors=["hashed-bow:dim=32"],
            num_workers=0)
    return root / "ds"


def dataset_rows(dataset_dir):
    """{sample id: (fold, feature float64)} of the dataset's text table, read with pyarrow."""
    data = open_dataset(dataset_dir)
    samples = data.samples_table(["sample_id", "extra"]).to_pylist()
    fold = {row["sample_id"]: json.loads(row["extra"])["fold"] for row in samples}
    [name] = data.table_names
    table = data.read_table(name)
    features = np.stack(table.column("feature").to_numpy(zero_copy_only=False)).astype(np.float64)
    return {sid: (fold[sid], features[i]) for i, sid in enumerate(table.column("sample_id").to_pylist())}


def test_the_rows_of_each_fold_land_in_the_split_the_folds_name_and_fused_json_records_them(folded, tmp_path):
    report = fuse(folded, tmp_path / "fused", format="arrow", folds=FoldSplits("fold", 3, val=4))
    rows = dataset_rows(folded)
    for split, wanted in (("test", {3}), ("val", {4}), ("train", {1, 2})):
        ids = {item["sample_id"] for item in FusedDataset(tmp_path / "fused", split=split)}
        assert ids == {sid for sid, (fold, _) in rows.items() if fold in wanted}
    assert report.rows == {"test": 12, "train": 24, "val": 12}
    assert read_fused_metadata(tmp_path / "fused")["folds"] == {"by": "fold", "test": "3", "val": "4",
                                                                 "values": ["1", "2", "3", "4"]}


def test_z_score_statistics_come_from_the_new_train_split_not_the_stored_moments(folded, tmp_path):
    fuse(folded, tmp_path / "fused", format="arrow", folds=FoldSplits("fold", "2"))
    rows = dataset_rows(folded)
    train = np.stack([x for fold, x in rows.values() if fold != 2])
    mean, std = train.mean(axis=0), train.std(axis=0)
    for item in FusedDataset(tmp_path / "fused", split="test"):
        raw = rows[item["sample_id"]][1]
        expected = np.where(std > 0, (raw - mean) / np.where(std > 0, std, 1), raw - mean)
        np.testing.assert_allclose(np.asarray(item["feature"], dtype=np.float64), expected, rtol=1e-4, atol=1e-4)
    # the loader's split (fold 1 test) gives other statistics: the export is not that one relabelled
    fuse(folded, tmp_path / "loader", format="arrow")
    loader = {item["sample_id"]: item["feature"] for item in FusedDataset(tmp_path / "loader", split="train")}
    dealt = {item["sample_id"]: item["feature"] for item in FusedDataset(tmp_path / "fused", split="train")}
    assert not np.allclose(np.asarray(loader["f3-00"]), np.asarray(dealt["f3-00"]))  # train in both


def test_folds_named_as_strings_and_the_cli_spelling_give_the_same_export(folded, tmp_path):
    result = runner.invoke(app, ["fuse", str(folded), str(tmp_path / "cli"), "--format", "arrow", "--fold-by",
                                 "speaker", "--test-fold", "spk2", "--val-fold", "spk3"])
    assert result.exit_code == 0, result.output
    assert "(dealt by speaker: test spk2, val spk3)" in result.output
    fuse(folded, tmp_path / "api", format="arrow", folds=FoldSplits("fold", 2, 3))
    for split in ("train", "val", "test"):
        cli = [(i["sample_id"], np.asarray(i["feature"])) for i in FusedDataset(tmp_path / "cli", split=split)]
        api = [(i["sample_id"], np.asarray(i["feature"])) for i in FusedDataset(tmp_path / "api", split=split)]
        assert [s for s, _ in cli] == [s for s, _ in api]
        np.testing.assert_array_equal(np.stack([x for _, x in cli]), np.stack([x for _, x in api]))


@pytest.mark.parametrize(("folds", "message"), [
    (FoldSplits("flod", "2"), "no sample of dataset .* has a fold at extra\\['flod'\\]; keys its samples' extra "
                              "holds: .*did you mean 'fold'\\?"),
    (FoldSplits("fold", "7"), "--test-fold 7: no sample .* has extra\\['fold'\\] = 7; the folds there: "
                              "\\['1', '2', '3', '4'\\]"),
    (FoldSplits("fold", "2", "9"), "--val-fold 9: no sample"),
])
def test_a_fold_key_or_a_fold_no_sample_has_is_refused_and_nothing_is_written(folded, tmp_path, folds, message):
    with pytest.raises(ConfigError, match=message):
        fuse(folded, tmp_path / "fused", format="arrow", folds=folds)
    assert not (tmp_path / "fused").exists()


def test_samples_without_a_fold_are_refused_naming_the_first(tmp_path):
    corpus = write_folded_corpus(tmp_path / "corpus", folds=2, fold_of=lambda fold, i: None if i == 3 else fold)
    extract("manifest", corpus, tmp_path / "ds", extractors=["hashed-bow:dim=8"], num_workers=0)
    with pytest.raises(DatasetError, match="2 of 24 samples of dataset .* have no fold at extra\\['fold'\\] "
                                           "\\(first: 'f1-03', 'f2-03'\\)"):
        fuse(tmp_path / "ds", tmp_path / "fused", folds=FoldSplits("fold", "1"))


def test_split_leaks_are_judged_on_the_dealt_splits(tmp_path):
    # one group per row index: its rows lie in every fold, so holding any fold out leaks the group
    corpus = write_folded_corpus(tmp_path / "corpus", folds=2, group_of=lambda fold, i: f"g{i}")
    extract("manifest", corpus, tmp_path / "ds", extractors=["hashed-bow:dim=8"], num_workers=0)
    with pytest.raises(DatasetError, match="the export would leak it between splits"):
        fuse(tmp_path / "ds", tmp_path / "fused", folds=FoldSplits("fold", "2"))
    # dealt by a key that keeps every group together (each group's rows share i % 4, its class): clean
    report = fuse(tmp_path / "ds", tmp_path / "fused", folds=FoldSplits("class", "bee"))
    assert report.rows["test"] == 6


def test_the_cli_refuses_a_fold_without_its_key_and_a_key_without_a_test_fold(folded, tmp_path):
    for args, message in ((["--test-fold", "2"], "--test-fold needs --fold-by KEY"),
                          (["--fold-by", "fold"], "--fold-by fold needs --test-fold FOLD"),
                          (["--fold-by", "fold", "--test-fold", "2", "--val-fold", "2"],
                           "--val-fold 2 is also --test-fold")):
        result = runner.invoke(app, ["fuse", str(folded), str(tmp_path / "x"), *args])
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.output.replace("│", " ").split()), result.output
    assert not (tmp_path / "x").exists()


def test_a_fold_holding_every_sample_is_refused_and_values_are_read_without_their_spaces(tmp_path):
    corpus = write_folded_corpus(tmp_path / "corpus", folds=2, fold_of=lambda fold, i: f" {fold} " if i else fold)
    extract("manifest", corpus, tmp_path / "ds", extractors=["hashed-bow:dim=8"], num_workers=0)
    report = fuse(tmp_path / "ds", tmp_path / "fused", folds=FoldSplits("fold", "2"))
    assert report.rows == {"test": 12, "train": 12}  # " 2 " is fold 2, as --test-fold reads it
    with pytest.raises(ConfigError, match="every sample of dataset .* is in the test fold 1 or the val fold 2 "
                                          "\\(extra\\['fold'\\] holds \\['1', '2'\\]\\): no fold is left to train on"):
        fuse(tmp_path / "ds", tmp_path / "other", folds=FoldSplits("fold", "1", "2"))


def test_deal_folds_on_a_table_and_natural_order():
    samples = pa.table({"sample_id": ["a", "b", "c", "d"], "split": ["train", "train", "test", None],
                        "extra": ['{"s": "Ses10"}', '{"s": "Ses2"}', '{"s": "Ses1"}', '{"s": "Ses2"}']})
    dealt, names = deal_folds(samples, FoldSplits("s", "Ses2", "Ses10"), "here")
    assert dealt.column("split").to_pylist() == ["val", "test", "train", "test"]
    assert names == ["Ses1", "Ses2", "Ses10"]
    assert natural_order(["10", "2", "1", "actor_10", "actor_2"]) == ["1", "2", "10", "actor_2", "actor_10"]
    with pytest.raises(DatasetError, match="sample 'b': extra\\['s'\\] is \\[1, 2\\], expected a fold"):
        deal_folds(samples.set_column(2, "extra", pa.array(['{"s": 1}', '{"s": [1, 2]}', "{}", "{}"])),
                   FoldSplits("s", "1"), "here")
