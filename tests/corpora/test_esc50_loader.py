"""The `esc50` loader on the release's layout: one sample per clip, its class in `extra`, the fold held out as
`test` (option test_fold) and the ESC-10 subset (option subset), the recording as group id; the rows it leaves
out (another number of fields, a fold not 1-5, a target named with two categories, a repeated file name, a
clip whose WAV is gone) named `file:line`; and the refusals that name what was looked for and the option."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError, MmdataError
from mmdata.records import samples_to_table
from tests.fakes.esc50 import CLASSES, COLUMNS, FakeClip, fake_clips, write_fake_esc50


@pytest.fixture
def esc50(tmp_path):
    return write_fake_esc50(tmp_path / "ESC-50-master", fake_clips(takes=2))


def load(fake, split=None, **options):
    return load_corpus("esc50", fake.root, split=split, options=options)


def append_rows(fake, *rows: str) -> int:
    """Append raw CSV lines to esc50.csv; the line number of the first."""
    text = fake.annotation_file.read_text(encoding="utf-8")
    fake.annotation_file.write_text(text + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return text.count("\n") + 1


def test_one_sample_per_clip_with_its_class_in_extra_and_its_recording_as_group(esc50):
    result = load(esc50)
    assert result.problems == []
    samples = {s.sample_id: s for s in result.samples}
    assert {sid: (s.split, s.audio) for sid, s in samples.items()} == {
        sid: (e.split, e.audio) for sid, e in esc50.expected.items()}
    clip = samples["2-102001-B-1"]
    assert (clip.split, clip.group_id, clip.corpus, clip.captions, clip.label) == ("train", "102001", "esc50", (), None)
    assert clip.extra == {"class": "rooster", "target": 1, "fold": 2, "esc10": True, "src_file": "102001",
                          "take": "B", "audio_duration": 0.5}
    assert result.metadata == {"annotation_file": "meta/esc50.csv", "test_fold": 1, "subset": "esc50"}


@pytest.mark.parametrize("test_fold", [1, 3, 5])
def test_test_fold_holds_out_that_fold_as_test_and_trains_on_the_other_four(esc50, test_fold):
    samples = load(esc50, test_fold=test_fold).samples
    assert {s.extra["fold"] for s in samples if s.split == "test"} == {test_fold}
    assert {s.extra["fold"] for s in samples if s.split == "train"} == set(range(1, 6)) - {test_fold}
    test_only = load(esc50, "test", test_fold=str(test_fold)).samples  # as `-o test_fold=3` passes it
    assert sorted(s.sample_id for s in test_only) == sorted(s.sample_id for s in samples if s.split == "test")


def test_the_five_folds_held_out_in_turn_test_every_clip_once(esc50):
    tested = [s.sample_id for fold in range(1, 6) for s in load(esc50, "test", test_fold=fold).samples]
    assert sorted(tested) == sorted(esc50.expected)


def test_subset_esc10_keeps_the_esc10_classes_only(esc50):
    samples = load(esc50, subset="esc10").samples
    esc10 = {category for _, category, in_esc10 in CLASSES if in_esc10}
    assert {s.extra["class"] for s in samples} == esc10 == {"dog", "rooster"}
    assert len(samples) == 5 * 2 * len(esc10)


@pytest.mark.parametrize(("options", "message"), [
    ({"test_fold": 6}, "test_fold=6: expected a fold of [1, 2, 3, 4, 5]"),
    ({"test_fold": 0}, "run each of 1 to 5 for the 5-fold protocol"),
    ({"subset": "esc20"}, "'esc20' is not one of ['esc50', 'esc10']"),
])
def test_a_fold_or_subset_that_is_not_there_is_refused(esc50, options, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(esc50, **options)


def test_an_unknown_split_is_refused_listing_the_splits(esc50):
    with pytest.raises(ConfigError, match=re.escape("expected one of ['all', 'train', 'test']")):
        load(esc50, "val")


def test_bad_rows_are_left_out_and_named_at_their_line(esc50):
    first = append_rows(esc50,
                        "1-200000-A-0.wav,1,0,dog",                       # four fields of seven
                        "6-200001-A-0.wav,6,0,dog,True,200001,A",          # fold 6
                        "1-200002-A-0.wav,1,x,dog,True,200002,A",          # target no number
                        "1-200003-A-50.wav,1,50,whale,False,200003,A",     # target out of 0-49
                        "1-200004-A-0.wav,1,0,dog,yes,200004,A",           # esc10 not True/False
                        "1-200005-A-0.wav,1,0,puppy,True,200005,A",        # target 0 is dog
                        "1-200006-A-7.wav,1,7,cat,False,200006,A",         # cat is target 5
                        "1-101000-A-0.wav,1,0,dog,True,101000,A",          # listed again
                        ",1,0,dog,True,200008,A")                          # no file name
    result = load(esc50)
    where = str(esc50.annotation_file)
    got = {p.path: p for p in result.problems}
    assert list(got) == [f"{where}:{first + k}" for k in range(9)]
    reasons = [p.reason for p in result.problems]
    assert reasons[0].startswith("expected 7 fields (filename,fold,target,category,esc10,src_file,take), got 4")
    assert reasons[1] == "fold '6' is not one of 1-5; row left out"
    assert reasons[2] == "target 'x' is not a class number 0-49; row left out"
    assert reasons[3] == "target '50' is not a class number 0-49; row left out"
    assert reasons[4] == "esc10 'yes' is not True or False; row left out"
    assert reasons[5].startswith(f"target 0 is category 'dog' at {where}:2, this row says 'puppy'")
    assert reasons[6].startswith(f"category 'cat' is target 5 at {where}:6, this row says 7")
    assert reasons[7] == f"clip 1-101000-A-0.wav is listed again (first at {where}:2); row left out"
    assert result.problems[7].error_type == REPEATED_ENTRY
    assert reasons[8].startswith("empty filename")
    assert [p.sample_id for p in result.problems] == [None, "6-200001-A-0", "1-200002-A-0", "1-200003-A-50",
                                                      "1-200004-A-0", "1-200005-A-0", "1-200006-A-7",
                                                      "1-101000-A-0", None]
    assert len(result.samples) == len(esc50.expected)  # every good row still loads


def test_a_quote_left_open_names_its_row_and_reads_no_further(esc50):
    first = append_rows(esc50, '"1-200000-A-0.wav,1,0,dog,True,200000,A', "1-200001-A-0.wav,1,0,dog,True,200001,A")
    result = load(esc50)
    assert [p.path for p in result.problems] == [f"{esc50.annotation_file}:{first}"]
    assert result.problems[0].reason.startswith("expected 7 fields (filename,fold,target,category,esc10,src_file,take), "
                                                "got 1")
    assert len(result.samples) == len(esc50.expected)


def test_a_clip_whose_wav_is_gone_is_named_at_its_line(esc50):
    (esc50.root / "audio" / "3-103005-A-5.wav").unlink()
    result = load(esc50)
    [problem] = result.problems
    line = next(n for n, text in enumerate(esc50.annotation_file.read_text().splitlines(), 1)
                if text.startswith("3-103005-A-5.wav"))
    assert (problem.sample_id, problem.path) == ("3-103005-A-5", f"{esc50.annotation_file}:{line}")
    assert problem.reason == "audio file 3-103005-A-5.wav not found in audio/; row left out"
    assert len(result.samples) == len(esc50.expected) - 1


def test_a_header_without_the_seven_columns_is_a_format_error_at_line_1(esc50):
    where = esc50.corrupt()
    with pytest.raises(CorpusFormatError, match=re.escape(f"{where}: header 'filename,fold,target' lacks category, "
                                                          "esc10, src_file, take")):
        load(esc50)


def test_no_metadata_file_is_refused_naming_what_was_looked_for(esc50):
    esc50.annotation_file.unlink()
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            f"neither {esc50.root}/meta/esc50.csv nor {esc50.root}/esc50.csv is a file; -o csv_file=")):
        load(esc50)


def test_no_clip_in_the_audio_folder_is_refused_naming_option_audio_dir(esc50):
    (esc50.root / "audio").rename(esc50.root / "wavs")
    with pytest.raises(CorpusNotFoundError, match=re.escape("none of the 30 ESC-50 clips")) as refused:
        load(esc50)
    assert "-o audio_dir= names the folder" in str(refused.value)
    assert len(load(esc50, audio_dir="wavs").samples) == 30


def test_csv_file_and_audio_dir_options_read_another_layout(tmp_path):
    fake = write_fake_esc50(tmp_path / "flat", fake_clips(folds=2), audio_dir="", csv_file="esc50.csv", test_fold=2)
    result = load(fake, test_fold=2)
    assert result.problems == []
    assert {s.sample_id: (s.split, s.audio) for s in result.samples} == {
        sid: (e.split, e.audio) for sid, e in fake.expected.items()}
    elsewhere = write_fake_esc50(tmp_path / "other", csv_file="lists/my.csv")
    assert len(load(elsewhere, csv_file="lists/my.csv").samples) == len(elsewhere.expected)
    absolute = load(fake, test_fold=2, audio_dir=str(fake.root), allow_outside_root=True)
    assert len(absolute.samples) == len(fake.expected)


cells = st.one_of(st.sampled_from(["", "1", "5", "6", "49", "50", "True", "dog", "1-1-A-0.wav", "a/b.wav", "\"",
                                   " ", "\u00e9", "-1", "0x1"]), st.text(max_size=6))


@settings(max_examples=200, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cells, min_size=5, max_size=8), max_size=4))
def test_any_rows_give_samples_or_a_corpus_error(tmp_path_factory, rows):
    root = tmp_path_factory.mktemp("fuzz")
    write_fake_esc50(root, [FakeClip(1, "100", "A", 0, "dog", True)])
    with (root / "meta" / "esc50.csv").open("a", encoding="utf-8", newline="") as f:
        f.write("".join(",".join(row) + "\n" for row in rows))
    try:
        result = load_corpus("esc50", root)
    except MmdataError:
        return
    samples_to_table(result.samples)
    assert all(p.path.startswith(str(root / "meta" / "esc50.csv")) for p in result.problems)


def test_columns_in_another_order_are_read_by_name(tmp_path):
    fake = write_fake_esc50(tmp_path / "c", fake_clips(folds=1))
    lines = fake.annotation_file.read_text().splitlines()
    order = [COLUMNS.index(c) for c in reversed(COLUMNS)]
    fake.annotation_file.write_text("\n".join(",".join(line.split(",")[i] for i in order) for line in lines) + "\n")
    assert sorted(s.sample_id for s in load(fake).samples) == sorted(fake.expected)
