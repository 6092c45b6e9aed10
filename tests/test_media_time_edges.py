"""Time at the edges of media: a mean over video frames weighs each frame by the time it stands for;
manifest segments count from the start of their media file (an MPEG-TS or MP4 time line that starts
after 0); a .csd interval before 0 s is refused at extract time, naming file, video and row."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mmdata.checks import check_dataset
from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError, MediaError
from mmdata.features import create_extractor
from mmdata.media.video import read_video_frames
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import COVAREP_FILE, COVAREP_ROOT, write_mosi_csd, write_sdk_csd
from tests.video_streams.conftest import ffmpeg, frame_index, write_clip

# --- video-frames mean pooling ---------------------------------------------------------------------------------


def frames_and_mean(clip, row: dict, fps: float = 1.0):
    """(per-frame vectors, their intervals, the pooled mean) of `row` through video-frames with pixel-stats."""
    spec = f"video-frames:image_extractor=pixel-stats,fps={fps}"
    per_frame, pooled = create_extractor(spec), create_extractor(spec + ",pool=mean")
    row = {"sample_id": "s", "video": clip.name, **row}
    ((vectors, intervals),) = per_frame.compute([per_frame.decode(row, clip.parent)])
    (mean,) = pooled.compute([pooled.decode(row, clip.parent)])
    return np.asarray(vectors, np.float64), intervals, np.asarray(mean)


def test_mean_pooling_weighs_a_short_last_frame_by_the_time_it_covers(tmp_path):
    # 2.2 s at 1 fps: frames at 0, 1 and 2 s; the last stands for 0.2 s of video.
    clip = write_clip(tmp_path / "clip.mp4", fps=10, frames=22)
    vectors, intervals, mean = frames_and_mean(clip, {})
    np.testing.assert_allclose(intervals, [[0.0, 1.0], [1.0, 2.0], [2.0, 2.2]], atol=1e-9)
    reference = (vectors[0] * 1.0 + vectors[1] * 1.0 + vectors[2] * 0.2) / 2.2
    np.testing.assert_allclose(mean, reference, rtol=1e-6, atol=1e-6)
    assert not np.allclose(mean, vectors.mean(axis=0), rtol=1e-3)  # equal weights would be another vector


def test_mean_pooling_clips_the_last_frame_to_the_segment_end(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4")  # 2.0 s
    vectors, intervals, mean = frames_and_mean(clip, {"start": 0.5, "end": 2.0})
    np.testing.assert_allclose(intervals, [[0.5, 1.5], [1.5, 2.0]], atol=1e-9)
    np.testing.assert_allclose(mean, np.average(vectors, axis=0, weights=[1.0, 0.5]), rtol=1e-6, atol=1e-6)


def test_mean_pooling_of_frames_of_equal_intervals_is_the_plain_mean(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4")  # 2.0 s at 2 fps: four whole frame periods
    vectors, intervals, mean = frames_and_mean(clip, {}, fps=2.0)
    assert len(intervals) == 4
    np.testing.assert_allclose(mean, vectors.mean(axis=0), rtol=1e-6, atol=1e-6)


# --- manifest segments on a time line that starts after 0 ------------------------------------------------------


@pytest.fixture(scope="module")
def offset_corpus(tmp_path_factory):
    """One 2 s clip (frame k grey level 10k) three ways: starting at 0, as an MP4 whose timestamps start at
    1.5 s, and as MPEG-TS (its muxing delay starts it near 1.4 s, re-encoded near-losslessly)."""
    root = tmp_path_factory.mktemp("offset")
    plain = write_clip(root / "videos" / "plain.mp4")
    ffmpeg("-i", str(plain), "-c", "copy", "-output_ts_offset", "1.5", str(root / "videos" / "late.mp4"))
    ffmpeg("-i", str(plain), "-c:v", "mpeg4", "-q:v", "1", str(root / "videos" / "capture.ts"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=2", str(root / "speech.wav"))
    return root


def write_manifest(root, rows) -> None:
    (root / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_decoders_read_segments_in_the_file_s_own_timestamps(offset_corpus):
    # The rule the loader builds on: [0, 1] s of a file whose first frame is at 1.5 s has no frame.
    late = offset_corpus / "videos" / "late.mp4"
    assert read_video_frames(late, fps=10).intervals[0, 0] == pytest.approx(1.5)
    with pytest.raises(MediaError, match=r"late\.mp4: no frames in segment \[0\.0, 1\.0\] \(video starts at 1\.500s\)"):
        read_video_frames(late, fps=10, start=0.0, end=1.0)


def test_manifest_segments_count_from_the_start_of_the_media_file(offset_corpus, tmp_path):
    write_manifest(offset_corpus, [
        {"id": "plain", "video": "videos/plain.mp4", "start": 0.0, "end": 0.5},
        {"id": "late", "video": "videos/late.mp4", "start": 0.0, "end": 0.5},
        {"id": "capture", "video": "videos/capture.ts", "start": 0.0, "end": 0.5},
    ])
    samples = {s.sample_id: s for s in load_corpus("manifest", offset_corpus).samples}
    assert (samples["plain"].start, samples["plain"].extra) == (0.0, {})
    assert (samples["late"].start, samples["late"].end) == pytest.approx((1.5, 2.0))
    assert samples["late"].extra == {"media_start": pytest.approx(1.5)}
    assert samples["capture"].start == pytest.approx(samples["capture"].extra["media_start"]) and samples["capture"].start > 1

    extract("manifest", offset_corpus, tmp_path / "out", extractors=["video-frames:image_extractor=pixel-stats,fps=10"],
            num_workers=0, on_error="fail")
    table = open_dataset(tmp_path / "out").table("video.frames-pixel-stats").to_table().to_pylist()
    rows = {r["sample_id"]: r for r in table}
    plain = np.asarray(rows["plain"]["feature"])
    for name in ("late", "capture"):  # the first half second of content, frame for frame
        np.testing.assert_allclose(np.asarray(rows[name]["feature"]), plain, atol=1e-3)
    report = check_dataset(tmp_path / "out")
    assert not report.errors, report.errors


def test_a_media_start_column_overrides_the_start_read_from_the_file(offset_corpus):
    # media_start=0: start/end are the file's own timestamps, as before the loader read the file's start.
    write_manifest(offset_corpus, [{"id": "own", "video": "videos/late.mp4", "start": 1.5, "end": 2.0, "media_start": 0}])
    (sample,) = load_corpus("manifest", offset_corpus).samples
    assert (sample.start, sample.end, sample.extra) == (1.5, 2.0, {"media_start": 0})
    clip = read_video_frames(offset_corpus / "videos" / "late.mp4", fps=10, start=sample.start, end=sample.end)
    assert frame_index(clip.frames[0]) == 0


def test_whole_files_and_wav_segments_are_kept_as_written(offset_corpus):
    write_manifest(offset_corpus, [{"id": "whole", "video": "videos/late.mp4"},
                                   {"id": "wav", "audio": "speech.wav", "start": 0.25, "end": 1.0}])
    samples = {s.sample_id: (s.start, s.end, s.extra) for s in load_corpus("manifest", offset_corpus).samples}
    assert samples == {"whole": (None, None, {}), "wav": (0.25, 1.0, {})}


def test_audio_and_video_files_starting_at_other_times_are_a_row_problem(offset_corpus):
    write_manifest(offset_corpus, [{"id": "pair", "video": "videos/late.mp4", "audio": "speech.wav", "start": 0.0, "end": 1.0},
                                   {"id": "ok", "video": "videos/late.mp4", "start": 0.0, "end": 1.0}])
    result = load_corpus("manifest", offset_corpus)
    assert [s.sample_id for s in result.samples] == ["ok"]
    (problem,) = result.problems
    assert problem.sample_id == "pair" and problem.path.endswith("manifest.jsonl:1")
    assert re.search(r"time lines start at 0 s and 1\.5 s.*row left out, give it a 'media_start' column", problem.reason)


# --- .csd intervals before 0 s -----------------------------------------------------------------------------------


def csd_corpus_with_start(root, start: float):
    """The fake MOSI .csd corpus (whole videos) whose COVAREP row 0 of video 'abc' starts at `start`."""
    fake = write_mosi_csd(root, labels=False)
    data = dict(fake.data[COVAREP_FILE])
    features, intervals = data["abc"]
    intervals = intervals.copy()
    intervals[0, 0] = start
    data["abc"] = (features, intervals)
    write_sdk_csd(fake.files[COVAREP_FILE], COVAREP_ROOT, data)
    return fake


@pytest.mark.parametrize("start", [-0.01, -1e-4])
def test_a_csd_interval_starting_before_zero_is_refused_naming_file_video_and_row(tmp_path, start):
    fake = csd_corpus_with_start(tmp_path / "csd", start)
    expected = (rf"CMU_MOSI_COVAREP\.csd \[COAVAREP/data/abc\]: interval row 0 starts at {re.escape(repr(start))} s, "
                r"before the start of the video; expected start >= 0 \(1 such rows\); .*fix those rows in the file")
    with pytest.raises(CorpusFormatError, match=expected):
        extract("csd", fake.root, tmp_path / "fail", extractors=[], num_workers=0, on_error="fail")

    extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)
    assert sorted(s.sample_id for s in load_corpus("csd", fake.root).samples) == ["abcd", "x9Y_z-1"]
    issues = check_dataset(tmp_path / "out").issues
    assert not [i for i in issues if i.code == "intervals-negative"]
    assert [i.examples for i in issues if i.code == "loader-errors"] == [("abc",)]
