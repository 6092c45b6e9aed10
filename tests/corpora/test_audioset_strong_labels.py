"""The `audioset` loader's option strong: a sample per clip of Google's temporally-strong labels
(audioset_train_strong.tsv -> train, audioset_eval_strong.tsv -> test) with its events sorted in `extra.events`,
the distinct labels' display names (class_labels_indices.csv's, mid_to_display_name.tsv's for the MIDs it lacks)
in `extra.labels`, its file found in the folders of the weak sets the clips were drawn from; each bad line and
repeated event named `file:line`, another header refused; the loader without the option unchanged; and `mmdata
extract` then `fuse --class-label labels` on such a copy."""
from __future__ import annotations

import gc
import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.fusion import FusedDataset
from mmdata.store import open_dataset
from tests.fakes import append_rows, samples_by_id
from tests.fakes.audioset import (
    STRONG_CLIPS,
    STRONG_NAMES,
    STRONG_ONLY,
    FakeStrongClip,
    write_fake_audioset,
    write_fake_audioset_strong,
)

STRONG = {"strong": "true"}
runner = CliRunner()


def expected_events(clip: FakeStrongClip) -> list[list]:
    """A fake clip's events as `extra.events` must hold them: sorted by start, end, display name."""
    return sorted([start, end, STRONG_NAMES[mid]] for start, end, mid in clip.events)


def test_each_clip_is_a_sample_with_its_events_sorted_and_its_distinct_labels(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c")
    result = load_corpus("audioset", fake.root, options=STRONG)
    assert result.problems == []
    samples = samples_by_id(result)
    assert {sid: (s.split, s.audio) for sid, s in samples.items()} == {
        sid: (e.split, e.audio) for sid, e in fake.expected.items()}
    for clip in STRONG_CLIPS:
        extra = samples[clip.segment.sample_id].extra
        events = expected_events(clip)
        assert extra["events"] == events
        assert extra["labels"] == list(dict.fromkeys(name for _, _, name in events))
        assert extra["mids"] == [{v: k for k, v in STRONG_NAMES.items()}[name] for name in extra["labels"]]
    speech = samples["--PJHxphWEs_30000"]
    assert speech.extra["events"] == [[0.0, 10.0, "Gush"], [0.5, 1.25, "Speech"], [2.627, 7.237, "Speech"]]
    assert speech.extra["labels"] == ["Gush", "Speech"]  # each label once, though Speech has two events
    assert (speech.group_id, speech.extra["youtube_id"], speech.extra["start_seconds"], speech.extra["end_seconds"],
            speech.extra["subset"]) == ("--PJHxphWEs", "--PJHxphWEs", 30.0, 40.0, "train_strong")
    assert speech.extra["audio_duration"] == pytest.approx(1.0)
    assert "Paper rustling" in samples["---1_cCGK4M_10000"].extra["labels"]  # a label only the strong table has
    assert samples["-1LrH01Ei1w_7500"].extra["subset"] == "eval_strong"
    assert result.metadata["strong_files"] == {"train_strong": "metadata/audioset_train_strong.tsv",
                                               "eval_strong": "metadata/audioset_eval_strong.tsv"}
    assert result.metadata["display_names_files"] == ["metadata/mid_to_display_name.tsv",
                                                      "metadata/class_labels_indices.csv"]
    assert (result.metadata["segments_listed"], result.metadata["segments_missing"], result.metadata["events"]) == \
        (3, 0, sum(len(clip.events) for clip in STRONG_CLIPS))


@pytest.mark.parametrize(("naming", "media_dir", "suffix", "balanced", "unbalanced"), [
    ("panns", "audios", ".wav", "audios/balanced_train_segments/Y--PJHxphWEs.wav",
     "audios/unbalanced_train_segments/unbalanced_train_segments_part00/Y---1_cCGK4M.wav"),
    ("hf", "audio", ".flac", "audio/bal_train/--PJHxphWEs.flac", "audio/unbal_train/---1_cCGK4M.flac"),
    ("audiosetdl", "data", ".flac", "data/balanced_train_segments/audio/--PJHxphWEs_30000_40000.flac",
     "data/unbalanced_train_segments/audio/---1_cCGK4M_10000_20000.flac"),
])
def test_train_clips_are_found_in_the_balanced_and_the_unbalanced_folders(tmp_path, naming, media_dir, suffix,
                                                                          balanced, unbalanced):
    fake = write_fake_audioset_strong(tmp_path / "c", naming=naming, tsv_dir="", media_dir=media_dir, suffix=suffix)
    result = load_corpus("audioset", fake.root, split="train", options=STRONG)
    assert result.problems == []
    assert {s.sample_id: s.audio for s in result.samples} == {"--PJHxphWEs_30000": balanced,
                                                              "---1_cCGK4M_10000": unbalanced}


def test_split_reads_only_its_strong_tsv_and_no_segments_csv_is_needed(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c")
    assert not list(fake.root.rglob("*_segments.csv"))
    (fake.root / "metadata" / "audioset_train_strong.tsv").unlink()
    test = load_corpus("audioset", fake.root, split="test", options=STRONG)
    assert [(s.sample_id, s.split) for s in test.samples] == [("-1LrH01Ei1w_7500", "test")]
    assert test.metadata["strong_files"] == {"eval_strong": "metadata/audioset_eval_strong.tsv"}
    with pytest.raises(CorpusNotFoundError, match=re.escape("no AudioSet audioset_train_strong.tsv found in")):
        load_corpus("audioset", fake.root, split="train", options=STRONG)


def test_a_missing_strong_tsv_is_refused_naming_where_it_looked_the_options_and_the_url(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c")
    (fake.root / "metadata" / "audioset_eval_strong.tsv").unlink()
    with pytest.raises(CorpusNotFoundError) as refused:
        load_corpus("audioset", fake.root, options=STRONG)
    message = str(refused.value)
    assert f"{fake.root}/metadata/" in message and "-o csv_dir=" in message and "--split" in message
    assert "http://storage.googleapis.com/us_audioset/youtube_corpus/strong/audioset_eval_strong.tsv" in message
    moved = fake.root / "labels"
    (fake.root / "metadata").rename(moved)
    (moved / "audioset_eval_strong.tsv").write_text("segment_id\tstart_time_seconds\tend_time_seconds\tlabel\n",
                                                    encoding="utf-8")
    result = load_corpus("audioset", fake.root, options={**STRONG, "csv_dir": "labels"})
    assert len(result.samples) == 2 and result.metadata["display_names_files"][0] == "labels/mid_to_display_name.tsv"


def test_without_the_names_table_the_class_table_names_the_labels_and_a_mid_in_neither_is_a_problem(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c", names_table=False)
    result = load_corpus("audioset", fake.root, options=STRONG)
    [problem] = result.problems
    train = fake.root / "metadata" / "audioset_train_strong.tsv"
    line = train.read_text(encoding="utf-8").splitlines().index(f"---1_cCGK4M_10000\t1.000\t2.000\t{STRONG_ONLY[0]}")
    assert (problem.sample_id, problem.path) == ("---1_cCGK4M_10000", f"{train}:{line + 1}")
    assert problem.reason == (f"MID {STRONG_ONLY[0]} is not in class_labels_indices.csv (expected a MID of the strong "
                              "labels' mid_to_display_name.tsv); event left out")
    assert samples_by_id(result)["---1_cCGK4M_10000"].extra["events"] == [[1.0, 1.5, "Music"]]  # its other event
    (fake.root / "metadata" / "class_labels_indices.csv").unlink()
    with pytest.raises(CorpusNotFoundError, match=r"no AudioSet display names for the strong labels: .*"
                                                  r"mid_to_display_name.tsv is a file.*-o display_names_file="):
        load_corpus("audioset", fake.root, options=STRONG)


def test_option_display_names_file_names_the_table_and_a_bad_one_stops_the_load(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c")
    (fake.root / "metadata" / "mid_to_display_name.tsv").rename(fake.root / "names.tsv")
    options = {**STRONG, "display_names_file": "names.tsv"}
    result = load_corpus("audioset", fake.root, options=options)
    assert result.problems == [] and result.metadata["display_names_files"][0] == "names.tsv"
    with pytest.raises(CorpusNotFoundError, match="option display_names_file: .*nothere.tsv is not a file"):
        load_corpus("audioset", fake.root, options={**STRONG, "display_names_file": "nothere.tsv"})
    append_rows(fake.root / "names.tsv", "/m/09x0r\tSpeech again")
    with pytest.raises(CorpusFormatError, match=re.escape(f"{fake.root / 'names.tsv'}:9: MID /m/09x0r is listed "
                                                          "again (first at line 1)")):
        load_corpus("audioset", fake.root, options=options)



def test_the_names_table_names_every_label_it_lists_and_the_class_table_only_the_mids_it_lacks(tmp_path):
    """The strong labels speak the strong release's vocabulary: where the two tables name a MID differently,
    mid_to_display_name.tsv's name is the label (so that file, as `fuse --classes` or `event-targets.classes`,
    names every label of a strong dataset)."""
    fake = write_fake_audioset_strong(tmp_path / "c")
    names = fake.root / "metadata" / "mid_to_display_name.tsv"
    names.write_text(names.read_text(encoding="utf-8").replace("/m/09x0r\tSpeech\n", "/m/09x0r\tHuman speech\n"),
                     encoding="utf-8")
    result = load_corpus("audioset", fake.root, options=STRONG)
    assert result.problems == []
    samples = samples_by_id(result)
    speech = samples["--PJHxphWEs_30000"].extra
    assert speech["labels"] == ["Gush", "Human speech"]
    assert speech["events"] == [[0.0, 10.0, "Gush"], [0.5, 1.25, "Human speech"], [2.627, 7.237, "Human speech"]]
    assert STRONG_ONLY[1] in samples["---1_cCGK4M_10000"].extra["labels"]  # a MID the class table lacks
    listed = {line.split("\t")[1] for line in names.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert {name for s in result.samples for name in s.extra["labels"]} <= listed
    names.write_text("".join(line + "\n" for line in names.read_text(encoding="utf-8").splitlines()
                             if not line.startswith("/m/09x0r")), encoding="utf-8")  # a MID it lacks
    fallback = samples_by_id(load_corpus("audioset", fake.root, options=STRONG))
    assert fallback["--PJHxphWEs_30000"].extra["labels"] == ["Gush", "Speech"]  # the class table's name


def test_a_header_other_than_the_releases_stops_the_load_naming_it(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c")
    evals = fake.root / "metadata" / "audioset_eval_strong.tsv"
    evals.write_text("filename\tevent_label\tonset\toffset\nY-1LrH01Ei1w_7.500_17.500.wav\tDog\t0.0\t3.2\n",
                     encoding="utf-8")
    with pytest.raises(CorpusFormatError) as refused:
        load_corpus("audioset", fake.root, options=STRONG)
    assert str(refused.value) == (f"{evals}:1: header 'filename\\tevent_label\\tonset\\toffset'; expected "
                                  "segment_id<tab>start_time_seconds<tab>end_time_seconds<tab>label (Google's "
                                  "audioset_*_strong.tsv)")


def test_an_event_list_without_its_header_is_read_from_its_first_line(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c")
    train = fake.root / "metadata" / "audioset_train_strong.tsv"
    lines = train.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("segment_id\t")
    train.write_text("\n" + "\n".join(lines[1:]) + "\n", encoding="utf-8")  # a blank line, then the events
    result = load_corpus("audioset", fake.root, options=STRONG)
    assert result.problems == [] and {s.sample_id for s in result.samples} == set(fake.expected)
    assert result.metadata["events"] == sum(len(clip.events) for clip in STRONG_CLIPS)


def test_an_event_listed_again_in_its_clip_is_a_repeated_entry_and_kept_once(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c")
    train = fake.root / "metadata" / "audioset_train_strong.tsv"
    first = train.read_text(encoding="utf-8").splitlines().index("--PJHxphWEs_30000\t2.627\t7.237\t/m/09x0r") + 1
    line = append_rows(train, "--PJHxphWEs_30000\t2.627\t7.237\t/m/09x0r",  # as the release spells it
                       "--PJHxphWEs_30000 2.6270 7.237  /m/09x0r",  # spaces, another spelling of the same times
                       "--PJHxphWEs_30000\t2.627\t7.237\t/t/dd00088",  # another label at the same times: kept
                       "---1_cCGK4M_10000\t2.627\t7.237\t/m/09x0r")  # the same event in another clip: kept
    result = load_corpus("audioset", fake.root, options=STRONG)
    assert [(p.sample_id, p.path, p.error_type) for p in result.problems] == [
        ("--PJHxphWEs_30000", f"{train}:{line}", REPEATED_ENTRY),
        ("--PJHxphWEs_30000", f"{train}:{line + 1}", REPEATED_ENTRY)]
    assert result.problems[0].reason == (f"event /m/09x0r 2.627-7.237 s of clip --PJHxphWEs_30000 is listed again "
                                         f"(first at {train}:{first}); event left out")
    samples = samples_by_id(result)
    assert samples["--PJHxphWEs_30000"].extra["events"] == [[0.0, 10.0, "Gush"], [0.5, 1.25, "Speech"],
                                                            [2.627, 7.237, "Gush"], [2.627, 7.237, "Speech"]]
    assert [2.627, 7.237, "Speech"] in samples["---1_cCGK4M_10000"].extra["events"]


def test_the_garbage_collector_runs_again_after_a_read_and_after_a_refusal(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c")
    assert gc.isenabled()
    load_corpus("audioset", fake.root, options=STRONG)
    assert gc.isenabled()
    (fake.root / "metadata" / "audioset_train_strong.tsv").write_text("filename\tevent_label\tonset\toffset\n",
                                                                      encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="header 'filename"):
        load_corpus("audioset", fake.root, options=STRONG)
    assert gc.isenabled()


BAD_LINES = [
    ("xbadfields1_0\t1.000\t2.000", "expected 4 tab-separated fields (segment_id, start_time_seconds, "
                                    "end_time_seconds, label), got 3"),
    ("xbadnumber1_0\tabc\t2.000\t/m/09x0r", "start_time_seconds 'abc' is not a number of seconds >= 0"),
    ("xbadorder01_0\t3.000\t3.000\t/m/09x0r", "start_time_seconds 3.000 is not before end_time_seconds 3.000"),
    ("xnegative01_0\t-0.500\t2.000\t/m/09x0r", "start_time_seconds '-0.500' is not a number of seconds >= 0"),
    ("xpastclip01_0\t9.000\t10.100\t/m/09x0r", "end_time_seconds 10.100 is past the clip's 10 s"),
    ("xnostartms1\t1.000\t2.000\t/m/09x0r", "segment_id 'xnostartms1' is not <youtube_id>_<start ms>"),
    ("xunknown001_0\t1.000\t2.000\t/m/nosuch", "MID /m/nosuch is not in mid_to_display_name.tsv"),
]


def test_each_bad_line_is_named_file_line_and_left_out(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c")
    train = fake.root / "metadata" / "audioset_train_strong.tsv"
    first = append_rows(train, *(line for line, _ in BAD_LINES), "--PJHxphWEs_30000\t9.000\t10.040\t/m/04rlf")
    result = load_corpus("audioset", fake.root, options=STRONG)
    assert [p.path for p in result.problems] == [f"{train}:{first + n}" for n in range(len(BAD_LINES))]
    for problem, (line, reason) in zip(result.problems, BAD_LINES):
        assert reason in problem.reason and problem.reason.endswith("event left out"), line
    assert [p.sample_id for p in result.problems][:2] == ["xbadfields1_0", "xbadnumber1_0"]
    assert result.problems[5].sample_id is None  # no sample id to name
    assert {s.sample_id for s in result.samples} == set(fake.expected)
    # an end 0.04 s past the clip is within the tolerance: kept
    assert samples_by_id(result)["--PJHxphWEs_30000"].extra["events"][-1] == [9.0, 10.04, "Music"]


def test_a_clip_whose_sound_is_missing_is_named_as_a_missing_segment(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c")
    train = fake.root / "metadata" / "audioset_train_strong.tsv"
    line = append_rows(train, "gonefromYT1_20000\t1.000\t2.000\t/m/09x0r", "gonefromYT1_20000\t0.000\t1.000\t/m/04rlf")
    result = load_corpus("audioset", fake.root, options=STRONG)
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("gonefromYT1_20000", f"{train}:{line}")
    assert problem.reason.startswith("segment file gonefromYT1_20000.{mp4,wav,flac,mp3,m4a,ogg} not found in "
                                     "audios/balanced_train_segments/, audios/unbalanced_train_segments/ and its 1 "
                                     "unbalanced_train_segments_partNN folders, audios/")
    assert (result.metadata["segments_listed"], result.metadata["segments_missing"]) == (4, 1)


def test_a_clip_in_both_tsvs_is_a_repeated_entry_and_the_train_listing_wins(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c")
    evals = fake.root / "metadata" / "audioset_eval_strong.tsv"
    line = append_rows(evals, "--PJHxphWEs_30000\t1.000\t2.000\t/m/0jbk")
    result = load_corpus("audioset", fake.root, options=STRONG)
    [problem] = result.problems
    assert (problem.sample_id, problem.path, problem.error_type) == ("--PJHxphWEs_30000", f"{evals}:{line}",
                                                                     REPEATED_ENTRY)
    assert "is listed in split 'train' too, a leak between them" in problem.reason
    kept = samples_by_id(result)["--PJHxphWEs_30000"]
    assert kept.split == "train" and "Animal" not in kept.extra["labels"]


def test_a_strong_tsv_that_is_not_utf8_stops_the_load_naming_its_line(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "c")
    where = fake.corrupt()
    with pytest.raises(CorpusFormatError, match=re.escape(where) + ": not valid UTF-8"):
        load_corpus("audioset", fake.root, options=STRONG)


def test_without_option_strong_the_strong_files_change_no_sample(tmp_path):
    weak = write_fake_audioset(tmp_path / "weak")
    both = write_fake_audioset(tmp_path / "both")
    write_fake_audioset_strong(tmp_path / "both")  # the strong TSVs and names table beside the segments CSVs
    before, after = load_corpus("audioset", weak.root), load_corpus("audioset", both.root)
    assert after.samples == before.samples and after.problems == before.problems == []
    assert after.metadata == before.metadata
    assert all("events" not in s.extra for s in after.samples)


def run(*args: str):
    result = runner.invoke(app, [*args])
    assert result.exit_code == 0, result.output
    return result


def test_extract_then_fuse_with_class_label_labels_gives_multi_hot_targets_of_the_strong_labels(tmp_path):
    fake = write_fake_audioset_strong(tmp_path / "corpus")
    out, fused = tmp_path / "out", tmp_path / "fused"
    run("extract", "audioset", str(fake.root), str(out), "-o", "strong=true", "--audio", "librosa-logmel", "-j", "0",
        "-q")
    data = open_dataset(out)
    assert data.errors().num_rows == 0
    rows = {row["sample_id"]: json.loads(row["extra"]) for row in data.samples_table().to_pylist()}
    assert {sid: extra["events"] for sid, extra in rows.items()} == {
        clip.segment.sample_id: expected_events(clip) for clip in STRONG_CLIPS}
    ids, offsets, _, _ = data.read_sequences("audio.librosa-logmel")
    assert sorted(ids) == sorted(fake.expected) and all(n > 50 for n in offsets[1:] - offsets[:-1])
    run("fuse", str(out), str(fused), "--format", "arrow", "--class-label", "labels")
    info = json.loads((fused / "fused.json").read_text())
    names = sorted({name for extra in rows.values() for name in extra["labels"]})
    assert info["classes"] == names and info["class_label"]["multi_label"] is True
    items = FusedDataset(fused, split="train")
    for i in range(len(items)):
        targets = np.asarray(items[i]["class_targets"])
        assert [names[k] for k in np.flatnonzero(targets)] == sorted(rows[items[i]["sample_id"]]["labels"])
