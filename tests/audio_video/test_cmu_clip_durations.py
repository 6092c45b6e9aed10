"""The cmu layout gives whole clips and no segment times: each clip's WAV length (its header) goes to
`extra.media_duration`, so `check` holds the clips' frames and intervals against it."""
from __future__ import annotations

import soundfile

from mmdata.checks import check_dataset
from mmdata.corpora import load_corpus
from mmdata.pipeline import extract
from tests.fakes.av import write_fake_mosi_cmu


def test_clips_with_a_wav_carry_its_duration_and_check_measures_them(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "corpus")
    samples = load_corpus("mosi-raw", fake.root).samples
    with_wav = [s for s in samples if s.audio and (fake.root / s.audio).is_file()]
    assert with_wav and all(s.extra["media_duration"] == soundfile.info(str(fake.root / s.audio)).duration
                            for s in with_wav)
    without = {s.sample_id for s in samples if s not in with_wav}
    assert all("media_duration" not in s.extra for s in samples if s.sample_id in without)

    extract("mosi-raw", fake.root, tmp_path / "ds", extractors=["torchaudio-logmel"], num_workers=0)
    report = check_dataset(tmp_path / "ds")
    unknown = [i for i in report.issues if i.code == "duration-unknown"]
    assert sum(i.count for i in unknown) == len(without)  # only clips without a WAV stay unmeasured
    assert not [i for i in report.issues if i.code in ("intervals-outside", "frame-count", "coverage-low")]


def test_a_wav_whose_header_cannot_be_read_gets_no_duration(tmp_path):
    fake = write_fake_mosi_cmu(tmp_path / "corpus")
    sample = next(s for s in load_corpus("mosi-raw", fake.root).samples if s.audio)
    (fake.root / sample.audio).write_bytes(b"RIFF")
    reloaded = {s.sample_id: s for s in load_corpus("mosi-raw", fake.root).samples}
    assert "media_duration" not in reloaded[sample.sample_id].extra
