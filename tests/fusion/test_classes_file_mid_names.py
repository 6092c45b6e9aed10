"""A classes file of `<mid><TAB><display name>` lines without a header (AudioSet's strong labels'
mid_to_display_name.tsv): the display names in line order, refusals naming the line of a MID or name given twice,
and the other forms read as before."""
from __future__ import annotations

import re

import pytest

from mmdata.errors import ConfigError
from mmdata.fusion.classes import read_classes_file


def write(tmp_path, text: str, name: str = "mid_to_display_name.tsv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_display_names_come_in_line_order(tmp_path):
    path = write(tmp_path, "/m/09x0r\tSpeech\n/t/dd00088\tGush\n\n/m/05zppz\tMale speech, man speaking\n"
                           "/g/11b630rrvh\tKettle whistle\n")
    assert read_classes_file(path) == ["Speech", "Gush", "Male speech, man speaking", "Kettle whistle"]


def test_windows_line_ends_a_byte_order_mark_and_spaces_around_a_name_are_ignored(tmp_path):
    path = tmp_path / "names.tsv"
    path.write_bytes("\ufeff/m/09x0r\t Speech \r\n/m/04rlf\tMusic\r\n".encode("utf-8"))
    assert read_classes_file(path) == ["Speech", "Music"]


@pytest.mark.parametrize(("text", "match"), [
    ("/m/09x0r\tSpeech\n/m/09x0r\tTalk\n", r"mid_to_display_name.tsv:2: mid '/m/09x0r' is listed again \(first on line 1\)"),
    ("/m/09x0r\tSpeech\n\n/m/0jbk\tSpeech\n", r"mid_to_display_name.tsv:3: class 'Speech' is listed again \(first on line 1\)"),
])
def test_a_mid_or_a_name_given_twice_is_refused_naming_both_lines(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        read_classes_file(write(tmp_path, text))


@pytest.mark.parametrize(("text", "names"), [
    ("Speech\tfast\nMusic\tslow\n", ["Speech\tfast", "Music\tslow"]),  # a tab but no MID
    ("Speech\nMusic\n", ["Speech", "Music"]),
    ("Speech\n/m/09x0r\tMusic\n", ["Speech", "/m/09x0r\tMusic"]),  # a first line of another form decides
])
def test_files_not_opening_with_mid_rows_are_read_one_name_per_line_as_before(tmp_path, text, names):
    assert read_classes_file(write(tmp_path, text, "classes.txt")) == names


def test_a_header_line_before_the_mid_rows_is_skipped(tmp_path):
    path = write(tmp_path, "mid\tdisplay_name\n/m/09x0r\tSpeech\n/m/04rlf\tMusic\n")
    assert read_classes_file(path) == ["Speech", "Music"]


@pytest.mark.parametrize(("text", "line"), [
    ("/m/09x0r\tSpeech\nMusic\n", 2),  # a name without its MID among MID rows
    ("/m/09x0r\tSpeech\n\n/m/0-bad\tDog\n", 3),
    ("mid\tdisplay_name\n/m/09x0r\tSpeech\n/m/04rlf\n", 3),
])
def test_a_line_unlike_the_mid_rows_before_it_is_refused_naming_it(tmp_path, text, line):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:{line}: .* is not `<mid><TAB><display name>`"):
        read_classes_file(path)


def test_a_class_table_is_still_read_by_its_index_column(tmp_path):
    path = write(tmp_path, 'index,mid,display_name\n1,/m/0jbk,Animal\n0,/m/09x0r,"Speech"\n', "classes.csv")
    assert read_classes_file(path) == ["Speech", "Animal"]
