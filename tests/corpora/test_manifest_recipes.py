"""A custom corpus described by a manifest and extracted from a recipe: CSV quirks, paths as written
on other systems, derived ids, and recipes checked key by key when read."""
from __future__ import annotations

import json
import os
import re
import unicodedata

import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError
from mmdata.recipe import load_recipe
from tests.fakes import write_jpeg


def test_csv_manifest_with_bom_crlf_quoted_cells_and_an_escaped_pipe(tmp_path):
    (tmp_path / "manifest.csv").write_bytes(
        "\ufeff id , image , captions , split , label , speaker \r\n"
        'a,x.jpg,"a cat, sitting|two\r\nlines|a \\| b| ",train," -1.5 ",\r\n'
        "b,y.jpg,,,2,spk 1\r\n".encode()
    )
    samples = load_corpus("manifest", tmp_path).samples
    assert [(s.sample_id, s.captions, s.split, s.label, s.extra) for s in samples] == [
        ("a", ("a cat, sitting", "two\r\nlines", "a | b"), "train", -1.5, {}),
        ("b", (), "all", 2.0, {"speaker": "spk 1"}),
    ]


def test_jsonl_extra_columns_keep_their_json_types_and_labels_may_be_numeric_strings(tmp_path):
    row = {"image": "x.jpg", "label": "0.5", "n": 3, "f": 1.5, "flag": True, "tags": ["a", 1], "meta": {"k": None}}
    (tmp_path / "manifest.jsonl").write_text(json.dumps(row) + "\n")
    [sample] = load_corpus("manifest", tmp_path).samples
    assert sample.label == 0.5
    assert sample.extra == {"n": 3, "f": 1.5, "flag": True, "tags": ["a", 1], "meta": {"k": None}}


def test_a_label_with_an_underscore_is_not_read_as_a_number(tmp_path):
    (tmp_path / "manifest.csv").write_text("image,label\nx.jpg,1_0\n")
    with pytest.raises(CorpusFormatError, match=r"manifest.csv:2: expected 'label' as a finite number, got '1_0'"):
        load_corpus("manifest", tmp_path)


def test_a_tab_or_semicolon_separated_csv_says_a_manifest_is_comma_separated(tmp_path):
    # a `;` header naming known columns (`image;text`) is read `;`-separated: test_semicolon_csv_manifests.py
    for header, separator in (("image\ttext", "\t"), ("picture;remark", ";")):
        (tmp_path / "manifest.csv").write_text(f"{header}\nx.jpg{separator}hi\n")
        with pytest.raises(CorpusFormatError, match=r"manifest.csv:1: the header .* is one column[;,] .*comma-separated"):
            load_corpus("manifest", tmp_path)


def test_windows_separators_and_the_other_unicode_form_find_the_file_on_disk(tmp_path):
    (tmp_path / "images").mkdir()
    write_jpeg(tmp_path / "images" / "cat.jpg")
    nfd = unicodedata.normalize("NFD", "café.jpg")
    write_jpeg(tmp_path / "images" / nfd)
    write_jpeg(tmp_path / "back\\slash.jpg")  # a legal POSIX name: kept as written
    rows = [{"image": "images\\cat.jpg"}, {"image": "images/" + unicodedata.normalize("NFC", "café.jpg")},
            {"image": "back\\slash.jpg"}, {"image": "missing\\dog.jpg"}]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    samples = load_corpus("manifest", tmp_path).samples
    assert [s.image for s in samples] == ["images/cat.jpg", "images/" + nfd, "back\\slash.jpg", "missing/dog.jpg"]
    assert [s.sample_id for s in samples] == ["images/cat", "images/" + nfd[:-4], "back\\slash", "missing/dog"]
    assert all((tmp_path / s.image).is_file() for s in samples[:3])


def test_paths_outside_the_root_are_refused_unless_allowed(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    write_jpeg(tmp_path / "outside.jpg")
    os.symlink(tmp_path / "outside.jpg", root / "link.jpg")
    for path in ("link.jpg", "../outside.jpg"):
        (root / "manifest.jsonl").write_text(json.dumps({"image": path}) + "\n")
        with pytest.raises(CorpusFormatError, match=r"manifest.jsonl:1: media path .* outside the corpus root"):
            load_corpus("manifest", root)
        [sample] = load_corpus("manifest", root, options={"allow_outside_root": "true"}).samples
        assert sample.image == str((tmp_path / "outside.jpg").resolve())


def test_ids_derived_from_media_paths_that_collide_say_to_add_an_id_column(tmp_path):
    (tmp_path / "manifest.jsonl").write_text('{"image": "a/x.jpg"}\n{"image": "a/x.png"}\n{"id": "a/x", "text": "t"}\n'
                                             '{"id": "b/y.png", "text": "u"}\n{"image": "b/y.jpg"}\n{"image": "b/y.png"}\n')
    result = load_corpus("manifest", tmp_path)
    # a/x.png keeps its suffix (a/x.jpg took a/x); b/y.png's suffixed id is taken too: then the hint
    assert [s.sample_id for s in result.samples] == ["a/x", "a/x.png", "b/y.png", "b/y"]
    given, derived = result.problems
    assert given.path.endswith("manifest.jsonl:3") and "'id' column" not in given.reason
    assert derived.path.endswith("manifest.jsonl:6") and "give the rows an 'id' column" in derived.reason


def _recipe(tmp_path, text: str | bytes):
    path = tmp_path / "r.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize(("text", "message"), [
    ('[corpus]\nkind = "coco"\nsplitt = "val2017"\n', r"unknown keys in \[corpus\]: \['splitt'\]"),
    ('corpus = "coco"\n', r"expected \[corpus\] to be a table"),
    ('[corpus]\nkind = 5\n', r"\[corpus\] kind: expected a non-empty string, got 5"),
    ('[corpus]\nkind = "coco"\nsplit = 2017\n', r"\[corpus\] split: expected a non-empty string, got 2017"),
    ('[corpus]\nkind = "coco"\noptions = "x"\n', r"expected \[corpus.options\] to be a table"),
    ('[corpus]\nkind = "coco"\n[corpus.options]\nkeep_images_without_caption = true\n',
     r"\[corpus.options\]: corpus 'coco': unknown option 'keep_images_without_caption'"),
    ('[corpus]\nkind = "manifest"\n[corpus.options]\nallow_outside_root = "maybe"\n',
     r"\[corpus.options\]: .*'allow_outside_root': expected true/false, got 'maybe'"),
    ('[corpus]\nkind = "manifest"\n[corpus.options]\nfile_format = "xlsx"\n',
     r"'xlsx' is not one of \['auto', 'jsonl', 'json', 'csv', 'tsv', 'parquet'\]"),
    ('[corpus]\nkind = "coco"\n[corpus.options]\nimage_dir = {a = 1}\n', r"\[corpus.options\] image_dir: expected a string"),
    ('[corpus]\nkind = "coco"\n[extract]\nimage = 5\n', r"\[extract\] image: expected a list of extractor specs"),
    ('[corpus]\nkind = "coco"\n[extract]\nimage = [5]\n', r"\[extract\] image: expected a list of extractor specs"),
    ('[corpus]\nkind = "coco"\n[extract]\nimage = ["color-hist:binz=8"]\n', r"\[extract\] image: .*unknown option 'binz'"),
    ('[corpus]\nkind = "coco"\n[extract]\nbatch_size = "big"\n', r"\[extract\] batch_size: expected an integer >= 1"),
    ('[corpus]\nkind = "coco"\n[extract]\nbatch_size = true\n', r"\[extract\] batch_size: expected an integer >= 1"),
    ('[corpus]\nkind = "coco"\n[extract]\nnum_workers = -1\n', r"\[extract\] num_workers: expected an integer >= 0"),
    ('[corpus]\nkind = "coco"\n[extract]\non_error = "ignore"\n', r"\[extract\] on_error: expected \"skip\" or \"fail\""),
    ('[corpus]\nkind = "coco"\n[extract]\ntable_format = "csv"\n', r"\[extract\] table_format: expected one of"),
    ('# caf\xe9\n[corpus]\nkind = "coco"\n'.encode("latin-1"), r"not valid UTF-8"),
])
def test_a_bad_recipe_is_a_config_error_naming_the_file_and_key(tmp_path, text, message):
    path = _recipe(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: .*{message}"):
        load_recipe(path)


def test_recipe_loader_options_are_read_like_command_line_options(tmp_path):
    path = _recipe(tmp_path, '[corpus]\nkind = "csd"\n[corpus.options]\ntables = ["a=text.x", "b=audio.y"]\n[extract]\n')
    assert load_recipe(path).corpus_options == {"tables": "a=text.x+b=audio.y"}
    path = _recipe(tmp_path, '[corpus]\nkind = "coco"\n[corpus.options]\nkeep_images_without_captions = true\n')
    assert load_recipe(path).corpus_options == {"keep_images_without_captions": "true"}
    assert load_recipe(_recipe(tmp_path, '[corpus]\nkind = "coco"\n')).extractors == {}


def test_flags_given_with_a_recipe_override_it(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "images").mkdir(parents=True)
    write_jpeg(corpus / "images" / "a.jpg")
    write_jpeg(corpus / "images" / "b.jpg")
    (corpus / "rows.csv").write_text("id,image,captions,split\na,images/a.jpg,a cat,train\nb,images\\b.jpg,a dog,test\n")
    recipe = _recipe(tmp_path, '[corpus]\nkind = "manifest"\nsplit = "test"\n[corpus.options]\nmanifest_file = "none.csv"\n'
                               '[extract]\nimage = ["color-hist:bins=4"]\ntext = ["hashed-bow"]\nnum_workers = 0\n')
    result = CliRunner().invoke(app, ["extract", str(recipe), str(corpus), str(tmp_path / "out"), "-q",
                                      "--split", "train", "--image", "color-hist:bins=8", "-o", "manifest_file=rows.csv"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "mmdata.json").read_text())
    assert manifest["corpus"]["split"] == "train" and manifest["corpus"]["options"]["manifest_file"] == "rows.csv"
    assert manifest["tables"]["image.color-hist"]["config"]["bins"] == 8
    assert sorted(manifest["tables"]) == ["image.color-hist", "text.hashed-bow"]
    assert ds.dataset(tmp_path / "out" / "samples").to_table().column("sample_id").to_pylist() == ["a"]
