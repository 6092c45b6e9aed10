"""`mmdata extract audioset` end to end on a fake PANNs-style copy (WAV clips, the release's CSVs in metadata/): a
log-mel sequence per segment with its class names in `extra.labels`, a segment gone from YouTube in the errors
table at its `file:line`, a clean `check`, and `fuse --class-label labels --classes class_labels_indices.csv`
making multi-hot `class_targets` in the release's index order; and one video in train and eval, a leak `check`
reports."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.fusion import FusedDataset
from mmdata.store import open_dataset
from tests.fakes.audioset import CLASSES, LABELS, FakeSegment, write_fake_audioset
from tests.fakes.vggsound import write_clip

runner = CliRunner()
GONE_ROW = 'gonefromYT1, 20.000, 30.000, "/m/04rlf"'  # line 7 of balanced_train_segments.csv


def run(*args: str):
    result = runner.invoke(app, [*args])
    assert result.exit_code == 0, result.output
    return result


def extract(root, out):
    run("extract", "audioset", str(root), str(out), "--audio", "librosa-logmel", "-j", "0", "-q")
    return open_dataset(out)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audioset")
    fake = write_fake_audioset(tmp / "corpus")
    with fake.annotation_file.open("a", encoding="utf-8") as f:
        f.write(GONE_ROW + "\n")
    return tmp, fake, extract(fake.root, tmp / "out")


def test_every_segment_is_a_row_with_its_class_names_and_a_log_mel_sequence(extracted):
    _, fake, data = extracted
    rows = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert set(rows) == set(fake.expected)
    assert {sid: (row["split"], row["group_id"], json.loads(row["extra"])["labels"]) for sid, row in rows.items()} \
        == {sid: (e.split, sid.rsplit("_", 1)[0], LABELS[sid]) for sid, e in fake.expected.items()}
    ids, offsets, _, _ = data.read_sequences("audio.librosa-logmel")
    assert sorted(ids) == sorted(fake.expected)
    assert all(n > 50 for n in offsets[1:] - offsets[:-1])  # about 1 s of 10 ms frames each


def test_the_segment_taken_down_is_in_the_errors_table_with_its_line(extracted):
    _, fake, data = extracted
    errors = data.errors().to_pylist()
    assert [(e["table"], e["sample_id"], e["path"]) for e in errors] == [
        ("loader", "gonefromYT1_20000", f"{fake.annotation_file}:7")]
    assert data.manifest.extra["loader"]["segments_missing"] == 1
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []


def test_fuse_with_the_class_table_gives_multi_hot_targets_in_the_release_order(extracted):
    tmp, fake, data = extracted
    fused = tmp / "fused"
    table = fake.root / "metadata" / "class_labels_indices.csv"
    run("fuse", str(data.root), str(fused), "--format", "arrow", "--class-label", "labels", "--classes", str(table))
    info = json.loads((fused / "fused.json").read_text())
    names = [name for _, name in CLASSES]
    assert info["classes"] == names  # index order, not sorted (Animal would be first)
    assert (info["class_label"]["key"], info["class_label"]["multi_label"]) == ("labels", True)
    test_labels = [name for sid, e in fake.expected.items() if e.split == "test" for name in LABELS[sid]]
    assert info["class_label"]["counts"]["test"] == [test_labels.count(name) for name in names]
    items = FusedDataset(fused, split="train")
    for i in range(len(items)):
        targets = np.asarray(items[i]["class_targets"])
        assert [names[k] for k in np.flatnonzero(targets)] == sorted(LABELS[items[i]["sample_id"]], key=names.index)


def test_one_video_in_train_and_eval_is_a_leak_check_reports(tmp_path):
    segments = (FakeSegment("--PJHxphWEs", 30.0, ("/m/09x0r",), "balanced_train"),
                FakeSegment("_9fQ2WgM8Vs", 0.0, ("/m/04rlf",), "balanced_train"),
                FakeSegment("-1LrH01Ei1w", 0.0, ("/m/0jbk",), "eval"))
    fake = write_fake_audioset(tmp_path / "corpus", naming="audiosetdl", segments=segments)
    with (fake.root / "metadata" / "eval_segments.csv").open("a", encoding="utf-8") as f:
        f.write('--PJHxphWEs, 90.000, 100.000, "/m/04rlf"\n')
    write_clip(fake.root / "audios" / "eval_segments" / "--PJHxphWEs_90000_100000.wav", seed=5)
    data = extract(fake.root, tmp_path / "out")
    assert data.errors().num_rows == 0  # both segments of --PJHxphWEs load, by the names carrying their start
    [leak] = [i for i in check_dataset(data.root).issues if i.code == "split-leak"]
    assert leak.severity == "error" and "group_id '--PJHxphWEs' in splits" in leak.message
