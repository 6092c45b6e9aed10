"""The demo corpus generators: native formats the loaders read, the known structure, determinism."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf

from mmdata.corpora.base import load_corpus
from mmdata.demo_corpora.mosi_demo import (
    AUDIO_DIR,
    SENTIMENT_WORDS,
    TRANSCRIPT_DIR,
    VIDEO_DIR,
    MosiDemoConfig,
    cue_color,
    write_mosi_demo,
)
from mmdata.demo_corpora.shapes_demo import COLORS, POSITIONS, SHAPES, SIZES, ShapesDemoConfig, write_shapes_demo
from mmdata.errors import ConfigError

TONES = MosiDemoConfig(num_videos=4, segments_per_video=3, audio="tones", seed=5)


@pytest.fixture(scope="module")
def mosi_demo(tmp_path_factory):
    return write_mosi_demo(tmp_path_factory.mktemp("mosi") / "corpus", TONES)


def test_mosi_demo_is_read_by_the_mosi_raw_loader(mosi_demo):
    result = load_corpus("mosi-raw", mosi_demo.root)
    assert not result.problems
    by_id = {s.sample_id: s for s in result.samples}
    assert len(by_id) == 12 == len(mosi_demo.segments)
    for seg in mosi_demo.segments:
        sample = by_id[seg.segment_id]
        assert sample.label == pytest.approx(seg.label) and sample.transcript == seg.transcript
        assert sample.split == seg.split and sample.group_id == seg.video_id
        assert sample.audio == f"{AUDIO_DIR}/{seg.segment_id}.wav" and sample.video == f"{VIDEO_DIR}/{seg.segment_id}.mp4"


def test_mosi_demo_splits_are_by_video_and_cover_all_three(mosi_demo):
    split_of_video = {}
    for seg in mosi_demo.segments:
        assert split_of_video.setdefault(seg.video_id, seg.split) == seg.split
    assert set(split_of_video.values()) == {"train", "valid", "test"}
    folds = json.loads((mosi_demo.root / "folds.json").read_text())
    assert sorted(v for vids in folds.values() for v in vids) == sorted(split_of_video)


def test_mosi_demo_label_is_the_sum_of_the_three_cues(mosi_demo):
    with open(mosi_demo.root / "cues.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12
    for row in rows:
        total = float(row["text_cue"]) + float(row["audio_cue"]) + float(row["video_cue"])
        assert abs(float(row["label"]) - total) <= 4 * TONES.label_noise + 0.05
    for seg in mosi_demo.segments:
        assert any(word in seg.transcript.split() for word in SENTIMENT_WORDS[seg.text_cue])


def test_mosi_demo_media_are_real_wav_and_mp4_of_equal_length_showing_the_cue(mosi_demo):
    import av

    seg = mosi_demo.segments[0]
    samples, rate = sf.read(mosi_demo.root / AUDIO_DIR / f"{seg.segment_id}.wav")
    assert rate == 16000 and samples.ndim == 1 and np.abs(samples).max() > 0.05
    with av.open(str(mosi_demo.root / VIDEO_DIR / f"{seg.segment_id}.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == int(np.ceil(len(samples) / rate * TONES.fps))
    # the face disc's colour is the most common saturated colour of the frame
    pixels = frames[0].reshape(-1, 3).astype(int)
    expected = np.array(cue_color(seg.video_cue))
    assert (np.abs(pixels - expected).max(axis=1) < 30).mean() > 0.1


def test_mosi_demo_transcripts_use_the_cmu_line_format(mosi_demo):
    seg = mosi_demo.segments[0]
    lines = (mosi_demo.root / TRANSCRIPT_DIR / f"{seg.video_id}.annotprocessed").read_text().splitlines()
    assert lines[0] == f"1_DELIM_{seg.transcript}" and len(lines) == 3


def test_mosi_demo_is_deterministic(tmp_path, mosi_demo):
    again = write_mosi_demo(tmp_path / "again", TONES)
    for name in ("labels.csv", "cues.csv", "folds.json"):
        assert (again.root / name).read_bytes() == (mosi_demo.root / name).read_bytes()
    seg = again.segments[0]
    a, _ = sf.read(again.root / AUDIO_DIR / f"{seg.segment_id}.wav")
    b, _ = sf.read(mosi_demo.root / AUDIO_DIR / f"{seg.segment_id}.wav")
    assert np.array_equal(a, b)


def test_mosi_demo_speech_pitch_follows_the_audio_cue(tmp_path):
    import librosa

    info = write_mosi_demo(tmp_path / "speech", MosiDemoConfig(num_videos=3, segments_per_video=2, seed=1))
    pitches = {}
    for seg in info.segments:
        samples, rate = sf.read(info.root / AUDIO_DIR / f"{seg.segment_id}.wav", dtype="float32")
        f0 = librosa.yin(samples, fmin=60, fmax=400, sr=rate, frame_length=1024)
        pitches[seg.audio_cue] = float(np.median(f0))
    levels = sorted(pitches)
    assert len(levels) >= 2 and pitches[levels[-1]] > pitches[levels[0]] * 1.1


def test_mosi_demo_rejects_too_few_videos():
    with pytest.raises(ConfigError, match=">= 3 videos"):
        MosiDemoConfig(num_videos=2)


SHAPES_SMALL = ShapesDemoConfig(num_train=12, num_val=4, captions_per_image=3, seed=2)


@pytest.fixture(scope="module")
def shapes_demo(tmp_path_factory):
    return write_shapes_demo(tmp_path_factory.mktemp("shapes") / "corpus", SHAPES_SMALL)


def test_shapes_demo_is_read_by_the_coco_loader_with_both_splits(shapes_demo):
    result = load_corpus("coco", shapes_demo.root)
    assert not result.problems
    splits = {}
    for sample in result.samples:
        splits[sample.split] = splits.get(sample.split, 0) + 1
        truth = next(i for i in shapes_demo.images if f"{i.image_id:012d}" == sample.sample_id)
        assert list(sample.captions) == truth.captions and sample.image == f"{truth.split}/{truth.file_name}"
    assert splits == {"train2017": 12, "val2017": 4}


def test_shapes_captions_describe_colour_shape_size_and_position(shapes_demo):
    for image in shapes_demo.images:
        assert len(image.captions) == 3 and len(set(image.captions)) == 3
        for caption in image.captions:
            assert any(word in caption for word in COLORS[image.color][1])
            assert any(word in caption for word in SHAPES[image.shape])
            assert any(word in caption for word in POSITIONS[image.position][1])
        assert any(word in c for c in image.captions for word in SIZES[image.size])


def test_shapes_images_show_the_shape_in_its_colour_and_quadrant(shapes_demo):
    from PIL import Image

    for image in shapes_demo.images:
        pixels = np.asarray(Image.open(shapes_demo.root / image.split / image.file_name).convert("RGB")).astype(int)
        near = np.abs(pixels - np.array(COLORS[image.color][0])).max(axis=2) < 50
        assert near.sum() > 20
        ys, xs = np.nonzero(near)
        (fx, fy), _ = POSITIONS[image.position]
        size = pixels.shape[0]
        assert abs(xs.mean() / size - fx) < 0.12 and abs(ys.mean() / size - fy) < 0.12


def test_shapes_demo_is_deterministic(tmp_path, shapes_demo):
    again = write_shapes_demo(tmp_path / "again", SHAPES_SMALL)
    for name in ("annotations/captions_train2017.json", "annotations/captions_val2017.json", "attributes.csv"):
        assert (again.root / name).read_bytes() == (shapes_demo.root / name).read_bytes()
