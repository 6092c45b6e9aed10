"""`fuse --sequences pad|ragged` where every sequence of a sample failed: the sample has no time step, so
its pooled vectors, though extracted, are not in the export. The report says so (`no_time_step`, the
command line's warning), `dropped.parquet` and `--missing error` name the tables that really lack the
sample, and the export's values, lengths, masks and presence flags equal a NumPy reference, through
`FusedDataset` and `collate_fused` too."""
from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from torch.utils.data import DataLoader
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import DatasetError
from mmdata.fusion import FusedDataset, collate_fused, fuse, read_fused_metadata
from tests.checks.builder import aligned_table, build_dataset, mosi_samples, pooled_table, with_value

M = mosi_samples()  # 12 segments vid0[0]..vid3[2]: train 6, valid 3, test 3; 5 per shard
STEPS = 4
TABLES = ("text", "video", "image", "audio")
#: Every sequence failed (errors-table rows): no time step. vid0[1] (train, shard 0) has both pooled
#: vectors; vid2[1] (valid, shard 1) has audio.q only, its image.p failed too.
NO_STEP = (1, 7)
#: image.p failed for vid1[1] (train), which has its steps.
IMAGE_FAILED = (4, 7)


def _tables(lost=NO_STEP, image_failed=IMAGE_FAILED):
    words, video = aligned_table("text.w", M, 2, STEPS), aligned_table("video.v", M, 3, STEPS, seed=3)
    image, audio = pooled_table("image.p", M, 2, seed=4), pooled_table("audio.q", M, 1, seed=5)
    for index in lost:
        words, video = with_value(words, index, None), with_value(video, index, None)
    for index in image_failed:
        image = with_value(image, index, None)
    return [words, video, image, audio]


def _dataset(tmp_path, **kwargs):
    return build_dataset(tmp_path / "ds", M, _tables(**kwargs), corpus_kind="mosi-raw", shard_size=5)


def _reference():
    """Each sample's (T, 8) z-scored rows (T = 0 without a step) and presence, from the tables alone."""
    words, video, image, audio = _tables()
    train = np.array([s.split == "train" for s in M])
    steps = np.array([0 if words.values[i] is None else STEPS for i in range(len(M))])

    def sequence(values):
        mean_std = np.concatenate([v for v, t in zip(values, train) if t and v is not None])
        mean, std = mean_std.mean(axis=0), mean_std.std(axis=0)
        return [None if v is None else (v - mean) / std for v in values]

    def pooled(values):  # a vector rides on its sample's steps: without a step it is not there
        kept = [v if v is not None and n else None for v, n in zip(values, steps)]
        rows = np.stack([v for v, t in zip(kept, train) if t and v is not None])
        mean, std = rows.mean(axis=0), rows.std(axis=0)
        return [None if v is None else (v - mean) / std for v in kept]

    parts = [sequence(words.values), sequence(video.values), pooled(image.values), pooled(audio.values)]
    dims = [2, 3, 2, 1]
    rows, present = [], []
    for i, n in enumerate(steps):
        blocks = []
        for values, dim in zip(parts, dims):
            value = values[i]
            if value is None:
                blocks.append(np.zeros((n, dim)))
            else:
                blocks.append(value if value.ndim == 2 else np.repeat(value[None], n, axis=0))
        rows.append(np.concatenate(blocks, axis=1))
        present.append([values[i] is not None for values in parts])
    return rows, present


@pytest.mark.parametrize("sequences", ["pad", "ragged"])
@pytest.mark.parametrize("missing", ["zero", "drop"])
def test_the_report_counts_pooled_vectors_without_a_time_step_apart(tmp_path, sequences, missing):
    report = fuse(_dataset(tmp_path), tmp_path / "out", tables=TABLES, sequences=sequences, missing=missing)
    # `missing` counts what the export lacks: vid1[1]'s image.p failed, vid0[1] and vid2[1] have no step
    assert report.missing == {"text.w": 2, "video.v": 2, "image.p": 3, "audio.q": 2}
    # of those, the vectors extracted but without a step: vid2[1]'s failed image.p is not one
    assert report.no_time_step == {"image.p": 1, "audio.q": 2}
    recorded = read_fused_metadata(tmp_path / "out")["missing"]["no_time_step"]
    assert recorded == {"samples": 2, "tables": {"image.p": 1, "audio.q": 2}, "example": "vid0[1]"}
    warning = report.no_time_step_warning
    assert warning.startswith("2 samples have no time step: no sequence table (text.w, video.v) has a row for them")
    assert "e.g. sample 'vid0[1]'" in warning and "(image.p: 1, audio.q: 2)" in warning
    assert "\n" not in warning and warning in repr(report)
    assert report.dropped == (3 if missing == "drop" else 0)


def test_dropped_samples_list_the_tables_that_lack_them_not_the_pooled_ones_without_steps(tmp_path):
    fuse(_dataset(tmp_path), tmp_path / "out", tables=TABLES, sequences="ragged", missing="drop")
    listed = pq.read_table(tmp_path / "out" / "dropped.parquet").to_pylist()
    assert listed == [
        {"sample_id": "vid0[1]", "split": "train", "missing_tables": ["text.w", "video.v"]},
        {"sample_id": "vid1[1]", "split": "train", "missing_tables": ["image.p"]},
        {"sample_id": "vid2[1]", "split": "valid", "missing_tables": ["text.w", "video.v", "image.p"]},
    ]


def test_missing_error_names_the_sequence_table_that_failed_not_the_pooled_one(tmp_path):
    root = _dataset(tmp_path, image_failed=())
    with pytest.raises(DatasetError, match=r"^table 'text.w', sample 'vid0\[1\]': no feature \(extraction failed; "
                                           r"the reason is in the errors table \(`mmdata check`\)\); 1 such samples"):
        fuse(root, tmp_path / "out", tables=("image", "audio", "text", "video"), sequences="pad")
    # a pooled vector that did fail is still named first
    with pytest.raises(DatasetError, match=r"^table 'image.p', sample 'vid0\[2\]': no feature \(extraction failed"):
        fuse(_dataset(tmp_path / "b", image_failed=(2,)), tmp_path / "b" / "out",
             tables=("image", "audio", "text", "video"), sequences="pad")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("sequences", ["pad", "ragged"])
def test_missing_zero_values_lengths_masks_and_presence_equal_the_reference(tmp_path, sequences):
    fuse(_dataset(tmp_path), tmp_path / "out", tables=TABLES, sequences=sequences, missing="zero")
    meta = read_fused_metadata(tmp_path / "out")
    table = pq.read_table(tmp_path / "out" / "data").sort_by("sample_id")  # every split's files
    assert table.column("sample_id").to_pylist() == [s.sample_id for s in M]
    rows, present = _reference()
    lengths = table.column("length").to_pylist()
    assert lengths == [len(r) for r in rows] and lengths[1] == lengths[7] == 0
    assert table.column("present").to_pylist() == present
    assert present[1] == present[7] == [False] * 4 and present[4] == [True, True, False, True]
    for i, value in enumerate(table.column("feature").to_pylist()):
        feature = np.array(value, np.float64).reshape(-1, 8)
        if sequences == "pad":
            assert table.column("mask")[i].as_py() == [step < lengths[i] for step in range(STEPS)]
            assert not feature[lengths[i]:].any()
            feature = feature[: lengths[i]]
        np.testing.assert_allclose(feature, rows[i], rtol=1e-5, atol=1e-5, err_msg=M[i].sample_id)
    image_stats = meta["normalization"]["tables"]["image.p"]
    assert image_stats["count"] == 4  # train vectors on steps: vid0[1] (no step) and vid1[1] (failed) left out


@pytest.mark.parametrize("fmt", ["arrow", "hf", "npy"])
@pytest.mark.parametrize("sequences", ["pad", "ragged"])
def test_a_dataloader_batches_the_zero_length_sample(tmp_path, fmt, sequences):
    fuse(_dataset(tmp_path), tmp_path / "out", tables=TABLES, sequences=sequences, missing="zero", format=fmt)
    data = FusedDataset(tmp_path / "out", "train")
    batch = next(iter(DataLoader(data, batch_size=len(data), collate_fn=collate_fused)))
    rows, present = _reference()
    train = [i for i, s in enumerate(M) if s.split == "train"]
    chosen = [train[[M[i].sample_id for i in train].index(sid)] for sid in batch["sample_id"]]
    assert sorted(batch["sample_id"]) == [M[i].sample_id for i in train]
    assert batch["feature"].shape == (len(train), STEPS, 8)
    assert batch["length"].tolist() == [len(rows[i]) for i in chosen]
    assert batch["present"].tolist() == [present[i] for i in chosen]
    lost = batch["sample_id"].index("vid0[1]")
    assert batch["length"][lost] == 0 and not batch["mask"][lost].any() and not batch["feature"][lost].any()
    for row, i in enumerate(chosen):
        assert batch["mask"][row].tolist() == [step < len(rows[i]) for step in range(STEPS)]
        np.testing.assert_allclose(batch["feature"][row, : len(rows[i])].numpy(), rows[i], rtol=1e-5, atol=1e-5)


def test_the_command_line_says_why_with_a_count_and_a_sample_id(tmp_path):
    result = CliRunner().invoke(app, ["fuse", str(_dataset(tmp_path)), str(tmp_path / "out"), "--tables",
                                      ",".join(TABLES), "--sequences", "pad", "--missing", "zero"])
    assert result.exit_code == 0, result.output
    assert ("missing: text.w: 2, video.v: 2, image.p: 3 (1 with no time step), audio.q: 2 (2 with no time step); "
            "dropped 0") in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: 2 samples have no time step: no sequence table (text.w, video.v)")
    assert "'vid0[1]'" in warnings[0] and "--sequences pool keeps those features" in warnings[0]


def test_one_sample_reads_in_the_singular(tmp_path):
    report = fuse(_dataset(tmp_path, lost=(1,), image_failed=()), tmp_path / "out", tables=TABLES, sequences="ragged",
                  missing="zero")
    assert report.no_time_step == {"image.p": 1, "audio.q": 1}
    assert report.no_time_step_warning.startswith("1 sample has no time step: no sequence table (text.w, video.v) "
                                                  "has a row for it (failed, empty or non-finite), e.g. sample 'vid0[1]'; its ")


def test_without_such_samples_there_is_no_warning_and_pooled_exports_record_nothing_new(tmp_path):
    root = _dataset(tmp_path, lost=(), image_failed=(4,))
    report = fuse(root, tmp_path / "seq", tables=TABLES, sequences="pad", missing="zero")
    assert report.no_time_step == {} and report.no_time_step_warning is None
    assert read_fused_metadata(tmp_path / "seq")["missing"]["no_time_step"] == {
        "samples": 0, "tables": {"image.p": 0, "audio.q": 0}, "example": None}
    pooled = fuse(_dataset(tmp_path / "b"), tmp_path / "pooled", tables=TABLES, missing="zero")
    assert pooled.no_time_step == {} and pooled.no_time_step_warning is None
    assert pooled.missing == {"text.w": 2, "video.v": 2, "image.p": 2, "audio.q": 0}  # pooled: vectors kept
    assert "no_time_step" not in json.loads((tmp_path / "pooled" / "fused.json").read_text())["missing"]
