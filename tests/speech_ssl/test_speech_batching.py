"""Speech models stack windows of equal sample counts (the windows of one long item, and items of the same
length) into one forward pass of at most `batch_seconds` of audio: no padding enters the computation, so
every frame matches the one-window-per-pass path within float tolerance (batched matmuls and convolutions
may differ in the last bits; about 3e-6 at most on these models' O(1) features, 6e-6 for the large ones)."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.features import create_extractor
from mmdata.features.speech_models import equal_length_batches, window_bounds
from mmdata.media.audio import AudioSegment

#: Batched vs one window per pass (measured: 2.6e-6 absolute at most on the base models' last layer).
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def segment(samples: np.ndarray, name: str) -> AudioSegment:
    return AudioSegment(np.ascontiguousarray(samples, np.float32), 16000, 0.0, name)


@pytest.fixture(scope="module")
def items(audio) -> list[AudioSegment]:
    """Three clips of one length (0.5 s of the speech, from different places), one of another length,
    and one long item (the whole speech) that max_seconds=0.5 cuts into several windows."""
    speech = audio.speech
    clips = [segment(speech[start : start + 8000], f"clip{start}.wav") for start in (0, 4000, 8000)]
    return [*clips, segment(speech[2000:8400], "odd.wav"), segment(speech, "long.wav")]


def pass_shapes(extractor, items) -> tuple[list, list[tuple[int, int]]]:
    """`compute(items)` and the (batch, samples) shape of each forward pass the model ran."""
    model, _ = extractor.load_model()
    shapes = []
    hook = model.feature_extractor.register_forward_pre_hook(lambda module, args: shapes.append(tuple(args[0].shape)))
    try:
        return extractor.compute(items), shapes
    finally:
        hook.remove()


def features(rows) -> list[np.ndarray]:
    return [row[0] if isinstance(row, tuple) else row for row in rows]


@pytest.mark.parametrize("name", ["wav2vec2-base", "hubert-base", "wavlm-base-plus"])
@pytest.mark.parametrize("options", ["layer=12", "layer=4,pool=mean"])
def test_batched_passes_give_the_frames_of_one_window_per_pass(items, name, options):
    spec = f"{name}:weights=random,seed=3,max_seconds=0.5,{options}"
    alone, alone_passes = pass_shapes(create_extractor(f"{spec},batch_seconds=0.5"), items)
    batched, batched_passes = pass_shapes(create_extractor(f"{spec},batch_seconds=60"), items)

    assert all(batch == 1 for batch, _ in alone_passes)
    assert len(batched_passes) < len(alone_passes)
    assert sum(batch for batch, _ in batched_passes) == len(alone_passes)  # every window once
    assert (3, 8000) in batched_passes  # the equal clips went together
    for got, expected in zip(features(batched), features(alone), strict=True):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, **TOLERANCE)
    if "pool=mean" not in options:
        for got, expected in zip(batched, alone):
            np.testing.assert_array_equal(got[1], expected[1])  # intervals


def test_the_windows_of_one_long_item_go_through_together(audio):
    extractor = create_extractor("wav2vec2-base:weights=random,seed=0,max_seconds=0.3")
    long = segment(audio.speech, "long.wav")
    (frames, _), = extractor.compute([long])
    lengths = [stop - start for start, stop in window_bounds(len(long.samples), extractor.config.frames_per_window)]
    _, passes = pass_shapes(extractor, [long])
    assert len(lengths) > 3
    assert sorted(passes) == sorted((lengths.count(n), n) for n in set(lengths))  # one pass per window length
    (alone, _), = create_extractor("wav2vec2-base:weights=random,seed=0,max_seconds=0.3,batch_seconds=0.3").compute(
        [long])
    np.testing.assert_allclose(frames, alone, **TOLERANCE)


def test_batch_seconds_bounds_the_audio_of_one_pass(items):
    extractor = create_extractor("wav2vec2-base:weights=random,seed=0,max_seconds=0.5,batch_seconds=1.1")
    _, passes = pass_shapes(extractor, items)
    assert all(batch * samples <= 1.1 * 16000 for batch, samples in passes)
    assert (2, 8000) in passes  # 3 equal clips of 0.5 s: 2 + 1
    assert (1, 8000) in passes


def test_equal_length_batches_group_equal_lengths_in_order_under_the_budget():
    lengths = [100, 200, 100, 100, 300, 200, 100]
    assert equal_length_batches(lengths, 250) == [[0, 2], [3, 6], [1], [5], [4]]
    assert equal_length_batches(lengths, 10_000) == [[0, 2, 3, 6], [1, 5], [4]]
    assert equal_length_batches(lengths, 50) == [[0], [2], [3], [6], [1], [5], [4]]  # too long: alone
    assert equal_length_batches([], 100) == []


def test_batch_seconds_is_a_runtime_option_kept_out_of_the_recorded_config():
    one = create_extractor("hubert-base:weights=random,batch_seconds=2")
    other = create_extractor("hubert-base:weights=random")
    assert one.table_name == other.table_name
    assert one.provenance()["config"] == other.provenance()["config"]
    assert "batch_seconds" not in one.provenance()["config"]
    assert one.provenance()["runtime"]["batch_seconds"] == 2


@pytest.mark.parametrize("value", ["0", "-1"])
def test_batch_seconds_must_be_a_positive_number_of_seconds(value):
    with pytest.raises(ValueError, match="batch_seconds must be a finite number of seconds > 0"):
        create_extractor(f"wav2vec2-base:weights=random,batch_seconds={value}")
