"""The Python API as a notebook calls it: option values, names given as a string, keyword arguments,
`Dataset` objects in place of directories; a wrong value is one ConfigError before anything is written."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from mmdata.alignment import segment_dataset
from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from mmdata.errors import ConfigError
from mmdata.formats.csd_export import export_csd
from mmdata.fusion import fuse
from mmdata.options import key_value_mapping, name_list, spec_list
from mmdata.pipeline import extract
from mmdata.share.export import share_dataset
from mmdata.store import open_dataset
from tests.fakes.csd import write_mosi_csd
from tests.sample_corpus import copy_sample_corpus
from tests.segment_export.corpus import SEGMENTS, videos_dataset, write_labels

WORDS, COVAREP = "text.words", "audio.covarep"


def snapshot(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under root, hidden ones included."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def csd_dataset(tmp_path) -> Path:
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    extract("csd", fake.root, tmp_path / "mosi", extractors=[], num_workers=0)
    return tmp_path / "mosi"


@pytest.fixture(scope="module")
def coco_dataset(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("coco")
    out = tmp / "coco"
    extract("coco", copy_sample_corpus("coco", tmp), out, extractors=["color-hist"], num_workers=0)
    return out


# --- option values --------------------------------------------------------------------------------

@pytest.mark.parametrize(("option", "value", "allowed"), [
    ("on_missing", "zero", "['drop', 'impute', 'error']"),
    ("on_error", "ignore", "['fail', 'skip']"),
    ("collapse", "avg", "['mean', 'max', 'first', 'last']"),
])
def test_align_refuses_an_option_value_before_anything_is_written(csd_dataset, option, value, allowed):
    before = snapshot(csd_dataset)
    with pytest.raises(ConfigError, match="^" + re.escape(f"{option}={value!r} is not one of {allowed}")):
        align_dataset(csd_dataset, WORDS, tables=[COVAREP], **{option: value})
    assert snapshot(csd_dataset) == before  # nothing recorded: the next default run is not refused
    assert align_dataset(csd_dataset, WORDS, tables=[COVAREP]).kept > 0


def test_align_suggests_the_closest_value_and_refuses_a_flag_that_is_not_a_bool(csd_dataset):
    with pytest.raises(ConfigError, match=r"on_missing='imputed' is not one of .*; did you mean 'impute'\?"):
        align_dataset(csd_dataset, WORDS, on_missing="imputed")
    with pytest.raises(ConfigError, match=r"^skip_pauses must be True or False, got 'no'"):
        align_dataset(csd_dataset, WORDS, skip_pauses="no")


def test_extract_refuses_a_table_format_before_the_output_directory_is_made(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    with pytest.raises(ConfigError, match=r"^table_format='csv' is not one of \['arrow', 'parquet'\]"):
        extract("coco", coco, tmp_path / "out", extractors=["color-hist"], table_format="csv", num_workers=0)
    with pytest.raises(ConfigError, match=r"^unknown executor 'dask'; expected 'local' \(process pool\) or 'ray' \(Ray Data\)"):
        extract("coco", coco, tmp_path / "out", extractors=["color-hist"], executor="dask", num_workers=0)
    assert not (tmp_path / "out").exists()


def test_segment_and_export_csd_refuse_option_values(tmp_path):
    videos = videos_dataset(tmp_path)
    labels = write_labels(tmp_path / "labels" / "labels.csd", SEGMENTS)
    with pytest.raises(ConfigError, match=r"^shard_size must be a whole number, at least 1 \(or None\), got 0"):
        segment_dataset(videos, tmp_path / "seg", labels, shard_size=0)
    with pytest.raises(ConfigError, match=r"^keys='SDK' is not one of \['sample', 'sdk'\]; did you mean 'sdk'\?"):
        export_csd(videos, tmp_path / "csd-out", keys="SDK")
    with pytest.raises(ConfigError, match=r"^labels must be True or False, got 'yes'"):
        export_csd(videos, tmp_path / "csd-out", labels="yes")
    assert not (tmp_path / "seg").exists() and not (tmp_path / "csd-out").exists()


def test_check_dataset_refuses_options_that_are_not_check_options(coco_dataset):
    with pytest.raises(ConfigError, match=r"^options: expected a CheckOptions"):
        check_dataset(coco_dataset, ["image.color-hist"])


# --- names given as a string ------------------------------------------------------------------------

def test_name_lists_read_a_string_as_comma_separated_names_and_refuse_other_values():
    assert name_list("a, b,,c", argument="tables") == ["a", "b", "c"]
    assert name_list(("a", "b"), argument="tables") == ["a", "b"]
    assert spec_list("color-hist:bins=8,decode_size=64,minilm", argument="extractors") == [
        "color-hist:bins=8,decode_size=64", "minilm"]
    for bad in (5, ["a", 5], {"a": 1}):
        with pytest.raises(ConfigError, match=r"^tables: expected"):
            name_list(bad, argument="tables")


def test_a_string_of_table_names_is_not_read_letter_by_letter(csd_dataset, tmp_path):
    report = check_dataset(csd_dataset, tables=f"{WORDS}, {COVAREP}")
    assert list(report.tables) == [WORDS, COVAREP]
    aligned = align_dataset(csd_dataset, WORDS, tables=COVAREP)
    assert [t.name for t in aligned.tables] == [f"{WORDS}@{WORDS}", f"{COVAREP}@{WORDS}"]
    written = export_csd(csd_dataset, tmp_path / "csd-out", tables=f"{COVAREP}@{WORDS}")
    assert [p.name for p in written] == [f"{COVAREP}@{WORDS}.csd"]
    with pytest.raises(ConfigError, match=r"^tables: expected a name, a comma-separated string"):
        check_dataset(csd_dataset, tables=3)


def test_segment_takes_a_string_of_table_names(tmp_path):
    videos = videos_dataset(tmp_path)
    labels = write_labels(tmp_path / "labels" / "labels.csd", SEGMENTS)
    report = segment_dataset(open_dataset(videos), tmp_path / "seg", labels, tables=COVAREP)
    assert [t.name for t in report.tables] == [COVAREP]


def test_extract_takes_a_string_of_extractors_and_corpus_options_as_text(tmp_path):
    coco = copy_sample_corpus("coco", tmp_path)
    report = extract("coco", coco, tmp_path / "out", extractors="color-hist:bins=4,pixel-stats", num_workers=0)
    assert [t.name for t in report.tables] == ["image.color-hist", "image.pixel-stats"]
    assert open_dataset(tmp_path / "out").entry("image.color-hist").config["bins"] == 4
    with pytest.raises(ConfigError, match=r"^corpus_options: expected a dict of options or 'KEY=VALUE,KEY=VALUE' text"):
        extract("coco", coco, tmp_path / "other", corpus_options=["split=x"], num_workers=0)
    assert not (tmp_path / "other").exists()


def test_corpus_options_text_is_read_as_the_command_line_reads_dash_o(tmp_path):
    assert key_value_mapping("labels=none, weights='a=b,c.pth'", argument="corpus_options") == {
        "labels": "none", "weights": "a=b,c.pth"}
    assert key_value_mapping({"labels": "none"}, argument="corpus_options") == {"labels": "none"}
    fake = write_mosi_csd(tmp_path / "csd")
    report = extract("csd", fake.root, tmp_path / "out", extractors=[], corpus_options="labels=none", num_workers=0)
    assert open_dataset(report.dataset_dir).manifest.corpus["options"] == {"labels": "none"}


# --- keyword arguments -------------------------------------------------------------------------------

def test_fuse_refuses_an_unknown_keyword_with_the_closest_option(coco_dataset, tmp_path):
    with pytest.raises(ConfigError, match=r"^fuse: unknown option 'stats_split'; did you mean 'stats_splits'\?"):
        fuse(coco_dataset, tmp_path / "fused", stats_split="val2017")
    with pytest.raises(ConfigError, match=r"force=True and overwrite=False disagree"):
        fuse(coco_dataset, tmp_path / "fused", force=True, overwrite=False)
    assert not (tmp_path / "fused").exists()


def test_fuse_and_share_take_force_as_overwrite(coco_dataset, tmp_path):
    kwargs = {"tables": "image.color-hist", "stats_splits": "val2017"}
    fuse(coco_dataset, tmp_path / "fused", **kwargs)
    assert fuse(coco_dataset, tmp_path / "fused", force=True, **kwargs).total_rows == 8
    assert fuse(coco_dataset, tmp_path / "fused", overwrite=True, **kwargs).total_rows == 8
    share_dataset(coco_dataset, tmp_path / "shared")
    assert share_dataset(coco_dataset, tmp_path / "shared", force=True).rows == 8
    assert share_dataset(coco_dataset, tmp_path / "shared", overwrite=True).rows == 8


# --- Dataset objects ---------------------------------------------------------------------------------

def test_every_function_takes_a_dataset_object(csd_dataset, coco_dataset, tmp_path):
    coco = open_dataset(coco_dataset)
    assert fuse(coco, tmp_path / "fused", stats_splits="val2017").total_rows == 8
    assert share_dataset(coco, tmp_path / "shared").rows == 8
    assert check_dataset(coco).ok
    mosi = open_dataset(csd_dataset)
    assert align_dataset(mosi, WORDS, tables=[COVAREP]).kept > 0
    assert export_csd(mosi, tmp_path / "csd-out", tables=[f"{COVAREP}@{WORDS}"])
    with pytest.raises(ConfigError, match=r"^dataset_dir: expected a dataset directory \(str or Path\) or a Dataset"):
        check_dataset(42)
