"""`fuse --labels`: auxiliary labels (CMU-MOSEI's emotions, CH-SIMS's unimodal labels) as float64 columns of
every export format, equal to what the loader kept in `extra`, through the direct and the staged pass, pooled,
padded and ragged rows, dropped and split-reordered rows; unknown names fail before anything is written, and
an export without labels keeps its layout."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion import FuseOptions, FusedDataset, collate_fused, fuse, read_fused_metadata
from mmdata.fusion.direct import can_fuse_directly, copies_make_it_direct
from mmdata.fusion.labels import AuxLabels, choose_labels, read_label_values
from mmdata.fusion.plan import plan_fusion
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from mmdata.store.manifest import Manifest
from tests.fakes.csd import frames, mmsa_split, write_mosi_csd, write_sdk_csd
from tests.fusion.export_tables import hugging_face_reads, split_table

MOSEI = ("sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear")
MOSEI_METADATA = {"dataset name": "CMU-MOSEI", "computational sequence version": "1.0"}
# Sorted sample ids interleave the splits (Zx9 < a_b-1 < q1 < r2), so the export regroups rows by split.
FOLDS = {"train": ["Zx9", "q1"], "test": ["a_b-1"], "valid": ["r2"]}
SEGMENTS = [(0.0, 2.0), (2.0, 4.0), (1.0, 3.0)]
# r2's COVAREP frames stop at 1 s: its segments [2] and [1] get no frame (a missing feature once pooled);
# a NaN in q1's first half second fails q1[0] in audio.covarep (a null feature, in any mode).
COVERED = {"Zx9": 4.0, "a_b-1": 4.0, "q1": 4.0, "r2": 1.0}
WITHOUT_AUDIO = {"r2[1]", "r2[2]", "q1[0]"}
runner = CliRunner()


def mosei_dataset(tmp_path, table_format="arrow"):
    """A CMU-MOSEI-style .csd folder (COVAREP, FACET, 7-value `All Labels`) extracted in shards of 4 samples."""
    corpus = tmp_path / "mosei"
    if not corpus.exists():
        covarep = {v: frames(d, 100, 4, i) for i, (v, d) in enumerate(COVERED.items())}
        covarep["q1"][0][50, 1] = np.nan
        write_sdk_csd(corpus / "CMU_MOSEI_COVAREP.csd", "COVAREP", covarep, MOSEI_METADATA)
        write_sdk_csd(corpus / "CMU_MOSEI_VisualFacet42.csd", "FACET 4.2",
                      {v: frames(4.0, 30, 3, 10 + i) for i, v in enumerate(COVERED)}, MOSEI_METADATA)
        rng = np.random.default_rng(7)
        write_sdk_csd(corpus / "CMU_MOSEI_Labels.csd", "All Labels", {
            v: (rng.uniform(-3, 3, (len(SEGMENTS), 7)).astype(np.float32), np.array(SEGMENTS)) for v in COVERED},
            MOSEI_METADATA)
        (corpus / "folds.json").write_text(json.dumps(FOLDS))
    out = tmp_path / f"ds-{table_format}"
    extract("csd", corpus, out, extractors=[], num_workers=0, corpus_options={"folds": "folds.json"},
            table_format=table_format, shard_size=4)
    return out


def extra_values(dataset_dir, field):
    """sample_id -> the value the loader put at `field` of the sample's `extra` (NaN where it holds none)."""
    out = {}
    for row in open_dataset(dataset_dir).samples_table(["sample_id", "extra"]).to_pylist():
        value = json.loads(row["extra"] or "{}")
        try:
            for step in field:
                value = value[step]
        except (KeyError, IndexError, TypeError):
            value = None
        out[row["sample_id"]] = np.nan if value is None else value
    return out


def mosei_expected(dataset_dir, names):
    """sample_id -> {column: value} of the MOSEI labels `names`, from extra["labels"]."""
    columns = {f"label_{n}": extra_values(dataset_dir, ["labels", MOSEI.index(n)]) for n in names}
    ids = next(iter(columns.values()))
    return {sid: {c: values[sid] for c, values in columns.items()} for sid in ids}


def export_rows(out, fmt):
    """split -> rows of the export in file order (dicts of every column but the feature), in any format."""
    meta = read_fused_metadata(out)
    tables = {}
    for split, files in meta["files"].items():
        if fmt == "npy":
            tables[split] = pq.read_table(out / split / "index.parquet").drop_columns(["row"])
        else:
            tables[split] = split_table(out, fmt, split, files)
    return {split: [{k: v for k, v in r.items() if k != "feature"} for r in t.to_pylist()] for split, t in tables.items()}


def assert_rows_hold(rows, expected, columns):
    """Every exported row holds the expected values of `columns` (null where NaN is expected)."""
    for row in rows:
        for column in columns:
            want = expected[row["sample_id"]][column]
            assert (row[column] is None) if np.isnan(want) else row[column] == want, (row["sample_id"], column)


@pytest.mark.parametrize("fmt", ["parquet", "arrow", "hf", "npy"])
def test_every_mosei_label_is_exported_per_sample_in_every_format(tmp_path, fmt):
    ds = mosei_dataset(tmp_path)
    report = fuse(ds, tmp_path / "out", labels="all", missing="drop", format=fmt)
    columns = [f"label_{n}" for n in MOSEI]
    assert report.labels == columns and report.dropped == len(WITHOUT_AUDIO)
    meta = read_fused_metadata(tmp_path / "out")
    assert meta["labels"] == {"names": list(MOSEI), "columns": columns}
    assert meta["columns"][:3 + len(MOSEI)] == ["sample_id", "split", "label", *columns]
    expected = mosei_expected(ds, MOSEI)
    rows = export_rows(tmp_path / "out", fmt)
    exported = {r["sample_id"]: split for split, split_rows in rows.items() for r in split_rows}
    assert exported == {f"{v}[{i}]": s for s, vids in FOLDS.items() for v in vids for i in range(3)
                        if f"{v}[{i}]" not in WITHOUT_AUDIO}  # dropped samples take their labels with them
    for split_rows in rows.values():
        assert_rows_hold(split_rows, expected, columns)
        assert all(r["label"] == r["label_sentiment"] for r in split_rows)  # `label` is the row's first value


@pytest.mark.parametrize("missing", ["zero", "drop"])
@pytest.mark.parametrize("sequences", ["pool", "pad", "ragged"])
def test_the_direct_and_the_staged_pass_export_the_same_labels(tmp_path, sequences, missing):
    """Pooled rows of mapped tables take the direct pass, of decoded sequences the staged one; padded and
    ragged rows are always staged (from either table format)."""
    mapped, decoded = mosei_dataset(tmp_path, "arrow"), mosei_dataset(tmp_path, "parquet")
    options = FuseOptions(labels="happy,fear", missing=missing, sequences=sequences, format="arrow",
                          tables=None if sequences == "pool" else ("audio.covarep",))
    if sequences == "pool":
        assert can_fuse_directly(plan_fusion(open_dataset(mapped), options))
        plan = plan_fusion(open_dataset(decoded), options)
        assert not can_fuse_directly(plan) and not copies_make_it_direct(plan)
    fuse(mapped, tmp_path / "direct", options)
    fuse(decoded, tmp_path / "staged", options)
    direct, staged = export_rows(tmp_path / "direct", "arrow"), export_rows(tmp_path / "staged", "arrow")
    assert direct == staged  # ids, order, splits, labels, presence, lengths
    exported = {r["sample_id"] for rows in direct.values() for r in rows}
    assert ("q1[0]" in exported) == (missing == "zero")
    assert_rows_hold([r for rows in direct.values() for r in rows], mosei_expected(mapped, ("happy", "fear")),
                     ["label_happy", "label_fear"])
    for split in direct:
        a = pa.ipc.open_file(pa.memory_map(str(tmp_path / "direct" / "data" / f"{split}.arrow"))).read_all()
        b = pa.ipc.open_file(pa.memory_map(str(tmp_path / "staged" / "data" / f"{split}.arrow"))).read_all()
        assert a.schema.equals(b.schema)
        np.testing.assert_allclose(feature_values(a), feature_values(b), rtol=1e-5, atol=1e-5)


def feature_values(table):
    """Every float of a `feature` column, pooled, padded or ragged, in row order."""
    values = table.column("feature").combine_chunks()
    while not pa.types.is_floating(values.type):
        values = values.flatten()
    return values.to_numpy()


@pytest.mark.parametrize(("fmt", "sequences"), [("arrow", "pool"), ("hf", "pad"), ("npy", "ragged"), ("npy", "pool")])
def test_a_two_worker_data_loader_yields_the_labels_in_the_order_of_their_names(tmp_path, fmt, sequences):
    ds = mosei_dataset(tmp_path)
    fuse(ds, tmp_path / "out", labels=["fear", "label_happy"], missing="zero", format=fmt, sequences=sequences,
         tables=None if sequences == "pool" else ("audio.covarep",))
    expected = mosei_expected(ds, ("fear", "happy"))
    for split in FOLDS:
        data = FusedDataset(tmp_path / "out", split)
        assert data.label_names == ("fear", "happy") and data.label_columns == ("label_fear", "label_happy")
        item = data[0]
        assert item["labels"].dtype == torch.float32 and item["labels"].shape == (2,)
        loader = DataLoader(data, batch_size=2, shuffle=True, num_workers=2, collate_fn=collate_fused,
                            multiprocessing_context="fork")
        seen = []
        for batch in loader:
            assert batch["labels"].dtype == torch.float32 and batch["labels"].shape == (len(batch["sample_id"]), 2)
            for sample_id, values in zip(batch["sample_id"], batch["labels"].tolist()):
                want = expected[sample_id]
                assert values == [np.float32(want["label_fear"]), np.float32(want["label_happy"])]
                seen.append(sample_id)
        assert sorted(seen) == sorted(f"{v}[{i}]" for v in FOLDS[split] for i in range(3))


def test_hugging_face_reads_the_label_columns_of_the_parquet_and_hf_exports_as_float64(tmp_path):
    import datasets

    ds = mosei_dataset(tmp_path)
    fuse(ds, tmp_path / "pq", labels="sad,anger", missing="zero")
    fuse(ds, tmp_path / "hf", labels="sad,anger", missing="zero", format="hf")
    loaded = hugging_face_reads(tmp_path / "pq", tmp_path / "hf", tmp_path / "cache")
    expected = mosei_expected(ds, ("sad", "anger"))
    pyarrow_rows = export_rows(tmp_path / "pq", "parquet")
    for how, splits in loaded.items():
        for split in FOLDS:
            features = splits[split].features
            assert features["label_sad"] == datasets.Value("float64") == features["label_anger"], how
            rows = [{k: v for k, v in r.items() if k != "feature"} for r in splits[split].to_list()]
            assert rows == pyarrow_rows[split], how
            assert_rows_hold(rows, expected, ["label_sad", "label_anger"])


def write_sims(root, drop_video_of=None):
    """A CH-SIMS-style MMSA pickle: unimodal labels label_T/A/V, the test split without label_V, ids that
    interleave the splits once sorted; `drop_video_of` (split, row) gets no vision step (a missing feature)."""
    data = {split: mmsa_split(split, n, seed) for seed, (split, n) in enumerate({"train": 3, "valid": 1, "test": 2}.items())}
    videos = {"train": (1, 2, 4), "valid": (0,), "test": (3, 5)}  # sorted: valid, train, train, test, train, test
    for split, part in data.items():
        n = len(part["id"])
        part["id"] = [f"video_{k:04d}$_$0001" for k in videos[split]]
        rng = np.random.default_rng(len(split))
        for modality in "TAV" if split != "test" else "TA":
            part[f"regression_labels_{modality}"] = rng.uniform(-1, 1, n).astype(np.float32)
    if drop_video_of is not None:
        split, row = drop_video_of
        data[split]["vision_lengths"][row] = 0
    (root / "Processed").mkdir(parents=True, exist_ok=True)
    (root / "Processed" / "unaligned_39.pkl").write_bytes(pickle.dumps(data))
    return data


@pytest.mark.parametrize("table_format", ["arrow", "parquet"])
@pytest.mark.parametrize("missing", ["zero", "drop"])
def test_ch_sims_unimodal_labels_are_exported_null_where_a_sample_has_none(tmp_path, table_format, missing):
    data = write_sims(tmp_path / "sims", drop_video_of=("train", 1))
    dropped = data["train"]["id"][1]
    extract("mmsa", tmp_path / "sims", tmp_path / "ds", extractors=[], num_workers=0, shard_size=2,
            table_format=table_format, corpus_options={"dataset": "ch-sims"})
    columns = ["label_T", "label_A", "label_V"]
    report = fuse(tmp_path / "ds", tmp_path / "out", labels="all", missing=missing, format="npy",
                  tables=("audio.mmsa", "video.mmsa", "text.mmsa"))
    assert report.labels == columns
    values = {c: extra_values(tmp_path / "ds", [c]) for c in columns}
    expected = {sid: {c: values[c][sid] for c in columns} for sid in values["label_T"]}
    assert all(np.isnan(expected[sid]["label_V"]) for sid in data["test"]["id"])
    rows = export_rows(tmp_path / "out", "npy")
    exported = sorted(r["sample_id"] for split_rows in rows.values() for r in split_rows)
    assert exported == sorted(set(expected) - ({dropped} if missing == "drop" else set()))
    for split, split_rows in rows.items():
        assert_rows_hold(split_rows, expected, columns)
        items = FusedDataset(tmp_path / "out", split)[:]
        assert [i["sample_id"] for i in items] == [r["sample_id"] for r in split_rows]
        for item in items:
            want = [expected[item["sample_id"]][c] for c in columns]
            np.testing.assert_array_equal(item["labels"].numpy(), np.array(want, np.float32))  # NaN where none


@pytest.mark.parametrize("via", ["library", "cli"])
def test_an_unknown_label_fails_listing_the_dataset_s_labels_and_writes_nothing(tmp_path, via):
    ds = mosei_dataset(tmp_path)
    exports = tmp_path / "exports"
    listed = "unknown label 'joy'; dataset .* has the labels " + str(list(MOSEI)).replace("[", r"\[").replace("]", r"\]")
    if via == "library":
        with pytest.raises(ConfigError, match=listed):
            fuse(ds, exports / "out", labels="happy,joy", format="hf")
    else:
        result = runner.invoke(app, ["fuse", str(ds), str(exports / "out"), "--labels", "happy,joy"])
        assert result.exit_code == 2 and "Traceback" not in result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: unknown label 'joy'") and "'fear'" in lines[0]
    assert not exports.exists() or not any(exports.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("ds-")) in (["mosei"], ["exports", "mosei"])


def test_labels_from_a_dataset_whose_loader_named_none_are_refused(tmp_path):
    write_mosi_csd(tmp_path / "mosi")  # one sentiment value per segment: nothing beside `label`
    extract("csd", tmp_path / "mosi", tmp_path / "ds", extractors=[], num_workers=0)
    with pytest.raises(ConfigError, match=r"names no auxiliary labels .*fuse without --labels"):
        fuse(tmp_path / "ds", tmp_path / "out", labels="all")
    assert not (tmp_path / "out").exists()


def test_an_export_without_labels_keeps_its_layout_and_labels_add_only_their_columns(tmp_path):
    ds = mosei_dataset(tmp_path)
    fuse(ds, tmp_path / "plain", missing="zero", format="arrow")
    fuse(ds, tmp_path / "labelled", missing="zero", format="arrow", labels="surprise")
    plain = pa.ipc.open_file(pa.memory_map(str(tmp_path / "plain" / "data" / "train.arrow"))).read_all()
    labelled = pa.ipc.open_file(pa.memory_map(str(tmp_path / "labelled" / "data" / "train.arrow"))).read_all()
    assert plain.schema.names == ["sample_id", "split", "label", "feature", "present"]
    hf = json.loads(plain.schema.metadata[b"huggingface"])["info"]["features"]
    assert list(hf) == ["sample_id", "split", "label", "feature", "present"]
    assert "labels" not in read_fused_metadata(tmp_path / "plain")
    assert labelled.schema.names == ["sample_id", "split", "label", "label_surprise", "feature", "present"]
    assert labelled.schema.field("label_surprise").type == pa.float64()
    assert labelled.drop_columns(["label_surprise"]).equals(plain)
    data = FusedDataset(tmp_path / "plain", "train")
    assert data.label_names == () and "labels" not in data[0] and "labels" not in collate_fused(data[:2])


def test_cli_exports_the_named_labels_and_says_so(tmp_path):
    ds = mosei_dataset(tmp_path)
    result = runner.invoke(app, ["fuse", str(ds), str(tmp_path / "out"), "--format", "npy", "--missing", "zero",
                                 "--labels", "happy", "--labels", "disgust"])
    assert result.exit_code == 0, result.output
    assert "labels: label_happy, label_disgust" in result.stdout
    index = pq.read_table(tmp_path / "out" / "train" / "index.parquet")
    assert index.schema.names == ["sample_id", "split", "label", "label_happy", "label_disgust", "row"]
    assert_rows_hold(index.to_pylist(), mosei_expected(ds, ("happy", "disgust")), ["label_happy", "label_disgust"])


def _manifest(names, fields=None):
    loader = {"label_names": names, "label_fields": fields or {n: ["labels", i] for i, n in enumerate(names)}}
    return Manifest(corpus={"kind": "csd"}, samples={}, extra={"loader": loader})


def test_label_columns_are_label_underscore_name_and_two_labels_in_one_column_are_refused():
    chosen = choose_labels(_manifest(["happy", "label_T", "label_0"]), "all", "ds")
    assert chosen.columns == ("label_happy", "label_T", "label_0")
    by_column = choose_labels(_manifest(["happy", "sad"]), ("label_sad", "happy", "sad"), "ds")
    assert by_column.names == ("sad", "happy") and by_column.fields == (("labels", 1), ("labels", 0))
    with pytest.raises(ConfigError, match=r"labels \['T', 'label_T'\] would both become column 'label_T'"):
        choose_labels(_manifest(["T", "label_T"]), "all", "ds")
    assert choose_labels(_manifest(["happy"]), None, "ds") is None


def test_label_values_read_from_extra_are_nan_where_a_sample_has_none_and_a_non_number_names_its_sample():
    """One Arrow parse reads the column; a row Arrow cannot read as the fields say (here `labels` holding a
    number) sends every row through Python's parse, which reads the same values, or names a wrong sample."""
    labels = AuxLabels(("happy", "last", "label_T"), ("label_happy", "label_last", "label_T"),
                       (("labels", 1), ("labels", -1), ("label_T",)))
    rows = ['{"labels": [0.5, 1.5, 2.5], "label_T": -1, "words": [["a", 0, 1]]}', None, '{"labels": [0.5]}',
            '{"labels": null, "label_T": null}', '{"labels": [1, null, NaN]}', '{"label_T": 0.25}']
    expected = np.array([[1.5, 2.5, -1.0], [np.nan] * 3, [np.nan, 0.5, np.nan], [np.nan] * 3, [np.nan] * 3,
                         [np.nan, np.nan, 0.25]])
    ids = pa.array([f"s{i}" for i in range(len(rows) + 1)])
    np.testing.assert_array_equal(read_label_values(pa.array(rows), ids[:-1], labels), expected)
    by_rows = read_label_values(pa.chunked_array([rows[:3], [*rows[3:], '{"labels": 3}']]), ids, labels)
    np.testing.assert_array_equal(by_rows, np.vstack([expected, [np.nan, np.nan, np.nan]]))
    with pytest.raises(DatasetError, match=r"sample 's1': label 'label_T' \(extra\['label_T'\]\) is 'high', expected a number"):
        read_label_values(pa.array([rows[0], '{"label_T": "high"}']), ids[:2], labels)
    assert read_label_values(pa.array([], pa.string()), ids[:0], labels).shape == (0, 3)


def test_an_infinite_label_stops_fuse_naming_the_sample_and_the_label():
    from mmdata.fusion.labels import AuxLabels, read_label_values

    labels = AuxLabels(("happy", "fear"), ("label_happy", "label_fear"), (("labels", 1), ("labels", 6)))
    extra = pa.array(['{"labels": [0, 1, 0, 0, 0, 0, 2]}', '{"labels": [0, 1, 0, 0, 0, 0, Infinity]}'])
    with pytest.raises(DatasetError, match=r"sample 'b': label 'fear' is inf, expected a finite number \(1 such"):
        read_label_values(extra, pa.array(["a", "b"]), labels)
    values = read_label_values(extra.slice(0, 1), pa.array(["a"]), labels)
    assert values.tolist() == [[1.0, 2.0]]
