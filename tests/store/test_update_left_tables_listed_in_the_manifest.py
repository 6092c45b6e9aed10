"""An `extract --update` lists in the manifest the tables it left incomplete (`extra.update_left`); the run
that completes one, or starts it anew with `--force`, takes it out. Only a listed table is said to lack the
samples the update added: a table whose later `--force` extract was interrupted is told, by every reader,
`info` and `check`, as an interrupted run's. A dataset an update of mmdata 0.5.2 grew (no list) is told as
before."""
from __future__ import annotations

import pytest

from mmdata.checks import check_dataset
from mmdata.info import INTERRUPTED_HINT, describe_dataset
from mmdata.store import layout
from mmdata.store.grown_samples import FINGERPRINT_ROWS_KEY, UPDATE_LEFT_KEY
from mmdata.store.manifest import read_manifest, write_manifest
from tests.checks.test_tables_left_incomplete_by_update import ADDED, grown_dataset, run
from tests.store.grown_corpus import first_rows, image_row, write_corpus
from tests.store.test_grown_samples_counted_from_the_manifest import what_each_says

LEFT = "text.hashed-bow"
#: How the readers, `info` and `check` say a table lacks the samples the update added.
GREW = "the samples table grew from 5 to 9 samples (`mmdata extract --update`)"


class StopAfterRows:
    """A progress sink that stops the extract (as a Ctrl-C would) once `rows` rows were computed, or, with
    `rows` None, once every shard is written, before the run marks the table complete."""

    def __init__(self, rows: int | None):
        self.rows, self.seen = rows, 0

    def start(self, description: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        self.seen += count
        if self.rows is not None and self.seen >= self.rows:
            raise KeyboardInterrupt

    def finish(self) -> None:
        if self.rows is None:
            raise KeyboardInterrupt


def update_naming_color_hist(tmp_path):
    """(corpus, dataset) of five samples grown to nine by an update naming only `image.color-hist`."""
    corpus, out = grown_dataset(tmp_path)
    run(corpus, out, extractors=["color-hist:bins=4"], update=True)
    return corpus, out


def test_the_update_lists_the_tables_it_left_and_the_run_completing_one_takes_it_out(tmp_path, caplog):
    corpus, out = update_naming_color_hist(tmp_path)
    assert read_manifest(out).extra[UPDATE_LEFT_KEY] == [LEFT]  # color-hist was completed by the same run
    said = what_each_says(out, caplog, with_cause=True)
    assert all(GREW in line for line in said.values()), said
    assert said["info"].startswith("samples-grew: ")
    run(corpus, out, extractors=["hashed-bow"])
    assert read_manifest(out).extra[UPDATE_LEFT_KEY] == []
    assert check_dataset(out).ok


def test_an_interrupted_force_extract_after_the_update_is_told_as_an_interrupted_run(tmp_path, caplog):
    corpus, out = update_naming_color_hist(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run(corpus, out, extractors=["hashed-bow"], force=True, progress=StopAfterRows(6))
    manifest = read_manifest(out)
    assert manifest.extra[UPDATE_LEFT_KEY] == [] and not manifest.tables[LEFT].complete
    assert layout.shard_files(layout.feature_dir(out, LEFT))  # some shards written: the table is kept
    said = what_each_says(out, caplog, with_cause=True)
    assert not any("--update" in line for line in said.values()), said
    assert said["reader"].startswith(f"table {LEFT!r} is incomplete: mmdata.json marks it so (the `mmdata extract` "
                                     "or `mmdata align` that writes it is running now or was interrupted)")
    assert said["info"] == f"interrupted: {INTERRUPTED_HINT}"
    assert said["check"] == "the manifest marks the table as incomplete (an interrupted extraction; re-run `mmdata " \
                            "extract` to finish it)"
    assert describe_dataset(out)["update"] is None  # nothing the update left is incomplete now


def test_a_table_the_update_left_whose_extract_stopped_after_its_last_shard_is_told_to_finish(tmp_path):
    corpus, out = update_naming_color_hist(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run(corpus, out, extractors=["hashed-bow"], progress=StopAfterRows(None))
    assert read_manifest(out).extra[UPDATE_LEFT_KEY] == [LEFT]  # not completed: still the update's to explain
    issue, = check_dataset(out).errors
    command = f"mmdata extract manifest {corpus} {out} --text hashed-bow"
    assert issue.code == "table-incomplete" and issue.message == (
        f"the table holds rows for 9 of the 9 samples: {GREW}; the table has a row for each, but no extract marked "
        f"it complete since: run `{command}`")
    run(corpus, out, extractors=["hashed-bow"])
    assert check_dataset(out).ok and read_manifest(out).extra[UPDATE_LEFT_KEY] == []


def test_a_table_completed_after_the_update_then_interrupted_is_not_blamed_on_it(tmp_path, caplog):
    corpus, out = grown_dataset(tmp_path)
    run(corpus, out, update=True)  # names both tables: the update leaves none incomplete
    assert read_manifest(out).extra[UPDATE_LEFT_KEY] == []
    manifest = read_manifest(out)  # as an extract killed after its last shard, before it marked the table complete
    manifest.tables[LEFT].complete = False
    write_manifest(out, manifest)
    said = what_each_says(out, caplog, with_cause=True)
    assert not any("--update" in line for line in said.values()), said


def test_a_second_update_adds_the_tables_it_leaves_to_the_list(tmp_path):
    corpus, out = update_naming_color_hist(tmp_path)
    write_corpus(corpus, first_rows(5) + ADDED + [image_row("zz-more", 14)])
    run(corpus, out, extractors=["hashed-bow"], update=True)
    assert read_manifest(out).extra[UPDATE_LEFT_KEY] == ["image.color-hist"]  # hashed-bow completed by this run
    write_corpus(corpus, first_rows(5) + ADDED + [image_row("zz-more", 14), image_row("zzz", 15)])
    run(corpus, out, extractors=[], update=True)  # names no table: both left
    assert read_manifest(out).extra[UPDATE_LEFT_KEY] == ["image.color-hist", LEFT]
    info = {t["name"]: t["incomplete"] for t in describe_dataset(out)["tables"]}
    assert {name: incomplete["cause"] for name, incomplete in info.items()} == {
        "image.color-hist": "samples-grew", LEFT: "samples-grew"}


def test_a_dataset_an_update_of_0_5_2_grew_keeps_being_told_from_its_ids(tmp_path, caplog):
    _, out = update_naming_color_hist(tmp_path)
    manifest = read_manifest(out)  # what 0.5.2 wrote: no list, no count of the rows the fingerprint covers
    manifest.extra.pop(UPDATE_LEFT_KEY)
    manifest.samples.pop(FINGERPRINT_ROWS_KEY)
    write_manifest(out, manifest)
    said = what_each_says(out, caplog, with_cause=True)
    assert all(GREW in line for line in said.values()), said
    run(tmp_path / "corpus", out, extractors=["color-hist:bins=4"], force=True)  # a run completing a table adds no list
    assert UPDATE_LEFT_KEY not in read_manifest(out).extra
