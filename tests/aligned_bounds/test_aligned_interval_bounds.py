"""An aligned table (`X@REF`) carries REF's intervals over features of X's medium, so `check` holds its
intervals to the union of both media, not to X's alone: the MOSI demo's MP4 runs up to a frame past
its WAV (its length is the WAV's rounded up to whole frames), and audio aligned to the video frames
then has a last interval ending past the WAV, which holds the audio of the overlap. An interval past
both media ends is still an error, and an unaligned table is still held to its own medium."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow as pa
import pytest

from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from mmdata.checks.temporal import union_spans
from mmdata.demo_corpora.mosi_demo import MosiDemoConfig, write_mosi_demo
from mmdata.pipeline import extract
from mmdata.share.export import share_dataset
from mmdata.store import open_dataset
from mmdata.store.shards import read_shard
from mmdata.store.writer import write_table_atomic

AUDIO, VIDEO = "audio.librosa-logmel", "video.frames-color-hist"
ALIGNED = f"{AUDIO}@{VIDEO}"


@pytest.fixture(scope="module")
def aligned_demo(tmp_path_factory):
    """The reported path: a 3-video tones demo, video frames and log-mels extracted, audio aligned to the frames."""
    root = tmp_path_factory.mktemp("aligned-bounds")
    write_mosi_demo(root / "corpus", MosiDemoConfig(num_videos=3, segments_per_video=2, audio="tones"))
    extract("mosi-raw", root / "corpus", root / "ds", num_workers=0,
            extractors=["video-frames:image_extractor=color-hist", "librosa-logmel"])
    align_dataset(root / "ds", VIDEO, tables=[AUDIO])
    return root / "ds"


def media_ends(dataset_dir) -> dict[str, tuple[float, float]]:
    """{sample id: (audio duration, video duration)} as the loader recorded them."""
    rows = open_dataset(dataset_dir).samples_table(columns=["sample_id", "extra"]).to_pylist()
    return {r["sample_id"]: (json.loads(r["extra"])["audio_duration"], json.loads(r["extra"])["video_duration"])
            for r in rows}


def last_interval_ends(dataset_dir, table: str) -> dict[str, float]:
    (shard,) = open_dataset(dataset_dir).table_files(table)
    return {r["sample_id"]: r["intervals"][-1][1] for r in read_shard(shard).to_pylist()}


def set_last_end(dataset_dir, table: str, end: float) -> str:
    """Move the end of the first sample's last interval to `end`; that sample's id."""
    (shard,) = open_dataset(dataset_dir).table_files(table)
    data = read_shard(shard)
    rows = data.to_pylist()
    rows[0]["intervals"][-1][1] = end
    write_table_atomic(pa.Table.from_pylist(rows, schema=data.schema), shard)
    return rows[0]["sample_id"]


def copy_of(dataset_dir, tmp_path):
    shutil.copytree(dataset_dir, tmp_path / "ds")
    return tmp_path / "ds"


def outside(report, table: str) -> list:
    return [i for i in report.issues if i.code == "intervals-outside" and i.table == table]


def test_the_demo_aligned_to_video_frames_has_intervals_past_the_wav(aligned_demo):
    ends, media = last_interval_ends(aligned_demo, ALIGNED), media_ends(aligned_demo)
    assert any(end > media[sample][0] + 0.01 for sample, end in ends.items())  # the reported case
    assert all(end <= media[sample][1] + 1e-6 for sample, end in ends.items())  # within the MP4


def test_audio_aligned_to_video_frames_checks_clean_and_shares(aligned_demo, tmp_path):
    report = check_dataset(aligned_demo)
    assert report.ok, [i.message for i in report.errors]
    assert not [i for i in report.issues if i.code == "intervals-outside"]
    shared = share_dataset(aligned_demo, tmp_path / "share")
    assert shared.checks.ok and shared.rows == 6
    assert (tmp_path / "share" / "checksums.sha256").is_file()


def test_an_aligned_interval_past_both_media_ends_is_still_reported(aligned_demo, tmp_path):
    dataset = copy_of(aligned_demo, tmp_path)
    longest = max(max(ends) for ends in media_ends(dataset).values())
    sample = set_last_end(dataset, ALIGNED, longest + 0.5)
    report = check_dataset(dataset)
    (issue,) = outside(report, ALIGNED)
    assert issue.severity == "error" and sample == issue.sample_id and "past the media" in issue.message
    assert not report.ok


def test_an_unaligned_audio_interval_past_its_wav_is_still_reported_within_the_mp4(aligned_demo, tmp_path):
    dataset = copy_of(aligned_demo, tmp_path)
    sample = next(iter(last_interval_ends(dataset, AUDIO)))
    wav, mp4 = media_ends(dataset)[sample]
    assert mp4 > wav + 0.05
    assert set_last_end(dataset, AUDIO, mp4) == sample
    (issue,) = outside(check_dataset(dataset), AUDIO)
    assert sample == issue.sample_id and f"{wav:.6g}" in issue.message


def test_union_spans_takes_the_wider_bound_and_the_known_one_where_one_is_unknown():
    nan = np.nan
    own = (np.array([0.0, nan, 0.2]), np.array([1.54, nan, nan]), np.array([1.54, nan, nan]))
    reference = (np.array([0.0, 0.0, nan]), np.array([1.6, 2.0, nan]), np.array([1.6, 2.0, nan]))
    lo, hi, end = union_spans(own, reference)
    np.testing.assert_array_equal(lo, [0.0, 0.0, 0.2])
    np.testing.assert_array_equal(hi, [1.6, 2.0, nan])
    np.testing.assert_array_equal(end, [1.6, 2.0, nan])
