"""`read_csv_rows` (label.csv, labels.csv, segments.csv): header names, pandas index columns, line numbers."""
from __future__ import annotations

import pytest

from mmdata.corpora import load_corpus
from mmdata.corpora.base import read_csv_rows
from mmdata.errors import CorpusFormatError


def _write(tmp_path, text: str):
    path = tmp_path / "label.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_duplicated_header_name_is_refused_naming_file_line_and_column(tmp_path):
    path = _write(tmp_path, "video_id,clip_id,text,label,label,mode\nv,1,hi,0.5,-2.0,train\n")
    with pytest.raises(CorpusFormatError, match=rf"{path}:1: repeated column names in the header: 'label' is "
                                                r"columns 4 and 5; expected each column name once"):
        read_csv_rows(path)


def test_an_empty_header_name_after_the_first_column_is_refused(tmp_path):
    path = _write(tmp_path, "video_id,,label\nv,x,1\n")
    with pytest.raises(CorpusFormatError, match=rf"{path}:1: column 2 of the header has no name"):
        read_csv_rows(path)


@pytest.mark.parametrize("index_header", ["", "Unnamed: 0"])
def test_a_pandas_index_column_is_left_out(tmp_path, index_header):
    (tmp_path / "Raw" / "v").mkdir(parents=True)
    (tmp_path / "Raw" / "v" / "1.mp4").write_bytes(b"")
    _write(tmp_path, f"{index_header},video_id,clip_id,text,label,mode\n0,v,1,hi,0.5,train\n")
    header, rows = read_csv_rows(tmp_path / "label.csv")
    assert header == ["video_id", "clip_id", "text", "label", "mode"] and "" not in rows[0][1]
    [sample] = load_corpus("mmsa-raw", tmp_path).samples
    assert "" not in sample.extra and index_header not in sample.extra


def test_rows_are_numbered_by_the_line_their_record_starts_on(tmp_path):
    path = _write(tmp_path, 'a,b\n1,"two\nlines"\n\n3,"x"\n4,"five\nsix\nseven",extra\n')
    with pytest.raises(CorpusFormatError, match=rf"{path}:6: expected 2 fields"):
        read_csv_rows(path)
    path.write_text('a,b\n1,"two\nlines"\n\n3,"x"\n', encoding="utf-8")
    assert [line for line, _ in read_csv_rows(path)[1]] == [2, 5]
