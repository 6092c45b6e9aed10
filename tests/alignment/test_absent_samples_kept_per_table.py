"""`align --on-absent keep`: a sample one table has no features for (its extraction failed) is null in that table's
output alone, its reason in that output's errors table, and aligned in the other tables without it; the default
(`drop`, the SDK's keys present in every sequence) leaves it null in every output. With `--on-missing drop`, its
intervals are those every table that has it covers. `check` finds the outputs in step, and `fuse --missing zero`
exports the sample with that modality zero and flagged absent."""
from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError, ExtractionError
from mmdata.fusion import FusedDataset
from mmdata.store.grown_samples import align_commands
from mmdata.store.reader import open_dataset
from tests.alignment.corpus import extract_videos, read_errors, read_rows, set_absent, write_corpus

runner = CliRunner()
WORDS = {v: [("a", 0.0, 1.0), ("b", 1.0, 2.0), ("c", 2.0, 3.0)] for v in ("gone", "whole")}
#: COVAREP covers the first two words only; FACET all three.
COVAREP = {v: (np.arange(4, dtype=np.float32).reshape(-1, 1), np.array([[0, .5], [.5, 1], [1, 1.5], [1.5, 2]]))
           for v in WORDS}
FACET = {v: (np.arange(6, dtype=np.float32).reshape(-1, 1) * 10, np.stack([np.arange(6) / 2, np.arange(1, 7) / 2], 1))
         for v in WORDS}
REF, COV, FAC = "text.words@text.words", "audio.covarep@text.words", "video.facet-41@text.words"


@pytest.fixture
def dataset(tmp_path):
    out = extract_videos(write_corpus(tmp_path / "csd", WORDS, COVAREP, FACET), tmp_path / "out")
    set_absent(out, "audio.covarep", "gone")
    return out


def test_by_default_a_sample_one_table_lacks_is_null_in_every_output(dataset):
    report = align_dataset(dataset, "text.words")
    assert [(t.name, t.errors) for t in report.tables] == [(REF, 1), (COV, 1), (FAC, 1)]
    for name in (REF, COV, FAC):
        assert read_rows(dataset, name)["gone"]["feature"] is None
    assert "on_absent" not in open_dataset(dataset).entry(COV).config  # outputs made before the option read as made


def test_keep_nulls_the_sample_in_the_lacking_table_alone_and_aligns_the_others_over_all_their_intervals(dataset):
    report = align_dataset(dataset, "text.words", on_absent="keep")
    assert [(t.name, t.rows, t.errors) for t in report.tables] == [(REF, 2, 0), (COV, 2, 1), (FAC, 2, 0)]
    assert report.absent == {"text.words": 0, "audio.covarep": 1, "video.facet-41": 0}
    # 'whole': COVAREP does not reach word c, dropped everywhere; 'gone': no COVAREP, so word c stays
    assert (report.intervals, report.kept, report.dropped) == (6, 5, 1)
    rows = {name: read_rows(dataset, name) for name in (REF, COV, FAC)}
    assert rows[REF]["gone"]["keys"] == ["gone[0]", "gone[1]", "gone[2]"]
    assert rows[REF]["whole"]["keys"] == ["whole[0]", "whole[1]"]
    assert rows[FAC]["gone"]["intervals"] == rows[REF]["gone"]["intervals"] == [[0, 1], [1, 2], [2, 3]]
    np.testing.assert_allclose(rows[FAC]["gone"]["feature"], [[5.0], [25.0], [45.0]])  # mean of 2 frames a word
    assert rows[REF]["gone"]["words"] == ["a", "b", "c"]
    assert rows[COV]["gone"]["feature"] is None and rows[COV]["gone"]["keys"] is None
    np.testing.assert_allclose(rows[COV]["whole"]["feature"], [[0.5], [2.5]])
    error = read_errors(dataset, COV)["gone"]
    assert (error["stage"], error["error_type"]) == ("align", "DatasetError")
    assert error["reason"] == ("no features in 'audio.covarep' for this sample (see its errors); nothing to align; "
                               "expected features in every table aligned; aligned in the other tables without it "
                               "(on_absent='keep')")
    assert read_errors(dataset, REF) == {} and read_errors(dataset, FAC) == {}
    assert open_dataset(dataset).entry(COV).config["on_absent"] == "keep"


def test_a_sample_the_reference_lacks_is_null_everywhere_even_with_keep(dataset):
    set_absent(dataset, "text.words", "whole")
    with pytest.raises(ExtractionError, match="sample 'whole': no features in 'text.words'"):
        align_dataset(dataset, "text.words", on_absent="keep", on_error="fail")
    report = align_dataset(dataset, "text.words", on_absent="keep")
    assert [(t.name, t.errors) for t in report.tables] == [(REF, 1), (COV, 2), (FAC, 1)]
    for name in (REF, COV, FAC):
        assert read_rows(dataset, name)["whole"]["feature"] is None
        assert read_errors(dataset, name)["whole"]["reason"].startswith("no features in 'text.words' for this sample")


def test_keep_does_not_stop_a_fail_run_for_a_lacking_table(dataset):
    report = align_dataset(dataset, "text.words", on_absent="keep", on_error="fail")
    assert [t.errors for t in report.tables] == [0, 1, 0]


def test_another_on_absent_is_refused_without_force_and_named_in_the_completing_command(dataset):
    align_dataset(dataset, "text.words", on_absent="keep")
    assert align_dataset(dataset, "text.words", on_absent="keep").up_to_date
    with pytest.raises(DatasetError, match="on_absent"):
        align_dataset(dataset, "text.words")
    with pytest.raises(DatasetError, match=r"--on-absent keep"):  # aligning one table alone would step apart
        align_dataset(dataset, "text.words", tables=["audio.covarep"], on_missing="impute", on_absent="keep")
    assert align_commands(open_dataset(dataset), [COV])[0].endswith("--on-absent keep")
    report = align_dataset(dataset, "text.words", force=True)
    assert [t.errors for t in report.tables] == [1, 1, 1]


def test_an_unknown_on_absent_is_refused_before_anything_is_written(dataset):
    with pytest.raises(ConfigError, match="on_absent='kept'.*'drop', 'keep'"):
        align_dataset(dataset, "text.words", on_absent="kept")
    assert not (dataset / "features" / REF).exists()


def test_cli_keep_says_how_many_samples_a_table_lacks_and_check_and_fuse_take_the_outputs(dataset, tmp_path):
    result = runner.invoke(app, ["align", str(dataset), "-r", "text.words", "--on-absent", "keep"])
    assert result.exit_code == 0, result.output
    assert f"table {COV}: 2 rows, 1 failed, 1 sample it lacks (null in it alone)" in result.output
    report = check_dataset(dataset, tables=[REF, COV, FAC])
    assert [i.code for i in report.issues if i.severity == "error"] == []
    assert "aligned-out-of-step" not in {i.code for i in report.issues}
    fused = tmp_path / "fused"
    result = runner.invoke(app, ["fuse", str(dataset), str(fused), "-t", f"{COV},{FAC}", "--missing", "zero",
                                 "--sequences", "pad", "--normalize", "none", "--format", "arrow"])
    assert result.exit_code == 0, result.output
    splits = {row["split"] for row in open_dataset(dataset).samples_table().to_pylist()}
    items = {item["sample_id"]: item for split in splits for item in FusedDataset(fused, split=split)}
    gone, whole = items["gone"], items["whole"]
    assert gone["present"].tolist() == [False, True] and whole["present"].tolist() == [True, True]
    assert int(gone["length"]) == 3 and int(whole["length"]) == 2
    np.testing.assert_allclose(gone["feature"][:3].numpy(), [[0, 5], [0, 25], [0, 45]])  # COVAREP zero, FACET kept


def test_aligning_one_table_alone_after_a_keep_run_is_refused_naming_on_absent(dataset):
    align_dataset(dataset, "text.words", on_missing="impute", on_absent="keep")
    with pytest.raises(DatasetError) as refused:
        align_dataset(dataset, "text.words", tables=["audio.covarep"], on_missing="impute")
    message = str(refused.value)
    assert "(on_missing 'impute', skip_pauses False, on_absent 'keep'); aligning ['audio.covarep'] without it " \
           "(on_missing 'impute', skip_pauses False, on_absent 'drop')" in message
    assert "(on_absent decides whether a sample one table lacks has rows in the others)" in message
    # the one run it proposes takes this run's settings, as for the other options
    assert message.endswith("-t audio.covarep -t video.facet-41 --on-missing impute --force`")


def test_checks_hint_to_write_a_lost_output_again_names_on_absent(dataset):
    align_dataset(dataset, "text.words", on_absent="keep")
    for shard in (dataset / "features" / COV).glob("part-*"):
        shard.unlink()
    report = check_dataset(dataset, tables=[COV])
    hints = [i.message for i in report.issues if "run `mmdata align" in i.message]
    assert hints and all("--on-missing drop --on-absent keep`" in hint for hint in hints)
