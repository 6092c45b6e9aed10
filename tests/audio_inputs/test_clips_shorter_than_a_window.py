"""A clip shorter than one analysis window (100 samples against n_fft=400) is refused by the librosa and
torchaudio log-mel/MFCC extractors with a MediaError naming the file and the sample, as kaldi-fbank and
prosody refuse theirs, instead of one frame of zero padding (and, from librosa, a UserWarning on the
console that named neither)."""
from __future__ import annotations

import warnings

import pytest

from mmdata.errors import MediaError
from mmdata.features.base import create_extractor
from tests.fakes.av import tone, write_wav

STFT_EXTRACTORS = ("librosa-logmel", "librosa-mfcc", "torchaudio-logmel", "torchaudio-mfcc")


def _row(name):
    return {"sample_id": "tiny-1", "audio": name, "video": None, "start": None, "end": None}


@pytest.mark.parametrize("name", STFT_EXTRACTORS)
def test_a_clip_shorter_than_one_window_is_a_media_error(tmp_path, name):
    write_wav(tmp_path / "tiny.wav", tone(440, 100 / 16000))
    extractor = create_extractor(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing reaches the console
        with pytest.raises(MediaError, match=rf"tiny.wav: segment of 6.2 ms of sample 'tiny-1' is shorter than one "
                                             rf"{name} analysis window \(400 samples, 25.0 ms\); expected a segment "
                                             r"of at least one window"):
            extractor.decode(_row("tiny.wav"), tmp_path)


@pytest.mark.parametrize("name", STFT_EXTRACTORS)
def test_the_window_is_win_length_when_set_and_no_librosa_warning_leaks(tmp_path, name):
    write_wav(tmp_path / "short.wav", tone(440, 300 / 16000))  # >= win_length 200, < n_fft 400
    extractor = create_extractor(f"{name}:win_length=200")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (frames, intervals), = extractor.compute([extractor.decode(_row("short.wav"), tmp_path)])
    assert len(frames) == 2 and intervals[-1, 1] == pytest.approx(300 / 16000)
    assert not [w for w in caught if "too large" in str(w.message)]
    with pytest.raises(MediaError, match=r"shorter than one .* analysis window \(320 samples, 20.0 ms\)"):
        create_extractor(f"{name}:win_length=320").decode(_row("short.wav"), tmp_path)
