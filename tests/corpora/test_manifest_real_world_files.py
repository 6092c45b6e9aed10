"""Manifests as spreadsheets, pandas and annotation tools write them: Excel CSV quirks, encodings, column
spellings, TSV, JSON arrays, Parquet, paths that name no file under the root, and labels and splits
written loosely. Each works as a user would expect or fails in one line naming the file and row."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError
from tests.fakes import write_jpeg


def _images(root, *names):
    for name in names:
        write_jpeg(root / "images" / name)
    return root


def _load(root, **options):
    return load_corpus("manifest", root, options=options or None)


def test_a_semicolon_csv_whose_cells_hold_commas_is_named_at_its_header(tmp_path):
    # the caption's comma split line 2 in two, and the error blamed that row ("expected 1 fields");
    # a header naming known columns (`image;caption`) is read `;`-separated: test_semicolon_csv_manifests.py
    (tmp_path / "manifest.csv").write_text("picture;remark\nimages/cat.jpg;a cat, sitting\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:1: the header 'picture;remark' is one column, .*a CSV "
                       r"manifest is comma-separated: pass the option delimiter=semicolon .* or save it with ','"):
        _load(tmp_path)


def test_a_tsv_manifest_is_found_and_read_and_a_tab_separated_csv_says_so(tmp_path):
    _images(tmp_path, "cat.jpg")
    (tmp_path / "manifest.tsv").write_text("id\timage\tcaption\n007\timages/cat.jpg\ta cat, sitting\n")
    [sample] = _load(tmp_path).samples
    assert (sample.sample_id, sample.image, sample.captions) == ("007", "images/cat.jpg", ("a cat, sitting",))
    (tmp_path / "manifest.tsv").rename(tmp_path / "rows.csv")
    with pytest.raises(CorpusFormatError, match=r"rows.csv:1: .* is one column; .*name the file .tsv or pass "
                       "file_format=tsv"):
        _load(tmp_path)
    assert [s.sample_id for s in _load(tmp_path, file_format="tsv").samples] == ["007"]


def test_excels_separator_line_is_read_as_the_separator_not_as_the_header(tmp_path):
    (tmp_path / "manifest.csv").write_text("sep=,\nimage,caption\nx.jpg,a\ny.jpg,b,c\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:4: expected 2 fields"):
        _load(tmp_path)
    (tmp_path / "manifest.csv").write_text("sep=,\nimage,caption\nx.jpg,a\n")
    assert [(s.image, s.captions) for s in _load(tmp_path).samples] == [("x.jpg", ("a",))]


def test_columns_named_in_another_case_or_with_spaces_are_read(tmp_path):
    # `Image`, `Split`, `ID` went to `extra`: the row lost its image, split and id (or the load failed)
    _images(tmp_path, "cat.jpg", "dog.jpg")
    (tmp_path / "manifest.csv").write_bytes(
        b"\xef\xbb\xbfID,Image ,Captions, Split,Label,Notes\r\n007,images/cat.jpg,a cat|a mat,Train,1,kept\r\n\r\n")
    [sample] = _load(tmp_path).samples
    assert (sample.sample_id, sample.image, sample.captions, sample.split, sample.label, sample.extra) == (
        "007", "images/cat.jpg", ("a cat", "a mat"), "Train", 1.0, {"Notes": "kept"})
    (tmp_path / "manifest.csv").unlink()
    row = {"Image": "images/dog.jpg", "TEXT": "a dog", "Id": "08"}
    (tmp_path / "manifest.jsonl").write_text(json.dumps(row) + "\n")
    [sample] = _load(tmp_path).samples
    assert (sample.sample_id, sample.image, sample.captions) == ("08", "images/dog.jpg", ("a dog",))


def test_a_column_named_twice_but_for_case_is_refused_at_the_header(tmp_path):
    (tmp_path / "manifest.csv").write_text("Image,image,caption\nimages/a.jpg,,x\nimages/b.jpg,images/c.jpg,y\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:1: columns 'Image' and 'image' both name 'image'"):
        _load(tmp_path)
    (tmp_path / "manifest.csv").unlink()
    (tmp_path / "manifest.jsonl").write_text('{"Image": "a.jpg"}\n{"Image": "b.jpg", "image": "c.jpg"}\n')
    with pytest.raises(CorpusFormatError, match=r"manifest.jsonl:2: columns 'Image' and 'image' both name 'image'"):
        _load(tmp_path)


def test_windows_text_names_line_and_column_and_reads_with_the_encoding_option(tmp_path):
    _images(tmp_path, "cat.jpg")
    (tmp_path / "manifest.csv").write_bytes("image,caption\nimages/cat.jpg,\"un café, noir\"\n".encode("cp1252"))
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:2:23: byte 0xe9 is not valid UTF-8; .*pass the option "
                       r"encoding=cp1252"):
        _load(tmp_path)
    assert _load(tmp_path, encoding="cp1252").samples[0].captions == ("un café, noir",)
    with pytest.raises(ConfigError, match=r"unknown encoding 'western' \(option encoding\)"):
        _load(tmp_path, encoding="western")


def test_a_utf16_file_is_read_by_its_byte_order_mark(tmp_path):
    """Excel's "Unicode Text" is tab-separated UTF-16 with a byte order mark."""
    (tmp_path / "manifest.tsv").write_bytes("image\ttext\nimages/cat.jpg\tcafé\n".encode("utf-16"))
    assert _load(tmp_path).samples[0].captions == ("café",)


def test_old_mac_line_ends_are_line_ends(tmp_path):
    # csv's "new-line character seen in unquoted field - do you need to open the file in universal-newline mode?"
    (tmp_path / "manifest.csv").write_bytes(b"image,caption\rimages/a.jpg,a\rimages/b.jpg,b\r")
    assert [s.captions for s in _load(tmp_path).samples] == [("a",), ("b",)]


@pytest.mark.parametrize(("path", "message"), [
    ("http://example.com/cat.jpg", r"expected 'image' as a file path relative to the corpus root, got the URL "
                                   r"'http://example.com/cat.jpg'; download the files"),
    ("file:///data/cat.jpg", "got the URL 'file:///data/cat.jpg'"),
    ("C:\\data\\images\\cat.jpg", r"got the Windows path 'C:\\\\data.*cat.jpg'; write it relative"),
    ("~/cat.jpg", r"media path '.*/cat.jpg' points outside the corpus root"),
])
def test_a_path_that_names_no_file_under_the_root_is_refused_naming_the_row(tmp_path, path, message):
    # were read as relative paths (`http:/example.com/cat.jpg`, `C:/data/...`, `~/cat.jpg`) and failed at decoding
    (tmp_path / "manifest.csv").write_text(f"image,caption\nimages/a.jpg,fine\n\"{path}\",x\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:3: .*" + message):
        _load(tmp_path)


def test_a_home_path_is_expanded_where_paths_outside_the_root_are_allowed(tmp_path, monkeypatch):
    home = tmp_path / "home"
    _images(home, "cat.jpg")
    monkeypatch.setenv("HOME", str(home))
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "manifest.csv").write_text("image\n~/images/cat.jpg\n")
    [sample] = _load(tmp_path / "root", allow_outside_root="true").samples
    assert sample.image == str((home / "images" / "cat.jpg").resolve())


def test_a_json_array_manifest_is_read_with_the_line_of_each_item(tmp_path):
    items = [{"image": "images/a.jpg", "caption": "a"}, {"text": "b"}]
    (tmp_path / "manifest.json").write_text(json.dumps(items, indent=1))
    samples = _load(tmp_path).samples
    assert [(s.sample_id, s.captions) for s in samples] == [("images/a", ("a",)), ("line-000006", ("b",))]
    (tmp_path / "manifest.json").write_text('[\n {"image": "images/a.jpg"},\n {"image": "b.jpg", caption: 1}\n]')
    with pytest.raises(CorpusFormatError, match=r"manifest.json:3:21: invalid JSON \(Expecting property name"):
        _load(tmp_path)
    (tmp_path / "manifest.json").write_text('[\n {"image": "images/a.jpg"},\n "b.jpg"\n]')
    with pytest.raises(CorpusFormatError, match=r"manifest.json:3: expected a JSON object per array item, got 'b.jpg'"):
        _load(tmp_path)
    (tmp_path / "manifest.json").write_text('{"images": []}')
    with pytest.raises(CorpusFormatError, match=r"manifest.json:1:1: expected a JSON array of objects"):
        _load(tmp_path)


def test_a_jsonl_file_holding_one_json_array_is_read_as_its_items(tmp_path):
    """`df.to_json("m.jsonl", orient="records")` without `lines=True`; no JSONL line starts with `[`."""
    pd.DataFrame({"id": ["007", "008"], "text": ["a", "b"]}).to_json(tmp_path / "manifest.jsonl", orient="records")
    assert [(s.sample_id, s.captions) for s in _load(tmp_path).samples] == [("007", ("a",)), ("008", ("b",))]


def test_a_parquet_manifest_with_list_captions_nulls_timestamps_and_an_index(tmp_path):
    _images(tmp_path, "a.jpg", "b.jpg")
    frame = pd.DataFrame({
        "id": ["007", "008", "007"], "image": ["images/a.jpg", "images/b.jpg", "images/b.jpg"],
        "captions": [["a cat", "a mat"], ["a dog"], ["again"]], "label": [0.5, np.nan, 1.0],
        "taken": pd.to_datetime(["2024-01-01", None, "2024-01-03"]),
    }).iloc[[0, 1, 2]]  # a filtered frame: pandas stores its index as a column
    frame.to_parquet(tmp_path / "manifest.parquet")
    result = _load(tmp_path)
    assert [(s.sample_id, s.captions, s.label, s.extra) for s in result.samples] == [
        ("007", ("a cat", "a mat"), 0.5, {"taken": "2024-01-01T00:00:00"}), ("008", ("a dog",), None, {})]
    [problem] = result.problems
    assert problem.path.endswith("manifest.parquet row 3") and "(first on row 1)" in problem.reason
    pq.write_table(pa.table({"image": ["images/a.jpg"], "label": [float("nan")]}), tmp_path / "manifest.parquet")
    with pytest.raises(CorpusFormatError, match=r"manifest.parquet row 1: expected 'label' as a finite number"):
        _load(tmp_path)
    (tmp_path / "manifest.parquet").write_text("id,image\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.parquet: not a readable Parquet file"):
        _load(tmp_path)


def test_a_list_column_written_by_pandas_to_csv_is_read_as_captions(tmp_path):
    # was one caption "['a cat', \"it's, a mat\"]"
    frame = pd.DataFrame({"id": ["007"], "image": ["images/a.jpg"], "captions": [["a cat", "it's, a mat"]]})
    frame.to_csv(tmp_path / "manifest.csv")
    [sample] = _load(tmp_path).samples
    assert (sample.sample_id, sample.captions) == ("007", ("a cat", "it's, a mat"))
    (tmp_path / "manifest.csv").write_text('image,captions\nimages/a.jpg,"[""a"", ""b""]"\nimages/b.jpg,[a|b]\n')
    assert [s.captions for s in _load(tmp_path).samples] == [("a", "b"), ("[a", "b]")]


@pytest.mark.parametrize(("cell", "hint"), [
    ("NaN", r"got 'NaN'; leave the cell empty \(null\) where there is no value$"),
    ("0,5", r"got '0,5'; write the decimal separator as '.' \(0.5\)$"),
    ("positive", r"got 'positive'; 'label' is the sample's numeric target .*\(e.g. 'category'\)"),
])
def test_a_label_that_is_not_a_number_gets_the_hint_that_fits_it(tmp_path, cell, hint):
    # a NaN or a decimal comma was told to move its "class name" to another column
    (tmp_path / "manifest.tsv").write_text(f"image\tlabel\nimages/a.jpg\t1\nimages/b.jpg\t{cell}\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.tsv:3: expected 'label' as a finite number, " + hint):
        _load(tmp_path)


def test_splits_written_in_several_cases_warn_and_a_split_in_another_case_is_suggested(tmp_path, caplog):
    (tmp_path / "manifest.csv").write_text("text,split\na,Train\nb,train\nc,dev\n")
    with caplog.at_level("WARNING", logger="mmdata.corpora.manifest"):
        assert [s.split for s in _load(tmp_path).samples] == ["Train", "train", "dev"]
    assert [r.getMessage().split(": ", 1)[1] for r in caplog.records] == [
        "splits ['Train', 'train'] differ only in case or spaces and load as separate splits; write them alike"]
    with pytest.raises(ConfigError, match=r"has split 'DEV'; splits there: \['Train', 'dev', 'train'\]; did you mean "
                       r"'dev'\?"):
        load_corpus("manifest", tmp_path, split="DEV")


def test_an_excel_csv_extracts_with_its_ids_as_written_and_a_refused_one_writes_nothing(tmp_path):
    corpus = _images(tmp_path / "corpus", "cat.jpg", "dog.jpg")
    (corpus / "manifest.csv").write_bytes(
        b"\xef\xbb\xbfID,Image,Caption\r\n007,images/cat.jpg,a cat\r\n7,images/dog.jpg,a dog\r\n"
        b"007,images/dog.jpg,x\r\n")
    result = CliRunner().invoke(app, ["extract", "manifest", str(corpus), str(tmp_path / "out"), "-q", "-j", "0",
                                      "--image", "color-hist", "--text", "hashed-bow"])
    assert result.exit_code == 0, result.output
    assert ds.dataset(tmp_path / "out" / "samples").to_table().column("sample_id").to_pylist() == ["007", "7"]
    errors = ds.dataset(tmp_path / "out" / "errors" / "loader").to_table().to_pylist()
    assert [(e["sample_id"], e["path"].rsplit("/", 1)[1]) for e in errors] == [("007", "manifest.csv:4")]
    (corpus / "manifest.csv").write_text("image,caption\nhttps://example.com/cat.jpg,a cat\n")
    result = CliRunner().invoke(app, ["extract", "manifest", str(corpus), str(tmp_path / "out2"), "-q", "-j", "0",
                                      "--image", "color-hist"])
    assert result.exit_code != 0 and "manifest.csv:2: expected 'image' as a file path" in result.output
    assert not (tmp_path / "out2").exists()


def test_a_manifest_json_or_parquet_is_found_only_where_no_jsonl_csv_or_tsv_is(tmp_path):
    """A `manifest.json` is as often a dataset's metadata: a root that loaded its CSV keeps loading it."""
    (tmp_path / "manifest.json").write_text(json.dumps([{"text": "from json"}]))
    assert _load(tmp_path).samples[0].captions == ("from json",)
    (tmp_path / "rows.csv").write_text("text\nfrom csv\n")
    assert _load(tmp_path).samples[0].captions == ("from csv",)
