"""csd -> dataset -> export-csd -> read back, and the `align` / `export-csd` commands."""
from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.formats.csd import CsdFile
from mmdata.formats.csd_export import export_csd
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import COVAREP_FILE, COVAREP_ROOT, LABELS_FILE, LABELS_ROOT, frames, write_mosi_csd, write_sdk_csd

runner = CliRunner()


def read_all(path):
    with CsdFile(path) as csd:
        return csd.root_name, csd.metadata, {vid: csd.read(vid) for vid in csd.video_ids}


def test_video_level_round_trip_gives_back_the_same_files(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    extract("csd", fake.root, tmp_path / "out", extractors=[], shard_size=2, num_workers=0)
    result = runner.invoke(app, ["export-csd", str(tmp_path / "out"), str(tmp_path / "back")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "back").iterdir()) == sorted(fake.files)
    for name, path in fake.files.items():
        root, metadata, data = read_all(path)
        root2, metadata2, data2 = read_all(tmp_path / "back" / name)
        assert root2 == root and set(data2) == set(data)
        assert {k: v for k, v in metadata2.items() if k in metadata} == metadata
        for vid, entry in data.items():
            assert np.array_equal(data2[vid].features, entry.features), (name, vid)
            assert data2[vid].features.dtype.kind == entry.features.dtype.kind
            assert np.array_equal(data2[vid].intervals, entry.intervals)


def test_segment_dataset_exports_sdk_aligned_keys_and_labels_and_reimports_equal(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)
    runner.invoke(app, ["export-csd", str(tmp_path / "out"), str(tmp_path / "back")], catch_exceptions=False)
    root, _, labels = read_all(tmp_path / "back" / LABELS_FILE)
    _, _, original = read_all(fake.files[LABELS_FILE])
    assert root == LABELS_ROOT and set(labels) == set(original)
    for vid in original:
        assert np.array_equal(labels[vid].features, original[vid].features)
        assert np.array_equal(labels[vid].intervals, original[vid].intervals)
    with CsdFile(tmp_path / "back" / "CMU_MOSI_COVAREP.csd") as csd:
        assert csd.video_ids == ["abc[0]", "abc[1]", "abcd[0]", "x9Y_z-1[0]", "x9Y_z-1[1]"]
    extract("csd", tmp_path / "back", tmp_path / "again", extractors=[], num_workers=0)
    first, second = open_dataset(tmp_path / "out"), open_dataset(tmp_path / "again")
    columns = ["sample_id", "group_id", "start", "end", "label", "transcript", "extra"]
    assert first.samples_table(columns).equals(second.samples_table(columns))
    for name in first.table_names:
        assert first.table(name).to_table().select(["sample_id", "feature", "intervals"]).equals(
            second.table(name).to_table().select(["sample_id", "feature", "intervals"])), name


def test_sdk_aligned_labels_export_as_they_came_and_reload_with_the_same_ids(tmp_path):
    indices = [i for i in range(13) if i != 5]  # keys v[0] .. v[12] without v[5], as the SDK's align leaves them
    labels = {f"v[{i}]": (np.array([[i / 4]], np.float32), np.array([[float(i), i + 1.0]])) for i in indices}
    write_sdk_csd(tmp_path / "csd" / LABELS_FILE, LABELS_ROOT, labels)
    write_sdk_csd(tmp_path / "csd" / COVAREP_FILE, COVAREP_ROOT, {"v": frames(14.0, 10, 2, seed=0)})
    extract("csd", tmp_path / "csd", tmp_path / "out", extractors=[], num_workers=0)
    export_csd(tmp_path / "out", tmp_path / "back")
    _, _, exported = read_all(tmp_path / "back" / LABELS_FILE)
    assert list(exported) == list(labels)  # one key of one row per segment, in numeric order
    for key, (values, intervals) in labels.items():
        assert exported[key].features.tolist() == values.tolist() and exported[key].intervals.tolist() == intervals.tolist()
    extract("csd", tmp_path / "back", tmp_path / "again", extractors=[], num_workers=0)
    columns = ["sample_id", "start", "end", "label", "extra"]
    first, second = open_dataset(tmp_path / "out"), open_dataset(tmp_path / "again")
    assert second.samples_table(columns).equals(first.samples_table(columns))
    assert sorted(second.samples_table(["sample_id"]).column("sample_id").to_pylist()) == sorted(labels)
    assert first.table("audio.covarep").to_table().select(["sample_id", "feature", "intervals"]).equals(
        second.table("audio.covarep").to_table().select(["sample_id", "feature", "intervals"]))


def test_cli_extract_align_info_and_export(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract", "csd", str(fake.root), str(out), "--text", "hashed-bow", "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    assert "table audio.covarep: 5 rows, 0 failed" in result.output
    result = runner.invoke(app, ["align", str(out), "--reference", "text.words", "--collapse", "max",
                                 "--on-missing", "impute", "--skip-pauses"])
    assert result.exit_code == 0, result.output
    assert "reference text.words: 14 intervals, 10 aligned, 0 dropped (no overlap), 4 skipped" in result.output
    assert "table audio.covarep@text.words: 5 rows, 0 failed" in result.output
    info = json.loads(runner.invoke(app, ["info", str(out), "--json"]).stdout)
    tables = {t["name"]: t for t in info["tables"]}
    assert {"audio.covarep", "text.words", "video.facet-41", "text.hashed-bow", "audio.covarep@text.words",
            "video.facet-41@text.words", "text.words@text.words"} <= set(tables)
    assert tables["audio.covarep@text.words"]["extractor"] == "align"
    assert tables["audio.covarep"]["kind"] == "sequence" and tables["audio.covarep"]["frame_rate"] == 100.0
    result = runner.invoke(app, ["export-csd", str(out), str(tmp_path / "csd2"), "--table", "audio.covarep@text.words"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "csd2").iterdir()) == ["CMU_MOSI_Opinion_Labels.csd",
                                                                    "audio.covarep@text.words.csd"]
    with CsdFile(tmp_path / "csd2" / "audio.covarep@text.words.csd") as csd:
        # the SDK's aligned form: one key per aligned word, numbered by the reference's intervals
        # (pauses skipped by --skip-pauses leave gaps), one row each
        assert csd.root_name == "audio.covarep@text.words"
        aligned = open_dataset(out).table("audio.covarep@text.words").to_table()
        keys = [k for row in aligned.column("keys").to_pylist() for k in row or []]
        assert sorted(csd.video_ids) == sorted(keys) and len(keys) == 10
        values = [v for row in aligned.column("feature").to_pylist() for v in row]
        for key, value in zip(keys, values):
            record = csd.read(key)
            assert record.features.shape == (1, 4)
            np.testing.assert_array_equal(record.features[0], np.asarray(value, np.float32))
    bad = runner.invoke(app, ["align", str(out), "--reference", "text.hashed-bow"])
    assert bad.exit_code == 2 and "error: reference 'text.hashed-bow' is not a temporal table" in bad.output


def test_word_embeddings_from_csd_words_share_the_word_intervals_and_align(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "out", extractors=["word-embeddings:method=hashed,dim=16"], num_workers=0)
    data = open_dataset(tmp_path / "out")
    name = next(n for n in data.table_names if n.startswith("text.word-embeddings"))
    embedded = data.table(name).to_table().to_pylist()
    words = data.table("text.words").to_table().to_pylist()
    assert [r["intervals"] for r in embedded] == [r["intervals"] for r in words]
    from mmdata.alignment.dataset import align_dataset

    report = align_dataset(tmp_path / "out", name, tables=["audio.covarep"])
    assert report.kept == report.intervals == 14


def test_a_table_whose_folder_is_gone_fails_before_any_file_is_written(tmp_path):
    import shutil

    import pytest

    from mmdata.errors import DatasetError
    from mmdata.store import layout

    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    extract("csd", fake.root, tmp_path / "out", extractors=[], shard_size=2, num_workers=0)
    data = open_dataset(tmp_path / "out")
    gone = data.table_names[-1]
    shutil.rmtree(layout.feature_dir(data.root, gone))
    with pytest.raises(DatasetError, match=rf"table '{gone}': .* has no finished shards, while mmdata.json lists the table"):
        export_csd(data.root, tmp_path / "back")
    assert not (tmp_path / "back").exists()


def test_a_dataset_without_sequences_or_labels_is_an_error_not_an_empty_export(tmp_path):
    import pytest

    from mmdata.errors import DatasetError
    from tests.sample_corpus import copy_sample_corpus

    coco = copy_sample_corpus("coco", tmp_path)
    extract("coco", coco, tmp_path / "out", extractors=["pixel-stats"], num_workers=0)
    with pytest.raises(DatasetError, match=r"no sequence table with intervals and no labels: nothing to export"):
        export_csd(tmp_path / "out", tmp_path / "back")


def test_samples_without_a_feature_are_named_when_their_table_is_exported(tmp_path, caplog):
    fake = write_mosi_csd(tmp_path / "csd")
    data = dict(fake.data[COVAREP_FILE])
    features, intervals = data["abc"]
    features = np.array(features, np.float32)
    features[0, 0] = np.nan  # the loader's default non-finite policy fails the segments of abc in this table
    data["abc"] = (features, intervals)
    write_sdk_csd(fake.files[COVAREP_FILE], COVAREP_ROOT, data)
    extract("csd", fake.root, tmp_path / "out", extractors=[], num_workers=0)
    failed = [r["sample_id"] for r in open_dataset(tmp_path / "out").errors().to_pylist()]
    assert failed
    with caplog.at_level("WARNING", logger="mmdata.formats.csd_export"):
        export_csd(tmp_path / "out", tmp_path / "back")
    [message] = [r.getMessage() for r in caplog.records if r.name == "mmdata.formats.csd_export"]
    assert f"{len(set(failed))} samples have no feature in table audio.covarep" in message and failed[0] in message
