"""A segment past the end of its video fails (the media rule of docs/corpora.md, as in audio extraction) and every
segment left without a row in a table is recorded in the errors table, so `check`, `fuse` and `export-csd`
find the reason they name."""
from __future__ import annotations

import json
import math
import re
from types import SimpleNamespace

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.features.audio import SEGMENT_OVERRUN_TOLERANCE
from mmdata.formats.csd_export import export_csd
from mmdata.fusion import fuse
from mmdata.store import open_dataset
from tests.segment_export.corpus import segmented, videos_dataset, write_labels

TABLES = ("audio.covarep", "text.words", "video.facet-41")
# vA is 6 s long: [4, 7] runs 1 s (a third) past its end, [10, 11] lies wholly after it, [4, 6.2] runs 0.2 s
# (9% of its length) past it; vA[3] [2.6, 2.9] lies in a pause between two words.
PAST_END = {
    "vA": [(0.0, 2.0, 1.0), (4.0, 7.0, 2.0), (10.0, 11.0, 1.0), (2.6, 2.9, 0.0), (4.0, 6.2, -1.0)],
    "vB": [(0.0, 3.0, 0.5)],
}


def features(dataset, table):
    return {r["sample_id"]: r["feature"] for r in dataset.table(table).to_table().to_pylist()}


def errors(dataset):
    return {(r["table"], r["sample_id"]): r for r in dataset.errors().to_pylist()}


def test_a_segment_past_the_end_of_its_video_fails_in_every_table_naming_both_times(tmp_path):
    out, report = segmented(tmp_path, PAST_END)
    dataset = open_dataset(out)
    found = errors(dataset)
    for table in TABLES:
        rows = features(dataset, table)
        assert rows["vA[1]"] is None and rows["vA[2]"] is None, table  # the SDK would cut [4, 7], give [10, 11] no key
        for sample_id in ("vA[1]", "vA[2]"):
            error = found[(table, sample_id)]
            assert error["stage"] == "segment" and error["error_type"] == "MediaError"
            assert "runs 1.000s past the end of video 'vA' (6.000s" in error["reason"], error["reason"]
        assert report.overrun[table] == 2
    assert "segment vA[1] [4s, 7s]" in found[("audio.covarep", "vA[1]")]["reason"]


def test_a_shorter_overrun_keeps_the_rows_up_to_the_end_of_the_video(tmp_path):
    out, _ = segmented(tmp_path, PAST_END)
    dataset = open_dataset(out)
    rows = {r["sample_id"]: r for r in dataset.table("audio.covarep").to_table().to_pylist()}
    assert 0.2 <= SEGMENT_OVERRUN_TOLERANCE * 2.2 + 1e-9
    assert len(rows["vA[4]"]["feature"]) == 200 and rows["vA[4]"]["intervals"][-1] == [5.99, 6.0]
    assert ("audio.covarep", "vA[4]") not in errors(dataset)


def test_a_segment_no_row_of_a_table_overlaps_has_no_feature_and_an_errors_row_there_only(tmp_path):
    out, report = segmented(tmp_path, PAST_END)
    dataset = open_dataset(out)
    found = errors(dataset)
    assert features(dataset, "text.words")["vA[3]"] is None  # a pause: no word
    error = found[("text.words", "vA[3]")]
    assert error["error_type"] == "DatasetError" and "no row of 'text.words' overlaps segment vA[3]" in error["reason"]
    assert len(features(dataset, "audio.covarep")["vA[3]"]) == 30 and ("audio.covarep", "vA[3]") not in found
    assert report.empty == {"audio.covarep": 0, "text.words": 1, "video.facet-41": 0}


def test_every_null_feature_has_its_errors_row_so_check_passes_and_fuse_names_a_true_reason(tmp_path):
    out, _ = segmented(tmp_path, PAST_END)
    report = check_dataset(out)
    assert report.ok, [(i.code, i.table, i.message) for i in report.errors]
    assert not [i for i in report.issues if i.code == "feature-null"]
    dataset = open_dataset(out)
    found = errors(dataset)
    for table in TABLES:
        nulls = {k for k, v in features(dataset, table).items() if v is None}
        assert nulls and nulls == {k for t, k in found if t == table}, table
    with pytest.raises(DatasetError, match="the reason is in the errors table") as stopped:
        fuse(out, tmp_path / "fused", tables=["audio.covarep", "video.facet-41"], missing="error", normalize="none")
    named = re.search(r"table '([^']+)', sample '([^']+)'", str(stopped.value)).groups()
    assert named in found  # the reason fuse points at is there


def test_export_leaves_failed_segments_out_as_the_sdk_gives_them_no_key(tmp_path):
    out, _ = segmented(tmp_path, PAST_END)
    written = export_csd(out, tmp_path / "back", tables=["audio.covarep"])
    import h5py

    with h5py.File(written[0]) as h5:
        assert sorted(h5["COAVAREP/data"]) == ["vA[0]", "vA[3]", "vA[4]", "vB[0]"]


def test_the_segment_command_says_how_many_failed_and_why(tmp_path):
    videos = videos_dataset(tmp_path)
    labels = write_labels(tmp_path / "lbl" / "labels.csd", PAST_END)
    result = CliRunner().invoke(app, ["segment", str(videos), str(tmp_path / "out"), "--labels", str(labels)])
    assert result.exit_code == 0, result.output
    assert ("table text.words: 6 rows, 3 failed (2 past the end of their video, 1 with no row; reasons in the "
            "errors table)") in result.output


def test_the_media_duration_the_samples_record_bounds_the_video_before_its_rows():
    from mmdata.alignment.segment import _table_ends

    samples = pa.table({"sample_id": ["v", "w", "x"], "extra": [json.dumps({"duration": 4.0}),
                                                               json.dumps({"audio_duration": "2.5"}), None]})
    source = SimpleNamespace(samples_table=lambda columns: samples.select(columns),
                             entry=lambda name: SimpleNamespace(modality="audio"))
    ends = _table_ends(source, "audio.x", {"v": 6.0, "w": 6.0, "x": 6.0})
    assert ends["v"] == (4.0, "its media duration") and ends["w"][0] == 2.5
    assert ends["x"][0] == 6.0 and "rows" in ends["x"][1]
    assert "y" not in _table_ends(source, "audio.x", {}) and not math.isnan(ends["v"][0])
