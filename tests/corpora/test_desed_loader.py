"""The `desed` loader on the DCASE baseline's layout: a sample per clip of every set its TSVs' headers name (strong,
weak, unlabeled), the split the folder under metadata/, a strong clip's sorted events and labels in `extra` (the
`audioset` loader's strong layout), a weak clip's labels, an unlabeled clip neither; the YouTube video as group
id; durations files before headers; the `_16k` copy where the original folder is not there (option audio=16k:
first); option sets; every line it leaves out named `file:line`; and the refusals naming what was looked for."""
from __future__ import annotations

import re
import shutil

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import samples_to_table
from tests.fakes import append_rows, samples_by_id
from tests.fakes.desed import FAKE_SETS, FakeClip, FakeSet, not_utf8, write_fake_desed

VALIDATION = "YOTsn73eqbfc_10.000_20.000"


@pytest.fixture
def desed(tmp_path):
    return write_fake_desed(tmp_path / "dataset")


def load(fake, split=None, **options):
    return load_corpus("desed", fake.root, split=split, options=options)


def tsv(fake, relative):
    return fake.root / "metadata" / relative


def reasons(result):
    return [(p.sample_id, p.path.rsplit("/", 1)[-1], p.reason) for p in result.problems]


def test_a_sample_per_clip_of_every_set_with_its_split_set_and_audio(desed):
    result = load(desed)
    assert result.problems == []
    samples = samples_by_id(result)
    assert {sid: (s.split, s.audio) for sid, s in samples.items()} == {
        sid: (e.split, e.audio) for sid, e in desed.expected.items()}
    assert {s.extra["set"] for s in samples.values()} == {s.name for s in FAKE_SETS}
    assert {s.corpus for s in samples.values()} == {"desed"}
    assert samples_to_table(result.samples).num_rows == len(desed.expected)
    assert result.metadata["sets"]["train/audioset_strong"] == {
        "file": "metadata/train/audioset_strong.tsv", "kind": "strong", "split": "train", "name": "audioset_strong",
        "audio_folders": ["audio/train/strong_label_real"]}
    assert result.metadata["sets"]["train/unlabel_in_domain"]["clips_unlisted"] == 0  # the TSV lists every WAV
    assert list(result.metadata["sets"]) == [f"{s.split}/{s.name}" for s in sorted(FAKE_SETS, key=lambda s: s.tsv)]
    assert result.metadata["durations_files"] == ["metadata/validation/synthetic21_validation/durations.tsv",
                                                  "metadata/validation/validation_durations.tsv"]
    assert (result.metadata["clips_listed"], result.metadata["clips_missing"]) == (len(desed.expected), 0)


def test_strong_weak_and_unlabeled_clips_extra(desed):
    samples = samples_by_id(load(desed))
    assert samples[VALIDATION].extra == {
        "set": "validation", "audio_duration": 1.5,
        "events": [[0.163, 0.665, "Alarm_bell_ringing"], [0.5, 1.2, "Speech"], [0.9, 1.5, "Speech"]],
        "labels": ["Alarm_bell_ringing", "Speech"]}
    # events sorted by onset, offset, label whatever the lines' order
    assert samples["Y07fghylishw_20.000_30.000"].extra["events"] == [[0.0, 0.5, "Dishes"], [0.2, 1.4, "Frying"]]
    assert samples["Y1a3rs8NWa2M_30.000_40.000"].extra == {"set": "validation", "events": [], "labels": [],
                                                           "audio_duration": 1.0}  # the line of no event
    assert samples["Y-BJNMHMZDcU_50.000_60.000"].extra == {"set": "weak", "labels": ["Alarm_bell_ringing", "Dog"],
                                                           "audio_duration": 1.5}
    unlabeled = samples["Y0Ndpm5Vbdcg_0.000_10.000"]
    assert unlabeled.extra == {"set": "unlabel_in_domain", "audio_duration": 2.0}  # no `labels` key, not []
    assert unlabeled.audio == "audio/train/unlabel_in_domain_16k/Y0Ndpm5Vbdcg_0.000_10.000.wav"  # the _16k copy


def test_group_id_is_the_youtube_video_and_synthetic_clips_are_their_own_set_qualified_ids(desed):
    samples = samples_by_id(load(desed))
    assert samples[VALIDATION].group_id == "OTsn73eqbfc"
    assert samples["Y-BJNMHMZDcU_50.000_60.000"].group_id == "-BJNMHMZDcU"  # a YouTube id may start with '-'
    train = samples["train/synthetic21_train/soundscapes/0"]
    val = samples["validation/synthetic21_validation/soundscapes/0"]
    assert (train.group_id, val.group_id) == ("train/synthetic21_train/soundscapes/0",
                                              "validation/synthetic21_validation/soundscapes/0")
    assert (train.split, val.split) == ("train", "validation")  # both 0.wav: two clips, no repeated entry


def test_durations_file_before_the_header_and_the_header_for_a_clip_it_lacks(desed):
    path = tsv(desed, "validation/validation_durations.tsv")
    path.write_text(f"filename\tduration\n{VALIDATION}.wav\t10.0\n", encoding="utf-8")  # as the release states
    samples = samples_by_id(load(desed))
    assert samples[VALIDATION].extra["audio_duration"] == 10.0
    assert samples["Y1a3rs8NWa2M_30.000_40.000"].extra["audio_duration"] == 1.0  # not listed: its WAV's header
    # a durations file gives the sets of its own folder only: soundscapes' durations.tsv is not validation's
    assert samples["validation/synthetic21_validation/soundscapes/0"].extra["audio_duration"] == 2.0


def test_a_durations_line_that_cannot_be_read_is_named_and_the_header_read_instead(desed):
    path = tsv(desed, "validation/validation_durations.tsv")
    line = append_rows(path, "Yxxxxxxxxxxx_0.000_10.000.wav\tlong", "Y1a3rs8NWa2M_30.000_40.000.wav\t3.0", "a\tb\tc")
    result = load(desed)
    assert samples_by_id(result)["Y1a3rs8NWa2M_30.000_40.000"].extra["audio_duration"] == 1.0  # first line kept
    assert [(p.sample_id, p.path, p.error_type) for p in result.problems] == [
        ("Yxxxxxxxxxxx_0.000_10.000", f"{path}:{line}", "CorpusFormatError"),
        ("Y1a3rs8NWa2M_30.000_40.000", f"{path}:{line + 1}", REPEATED_ENTRY),
        (None, f"{path}:{line + 2}", "CorpusFormatError")]
    assert "duration 'long' is not a number of seconds" in result.problems[0].reason
    assert "expected 2 tab-separated fields (filename, duration), got 3" in result.problems[2].reason


def test_sets_option_loads_the_sets_named_joined_by_plus_or_commas(desed):
    for given in ("weak+validation", "weak,validation"):
        samples = load(desed, sets=given).samples
        assert {s.extra["set"] for s in samples} == {"weak", "validation"}, given
    assert {s.extra["set"] for s in load(desed, sets="synthetic21_train/soundscapes").samples} == {
        "synthetic21_train/soundscapes"}
    with pytest.raises(ConfigError, match=re.escape("no set 'waek'") + ".*did you mean 'weak'"):
        load(desed, sets="waek")
    with pytest.raises(ConfigError, match="weak named twice"):
        load(desed, sets="weak+weak")


def test_split_loads_one_folder_under_metadata(desed):
    assert {s.split for s in load(desed, "validation").samples} == {"validation"}
    assert {s.extra["set"] for s in load(desed, "validation").samples} == {
        "validation", "synthetic21_validation/soundscapes"}
    assert len(load(desed, "all").samples) == len(desed.expected)
    with pytest.raises(ConfigError, match=re.escape("no split 'test'; expected one of ['all', 'train', 'validation']")):
        load(desed, "test")
    with pytest.raises(ConfigError, match="leave no set to load"):
        load(desed, "validation", sets="weak")


def test_the_16k_copy_is_read_where_the_original_folder_is_not_there_or_first_with_audio_16k(desed):
    weak = desed.root / "audio/train/weak"
    shutil.copytree(weak, desed.root / "audio/train/weak_16k")
    sample = "Y-BJNMHMZDcU_50.000_60.000"
    assert samples_by_id(load(desed))[sample].audio == f"audio/train/weak/{sample}.wav"
    assert samples_by_id(load(desed, audio="16k"))[sample].audio == f"audio/train/weak_16k/{sample}.wav"
    shutil.rmtree(weak)
    assert samples_by_id(load(desed))[sample].audio == f"audio/train/weak_16k/{sample}.wav"
    with pytest.raises(ConfigError, match="'48k' is not one of \\['original', '16k'\\]"):
        load(desed, audio="48k")


def test_audio_dir_names_the_folder_of_the_split_folders(desed):
    shutil.move(desed.root / "audio", desed.root / "sounds")
    samples = samples_by_id(load(desed, audio_dir="sounds/"))
    assert samples[VALIDATION].audio == f"sounds/validation/validation/{VALIDATION}.wav"
    with pytest.raises(CorpusNotFoundError, match="none of the 10 DESED clips listed found.*-o audio_dir="):
        load(desed)


def test_columns_are_read_by_name_extra_ones_ignored(tmp_path):
    fake = write_fake_desed(tmp_path / "d", (FAKE_SETS[4],))
    path = fake.root / "metadata/validation/validation.tsv"
    path.write_text("event_label\tfilename\toffset\tonset\tconfidence\n"
                    f"Dog\t{VALIDATION}.wav\t1.0\t0.25\t0.9\n", encoding="utf-8")
    sample = samples_by_id(load(fake))[VALIDATION]
    assert sample.extra["events"] == [[0.25, 1.0, "Dog"]]


def test_bad_strong_lines_leave_out_their_event_naming_file_and_line(desed):
    path = tsv(desed, "validation/validation.tsv")
    first = append_rows(path, f"{VALIDATION}.wav\t0.1\t0.2",                       # 3 fields
                        f"{VALIDATION}.wav\tsoon\t0.2\tDog",                       # onset no number
                        f"{VALIDATION}.wav\t0.1\t-0.2\tDog",                       # negative offset
                        f"{VALIDATION}.wav\t0.7\t0.5\tDog",                        # offset before onset
                        f"{VALIDATION}.wav\t0.1\t0.2\t",                           # times without a label
                        f"{VALIDATION}.wav\t0.5\t1.2\tSpeech",                     # an event listed again
                        "\t0.1\t0.2\tDog",                                         # no filename
                        "Y9999999999x_0.000_10.000.wav\tsoon\t1\tDog")             # a clip of no good line
    result = load(desed)
    where = [(p.sample_id, p.path) for p in result.problems]
    assert where == [(None, f"{path}:{first}"), *((VALIDATION, f"{path}:{first + i}") for i in range(1, 5)),
                     (None, f"{path}:{first + 6}"), ("Y9999999999x_0.000_10.000", f"{path}:{first + 7}"),
                     (VALIDATION, f"{path}:{first + 5}")]
    texts = [p.reason for p in result.problems]
    assert texts[0].startswith("expected 4 tab-separated fields (filename, onset, offset, event_label), got 3")
    assert texts[1].startswith("onset 'soon' is not a number of seconds >= 0")
    assert texts[2].startswith("offset '-0.2' is not a number of seconds >= 0")
    assert texts[3].startswith("offset 0.5 is before onset 0.7")
    assert texts[4].startswith("empty event_label with onset 0.1 and offset 0.2")
    assert texts[5] == "empty filename; line left out"
    assert all(t.endswith("; event left out") for t in texts[1:5])
    assert result.problems[-1].error_type == REPEATED_ENTRY
    assert texts[-1] == (f"event Speech 0.5-1.2 s of clip {VALIDATION}.wav is listed again (first at {path}:3); "
                         "event left out")
    samples = samples_by_id(result)
    assert samples[VALIDATION].extra["events"] == [[0.163, 0.665, "Alarm_bell_ringing"], [0.5, 1.2, "Speech"],
                                                   [0.9, 1.5, "Speech"]]  # its good events kept
    assert "Y9999999999x_0.000_10.000" not in samples  # no line of it left


def test_bad_weak_lines_and_a_clip_listed_again_are_left_out(desed):
    path = tsv(desed, "train/weak.tsv")
    first = append_rows(path, "Y0BUmKvyzLOg_30.000_40.000.wav\t", "Y1111111111a_0.000_10.000.wav\tDog,,Cat",
                        "Y-BJNMHMZDcU_50.000_60.000.wav\tCat", "Ya/b.wav\tDog")
    result = load(desed)
    assert reasons(result)[:4] == [
        ("Y0BUmKvyzLOg_30.000_40.000", f"weak.tsv:{first}", "empty event_labels; expected the clip's labels joined "
         "by commas (e.g. Alarm_bell_ringing,Dog); line left out"),
        ("Y1111111111a_0.000_10.000", f"weak.tsv:{first + 1}",
         "event_labels 'Dog,,Cat' holds an empty label; expected labels joined by commas; line left out"),
        ("Y-BJNMHMZDcU_50.000_60.000", f"weak.tsv:{first + 2}",
         f"clip Y-BJNMHMZDcU_50.000_60.000.wav is listed again (first at {path}:2); line left out"),
        (None, f"weak.tsv:{first + 3}", "filename 'Ya/b.wav' holds a path separator; expected a file name such as "
         "Y-BJNMHMZDcU_50.000_60.000.wav; line left out")]
    assert result.problems[2].error_type == REPEATED_ENTRY
    assert samples_by_id(result)["Y-BJNMHMZDcU_50.000_60.000"].extra["labels"] == ["Alarm_bell_ringing", "Dog"]


def test_a_clip_another_set_with_its_audio_listed_first_is_a_repeated_entry_naming_the_leak(desed):
    path = tsv(desed, "validation/validation.tsv")
    line = append_rows(path, "Y-BJNMHMZDcU_50.000_60.000.wav\t0.0\t1.0\tDog",
                       "Y-BJNMHMZDcU_50.000_60.000.wav\t0.5\t1.0\tCat")
    shutil.copy(desed.root / "audio/train/weak/Y-BJNMHMZDcU_50.000_60.000.wav",
                desed.root / "audio/validation/validation")
    result = load(desed)
    [problem] = result.problems
    assert (problem.sample_id, problem.path, problem.error_type) == (
        "Y-BJNMHMZDcU_50.000_60.000", f"{path}:{line}", REPEATED_ENTRY)
    assert problem.reason == (
        f"clip Y-BJNMHMZDcU_50.000_60.000.wav of set 'validation' is listed in set 'weak' too (split 'train', a leak "
        f"between them) (first at {tsv(desed, 'train/weak.tsv')}:2); its 2 lines left out")
    assert samples_by_id(result)["Y-BJNMHMZDcU_50.000_60.000"].extra["set"] == "weak"
    # the clip's split does not depend on what is loaded: validation alone names it and leaves it to weak
    for alone in (load(desed, sets="validation"), load(desed, "validation")):
        assert "Y-BJNMHMZDcU_50.000_60.000" not in samples_by_id(alone)
        assert [(p.path, p.reason) for p in alone.problems] == [(problem.path, problem.reason)]


def test_a_listing_whose_folder_lacks_the_audio_leaves_the_clip_to_the_set_that_has_it(desed):
    """DESED's validation/eval_dcase2018.tsv lists clips of validation.tsv and has no audio folder (path order puts
    it first); a partly downloaded audioset_strong lists a clip whose WAV only validation has."""
    subset = tsv(desed, "validation/eval_dcase2018.tsv")
    subset.write_text(f"filename\tonset\toffset\tevent_label\n{VALIDATION}.wav\t0.163\t0.665\tAlarm_bell_ringing\n",
                      encoding="utf-8")
    strong = tsv(desed, "train/audioset_strong.tsv")
    line = append_rows(strong, f"{VALIDATION}.wav\t0.0\t1.0\tDog")
    for result in (load(desed), load(desed, "validation"), load(desed, sets="validation")):
        sample = samples_by_id(result)[VALIDATION]
        assert (sample.split, sample.extra["set"], len(sample.extra["events"])) == ("validation", "validation", 3)
        loaded_there = (f"(set 'validation' of split 'validation' holds its audio: the clip is loaded there, at "
                        f"{tsv(desed, 'validation/validation.tsv')}:2)")
        named = {p.path: p.reason for p in result.problems}
        if "validation/eval_dcase2018" in result.metadata["sets"]:  # not with sets=validation
            assert named[f"{subset}:2"] == (
                f"audio file {VALIDATION}.wav not found in audio/validation/eval_dcase2018/, "
                f"audio/validation/eval_dcase2018_16k/; line left out {loaded_there}")
        if result.metadata["sets"].get("train/audioset_strong"):
            assert named[f"{strong}:{line}"].startswith(f"audio file {VALIDATION}.wav not found in "
                                                        "audio/train/strong_label_real/; line left out (set")
    assert load(desed).metadata["clips_missing"] == 0


def test_a_clip_whose_audio_is_gone_is_named_at_its_first_line(desed):
    (desed.root / f"audio/validation/validation/{VALIDATION}.wav").unlink()
    (desed.root / "audio/train/unlabel_in_domain_16k/Y0BUmKvyzLOg_30.000_40.000.wav").unlink()
    result = load(desed)
    assert reasons(result) == [
        ("Y0BUmKvyzLOg_30.000_40.000", "unlabel_in_domain.tsv:2", "audio file Y0BUmKvyzLOg_30.000_40.000.wav not "
         "found in audio/train/unlabel_in_domain_16k/; line left out"),
        (VALIDATION, "validation.tsv:2",
         f"audio file {VALIDATION}.wav not found in audio/validation/validation/; its 3 lines left out")]
    assert result.metadata["clips_missing"] == 2
    assert len(result.samples) == len(desed.expected) - 2


def test_a_set_with_neither_audio_folder_names_both_for_each_clip(desed):
    shutil.rmtree(desed.root / "audio/train/weak")
    result = load(desed, sets="weak+validation")
    assert [p.reason for p in result.problems] == [
        f"audio file {name} not found in audio/train/weak/, audio/train/weak_16k/; line left out"
        for name in ("Y-BJNMHMZDcU_50.000_60.000.wav", "Y00pbt6aJV8Y_350.000_360.000.wav")]


def test_tsvs_of_another_header_or_outside_a_split_folder_are_skipped_and_named(desed):
    (desed.root / "metadata/train/notes.tsv").write_text("id\tcomment\n1\tx\n", encoding="utf-8")
    (desed.root / "metadata/eval").mkdir()
    (desed.root / "metadata/eval/scores.tsv").write_text("filename\tscore\na.wav\t1\n", encoding="utf-8")
    (desed.root / "metadata/eval/empty.tsv").write_text("\n", encoding="utf-8")
    (desed.root / "metadata/all.tsv").write_text("filename\nx.wav\n", encoding="utf-8")
    result = load(desed)
    assert len(result.samples) == len(desed.expected)
    assert [(p.sample_id, p.path.split("metadata/")[1]) for p in result.problems] == [
        (None, "all.tsv"), (None, "eval/empty.tsv:1"), (None, "eval/scores.tsv:1"), (None, "train/notes.tsv:1")]
    texts = [p.reason for p in result.problems]
    assert "directly in metadata/, not in a split folder" in texts[0]
    assert texts[1] == "empty file; expected a header line (filename<tab>...); file skipped"
    assert texts[2].startswith("header 'filename<tab>score' is none of a strong set's (filename, onset, offset, "
                               "event_label)")
    assert texts[3] == "header 'id<tab>comment' has no filename column; not a DESED set; file skipped"
    assert "eval" not in {s.split for s in result.samples}


def test_no_set_stops_the_load_naming_what_was_looked_for(tmp_path):
    with pytest.raises(CorpusNotFoundError, match=re.escape(f"{tmp_path / 'metadata'} is not a folder")):
        load_corpus("desed", tmp_path)
    (tmp_path / "metadata/train").mkdir(parents=True)
    with pytest.raises(CorpusNotFoundError, match="no TSV under .*metadata/<split>/; expected metadata/train/weak.tsv"):
        load_corpus("desed", tmp_path)
    (tmp_path / "metadata/train/labels.tsv").write_text("file\tclass\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="none of its 1 TSVs has the header of a strong .*labels.tsv:1"):
        load_corpus("desed", tmp_path)


def test_a_header_naming_a_column_twice_stops_the_load_at_its_line(desed):
    path = tsv(desed, "train/weak.tsv")
    path.write_text("filename\tevent_labels\tevent_labels\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}:1: repeated column names")):
        load(desed)


def test_other_classes_load_as_named(tmp_path):
    """Other DCASE-format corpora use other classes: none is checked against DESED's ten."""
    clip = FakeClip("Yabcdefghijk_0.000_10.000.wav", 1.0, events=((0.0, 0.5, "Siren"),))
    fake = write_fake_desed(tmp_path / "c", (FakeSet("eval", "public", "strong", (clip,)),))
    [sample] = load(fake).samples
    assert (sample.split, sample.extra["events"], sample.extra["labels"]) == ("eval", [[0.0, 0.5, "Siren"]], ["Siren"])
    assert sample.audio == "audio/eval/public/Yabcdefghijk_0.000_10.000.wav"


def test_sets_of_one_name_in_two_splits_are_two_sets_with_their_own_folders_and_ids(tmp_path):
    train = FakeSet("train", "synth/soundscapes", "strong", (FakeClip("0.wav", 1.0, events=((0.1, 0.5, "Cat"),)),))
    public = FakeSet("eval", "synth/soundscapes", "strong", (FakeClip("0.wav", 2.0, events=((0.2, 1.5, "Dog"),)),))
    fake = write_fake_desed(tmp_path / "d", (train, public))
    result = load(fake)
    assert result.problems == []
    samples = samples_by_id(result)
    assert {sid: (s.split, s.audio, s.extra["set"], s.extra["events"]) for sid, s in samples.items()} == {
        "train/synth/soundscapes/0": ("train", "audio/train/synth/soundscapes/0.wav", "synth/soundscapes",
                                      [[0.1, 0.5, "Cat"]]),
        "eval/synth/soundscapes/0": ("eval", "audio/eval/synth/soundscapes/0.wav", "synth/soundscapes",
                                     [[0.2, 1.5, "Dog"]])}
    assert {key: (s["file"], s["audio_folders"]) for key, s in result.metadata["sets"].items()} == {
        "eval/synth/soundscapes": ("metadata/eval/synth/soundscapes.tsv", ["audio/eval/synth/soundscapes"]),
        "train/synth/soundscapes": ("metadata/train/synth/soundscapes.tsv", ["audio/train/synth/soundscapes"])}
    assert list(samples_by_id(load(fake, sets="eval/synth/soundscapes"))) == ["eval/synth/soundscapes/0"]
    assert list(samples_by_id(load(fake, "eval", sets="synth/soundscapes"))) == ["eval/synth/soundscapes/0"]
    with pytest.raises(ConfigError, match=re.escape("'synth/soundscapes' is a set of 2 splits (eval/synth/soundscapes, "
                                                    "train/synth/soundscapes); name one")):
        load(fake, sets="synth/soundscapes")
    with pytest.raises(ConfigError, match="both name set eval/synth/soundscapes"):
        load(fake, "eval", sets="synth/soundscapes+eval/synth/soundscapes")
    with pytest.raises(ConfigError, match=re.escape("no set 'eval/synth/soundscape'") + ".*did you mean"):
        load(fake, sets="eval/synth/soundscape")


def test_hidden_files_and_folders_under_metadata_are_not_read(desed):
    (desed.root / "metadata/train/._weak.tsv").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X\xff\xfe")
    checkpoints = desed.root / "metadata/train/.ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "weak-checkpoint.tsv").write_text("filename\tevent_labels\nYzzzzzzzzzzz_0.000_10.000.wav\tDog\n"
                                                     "Y-BJNMHMZDcU_50.000_60.000.wav\tCat\n", encoding="utf-8")
    result = load(desed)
    assert result.problems == []
    assert samples_by_id(result)["Y-BJNMHMZDcU_50.000_60.000"].extra["labels"] == ["Alarm_bell_ringing", "Dog"]
    assert len(result.samples) == len(desed.expected)


def test_a_tsv_that_is_not_utf8_is_skipped_and_named_at_its_line(desed):
    where = not_utf8(tsv(desed, "validation/validation.tsv"), 3)
    result = load(desed)
    assert [(p.sample_id, p.path, p.reason) for p in result.problems] == [
        (None, where, "not valid UTF-8 (byte 0xff at offset 145); re-encode the file as UTF-8; file skipped")]
    assert "validation" not in {s.extra["set"] for s in result.samples}
    assert len(result.samples) == len(desed.expected) - 2


def test_the_unlabeled_folder_is_the_unlabeled_set_without_its_tsv(desed):
    tsv(desed, "train/unlabel_in_domain.tsv").unlink()
    folder = desed.root / "audio/train/unlabel_in_domain_16k"
    (folder / "._Y0BUmKvyzLOg_30.000_40.000.wav").write_bytes(b"\x00\x05\x16\x07")  # AppleDouble: not a clip
    (folder / "notes.txt").write_text("x", encoding="utf-8")
    result = load(desed)
    assert result.problems == []
    samples = samples_by_id(result)
    unlabeled = {sid: s for sid, s in samples.items() if s.extra["set"] == "unlabel_in_domain"}
    assert {sid: (s.split, s.audio, s.extra) for sid, s in unlabeled.items()} == {
        "Y0BUmKvyzLOg_30.000_40.000": ("train", "audio/train/unlabel_in_domain_16k/Y0BUmKvyzLOg_30.000_40.000.wav",
                                       {"set": "unlabel_in_domain", "audio_duration": 1.0}),
        "Y0Ndpm5Vbdcg_0.000_10.000": ("train", "audio/train/unlabel_in_domain_16k/Y0Ndpm5Vbdcg_0.000_10.000.wav",
                                      {"set": "unlabel_in_domain", "audio_duration": 2.0})}
    assert result.metadata["sets"]["train/unlabel_in_domain"] == {
        "file": None, "kind": "unlabeled", "split": "train", "name": "unlabel_in_domain",
        "audio_folders": ["audio/train/unlabel_in_domain_16k"], "clips_unlisted": 2}
    assert len(load(desed, sets="unlabel_in_domain").samples) == 2
    shutil.rmtree(folder)  # neither TSV nor folder: no unlabeled set
    with pytest.raises(ConfigError, match="no set 'unlabel_in_domain'"):
        load(desed, sets="unlabel_in_domain")


def test_wavs_of_the_unlabeled_folder_its_tsv_does_not_list_are_loaded_too(desed):
    tsv(desed, "train/unlabel_in_domain.tsv").write_text("filename\nY0Ndpm5Vbdcg_0.000_10.000.wav\n", encoding="utf-8")
    result = load(desed)
    assert result.problems == []
    unlisted = samples_by_id(result)["Y0BUmKvyzLOg_30.000_40.000"]
    assert (unlisted.split, unlisted.extra) == ("train", {"set": "unlabel_in_domain", "audio_duration": 1.0})
    assert len(result.samples) == len(desed.expected)
    assert result.metadata["sets"]["train/unlabel_in_domain"]["clips_unlisted"] == 1


def test_trailing_tabs_and_a_lone_filename_are_read_as_pandas_reads_them(desed):
    path = tsv(desed, "validation/validation.tsv")
    path.write_text("filename\tonset\toffset\tevent_label\t\n"
                    f"{VALIDATION}.wav\t0.163\t0.665\tAlarm_bell_ringing\t\n"
                    f"{VALIDATION}.wav\t0.5\t1.2\tSpeech\n"
                    "Y1a3rs8NWa2M_30.000_40.000.wav\n", encoding="utf-8")
    weak = tsv(desed, "train/weak.tsv")
    weak.write_text("filename\tevent_labels\t\nY-BJNMHMZDcU_50.000_60.000.wav\tDog\t\t\n", encoding="utf-8")
    result = load(desed)
    assert result.problems == []
    samples = samples_by_id(result)
    assert samples[VALIDATION].extra["events"] == [[0.163, 0.665, "Alarm_bell_ringing"], [0.5, 1.2, "Speech"]]
    assert samples["Y1a3rs8NWa2M_30.000_40.000"].extra["events"] == []  # the lone filename: a clip of no event
    assert samples["Y-BJNMHMZDcU_50.000_60.000"].extra["labels"] == ["Dog"]
    append_rows(path, f"{VALIDATION}.wav\t0.9\t1.5\tSpeech\tx")  # a field that is not empty is still one too many
    assert "expected 4 tab-separated fields" in load(desed).problems[0].reason


def test_durations_problems_carry_the_clips_sample_id(desed):
    path = tsv(desed, "validation/synthetic21_validation/durations.tsv")
    line = append_rows(path, "0.wav\tlong", "0.wav\t2.0", "7.wav\tlong")
    result = load(desed)
    assert [(p.sample_id, p.path) for p in result.problems] == [
        ("validation/synthetic21_validation/soundscapes/0", f"{path}:{line}"),
        ("validation/synthetic21_validation/soundscapes/0", f"{path}:{line + 1}"),
        ("validation/synthetic21_validation/soundscapes/7", f"{path}:{line + 2}")]  # listed by no set: its folder's


def test_a_strong_clips_missing_audio_is_named_at_its_first_line_even_a_bad_one(desed):
    path = tsv(desed, "validation/validation.tsv")
    line = append_rows(path, "Yabcdefghijk_0.000_10.000.wav\tsoon\t1.0\tDog",
                       "Yabcdefghijk_0.000_10.000.wav\t0.1\t1.0\tCat")
    result = load(desed)
    assert [(p.path, p.reason.split(";")[0]) for p in result.problems] == [
        (f"{path}:{line}", "onset 'soon' is not a number of seconds >= 0 (expected e.g. 0.163, seconds in the clip)"),
        (f"{path}:{line}", "audio file Yabcdefghijk_0.000_10.000.wav not found in audio/validation/validation/")]


def test_lines_split_at_newlines_only_so_line_numbers_stay_right(desed):
    path = tsv(desed, "train/weak.tsv")
    path.write_text("filename\tevent_labels\n"
                    "Y-BJNMHMZDcU_50.000_60.000.wav\tDog\u2028Cat\u0085x\x0c\n"  # no line breaks for pandas
                    "Y00pbt6aJV8Y_350.000_360.000.wav\r\n"
                    "Yabcdefghijk_0.000_10.000.wav\t\rYbcdefghijkl_0.000_10.000.wav\t\n", encoding="utf-8")
    result = load(desed)
    assert [(p.path.rsplit("/", 1)[-1], p.reason.split(";")[0]) for p in result.problems] == [
        ("weak.tsv:3", "empty event_labels"), ("weak.tsv:4", "empty event_labels"),
        ("weak.tsv:5", "empty event_labels")]
    assert samples_by_id(result)["Y-BJNMHMZDcU_50.000_60.000"].extra["labels"] == ["Dog\u2028Cat\u0085x"]


@pytest.mark.parametrize("threads", ["1", "4"])
def test_headers_read_on_threads_give_the_same_load(tmp_path, monkeypatch, threads):
    """The WAV headers no durations file covers are read through the shared reader: on `MMDATA_HEADER_THREADS`
    threads where that variable says so, the samples (their `extra` in its key order), problems and metadata as
    read in the calling thread."""
    from mmdata.corpora import media_captions

    fake = write_fake_desed(tmp_path / "dataset")
    (fake.root / next(iter(fake.expected.values())).audio).unlink()  # a clip gone: a problem in its place
    monkeypatch.setattr(media_captions, "POOLED_FROM", 2)
    monkeypatch.setattr(media_captions, "FILES_PER_TASK", 1)

    def load():
        result = load_corpus("desed", fake.root)
        return [(s, list(s.extra.items())) for s in result.samples], result.problems, result.metadata

    monkeypatch.delenv(media_captions.HEADER_THREADS_VARIABLE, raising=False)
    alone = load()
    monkeypatch.setenv(media_captions.HEADER_THREADS_VARIABLE, threads)
    assert load() == alone
    assert any("not found" in p.reason for p in alone[1])
