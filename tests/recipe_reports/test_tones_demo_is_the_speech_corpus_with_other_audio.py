"""`audio='tones'` writes the speech corpus of the same seed with other audio; the speech corpus is unchanged."""
from __future__ import annotations

import hashlib

import numpy as np

from mmdata.demo_corpora.mosi_demo import VIDEO_DIR, MosiDemoConfig, write_mosi_demo

SMALL = dict(num_videos=4, segments_per_video=2, seed=3, width=32, height=24)
#: sha256 of the cues.csv the code before the fix wrote for SMALL with speech (the speech corpus must not change).
SPEECH_CUES_SHA256 = "c22b2a757306e868b2341b97c108ef833fc7bc6b470d02a6e8a1a52cdc9ea174"


def _first_frame(path):
    import av

    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)


def test_tones_and_speech_share_cues_labels_transcripts_and_video(tmp_path):
    speech = write_mosi_demo(tmp_path / "speech", MosiDemoConfig(audio="speech", **SMALL))
    tones = write_mosi_demo(tmp_path / "tones", MosiDemoConfig(audio="tones", **SMALL))
    assert [(s.segment_id, s.transcript, s.text_cue, s.audio_cue, s.video_cue, s.label) for s in speech.segments] == \
        [(s.segment_id, s.transcript, s.text_cue, s.audio_cue, s.video_cue, s.label) for s in tones.segments]
    for name in ("cues.csv", "labels.csv", "folds.json"):
        assert (tmp_path / "speech" / name).read_bytes() == (tmp_path / "tones" / name).read_bytes(), name
    for seg in speech.segments:  # the same face, colour and room (encoded with its own length: allow codec noise)
        a = _first_frame(tmp_path / "speech" / VIDEO_DIR / f"{seg.segment_id}.mp4")
        b = _first_frame(tmp_path / "tones" / VIDEO_DIR / f"{seg.segment_id}.mp4")
        assert np.abs(a - b).mean() < 3, seg.segment_id


def test_the_speech_corpus_is_what_the_code_wrote_before(tmp_path):
    write_mosi_demo(tmp_path, MosiDemoConfig(audio="speech", **SMALL))
    assert hashlib.sha256((tmp_path / "cues.csv").read_bytes()).hexdigest() == SPEECH_CUES_SHA256


def test_tones_are_reproducible_under_the_seed(tmp_path):
    config = MosiDemoConfig(audio="tones", **SMALL)
    write_mosi_demo(tmp_path / "a", config)
    write_mosi_demo(tmp_path / "b", config)
    for wav in sorted((tmp_path / "a").rglob("*.wav")):
        assert wav.read_bytes() == (tmp_path / "b" / wav.relative_to(tmp_path / "a")).read_bytes()
