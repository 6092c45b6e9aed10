"""A WAV of 0 samples is named as such ("the audio holds 0 samples"), not as a segment start past the
end of the audio when the sample has no segment at all."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import MediaError
from mmdata.media.audio import load_audio
from tests.fakes.av import write_wav


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT", "PCM_24"])
def test_a_wav_of_no_samples_is_an_empty_recording(tmp_path, subtype):
    path = write_wav(tmp_path / f"zero-{subtype}.wav", np.zeros(0, np.float32), subtype=subtype)
    with pytest.raises(MediaError, match=rf"zero-{subtype}.wav: the audio holds 0 samples .*expected a non-empty "
                                         r"recording") as caught:
        load_audio(path)
    assert "segment start" not in str(caught.value)
    with pytest.raises(MediaError, match="the audio holds 0 samples"):
        load_audio(path, start=0.5, end=1.0)
