"""The `meld` loader on MELD.Raw as unpacked (the CSVs beside the clip folders) and on copies with a folder per split:
one sample per utterance whose clip is found, ids `<split>_dia<D>_utt<U>` unique over the splits (dev is `val`),
the conversation as group id, the sentiment as `label` (-1, 0, 1) and the emotion and the rest in `extra`; quoted
commas and non-ASCII text, MELD's cp1252 characters (U+0085, U+0092, U+00A0) kept; the rows it leaves out named
`file:line` (another number of fields, an id that is no whole number, an emotion or sentiment not MELD's, an
utterance listed again, a clip gone as the release's dia125_utt3.mp4); a season, episode or time that cannot be
read named with its sample kept; test clips named `final_videos_test...`; the CSVs' folder holding the most of them,
a split absent named; the refusals naming what was looked for; the dyadic variant."""
from __future__ import annotations

import csv
import logging
import re
import shutil

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError
from mmdata.records import samples_to_table
from tests.fakes import FakeCorpus, append_rows, samples_by_id
from tests.fakes.meld import (
    UTTERANCES,
    FakeUtterance,
    clip_folder,
    csv_path,
    write_clip,
    write_dyadic_csvs,
    write_fake_meld,
)

GONE = FakeUtterance("train", 125, 3, "I'm not gonna tell!", "Rachel", "neutral", "neutral")  # as in the release
LINE_OF_GONE = 8  # header, six train rows, then it


@pytest.fixture(params=["flat", "per-split"])
def meld(request, tmp_path):
    return write_fake_meld(tmp_path / "MELD.Raw", layout=request.param)


def load(fake_or_root, split=None, **options):
    root = fake_or_root.root if isinstance(fake_or_root, FakeCorpus) else fake_or_root
    return load_corpus("meld", root, split=split, options=options)


def test_one_sample_per_utterance_in_both_layouts(meld):
    result = load(meld)
    assert result.problems == []
    assert {s.sample_id: (s.split, s.video, s.transcript) for s in result.samples} == {
        sid: (e.split, e.video, e.transcript) for sid, e in meld.expected.items()}
    layout = "flat" if meld.annotation_file.parent == meld.root else "per-split"
    assert result.metadata == {"annotation_files": [
        csv_path(meld.root, s, layout).relative_to(meld.root).as_posix() for s in ("train", "val", "test")],
        "variant": "full", "clips_listed": len(UTTERANCES), "clips_missing": 0}
    samples_to_table(result.samples)  # a valid samples table


def test_ids_labels_and_extra_of_an_utterance_with_quoted_commas_and_curly_quotes(meld):
    sample = samples_by_id(load(meld))["train_dia0_utt0"]
    assert sample.transcript == "Oh my God, he’s lost it. He’s totally lost it."
    assert (sample.corpus, sample.split, sample.group_id, sample.label) == ("meld", "train", "train_dia0", -1.0)
    assert (sample.start, sample.end, sample.audio) == (None, None, None)  # the clip is already cut
    assert sample.extra == {"emotion": "sadness", "sentiment": "negative", "speaker": "Phoebe", "dialogue_id": 0,
                            "utterance_id": 0, "season": 4, "episode": 7, "episode_start": 1257.256,
                            "episode_end": 1260.049, "audio_duration": 0.4, "video_duration": 0.4}
    accents = samples_by_id(load(meld))["train_dia1_utt2"]
    assert accents.transcript == "Now, there’s two reasons: \"Café\", then \"déjà vu\"."
    assert accents.extra["emotion"] == "disgust"


def test_sentiment_is_the_label_and_dialogue_ids_restarting_per_split_stay_apart(meld):
    samples = load(meld).samples
    assert {(s.extra["sentiment"], s.label) for s in samples} == {("negative", -1.0), ("neutral", 0.0),
                                                                  ("positive", 1.0)}
    dialogue_0 = {s.sample_id: (s.split, s.group_id) for s in samples if s.extra["dialogue_id"] == 0
                  and s.extra["utterance_id"] == 0}
    assert dialogue_0 == {"train_dia0_utt0": ("train", "train_dia0"), "val_dia0_utt0": ("val", "val_dia0"),
                          "test_dia0_utt0": ("test", "test_dia0")}
    assert {s.extra["emotion"] for s in samples} == {"neutral", "joy", "sadness", "anger", "surprise", "disgust"}


def test_a_time_with_one_digit_hours_is_read(meld):
    extra = samples_by_id(load(meld))["train_dia0_utt2"].extra
    assert (extra["episode_start"], extra["episode_end"]) == (1263.5, 1269.0)


def test_the_folder_holding_meld_raw_is_a_root_too(tmp_path):
    fake = write_fake_meld(tmp_path / "MELD.Raw")
    result = load(tmp_path)
    assert result.problems == []
    assert {s.sample_id: s.video for s in result.samples} == {
        sid: f"MELD.Raw/{e.video}" for sid, e in fake.expected.items()}


def test_split_loads_that_csv_alone_and_dev_is_named_val(meld):
    assert {s.sample_id for s in load(meld, "val").samples} == {"val_dia0_utt0", "val_dia0_utt1"}
    assert {s.split for s in load(meld, "test").samples} == {"test"}
    assert len(load(meld, "all").samples) == len(meld.expected)
    with pytest.raises(ConfigError, match=re.escape("MELD's split 'dev' is named 'val' here")):
        load(meld, "dev")
    with pytest.raises(ConfigError, match=re.escape("expected one of ['all', 'train', 'val', 'test']")):
        load(meld, "validate")


def test_a_split_whose_csv_is_not_there_is_refused_naming_the_splits_there(tmp_path, caplog):
    fake = write_fake_meld(tmp_path / "MELD.Raw", tuple(u for u in UTTERANCES if u.split != "test"))
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.meld"):
        result = load(fake)
    assert {s.split for s in result.samples} == {"train", "val"}
    assert result.metadata["splits_absent"] == ["test"]  # named in the manifest's loader metadata, and logged
    assert [r.getMessage() for r in caplog.records] == [
        f"MELD's test_sent_emo.csv not in {fake.root} (nor in its test/ folder): split test not loaded"]
    assert "splits_absent" not in load(fake, "val").metadata  # the split asked is there
    with pytest.raises(CorpusNotFoundError, match=re.escape(
            f"split 'test' asked, but no MELD test_sent_emo.csv is in {fake.root}; splits there: ['train', 'val']")):
        load(fake, "test")


def layout_of(meld: FakeCorpus) -> str:
    return "flat" if meld.annotation_file.parent == meld.root else "per-split"


def test_bad_rows_are_left_out_and_named_at_their_line(meld):
    first = append_rows(meld.annotation_file,
                        '90,"Hi, there.",Ross,joy,positive,7,0,4,7',                               # 9 fields of 11
                        '91,Hi.,Ross,joy,positive,x7,0,4,7,"00:00:01,000","00:00:02,000"',         # Dialogue_ID
                        '92,Hi.,Ross,joy,positive,7,-1,4,7,"00:00:01,000","00:00:02,000"',         # Utterance_ID
                        '93,Hi.,Ross,happy,positive,7,2,4,7,"00:00:01,000","00:00:02,000"',        # emotion
                        '94,Hi.,Ross,joy,mixed,7,3,four,7,"00:00:01,000","00:00:02,000"',          # sentiment (+Season)
                        '95,Hi, there.,Ross,joy,positive,7,4,4,7,"00:00:01,000","00:00:02,000"',   # 12 fields, ids?
                        '98,Again.,Joey,joy,positive,0,1,4,7,"00:00:01,000","00:00:02,000"')       # listed again
    result = load(meld)
    where = str(meld.annotation_file)
    assert [p.path for p in result.problems] == [f"{where}:{first + k}" for k in range(7)]
    assert [p.sample_id for p in result.problems] == ["train_dia7_utt0", None, None, "train_dia7_utt2",
                                                      "train_dia7_utt3", None, "train_dia0_utt1"]
    reasons = [p.reason for p in result.problems]
    assert reasons[0].startswith("expected 11 fields (Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,"
                                 "Utterance_ID,Season,Episode,StartTime,EndTime), got 9")
    assert reasons[0].endswith("; row left out")
    assert reasons[1] == "Dialogue_ID 'x7' is not a whole number >= 0; row left out"
    assert reasons[2] == "Utterance_ID '-1' is not a whole number >= 0; row left out"
    assert reasons[3] == ("emotion 'happy' is not one of MELD's neutral, joy, sadness, anger, surprise, fear, "
                          "disgust; row left out")
    assert reasons[4] == "sentiment 'mixed' is not one of MELD's negative, neutral, positive; row left out"
    assert reasons[5].startswith("expected 11 fields") and " got 12: " in reasons[5]  # its ids do not parse
    assert reasons[6] == f"dialogue 0 utterance 1 is listed again (first at {where}:3); row left out"
    assert result.problems[6].error_type == REPEATED_ENTRY
    samples = samples_by_id(result)
    assert len(samples) == len(meld.expected) and samples["train_dia0_utt1"].transcript == "What?"  # the first row


def test_a_season_episode_or_time_that_cannot_be_read_is_named_and_its_sample_kept(meld):
    folder = meld.root / clip_folder("train", layout_of(meld))
    for k in range(4):
        write_clip(folder / f"dia7_utt{k}.mp4", k)
    first = append_rows(meld.annotation_file,
                        '95,Hi.,Ross,joy,positive,7,0,4,7,"00:00:01","00:00:02,000"',              # StartTime
                        '96,Hi.,Ross,joy,positive,7,1,4,7,"00:00:01,000",soon',                    # EndTime
                        '97,Hi.,Ross,joy,positive,7,2,four,,"00:00:01,000","00:00:02,000"',        # Season, Episode
                        '98,Hi.,Ross,joy,positive,7,3,4,7,"00:00:01,000","00:00:02,000"',          # all read
                        '99,Hi.,Ross,joy,positive,7,9,S4,7,"00:00:01,000","00:00:02,000"')         # no clip either
    result = load(meld)
    where = str(meld.annotation_file)
    assert [(p.sample_id, p.path, p.reason) for p in result.problems] == [
        ("train_dia7_utt0", f"{where}:{first}", "StartTime '00:00:01' is not a time h:mm:ss,mmm (as 00:20:57,256); "
         "sample kept, extra.episode_start null (information only: the clip is already cut)"),
        ("train_dia7_utt1", f"{where}:{first + 1}", "EndTime 'soon' is not a time h:mm:ss,mmm (as 00:20:57,256); "
         "sample kept, extra.episode_end null (information only: the clip is already cut)"),
        ("train_dia7_utt2", f"{where}:{first + 2}", "Season 'four' is not a whole number >= 0; sample kept, "
         "extra.season null (information only: the clip is already cut)"),
        ("train_dia7_utt2", f"{where}:{first + 2}", "Episode '' is not a whole number >= 0; sample kept, "
         "extra.episode null (information only: the clip is already cut)"),
        ("train_dia7_utt9", f"{where}:{first + 4}", "clip file dia7_utt9.mp4 not found in "
         f"{clip_folder('train', layout_of(meld))}/{', train/' if layout_of(meld) != 'flat' else ''}; row left out")]
    assert all(p.error_type == "CorpusFormatError" for p in result.problems)
    samples = samples_by_id(result)
    assert len(samples) == len(meld.expected) + 4
    informational = ("season", "episode", "episode_start", "episode_end")
    assert {sid: tuple(samples[sid].extra[k] for k in informational) for sid in (
        "train_dia7_utt0", "train_dia7_utt1", "train_dia7_utt2", "train_dia7_utt3")} == {
        "train_dia7_utt0": (4, 7, None, 2.0), "train_dia7_utt1": (4, 7, 1.0, None),
        "train_dia7_utt2": (None, None, 1.0, 2.0), "train_dia7_utt3": (4, 7, 1.0, 2.0)}
    assert (samples["train_dia7_utt0"].label, samples["train_dia7_utt0"].extra["emotion"]) == (1.0, "joy")
    samples_to_table(result.samples)  # nulls in extra are a valid samples table


def test_fields_lose_ascii_spaces_alone_melds_cp1252_characters_kept(meld):
    samples = samples_by_id(load(meld))
    assert samples["val_dia0_utt1"].transcript == "Yeah, it\x92s free\x85"  # its apostrophe and ellipsis
    assert samples["val_dia0_utt0"].transcript == "Oh, what, you get it through the mail?\xa0"
    folder = meld.root / clip_folder("train", layout_of(meld))
    write_clip(folder / "dia7_utt0.mp4", 1)
    append_rows(meld.annotation_file,
                '90,"  Wait\x85 \t",\tRoss ,Joy , POSITIVE,7, 0 ,4,7,"00:00:01,000","00:00:02,000"')
    sample = samples_by_id(load(meld))["train_dia7_utt0"]
    assert (sample.transcript, sample.extra["speaker"]) == ("Wait\x85", "Ross")


def test_emotion_and_sentiment_are_read_in_any_case_and_kept_lower_case(meld):
    rows = list(csv.reader(meld.annotation_file.open(encoding="utf-8")))
    rows[1][3:5] = ["SADNESS", "Negative"]
    rows[4][3:5] = ["Joy", "POSITIVE"]
    with meld.annotation_file.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    result = load(meld, "train")
    assert result.problems == []
    samples = samples_by_id(result)
    assert [(samples[s].extra["emotion"], samples[s].extra["sentiment"], samples[s].label)
            for s in ("train_dia0_utt0", "train_dia1_utt0")] == [("sadness", "negative", -1.0),
                                                                 ("joy", "positive", 1.0)]


def test_an_utterance_listed_in_two_splits_is_two_samples(meld):
    append_rows(csv_path(meld.root, "test", layout_of(meld)),
                '99,Hi.,Ross,joy,positive,1,0,4,7,"00:00:01,000","00:00:02,000"')  # train's dialogue 1 too
    result = load(meld)
    [problem] = result.problems  # its clip is not in the test folder: named, not taken from train's
    assert (problem.sample_id, problem.reason.split(" not found")[0]) == ("test_dia1_utt0", "clip file dia1_utt0.mp4")
    assert problem.reason.endswith("; also looked for final_videos_testdia1_utt0.mp4; row left out")


def test_a_test_clip_named_with_the_final_videos_test_prefix_is_found(meld):
    result = load(write_fake_meld(meld.root.parent / "prefixed", layout=layout_of(meld),
                                  prefixed=("test_dia0_utt0", "test_dia0_utt1")))
    assert result.problems == []
    folder = clip_folder("test", layout_of(meld))
    assert {s.sample_id: s.video for s in result.samples if s.split == "test"} == {
        "test_dia0_utt0": f"{folder}/final_videos_testdia0_utt0.mp4",
        "test_dia0_utt1": f"{folder}/final_videos_testdia0_utt1.mp4"}
    assert all("other_clip" not in s.extra for s in result.samples)


def test_a_test_clip_under_both_names_takes_the_plain_one_and_names_the_other(tmp_path):
    fake = write_fake_meld(tmp_path / "MELD.Raw", recut=("test_dia0_utt1",))
    result = load(fake)
    assert result.problems == []
    sample = samples_by_id(result)["test_dia0_utt1"]
    assert sample.video == "output_repeated_splits_test/dia0_utt1.mp4"
    assert sample.extra["other_clip"] == "output_repeated_splits_test/final_videos_testdia0_utt1.mp4"
    assert "other_clip" not in samples_by_id(result)["test_dia0_utt0"].extra
    prefixed_train = fake.root / "train_splits" / "final_videos_testdia0_utt0.mp4"  # the prefix is the test's alone
    (fake.root / "train_splits" / "dia0_utt0.mp4").rename(prefixed_train)
    [problem] = load(fake).problems
    assert problem.reason == "clip file dia0_utt0.mp4 not found in train_splits/; row left out"


def test_the_missing_clips_warning_names_those_missing(tmp_path, caplog):
    fake = write_fake_meld(tmp_path / "MELD.Raw", missing=("val_dia0_utt1", "test_dia0_utt0"))
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.meld"):
        result = load(fake)
    assert [p.sample_id for p in result.problems] == ["val_dia0_utt1", "test_dia0_utt0"]
    [warning] = [r.getMessage() for r in caplog.records if "clips listed not found" in r.getMessage()]
    assert warning == (f"2 of {len(UTTERANCES)} MELD clips listed not found: val_dia0_utt1 (dia0_utt1.mp4), "
                       "test_dia0_utt0 (dia0_utt0.mp4); each is named in the errors table")
    assert "dia125" not in warning


def test_the_clip_the_release_lacks_is_named_at_its_row_never_dropped_silently(tmp_path):
    train = tuple(u for u in UTTERANCES if u.split == "train")
    fake = write_fake_meld(tmp_path / "MELD.Raw", (*train, GONE, *UTTERANCES[len(train):]), missing=(GONE.sample_id,))
    result = load(fake)
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("train_dia125_utt3", f"{fake.annotation_file}:{LINE_OF_GONE}")
    assert problem.reason == "clip file dia125_utt3.mp4 not found in train_splits/; row left out"
    assert problem.error_type == "CorpusFormatError"
    assert (result.metadata["clips_listed"], result.metadata["clips_missing"]) == (len(UTTERANCES) + 1, 1)
    assert sorted(s.sample_id for s in result.samples) == sorted(fake.expected)


def test_a_missing_clip_in_the_per_split_layout_names_the_folders_looked_in(tmp_path):
    fake = write_fake_meld(tmp_path / "MELD.Raw", layout="per-split", missing=("val_dia0_utt1",))
    [problem] = load(fake).problems
    assert problem.reason == ("clip file dia0_utt1.mp4 not found in dev/dev_splits_complete/, dev/; row left out")


def test_the_folder_holding_the_most_csvs_is_read_not_the_first_holding_one(tmp_path, caplog):
    fake = write_fake_meld(tmp_path / "MELD.Raw")
    stray = tmp_path / "train_sent_emo.csv"
    shutil.copy(fake.annotation_file, stray)
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.meld"):
        result = load(tmp_path)
    assert result.problems == [] and len(result.samples) == len(fake.expected)
    assert result.metadata["annotation_files"] == [
        "MELD.Raw/train_sent_emo.csv", "MELD.Raw/dev_sent_emo.csv", "MELD.Raw/test_sent_emo.csv"]
    assert "splits_absent" not in result.metadata
    assert [r.getMessage() for r in caplog.records] == [
        f"MELD CSVs also in {tmp_path} (train_sent_emo.csv), not read: {fake.root} holds more (-o csv_dir= names the "
        "folder to read)"]
    csv_path(fake.root, "train").unlink()  # two and two: the first folder looked in, the root, is read
    shutil.copy(csv_path(fake.root, "val"), tmp_path / "dev_sent_emo.csv")
    tie = load(tmp_path)
    assert tie.metadata["annotation_files"] == ["train_sent_emo.csv", "dev_sent_emo.csv"]
    assert tie.metadata["splits_absent"] == ["test"]


def test_no_csv_is_refused_naming_the_files_and_folders_looked_for(tmp_path):
    fake = write_fake_meld(tmp_path / "MELD.Raw")
    for split in ("train", "val", "test"):
        csv_path(fake.root, split).unlink()
    with pytest.raises(CorpusNotFoundError) as refused:
        load(fake)
    message = str(refused.value)
    assert message.startswith(f"no MELD annotation CSV (train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv) "
                              f"found in {fake.root}, {fake.root}/MELD.Raw, {fake.root}/data/MELD")
    assert "nor in their train/, dev/, test/ folders" in message and "-o csv_dir=" in message
    assert "variant" not in message


def test_only_the_dyadic_csvs_there_is_refused_naming_option_variant(tmp_path):
    fake = write_fake_meld(tmp_path / "MELD.Raw")
    write_dyadic_csvs(fake.root, {"train_dia1_utt0": (1, 0)})
    for split in ("train", "val", "test"):
        csv_path(fake.root, split).unlink()
    with pytest.raises(CorpusNotFoundError, match=re.escape("the dyadic variant's CSVs are there: -o variant=dyadic")):
        load(fake)


def test_a_header_without_melds_columns_is_a_format_error_at_line_1(meld):
    where = meld.corrupt()
    with pytest.raises(CorpusFormatError, match=re.escape(
            f"{where}: header 'Sr No.,Utterance,Speaker' lacks Emotion, Sentiment, Dialogue_ID, Utterance_ID")):
        load(meld)


def test_an_empty_csv_is_a_format_error(meld):
    meld.annotation_file.write_text("")
    with pytest.raises(CorpusFormatError, match=re.escape(f"{meld.annotation_file}:1: empty file")):
        load(meld)


def test_columns_in_another_order_and_without_the_episode_times_are_read_by_name(tmp_path):
    fake = write_fake_meld(tmp_path / "MELD.Raw")
    rows = list(csv.reader(fake.annotation_file.open(encoding="utf-8")))
    keep = ["Dialogue_ID", "Utterance_ID", "Sentiment", "Emotion", "Speaker", "Utterance"]
    order = [rows[0].index(c) for c in keep]
    with fake.annotation_file.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([[row[i] for i in order] for row in rows])
    result = load(fake, "train")
    assert result.problems == []
    sample = samples_by_id(result)["train_dia0_utt0"]
    assert sample.transcript == "Oh my God, he’s lost it. He’s totally lost it."
    assert sample.extra == {"emotion": "sadness", "sentiment": "negative", "speaker": "Phoebe", "dialogue_id": 0,
                            "utterance_id": 0, "audio_duration": 0.4, "video_duration": 0.4}


def test_no_clip_found_is_refused_naming_option_video_dir_which_reads_them_elsewhere(tmp_path):
    fake = write_fake_meld(tmp_path / "MELD.Raw")
    (fake.root / "videos").mkdir()
    for split in ("train", "val", "test"):
        shutil.move(fake.root / clip_folder(split), fake.root / "videos" / clip_folder(split))
    with pytest.raises(CorpusNotFoundError, match=re.escape(f"none of the {len(UTTERANCES)} MELD clips found")) as e:
        load(fake)
    assert "-o video_dir= names the folder holding them" in str(e.value)
    result = load(fake, video_dir="videos")
    assert result.problems == []
    assert {s.sample_id: s.video for s in result.samples} == {
        sid: f"videos/{e.video}" for sid, e in fake.expected.items()}


def test_the_github_layout_csv_dir_and_video_dir(tmp_path):
    fake = write_fake_meld(tmp_path / "clips")
    repo = tmp_path / "MELD"
    (repo / "data" / "MELD").mkdir(parents=True)
    for split in ("train", "val", "test"):
        shutil.move(csv_path(fake.root, split), repo / "data" / "MELD" / csv_path(fake.root, split).name)
    result = load(repo, video_dir=str(fake.root), allow_outside_root=True)
    assert result.problems == [] and len(result.samples) == len(fake.expected)
    assert result.metadata["annotation_files"][0] == "data/MELD/train_sent_emo.csv"
    assert len(load(repo, csv_dir="data/MELD", video_dir=str(fake.root), allow_outside_root=True).samples) == len(
        fake.expected)


def test_an_absolute_csv_dir_outside_the_root_is_searched_for_clips(tmp_path):
    fake = write_fake_meld(tmp_path / "elsewhere" / "MELD.Raw")
    root = tmp_path / "root"
    root.mkdir()
    result = load(root, csv_dir=str(fake.root), allow_outside_root=True)
    assert result.problems == []
    assert {s.sample_id: s.video for s in result.samples} == {
        sid: str(fake.root / e.video) for sid, e in fake.expected.items()}
    with pytest.raises(CorpusFormatError, match="allow_outside_root=true"):  # clips outside the root: said so
        load(root, csv_dir=str(fake.root))


def test_the_clip_folders_dev_splits_and_test_splits_are_read(meld):
    fake = write_fake_meld(meld.root.parent / "other", layout=layout_of(meld),
                           clip_dirs={"val": "dev_splits", "test": "test_splits"})
    result = load(fake)
    assert result.problems == []
    assert {s.sample_id: s.video for s in result.samples} == {sid: e.video for sid, e in fake.expected.items()}
    assert {s.video.rsplit("/", 1)[0] for s in result.samples if s.split != "train"} == {
        clip_folder("val", layout_of(meld), {"val": "dev_splits"}),
        clip_folder("test", layout_of(meld), {"test": "test_splits"})}


def test_the_dyadic_csvs_are_found_in_data_meld_dyadic(tmp_path):
    fake = write_fake_meld(tmp_path / "clips")
    repo = tmp_path / "MELD"
    paths = write_dyadic_csvs(repo / "data" / "MELD_Dyadic", {"train_dia1_utt0": (1, 0), "val_dia0_utt1": (0, 1)})
    assert sorted(paths) == ["train", "val"]
    (repo / "data" / "MELD").mkdir()
    shutil.copy(fake.annotation_file, repo / "data" / "MELD")  # the full variant's, not read with variant=dyadic
    result = load(repo, variant="dyadic", video_dir=str(fake.root), allow_outside_root=True)
    assert result.problems == []
    assert result.metadata["annotation_files"] == ["data/MELD_Dyadic/train_sent_emo_dya.csv",
                                                   "data/MELD_Dyadic/dev_sent_emo_dya.csv"]
    assert {s.sample_id: s.video for s in result.samples} == {
        "train_dia0_utt0": str(fake.root / "train_splits/dia1_utt0.mp4"),
        "val_dia0_utt0": str(fake.root / "dev_splits_complete/dia0_utt1.mp4")}


def test_the_dyadic_variant_names_its_clips_by_the_old_ids(tmp_path):
    fake = write_fake_meld(tmp_path / "MELD.Raw")
    old = {"train_dia1_utt0": (1, 0), "train_dia1_utt2": (1, 2), "test_dia0_utt1": (0, 1)}
    paths = write_dyadic_csvs(fake.root, old)
    result = load(fake, variant="dyadic")
    assert result.problems == []
    assert {s.sample_id: (s.video, s.group_id, s.extra["old_dialogue_id"], s.extra["old_utterance_id"])
            for s in result.samples} == {
        "train_dia0_utt0": ("train_splits/dia1_utt0.mp4", "train_dia0", 1, 0),
        "train_dia0_utt1": ("train_splits/dia1_utt2.mp4", "train_dia0", 1, 2),
        "test_dia0_utt0": ("output_repeated_splits_test/dia0_utt1.mp4", "test_dia0", 0, 1)}
    assert result.metadata["annotation_files"] == ["train_sent_emo_dya.csv", "test_sent_emo_dya.csv"]
    assert samples_by_id(result)["train_dia0_utt1"].transcript.startswith("Now, there’s two reasons")
    lines = paths["train"].read_text(encoding="utf-8").splitlines()
    rows = [line.replace(",1,0,8", ",1,8").replace(",1,2,8", ",1,8") for line in lines[1:]]
    paths["train"].write_text("\n".join([lines[0].replace(",Old_Utterance_ID", ""), *rows]))
    with pytest.raises(CorpusFormatError, match=re.escape(f"{paths['train']}:1: header ") + ".*lacks Old_Utterance_ID"
                       ) as refused:
        load(fake, variant="dyadic")
    assert str(refused.value).endswith(  # MELD's dyadic CSVs have no Sr No.
        "; expected Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Old_Dialogue_ID,Old_Utterance_ID,"
        "Season,Episode,StartTime,EndTime (MELD's train_sent_emo_dya.csv)")


def test_a_dyadic_row_of_another_number_of_fields_carries_its_sample_id(tmp_path):
    fake = write_fake_meld(tmp_path / "MELD.Raw")
    paths = write_dyadic_csvs(fake.root, {"train_dia1_utt0": (1, 0)})
    first = append_rows(paths["train"], 'Hi.,Ross,joy,positive,0,5,1,1,4,7')  # 10 fields of 12
    result = load(fake, variant="dyadic", split="train")
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("train_dia0_utt5", f"{paths['train']}:{first}")
    assert problem.reason.startswith("expected 12 fields (Utterance,Speaker,")
    assert [s.sample_id for s in result.samples] == ["train_dia0_utt0"]


def test_a_variant_not_known_is_refused(meld):
    with pytest.raises(ConfigError, match="variant"):
        load(meld, variant="emotionlines")
