"""Generic JSONL/CSV manifests: both formats agree, ids, text mapping, segments, extra columns, errors."""
from __future__ import annotations

import json

import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError
from mmdata.records import samples_to_table
from tests.fakes import write_jpeg
from tests.fakes.imagetext import write_fake_manifest


def write_jsonl(root, rows, name="manifest.jsonl"):
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


def test_jsonl_and_csv_manifests_give_the_same_samples(tmp_path):
    jsonl = write_fake_manifest(tmp_path / "j", "jsonl")
    csv = write_fake_manifest(tmp_path / "c", "csv")
    from_jsonl = samples_to_table(load_corpus("manifest", jsonl.root).samples)
    from_csv = samples_to_table(load_corpus("manifest", csv.root).samples)
    assert from_jsonl.equals(from_csv)


def test_fields_map_onto_samples(fake_manifest):
    samples = {s.sample_id: s for s in load_corpus("manifest", fake_manifest.root).samples}
    clip = samples["clip-1"]
    assert (clip.start, clip.end, clip.label, clip.group_id, clip.captions) == (0.25, 0.75, 1.5, "audio/a.wav", ())
    assert samples["cat-1"].extra == {"license": "cc-by"}
    assert samples["cat-1"].group_id == "images/cat.jpg"
    assert samples["7"].group_id == "v"
    derived = samples["audio/a@0.750-1.000"]
    assert (derived.start, derived.end, derived.transcript) == (0.75, 1.0, "general kenobi")


def test_text_is_a_caption_for_images_and_text_only_rows_get_line_ids(tmp_path):
    write_jpeg(tmp_path / "x.png")
    root = write_jsonl(tmp_path, [{"image": "x.png", "text": "a picture"}, {}, {"text": "just words", "split": "s"}])
    with pytest.raises(CorpusFormatError, match=r"manifest.jsonl:2: expected at least one of"):
        load_corpus("manifest", root)
    write_jsonl(root, [{"image": "x.png", "text": "a picture"}, {"text": "just words", "split": "s"}])
    samples = {s.sample_id: s for s in load_corpus("manifest", root).samples}
    assert samples["x"].captions == ("a picture",) and samples["x"].transcript is None
    assert samples["line-000002"].captions == ("just words",) and samples["line-000002"].split == "s"


def test_split_filters_and_an_unknown_split_lists_the_known_ones(fake_manifest):
    assert sorted(s.sample_id for s in load_corpus("manifest", fake_manifest.root, split="train").samples) == [
        "cat-1", "clip-1"]
    with pytest.raises(ConfigError, match=r"no row of .*manifest.jsonl has split 'dev'; splits there: \['all', "):
        load_corpus("manifest", fake_manifest.root, split="dev")


def test_duplicate_ids_are_problems_naming_both_lines(tmp_path):
    root = write_jsonl(tmp_path, [{"id": "a", "text": "one"}, {"id": "b", "text": "two"}, {"id": "a", "text": "three"}])
    result = load_corpus("manifest", root)
    assert [s.transcript or s.captions[0] for s in result.samples] == ["one", "two"]
    [problem] = result.problems
    assert problem.path.endswith("manifest.jsonl:3") and "first on line 1" in problem.reason


def test_default_ids_of_two_files_differing_in_suffix_keep_both_samples(tmp_path):
    root = write_jsonl(tmp_path, [{"image": "img/a.jpg", "caption": "jpeg"}, {"image": "img/a.png", "caption": "png"},
                                  {"image": "img/a.png", "caption": "again"}])
    result = load_corpus("manifest", root)
    # the second file keeps its suffix; the third row repeats the second's file: a repeated entry, as before
    assert [(s.sample_id, s.image) for s in result.samples] == [("img/a", "img/a.jpg"), ("img/a.png", "img/a.png")]
    [problem] = result.problems
    assert problem.path.endswith("manifest.jsonl:3") and "duplicate sample id 'img/a.png'" in problem.reason


def test_a_class_name_as_label_says_where_to_keep_it(tmp_path):
    (tmp_path / "data.csv").write_text("image,label\nx.jpg,cat\n")
    with pytest.raises(CorpusFormatError, match=r"data.csv:2: expected 'label' as a finite number, got 'cat'; "
                       r"'label' is the sample's numeric target .* column of another name \(e.g. 'category'\)"):
        load_corpus("manifest", tmp_path)


@pytest.mark.parametrize(("row", "message"), [
    ({"image": "x.jpg", "start": 1.0}, "'start'/'end' need an 'audio' or 'video' path"),
    ({"audio": "a.wav", "start": -1}, "expected 'start' >= 0 seconds"),
    ({"audio": "a.wav", "start": "soon"}, "expected 'start' \\(seconds\\) as a finite number, got 'soon'"),
    ({"image": "x.jpg", "caption": "a", "text": "b"}, "expected at most one of"),
    ({"image": "x.jpg", "captions": "a cat"}, "expected 'captions' as a list of strings"),
    ({"image": "x.jpg", "captions": ["ok", 3]}, "expected each of 'captions' as a string, got 3"),
    ({"img": "x.jpg", "tags": "cat"}, r"expected at least one of .*, got columns \['img', 'tags'\] \(did you mean 'image'\?\)"),
    ({"image": "x.jpg", "label": True}, "expected 'label' as a finite number, got True"),
    ({"image": "x.jpg", "label": float("nan")}, "expected 'label' as a finite number"),
    ({"image": 5}, "expected 'image' \\(a media path\\) as a non-empty string"),
    ({"image": "x.jpg", "id": ["a"]}, "expected 'id' \\(a string or an integer\\)"),
    ({"image": "../x.jpg"}, "media path .../x.jpg. points outside the corpus root"),
    ({"image": "/etc/passwd"}, "media path ./etc/passwd. points outside the corpus root"),
])
def test_malformed_rows_name_file_and_line(tmp_path, row, message):
    root = write_jsonl(tmp_path, [{"text": "fine"}, row])
    with pytest.raises(CorpusFormatError, match=r"manifest.jsonl:2: " + message):
        load_corpus("manifest", root)


def test_blank_texts_are_problems_of_their_row_and_a_row_left_with_nothing_is_left_out(tmp_path):
    """As a COCO file's blank caption: recorded in the errors table, never the end of the whole run."""
    root = write_jsonl(tmp_path, [
        {"id": "a", "image": "a.jpg", "captions": ["a cat", "  ", "a cat on a mat"]},
        {"id": "b", "image": "b.jpg", "caption": ""},
        {"id": "c", "captions": []},
        {"id": "d", "text": " "},
        {"id": "e", "text": "fine"},
    ])
    result = load_corpus("manifest", root)
    assert [(s.sample_id, s.captions) for s in result.samples] == [
        ("a", ("a cat", "a cat on a mat")), ("b", ()), ("e", ("fine",))]
    assert [(p.sample_id, p.path.rsplit("/", 1)[-1], p.reason) for p in result.problems] == [
        ("a", "manifest.jsonl:1", "blank caption #2 of 'captions'; ignored"),
        ("b", "manifest.jsonl:2", "blank 'caption'; ignored"),
        ("c", "manifest.jsonl:3", "'captions' is empty: the row names no medium and no other text; row left out"),
        ("d", "manifest.jsonl:4", "blank 'text': the row names no medium and no other text; row left out"),
    ]


def test_a_column_named_close_to_one_mmdata_reads_is_named_in_a_warning(tmp_path, caplog):
    root = write_jsonl(tmp_path, [{"img": "a.jpg", "captions": ["a cat"]}, {"img": "b.jpg", "captions": ["a dog"],
                                                                             "license": "cc-by"}])
    with caplog.at_level("WARNING", logger="mmdata.corpora.manifest"):
        samples = load_corpus("manifest", root).samples
    assert [s.image for s in samples] == [None, None] and samples[0].extra == {"img": "a.jpg"}
    assert [r.getMessage().split(": ", 1)[1] for r in caplog.records] == [
        "column 'img' is not one mmdata reads, so it is kept in extra; did you mean 'image'?"]


def test_non_object_line_and_bad_json(tmp_path):
    (tmp_path / "manifest.jsonl").write_text('{"text": "a"}\n[1, 2]\n')
    with pytest.raises(CorpusFormatError, match=r"manifest.jsonl:2: expected a JSON object per line, got \[1, 2\]"):
        load_corpus("manifest", tmp_path)
    (tmp_path / "manifest.jsonl").write_text('{"text": "a"}\n\n{"text": "b",}\n')
    with pytest.raises(CorpusFormatError, match=r"manifest.jsonl:3:\d+: invalid JSON"):
        load_corpus("manifest", tmp_path)


def test_csv_cells_parse_numbers_and_keep_extra_as_strings(tmp_path):
    (tmp_path / "data.csv").write_text(
        "audio,start,end,text,label,speaker,notes\n"
        "a.wav,0,1.5,hello,-2,spk1,\n"
        'a.wav,1.5,3,"hi, again",0.5,spk2,"quoted, note"\n'
    )
    samples = load_corpus("manifest", tmp_path).samples
    assert [(s.sample_id, s.start, s.end, s.label, s.transcript, s.extra) for s in samples] == [
        ("a@0.000-1.500", 0.0, 1.5, -2.0, "hello", {"speaker": "spk1"}),
        ("a@1.500-3.000", 1.5, 3.0, 0.5, "hi, again", {"speaker": "spk2", "notes": "quoted, note"}),
    ]
    (tmp_path / "data.csv").write_text("image,label\nx.jpg,high\n")
    with pytest.raises(CorpusFormatError, match=r"data.csv:2: expected 'label' as a finite number, got 'high'"):
        load_corpus("manifest", tmp_path)
    (tmp_path / "data.csv").write_text("image,image\nx.jpg,y.jpg\n")
    with pytest.raises(CorpusFormatError, match="repeated column names"):
        load_corpus("manifest", tmp_path)


def test_manifest_file_discovery_and_options(tmp_path):
    write_jsonl(tmp_path, [{"text": "a"}], name="train.jsonl")
    write_jsonl(tmp_path, [{"text": "b"}], name="test.jsonl")
    with pytest.raises(ConfigError, match=r"several possible manifests .*\['test.jsonl', 'train.jsonl'\]"):
        load_corpus("manifest", tmp_path)
    assert [s.captions for s in load_corpus("manifest", tmp_path, options={"manifest_file": "test.jsonl"}).samples] == [
        ("b",)]
    write_jsonl(tmp_path, [{"text": "c"}], name="rows.txt")
    with pytest.raises(ConfigError, match="pass file_format=jsonl"):
        load_corpus("manifest", tmp_path, options={"manifest_file": "rows.txt"})
    samples = load_corpus("manifest", tmp_path, options={"manifest_file": "rows.txt", "file_format": "jsonl"}).samples
    assert [s.captions for s in samples] == [("c",)]
