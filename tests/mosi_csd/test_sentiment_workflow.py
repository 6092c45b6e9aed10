"""A CMU-MOSI researcher's path: SDK `.csd` files -> segments -> export back to `.csd` -> reload."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from mmdata.errors import ConfigError, DatasetError
from mmdata.formats.csd import CsdFile
from mmdata.formats.csd_export import export_csd
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import (
    COVAREP_FILE, COVAREP_ROOT, LABELS_FILE, LABELS_ROOT, SEGMENTS, write_mosi_csd, write_sdk_csd,
)


def _sample_labels(dataset_dir):
    rows = open_dataset(dataset_dir).samples_table(["sample_id", "start", "label"]).to_pylist()
    return {r["sample_id"]: (r["start"], r["label"]) for r in rows}


def test_segment_ids_survive_a_round_trip_when_a_label_row_was_skipped(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    labels = dict(fake.data[LABELS_FILE])
    values, intervals = labels["abc"]
    values = values.copy()
    values[0, 0] = np.nan  # the loader skips segment abc[0]; abc[1] keeps its SDK index
    labels["abc"] = (values, intervals)
    write_sdk_csd(fake.files[LABELS_FILE], LABELS_ROOT, labels)
    extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)
    first = _sample_labels(tmp_path / "out")
    assert "abc[1]" in first and "abc[0]" not in first

    export_csd(tmp_path / "out", tmp_path / "back")
    extract("csd", tmp_path / "back", tmp_path / "again", extractors=[], num_workers=0)

    assert _sample_labels(tmp_path / "again") == first  # abc[1] is not renamed abc[0]
    with CsdFile(tmp_path / "back" / LABELS_FILE) as csd:
        assert "abc[1]" in csd.video_ids and "abc" not in csd.video_ids


def test_labels_without_gaps_are_still_written_one_key_per_video(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)
    export_csd(tmp_path / "out", tmp_path / "back", tables=[])
    with CsdFile(tmp_path / "back" / LABELS_FILE) as csd:
        assert csd.video_ids == sorted(SEGMENTS)


def test_a_table_whose_every_sample_failed_is_refused_before_any_file_is_written(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    covarep = {}
    for vid, (features, intervals) in fake.data[COVAREP_FILE].items():
        features = np.array(features, np.float32)
        features[::50, 1] = -np.inf  # -inf in every segment: the default nonfinite=error fails them all
        covarep[vid] = (features, intervals)
    write_sdk_csd(fake.files[COVAREP_FILE], COVAREP_ROOT, covarep)
    extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)

    with pytest.raises(DatasetError, match=r"'audio.covarep' has no feature for any of its 5 samples.*nonfinite=zero"):
        export_csd(tmp_path / "out", tmp_path / "back")
    assert not list((tmp_path / "back").glob("*.csd"))
    written = export_csd(tmp_path / "out", tmp_path / "back", tables=["text.words", "video.facet-41"])
    assert COVAREP_FILE not in {p.name for p in written}


def test_exporting_into_the_corpus_folder_is_refused_even_with_force(tmp_path):
    from typer.testing import CliRunner

    from mmdata.cli import app

    fake = write_mosi_csd(tmp_path / "csd")
    before = {name: path.read_bytes() for name, path in fake.files.items()}
    extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)

    result = CliRunner().invoke(app, ["export-csd", str(tmp_path / "out"), str(fake.root), "--force"])
    assert result.exit_code != 0 and "is the corpus folder" in result.output, result.output
    with pytest.raises(ConfigError, match="is the corpus folder"):
        export_csd(tmp_path / "out", tmp_path / "csd" / ".")
    assert {name: path.read_bytes() for name, path in fake.files.items()} == before


def test_the_recipe_knows_a_csd_export_is_mosi_and_warns_about_labels_outside_its_range(tmp_path, caplog):
    """A `.csd` corpus names no dataset in its kind or options; the loader recognises CMU-MOSI from the label
    file, and the export keeps that, so the recipe checks labels against [-3, 3]."""
    from mmdata.fusion import fuse, read_fused_metadata
    from mmdata.models.data import SplitArrays
    from mmdata.models.sentiment_recipe import check_sentiment_labels, metric_set_of

    fake = write_mosi_csd(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)
    fuse(tmp_path / "out", tmp_path / "fused", tables=["audio.covarep"], normalize="none")
    source = read_fused_metadata(tmp_path / "fused")["source"]
    assert source["loader"] == {"dataset": "cmu-mosi"} and metric_set_of(tmp_path / "fused") == "mosi"
    labels = np.array([-3.0, 0.5, 4.5], np.float32)
    part = SplitArrays(sample_ids=np.array(["a", "b", "c"]), features={"audio": np.zeros((3, 2), np.float32)},
                       labels=labels)
    with caplog.at_level("WARNING"):
        check_sentiment_labels(tmp_path / "fused", [part])
    assert "outside [-3, 3]" in caplog.text


def _split(ids):
    from mmdata.models.data import SplitArrays

    n = len(ids)
    return SplitArrays(sample_ids=np.array(ids), features={"audio": np.zeros((n, 1), np.float32)},
                       labels=np.zeros(n, np.float32))


def test_without_a_validation_split_whole_videos_are_held_out_for_early_stopping():
    from mmdata.models.sentiment_recipe import hold_out_rows

    ids = [f"v{v}[{k}]" for v in range(20) for k in range(5)]
    groups = np.array([i.split("[")[0] for i in ids], dtype=object)
    mask, how = hold_out_rows(_split(ids), groups, seed=3)
    held = set(groups[mask])
    assert not held & set(groups[~mask])  # no video on both sides
    assert 15 <= mask.sum() <= 30 and how == f"{len(held)} whole videos of 20"
    again, _ = hold_out_rows(_split(ids), groups, seed=3)
    assert (again == mask).all()
    one_video, how = hold_out_rows(_split(ids[:5]), groups[:5], seed=3)
    assert one_video.sum() == 1 and how.startswith("single segments: the videos are too few")


def test_the_videos_of_an_exports_rows_come_from_its_source_dataset(tmp_path):
    from mmdata.fusion import fuse
    from mmdata.models.sentiment_recipe import source_groups

    fake = write_mosi_csd(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)
    fuse(tmp_path / "out", tmp_path / "fused", tables=["audio.covarep"], normalize="none")
    ids = open_dataset(tmp_path / "out").samples_table(["sample_id"]).column(0).to_pylist()
    groups = source_groups(tmp_path / "fused", _split(ids))
    assert list(groups) == [i.split("[")[0] for i in ids]
    shutil.rmtree(tmp_path / "out")  # the source moved away: single segments, said so
    assert source_groups(tmp_path / "fused", _split(ids)) is None
