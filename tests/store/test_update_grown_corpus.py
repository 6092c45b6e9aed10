"""`extract(..., update=True)` on a corpus that grew: the new samples are appended after the dataset's rows,
only their rows are computed, and the dataset equals a one-shot extract of the grown corpus (old rows, then
new ones); a sample that changed or left the corpus is refused with nothing written."""
from __future__ import annotations

import json

import pytest

from mmdata.checks import check_dataset
from mmdata.errors import DatasetError
from mmdata.info import describe_dataset
from mmdata.pipeline import extract
from mmdata.store import layout, open_dataset
from mmdata.store.moments import read_table_moments
from tests.fakes import write_jpeg
from tests.store.grown_corpus import file_states, first_rows, image_row, samples, table_by_id, write_corpus

EXTRACTORS = ["color-hist:bins=4", "hashed-bow"]
TABLES = ["image.color-hist", "text.hashed-bow"]
#: Five samples in shards of two: [2, 2, 1], the last one partial.
SHARD_SIZE = 2
#: Ids sorting before, among and after the first five (m-00 .. m-04): they still go after them.
ADDED = [image_row("a-new", 10), image_row("m-02x", 11, "val"), image_row("n-1", 12), image_row("z-new", 13, "val")]


def run(corpus, out, extractors=EXTRACTORS, **options):
    return extract("manifest", corpus, out, extractors=extractors, shard_size=SHARD_SIZE, num_workers=0, **options)


@pytest.fixture
def grown(tmp_path):
    """(corpus, dataset of its first five samples, the grown corpus's rows) with the corpus grown by `ADDED`."""
    rows = first_rows(5)
    corpus, out = write_corpus(tmp_path / "corpus", rows), tmp_path / "ds"
    run(corpus, out)
    write_corpus(corpus, rows + ADDED)
    return corpus, out


def test_update_appends_the_new_samples_and_computes_only_their_shards(grown, tmp_path):
    corpus, out = grown
    before = file_states(out)
    report = run(corpus, out, update=True)
    assert report.samples == 9 and report.samples_added == 4 and not report.samples_reused
    assert samples(out).column("sample_id").to_pylist() == [f"m-{i:02d}" for i in range(5)] + sorted(
        r["id"] for r in ADDED)
    after = file_states(out)
    for shard in ("part-00000", "part-00001"):  # full shards: not one byte, time or inode changed
        for folder in ("samples", *(f"features/{t}" for t in TABLES), *(f"features/{t}/.moments" for t in TABLES)):
            name = f"{folder}/{shard}.{'arrow' if folder.endswith('.moments') else 'parquet'}"
            assert after[name] == before[name], name
    assert after["samples/part-00002.parquet"] != before["samples/part-00002.parquet"]  # the partial one, rewritten
    assert [(t.name, t.shards_written, t.shards_skipped) for t in report.tables] == [(t, 3, 2) for t in TABLES]
    dataset = open_dataset(out)
    assert dataset.manifest.samples["shards"] == [2, 2, 2, 2, 1]
    for table in TABLES:  # every shard's moments match it, so fuse merges them instead of reading the features
        assert read_table_moments(dataset.table_files(table), dataset.spec(table).dim,
                                  dataset.manifest.samples["fingerprint"]) is not None, table
    assert check_dataset(out).ok
    one_shot = tmp_path / "one-shot"
    run(corpus, one_shot)
    for table in TABLES:
        assert table_by_id(out, table) == table_by_id(one_shot, table), table
    ours, theirs = samples(out), samples(one_shot)
    order = {sample_id: row for row, sample_id in enumerate(theirs.column("sample_id").to_pylist())}
    assert ours.to_pylist() == [theirs.slice(order[i], 1).to_pylist()[0] for i in ours.column("sample_id").to_pylist()]


def test_a_table_not_named_becomes_incomplete_until_an_extract_names_it(grown, tmp_path):
    corpus, out = grown
    report = run(corpus, out, extractors=["color-hist:bins=4"], update=True)
    assert report.incomplete_tables == ["text.hashed-bow"]
    manifest = open_dataset(out).manifest
    assert manifest.tables["image.color-hist"].complete and not manifest.tables["text.hashed-bow"].complete
    info = describe_dataset(out)
    assert [t["complete"] for t in info["tables"] if t["name"] == "text.hashed-bow"] == [False]
    issues = check_dataset(out).issues
    assert any(i.code == "table-incomplete" and i.table == "text.hashed-bow" for i in issues)
    report = run(corpus, out, extractors=["hashed-bow"])
    assert [(t.rows, t.shards_written, t.shards_skipped) for t in report.tables] == [(9, 3, 2)]
    assert check_dataset(out).ok
    one_shot = tmp_path / "one-shot"
    run(corpus, one_shot)
    assert table_by_id(out, "text.hashed-bow") == table_by_id(one_shot, "text.hashed-bow")


def test_an_update_with_nothing_new_says_the_dataset_is_up_to_date(grown, caplog):
    corpus, out = grown
    run(corpus, out, update=True)
    before = file_states(out)
    with caplog.at_level("INFO"):
        report = run(corpus, out, update=True)
    assert report.samples_added == 0 and report.samples == 9 and not report.incomplete_tables
    assert "up to date with the corpus" in caplog.text
    assert [(t.shards_written, t.shards_skipped) for t in report.tables] == [(0, 5), (0, 5)]
    after = file_states(out)
    assert {n: s for n, s in after.items() if n != layout.MANIFEST_NAME} == \
        {n: s for n, s in before.items() if n != layout.MANIFEST_NAME}  # (a rerun claims the tables again)


def test_an_update_of_a_full_last_shard_adds_shards_and_rewrites_none(tmp_path):
    rows = first_rows(4)  # [2, 2]
    corpus, out = write_corpus(tmp_path / "corpus", rows), tmp_path / "ds"
    run(corpus, out)
    before = file_states(out)
    write_corpus(corpus, rows + ADDED[:1])
    report = run(corpus, out, update=True)
    assert report.samples_added == 1 and [t.shards_written for t in report.tables] == [1, 1]
    after = file_states(out)
    assert all(after[name] == state for name, state in before.items() if name != layout.MANIFEST_NAME)
    assert check_dataset(out).ok


@pytest.mark.parametrize("change, offender, what", [
    (lambda rows: rows[3].update(caption="a new caption"), "m-03", "changed in the corpus since the dataset was made "
     "(captions: ['picture number 3 of a m-03'] there, ['a new caption'] now)"),
    (lambda rows: rows[1].update(split="test"), "m-01", "(split: 'train' there, 'test' now)"),
    (lambda rows: rows.pop(2), "m-02", "is no longer in the corpus"),
])
def test_a_changed_or_removed_sample_is_refused_and_nothing_is_written(grown, change, offender, what):
    corpus, out = grown
    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    change(rows)
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    before = file_states(out)
    with pytest.raises(DatasetError, match=r"sample '" + offender + "' ") as refused:
        run(corpus, out, update=True)
    message = str(refused.value)
    assert what in message and "\n" not in message and "new OUTPUT_DIR" in message and "nothing was written" in message
    assert file_states(out) == before


def test_the_refusal_counts_the_other_offending_samples(grown):
    corpus, out = grown
    rows = first_rows(5)[2:] + ADDED  # m-00 and m-01 gone
    rows[0]["caption"] = "edited"  # m-02 changed
    write_corpus(corpus, rows)
    with pytest.raises(DatasetError, match=r"sample 'm-00' is no longer in the corpus \(2 other samples changed or "
                                           r"left the corpus too\)"):
        run(corpus, out, update=True)


def test_the_loader_errors_are_those_of_the_corpus_as_it_is_now(tmp_path):
    rows = first_rows(3) + [image_row("m-09", 9)]
    corpus, out = write_corpus(tmp_path / "corpus", rows), tmp_path / "ds"
    (corpus / "images" / "m-09.jpg").unlink()
    with (corpus / "manifest.jsonl").open("a") as f:
        f.write('{"id": "no-media", "caption": " ", "split": "train"}\n')  # a blank text only: a loader error
    run(corpus, out)
    assert open_dataset(out).manifest.samples["loader_errors"] == 1
    write_corpus(corpus, rows + ADDED[:2])  # that row gone, two samples more
    report = run(corpus, out, update=True)
    assert report.samples_added == 2 and report.loader_errors == 0
    assert not layout.shard_files(layout.errors_dir(out, layout.LOADER_ERRORS_TABLE))
    assert describe_dataset(out)["errors"]["rows"] == 1  # m-09's missing image, in the color-hist errors
    write_jpeg(corpus / "images" / "m-09.jpg", seed=9)
    assert check_dataset(out).ok


def test_an_update_of_a_new_output_dir_is_a_first_extract(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", first_rows(3))
    report = run(corpus, tmp_path / "ds", update=True)
    assert report.samples == 3 and report.samples_added is None
