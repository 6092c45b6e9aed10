"""A video-frames table capped at `max_frames` checks clean: its frame count and coverage are judged
against the cap, not against duration x fps."""
from __future__ import annotations

import json

from mmdata.checks import check_dataset
from mmdata.pipeline import extract
from tests.video_streams.conftest import write_clip


def _issues(report, codes):
    return [i for i in report.issues if i.code in codes]


def test_a_table_capped_at_max_frames_has_no_frame_count_or_coverage_issue(tmp_path):
    corpus = tmp_path / "corpus"
    write_clip(corpus / "clip.mp4")
    rows = [{"id": "seg", "video": "clip.mp4", "start": 0.0, "end": 2.0, "text": "a clip"}]
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for cap, out in ((3, tmp_path / "capped"), (0, tmp_path / "whole")):
        extract("manifest", corpus, out, extractors=[f"video-frames:fps=5,max_frames={cap}"], num_workers=0)
    capped = check_dataset(tmp_path / "capped")
    assert not _issues(capped, ("frame-count", "coverage-low")), capped.issues
    assert not _issues(check_dataset(tmp_path / "whole"), ("frame-count", "coverage-low"))
