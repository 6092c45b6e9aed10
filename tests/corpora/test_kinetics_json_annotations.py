"""The `kinetics` loader on Kinetics-400's first-release JSON (`kinetics_train.json`: one object per split keyed by
YouTube id): the same clip records, samples and problems as from the CSVs; each entry it leaves out (no object, no
segment, a bad segment, a label missing or empty, another subset, a repeated YouTube id) named `file:line:column:
<youtube_id>`; a folder holding both kinds read from the CSVs, saying so in the metadata; `-o annotations=`."""
from __future__ import annotations

import json
import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY
from mmdata.errors import ConfigError, CorpusFormatError, CorpusNotFoundError, MmdataError
from mmdata.records import samples_to_table
from tests.fakes import samples_by_id
from tests.fakes.kinetics import JSON_CLIPS, JSON_NAMES, annotation_json, clip_id, write_fake_kinetics, \
    write_video_clip


def _json_copy(root, **kwargs):
    return write_fake_kinetics(root, annotations_dir="data", file_names={}, json_names=JSON_NAMES, clips=JSON_CLIPS,
                               **kwargs)


def _edit_entries(path, edit):
    entries = json.loads(path.read_text(encoding="utf-8"))
    edit(entries)
    path.write_text(json.dumps(entries), encoding="utf-8")


def _records(result):
    return {s.sample_id: (s.split, s.video, s.group_id, s.start, s.end, s.extra) for s in result.samples}


@pytest.mark.parametrize("names", [JSON_NAMES, {s: f"kinetics-400_{s}.json" for s in ("train", "val", "test")},
                                   {s: f"kinetics_600_{s}.json" for s in ("train", "val", "test")},
                                   {"train": "train.json", "val": "validate.json", "test": "test.json"}])
def test_a_json_copy_loads_the_samples_its_csv_copy_does(tmp_path, names):
    csv_copy = write_fake_kinetics(tmp_path / "csv", clips=JSON_CLIPS, labelled_test=False)
    json_copy = write_fake_kinetics(tmp_path / "json", annotations_dir="data", file_names={}, json_names=names,
                                    clips=JSON_CLIPS, labelled_test=False)
    from_csv, from_json = load_corpus("kinetics", csv_copy.root), load_corpus("kinetics", json_copy.root)
    assert from_json.problems == [] and _records(from_json) == _records(from_csv)
    assert {sid: (e.split, e.video) for sid, e in json_copy.expected.items()} == {
        s.sample_id: (s.split, s.video) for s in from_json.samples}
    assert from_json.metadata == {"annotation_files": [f"data/{names[s]}" for s in ("train", "val", "test")],
                                  "clips_listed": len(JSON_CLIPS), "clips_missing": 0}
    test_clip = samples_by_id(from_json)[clip_id(*JSON_CLIPS[-1][1:4])]
    assert test_clip.split == "test" and "class" not in test_clip.extra  # a test entry without label
    val_clip = samples_by_id(from_json)["--07WQ2iBlw_000001_000011"]
    assert val_clip.extra["class"] == "playing guitar" and val_clip.extra["time_start"] == 1
    assert type(val_clip.extra["time_start"]) is int  # [1.0, 11.0]: whole, as the file names print it


def test_a_segment_with_a_fraction_makes_the_record_its_csv_row_does(tmp_path):
    clip = ("abseiling", "FracTime001", 14, 24, "train")
    for kind in ("csv", "json"):
        root = tmp_path / kind
        write_fake_kinetics(root, clips=(clip,), file_names={} if kind == "json" else None,
                            json_names={"train": "train.json"} if kind == "json" else None)
        if kind == "json":
            _edit_entries(root / "annotations" / "train.json",
                          lambda e: e["FracTime001"]["annotations"].update(segment=[14.5, 24.0]))
        else:
            (root / "annotations" / "train.csv").write_text(
                "label,youtube_id,time_start,time_end,split,is_cc\nabseiling,FracTime001,14.5,24.0,train,0\n")
    from_csv, from_json = (load_corpus("kinetics", tmp_path / k) for k in ("csv", "json"))
    assert _records(from_json) == _records(from_csv)
    [sample] = from_json.samples
    assert sample.sample_id == "FracTime001_000014_000024"
    assert (sample.extra["time_start"], sample.extra["time_end"]) == (14.5, 24)


BAD_ENTRIES = {  # YouTube id -> (entry, the member named after the id, words of the reason)
    "NotAnObject": (3, "", "expected an object"),
    "NoAnnotation": ({"subset": "train"}, "", "got no 'annotations'"),
    "NoSegment01": ({"annotations": {"label": "abseiling"}}, "", "\"segment\": [start, end]"),
    "OneNumber01": ({"annotations": {"label": "abseiling", "segment": [3.0]}}, ".annotations.segment",
                    "expected [start, end] in seconds (two numbers), got [3.0]"),
    "TextTimes01": ({"annotations": {"label": "abseiling", "segment": ["1", "11"]}}, ".annotations.segment",
                    "two numbers"),
    "Reversed001": ({"annotations": {"label": "abseiling", "segment": [24.0, 14.0]}}, ".annotations.segment",
                    "segment start 24.0 is not before its end 14.0"),
    "Negative001": ({"annotations": {"label": "abseiling", "segment": [-1.0, 9.0]}}, ".annotations.segment",
                    "no number of seconds >= 0"),
    "NoLabel0001": ({"annotations": {"segment": [1.0, 11.0]}}, ".annotations", "no annotations.label"),
    "EmptyLabel1": ({"annotations": {"label": " ", "segment": [1.0, 11.0]}}, ".annotations.label",
                    "expected a label as a non-empty string"),
    "OtherSplit1": ({"annotations": {"label": "abseiling", "segment": [1.0, 11.0]}, "subset": "validate"},
                    ".subset", "subset 'validate' is split 'val', not this file's 'train'"),
    "NoSplit0001": ({"annotations": {"label": "abseiling", "segment": [1.0, 11.0]}, "subset": "dev"}, ".subset",
                    "is no Kinetics split"),
    "a/b": ({"annotations": {"label": "abseiling", "segment": [1.0, 11.0]}}, "", "holds a /"),
}


def test_each_bad_entry_is_named_by_file_and_youtube_id_and_left_out(tmp_path):
    fake = _json_copy(tmp_path / "c")
    _edit_entries(fake.annotation_file, lambda e: e.update({k: v[0] for k, v in BAD_ENTRIES.items()}))
    result = load_corpus("kinetics", fake.root)
    assert {s.sample_id for s in result.samples} == set(fake.expected)
    by_id = {p.sample_id: p for p in result.problems}
    assert set(by_id) == set(BAD_ENTRIES) and len(result.problems) == len(BAD_ENTRIES)  # none dropped silently
    for youtube_id, (_, member, words) in BAD_ENTRIES.items():
        problem = by_id[youtube_id]
        assert re.fullmatch(re.escape(f"{fake.annotation_file}:") + r"1:\d+: " + re.escape(youtube_id + member),
                            problem.path), problem.path
        assert words in problem.reason and problem.reason.endswith("; entry left out"), problem.reason


def test_a_youtube_id_listed_again_in_a_file_keeps_its_first_entry_and_names_the_later(tmp_path):
    fake = _json_copy(tmp_path / "c")
    text = fake.annotation_file.read_text()
    later = '"0347ZoDXyP0": {"annotations": {"label": "archery", "segment": [50.0, 60.0]}, "subset": "train"}'
    fake.annotation_file.write_text(text[:-1] + ", " + later + "}")
    result = load_corpus("kinetics", fake.root)
    [problem] = result.problems
    assert problem.error_type == REPEATED_ENTRY and problem.sample_id == "0347ZoDXyP0"
    assert re.fullmatch(re.escape(f"{fake.annotation_file}:") + r"1:\d+: 0347ZoDXyP0", problem.path)
    assert "listed again in this file (first at line 1:" in problem.reason and "'archery'" in problem.reason
    assert samples_by_id(result)["0347ZoDXyP0_000014_000024"].extra["class"] == "abseiling"


def test_a_clip_in_two_split_files_is_a_leak_and_a_missing_clip_is_named_at_its_entry(tmp_path):
    fake = _json_copy(tmp_path / "c")
    val_json = fake.root / "data" / JSON_NAMES["val"]
    _edit_entries(val_json, lambda e: e.update({
        "0347ZoDXyP0": {"annotations": {"label": "abseiling", "segment": [14.0, 24.0]}, "subset": "validate"},
        "GoneFromYT1": {"annotations": {"label": "abseiling", "segment": [20.0, 30.0]}, "subset": "validate"}}))
    result = load_corpus("kinetics", fake.root)
    leak, missing = result.problems
    assert (leak.sample_id, leak.error_type) == ("0347ZoDXyP0_000014_000024", REPEATED_ENTRY)
    assert re.fullmatch(re.escape(f"{val_json}:") + r"1:\d+: 0347ZoDXyP0", leak.path)
    assert re.search(r"in split 'train' too, a leak between them \(first at .*kinetics_train.json:1:\d+: 0347ZoDXyP0\)",
                     leak.reason)
    assert missing.sample_id == "GoneFromYT1_000020_000030"
    assert re.fullmatch(re.escape(f"{val_json}:") + r"1:\d+: GoneFromYT1", missing.path)
    assert "clip file GoneFromYT1_000020_000030.{mp4,mkv,webm} not found in val/" in missing.reason
    assert result.metadata["clips_missing"] == 1


def test_a_folder_with_both_kinds_reads_the_csvs_and_names_the_json_files_not_read(tmp_path, caplog):
    root = tmp_path / "c"
    write_fake_kinetics(root, json_names=JSON_NAMES, clips=JSON_CLIPS)
    _edit_entries(root / "annotations" / JSON_NAMES["train"], lambda e: e.pop("0347ZoDXyP0"))  # tells them apart
    with caplog.at_level(logging.INFO, logger="mmdata.corpora.kinetics"):
        result = load_corpus("kinetics", root)
    assert len(result.samples) == len(JSON_CLIPS) and result.problems == []
    assert result.metadata["annotation_files"] == ["annotations/train.csv", "annotations/validate.csv",
                                                   "annotations/test.csv"]
    assert result.metadata["annotation_files_not_read"] == [f"annotations/{JSON_NAMES[s]}" for s in
                                                            ("train", "val", "test")]
    assert "-o annotations=json reads them" in caplog.text
    from_json = load_corpus("kinetics", root, options={"annotations": "json"})
    assert len(from_json.samples) == len(JSON_CLIPS) - 1
    assert from_json.metadata["annotation_files"] == [f"annotations/{JSON_NAMES[s]}" for s in ("train", "val", "test")]
    assert from_json.metadata["annotation_files_not_read"] == ["annotations/train.csv", "annotations/validate.csv",
                                                               "annotations/test.csv"]
    only_val = load_corpus("kinetics", root, split="val")
    assert only_val.metadata["annotation_files_not_read"] == [f"annotations/{JSON_NAMES['val']}"]


def test_a_split_without_csv_is_read_from_its_json(tmp_path):
    root = tmp_path / "c"
    write_fake_kinetics(root, file_names={"train": "train.csv", "val": "validate.csv"}, json_names={
        "test": "kinetics_test.json"}, clips=JSON_CLIPS, labelled_test=False)
    result = load_corpus("kinetics", root)
    assert result.problems == [] and len(result.samples) == len(JSON_CLIPS)
    assert result.metadata["annotation_files"] == ["annotations/train.csv", "annotations/validate.csv",
                                                   "annotations/kinetics_test.json"]
    assert "annotation_files_not_read" not in result.metadata
    assert [s.split for s in load_corpus("kinetics", root, split="test").samples] == ["test"]


def test_the_annotations_option_chooses_the_kind_and_auto_prefers_a_folder_of_csvs(tmp_path):
    root = tmp_path / "c"
    write_fake_kinetics(root, clips=JSON_CLIPS)  # annotations/*.csv
    (root / "train.json").write_text(annotation_json([JSON_CLIPS[0]]))  # in the root, searched first
    assert load_corpus("kinetics", root).metadata["annotation_files"][0] == "annotations/train.csv"
    from_json = load_corpus("kinetics", root, options={"annotations": "json"})
    assert [s.sample_id for s in from_json.samples] == [clip_id(*JSON_CLIPS[0][1:4])]
    assert from_json.metadata["annotation_files"] == ["train.json"]
    assert len(load_corpus("kinetics", root, options={"annotations": "csv"}).samples) == len(JSON_CLIPS)
    with pytest.raises(ConfigError, match="is not one of"):
        load_corpus("kinetics", root, options={"annotations": "xml"})
    json_only = _json_copy(tmp_path / "j")
    with pytest.raises(CorpusNotFoundError, match="no Kinetics annotation CSV .*-o annotations=auto reads either"):
        load_corpus("kinetics", json_only.root, options={"annotations": "csv"})
    (json_only.root / "data" / JSON_NAMES["train"]).unlink()
    for name in JSON_NAMES.values():
        (json_only.root / "data" / name).unlink(missing_ok=True)
    with pytest.raises(CorpusNotFoundError, match=r"no Kinetics annotation CSV or JSON \(.*kinetics_train.json"):
        load_corpus("kinetics", json_only.root)


def test_a_stray_json_of_another_version_beside_the_csvs_changes_nothing(tmp_path):
    names = {split: f"kinetics-400_{split}.csv" for split in ("train", "val", "test")}
    root = tmp_path / "c"
    write_fake_kinetics(root, file_names=names, clips=JSON_CLIPS)
    (root / "annotations" / "kinetics_600_train.json").write_text(annotation_json([JSON_CLIPS[0]]))
    for options in ({}, {"annotations": "csv"}):
        result = load_corpus("kinetics", root, options=options)
        assert len(result.samples) == len(JSON_CLIPS) and result.problems == []
        assert "annotation_files_not_read" not in result.metadata  # not this copy's train split in another form


def test_a_test_entry_with_an_empty_label_is_a_clip_without_a_class(tmp_path):
    fake = _json_copy(tmp_path / "c", labelled_test=False)
    test_file = fake.root / "data" / JSON_NAMES["test"]
    _edit_entries(test_file, lambda entries: [e["annotations"].update(label="") for e in entries.values()])
    result = load_corpus("kinetics", fake.root)
    assert result.problems == [] and len(result.samples) == len(JSON_CLIPS)
    assert all("class" not in s.extra for s in result.samples if s.split == "test")


def test_two_json_files_of_a_split_or_of_two_versions_are_refused(tmp_path):
    fake = _json_copy(tmp_path / "c")
    data = fake.root / "data"
    (data / "train.json").write_text((data / JSON_NAMES["train"]).read_text())
    with pytest.raises(ConfigError, match="2 Kinetics annotation files of split 'train': kinetics_train.json, "
                                          "train.json"):
        load_corpus("kinetics", fake.root)
    (data / "train.json").rename(data / "kinetics-600_train.json")
    (data / JSON_NAMES["train"]).rename(data / "kinetics-400_train.json")
    with pytest.raises(ConfigError, match="Kinetics 400, 600 .*-o version= names the one to read"):
        load_corpus("kinetics", fake.root)
    assert len(load_corpus("kinetics", fake.root, options={"version": "400"}).samples) == len(JSON_CLIPS)


@pytest.mark.parametrize(("text", "words"), [
    ('[{"videoID": "x"}]', r":1:1: expected an object of clips"),
    ('{"labels": ["abseiling"], "database": {"0347ZoDXyP0": {}}}', r":1:1: no entry has 'annotations'"),
    ('{"0347ZoDXyP0": {"annotations": ', r":1:\d+: invalid JSON"),
])
def test_a_json_file_that_is_no_object_of_kinetics_entries_stops_the_load(tmp_path, text, words):
    fake = _json_copy(tmp_path / "c")
    fake.annotation_file.write_text(text)
    with pytest.raises(CorpusFormatError, match=re.escape(str(fake.annotation_file)) + words):
        load_corpus("kinetics", fake.root)


FUZZ = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 2**70), st.floats(), st.sampled_from(
    ["abseiling", "", " ", "train", "validate", "test", "\ud800", "a/b"]))
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=2),
                      max_leaves=4)
annotations = st.fixed_dictionaries({}, optional={"label": st.one_of(st.just("abseiling"), values),
                                                  "segment": st.one_of(st.just([14.0, 24.0]), values)})
entries = st.one_of(st.fixed_dictionaries({}, optional={"annotations": st.one_of(annotations, values),
                                                        "subset": st.one_of(st.just("train"), values)}), values)


@FUZZ
@given(data=st.dictionaries(st.sampled_from(["0347ZoDXyP0", "", "a/b", "\ud800", "x"]), entries, max_size=4))
def test_fuzz_json_entries(tmp_path, data):
    (tmp_path / "kinetics_train.json").write_bytes(json.dumps(data).encode())
    if not (tmp_path / "train").exists():  # one clip for every example (tmp_path is the test's)
        write_video_clip(tmp_path / "train" / "0347ZoDXyP0_000014_000024.mp4", 0)
    try:
        result = load_corpus("kinetics", tmp_path)
    except MmdataError:
        return
    samples_to_table(result.samples)
    assert all(p.path and p.reason and p.path.encode("utf-8") for p in result.problems)
