"""`align` refuses its own outputs (`<table>@<reference>`) as the reference or as a table to align, and its hints
never suggest one; `check` tells a missing aligned table to be written by `mmdata align`, not `mmdata extract`."""
from __future__ import annotations

import re
import shlex
import shutil

import pytest
from typer.testing import CliRunner

from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from mmdata.checks.tables import check_table_state
from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.store import open_dataset
from mmdata.store.manifest import TableEntry, write_manifest
from tests.align_runs.conftest import snapshot

runner = CliRunner()
TABLES = ["audio.covarep", "video.facet-41"]


@pytest.fixture
def aligned(gapped_dataset):
    align_dataset(gapped_dataset, "text.words", tables=TABLES, on_missing="impute")
    return gapped_dataset


def test_an_aligned_reference_is_refused_with_the_table_to_pass_instead(aligned):
    before = snapshot(aligned)
    with pytest.raises(DatasetError, match=r"reference 'text.words@text.words' is an aligned table \(an output of "
                                           r"`mmdata align`: 'text.words' aligned to 'text.words'\); .* pass `-r text.words`"):
        align_dataset(aligned, "text.words@text.words", tables=["audio.covarep"], on_missing="impute")
    with pytest.raises(DatasetError, match=r"reference 'audio.covarep@text.words' is an aligned table .* pass `-r text.words`"):
        align_dataset(aligned, "audio.covarep@text.words")
    assert snapshot(aligned) == before


def test_an_aligned_table_to_align_is_refused_with_the_table_it_came_from(aligned):
    before = snapshot(aligned)
    with pytest.raises(DatasetError, match=r"table 'audio.covarep@text.words' is an aligned table \(an output of `mmdata "
                                           r"align`: 'audio.covarep' aligned to 'text.words'\); aligning it again would "
                                           r"align twice; expected a table align did not write: pass `-t audio.covarep`"):
        align_dataset(aligned, "text.words", tables=["audio.covarep@text.words"], on_missing="impute")
    with pytest.raises(DatasetError, match=r"table 'text.words@text.words' .* leave it out of -t"):
        align_dataset(aligned, "text.words", tables=["text.words@text.words", "audio.covarep"])
    assert snapshot(aligned) == before


def test_the_cli_refuses_an_aligned_table_and_suggests_none(aligned):
    for args in (["-r", "text.words@text.words"], ["-r", "text.words", "-t", "audio.covarep@text.words"]):
        result = runner.invoke(app, ["align", str(aligned), *args])
        assert result.exit_code == 2 and "is an aligned table" in result.output, result.output
        assert not re.findall(r"-[rt] \S*@", result.output.split("expected", 1)[1]), result.output
    assert not [p.name for p in (aligned / "features").iterdir() if p.name.count("@") > 1]


def test_the_out_of_step_hint_names_no_aligned_table(aligned):
    result = runner.invoke(app, ["align", str(aligned), "-r", "text.words", "-t", "audio.covarep",
                                 "--collapse", "max"])  # on_missing drop, without video.facet-41
    assert result.exit_code == 2 and "out of step" in result.output
    command = re.search(r"`(mmdata align [^`]*)`", " ".join(result.output.split())).group(1)
    assert command == f"mmdata align {aligned} -r text.words -t audio.covarep -t video.facet-41 --collapse max --force"
    result = runner.invoke(app, shlex.split(command)[1:])
    assert result.exit_code == 0, result.output


def test_an_earlier_output_aligned_from_an_aligned_table_does_not_block_a_run(aligned, caplog):
    data = open_dataset(aligned)
    junk = "audio.covarep@text.words@text.words"  # what align wrote for `-t audio.covarep@text.words` before
    source = data.entry("audio.covarep@text.words")
    shutil.copytree(aligned / source.path, aligned / "features" / junk)
    data.manifest.tables[junk] = TableEntry(**{**vars(source), "name": junk, "path": f"features/{junk}",
                                               "config": {**source.config, "table": "audio.covarep@text.words"}})
    write_manifest(aligned, data.manifest)
    report = align_dataset(aligned, "text.words", tables=TABLES, on_missing="drop", force=True)
    assert report.shards_aligned == 3
    assert f"table {junk!r}" in caplog.text and "remove it" in caplog.text


def test_check_tells_a_missing_aligned_table_to_be_aligned_again_and_the_hint_works(aligned):
    shutil.rmtree(aligned / "features" / "audio.covarep@text.words")
    issue = next(i for i in check_dataset(aligned).errors if i.code == "table-missing")
    assert "mmdata extract" not in issue.message
    command = re.search(r"run `(mmdata align DATASET [^`]*)` again", issue.message).group(1)
    assert command == "mmdata align DATASET --reference text.words -t audio.covarep --collapse mean --on-missing impute"
    args = shlex.split(command.replace("DATASET", shlex.quote(str(aligned))))[1:] + ["-t", "video.facet-41"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert check_dataset(aligned).ok


def test_check_tells_a_missing_segment_table_to_be_segmented_again():
    entry = TableEntry(name="audio.covarep@text.words", path="features/audio.covarep@text.words", modality="audio",
                       extractor="segment", config={}, spec={}, versions={}, rows=0, errors=0, complete=True)
    (issue,) = check_table_state(entry.name, entry, [])
    assert issue.code == "table-missing" and "run `mmdata segment` again with --force" in issue.message
    assert "mmdata extract" not in issue.message
