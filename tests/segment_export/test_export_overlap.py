"""`export-csd` warns when it writes segment-keyed tables whose segments overlap: each key holds all
of its segment's rows, and the SDK's align joins a video's `vid[i]` keys before cutting, so rows in an overlap
come back once per segment they fall in."""
from __future__ import annotations

import logging

from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.formats.csd_export import export_csd
from tests.segment_export.corpus import SEGMENTS, segmented, videos_dataset

runner = CliRunner()
APART = {"vA": [(0.0, 2.0, 1.5), (2.0, 4.0, -0.5), (4.0, 6.0, 2.0)], "vB": [(0.0, 1.5, 0.0), (1.5, 3.0, -1.0)]}


def test_overlapping_segments_are_warned_about_in_the_log_and_the_result(tmp_path, caplog):
    out, _ = segmented(tmp_path, SEGMENTS)  # vA[3] [1, 3] overlaps vA[0] [0, 2] and vA[1] [2, 4]
    with caplog.at_level(logging.WARNING, logger="mmdata.formats.csd_export"):
        written = export_csd(out, tmp_path / "back", tables=["audio.covarep"])
    [warning] = [w for w in written.warnings if "overlap" in w]
    assert warning.startswith("2 segments overlap an earlier segment of their video (e.g. vA[3] [1s, 3s] and "
                              "vA[0] [0s, 2s])")
    assert "once per segment they fall in" in warning and "SDK" in warning
    assert warning in caplog.messages


def test_the_cli_prints_the_overlap_warning(tmp_path):
    out, _ = segmented(tmp_path, SEGMENTS)
    result = runner.invoke(app, ["export-csd", str(out), str(tmp_path / "back")])
    assert result.exit_code == 0, result.output
    assert "warning: 2 segments overlap an earlier segment of their video" in result.output


def test_segments_that_only_touch_and_whole_videos_give_no_warning(tmp_path):
    out, _ = segmented(tmp_path, APART)
    assert not [w for w in export_csd(out, tmp_path / "back").warnings if "overlap" in w]
    whole = videos_dataset(tmp_path / "whole")
    assert export_csd(whole, tmp_path / "whole-back").warnings == []

