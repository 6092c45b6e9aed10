"""Raw sentiment media end to end: CMU-MOSEI whole recordings cut by their Combined transcripts,
features compared with an independent computation on the segment cut by hand, and segments or word
timings that do not fit their recording recorded per sample with the reason."""
from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest
import soundfile as sf

from mmdata.checks.dataset import check_dataset
from mmdata.corpora import load_corpus
from mmdata.pipeline import extract
from mmdata.store.reader import open_dataset
from tests.fakes.av import speech, write_mp4, write_wav

TRANSCRIPTS = "Raw/Transcript/Segmented/Combined"
RECORDING = "Raw/Audio/Full/WAV_16000/rec1.wav"
VIDEO = "Raw/Videos/Full/Combined/rec1.mp4"
RATE = 44100


@pytest.fixture(scope="module")
def mosei(tmp_path_factory):
    """A MOSEI raw corpus: a 44.1 kHz stereo speech recording (about 3 s, its last 0.7 s silent) and
    a video 0.3 s shorter, cut into segments that fit, overrun the audio's end a little, and overrun
    it by a lot. Returns the root, the audio's and the video's durations."""
    root = tmp_path_factory.mktemp("mosei")
    voice = speech("I really loved this movie, the acting was wonderful", RATE, pad_silence=0.7)
    write_wav(root / RECORDING, np.stack([voice, 0.5 * voice], axis=1), RATE)
    seconds = len(voice) / RATE
    video_frames = int((seconds - 0.3) * 10)
    write_mp4(root / VIDEO, [(224, 32, 32)], fps=10, frames_per_color=video_frames, size=(32, 24))
    lines = [
        f"rec1___1___0.4___{seconds - 0.5:.4f}___I really loved this movie",
        f"rec1___2___1.0___{seconds + 0.05:.4f}___the acting was wonderful",  # 2% past the audio's end
        f"rec1___3___{seconds - 0.6:.4f}___{seconds + 2.4:.4f}___and more",  # 80% past the end, in silence
    ]
    (root / TRANSCRIPTS).mkdir(parents=True)
    (root / TRANSCRIPTS / "rec1.txt").write_text("\n".join(lines) + "\n")
    (root / "labels.csv").write_text("segment_id,label\nrec1_1,2.2\nrec1_2,1.4\n")
    return root, seconds, video_frames / 10


@pytest.fixture(scope="module")
def mosei_dataset(mosei, tmp_path_factory):
    root, *_ = mosei
    out = tmp_path_factory.mktemp("out") / "mosei"
    extract("mosi-raw", root, out, extractors=["librosa-logmel:on_silence=allow", "egemaps", "video-frames:fps=4"],
            num_workers=0)
    return out


def features(out, table):
    return {r["sample_id"]: r for r in open_dataset(out).table(table).to_table().to_pylist()}


def errors(out, table):
    rows = open_dataset(out).errors().to_pylist()
    return {r["sample_id"]: r["reason"] for r in rows if r["table"] == table}


def cut_by_hand(root, start, end):
    """The segment [start, end) of the recording: mono (channel mean), cut at 44.1 kHz, then
    resampled to 16 kHz, as a researcher would write it."""
    import librosa

    samples, rate = sf.read(root / RECORDING, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    first, last = int(round(start * rate)), min(len(mono), int(round(end * rate)))
    return librosa.resample(mono[first:last], orig_sr=rate, target_sr=16000, res_type="soxr_hq"), first / rate


def test_segment_features_equal_librosa_and_opensmile_on_the_segment_cut_by_hand(mosei, mosei_dataset):
    import librosa
    import opensmile

    root, *_ = mosei
    [row] = open_dataset(mosei_dataset).samples_table().filter(pc.field("sample_id") == "rec1_1").to_pylist()
    segment, offset = cut_by_hand(root, row["start"], row["end"])
    logmel = features(mosei_dataset, "audio.librosa-logmel")["rec1_1"]
    expected = np.log(librosa.feature.melspectrogram(
        y=segment, sr=16000, n_fft=400, hop_length=160, n_mels=80, pad_mode="constant") + 1e-6).T
    np.testing.assert_allclose(np.array(logmel["feature"]), expected, atol=1e-5)
    intervals = np.array(logmel["intervals"])  # seconds of the recording, tiling the segment
    assert intervals[0, 0] == pytest.approx(offset) and offset == pytest.approx(0.4, abs=1 / RATE)
    np.testing.assert_allclose(intervals[1:, 0], intervals[:-1, 1])
    smile = opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.LowLevelDescriptors)
    lld = smile.process_signal(np.clip(segment, -1, 32767 / 32768), 16000).to_numpy(np.float32)
    np.testing.assert_allclose(np.array(features(mosei_dataset, "audio.egemaps-lld")["rec1_1"]["feature"]), lld,
                               rtol=1e-5, atol=1e-5)


def test_labels_csv_in_the_root_labels_the_mosei_segments(mosei):
    root, *_ = mosei
    samples = {s.sample_id: s for s in load_corpus("mosi-raw", root).samples}
    assert [samples[k].label for k in ("rec1_1", "rec1_2", "rec1_3")] == [2.2, 1.4, None]


def test_segment_far_past_the_end_of_its_recording_fails_naming_both_times(mosei, mosei_dataset):
    root, seconds, _ = mosei
    reason = errors(mosei_dataset, "audio.librosa-logmel")["rec1_3"]
    assert RECORDING.rpartition("/")[2] in reason and "'rec1_3'" in reason
    assert f"runs 2.400s past the end of the audio ({seconds:.3f}s)" in reason and "20% of it has audio" in reason
    assert features(mosei_dataset, "audio.librosa-logmel")["rec1_3"]["feature"] is None
    # every audio extractor, and the reason is the overrun, not the silence at the recording's end
    assert "runs 2.400s past the end of the audio" in errors(mosei_dataset, "audio.egemaps-lld")["rec1_3"]


def test_segment_a_little_past_the_end_is_cut_at_the_end_of_the_audio(mosei, mosei_dataset):
    root, seconds, _ = mosei
    logmel = features(mosei_dataset, "audio.librosa-logmel")["rec1_2"]
    assert logmel["intervals"][-1][1] == pytest.approx(seconds, abs=1 / 16000)  # the resampled audio's end
    assert "rec1_2" not in errors(mosei_dataset, "audio.librosa-logmel")


def test_video_segment_past_the_end_of_the_video_fails_and_check_finds_no_frame_count_error(mosei, mosei_dataset):
    _, _, video_seconds = mosei
    reasons = errors(mosei_dataset, "video.frames-color-hist")
    assert set(reasons) == {"rec1_2", "rec1_3"}  # 15% and 90% of them after the end of the video
    assert "rec1.mp4" in reasons["rec1_2"] and f"past the end of the video ({video_seconds:.3f}s)" in reasons["rec1_2"]
    frames = np.array(features(mosei_dataset, "video.frames-color-hist")["rec1_1"]["intervals"])
    assert frames[0].tolist() == pytest.approx([0.4, 0.65])  # seconds of the recording, from the segment start
    report = check_dataset(mosei_dataset)
    assert "frame-count" not in report.codes() and report.ok, [i.message for i in report.errors]


def test_word_timings_outside_a_cut_segment_are_a_load_problem_naming_the_line(mosei, tmp_path):
    root, *_ = mosei
    words = tmp_path / "words.csv"
    words.write_text("segment_id,word,start,end\n"
                     "rec1_2,the,0.0,0.2\nrec1_2,acting,0.2,0.6\n"  # times from the segment's beginning
                     "rec1_2,wonderful,1.6,2.1\n")  # seconds of the recording
    result = load_corpus("mosi-raw", root, options={"words_file": str(words)})
    samples = {s.sample_id: s for s in result.samples}
    assert samples["rec1_2"].extra["words"] == [["wonderful", 1.6, 2.1]]
    [problem] = [p for p in result.problems if p.sample_id == "rec1_2"]
    assert problem.path == f"{words}:2"
    assert "2 word timing(s)" in problem.reason and "'the' at [0, 0.2]" in problem.reason
    assert "add the segment start" in problem.reason
