"""The `audioset` loader on the layouts copies of AudioSet have: one sample per segment of the segments files of
option subsets (balanced_train + eval by default) with its class names and MIDs in `extra`, the YouTube id as
group, split `train` or `test` (eval); the segments it leaves out (gone from YouTube, a row of the wrong shape, a
bad time, no label, an unknown MID, a video listed twice) named `file:line`; refusals naming what was looked for."""
from __future__ import annotations

import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmdata.corpora import load_corpus
from mmdata.corpora.audioset_segments import RELEASE_ROW
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.corpora.media_captions import audio_duration_extra
from mmdata.corpora.mosi_raw_media import record_video_span
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError, MmdataError
from mmdata.records import samples_to_table
from tests.fakes import append_rows, samples_by_id
from tests.fakes.audioset import LABELS, SEGMENTS, FakeSegment, class_labels_csv, segments_csv, write_fake_audioset
from tests.fakes.vggsound import write_clip


def test_a_panns_copy_gives_a_sample_per_segment_with_its_class_names_mids_and_group(tmp_path):
    fake = write_fake_audioset(tmp_path / "c")
    result = load_corpus("audioset", fake.root)
    assert result.problems == []
    samples = samples_by_id(result)
    assert {sid: (s.split, s.audio, s.video) for sid, s in samples.items()} == {
        sid: (e.split, e.audio, None) for sid, e in fake.expected.items()}
    segment = samples["-0RWZT-miFs_420000"]
    assert segment.audio == "audios/balanced_train_segments/Y-0RWZT-miFs.wav"
    assert (segment.group_id, segment.corpus, segment.split) == ("-0RWZT-miFs", "audioset", "train")
    assert segment.extra["labels"] == ["Dog", "Domestic animals, pets", "Animal"]  # quoted commas kept whole
    assert segment.extra["mids"] == ["/m/0bt9lr", "/m/068hy", "/m/0jbk"]
    assert (segment.extra["youtube_id"], segment.extra["start_seconds"], segment.extra["end_seconds"],
            segment.extra["subset"]) == ("-0RWZT-miFs", 420.0, 430.0, "balanced_train")
    assert segment.extra["audio_duration"] == pytest.approx(1.0)
    assert samples["-1LrH01Ei1w_7500"].split == "test"  # eval, its start 7.5 s as milliseconds in the id
    assert {sid: s.extra["labels"] for sid, s in samples.items()} == {sid: LABELS[sid] for sid in fake.expected}
    assert result.metadata == {
        "segments_files": {"balanced_train": "metadata/balanced_train_segments.csv",
                           "eval": "metadata/eval_segments.csv"},
        "class_labels_file": "metadata/class_labels_indices.csv", "subsets": ["balanced_train", "eval"],
        "media_folders": {"balanced_train": "audios/balanced_train_segments/, audios/, the root",
                          "eval": "audios/eval_segments/, audios/, the root"},
        "segments_listed": 5, "segments_missing": 0}


def test_the_unbalanced_set_is_read_only_when_option_subsets_names_it(tmp_path):
    fake = write_fake_audioset(tmp_path / "c", subsets=("balanced_train", "unbalanced_train", "eval"))
    default = samples_by_id(load_corpus("audioset", fake.root))
    assert "---1_cCGK4M_10000" not in default and len(default) == 5
    every = samples_by_id(load_corpus("audioset", fake.root,
                                      options={"subsets": "balanced_train+unbalanced_train+eval"}))
    assert every["---1_cCGK4M_10000"].audio == \
        "audios/unbalanced_train_segments/unbalanced_train_segments_part00/Y---1_cCGK4M.wav"
    assert every["---1_cCGK4M_10000"].split == "train"
    train = load_corpus("audioset", fake.root, split="train", options={"subsets": "unbalanced_train+eval"})
    assert [s.sample_id for s in train.samples] == ["---1_cCGK4M_10000"]
    assert train.metadata["segments_files"] == {"unbalanced_train": "metadata/unbalanced_train_segments.csv"}


def test_split_test_loads_eval_alone_and_its_native_name_is_refused_with_the_name_used_here(tmp_path):
    fake = write_fake_audioset(tmp_path / "c")
    (fake.root / "metadata" / "balanced_train_segments.csv").unlink()  # not needed for split test
    result = load_corpus("audioset", fake.root, split="test")
    assert {s.sample_id for s in result.samples} == {"--4gqARaEJE_0", "-1LrH01Ei1w_7500"}
    with pytest.raises(ConfigError, match="pass --split test"):
        load_corpus("audioset", fake.root, split="eval")
    with pytest.raises(ConfigError, match=r"split 'test' asked, but -o subsets=balanced_train reads none of its sets "
                                          r"\(eval\)"):
        load_corpus("audioset", fake.root, split="test", options={"subsets": "balanced_train"})


@pytest.mark.parametrize(("naming", "media_dir", "suffix", "path"), [
    ("hf", "audio", ".flac", "audio/bal_train/--PJHxphWEs.flac"),
    ("audiosetdl", "data", ".mp4", "data/balanced_train_segments/video/--PJHxphWEs_30000_40000.mp4"),
])
def test_the_download_tools_namings_and_folders_are_found(tmp_path, naming, media_dir, suffix, path):
    fake = write_fake_audioset(tmp_path / "c", naming=naming, csv_dir="", media_dir=media_dir, suffix=suffix)
    result = load_corpus("audioset", fake.root)
    assert result.problems == []
    segment = samples_by_id(result)["--PJHxphWEs_30000"]
    assert (segment.video if suffix == ".mp4" else segment.audio) == path
    if suffix == ".mp4":
        assert segment.audio is None and segment.extra["video_duration"] == pytest.approx(1.0)


def test_audiosetdl_s_audio_and_video_folders_fill_both_media_of_a_segment(tmp_path):
    fake = write_fake_audioset(tmp_path / "c", naming="audiosetdl", csv_dir="", media_dir="data", suffix=".flac",
                               with_video=True)
    result = load_corpus("audioset", fake.root)
    assert result.problems == []
    assert {sid: (s.audio, s.video) for sid, s in samples_by_id(result).items()} == {
        sid: (e.audio, e.video) for sid, e in fake.expected.items()}
    segment = samples_by_id(result)["--PJHxphWEs_30000"]
    assert (segment.audio, segment.video) == ("data/balanced_train_segments/audio/--PJHxphWEs_30000_40000.flac",
                                              "data/balanced_train_segments/video/--PJHxphWEs_30000_40000.mp4")
    assert segment.extra["audio_duration"] == pytest.approx(1.0)  # the FLAC's, not the MP4's track


def header_extra(root, sample) -> dict:
    """The header values of a sample's files as three opens read them: the sound file's (else the MP4's audio
    stream's), then the MP4's video span."""
    extra: dict = dict(audio_duration_extra(root / (sample.audio or sample.video)))
    if sample.video is not None:
        record_video_span(root / sample.video, extra)
    return extra


@pytest.mark.parametrize("with_flac", [True, False])
def test_an_mp4_s_header_values_are_those_its_separate_readings_give_in_their_order(tmp_path, with_flac):
    fake = write_fake_audioset(tmp_path / "c", naming="audiosetdl", csv_dir="", media_dir="data",
                               suffix=".flac" if with_flac else ".mp4", with_video=with_flac)
    result = load_corpus("audioset", fake.root)
    assert result.problems == [] and len(result.samples) == 5
    for sample in result.samples:
        assert sample.video is not None and (sample.audio is not None) == with_flac
        expected = header_extra(fake.root, sample)
        assert {"audio_duration", "video_duration"} <= set(expected)
        got = {key: value for key, value in sample.extra.items() if key in expected}
        assert list(got.items()) == list(expected.items())
        assert list(sample.extra)[-len(expected):] == list(expected)  # after the row's values, as before


@pytest.mark.parametrize(("stray", "kept"), [
    ("--PJHxphWEs.wav", "audio/bal_train/--PJHxphWEs.flac"),  # a root file of the same name and a first suffix
    ("audio/--PJHxphWEs_30.flac", "audio/bal_train/--PJHxphWEs.flac"),  # a parent's file of a first name
    ("audios/Y--PJHxphWEs.wav", "audio/bal_train/--PJHxphWEs.flac"),  # a parent listed first
])
def test_a_set_s_own_folder_wins_over_a_parent_s_file_of_any_name(tmp_path, stray, kept):
    fake = write_fake_audioset(tmp_path / "c", naming="hf", csv_dir="", media_dir="audio", suffix=".flac")
    write_clip(fake.root / stray, seed=5)
    result = load_corpus("audioset", fake.root)
    assert result.problems == []
    assert samples_by_id(result)["--PJHxphWEs_30000"].audio == kept
    (fake.root / kept).unlink()
    assert samples_by_id(load_corpus("audioset", fake.root))["--PJHxphWEs_30000"].audio == stray


def test_in_one_folder_the_first_name_wins_then_the_first_suffix(tmp_path):
    fake = write_fake_audioset(tmp_path / "c", naming="hf", csv_dir="", media_dir="audio", suffix=".flac")
    folder = fake.root / "audio" / "bal_train"
    write_clip(folder / "-0RWZT-miFs_420.flac", seed=5)  # a name carrying the start: before the bare id
    write_clip(folder / "--PJHxphWEs.wav", seed=5)  # .wav before .flac
    audio = {s.sample_id: s.audio for s in load_corpus("audioset", fake.root).samples}
    assert audio["-0RWZT-miFs_420000"] == "audio/bal_train/-0RWZT-miFs_420.flac"
    assert audio["--PJHxphWEs_30000"] == "audio/bal_train/--PJHxphWEs.wav"


@pytest.mark.parametrize("respell", [
    lambda row: '"{}",\t{}'.format(*row.split(", ", 1)).replace(", ", ",\t"),  # tabs, the id quoted
    lambda row: '"{}", {} '.format(*row.split(", ", 1)),  # the id quoted, a space after the labels
])
def test_rows_the_csv_module_reads_give_what_the_release_s_spelling_gives(tmp_path, respell):
    fake = write_fake_audioset(tmp_path / "c")
    release = {s.sample_id: s for s in load_corpus("audioset", fake.root).samples}
    lines = fake.annotation_file.read_text(encoding="utf-8").splitlines()
    rows = [line if line.startswith("#") else respell(line) for line in lines]
    assert all(RELEASE_ROW.fullmatch(line) for line in lines[3:])
    assert not any(RELEASE_ROW.fullmatch(row) for row in rows[3:])  # each read by the csv module
    fake.annotation_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = load_corpus("audioset", fake.root)
    assert result.problems == []
    assert {s.sample_id: s for s in result.samples} == release


def test_audiosetdl_s_truncated_milliseconds_are_found(tmp_path):
    segments = (FakeSegment("--PJHxphWEs", 32.3, ("/m/09x0r",), "balanced_train"),
                FakeSegment("-1LrH01Ei1w", 7.5, ("/m/0jbk",), "eval"))
    assert int(32.3 * 1000) == 32299  # audiosetdl's int(seconds * 1000); the sample id rounds
    fake = write_fake_audioset(tmp_path / "c", naming="audiosetdl", csv_dir="", media_dir="data", suffix=".flac",
                               segments=segments)
    result = load_corpus("audioset", fake.root)
    assert result.problems == []
    assert samples_by_id(result)["--PJHxphWEs_32300"].audio == \
        "data/balanced_train_segments/audio/--PJHxphWEs_32299_42300.flac"


def test_segments_in_metadata_beside_a_class_table_in_the_root_are_read_from_metadata(tmp_path):
    fake = write_fake_audioset(tmp_path / "c")
    table = fake.root / "metadata" / "class_labels_indices.csv"
    table.rename(fake.root / "class_labels_indices.csv")
    result = load_corpus("audioset", fake.root)
    assert len(result.samples) == 5
    assert result.metadata["segments_files"]["eval"] == "metadata/eval_segments.csv"
    assert result.metadata["class_labels_file"] == "class_labels_indices.csv"  # the root's, found after metadata/
    (fake.root / "metadata" / "eval_segments.csv").unlink()
    with pytest.raises(CorpusNotFoundError, match=r"no AudioSet eval_segments.csv found in") as refused:
        load_corpus("audioset", fake.root)
    assert str(fake.root / "metadata" / "eval_segments.csv") not in str(refused.value)


def test_the_unbalanced_part_folders_are_indexed_once_and_named_in_short(tmp_path):
    root = tmp_path / "c"
    segments = tuple(FakeSegment(f"unbal{n:06d}", 10.0 * n, ("/m/09x0r",), "unbalanced_train") for n in range(5))
    write_fake_audioset(root, subsets=("unbalanced_train",), segments=segments[:1])
    (root / "metadata" / "unbalanced_train_segments.csv").write_text(segments_csv(segments), encoding="utf-8")
    base = root / "audios" / "unbalanced_train_segments"
    for n in range(1, 4):  # segment n in part folder n; segment 4 gone
        write_clip(base / f"unbalanced_train_segments_part{n:02d}" / f"Yunbal{n:06d}.wav", seed=n, duration=0.1)
    write_clip(base / "unbalanced_train_segments_part03" / "Yunbal000001.flac", seed=9, duration=0.1)
    write_clip(base / "unbalanced_train_segments_part40" / "Yunbal000002.wav", seed=9, duration=0.1)
    result = load_corpus("audioset", root, options={"subsets": "unbalanced_train"})
    audio = {s.sample_id: s.audio for s in result.samples}
    assert audio == {"unbal000000_0": "audios/unbalanced_train_segments/unbalanced_train_segments_part00/"
                                      "Yunbal000000.wav",
                     **{f"unbal{n:06d}_{n * 10000}": f"audios/unbalanced_train_segments/"
                        f"unbalanced_train_segments_part{n:02d}/Yunbal{n:06d}.wav" for n in range(1, 4)}}
    shown = "audios/unbalanced_train_segments/ and its 5 unbalanced_train_segments_partNN folders, audios/, the root"
    assert result.metadata["media_folders"] == {"unbalanced_train": shown}
    [problem] = result.problems
    assert problem.sample_id == "unbal000004_40000" and f"not found in {shown}; also looked for" in problem.reason
    assert "_part01" not in problem.reason


@pytest.mark.parametrize("name", ["--PJHxphWEs_000030.wav", "--PJHxphWEs_30.wav", "--PJHxphWEs_30000.flac"])
def test_names_carrying_the_start_are_found_in_one_folder(tmp_path, name):
    root = tmp_path / "c"
    write_fake_audioset(root, segments=SEGMENTS[:1], subsets=("balanced_train",))
    (root / "audios" / "balanced_train_segments" / "Y--PJHxphWEs.wav").unlink()
    write_clip(root / "audio" / name, seed=0)
    result = load_corpus("audioset", root, options={"subsets": "balanced_train"})
    assert [(s.sample_id, s.audio) for s in result.samples] == [("--PJHxphWEs_30000", f"audio/{name}")]


def test_a_bare_id_is_not_taken_for_a_video_with_two_segments(tmp_path):
    root = tmp_path / "c"
    segments = (FakeSegment("--PJHxphWEs", 30.0, ("/m/09x0r",), "balanced_train"),
                FakeSegment("--PJHxphWEs", 60.0, ("/m/04rlf",), "eval"), SEGMENTS[2])
    write_fake_audioset(root, segments=segments)  # Y--PJHxphWEs.wav in both folders: either segment's sound
    result = load_corpus("audioset", root)
    assert [s.sample_id for s in result.samples] == ["_9fQ2WgM8Vs_0"]
    assert [p.sample_id for p in result.problems] == ["--PJHxphWEs_30000", "--PJHxphWEs_60000"]
    assert "also looked for" in result.problems[0].reason and "Y--PJHxphWEs." not in result.problems[0].reason


def test_a_missing_segment_is_named_at_its_row_and_counted(tmp_path, caplog):
    fake = write_fake_audioset(tmp_path / "c")
    line = append_rows(fake.annotation_file, 'gonefromYT1, 20.000, 30.000, "/m/09x0r"')
    with caplog.at_level(logging.WARNING, logger="mmdata.corpora.audioset"):
        result = load_corpus("audioset", fake.root)
    [problem] = result.problems
    assert (problem.sample_id, problem.path) == ("gonefromYT1_20000", f"{fake.annotation_file}:{line}")
    assert problem.reason.startswith("segment file gonefromYT1_20000.{mp4,wav,flac,mp3,m4a,ogg} not found in "
                                     "audios/balanced_train_segments/, audios/")
    assert "YgonefromYT1.{mp4," in problem.reason and "taken down" in problem.reason
    assert (result.metadata["segments_listed"], result.metadata["segments_missing"]) == (6, 1)
    assert "1 of 6 AudioSet segments not found" in caplog.text


def test_bad_rows_are_named_file_line_and_left_out(tmp_path):
    fake = write_fake_audioset(tmp_path / "c")
    rows = ['xxxxxxxxxx1, 0.000, 10.000, /m/09x0r,/m/04rlf',  # labels unquoted: five fields
            'xxxxxxxxxx2, abc, 10.000, "/m/09x0r"',
            'xxxxxxxxxx3, 10.000, 10.000, "/m/09x0r"',
            'xxxxxxxxxx4, 0.000, 10.000, ""',
            'xxxxxxxxxx5, 0.000, 10.000, "/m/09x0r,/m/nosuch"',
            'xxxxxxxxxx6, 0.000, 10.000, "/m/09x0r,"',
            '--PJHxphWEs, 50.000, 60.000, "/m/09x0r"']  # a video the file listed at line 4
    first = append_rows(fake.annotation_file, *rows)
    result = load_corpus("audioset", fake.root)
    assert len(result.samples) == 5
    reasons = {p.path: p.reason for p in result.problems}
    where = [f"{fake.annotation_file}:{first + i}" for i in range(len(rows))]
    assert list(reasons) == where
    assert "expected 4 fields (YTID, start_seconds, end_seconds, positive_labels), got 5" in reasons[where[0]]
    assert "start_seconds 'abc' is not a number of seconds" in reasons[where[1]]
    assert "start_seconds 10.000 is not before end_seconds 10.000" in reasons[where[2]]
    assert reasons[where[3]].startswith("no label")
    assert "MID /m/nosuch is not in class_labels_indices.csv" in reasons[where[4]]
    assert "an empty MID" in reasons[where[5]]
    assert f"YouTube video --PJHxphWEs is listed again in this file (first at {fake.annotation_file}:4)" \
        in reasons[where[6]]
    assert [p.error_type for p in result.problems][-1] == REPEATED_ENTRY
    assert all(r.endswith("row left out") for r in reasons.values())


def test_a_segment_listed_in_two_sets_is_a_repeated_entry_naming_the_leak(tmp_path):
    fake = write_fake_audioset(tmp_path / "c")
    eval_file = fake.root / "metadata" / "eval_segments.csv"
    line = append_rows(eval_file, '--PJHxphWEs, 30.000, 40.000, "/m/09x0r"')
    result = load_corpus("audioset", fake.root)
    [problem] = result.problems
    assert (problem.sample_id, problem.path, problem.error_type) == ("--PJHxphWEs_30000", f"{eval_file}:{line}",
                                                                     REPEATED_ENTRY)
    assert "is listed in split 'train' too, a leak between them" in problem.reason
    assert samples_by_id(result)["--PJHxphWEs_30000"].split == "train"


def test_refusals_name_what_was_looked_for_and_the_option(tmp_path):
    fake = write_fake_audioset(tmp_path / "c")
    (fake.root / "metadata" / "eval_segments.csv").unlink()
    with pytest.raises(CorpusNotFoundError, match=r"no AudioSet eval_segments.csv found in .*metadata/.*; -o csv_dir= "
                                                  r".*-o subsets= the sets read \(now balanced_train\+eval"):
        load_corpus("audioset", fake.root)
    assert len(load_corpus("audioset", fake.root, options={"subsets": "balanced_train"}).samples) == 3
    (fake.root / "metadata" / "class_labels_indices.csv").rename(fake.root / "labels.csv")
    with pytest.raises(CorpusNotFoundError, match="no AudioSet class table: .*metadata/class_labels_indices.csv nor "
                                                  ".*class_labels_indices.csv is a file; -o class_labels_file="):
        load_corpus("audioset", fake.root, options={"subsets": "balanced_train"})
    moved = {"subsets": "balanced_train", "class_labels_file": "labels.csv"}
    result = load_corpus("audioset", fake.root, options=moved)
    assert result.metadata["class_labels_file"] == "labels.csv"
    (fake.root / "audios").rename(fake.root / "elsewhere")
    with pytest.raises(CorpusNotFoundError, match=r"none of the 3 AudioSet segments found .*-o media_dir="):
        load_corpus("audioset", fake.root, options=moved)
    with pytest.raises(MmdataError, match=re.escape("option subsets='balanced+eval': expected some of")):
        load_corpus("audioset", fake.root, options={"subsets": "balanced+eval"})


def test_a_segments_file_that_is_not_utf8_or_a_bad_class_table_stops_the_load(tmp_path):
    fake = write_fake_audioset(tmp_path / "c")
    where = fake.corrupt()
    with pytest.raises(CorpusFormatError, match=re.escape(where) + ": not valid UTF-8"):
        load_corpus("audioset", fake.root)
    fake = write_fake_audioset(tmp_path / "d")
    table = fake.root / "metadata" / "class_labels_indices.csv"
    table.write_text(table.read_text(encoding="utf-8") + '7,/m/09x0r,"Speech again"\n', encoding="utf-8")
    again = f"{table}:9: MID /m/09x0r is listed again (first at line 2)"
    with pytest.raises(CorpusFormatError, match=re.escape(again)):
        load_corpus("audioset", fake.root)


def test_the_release_header_lines_are_comments_wherever_a_copy_keeps_them(tmp_path):
    text = segments_csv(SEGMENTS[:2])
    assert text.splitlines()[2] == "# YTID, start_seconds, end_seconds, positive_labels"
    fake = write_fake_audioset(tmp_path / "c")
    fake.annotation_file.write_text(text.replace("\n-0RWZT", "\n# a note a user added\n-0RWZT"), encoding="utf-8")
    result = load_corpus("audioset", fake.root)
    assert result.problems == [] and "-0RWZT-miFs_420000" in samples_by_id(result)


FIELDS = st.one_of(st.sampled_from(["abc", " 30.000", "40", "-1", "1e400", "nan", '"/m/09x0r"', '"/m/09x0r,/m/0jbk"',
                                    '"/m/nope"', '""', '"open', 'x"y', "a/b", "# note", "\u00e9"]), st.text(max_size=6))


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(FIELDS, max_size=5), max_size=5), raw=st.binary(max_size=40), use_raw=st.booleans(),
       split=st.sampled_from([None, "train", "test"]))
def test_any_segments_file_gives_samples_or_a_corpus_error_and_every_problem_names_its_place(tmp_path, rows, raw,
                                                                                             use_raw, split):
    root = tmp_path / "fuzz"
    write_clip(root / "audio" / "Yabc.wav", 0, duration=0.1)
    (root / "class_labels_indices.csv").write_text(class_labels_csv(), encoding="utf-8")
    data = raw if use_raw else "\n".join(",".join(row) for row in rows).encode("utf-8", "surrogatepass")
    for subset in ("balanced_train", "eval"):
        (root / f"{subset}_segments.csv").write_bytes(data)
    try:
        result = load_corpus("audioset", root, split=split)
    except MmdataError:
        return
    samples_to_table(result.samples)
    assert all(re.match(rf"{re.escape(str(root))}/(balanced_train|eval)_segments\.csv:\d+$", p.path)
               for p in result.problems)
