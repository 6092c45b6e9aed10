"""A key a JSON annotation file names twice in one object: `json.loads` keeps the last value silently; `read_json`
refuses the file at `file:line:column` of the repeat, and the ActivityNet loader (whose files map video ids to
entries) keeps a video's first entry and records each segment of a later one in the errors table."""
from __future__ import annotations

import json
import re

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import REPEATED_ENTRY, JsonLocator, read_json
from mmdata.errors import CorpusFormatError
from tests.fakes.activitynet import write_fake_activitynet
from tests.fakes.captioned_media import write_fake_msrvtt_official


def position(text: str, key: str, occurrence: int) -> str:
    """`line:column` of the `occurrence`-th (1-based) `"key"` in `text`, as json.JSONDecodeError counts."""
    offset = [m.start() for m in re.finditer(re.escape(f'"{key}"'), text)][occurrence - 1]
    error = json.JSONDecodeError("", text, offset)
    return f"{error.lineno}:{error.colno}"


def test_a_key_repeated_in_a_nested_object_is_refused_at_its_line_and_column(tmp_path):
    path = tmp_path / "nested.json"
    text = '{"videos": [\n  {"id": "a", "tags": ["x"]},\n  {"id": "b",\n   "tags": ["y"], "tags": ["z"]}\n]}\n'
    path.write_text(text)
    where = f"{path}:{position(text, 'tags', 3)}"
    with pytest.raises(CorpusFormatError) as refused:
        read_json(path)
    message = str(refused.value)
    assert message.startswith(f"{where}: repeated key 'tags' in the object at videos[1] "
                              f"(first at line {position(text, 'tags', 2)})")
    assert "expected each key once" in message and "merge the two entries into one or remove one" in message


def test_a_repeated_top_level_key_is_refused_unless_the_caller_takes_the_repeats(tmp_path):
    path = tmp_path / "videos.json"
    text = '{\n  "v1": {"n": 1},\n  "v2": {"n": 2},\n  "v1": {"n": 3},\n  "v1": {"n": 4}\n}\n'
    path.write_text(text)
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}:{position(text, 'v1', 2)}: repeated key "
                                                          "'v1' in the top-level object (first at line 2:3)")):
        read_json(path)
    repeats = []
    assert read_json(path, repeats) == {"v1": {"n": 1}, "v2": {"n": 2}}
    assert [(r.key, r.where, r.first, r.value) for r in repeats] == [
        ("v1", f"{path}:{position(text, 'v1', 2)}", "2:3", {"n": 3}),
        ("v1", f"{path}:{position(text, 'v1', 3)}", "2:3", {"n": 4})]
    # the entry kept is the one located
    assert JsonLocator(path, first_of_repeated=True).where("v1", "n") == f"{path}:2:15: v1.n"


def test_taking_top_level_repeats_still_refuses_a_nested_repeat_and_invalid_json(tmp_path):
    path = tmp_path / "videos.json"
    path.write_text('{"v1": {"n": 1}, "v1": {"n": 2, "n": 3}}')
    with pytest.raises(CorpusFormatError, match=r":1:33: repeated key 'n' in the object at v1"):
        read_json(path, [])
    path.write_text('{"v1": {"n": 1}, "v1": {"n": 2},\n "v2": [}')
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}:2:9: invalid JSON (Expecting value)")):
        read_json(path, [])


def test_a_file_without_repeats_reads_as_json_loads_reads_it(tmp_path):
    path = tmp_path / "plain.json"
    data = {"images": [{"id": i, "sentences": [{"raw": f"caption {i}"}]} for i in range(50)], "dataset": "coco"}
    path.write_text(json.dumps(data))
    repeats = []
    assert read_json(path) == data == read_json(path, repeats) and repeats == []


def test_an_activitynet_video_listed_twice_keeps_its_first_entry_and_records_the_later_one(tmp_path):
    fake = write_fake_activitynet(tmp_path / "anet")
    path = fake.root / "captions" / "train.json"
    text = path.read_text()
    later = '  "v_ehGHCYKzyZ8": {"duration": 2.0, "timestamps": [[0.1, 0.5], [0.5, 1.5]],\n' \
            '                    "sentences": ["A later sentence.", "Another one."]}'
    path.write_text(text.rstrip().removesuffix("}").rstrip() + ",\n" + later + "\n}\n")
    written = path.read_text()
    result = load_corpus("activitynet-captions", fake.root)
    assert {s.sample_id for s in result.samples} == set(fake.expected)
    assert [s.captions for s in result.samples if s.sample_id == "v_ehGHCYKzyZ8[0]"] == [
        ("A man plays the bagpipes outside.",)]
    where = f"{path}:{position(written, 'v_ehGHCYKzyZ8', 2)}"
    first = position(written, 'v_ehGHCYKzyZ8', 1)
    assert [(p.sample_id, p.path, p.error_type) for p in result.problems] == [
        ("v_ehGHCYKzyZ8[0]", where, REPEATED_ENTRY), ("v_ehGHCYKzyZ8[1]", where, REPEATED_ENTRY)]
    assert f"video 'v_ehGHCYKzyZ8' is listed again in this file (first at line {first})" in result.problems[0].reason


def test_a_key_repeated_inside_an_activitynet_entry_refuses_the_file(tmp_path):
    fake = write_fake_activitynet(tmp_path / "anet")
    path = fake.root / "captions" / "train.json"
    text = path.read_text().replace('"duration": 2.0,', '"duration": 2.0, "duration": 3.0,', 1)
    path.write_text(text)
    with pytest.raises(CorpusFormatError, match=re.escape(
            f"{path}:{position(text, 'duration', 2)}: repeated key 'duration' in the object at v_QOlSCBRmfWY")):
        load_corpus("activitynet-captions", fake.root)


def test_msrvtt_annotations_with_a_repeated_member_are_refused(tmp_path):
    fake = write_fake_msrvtt_official(tmp_path / "msrvtt")
    path = fake.root / "train_val_videodatainfo.json"
    text = path.read_text().replace("{\n", '{\n  "sentences": [],\n', 1)
    path.write_text(text)
    with pytest.raises(CorpusFormatError, match=re.escape(
            f"{path}:{position(text, 'sentences', 2)}: repeated key 'sentences' in the top-level object "
            "(first at line 2:3)")):
        load_corpus("msrvtt", fake.root)


def test_many_repeated_entries_are_located_in_one_pass(tmp_path):
    """Each repeat's line:column is found from the text's line starts, worked out once: 2,000 repeated videos
    name their lines as the parser counts them (counting the newlines before each anew took minutes on 50 MB)."""
    import json as plain_json

    from mmdata.corpora.json_keys import parse_json

    entry = plain_json.dumps({"duration": 1.0, "timestamps": [[0, 1]], "sentences": ["a"]})
    lines = [f'"v{i}": {entry}' for i in range(2000)] + [f'"v{i}": {entry}' for i in range(2000)]
    text = "{\n" + ",\n".join(lines) + "\n}"
    repeats = []
    parse_json(tmp_path / "train.json", text, repeats)
    assert len(repeats) == 2000
    assert [r.where for r in repeats[:2]] == [f"{tmp_path / 'train.json'}:2002:1", f"{tmp_path / 'train.json'}:2003:1"]
    assert repeats[-1].first == "2001:1"


@pytest.mark.parametrize(("name", "text", "where"), [
    ("rows.jsonl", '{"image": "a.jpg", "split": "train"}\n{"image": "b.jpg", "image": "c.jpg"}\n', ":2:"),
    ("rows.json", '[\n {"image": "a.jpg"},\n {"image": "b.jpg", "split": "val", "split": "test"}\n]\n', ":3:"),
])
def test_a_manifest_row_naming_a_key_twice_is_refused_at_its_line(tmp_path, name, text, where):
    """A manifest row is one JSON object: a key it names twice would lose one value, as in any JSON file."""
    from mmdata.corpora import load_corpus

    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=rf"{name}{where} repeated key '(image|split)' in this row.*merge"):
        load_corpus("manifest", tmp_path, options={"manifest_file": name})
