"""A resume of a complete table reads each shard's footer once, not five times, and sees a shard
written again meanwhile as the new file it is.

Deciding that a table is up to date read every shard's footer in the refusal check and again in
`claim_table` (`tables._conflict`), in the resume loop and in `finish_table` (1,000 shards: ~0.6 s
of a 1.6 s resume). The footer reads are counted here as calls of pyarrow's `read_metadata`, each
with the file it read, through a profile hook: the real reads, nothing replaced.
"""
from __future__ import annotations

import sys
import threading
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mmdata.pipeline import extract
from mmdata.store.footers import footers_read_once, known_footer
from mmdata.store.layout import shard_files
from mmdata.store.shards import shard_rows
from mmdata.store.writer import write_table_atomic
from tests.reliability.fake_coco import write_fake_coco

TABLE = "image.color-hist"


def footer_reads(run) -> Counter[str]:
    """How often `run()` read each Parquet file's footer through `pq.read_metadata`, by path."""
    reads: Counter[str] = Counter()
    previous = sys.getprofile()

    def hook(frame, event, arg):
        if event == "call" and frame.f_code is pq.read_metadata.__code__:
            reads[str(frame.f_locals["where"])] += 1

    sys.setprofile(hook)
    try:
        run()
    finally:
        sys.setprofile(previous)
    return reads


def test_resuming_a_complete_table_reads_each_shard_footer_once(tmp_path):
    corpus = write_fake_coco(tmp_path / "coco", 8).root
    out = tmp_path / "ds"

    def run():
        return extract("coco", corpus, out, extractors=["color-hist"], shard_size=2, num_workers=0, progress=False)

    first = run()
    reports = []
    reads = footer_reads(lambda: reports.append(run()))
    shards = shard_files(out / "features" / TABLE)
    assert len(shards) == 4
    assert {str(s): reads[str(s)] for s in shards} == {str(s): 1 for s in shards}
    (table,) = reports[0].tables
    assert (table.rows, table.errors, table.shards_written, table.shards_skipped) == (8, 0, 0, 4)
    assert first.tables[0].rows == table.rows


def test_a_shard_written_again_within_a_run_is_read_again(tmp_path):
    path = tmp_path / "part-00000.parquet"
    write_table_atomic(pa.table({"sample_id": ["a", "b"]}), path)
    with footers_read_once():
        assert shard_rows(path) == 2
        assert known_footer(path) is not None
        write_table_atomic(pa.table({"sample_id": ["a", "b", "c"]}), path)  # a new file renamed over it
        assert known_footer(path) is None
        assert shard_rows(path) == 3
        with footers_read_once():  # an inner block shares the outer one's footers
            assert known_footer(path) is not None
    assert known_footer(path) is None  # dropped with the block


def test_outside_a_run_and_on_other_threads_every_call_reads_the_file(tmp_path):
    path = tmp_path / "part-00000.parquet"
    write_table_atomic(pa.table({"sample_id": ["a"]}), path)
    assert footer_reads(lambda: [shard_rows(path) for _ in range(3)])[str(path)] == 3
    seen = []
    with footers_read_once():
        shard_rows(path)
        thread = threading.Thread(target=lambda: seen.append(known_footer(Path(path))))
        thread.start()
        thread.join()
        assert known_footer(path) is not None
    assert seen == [None]
