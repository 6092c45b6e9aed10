"""An `extract --update` records in the manifest how many leading sample ids the fingerprint it keeps
covers (`samples.fingerprint_rows`: the rows before the first update; a second update keeps it), and the
readers and `info` take the growth from it without hashing the ids, `check` (which holds them all) and a
later update confirm it against the fingerprint first; a dataset an update of mmdata 0.5.2 grew (no such
count) is told from its ids as before. A `Dataset` works the growth out once.
The samples fingerprint is the same hash it always was."""
from __future__ import annotations

import hashlib
import logging
import re

import pytest

from mmdata.checks import check_dataset
from mmdata.errors import DatasetError
from mmdata.info import describe_dataset
from mmdata.models.data import read_pooled
from mmdata.samples_loading import fingerprint_ids
from mmdata.store import layout, open_dataset
from mmdata.store.grown_samples import (
    FINGERPRINT_ROWS_KEY, UPDATE_LEFT_KEY, dataset_growth, fingerprint_covers, samples_growth, valid_fingerprint_rows,
)
from mmdata.store.manifest import Manifest, read_manifest, write_manifest
from tests.checks.test_tables_left_incomplete_by_update import ADDED, grown_dataset, run
from tests.store.grown_corpus import first_rows, image_row, write_corpus

LEFT = "text.hashed-bow"
#: How every reader, `info` and `check` say the samples table grew in `updated`.
GREW = "the samples table grew from 5 to 9 samples (`mmdata extract --update`) and the table lacks the rows of 5"


def updated(tmp_path):
    """(corpus, dataset) of five samples grown to nine by an update naming only `image.color-hist`."""
    corpus, out = grown_dataset(tmp_path)
    run(corpus, out, extractors=["color-hist:bins=4"], update=True)
    return corpus, out


def edit_samples_entry(out, **changes):
    """Set (a value) or drop (None) keys of the manifest's `samples`."""
    manifest = read_manifest(out)
    for key, value in changes.items():
        if value is None:
            manifest.samples.pop(key, None)
        else:
            manifest.samples[key] = value
    write_manifest(out, manifest)


def what_each_says(out, caplog, *, with_cause: bool = False) -> dict[str, str]:
    """The reader's warning, `info`'s hint (after its cause, `with_cause`) and `check`'s `table-incomplete`
    message of table LEFT."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mmdata.store.reader"):
        open_dataset(out).read_table(LEFT)
    info, = [t["incomplete"] for t in describe_dataset(out)["tables"] if t["name"] == LEFT]
    issue, = [i for i in check_dataset(out).errors if i.code == "table-incomplete"]
    hint = f"{info['cause']}: {info['hint']}" if with_cause else info["hint"]
    return {"reader": caplog.records[-1].getMessage(), "info": hint, "check": issue.message}


def test_an_update_records_the_rows_the_fingerprint_covers_and_a_second_keeps_them(tmp_path):
    corpus, out = updated(tmp_path)
    samples = read_manifest(out).samples
    assert (samples[FINGERPRINT_ROWS_KEY], samples["rows"]) == (5, 9)
    assert samples["fingerprint"] == fingerprint_ids(open_dataset(out).samples_table(["sample_id"])["sample_id"]
                                                     .to_pylist()[:5])
    write_corpus(corpus, first_rows(5) + ADDED + [image_row("zz-more", 14)])
    run(corpus, out, extractors=["color-hist:bins=4"], update=True)
    samples = read_manifest(out).samples
    assert (samples[FINGERPRINT_ROWS_KEY], samples["rows"]) == (5, 10)  # the fingerprint kept covers the same 5


def test_readers_and_info_take_the_growth_from_the_manifest_without_hashing_ids(tmp_path, caplog):
    _, out = updated(tmp_path)
    # a fingerprint no prefix of the ids has: hashing them could not find the 5 rows before the update
    edit_samples_entry(out, fingerprint="0" * 16)
    said = what_each_says(out, caplog)
    assert GREW in said["reader"] and GREW in said["info"], said
    assert said["reader"].startswith(f"table {LEFT!r} holds rows for 4 of the 9 samples: {GREW} of them; run `")
    # `check`, which holds every id, confirms the count: the fingerprint does not cover those 5, nor any prefix
    assert GREW not in said["check"] and "an interrupted extraction" in said["check"], said


def test_check_confirms_the_recorded_count_against_the_ids_and_finds_the_right_one(tmp_path, caplog):
    _, out = updated(tmp_path)
    edit_samples_entry(out, **{FINGERPRINT_ROWS_KEY: 3})  # a count that can be one, but not what the fingerprint covers
    said = what_each_says(out, caplog)
    assert "grew from 3 to 9" in said["reader"]  # the readers trust a count they can: no id is hashed
    assert said["check"].startswith(f"the table holds rows for 4 of the 9 samples: {GREW} of them; run `")


@pytest.mark.parametrize("recorded", [3, 9, -1, "5", True, 2.5])
def test_an_update_carries_on_only_a_count_the_ids_confirm(tmp_path, recorded):
    corpus, out = updated(tmp_path)
    edit_samples_entry(out, **{FINGERPRINT_ROWS_KEY: recorded})
    write_corpus(corpus, first_rows(5) + ADDED + [image_row("zz-more", 14)])
    run(corpus, out, extractors=["color-hist:bins=4"], update=True)
    assert read_manifest(out).samples[FINGERPRINT_ROWS_KEY] == 5  # found again from the ids


def test_the_growth_takes_the_ids_as_an_arrow_array(tmp_path):
    _, out = updated(tmp_path)
    ids = open_dataset(out).samples_table(["sample_id"]).column("sample_id").combine_chunks()
    assert dataset_growth(open_dataset(out), ids).rows_before == 5  # from the manifest's count
    edit_samples_entry(out, **{FINGERPRINT_ROWS_KEY: None})
    assert dataset_growth(open_dataset(out), ids).rows_before == 5  # hashed
    edit_samples_entry(out, **{FINGERPRINT_ROWS_KEY: 2})
    assert dataset_growth(open_dataset(out), ids, verify=True).rows_before == 5  # confirmed, then hashed
    assert fingerprint_covers(ids, read_manifest(out).samples["fingerprint"], 5)


@pytest.mark.parametrize(("covered", "valid"), [(0, True), (8, True), (9, False), (-1, False), (True, False),
                                                 ("5", False), (5.0, False), (None, False)])
def test_a_recorded_count_is_a_whole_number_below_the_rows(covered, valid):
    assert valid_fingerprint_rows(covered, 9) is valid


def test_a_dataset_an_update_of_0_5_2_grew_is_told_from_its_ids(tmp_path, caplog):
    _, out = updated(tmp_path)
    edit_samples_entry(out, **{FINGERPRINT_ROWS_KEY: None})  # what 0.5.2 wrote (and no list of the tables left)
    manifest = read_manifest(out)
    manifest.extra.pop(UPDATE_LEFT_KEY)
    write_manifest(out, manifest)
    said = what_each_says(out, caplog)
    assert all(GREW in line for line in said.values()), said
    edit_samples_entry(out, **{FINGERPRINT_ROWS_KEY: 9})  # a count that cannot be right: the ids tell too
    assert all(GREW in line for line in what_each_says(out, caplog).values())


def test_an_update_of_a_dataset_0_5_2_grew_records_the_rows_its_fingerprint_covers(tmp_path):
    corpus, out = updated(tmp_path)
    edit_samples_entry(out, **{FINGERPRINT_ROWS_KEY: None})
    write_corpus(corpus, first_rows(5) + ADDED + [image_row("zz-more", 14)])
    run(corpus, out, extractors=["color-hist:bins=4"], update=True)
    assert read_manifest(out).samples[FINGERPRINT_ROWS_KEY] == 5  # not the 9 rows before this update


def manifest_with(*, fingerprint: str, rows: int, covered: int) -> Manifest:
    return Manifest(corpus={"kind": "manifest", "root": "/corpus"},
                    samples={"path": "samples", "rows": rows, "fingerprint": fingerprint, FINGERPRINT_ROWS_KEY: covered})


def test_the_recorded_count_needs_no_ids_and_is_checked_against_the_rows():
    ids = [f"s{i}" for i in range(9)]
    assert samples_growth(manifest_with(fingerprint="0" * 16, rows=9, covered=5), ids).rows_before == 5
    not_below = manifest_with(fingerprint=fingerprint_ids(ids[:3]), rows=9, covered=9)
    assert samples_growth(not_below, ids).rows_before == 3  # a count not below the rows: the ids' prefix tells


def test_a_dataset_works_the_growth_out_once(tmp_path):
    _, out = updated(tmp_path)
    edit_samples_entry(out, **{FINGERPRINT_ROWS_KEY: None})  # the growth is then told from the ids
    data = open_dataset(out)
    data.read_table(LEFT)  # reads the ids, hashes them
    for shard in layout.shard_files(layout.samples_dir(out)):
        shard.unlink()  # the ids cannot be read again: only what the Dataset remembers tells the growth
    with pytest.raises(DatasetError, match=re.escape(f"table {LEFT!r} holds rows for 4 of the 9 samples: {GREW}")):
        read_pooled(data, LEFT)
    with pytest.raises(DatasetError, match="an extraction is running or was interrupted"):
        read_pooled(open_dataset(out), LEFT)  # a Dataset opened anew cannot tell


@pytest.mark.parametrize("ids", [[], [""], ["a"], ["0001", "0002", "0003"], ["é", "x☃y", "with space"]])
def test_the_samples_fingerprint_is_the_documented_hash(ids):
    documented = hashlib.sha256(b"".join(sample_id.encode("utf-8") + b"\0" for sample_id in ids)).hexdigest()[:16]
    assert fingerprint_ids(ids) == documented
    assert fingerprint_ids(iter(ids)) == documented  # any iterable of ids, not only a list


def test_a_share_of_a_grown_dataset_fingerprints_all_its_rows_and_records_no_covered_count(tmp_path):
    from mmdata.share import share_dataset
    from tests.checks.test_tables_left_incomplete_by_update import EXTRACTORS

    corpus, out = grown_dataset(tmp_path)
    run(corpus, out, extractors=EXTRACTORS, update=True)  # every table has every row: shareable
    assert FINGERPRINT_ROWS_KEY in read_manifest(out).samples
    share_dataset(out, tmp_path / "share")
    shared = read_manifest(tmp_path / "share").samples
    assert FINGERPRINT_ROWS_KEY not in shared
    assert "update_left" not in read_manifest(tmp_path / "share").extra
    ids = open_dataset(tmp_path / "share").samples_table(columns=["sample_id"]).column("sample_id").to_pylist()
    assert shared["fingerprint"] == fingerprint_ids(ids) and len(ids) == 9
