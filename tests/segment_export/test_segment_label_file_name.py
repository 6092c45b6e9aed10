"""`segment --labels FILE` reads FILE as labels whatever its name: segments in file order (not
sorted by start) are the SDK's numbering, not an unsorted feature sequence that drops the video."""
from __future__ import annotations

from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.store import open_dataset
from tests.segment_export.corpus import SEGMENTS, segmented, videos_dataset, write_labels

runner = CliRunner()


def test_a_label_file_not_named_like_labels_keeps_every_video_and_its_file_order(tmp_path):
    out, report = segmented(tmp_path, label_file="sentiment.csd", root="Sentiment")
    assert report.problems == []  # vA's segments are not sorted by start: no problem for a label file
    samples = {r["sample_id"]: r for r in open_dataset(out).samples_table().to_pylist()}
    expected = {f"{v}[{i}]": (a, b, label) for v, segs in SEGMENTS.items() for i, (a, b, label) in enumerate(segs)}
    assert {k: (r["start"], r["end"], r["label"]) for k, r in samples.items()} == expected


def test_the_same_labels_give_the_same_segments_under_any_file_name(tmp_path):
    named, _ = segmented(tmp_path / "named", label_file="CMU_MOSI_Opinion_Labels.csd")
    plain, _ = segmented(tmp_path / "plain", label_file="sentiment.csd", root="Sentiment")
    columns = ["sample_id", "start", "end", "label", "transcript"]
    assert open_dataset(named).samples_table(columns).equals(open_dataset(plain).samples_table(columns))
    for name in ("audio.covarep", "text.words"):
        assert open_dataset(named).table(name).to_table().select(["sample_id", "feature", "intervals"]).equals(
            open_dataset(plain).table(name).to_table().select(["sample_id", "feature", "intervals"])), name


def test_the_segment_command_names_no_loader_option_for_an_unsorted_label_file(tmp_path):
    videos = videos_dataset(tmp_path)
    labels = write_labels(tmp_path / "lbl" / "sentiment.csd", SEGMENTS, root="Sentiment")
    result = runner.invoke(app, ["segment", str(videos), str(tmp_path / "out"), "--labels", str(labels)])
    assert result.exit_code == 0, result.output
    assert "samples: 6 segments of 2 videos" in result.output
    assert "unsorted=sort" not in result.output and "left out of every table" not in result.output
