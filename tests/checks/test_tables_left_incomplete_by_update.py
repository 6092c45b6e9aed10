"""What `info` and `check` say of tables an `extract --update` left incomplete: the samples table grew and
the command that computes the missing rows (one `table-incomplete` error, no `ids-missing` besides); of an
update that was interrupted: that it was, and the same `extract --update` command that finishes it; and of a
genuinely interrupted extract: what they always said."""
from __future__ import annotations

import json
import shlex

import pytest
from typer.testing import CliRunner

import mmdata.samples_update as samples_update
from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.info import INTERRUPTED_HINT, describe_dataset
from mmdata.pipeline import extract
from mmdata.samples_loading import fingerprint_ids
from mmdata.store.grown_samples import fingerprinted_prefix
from mmdata.store import layout
from mmdata.store.manifest import read_manifest, write_manifest
from tests.store.grown_corpus import first_rows, image_row, write_corpus

runner = CliRunner()
EXTRACTORS = ["color-hist:bins=4", "hashed-bow"]
ADDED = [image_row("a-new", 10), image_row("m-02x", 11, "val"), image_row("n-1", 12), image_row("z-new", 13, "val")]
#: Five samples in shards of two ([2, 2, 1]): an update keeps the two full shards of every table.
SHARD_SIZE = 2


def run(corpus, out, extractors=EXTRACTORS, shard_size=SHARD_SIZE, **options):
    return extract("manifest", corpus, out, extractors=extractors, shard_size=shard_size, num_workers=0, **options)


def grown_dataset(tmp_path, shard_size=SHARD_SIZE):
    """(corpus, dataset) of five samples extracted with both extractors, the corpus then grown by `ADDED`."""
    rows = first_rows(5)
    corpus, out = write_corpus(tmp_path / "corpus", rows), tmp_path / "ds"
    run(corpus, out, shard_size=shard_size)
    write_corpus(corpus, rows + ADDED)
    return corpus, out


def run_printed(command: str):
    """Run a command line a message printed (`mmdata extract ...`), without decode workers."""
    words = shlex.split(command)
    assert words[:2] == ["mmdata", "extract"], command
    return runner.invoke(app, [*words[1:], "-j", "0", "-q"])


def the_command(text: str, *, after: str = "run `") -> str:
    return text.split(after, 1)[1].split("`", 1)[0]


def test_a_table_the_update_did_not_name_is_described_as_lacking_the_added_samples(tmp_path):
    corpus, out = grown_dataset(tmp_path)
    run(corpus, out, extractors=["color-hist:bins=4"], update=True)
    info = describe_dataset(out)
    assert info["update"] == {"rows_before": 5, "interrupted": False}
    tables = {t["name"]: t for t in info["tables"]}
    assert tables["image.color-hist"]["incomplete"] is None and info["problems"] == []
    incomplete = tables["text.hashed-bow"]["incomplete"]
    assert (incomplete["cause"], incomplete["missing_rows"]) == ("samples-grew", 5)
    assert tables["text.hashed-bow"]["rows"] == 4
    command = f"mmdata extract manifest {corpus} {out} --text hashed-bow"
    assert incomplete["hint"] == ("the samples table grew from 5 to 9 samples (`mmdata extract --update`) and the "
                                  f"table lacks the rows of 5 of them; run `{command}` to compute them")
    text = runner.invoke(app, ["info", str(out)])
    assert text.exit_code == 0, text.output
    assert f"text.hashed-bow is incomplete (4 of 9 rows in finished shards): {incomplete['hint']}" in text.output
    assert "interrupted" not in text.output


def test_check_reports_one_incomplete_table_error_naming_the_missing_samples_and_the_command(tmp_path):
    corpus, out = grown_dataset(tmp_path)
    run(corpus, out, extractors=["color-hist:bins=4"], update=True)
    report = check_dataset(out)
    assert not report.ok
    assert [(i.code, i.severity, i.table) for i in report.errors] == [("table-incomplete", "error", "text.hashed-bow")]
    issue = report.errors[0]
    # the partial shard went with the samples shard the update rewrote: m-04's row is missing too
    assert (issue.count, issue.examples) == (5, ("m-04", "a-new", "m-02x", "n-1", "z-new"))
    assert issue.message.startswith("the table holds rows for 4 of the 9 samples: the samples table grew from 5 to 9 "
                                    "samples (`mmdata extract --update`)")
    assert "ids-missing" not in report.codes() and "interrupted" not in issue.message
    result = runner.invoke(app, ["check", str(out), "--json", "-"])
    assert result.exit_code == 1
    assert [i["code"] for i in json.loads(result.stdout)["issues"] if i["severity"] == "error"] == ["table-incomplete"]
    finished = run_printed(the_command(issue.message))  # the command it names completes the table
    assert finished.exit_code == 0, finished.output
    assert check_dataset(out).ok and describe_dataset(out)["update"] is None


def test_the_command_spells_the_config_the_table_was_made_with(tmp_path):
    corpus, out = grown_dataset(tmp_path)
    run(corpus, out, extractors=["hashed-bow"], update=True)
    issue, = check_dataset(out).errors
    command = the_command(issue.message)
    assert command == f"mmdata extract manifest {corpus} {out} --image color-hist:bins=4"
    assert run_printed(command).exit_code == 0 and check_dataset(out).ok


def test_tables_whose_every_shard_the_update_replaced_are_incomplete_not_missing(tmp_path):
    corpus, out = grown_dataset(tmp_path, shard_size=1000)  # one partial shard: the update drops every table's
    run(corpus, out, extractors=["color-hist:bins=4"], shard_size=1000, update=True)
    issue, = check_dataset(out).errors
    assert (issue.code, issue.table, issue.count) == ("table-incomplete", "text.hashed-bow", 9)
    assert issue.message.startswith("the table holds rows for 0 of the 9 samples: the samples table grew from 5 to 9")
    result = runner.invoke(app, ["info", str(out)])
    assert result.exit_code == 0 and result.stderr == ""
    assert "text.hashed-bow is incomplete (0 of 9 rows in finished shards): the samples table grew" in result.output


@pytest.fixture
def interrupted_update(tmp_path, monkeypatch):
    """(corpus, dataset) whose update stopped after its first samples shard (5 rows then, 6 now), as Ctrl-C there."""
    corpus, out = grown_dataset(tmp_path)
    writes = []

    def write_or_stop(*args, **kwargs):
        writes.append(args)
        if len(writes) == 2:
            raise KeyboardInterrupt
        return write_table_atomic(*args, **kwargs)

    write_table_atomic = samples_update.write_table_atomic
    monkeypatch.setattr(samples_update, "write_table_atomic", write_or_stop)
    with pytest.raises(KeyboardInterrupt):
        run(corpus, out, extractors=["color-hist:bins=4"], update=True)
    monkeypatch.undo()
    assert samples_update.UPDATE_KEY in read_manifest(out).extra
    return corpus, out


def test_info_says_an_update_was_interrupted_and_which_command_finishes_it(interrupted_update):
    corpus, out = interrupted_update
    info = describe_dataset(out)
    assert info["problems"] == [] and info["samples"]["rows"] == 6
    command = f"mmdata extract manifest {corpus} {out} --image color-hist:bins=4 --text hashed-bow --update"
    assert info["update"]["interrupted"] and info["update"]["rows_before"] == 5
    assert info["update"]["message"].startswith("an `mmdata extract --update` is running now or was interrupted")
    assert "had 5 rows before it and holds 6 now" in info["update"]["message"]
    assert f"`{command}`" in info["update"]["message"]
    assert {t["incomplete"]["cause"] for t in info["tables"]} == {"update-interrupted"}
    result = runner.invoke(app, ["info", str(out)])
    assert result.exit_code == 0 and result.stderr == ""
    assert info["update"]["message"] in result.output
    assert ("image.color-hist is incomplete (4 of 6 rows in finished shards): the `mmdata extract --update` adding "
            "samples to the 5 there were is running now or was interrupted") in result.output


def test_check_says_an_update_was_interrupted_instead_of_refusing_its_samples_shards(interrupted_update):
    corpus, out = interrupted_update
    report = check_dataset(out)
    assert [(i.code, i.table) for i in report.errors] == [
        ("update-interrupted", None), ("table-incomplete", "image.color-hist"), ("table-incomplete", "text.hashed-bow")]
    assert not {"manifest-counts", "ids-missing"} & report.codes()
    assert all("the same `extract --update` command run again finishes it" in i.message for i in report.errors[1:])
    assert runner.invoke(app, ["check", str(out)]).exit_code == 1
    finished = run_printed(the_command(report.errors[0].message, after="naming every table's extractor: `"))
    assert finished.exit_code == 0, finished.output
    assert check_dataset(out).ok


def test_an_interrupted_extract_is_reported_as_before(tmp_path):
    corpus, out = grown_dataset(tmp_path)  # never updated: the corpus's growth is not in the dataset
    manifest = read_manifest(out)
    manifest.tables["text.hashed-bow"].complete = False
    write_manifest(out, manifest)
    (layout.feature_dir(out, "text.hashed-bow") / "part-00002.parquet").unlink()  # as a run killed before it
    report = check_dataset(out)
    assert sorted(i.code for i in report.errors) == ["ids-missing", "table-incomplete"]
    incomplete = next(i for i in report.errors if i.code == "table-incomplete")
    assert "an interrupted extraction; re-run `mmdata extract` to finish it" in incomplete.message
    info = describe_dataset(out)
    assert info["update"] is None
    assert [t["incomplete"] for t in info["tables"] if not t["complete"]] == [
        {"cause": "interrupted", "missing_rows": 1, "hint": INTERRUPTED_HINT}]


def test_the_fingerprint_an_update_keeps_names_the_rows_before_it():
    ids = [f"s{i}" for i in range(7)]
    assert fingerprinted_prefix(ids, fingerprint_ids(ids[:4])) == 4
    assert fingerprinted_prefix(ids, fingerprint_ids(ids)) is None  # not grown
    assert fingerprinted_prefix(ids, fingerprint_ids(["other"])) is None  # changed some other way


def test_a_grown_table_with_every_row_that_no_run_marked_complete_is_told_to_finish(tmp_path):
    corpus, out = grown_dataset(tmp_path)
    run(corpus, out, extractors=["color-hist:bins=4"], update=True)  # the update leaves text.hashed-bow
    assert read_manifest(out).extra["update_left"] == ["text.hashed-bow"]
    run(corpus, out, extractors=["hashed-bow"])
    manifest = read_manifest(out)
    # as an extract killed after its last shard, before it marked the table complete (and took it off the list)
    manifest.tables["text.hashed-bow"].complete = False
    manifest.extra["update_left"] = ["text.hashed-bow"]
    write_manifest(out, manifest)
    issue, = check_dataset(out).errors
    command = f"mmdata extract manifest {corpus} {out} --text hashed-bow"
    assert issue.code == "table-incomplete" and issue.message == (
        "the table holds rows for 9 of the 9 samples: the samples table grew from 5 to 9 samples (`mmdata extract "
        f"--update`); the table has a row for each, but no extract marked it complete since: run `{command}`")
    assert run_printed(command).exit_code == 0 and check_dataset(out).ok
