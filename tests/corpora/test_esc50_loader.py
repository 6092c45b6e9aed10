"""The `esc50` loader on the release's layout: one sample per clip, its class in `extra`, the fold held out as
`test` (option test_fold), another as `val` (option val_fold) and the ESC-10 subset (option subset), the
recording and class as group id; the rows it leaves out (another number of fields, a fold not 1-5, a target
named with two categories, a repeated file name, a clip whose WAV is gone) named `file:line`; esc10 in any case;
and the refusals that name what was looked for and the option: a header naming a column twice or not at all,
a file none of whose rows is a clip."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError, MmdataError
from mmdata.records import samples_to_table
from tests.fakes import append_rows, samples_by_id
from tests.fakes.esc50 import CLASSES, COLUMNS, TWO_CLASS_RECORDINGS, FakeClip, fake_clips, write_fake_esc50


@pytest.fixture
def esc50(tmp_path):
    return write_fake_esc50(tmp_path / "ESC-50-master", fake_clips(takes=2))


def load(fake, split=None, **options):
    return load_corpus("esc50", fake.root, split=split, options=options)


def test_one_sample_per_clip_with_its_class_in_extra_and_its_recording_and_class_as_group(esc50):
    result = load(esc50)
    assert result.problems == []
    samples = samples_by_id(result)
    assert {sid: (s.split, s.audio) for sid, s in samples.items()} == {
        sid: (e.split, e.audio) for sid, e in esc50.expected.items()}
    clip = samples["2-102001-B-1"]
    assert (clip.split, clip.group_id, clip.corpus, clip.captions, clip.label) == ("train", "102001-1", "esc50", (), None)
    assert clip.extra == {"class": "rooster", "target": 1, "fold": 2, "esc10": True, "src_file": "102001",
                          "take": "B", "audio_duration": 0.5}
    assert result.metadata == {"annotation_file": "meta/esc50.csv", "test_fold": 1, "val_fold": None,
                               "subset": "esc50"}


def test_one_recording_in_two_classes_is_two_groups_as_the_release_deals_them_into_two_folds(tmp_path):
    fake = write_fake_esc50(tmp_path / "c", [*fake_clips(), *TWO_CLASS_RECORDINGS])
    samples = samples_by_id(load(fake))
    tick, alarm = samples["2-131943-A-38"], samples["3-131943-A-37"]
    assert (tick.group_id, alarm.group_id) == ("131943-38", "131943-37")
    assert tick.extra["src_file"] == alarm.extra["src_file"] == "131943"
    for fold in range(1, 6):  # every recording-and-class group in one split, whichever fold is held out
        splits_of = {}
        for s in load(fake, test_fold=fold).samples:
            splits_of.setdefault(s.group_id, set()).add(s.split)
        assert all(len(splits) == 1 for splits in splits_of.values()), fold


def test_val_fold_holds_out_another_fold_as_val(esc50):
    samples = load(esc50, test_fold=2, val_fold="5").samples  # as `-o val_fold=5` passes it
    folds = {split: {s.extra["fold"] for s in samples if s.split == split} for split in ("train", "val", "test")}
    assert folds == {"train": {1, 3, 4}, "val": {5}, "test": {2}}
    assert {s.sample_id for s in load(esc50, "val", test_fold=2, val_fold=5).samples} == {
        s.sample_id for s in samples if s.split == "val"}
    assert load(esc50, test_fold=2, val_fold=5).problems == []


@pytest.mark.parametrize(("options", "message"), [
    ({"val_fold": 1}, "val_fold=1: expected a fold of [1, 2, 3, 4, 5] other than test_fold=1"),
    ({"test_fold": 3, "val_fold": 3}, "val_fold=3: expected a fold of [1, 2, 3, 4, 5] other than test_fold=3"),
    ({"val_fold": 6}, "val_fold=6: expected a fold"),
])
def test_a_val_fold_that_is_the_test_fold_or_no_fold_is_refused(esc50, options, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(esc50, **options)


def test_split_val_without_val_fold_is_refused_naming_the_option(esc50):
    with pytest.raises(ConfigError, match=re.escape("no split 'val' unless -o val_fold=N")):
        load(esc50, "val")


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
    with pytest.raises(ConfigError, match=re.escape("expected one of ['all', 'train', 'val', 'test']")):
        load(esc50, "dev")


def test_bad_rows_are_left_out_and_named_at_their_line(esc50):
    first = append_rows(esc50.annotation_file,
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
    assert reasons[4] == "esc10 'yes' is not True or False (any case) nor 1 or 0; row left out"
    assert reasons[5].startswith(f"target 0 is category 'dog' at {where}:2, this row says 'puppy'")
    assert reasons[6].startswith(f"category 'cat' is target 5 at {where}:6, this row says 7")
    assert reasons[7] == f"clip 1-101000-A-0.wav is listed again (first at {where}:2); row left out"
    assert result.problems[7].error_type == REPEATED_ENTRY
    assert reasons[8].startswith("empty filename")
    assert [p.sample_id for p in result.problems] == [None, "6-200001-A-0", "1-200002-A-0", "1-200003-A-50",
                                                      "1-200004-A-0", "1-200005-A-0", "1-200006-A-7",
                                                      "1-101000-A-0", None]
    assert len(result.samples) == len(esc50.expected)  # every good row still loads


@pytest.mark.parametrize(("true", "false"), [("TRUE", "FALSE"), ("true", "false"), ("1", "0")])
def test_esc10_as_excel_and_other_copies_write_it_is_read_in_any_case(esc50, true, false):
    text = esc50.annotation_file.read_text()
    esc50.annotation_file.write_text(text.replace(",True,", f",{true},").replace(",False,", f",{false},"))
    assert f",{true}," in esc50.annotation_file.read_text() and ",True," not in esc50.annotation_file.read_text()
    result = load(esc50)
    assert result.problems == [] and len(result.samples) == len(esc50.expected)
    assert {s.extra["class"]: s.extra["esc10"] for s in result.samples} == {c: e for _, c, e in CLASSES}
    assert {s.extra["class"] for s in load(esc50, subset="esc10").samples} == {"dog", "rooster"}


def test_a_file_none_of_whose_rows_is_a_clip_is_refused_naming_the_most_common_reason(esc50):
    lines = esc50.annotation_file.read_text().splitlines()
    bad = [lines[0], *(line.replace(",True,", ",yes,").replace(",False,", ",no,") for line in lines[1:]),
           lines[1].replace(",1,0,", ",9,0,")]  # one row with another reason: fold 9
    esc50.annotation_file.write_text("\n".join(bad) + "\n")
    with pytest.raises(CorpusFormatError) as refused:
        load(esc50)
    message = str(refused.value)
    assert message.startswith(f"{esc50.annotation_file}: none of its {len(bad) - 1} rows is a clip; the most common "
                              f"reason ({len(bad) - 2} of {len(bad) - 1} rows, first at {esc50.annotation_file}:2): "
                              "esc10 'yes' is not True or False")
    assert "expected rows as ESC-50's meta/esc50.csv writes them" in message


def test_a_header_with_no_row_under_it_is_refused(esc50):
    esc50.annotation_file.write_text(",".join(COLUMNS) + "\n\n")
    with pytest.raises(CorpusFormatError, match=re.escape(f"{esc50.annotation_file}: no row under the header")):
        load(esc50)


def test_subset_esc10_with_no_esc10_row_is_refused(esc50):
    esc50.annotation_file.write_text(esc50.annotation_file.read_text().replace(",True,", ",False,"))
    with pytest.raises(CorpusFormatError, match=re.escape("none of the 30 clips has esc10 True")):
        load(esc50, subset="esc10")
    assert len(load(esc50).samples) == 30


@pytest.mark.parametrize(("header", "message"), [
    ("filename,fold,target,category,esc10,src_file,take,target",
     "repeated column names in the header: 'target' is columns 3 and 8"),
    ("filename,fold,target,category,esc10,,src_file,take", "column 6 of the header has no name"),
])
def test_a_header_naming_a_column_twice_or_not_at_all_is_refused_at_line_1(esc50, header, message):
    lines = esc50.annotation_file.read_text().splitlines()
    widened = [header, *(line.replace(",A", ",A,7").replace(",B", ",B,7") if "target" in header else
                         line.replace(",True,", ",True,x,").replace(",False,", ",False,x,") for line in lines[1:])]
    esc50.annotation_file.write_text("\n".join(widened) + "\n")
    with pytest.raises(CorpusFormatError, match=re.escape(f"{esc50.annotation_file}:1: {message}")):
        load(esc50)


def test_the_unnamed_index_column_pandas_writes_is_left_out(esc50):
    lines = esc50.annotation_file.read_text().splitlines()
    esc50.annotation_file.write_text("\n".join(f"{'' if n == 0 else n - 1},{line}" for n, line in enumerate(lines))
                                     + "\n")
    result = load(esc50)
    assert result.problems == [] and len(result.samples) == len(esc50.expected)


def test_a_quote_left_open_names_its_row_and_reads_no_further(esc50):
    first = append_rows(esc50.annotation_file, '"1-200000-A-0.wav,1,0,dog,True,200000,A',
                        "1-200001-A-0.wav,1,0,dog,True,200001,A")
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
