"""Fuzzing the annotation parsers: whatever the bytes, a loader returns samples (that make a valid
samples table) or raises an MmdataError; never a raw KeyError/IndexError/TypeError/UnicodeDecodeError.

Inputs are mostly near-valid documents whose every field may be swapped for a random JSON value
(so parsing gets deep), plus raw bytes; each example writes one file and parses it.
"""
from __future__ import annotations

import csv
import io
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmdata.corpora import load_corpus
from mmdata.errors import MmdataError
from mmdata.records import samples_to_table

# derandomize: CI sees the same 1,000 inputs every run (set MMDATA_FUZZ_SEARCH=1 to explore new ones).
FUZZ = settings(max_examples=int(os.environ.get("MMDATA_FUZZ_EXAMPLES", "1000")), deadline=None, database=None,
                derandomize=not os.environ.get("MMDATA_FUZZ_SEARCH"), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Text with tabs, '#', '|', quotes, newlines, non-ASCII and lone surrogates (JSON escapes make those).
chars = st.characters(codec=None, exclude_categories=())
texts = st.one_of(st.text(chars, max_size=12), st.sampled_from(["a dog", "", " ", "x\ty", "#10", "a|b", "\ud800"]))
names = st.one_of(
    st.sampled_from(["a.jpg", "b.jpg", "sub/c.jpg", "../up.jpg", "/abs.jpg", "", ".", "..", "a\x00b.jpg",
                     "\udc80.jpg", "x" * 300 + ".jpg", "dir/", "a#1.jpg"]),
    st.text(chars, max_size=10),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 2**70), st.floats(), texts)
json_values = st.recursive(scalars, lambda c: st.lists(c, max_size=2) | st.dictionaries(texts, c, max_size=2),
                           max_leaves=3)
small_ints = st.integers(0, 4)


def maybe(strategy):
    """Mostly the valid-looking value, sometimes any JSON value."""
    return st.one_of(strategy, strategy, strategy, json_values)


def objects(**fields):
    """Objects with any subset of `fields`, each value possibly of a wrong type."""
    return st.fixed_dictionaries({}, optional={k: maybe(v) for k, v in fields.items()})


def rows(**fields):
    """Like `objects`, for strategies that already mix right and wrong types (cheaper to draw)."""
    return st.fixed_dictionaries({}, optional=fields)


def encode_json(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


raw_bytes = st.binary(max_size=60)


def check_load(kind, root, split=None, options=None) -> None:
    try:
        result = load_corpus(kind, root, split=split, options=options)
    except MmdataError:
        return
    samples_to_table(result.samples)  # what was returned must make a valid samples table
    assert all(p.path for p in result.problems)


coco_documents = objects(
    images=st.lists(maybe(objects(id=small_ints, file_name=names, width=st.integers())), max_size=4),
    annotations=st.lists(maybe(objects(id=small_ints, image_id=small_ints, caption=texts)), max_size=5),
)


@FUZZ
@given(data=st.one_of(coco_documents.map(encode_json), raw_bytes), keep=st.booleans(), outside=st.booleans())
def test_fuzz_coco_json(tmp_path, data, keep, outside):
    (tmp_path / "annotations").mkdir(exist_ok=True)
    (tmp_path / "annotations" / "captions_val2017.json").write_bytes(data)
    check_load("coco", tmp_path, "val2017",
               {"keep_images_without_captions": keep, "allow_outside_root": outside})


karpathy_sentence = objects(raw=texts, imgid=small_ints, sentid=small_ints)
karpathy_image = objects(
    filename=names, filepath=st.sampled_from(["val2014", "train2014", "..", ""]),
    split=st.sampled_from(["train", "val", "test", "restval", "dev"]), imgid=small_ints, cocoid=small_ints,
    sentids=st.lists(small_ints, max_size=2), sentences=st.lists(maybe(karpathy_sentence), max_size=2),
)
karpathy_documents = objects(dataset=st.sampled_from(["coco", "flickr30k", "flickr8k"]),
                             images=st.lists(maybe(karpathy_image), max_size=3))


@FUZZ
@given(data=st.one_of(karpathy_documents.map(encode_json), raw_bytes),
       split=st.sampled_from([None, "train", "restval", "bogus"]), restval=st.booleans())
def test_fuzz_karpathy_json(tmp_path, data, split, restval):
    (tmp_path / "dataset_coco.json").write_bytes(data)
    check_load("karpathy", tmp_path, split, {"restval_as_train": restval})


token_lines = st.one_of(
    st.builds(lambda n, i, c: f"{n}#{i}\t{c}", names, st.one_of(small_ints.map(str), texts), texts),
    st.text(chars, max_size=20),
)


def join_lines(lines: list[str], crlf: bool) -> bytes:
    return ("\r\n" if crlf else "\n").join(lines).encode("utf-8", "surrogatepass")


@FUZZ
@given(data=st.one_of(st.builds(join_lines, st.lists(token_lines, max_size=6), st.booleans()), raw_bytes))
def test_fuzz_flickr30k_token(tmp_path, data):
    (tmp_path / "results_20130124.token").write_bytes(data)
    check_load("flickr30k", tmp_path)


csv_lines = st.one_of(
    st.builds(lambda n, i, c: f"{n}| {i}| {c}", names, st.one_of(small_ints.map(str), texts), texts),
    st.builds(lambda n, c: f"{n}| {c}", names, texts),
    st.text(chars, max_size=20),
)


@FUZZ
@given(header=st.sampled_from(["image_name| comment_number| comment", "image_name|comment_number|comment", "x"]),
       lines=st.lists(csv_lines, max_size=6), crlf=st.booleans(), raw=st.one_of(st.none(), raw_bytes))
def test_fuzz_flickr30k_results_csv(tmp_path, header, lines, crlf, raw):
    (tmp_path / "results.csv").write_bytes(raw if raw is not None else join_lines([header, *lines], crlf))
    check_load("flickr30k", tmp_path)


seconds = st.one_of(st.floats(-1, 5), st.integers(-1, 5), st.sampled_from(["1.5", "nan", "inf", "x"]))
manifest_rows = rows(
    id=st.one_of(texts, st.integers(), st.none(), st.booleans()), image=names, audio=names, video=names,
    start=seconds, end=seconds, captions=st.one_of(st.lists(texts, max_size=2), texts), caption=texts,
    text=st.one_of(texts, st.integers()), split=st.sampled_from(["train", "test", 3]),
    label=st.one_of(st.floats(), st.integers(), texts), group_id=st.one_of(texts, st.integers()), speaker=json_values,
)
manifest_jsonl = st.lists(st.one_of(manifest_rows.map(lambda r: json.dumps(r, allow_nan=True)),
                                    st.text(chars, max_size=15)), max_size=4)


@FUZZ
@given(lines=manifest_jsonl, split=st.sampled_from([None, "train", "dev"]), raw=st.one_of(st.none(), raw_bytes))
def test_fuzz_manifest_jsonl(tmp_path, lines, split, raw):
    data = raw if raw is not None else "\n".join(lines).encode("utf-8", "surrogatepass")
    (tmp_path / "manifest.jsonl").write_bytes(data)
    check_load("manifest", tmp_path, split)


CSV_COLUMNS = ["id", "image", "audio", "video", "start", "end", "captions", "caption", "text", "split", "label",
               "group_id", "extra"]
cells = st.one_of(names, texts, seconds.map(str), st.just(""))


def write_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


@FUZZ
@given(header=st.lists(st.sampled_from(CSV_COLUMNS), min_size=1, max_size=5, unique=True),
       rows=st.lists(st.lists(cells, min_size=0, max_size=6), max_size=4), raw=st.one_of(st.none(), raw_bytes))
def test_fuzz_manifest_csv(tmp_path, header, rows, raw):
    (tmp_path / "manifest.csv").write_bytes(raw if raw is not None else write_csv(header, rows))
    check_load("manifest", tmp_path)
