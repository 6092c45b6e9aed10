"""`read_json` told where a file's entries are (`entries_at`, e.g. YouCook2's `{"database": {<id>: ...}}`): a key
that object repeats keeps its first value and is handed back to record as a problem; a repeat anywhere else,
the top level included, still refuses the file at `file:line:column`."""
from __future__ import annotations

import re

import pytest

from mmdata.corpora.base import read_json
from mmdata.errors import CorpusFormatError

TEXT = ('{\n  "version": 1,\n  "database": {\n    "a": {"n": 1},\n    "b": {"n": 2},\n    "a": {"n": 3}\n  }\n}\n')


def test_a_key_repeated_in_the_object_of_entries_keeps_its_first_value_and_is_handed_back(tmp_path):
    path = tmp_path / "db.json"
    path.write_text(TEXT)
    repeats = []
    assert read_json(path, repeats, entries_at=("database",)) == {"version": 1, "database": {"a": {"n": 1},
                                                                                           "b": {"n": 2}}}
    assert [(r.steps, r.key, r.first, r.where, r.value, r.first_value) for r in repeats] == [
        (("database",), "a", "4:5", f"{path}:6:5", {"n": 3}, {"n": 1})]
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}:6:5: repeated key 'a' in the object at "
                                                          "database (first at line 4:5)")):
        read_json(path, [])  # the top level is the object of entries by default


@pytest.mark.parametrize(("text", "where", "label"), [
    ('{"database": {"a": {}}, "database": {}}', "1:25", "the top-level object"),
    ('{"database": {"a": {"n": 1, "n": 2}}}', "1:29", "the object at database.a"),
])
def test_a_repeat_outside_the_object_of_entries_still_refuses_the_file(tmp_path, text, where, label):
    path = tmp_path / "db.json"
    path.write_text(text)
    with pytest.raises(CorpusFormatError, match=re.escape(f"{path}:{where}: repeated key") + f".* in {label} "):
        read_json(path, [], entries_at=("database",))
