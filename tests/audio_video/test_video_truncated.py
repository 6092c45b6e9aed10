"""A truncated video is a MediaError naming what the file declares and where decoding stopped, never a
shorter clip; intact files, segments inside the part that is there, and small overruns are unaffected."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmdata.errors import MediaError
from mmdata.media.video import read_video_frames
from mmdata.pipeline import extract
from mmdata.store.reader import open_dataset
from tests.fakes.av import tone, write_fake_mosi_cmu, write_fake_mosi_generic

FPS, FRAMES, KEEP = 10, 20, 8  # a 2 s clip at 10 fps, cut where its 9th frame's data starts


def write_faststart_video(path: Path, *, fps: int = FPS, frames: int = FRAMES, audio_seconds: float = 0.0,
                          fmt: str | None = None) -> Path:
    """A clip of `frames` frames (MPEG-4 part 2, no B-frames) with its index at the front of the file
    (MP4 `+faststart`; Matroska writes its header first anyway), so a cut file still opens.
    `audio_seconds` > 0 adds an AAC track of that length."""
    import av

    from tests.fakes.av import _encode_audio

    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "+faststart"} if path.suffix == ".mp4" else {}
    with av.open(str(path), mode="w", format=fmt, options=options) as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 32, 24, "yuv420p"
        video.options = {"qmin": "1", "qmax": "3"}
        sound = container.add_stream("aac", rate=16000, layout="mono") if audio_seconds else None
        for index in range(frames):
            rgb = np.full((24, 32, 3), (32 + 9 * index, 96, 224 - 9 * index), np.uint8)
            container.mux(video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(video.encode(None))
        if sound is not None:
            _encode_audio(container, sound, tone(330, audio_seconds), 16000)
    return path


def truncate_before_frame(source: Path, target: Path, keep: int) -> Path:
    """Copy `source` up to the first byte of video frame `keep` (in decoding order): `keep` frames remain."""
    import av

    with av.open(str(source)) as container:
        positions = [packet.pos for packet in container.demux(container.streams.video[0]) if packet.size]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes()[: positions[keep]])
    return target


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("truncated")
    intact = write_faststart_video(root / "intact.mp4", audio_seconds=2.5)  # audio runs past the video's end
    return {"intact": intact, "truncated": truncate_before_frame(intact, root / "truncated.mp4", KEEP)}


TRUNCATED = (r"truncated\.mp4: video truncated: the container declares 20 frames / 2\.00 s, "
             r"decoding stopped at 0\.80 s{}; re-encode or replace the file$")


def test_a_cut_file_still_opens_and_declares_the_whole_clip(clips):
    import av

    with av.open(str(clips["truncated"])) as container:
        stream = container.streams.video[0]
        assert (stream.frames, float(stream.duration * stream.time_base)) == (FRAMES, 2.0)
        assert sum(1 for _ in container.decode(stream)) == KEEP  # what PyAV alone gives: a shorter clip


def test_reading_a_truncated_video_is_a_media_error_naming_the_declared_and_decoded_ends(clips):
    with pytest.raises(MediaError, match=TRUNCATED.format("")):
        read_video_frames(clips["truncated"], fps=10.0)
    with pytest.raises(MediaError, match=TRUNCATED.format("")):  # pooled or not, max_frames above what is there
        read_video_frames(clips["truncated"], fps=2.0, max_frames=100, convert=lambda rgb, t: rgb.mean())


def test_a_segment_past_the_cut_is_a_media_error_naming_the_segment_end(clips):
    with pytest.raises(MediaError, match=TRUNCATED.format(r" \(segment end 1\.50 s\)")):
        read_video_frames(clips["truncated"], fps=10.0, start=0.5, end=1.5)
    with pytest.raises(MediaError, match=TRUNCATED.format(r" \(segment end 1\.80 s\)")):  # not "no frames in segment"
        read_video_frames(clips["truncated"], fps=10.0, start=1.2, end=1.8)


def test_what_the_truncated_file_does_hold_still_reads(clips):
    # A segment ending before the cut, or max_frames reached before it: decoding never reaches the cut.
    clip = read_video_frames(clips["truncated"], fps=10.0, start=0.2, end=0.7)
    np.testing.assert_allclose(clip.intervals[[0, -1]], [[0.2, 0.3], [0.6, 0.7]])
    assert len(read_video_frames(clips["truncated"], fps=10.0, max_frames=5)) == 5
    # Stopping within one frame of the segment end is not a truncation (the overrun rule judges it).
    assert len(read_video_frames(clips["truncated"], fps=10.0, start=0.0, end=0.85)) == 8


def test_intact_files_and_segments_inside_them_are_unaffected(clips, tmp_path):
    clip = read_video_frames(clips["intact"], fps=10.0)
    assert len(clip) == FRAMES and clip.intervals[-1].tolist() == pytest.approx([1.9, 2.0])
    clip = read_video_frames(clips["intact"], fps=4.0, start=0.5, end=1.5)
    np.testing.assert_allclose(clip.intervals[[0, -1]], [[0.5, 0.75], [1.25, 1.5]])
    # A segment end a little past the video's end (the overrun rule's to judge) is not a truncation.
    clip = read_video_frames(clips["intact"], fps=10.0, start=1.0, end=2.1)
    assert clip.intervals[-1].tolist() == pytest.approx([1.9, 2.0])
    # Matroska states no stream duration: its DURATION tag counts, not the longer audio track's end.
    mkv = write_faststart_video(tmp_path / "intact.mkv", audio_seconds=3.0)
    assert len(read_video_frames(mkv, fps=10.0)) == FRAMES


def test_a_truncated_matroska_file_is_a_media_error_from_its_duration_tag(tmp_path):
    mkv = write_faststart_video(tmp_path / "intact.mkv")
    cut = truncate_before_frame(mkv, tmp_path / "cut.mkv", KEEP)
    with pytest.raises(MediaError, match=r"cut\.mkv: video truncated: the container declares 2\.00 s, decoding stopped "
                                         r"at 0\.[0-9]0 s; re-encode or replace the file$"):
        read_video_frames(cut, fps=10.0)


def test_extract_records_the_truncated_clip_in_the_errors_table_and_keeps_the_others(clips, tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "mosi")
    bad = fake.root / "Raw/Video/Segmented/Xy9_1.mp4"
    bad.write_bytes(clips["truncated"].read_bytes())
    report = extract("mosi-raw", fake.root, tmp_path / "out", extractors=["video-frames:image_extractor=color-hist,fps=10"],
                     num_workers=0)
    [table] = report.tables
    data = open_dataset(tmp_path / "out")
    errors = {e["sample_id"]: e for e in data.errors().to_pylist() if e["table"] == table.name}
    assert errors["Xy9_1"]["error_type"] == "MediaError" and errors["Xy9_1"]["stage"] == "decode"
    assert errors["Xy9_1"]["path"] == "Raw/Video/Segmented/Xy9_1.mp4"
    assert errors["Xy9_1"]["reason"] == (f"{bad}: video truncated: the container declares 20 frames / 2.00 s, "
                                         "decoding stopped at 0.80 s; re-encode or replace the file")
    features = {r["sample_id"]: r for r in data.table(table.name).to_table().to_pylist()}
    assert features["Xy9_1"]["feature"] is None
    assert "a_b-1_1" not in errors and len(features["a_b-1_1"]["feature"]) == 5  # the intact clip: 0.5 s at 10 fps
    assert table.errors == len(errors)


def test_extract_cuts_segments_out_of_a_truncated_recording_up_to_the_cut(clips, tmp_path):
    fake = write_fake_mosi_generic(tmp_path / "generic")
    recording = fake.root / "video/rec2.mp4"  # segment rec2_a is [0.5, 1.5] of it
    recording.write_bytes(clips["truncated"].read_bytes())
    (fake.root / "segments.csv").write_text(
        (fake.root / "segments.csv").read_text() + "rec2_early,0.0,test,rec2,,video/rec2.mp4,0.1,0.6,early\n")
    report = extract("mosi-raw", fake.root, tmp_path / "out", extractors=["video-frames:image_extractor=color-hist,fps=10"],
                     num_workers=0)
    data = open_dataset(tmp_path / "out")
    errors = {e["sample_id"]: e["reason"] for e in data.errors().to_pylist() if e["table"] == report.tables[0].name}
    assert errors["rec2_a"] == (f"{recording}: video truncated: the container declares 20 frames / 2.00 s, decoding "
                                "stopped at 0.80 s (segment end 1.50 s); re-encode or replace the file")
    assert "rec2_early" not in errors
    early = next(r for r in data.table(report.tables[0].name).to_table().to_pylist() if r["sample_id"] == "rec2_early")
    np.testing.assert_allclose(early["intervals"][-1], [0.5, 0.6])
