"""`extract --update` over a `.csd` corpus that gained a video: its precomputed tables are read again whole from
the grown files, and the dataset equals a one-shot extract of the grown corpus. Tables `align` made from them are
left incomplete, all of their shards gone, and the same `align` aligns them again. A dataset `segment` wrote
(its samples are another dataset's label segments) is refused, with nothing written."""
from __future__ import annotations

import pytest

from mmdata.alignment.dataset import align_dataset
from mmdata.alignment.segment import segment_dataset
from mmdata.checks import check_dataset
from mmdata.errors import DatasetError
from mmdata.pipeline import extract
from mmdata.store import layout, open_dataset
from tests.fakes.csd import LABELS_FILE, WORDS, write_mosi_csd
from tests.store.grown_corpus import file_states

FIRST_VIDEOS = ("abc", "abcd")
WHOLE_VIDEOS = {"labels": "none"}  # samples are the videos, even beside a label file


def test_a_video_added_to_the_csd_files_is_added_with_its_sequences(tmp_path):
    corpus, out, one_shot = tmp_path / "csd", tmp_path / "ds", tmp_path / "one-shot"
    write_mosi_csd(corpus, labels=False, videos=FIRST_VIDEOS)
    extract("csd", corpus, out, extractors=[], num_workers=0, shard_size=1)
    write_mosi_csd(corpus, labels=False)  # the same two videos, and x9Y_z-1
    report = extract("csd", corpus, out, extractors=[], num_workers=0, update=True)
    assert report.samples_added == 1 and not report.incomplete_tables and not report.changed_sources
    extract("csd", corpus, one_shot, extractors=[], num_workers=0, shard_size=1)
    ours, theirs = open_dataset(out), open_dataset(one_shot)
    assert ours.samples_table().to_pylist() == theirs.samples_table().to_pylist()
    assert ours.table_names == theirs.table_names and len(ours.table_names) == 3
    for name in ours.table_names:
        assert ours.read_table(name).to_pylist() == theirs.read_table(name).to_pylist(), name
        assert ours.manifest.tables[name].complete and ours.manifest.tables[name].rows == len(WORDS)
    assert ours.manifest.extra["sources"] == theirs.manifest.extra["sources"]
    assert check_dataset(out).ok


def test_tables_aligned_to_csd_tables_are_aligned_again_whole_after_an_update(tmp_path):
    corpus, videos, one_shot = tmp_path / "csd", tmp_path / "videos", tmp_path / "one-shot"
    write_mosi_csd(corpus, videos=FIRST_VIDEOS)
    extract("csd", corpus, videos, extractors=[], num_workers=0, corpus_options=WHOLE_VIDEOS, shard_size=1)
    align_dataset(videos, "text.words")
    write_mosi_csd(corpus)  # a video more
    report = extract("csd", corpus, videos, extractors=[], num_workers=0, corpus_options=WHOLE_VIDEOS, update=True)
    aligned = sorted(name for name in open_dataset(videos).table_names if "@" in name)
    assert report.samples_added == 1 and report.incomplete_tables == aligned
    # its inputs were read again whole from the grown files: no shard of theirs is kept
    assert all(not layout.shard_files(layout.feature_dir(videos, name)) for name in aligned)
    done = align_dataset(videos, "text.words")
    assert (done.shards_aligned, done.shards_done) == (len(WORDS), 0)
    extract("csd", corpus, one_shot, extractors=[], num_workers=0, corpus_options=WHOLE_VIDEOS, shard_size=1)
    align_dataset(one_shot, "text.words")
    ours, theirs = open_dataset(videos), open_dataset(one_shot)
    assert ours.table_names == theirs.table_names
    for name in aligned:
        assert ours.read_table(name).to_pylist() == theirs.read_table(name).to_pylist(), name
    assert check_dataset(videos).ok


def test_a_segmented_dataset_is_refused(tmp_path):
    corpus, videos, segments = tmp_path / "csd", tmp_path / "videos", tmp_path / "segments"
    write_mosi_csd(corpus, videos=FIRST_VIDEOS)
    extract("csd", corpus, videos, extractors=[], num_workers=0, corpus_options=WHOLE_VIDEOS)
    segment_dataset(videos, segments, corpus / LABELS_FILE)
    write_mosi_csd(corpus)  # a video more
    before = file_states(segments)
    with pytest.raises(DatasetError, match=r"was written by `mmdata segment`: its samples are label segments"
                                           r".*new OUTPUT_DIR.*nothing was written"):
        extract("csd", corpus, segments, extractors=[], num_workers=0, corpus_options=WHOLE_VIDEOS, update=True)
    assert file_states(segments) == before
