"""`--classes FILE` given a class table headed `index,mid,display_name` (AudioSet's class_labels_indices.csv):
the display names in index order (id = index, as PANNs' 527 outputs are numbered), quoted names with commas kept
whole, and refusals naming the line of a bad row, an index or name given twice, or a gap in the indices."""
from __future__ import annotations

import pytest

from mmdata.errors import ConfigError
from mmdata.fusion.classes import read_classes_file


def write(tmp_path, text: str):
    path = tmp_path / "class_labels_indices.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_display_names_come_in_index_order_not_row_order(tmp_path):
    path = write(tmp_path, 'index,mid,display_name\n1,/m/05zppz,"Male speech, man speaking"\n'
                           '0,/m/09x0r,"Speech"\n\n2,/m/0jbk,Animal\n')
    assert read_classes_file(path) == ["Speech", "Male speech, man speaking", "Animal"]


def test_a_quoted_header_is_a_class_table_too(tmp_path):
    """As pandas' `to_csv(quoting=csv.QUOTE_ALL)` writes it."""
    path = write(tmp_path, '"index","mid","display_name"\n"0","/m/09x0r","Speech"\n"1","/m/0jbk","Animal"\n')
    assert read_classes_file(path) == ["Speech", "Animal"]


def test_a_one_name_per_line_file_that_merely_holds_commas_is_still_read_by_line(tmp_path):
    path = write(tmp_path, "Male speech, man speaking\nSpeech\n")
    assert read_classes_file(path) == ["Male speech, man speaking", "Speech"]


@pytest.mark.parametrize(("rows", "match"), [
    ('0,/m/09x0r,"Speech"\n0,/m/0jbk,"Animal"\n', r":3: index 0 is listed again \(first on line 2\)"),
    ('0,/m/09x0r,"Speech"\n1,/m/0jbk,"Speech"\n', r":3: class 'Speech' is listed again \(first on line 2\)"),
    ('0,/m/09x0r,Male speech, man speaking\n', r":2: .* is not a class row; expected index,mid,display_name"),
    ('zero,/m/09x0r,"Speech"\n', r":2: .* is not a class row"),
    ('\u00b2,/m/09x0r,"Speech"\n', r":2: .* is not a class row"),  # a digit to str.isdigit, no number to int()
    ('0,/m/09x0r,""\n', r":2: .* is not a class row"),
    ('0,/m/09x0r,"Speech"\n2,/m/0jbk,"Animal"\n', r"the indices are not 0..1 \(no index 1\)"),
    ("", r"the table names no class"),
])
def test_a_bad_table_is_refused_naming_the_line_or_the_gap(tmp_path, rows, match):
    path = write(tmp_path, "index,mid,display_name\n" + rows)
    with pytest.raises(ConfigError, match=match):
        read_classes_file(path)
