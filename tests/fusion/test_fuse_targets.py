"""`fuse --targets TABLE`: a feature table (event-targets' frame targets) exported as a `targets` column beside
the fused `feature`, shaped like it (pooled, padded, ragged) but of the targets' dim, never normalized, pooled by
max over frames; every format and `FusedDataset`/`collate_fused` carry it, fused.json records it apart from the
features, and options naming it twice, a table that is not there or steps that do not match are refused."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from torch.utils.data import DataLoader

from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError
from mmdata.fusion import FusedDataset, collate_fused, fuse, read_fused_metadata
from mmdata.store.reader import open_dataset
from tests.checks.builder import build_dataset, image_text_samples, pooled_table
from tests.features.test_event_targets_end_to_end import BAD, CLASSES, ROWS, extract, runner, write_corpus

TARGETS = "audio.event-targets"
FRAMES = "audio.torchaudio-logmel@audio.event-targets"  # aligned to the targets' steps: 20/10/20
UNALIGNED = "audio.torchaudio-logmel"
STEPS = {"speech-music": 20, "dog-segment": 10, "quiet": 20}
FORMATS = ("parquet", "arrow", "hf", "npy")


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    """The three clips with event targets and log-mel frames, the frames also aligned to the targets' grid."""
    root = tmp_path_factory.mktemp("events")
    corpus, out = write_corpus(root / "corpus", ROWS), root / "out"
    made = extract(corpus, out, f"event-targets:classes={corpus / 'classes.txt'}", "torchaudio-logmel:n_mels=16")
    assert made.exit_code == 0, made.output
    aligned = runner.invoke(app, ["align", str(out), "--reference", TARGETS, "-t", UNALIGNED])
    assert aligned.exit_code == 0, aligned.output
    return out


@pytest.fixture(scope="module")
def with_typo(tmp_path_factory):
    """The clips plus one whose event class is unknown: it has log-mel frames but no targets (its extraction
    failed). Two audio tables only: the frames and the targets."""
    root = tmp_path_factory.mktemp("typo")
    corpus, out = write_corpus(root / "corpus", {**ROWS, **BAD}), root / "out"
    made = extract(corpus, out, f"event-targets:classes={corpus / 'classes.txt'}", "torchaudio-logmel:n_mels=16")
    assert made.exit_code == 0 and "1 failed" in made.output, made.output
    return out


def table_rows(dataset, name) -> dict[str, np.ndarray | None]:
    """sample_id -> the table's feature as stored ((T, C) for sequences), None where extraction failed."""
    rows = open_dataset(dataset).table(name).to_table().to_pylist()
    return {r["sample_id"]: None if r["feature"] is None else np.array(r["feature"], np.float32) for r in rows}


def export(dataset, out, fmt="parquet", sequences="pool", targets=TARGETS, **options):
    options.setdefault("tables", FRAMES)
    return fuse(dataset, out, format=fmt, sequences=sequences, targets=targets, stats_splits="all", **options)


def read_rows(out, split="all") -> dict[str, dict]:
    """sample_id -> the export's row: feature, targets (as numpy), length, present; Parquet through pyarrow,
    the other formats through FusedDataset and collate_fused (one batch of every row)."""
    meta = read_fused_metadata(out)
    if meta["format"] == "parquet":
        table = pa.concat_tables([pq.read_table(out / f) for f in meta["files"][split]])
        rows = table.to_pylist()
        for row in rows:
            row["feature"] = np.array(row["feature"], np.float32)
            if "targets" in row:
                row["targets"] = np.array(row["targets"], np.float32)
        return {r["sample_id"]: r for r in rows}
    data = FusedDataset(out, split)
    batch = collate_fused(data[list(range(len(data)))])
    return batch_rows(batch)


def batch_rows(batch) -> dict[str, dict]:
    out = {}
    for i, sample_id in enumerate(batch["sample_id"]):
        row = {name: batch[name][i].numpy() for name in ("feature", "targets", "present", "length") if name in batch}
        out[sample_id] = {**row, "length": int(row["length"]) if "length" in row else None}
    return out


def assert_targets_match(rows, reference, sequences, max_length=None):
    """Each row's targets against the targets table: pooled, the max over frames; kept, the first `length`
    steps equal the table's (cut at max_length), zeros after."""
    assert set(rows) == set(reference)
    for sample_id, row in rows.items():
        frames, got = reference[sample_id], row["targets"]
        assert got.dtype == np.float32 and got.shape[-1] == frames.shape[1] == len(CLASSES)
        if sequences == "pool":
            np.testing.assert_array_equal(got, frames.max(axis=0))
            continue
        length = min(len(frames), max_length or len(frames))
        assert row["length"] == length
        np.testing.assert_array_equal(got[:length], frames[:length])
        assert not got[length:].any()


@pytest.mark.parametrize("sequences", ["pool", "pad", "ragged"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_targets_sit_beside_an_unchanged_feature_in_every_format(events, tmp_path, fmt, sequences):
    report = export(events, tmp_path / "t", fmt, sequences)
    export(events, tmp_path / "plain", fmt, sequences, targets=None)
    assert (report.targets, report.target_dim, report.dim, report.tables) == (TARGETS, 3, 16, [FRAMES])
    rows, plain = read_rows(tmp_path / "t"), read_rows(tmp_path / "plain")
    assert_targets_match(rows, table_rows(events, TARGETS), sequences)
    assert set(rows) == set(plain) == set(STEPS)
    for sample_id, row in rows.items():
        assert "targets" not in plain[sample_id]
        np.testing.assert_array_equal(row["feature"], plain[sample_id]["feature"])
        assert row["feature"].shape[:-1] == row["targets"].shape[:-1] and row["feature"].shape[-1] == 16
        if sequences != "pool":
            assert row["length"] == plain[sample_id]["length"] == STEPS[sample_id]
    meta, plain_meta = read_fused_metadata(tmp_path / "t"), read_fused_metadata(tmp_path / "plain")
    assert meta["normalization"] == plain_meta["normalization"]  # the feature's statistics, no targets' ones
    if fmt == "npy":
        features, targets = (np.load(tmp_path / "t" / "all" / f"{n}.npy") for n in ("features", "targets"))
        assert targets.dtype == np.float32 and targets.shape == features.shape[:-1] + (3,)
        assert not (tmp_path / "plain" / "all" / "targets.npy").exists()


def test_targets_pool_to_their_max_over_frames_whatever_the_feature_pooling(events, tmp_path):
    export(events, tmp_path / "mean", pool="mean")
    rows = read_rows(tmp_path / "mean")
    reference = table_rows(events, TARGETS)
    assert_targets_match(rows, reference, "pool")
    np.testing.assert_array_equal(rows["speech-music"]["targets"], [1, 0, 1])
    np.testing.assert_array_equal(rows["dog-segment"]["targets"], [0, 1, 0])
    np.testing.assert_array_equal(rows["quiet"]["targets"], [0, 0, 0])
    assert read_fused_metadata(tmp_path / "mean")["targets"]["pool"] == "max"


def test_padded_targets_follow_max_length_and_trim_with_the_feature(events, tmp_path):
    export(events, tmp_path / "cut", "arrow", "pad", max_length=5)
    assert_targets_match(read_rows(tmp_path / "cut"), table_rows(events, TARGETS), "pad", max_length=5)
    export(events, tmp_path / "pad", "arrow", "pad")
    data = FusedDataset(tmp_path / "pad", "all")
    ids = [data[i]["sample_id"] for i in range(len(data))]
    dog = ids.index("dog-segment")
    item = data[dog]
    assert item["targets"].shape == (20, 3) and data.targets_table == TARGETS and data.target_names == CLASSES
    trimmed = collate_fused(data[[dog]], trim=True)
    assert trimmed["feature"].shape == (1, 10, 16) and trimmed["targets"].shape == (1, 10, 3)
    np.testing.assert_array_equal(trimmed["targets"][0].numpy(), table_rows(events, TARGETS)["dog-segment"])
    both = collate_fused(data[[dog, ids.index("quiet")]], trim=True)
    assert both["targets"].shape == (2, 20, 3) and both["mask"].shape == (2, 20)


@pytest.mark.parametrize("sequences", ["pad", "ragged"])
def test_a_dataloader_with_workers_reads_the_same_targets(events, tmp_path, sequences):
    export(events, tmp_path / "out", "arrow", sequences)
    loader = DataLoader(FusedDataset(tmp_path / "out", "all"), batch_size=2, num_workers=2, collate_fn=collate_fused)
    rows = {}
    for batch in loader:
        assert batch["targets"].shape[:2] == batch["feature"].shape[:2]
        rows.update(batch_rows(batch))
    assert_targets_match(rows, table_rows(events, TARGETS), sequences)
    for sample_id, row in read_rows(tmp_path / "out").items():  # one batch in this process: the same steps
        length = row["length"]
        np.testing.assert_array_equal(rows[sample_id]["targets"][:length], row["targets"][:length])


@pytest.mark.parametrize("sequences", ["pool", "pad", "ragged"])
def test_hugging_face_reads_give_targets_the_feature_type_of_dim_c(events, tmp_path, sequences):
    import datasets

    export(events, tmp_path / "pq", "parquet", sequences)
    export(events, tmp_path / "hf", "hf", sequences)
    expected = read_rows(tmp_path / "pq")
    vector = datasets.List(datasets.Value("float32"), length=3)
    want = {"pool": vector, "pad": datasets.List(vector, length=20), "ragged": datasets.List(vector)}[sequences]
    files = [str(tmp_path / "pq" / f) for f in read_fused_metadata(tmp_path / "pq")["files"]["all"]]
    reads = {"load_from_disk": datasets.load_from_disk(str(tmp_path / "hf"))["all"],  # `all`: no load_dataset split
             "load_dataset": datasets.load_dataset("parquet", data_files={"rows": files},
                                                   cache_dir=str(tmp_path / "cache"))["rows"]}
    for how, data in reads.items():
        features = data.features
        assert features["targets"] == want, how
        feature = features["feature"] if sequences == "pool" else features["feature"].feature
        assert feature == datasets.List(datasets.Value("float32"), length=16), how
        for row in data:
            np.testing.assert_array_equal(np.array(row["targets"], np.float32), expected[row["sample_id"]]["targets"])


def test_fused_json_records_the_targets_apart_from_the_features(events, tmp_path):
    export(events, tmp_path / "out", sequences="pad")
    meta = read_fused_metadata(tmp_path / "out")
    assert meta["dim"] == 16 and meta["tables"] == [FRAMES] and meta["modalities"] == ["audio"]
    assert meta["slices"] == {FRAMES: [0, 16]} and list(meta["normalization"]["tables"]) == [FRAMES]
    record = meta["targets"]
    assert {k: record[k] for k in ("table", "dim", "kind", "frame_rate", "pool")} == \
        {"table": TARGETS, "dim": 3, "kind": "sequence", "frame_rate": 10.0, "pool": None}
    assert record["classes"] == list(CLASSES)
    assert record["classes_file"]["count"] == 3 and record["classes_file"]["path"].endswith("classes.txt")
    assert "targets" in meta["columns"] and meta["columns"].index("targets") == meta["columns"].index("feature") + 1


def test_target_names_are_null_once_the_classes_file_holds_other_names(events, tmp_path):
    classes = events.parent / "corpus" / "classes.txt"
    before = classes.read_text(encoding="utf-8")
    try:
        classes.write_text("Music\nDog\nSpeech\n", encoding="utf-8")  # the same names, other columns
        report = export(events, tmp_path / "out", "arrow")
        assert report.targets == TARGETS
        meta = read_fused_metadata(tmp_path / "out")
        assert meta["targets"]["classes"] is None and meta["targets"]["classes_file"]["count"] == 3
        data = FusedDataset(tmp_path / "out", "all")
        assert data.target_names == () and data.targets_table == TARGETS and data[0]["targets"].shape == (3,)
    finally:
        classes.write_text(before, encoding="utf-8")


def test_pooled_targets_table_is_exported_as_is_never_normalized(tmp_path):
    samples = image_text_samples()
    root = build_dataset(tmp_path / "ds", samples, [pooled_table("image.a", samples, 4),
                                                    pooled_table("text.t", samples, 3, seed=5)])
    report = fuse(root, tmp_path / "out", targets="text.t", format="npy")  # z-score from train by default
    fuse(root, tmp_path / "plain", tables="image", format="npy")
    assert report.tables == ["image.a"] and report.dim == 4 and report.target_dim == 3
    reference = table_rows(root, "text.t")
    meta = read_fused_metadata(tmp_path / "out")
    assert meta["targets"]["pool"] is None and meta["targets"]["classes"] is None
    for split in ("train", "val", "test"):
        rows, plain = read_rows(tmp_path / "out", split), read_rows(tmp_path / "plain", split)
        for sample_id, row in rows.items():
            np.testing.assert_array_equal(row["targets"], reference[sample_id])
            np.testing.assert_array_equal(row["feature"], plain[sample_id]["feature"])
    with pytest.raises(ConfigError, match="targets table"):
        fuse(root, tmp_path / "n", targets="text.t", normalize={"image.a": "zscore", "text.t": "zscore"})


def test_a_modality_of_the_targets_table_alone_names_nothing_to_fuse_or_normalize(tmp_path):
    samples = image_text_samples()
    root = build_dataset(tmp_path / "ds", samples, [pooled_table("image.a", samples, 4),
                                                    pooled_table("text.t", samples, 3, seed=5)])
    with pytest.raises(ConfigError, match="--normalize names \\['text'\\].*targets 'text.t' are not normalized"):
        fuse(root, tmp_path / "n", targets="text.t", normalize={"image": "zscore", "text": "l2"})
    with pytest.raises(ConfigError, match="modality 'text' has no table to fuse besides the targets 'text.t'"):
        fuse(root, tmp_path / "t", targets="text.t", tables="image,text")
    assert not (tmp_path / "n").exists() and not (tmp_path / "t").exists()


def test_the_targets_table_is_no_candidate_for_the_default_tables(with_typo, tmp_path):
    with pytest.raises(ConfigError, match="choose one per modality"):
        fuse(with_typo, tmp_path / "none", stats_splits="all", missing="zero")
    for tables in (None, "audio"):
        report = fuse(with_typo, tmp_path / f"t-{tables}", tables=tables, targets=TARGETS, stats_splits="all",
                      missing="zero")
        assert report.tables == [UNALIGNED] and report.targets == TARGETS


def test_missing_zero_fills_a_sample_without_targets_and_flags_it_last(with_typo, tmp_path):
    report = fuse(with_typo, tmp_path / "out", targets=TARGETS, missing="zero", stats_splits="all", format="arrow")
    assert report.missing == {UNALIGNED: 0, TARGETS: 1} and report.dropped == 0
    rows = read_rows(tmp_path / "out")
    reference = table_rows(with_typo, TARGETS)
    assert reference["typo"] is None
    for sample_id, row in rows.items():
        assert row["present"].tolist() == [True, sample_id != "typo"]
        want = np.zeros(3, np.float32) if sample_id == "typo" else reference[sample_id].max(axis=0)
        np.testing.assert_array_equal(row["targets"], want)


def test_missing_drop_leaves_out_a_sample_without_targets(with_typo, tmp_path):
    report = fuse(with_typo, tmp_path / "out", targets=TARGETS, missing="drop", stats_splits="all")
    assert report.dropped == 1 and report.missing[TARGETS] == 1 and report.rows == {"all": 3}
    assert pq.read_table(report.dropped_samples).to_pylist() == \
        [{"sample_id": "typo", "split": "all", "missing_tables": [TARGETS]}]
    rows = read_rows(tmp_path / "out")
    assert set(rows) == set(STEPS) and "present" not in next(iter(rows.values()))
    assert_targets_match(rows, {k: v for k, v in table_rows(with_typo, TARGETS).items() if v is not None}, "pool")


def test_targets_also_among_tables_is_refused(events, tmp_path):
    with pytest.raises(ConfigError, match="drop it from --tables"):
        export(events, tmp_path / "out", tables=(FRAMES, TARGETS))
    result = runner.invoke(app, ["fuse", str(events), str(tmp_path / "cli"), "-t", f"{FRAMES},{TARGETS}",
                                 "--targets", TARGETS])
    assert result.exit_code != 0 and "drop it from --tables" in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "cli").exists()


def test_an_unknown_targets_table_is_refused_listing_the_tables(events, tmp_path):
    with pytest.raises(DatasetError, match="no feature table 'audio.event-target'") as raised:
        export(events, tmp_path / "out", targets="audio.event-target")
    assert TARGETS in str(raised.value) and FRAMES in str(raised.value)
    result = runner.invoke(app, ["fuse", str(events), str(tmp_path / "cli"), "-t", FRAMES, "--targets", "nope"])
    assert result.exit_code != 0 and "no feature table 'nope'" in result.output


def test_normalizing_the_targets_table_is_refused(events, tmp_path):
    with pytest.raises(ConfigError, match="not normalized"):
        export(events, tmp_path / "out", normalize={FRAMES: "zscore", TARGETS: "l2"})
    result = runner.invoke(app, ["fuse", str(events), str(tmp_path / "cli"), "-t", FRAMES, "--targets", TARGETS,
                                 "--normalize", f"{TARGETS}=zscore", "--stats-split", "all"])
    assert result.exit_code != 0 and "the targets table" in result.output


@pytest.mark.parametrize("sequences", ["pad", "ragged"])
def test_kept_sequences_need_the_targets_on_the_feature_steps(events, tmp_path, sequences):
    with pytest.raises(DatasetError) as raised:
        export(events, tmp_path / "out", sequences=sequences, tables=UNALIGNED)
    message = str(raised.value)
    assert TARGETS in message and "mmdata align" in message
    assert any(sample_id in message for sample_id in STEPS), message
    assert not (tmp_path / "out").exists()
    result = runner.invoke(app, ["fuse", str(events), str(tmp_path / "cli"), "-t", UNALIGNED, "--targets", TARGETS,
                                 "--sequences", sequences, "--stats-split", "all"])
    assert result.exit_code != 0 and "mmdata align" in result.output
    export(events, tmp_path / "pooled", tables=UNALIGNED)  # pooled rows need no common steps


def test_the_cli_prints_the_targets_and_writes_them(events, tmp_path):
    result = runner.invoke(app, ["fuse", str(events), str(tmp_path / "out"), "-t", FRAMES, "--targets", TARGETS,
                                 "--sequences", "ragged", "--stats-split", "all", "--format", "npy"])
    assert result.exit_code == 0, result.output
    assert f"targets: {TARGETS} (3 dims)" in result.output
    assert json.loads((tmp_path / "out" / "fused.json").read_text())["targets"]["table"] == TARGETS
    assert_targets_match(read_rows(tmp_path / "out"), table_rows(events, TARGETS), "ragged")


def test_the_aligned_copy_of_the_targets_is_never_fused_as_a_feature(events, tmp_path):
    copy = f"{TARGETS}@{TARGETS}"  # `align --reference TARGETS` writes it beside the aligned frames
    assert copy in open_dataset(events).table_names
    with pytest.raises(ConfigError, match=f"table '{copy}' holds the values of the targets") as raised:
        export(events, tmp_path / "out", tables=copy, sequences="pad")
    assert "given its own targets" in str(raised.value)
    with pytest.raises(ConfigError, match="modality 'audio' has 2 tables") as raised:  # the copy is no candidate
        export(events, tmp_path / "default", tables=None)
    assert str([UNALIGNED, FRAMES]) in str(raised.value) and f"--tables {FRAMES})" in str(raised.value)
    report = export(events, tmp_path / "as-targets", targets=copy, sequences="pad")  # the copy as the targets
    assert report.tables == [FRAMES] and report.targets == copy
    assert not (tmp_path / "out").exists() and not (tmp_path / "default").exists()


def test_present_flag_and_sequence_pooling_describe_the_export(events, tmp_path):
    export(events, tmp_path / "zero", missing="zero", fmt="arrow")
    meta = read_fused_metadata(tmp_path / "zero")
    assert meta["targets"]["present_flag"] == 1 and meta["targets"]["pool"] == "max"
    assert FusedDataset(tmp_path / "zero", split="all")[0]["present"].tolist() == [True, True]
    assert read_fused_metadata(tmp_path / "zero")["sequences"]["pool"] == "mean"  # the frames were mean-pooled
    export(events, tmp_path / "error")
    assert read_fused_metadata(tmp_path / "error")["targets"]["present_flag"] is None
