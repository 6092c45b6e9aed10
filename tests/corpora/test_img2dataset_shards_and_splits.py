"""img2dataset output as runs leave it: a URL listed in two shards stays in one split when shards are held out; a key
listed twice is one sample whichever split is loaded; a shard an interrupted run left unreadable (a Parquet without
its footer, an empty tar) is named in the errors table with why, and the other shards load (a finished shard
damaged since stops the load); a held-out shard number
that is no shard is refused; a caption that is no string is kept as its text; a tar is listed only when a sample of
it is loaded."""
from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError
from mmdata.media import tar_members
from tests.fakes.img2dataset import fake_url, write_fake_img2dataset

KIND = "img2dataset"


def rewrite_rows(path, change):
    """Rewrite a shard Parquet with `change(rows)` applied."""
    rows = pq.read_table(path).to_pylist()
    change(rows)
    pq.write_table(pa.Table.from_pylist(rows), path)


@pytest.fixture(params=["files", "webdataset"])
def fake(request, tmp_path):
    return write_fake_img2dataset(tmp_path / request.param, request.param)


def test_a_url_in_a_held_out_shard_and_another_is_held_out_in_both(fake):
    shared = fake_url("000020000")  # shard 2's first URL, listed in shard 0 too
    rewrite_rows(fake.root / "00000.parquet", lambda rows: rows[3].update(url=shared))
    result = load_corpus(KIND, fake.root, options={"val_shards": (2,)})
    splits = {s.sample_id: s.split for s in result.samples}
    assert splits["000000003"] == "val" == splits["000020000"]
    assert splits["000000000"] == "train"
    assert [s.sample_id for s in load_corpus(KIND, fake.root, split="val", options={"val_shards": (2,)}).samples
            if s.sample_id.startswith("00000")] == ["000000003"]


def test_a_key_listed_twice_is_one_sample_whichever_split_is_loaded(fake):
    rewrite_rows(fake.root / "00002.parquet", lambda rows: rows[0].update(key="000000000"))
    options = {"val_shards": (2,)}
    train = load_corpus(KIND, fake.root, split="train", options=options)
    val = load_corpus(KIND, fake.root, split="val", options=options)
    assert "000000000" in {s.sample_id for s in train.samples}
    assert "000000000" not in {s.sample_id for s in val.samples}
    repeated = [p for p in val.problems if p.error_type == REPEATED_ENTRY]
    assert [p.sample_id for p in repeated] == ["000000000"]
    assert "is listed again (first in shard 00000)" in repeated[0].reason


def test_an_unfinished_shard_is_named_and_the_others_load(fake):
    (fake.root / "00002_stats.json").unlink()
    parquet = fake.root / "00002.parquet"
    parquet.write_bytes(parquet.read_bytes()[:-200])  # no footer: img2dataset was still writing it
    result = load_corpus(KIND, fake.root)
    named = [p for p in result.problems if p.path == str(parquet)]
    assert len(named) == 1 and "not a readable Parquet file" in named[0].reason
    assert "(no 00002_stats.json: img2dataset had not finished this shard, an interrupted run" in named[0].reason
    assert result.metadata["shards_unread"] == ["00002"]
    assert {s.sample_id for s in result.samples} == {k for k in fake.expected if k.startswith("00000")}


def test_an_empty_tar_is_named_and_the_others_load(tmp_path):
    fake = write_fake_img2dataset(tmp_path / "w", "webdataset")
    (fake.root / "00002_stats.json").unlink()
    (fake.root / "00002.tar").write_bytes(b"")  # opened, nothing written yet: an interrupted run
    result = load_corpus(KIND, fake.root)
    named = [p for p in result.problems if "00002" in p.path and "tar file cannot be read" in p.reason]
    assert len(named) == 1 and result.metadata["shards_unread"] == ["00002"]
    assert {s.sample_id for s in result.samples} == {k for k in fake.expected if k.startswith("00000")}


def test_a_finished_shard_damaged_since_stops_the_load_naming_it(fake):
    parquet = fake.root / "00002.parquet"
    parquet.write_bytes(parquet.read_bytes()[:-200])
    with pytest.raises(CorpusFormatError, match=re.escape(f"{parquet}: not a readable Parquet file") + ".*the shard is "
                       r"damaged \(img2dataset finished it: its 00002_stats.json is there\)"):
        load_corpus(KIND, fake.root)


def test_a_held_out_shard_that_is_no_shard_is_refused(fake):
    with pytest.raises(ConfigError, match=r"option val_shards names shard 7, which .* does not hold \(shards there: "
                                          r"0, 2\)"):
        load_corpus(KIND, fake.root, split="val", options={"val_shards": (7,)})


def test_a_caption_that_is_no_string_is_kept_as_its_text(fake):
    rewrite_rows(fake.root / "00000.parquet", lambda rows: [row.update(caption=None) for row in rows])
    path = fake.root / "00002.parquet"
    table = pq.read_table(path)
    table = table.set_column(table.schema.get_field_index("caption"), "caption", pa.array([7, 8, 9, 10]))
    pq.write_table(table, path)
    samples = {s.sample_id: s for s in load_corpus(KIND, fake.root).samples}
    assert samples["000020000"].captions == ("7",)
    assert samples["000000000"].captions == ()


def test_a_tar_is_listed_only_when_a_sample_of_it_is_loaded(tmp_path):
    fake = write_fake_img2dataset(tmp_path / "w", "webdataset")
    tar_members._index.cache_clear()
    load_corpus(KIND, fake.root, split="val", options={"val_shards": (2,)})
    assert tar_members._index.cache_info().currsize == 1  # 00002.tar alone; 00000.tar holds no val sample


def test_a_split_no_option_holds_out_is_refused(fake):
    with pytest.raises(ConfigError, match="split 'val' asked, but no option holds any out for it .* expected "
                                          "val_shards or val_fraction"):
        load_corpus(KIND, fake.root, split="val", options={"test_shards": (2,)})
    assert load_corpus(KIND, fake.root, split="train", options={"test_shards": (2,)}).samples
