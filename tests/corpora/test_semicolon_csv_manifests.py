"""`;`-separated `.csv` manifests, as Excel writes them where the decimal separator is `,` (German, French, ...):
read `;`-separated when the header line shows it, with decimal commas in number columns; a comma CSV reads as it
always did; a number written ambiguously is refused naming file, line and column; `-o delimiter=` says it outright."""
from __future__ import annotations

import json

import pandas as pd
import pyarrow.dataset as ds
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


def _rows(samples):
    return [(s.sample_id, s.image, s.captions, s.split, s.label, s.extra) for s in samples]


def test_an_excel_semicolon_file_with_decimal_commas_loads_its_samples(tmp_path):
    _images(tmp_path, "cat.jpg", "dog.jpg", "owl.jpg")
    frame = pd.DataFrame({
        "ID": ["007", "008", "009"],
        "Image ": ["images/cat.jpg", "images/dog.jpg", "images/owl.jpg"],
        "Captions": ["a cat; sitting, still|a cat on a mat", "a dog\non two lines", '["an owl", "a bird; grey"]'],
        "Label": [-0.5, 1.25, 3.0],
        "split": ["train", "train", "test"],
        "duration": [1.5, 2.0, 0.25],
        "Notes": ["x", "", "1,5"],
    })
    # what Excel's "CSV UTF-8" writes in a German locale: byte order mark, `;`, decimal commas, CRLF
    frame.to_csv(tmp_path / "manifest.csv", sep=";", decimal=",", index=False, encoding="utf-8-sig",
                 lineterminator="\r\n")
    assert b";-0,5;" in (tmp_path / "manifest.csv").read_bytes()
    samples = _load(tmp_path).samples
    assert _rows(samples) == [
        ("007", "images/cat.jpg", ("a cat; sitting, still", "a cat on a mat"), "train", -0.5,
         {"duration": "1.5", "Notes": "x"}),
        ("008", "images/dog.jpg", ("a dog\non two lines",), "train", 1.25, {"duration": "2.0"}),
        ("009", "images/owl.jpg", ("an owl", "a bird; grey"), "test", 3.0, {"duration": "0.25", "Notes": "1,5"}),
    ]
    # the labels pandas reads from the same file with the locale's separators
    read = pd.read_csv(tmp_path / "manifest.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert [s.label for s in samples] == read["Label"].tolist()
    assert [s.sample_id for s in _load(tmp_path).samples if s.split == "test"] == ["009"]


@pytest.mark.parametrize(("encoding", "options"), [("cp1252", {"encoding": "cp1252"}), ("utf-16", {})])
def test_a_semicolon_file_in_windows_text_or_utf16_loads(tmp_path, encoding, options):
    text = "image;caption;label\r\nimages/cat.jpg;un café; noir;0,75\r\n"
    (tmp_path / "manifest.csv").write_bytes(text.replace("un café; noir", '"un café; noir"').encode(encoding))
    [sample] = _load(tmp_path, **options).samples
    assert (sample.image, sample.captions, sample.label) == ("images/cat.jpg", ("un café; noir",), 0.75)


def test_segment_times_with_decimal_commas_are_seconds(tmp_path):
    (tmp_path / "manifest.csv").write_text("audio;start;end;text\nclip.wav;1,5;2,25;hallo\n")
    [sample] = _load(tmp_path).samples
    assert (sample.sample_id, sample.start, sample.end, sample.transcript) == ("clip@1.500-2.250", 1.5, 2.25, "hallo")


def test_excels_sep_line_names_the_separator_and_the_header_is_line_2(tmp_path):
    (tmp_path / "manifest.csv").write_text("sep=;\nimage;caption;label\nimages/a.jpg;a, b;0,5\nimages/b.jpg;c;1,2,3\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:4: expected column 'label' as a number with at most one "
                       r"decimal comma .*got '1,2,3'"):
        _load(tmp_path)
    (tmp_path / "manifest.csv").write_text("sep=;\nimage;caption;label\nimages/a.jpg;a, b;0,5\nimages/b.jpg;c\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:4: expected 3 fields"):
        _load(tmp_path)
    (tmp_path / "manifest.csv").write_text("sep=;\nimage;caption;label\nimages/a.jpg;a, b;0,5\n")
    assert [(s.image, s.captions, s.label) for s in _load(tmp_path).samples] == [("images/a.jpg", ("a, b",), 0.5)]
    (tmp_path / "manifest.csv").write_text("SEP=;\nImage;image\nimages/a.jpg;x\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:2: columns 'Image' and 'image' both name 'image'"):
        _load(tmp_path)


def test_a_sep_line_naming_another_character_or_contradicting_the_option_is_refused(tmp_path):
    (tmp_path / "manifest.csv").write_text("sep=|\nimage|caption\nimages/a.jpg|a\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:1: the separator line 'sep=\|' names '\|'; expected ','"):
        _load(tmp_path)
    (tmp_path / "manifest.csv").write_text("sep=,\nimage,caption\nimages/a.jpg,a\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:1: the separator line 'sep=,' names ',', but the option "
                       "delimiter names ';'"):
        _load(tmp_path, delimiter="semicolon")


def test_a_comma_csv_keeps_semicolons_in_its_cells(tmp_path):
    (tmp_path / "manifest.csv").write_text('image,caption,label\nimages/a.jpg,a cat; sitting,1\nimages/b.jpg,x;y,"2"\n')
    assert [(s.captions, s.label) for s in _load(tmp_path).samples] == [(("a cat; sitting",), 1.0), (("x;y",), 2.0)]
    # a decimal comma in a comma CSV is refused as before, with its hint
    (tmp_path / "manifest.csv").write_text('image,label\nimages/a.jpg,"0,5"\n')
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:2: expected 'label' as a finite number, got '0,5'; "
                       r"write the decimal separator as '.' \(0.5\)"):
        _load(tmp_path)


def test_a_header_that_fits_both_separators_is_read_as_comma_separated(tmp_path):
    # split at ',' it names `image`, split at ';' it names `label`: comma, as every release read it
    (tmp_path / "manifest.csv").write_text("image,text;label\nimages/a.jpg,hi;0.5\n")
    [sample] = _load(tmp_path).samples
    assert (sample.image, sample.captions, sample.label, sample.extra) == (
        "images/a.jpg", (), None, {"text;label": "hi;0.5"})


@pytest.mark.parametrize(("cell", "message"), [
    ("1.234", r"column 'label' holds '1.234', where '.' may group thousands \(1234\) or be a decimal point \(1.234\) "
              r"in a ';'-separated file; .*write 1234 or 1,234"),
    ("-12.000", r"column 'label' holds '-12.000', where '.' may group thousands"),
    ("1.234,5", r"expected column 'label' as a number with at most one decimal comma and no thousands separator "
                r"\(-0,5 or 1234,5\), got '1.234,5'"),
    ("1,2,3", r"expected column 'label' as a number with at most one decimal comma .* got '1,2,3'"),
    ("5,", r"expected column 'label' .* got '5,'"),
    ("nan", r"expected 'label' as a finite number, got 'nan'"),
    ("positive", r"expected 'label' as a finite number, got 'positive'; 'label' is the sample's numeric target"),
])
def test_an_ambiguous_or_malformed_number_is_refused_naming_file_line_and_column(tmp_path, cell, message):
    (tmp_path / "manifest.csv").write_text(f"image;caption;label\nimages/a.jpg;a;0,5\nimages/b.jpg;b;{cell}\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:3: " + message):
        _load(tmp_path)


def test_a_start_with_thousands_points_is_refused_and_a_plain_decimal_point_is_read(tmp_path):
    (tmp_path / "manifest.csv").write_text("audio;start;end\nclip.wav;1.500;3\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:2: column 'start' holds '1.500', where '.' may group"):
        _load(tmp_path)
    (tmp_path / "manifest.csv").write_text("audio;start;end;label\nclip.wav;0.500;3;2.5\n")
    [sample] = _load(tmp_path).samples
    assert (sample.start, sample.end, sample.label) == (0.5, 3.0, 2.5)


def test_a_header_naming_no_known_column_either_way_is_refused_with_the_option_as_hint(tmp_path):
    (tmp_path / "manifest.csv").write_text("bild;beschreibung\nimages/a.jpg;eine Katze, sitzend\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:1: the header 'bild;beschreibung' is one column, and "
                       r"split at ';' it names no column a manifest reads .* pass the option delimiter=semicolon"):
        _load(tmp_path)


def test_the_delimiter_option_reads_what_detection_cannot(tmp_path):
    _images(tmp_path, "a.jpg")
    # a `;` file with a column named "notes, split": split at ',' its header names `split`, so it reads as commas
    (tmp_path / "manifest.csv").write_text("image;caption;notes, split\nimages/a.jpg;a cat;n, train\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:2: expected at least one of \['image'"):
        _load(tmp_path)
    for value in (";", "semicolon"):
        [sample] = _load(tmp_path, delimiter=value).samples
        assert (sample.image, sample.captions, sample.extra) == ("images/a.jpg", ("a cat",), {"notes, split": "n, train"})
    (tmp_path / "manifest.csv").write_text("image\tcaption\timages/x\nimages/a.jpg\ta, b\t1\n")
    assert [s.captions for s in _load(tmp_path, delimiter="tab").samples] == [("a, b",)]
    (tmp_path / "manifest.csv").write_text("image;caption\nimages/a.jpg;a, b\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:2: expected 1 fields"):
        _load(tmp_path, delimiter="comma")


def test_a_delimiter_option_that_names_none_or_suits_no_csv_is_refused(tmp_path):
    (tmp_path / "manifest.csv").write_text("image;caption\nimages/a.jpg;a\n")
    with pytest.raises(ConfigError, match=r"option delimiter='\|' names no delimiter; expected auto, ','"):
        _load(tmp_path, delimiter="|")
    (tmp_path / "manifest.csv").unlink()
    (tmp_path / "manifest.jsonl").write_text(json.dumps({"image": "images/a.jpg"}) + "\n")
    with pytest.raises(ConfigError, match=r"option delimiter=';' is for CSV/TSV manifests, but this one is jsonl"):
        _load(tmp_path, delimiter=";")
    assert len(_load(tmp_path, delimiter="auto").samples) == 1


def test_extract_reads_a_semicolon_manifest_and_takes_the_option(tmp_path):
    corpus = _images(tmp_path / "corpus", "a.jpg", "b.jpg")
    (corpus / "manifest.csv").write_text("image;caption;notes, split\nimages/a.jpg;a, cat;x\nimages/b.jpg;dog;y\n")
    result = CliRunner().invoke(app, ["extract", "manifest", str(corpus), str(tmp_path / "out"), "-q", "-j", "0",
                                      "--image", "color-hist", "-o", "delimiter=;"])
    assert result.exit_code == 0, result.output
    assert ds.dataset(tmp_path / "out" / "samples").to_table().column("sample_id").to_pylist() == [
        "images/a", "images/b"]
