"""`mmdata merge DATASET... OUTPUT_DIR`: the datasets then the output, names and splits given as options, what it
prints, and its refusals in one line with exit status 2."""
from __future__ import annotations

import dataclasses

from typer.testing import CliRunner

from mmdata import open_dataset
from mmdata.cli import app
from tests.checks.builder import build_dataset, image_text_samples, pooled_table
from tests.cli_errors import one_line_error

runner = CliRunner()


def _datasets(tmp_path):
    a_rows = image_text_samples(6)
    b_rows = [dataclasses.replace(s, corpus="flickr30k") for s in image_text_samples(4)]
    c_rows = [dataclasses.replace(s, corpus="flickr8k") for s in image_text_samples(3)]
    a = build_dataset(tmp_path / "a", a_rows, [pooled_table("image.x", a_rows, dim=2), pooled_table("text.y", a_rows, dim=2)])
    b = build_dataset(tmp_path / "b", b_rows, [pooled_table("image.x", b_rows, dim=2)], corpus_kind="flickr30k")
    c = build_dataset(tmp_path / "c", c_rows, [pooled_table("image.x", c_rows, dim=2)], corpus_kind="flickr8k")
    for root in (a, b, c):
        (root / "corpus").mkdir()  # the corpus folder the manifests record
    return a, b, c


def test_three_datasets_named_and_split_print_what_was_merged(tmp_path):
    a, b, c = _datasets(tmp_path)
    result = runner.invoke(app, ["merge", str(a), str(b), str(c), str(tmp_path / "m"), "--name", "coco,f30k",
                                 "-n", "f8k", "--split", "f30k=test", "-s", "f8k=val"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"samples: 13 (coco 6, f30k 4, f8k 3) -> {tmp_path / 'm'}",
        "splits: test 4, train 6, val 3",
        f"table image.x: 13 rows, 0 failed -> {tmp_path / 'm' / 'features' / 'image.x'}",
        "table text.y: skipped (not in f30k, f8k)",
    ]
    ids = open_dataset(tmp_path / "m").samples_table().column("sample_id").to_pylist()
    assert [i.split("/")[0] for i in ids] == ["coco"] * 6 + ["f30k"] * 4 + ["f8k"] * 3


def test_a_table_asked_for_that_cannot_be_merged_is_one_line_with_exit_2(tmp_path):
    a, b, _ = _datasets(tmp_path)
    result = runner.invoke(app, ["merge", str(a), str(b), str(tmp_path / "m"), "--table", "text.y"])
    assert result.exit_code == 2
    assert one_line_error(result) == ("error: table 'text.y' cannot be merged: not in b; extract it the same way into "
                                      "each dataset, or leave it out of --table (tables=)")
    assert not (tmp_path / "m").exists()


def test_bad_arguments_are_refused_in_one_line(tmp_path):
    a, b, _ = _datasets(tmp_path)
    out = str(tmp_path / "m")
    for args, message in [
        ([str(a), out], "mmdata merge takes two datasets or more, then OUTPUT_DIR; got 2 paths"),
        ([str(a), str(b), out, "--split", "b"], "--split 'b': expected NAME=SPLIT"),
        ([str(a), str(b), out, "--split", "b=test", "--split", "b=val"], "--split names dataset 'b' twice"),
        ([str(a), str(b), out, "--split", "bb=test"], "split for 'bb': no dataset of the merge is named so"),
        ([str(a), str(b), str(tmp_path / "missing"), out], "missing"),
    ]:
        result = runner.invoke(app, ["merge", *args])
        assert result.exit_code == 2, result.output
        assert message in one_line_error(result)
    assert not (tmp_path / "m").exists()


def test_force_replaces_an_earlier_merge(tmp_path):
    a, b, _ = _datasets(tmp_path)
    out = str(tmp_path / "m")
    assert runner.invoke(app, ["merge", str(a), str(b), out]).exit_code == 0
    again = runner.invoke(app, ["merge", str(a), str(b), out])
    assert again.exit_code == 2 and "already exists" in one_line_error(again)
    forced = runner.invoke(app, ["merge", str(a), str(b), out, "--force", "--split", "a=train"])
    assert forced.exit_code == 0, forced.output
    assert open_dataset(out).manifest.samples["splits"]["train"] == 6 + 4


def test_extract_into_a_merged_dataset_says_to_extract_into_its_datasets(tmp_path):
    from mmdata import sample_corpus_dir

    a, b, _ = _datasets(tmp_path)
    out = str(tmp_path / "m")
    assert runner.invoke(app, ["merge", str(a), str(b), out]).exit_code == 0
    result = runner.invoke(app, ["extract", "coco", str(sample_corpus_dir("coco")), out, "--split", "val2017", "-q"])
    assert result.exit_code == 2
    assert one_line_error(result) == (
        f"error: {out} is a merged dataset (of a, b): tables are not extracted into it; extract the table into each "
        "dataset it was made of, then run `mmdata merge` again (--force)")
