"""An argument of a type the Python API does not take is one `ArgumentTypeError` naming it (an MmdataError,
so a notebook's `except MmdataError` and the command line's one-line errors take it, and a TypeError, as
Python raises for a wrong type): not pathlib's "expected str, bytes or os.PathLike object" from deep inside,
not `split=["val2017"]` looked for as the file `captions_['val2017'].json`."""
from __future__ import annotations

import re

import numpy as np
import pytest

import mmdata
from mmdata import ArgumentTypeError
from tests.checks.builder import build_dataset, image_text_samples, pooled_table

SAMPLES = image_text_samples()  # 12 samples: train 7, val 3, test 2


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    return build_dataset(tmp_path_factory.mktemp("types") / "ds", SAMPLES, [pooled_table("image.p", SAMPLES, 3)])


@pytest.fixture(scope="module")
def export_dir(dataset_dir):
    out = dataset_dir.parent / "fused"
    mmdata.fuse(dataset_dir, out, format="arrow")
    return out


def test_the_error_is_an_mmdata_error_a_config_error_and_a_type_error():
    assert issubclass(ArgumentTypeError, mmdata.ConfigError)
    assert issubclass(ArgumentTypeError, mmdata.MmdataError) and issubclass(ArgumentTypeError, TypeError)


@pytest.mark.parametrize("path", [None, 3, b"out/coco"])
def test_open_dataset_refuses_a_path_that_is_not_a_str_or_path(path):
    with pytest.raises(ArgumentTypeError, match=re.escape(f"path: expected a dataset directory (str or Path) or a "
                                                          f"Dataset (`open_dataset`), got {path!r}")):
        mmdata.open_dataset(path)


def test_open_dataset_and_describe_dataset_take_a_dataset(dataset_dir):
    data = mmdata.open_dataset(dataset_dir)
    assert mmdata.open_dataset(data).root == dataset_dir
    assert mmdata.describe_dataset(data)["tables"][0]["name"] == "image.p"


@pytest.mark.parametrize("split", [["val", "test"], ("val",), 3])
def test_reading_refuses_a_split_that_is_not_one_name(dataset_dir, split):
    data = mmdata.open_dataset(dataset_dir)
    expected = f"split is one split name (a str) or None for every split, got {type(split).__name__} {split!r}"
    for read in (data.to_numpy, data.read_table):
        with pytest.raises(ArgumentTypeError, match="^" + re.escape(expected)):
            read("image.p", split=split)


@pytest.mark.parametrize("name", [None, ["image.p"], 0])
def test_reading_refuses_a_table_name_that_is_not_a_str_and_lists_the_tables(dataset_dir, name):
    data = mmdata.open_dataset(dataset_dir)
    with pytest.raises(ArgumentTypeError, match=re.escape(f"got {type(name).__name__} {name!r}: read one table per "
                                                          "call; tables: ['image.p']")):
        data.to_numpy(name)


@pytest.mark.parametrize(("argument", "value", "expected"), [
    ("corpus_dir", None, "corpus_dir: expected a path (str or Path), got None (NoneType)"),
    ("output_dir", 7, "output_dir: expected a path (str or Path), got 7 (int)"),
    ("split", ["val2017"], "split is one split name (a str) or None for every split, got list ['val2017']; give "
                           "one split per call"),
    ("split", 2017, "split is one split name (a str) or None for every split, got int 2017"),
    ("progress", "yes", "progress: expected True (draw bars), False or None (none), or a progress sink "
                        "(`mmdata.progress.RichProgress()`), got 'yes' (str), which has no start, advance, finish "
                        "method"),
])
def test_extract_refuses_a_wrong_type_before_anything_is_written(tmp_path, argument, value, expected):
    arguments = {"kind": "coco", "corpus_dir": mmdata.sample_corpus_dir("coco"), "output_dir": tmp_path / "out",
                 "extractors": ["color-hist"], "num_workers": 0, argument: value}
    with pytest.raises(ArgumentTypeError, match="^" + re.escape(expected) + "$"):
        mmdata.extract(**arguments)
    assert not (tmp_path / "out").exists()


def test_extract_takes_a_progress_sink_of_its_own(tmp_path):
    class Counting:
        def __init__(self):
            self.advanced = 0

        def start(self, description, total):
            pass

        def advance(self, count):
            self.advanced += count

        def finish(self):
            pass

    sink = Counting()
    mmdata.extract("coco", mmdata.sample_corpus_dir("coco"), tmp_path / "out", extractors=["color-hist:bins=2"],
                   num_workers=0, progress=sink)
    assert sink.advanced == 8


NOT_A_FOLDER = "export_dir: expected a fused export's folder (str or Path), got None"


@pytest.mark.parametrize(("make", "expected"), [
    (lambda e: mmdata.FusedDataset(None), NOT_A_FOLDER),
    (lambda e: mmdata.read_fused_metadata(None), NOT_A_FOLDER),
    (lambda e: mmdata.FusedDataset(e, ["train"]), "split is one split name (a str), got list ['train']; give one "
                                                  "split per call"),
    (lambda e: mmdata.FusedDataset(e, None), "split is one split name (a str), got NoneType None"),
])
def test_fused_readers_refuse_a_wrong_type(export_dir, make, expected):
    with pytest.raises(ArgumentTypeError, match="^" + re.escape(expected)):
        make(export_dir)


@pytest.mark.parametrize("index", [1.0, "0", None, [0.5], np.ones(3, bool)])
def test_fused_dataset_indices_of_another_type_are_argument_type_errors(export_dir, index):
    with pytest.raises(ArgumentTypeError, match="indices"):
        mmdata.FusedDataset(export_dir, "val")[index]


def test_fused_dataset_indices_work_as_a_lists_do(export_dir):
    data = mmdata.FusedDataset(export_dir, "val")
    ids = [data[i]["sample_id"] for i in range(len(data))]
    assert [data[-1]["sample_id"], data[np.int64(1)]["sample_id"], data[np.int32(-3)]["sample_id"]] == \
        [ids[-1], ids[1], ids[0]]
    assert [item["sample_id"] for item in data] == ids  # iteration stops at the IndexError past the end
    with pytest.raises(IndexError, match=r"index out of range for split 'val' of 3 rows: -4 \(valid: -3 to 2\)"):
        data[-4]
