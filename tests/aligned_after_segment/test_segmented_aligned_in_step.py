"""`check` keeps aligned tables in step after `mmdata segment`: a cut `X@REF` (extractor "segment",
its source an `align` output) is compared with the cut `REF@REF`, as on the whole-video dataset."""
from __future__ import annotations

import pyarrow as pa

from mmdata.alignment import segment_dataset
from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from mmdata.checks.aligned import aligned_groups
from mmdata.store import open_dataset
from mmdata.store.shards import read_shard
from mmdata.store.writer import write_table_atomic
from tests.segment_export.corpus import SEGMENTS, videos_dataset, write_labels

ALIGNED = "audio.covarep@text.words"


def aligned_segments(tmp_path):
    """Whole videos aligned to the words in one run, then cut into the label segments."""
    videos = videos_dataset(tmp_path)
    align_dataset(videos, "text.words", tables=["audio.covarep"])
    labels = write_labels(tmp_path / "labels" / "CMU_MOSI_Opinion_Labels.csd", SEGMENTS)
    segment_dataset(videos, tmp_path / "segments", labels)
    return tmp_path / "segments"


def drop_last_step(dataset_dir, table: str) -> str:
    """Remove the last step (feature row and interval) of the first sample with two or more; its id."""
    (shard,) = open_dataset(dataset_dir).table_files(table)
    data = read_shard(shard)
    rows = data.to_pylist()
    victim = next(r for r in rows if r["intervals"] is not None and len(r["intervals"]) >= 2)
    for column in ("feature", "intervals", "keys"):
        if column in data.schema.names and victim[column] is not None:
            victim[column] = victim[column][:-1]
    write_table_atomic(pa.Table.from_pylist(rows, schema=data.schema), shard)
    return victim["sample_id"]


def out_of_step(dataset_dir):
    return [i for i in check_dataset(dataset_dir).issues if i.code == "aligned-out-of-step"]


def test_segmented_aligned_tables_are_grouped_under_their_reference(tmp_path):
    out = aligned_segments(tmp_path)
    dataset = open_dataset(out)
    assert dataset.entry(ALIGNED).extractor == "segment"
    groups = aligned_groups(dataset, dataset.table_names)
    assert sorted(groups) == ["text.words"]
    assert sorted(groups["text.words"]) == [ALIGNED, "text.words@text.words"]  # not the cut source tables


def test_correct_segmented_dataset_has_no_out_of_step_issue(tmp_path):
    assert out_of_step(aligned_segments(tmp_path)) == []


def test_segmented_table_missing_a_step_is_an_error_naming_the_sample(tmp_path):
    out = aligned_segments(tmp_path)
    sample = drop_last_step(out, ALIGNED)
    (issue,) = out_of_step(out)
    assert (issue.severity, issue.table, issue.sample_id) == ("error", ALIGNED, sample)
    assert "other time steps than 'text.words@text.words'" in issue.message
    assert "mmdata segment" in issue.message and str((tmp_path / "videos").resolve()) in issue.message
