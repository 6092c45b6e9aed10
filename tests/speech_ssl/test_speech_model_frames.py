"""Where wav2vec2/HuBERT frames sit: as many as torchaudio's convolutional front end gives (receptive
field 400 samples, stride 320 at 16 kHz), each owning the cell around its receptive field's centre,
within the sample's segment; long recordings cut into windows join into the frames of one pass."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import MediaError
from mmdata.features import create_extractor
from mmdata.features.speech_models import frame_count, window_spans
from tests.fakes.av import tone, write_wav
from tests.speech_ssl.conftest import reference_layers, row


@pytest.fixture(scope="module")
def wav2vec2():
    """wav2vec2-base with random weights (seed 0), its model built once for the module."""
    extractor = create_extractor("wav2vec2-base:weights=random,seed=0")
    extractor.load_model()
    return extractor


@pytest.mark.parametrize("n_samples", [400, 401, 719, 720, 1039, 1040, 16000, 16123, 24000])
def test_frame_count_is_torchaudios_output_length(n_samples, wav2vec2):
    import torch

    model, _ = wav2vec2.load_model()
    with torch.inference_mode():
        conv, lengths = model.feature_extractor(torch.zeros(1, n_samples), torch.tensor([n_samples]))
    assert frame_count(n_samples) == conv.shape[1] == int(lengths[0])
    if n_samples <= 1040:  # whole model, cheap at this length
        assert len(wav2vec2.layer_frames(np.zeros(n_samples, np.float32) + 0.01)) == conv.shape[1]


def test_frames_own_the_cells_around_their_receptive_field_centres(audio, wav2vec2):
    segment = wav2vec2.decode(row("t", "tone.wav"), audio.root)  # 1.5 s = 24000 samples
    (frames, intervals), = wav2vec2.compute([segment])
    assert frames.shape == (74, 768) and frames.dtype == np.float32 and np.isfinite(frames).all()
    centres = (np.arange(74) * 320 + 200) / 16000  # 12.5 ms, 32.5 ms, ...
    np.testing.assert_allclose(intervals[0], [0.0, 0.0225])
    np.testing.assert_allclose(intervals[1:-1].mean(axis=1), centres[1:-1], atol=1e-12)
    np.testing.assert_allclose(intervals[1:, 0], intervals[:-1, 1])  # they tile the segment
    assert intervals[-1, 1] == pytest.approx(1.5)
    assert wav2vec2.output_spec().frame_rate == 50.0 and wav2vec2.output_spec().frame_window == 0.025


def test_a_segment_is_cut_from_its_file_and_its_intervals_are_file_times(audio, wav2vec2, tmp_path):
    segment = wav2vec2.decode(row("s", "speech.wav", start=0.25, end=0.95), audio.root)
    (frames, intervals), = wav2vec2.compute([segment])
    assert len(frames) == frame_count(int(0.7 * 16000)) == 34
    assert intervals[0, 0] == pytest.approx(0.25) and intervals[-1, 1] == pytest.approx(0.95)
    # The same samples written as a file of their own give the same features.
    write_wav(tmp_path / "cut.wav", audio.speech[4000:15200])
    (alone, _), = wav2vec2.compute([wav2vec2.decode(row("c", "cut.wav"), tmp_path)])
    np.testing.assert_allclose(frames, alone, atol=1e-5)


def test_audio_at_another_rate_is_resampled_to_16k(audio, wav2vec2):
    segment = wav2vec2.decode(row("r", "tone8k.wav"), audio.root)
    assert segment.sample_rate == 16000 and len(segment.samples) == 16000
    (frames, intervals), = wav2vec2.compute([segment])
    assert len(frames) == 49 and intervals[-1, 1] == pytest.approx(1.0)


def test_a_clip_shorter_than_one_receptive_field_is_an_item_error(tmp_path, wav2vec2):
    write_wav(tmp_path / "tiny.wav", tone(440, 399 / 16000))
    with pytest.raises(MediaError, match=r"tiny.wav: segment of 24.9 ms of sample 'tiny' is shorter than the receptive "
                                         r"field of one wav2vec2-base frame \(400 samples, 25.0 ms at 16000 Hz\); "
                                         r"expected a segment of at least 25 ms"):
        wav2vec2.decode(row("tiny", "tiny.wav"), tmp_path)
    write_wav(tmp_path / "one.wav", tone(440, 400 / 16000))
    (frames, _), = wav2vec2.compute([wav2vec2.decode(row("one", "one.wav"), tmp_path)])
    assert frames.shape == (1, 768)


def test_windows_are_the_fewest_of_nearly_equal_frame_counts():
    assert window_spans(10, 10) == [(0, 10)]
    assert window_spans(11, 10) == [(0, 6), (6, 11)]  # not 10 + 1
    assert window_spans(74, 24) == [(0, 18), (18, 37), (37, 56), (56, 74)]
    assert window_spans(1, 5) == [(0, 1)]


def test_a_recording_that_fits_max_seconds_is_one_pass(audio):
    one = create_extractor("wav2vec2-base:weights=random,seed=0,max_seconds=1.5")  # 24000 samples: 74 frames
    segment = one.decode(row("t", "tone.wav"), audio.root)  # 24000 samples, 240 after the last frame's field
    (frames, _), = one.compute([segment])
    assert len(frames) == 74
    np.testing.assert_array_equal(frames, reference_layers(_wav2vec2_base, 0, segment.samples)[11])


def test_windows_join_into_the_frames_of_one_pass_each_as_the_model_gives_it(audio, wav2vec2):
    import torch

    # 24 frames a pass at most, and one window per pass (batching: tests/speech_ssl/test_speech_batching.py)
    cut = create_extractor("wav2vec2-base:weights=random,seed=0,max_seconds=0.5,batch_seconds=0.5")
    segment = cut.decode(row("t", "speech.wav"), audio.root)
    (frames, intervals), = cut.compute([segment])
    (whole, whole_intervals), = wav2vec2.compute([segment])
    n = frame_count(len(segment.samples))
    assert frames.shape == whole.shape == (n, 768)
    np.testing.assert_array_equal(intervals, whole_intervals)
    model, _ = wav2vec2.load_model()  # the same random weights
    spans = window_spans(n, 24)
    assert len(spans) > 2
    for first, end in spans:  # each window's frames: the model's output on exactly the samples they see
        stop = len(segment.samples) if end == n else (end - 1) * 320 + 400  # the last runs to the end
        window = torch.from_numpy(segment.samples[first * 320 : stop])[None]
        with torch.inference_mode():
            expected = model.extract_features(window)[0][-1][0].numpy()
        np.testing.assert_array_equal(frames[first:end], expected)
    assert not np.allclose(frames, whole, atol=1e-3)  # attention saw less context: it is a cut, said so in the docs


def _wav2vec2_base():
    import torchaudio

    return torchaudio.models.wav2vec2_base()
