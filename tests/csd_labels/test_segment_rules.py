"""`extract csd` with a label file applies `mmdata segment`'s two rules: a segment past the end of its video by
more than a tenth of its length has no feature in any table (a shorter overrun keeps the rows up to the end),
and a segment no row of a table overlaps has no feature in that table; each with its errors-table row."""
from __future__ import annotations

import pytest

from mmdata.alignment.segment import ROWS_END_ESTIMATE
from mmdata.alignment import segment_dataset
from mmdata.checks import check_dataset
from mmdata.errors import ExtractionError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import LABELS_FILE
from tests.segment_export.corpus import write_labels, write_videos

TABLES = ("audio.covarep", "text.words", "video.facet-41")
# vA's rows end at 6 s (COVAREP, FACET, words): [4, 7] runs 1 s (a third) past it, [10, 11] lies wholly after
# it, [4, 6.2] runs 0.2 s (9% of its length) past it; [2.6, 2.9] lies in a pause between two words.
PAST_END = {
    "vA": [(0.0, 2.0, 1.0), (4.0, 7.0, 2.0), (10.0, 11.0, 1.0), (2.6, 2.9, 0.0), (4.0, 6.2, -1.0)],
    "vB": [(0.0, 3.0, 0.5)],
}


def labelled_corpus(root):
    write_videos(root)
    write_labels(root / LABELS_FILE, PAST_END)
    return root


def extracted(tmp_path, **options):
    out = tmp_path / "loaded"
    extract("csd", labelled_corpus(tmp_path / "csd"), out, extractors=[], num_workers=0, **options)
    return open_dataset(out)


def rows(dataset, table):
    return {r["sample_id"]: r for r in dataset.table(table).to_table().to_pylist()}


def errors(dataset):
    return {(r["table"], r["sample_id"]): r for r in dataset.errors().to_pylist() if r["table"] != "loader"}


def test_a_segment_past_the_end_of_its_video_has_no_feature_in_any_table_naming_both_times(tmp_path):
    dataset = extracted(tmp_path)
    found = errors(dataset)
    for table in TABLES:
        features = rows(dataset, table)
        for sample_id in ("vA[1]", "vA[2]"):
            assert features[sample_id]["feature"] is None, (table, sample_id)
            error = found[(table, sample_id)]
            assert error["stage"] == "load" and error["error_type"] == "MediaError"
            assert error["path"].endswith(LABELS_FILE)
            assert ("runs 1.000s past the end of video 'vA' (6.000s, where its rows end over the .csd files)"
                    in error["reason"]), error["reason"]
    assert "segment vA[1] [4s, 7s] of CMU_MOSI_Opinion_Labels.csd" in found[("audio.covarep", "vA[1]")]["reason"]
    assert check_dataset(dataset.root).ok


def test_a_shorter_overrun_keeps_the_rows_up_to_the_end_of_the_video(tmp_path):
    dataset = extracted(tmp_path)
    covarep, facet = rows(dataset, "audio.covarep")["vA[4]"], rows(dataset, "video.facet-41")["vA[4]"]
    assert len(covarep["feature"]) == 200 and covarep["intervals"][-1] == [5.99, 6.0]
    assert len(facet["feature"]) == 60 and facet["intervals"][-1][1] == pytest.approx(6.0)
    assert not {key for key in errors(dataset) if key[1] == "vA[4]"}


def test_a_segment_no_row_of_a_table_overlaps_has_no_feature_there_only(tmp_path):
    dataset = extracted(tmp_path)
    found = errors(dataset)
    assert rows(dataset, "text.words")["vA[3]"]["feature"] is None  # a pause between "loved" and "it"
    assert rows(dataset, "text.words")["vA[3]"]["words"] is None
    error = found[("text.words", "vA[3]")]
    assert error["error_type"] == "DatasetError"
    assert "no row of 'text.words' overlaps segment vA[3] [2.6s, 2.9s]" in error["reason"], error["reason"]
    assert "its rows of video 'vA' span 0..6s" in error["reason"]
    assert len(rows(dataset, "audio.covarep")["vA[3]"]["feature"]) == 30
    assert ("audio.covarep", "vA[3]") not in found and ("video.facet-41", "vA[3]") not in found
    # Every null feature has its errors row, and nothing else failed.
    for table in TABLES:
        nulls = {k for k, r in rows(dataset, table).items() if r["feature"] is None}
        assert nulls == {k for t, k in found if t == table}, table
    assert {k for _, k in found} == {"vA[1]", "vA[2]", "vA[3]"}


def test_with_on_error_fail_a_segment_past_the_end_stops_the_extraction(tmp_path):
    with pytest.raises(ExtractionError, match=r"sample 'vA\[1\]'.*runs 1.000s past the end of video 'vA'"):
        extracted(tmp_path, on_error="fail")


def test_extracting_with_the_labels_fails_the_same_segments_as_segment_for_the_same_reasons(tmp_path):
    loaded = extracted(tmp_path)
    videos = tmp_path / "videos-csd"
    write_videos(videos)
    extract("csd", videos, tmp_path / "videos", extractors=[], corpus_options={"labels": "none"}, num_workers=0)
    segment_dataset(tmp_path / "videos", tmp_path / "cut", tmp_path / "csd" / LABELS_FILE)
    cut = open_dataset(tmp_path / "cut")
    for table in TABLES:
        columns = ["sample_id", "feature", "intervals"]
        assert cut.table(table).to_table().select(columns).equals(loaded.table(table).to_table().select(columns))

    def explained(dataset, known_by):
        return {key: (r["error_type"], r["reason"].replace(known_by, "<end>")) for key, r in errors(dataset).items()}

    assert explained(loaded, "where its rows end over the .csd files") == explained(
        cut, ROWS_END_ESTIMATE)
