"""`mmdata extract desed` end to end on a fake DCASE baseline dataset of real WAV tones, as docs/corpora.md's SED
path runs it: log-mel frames, `event-targets` with DESED's ten classes and the `frame-grid` every clip of known
length has; a `check` whose only warnings are the weak and unlabeled clips' failed targets; `align` of the frames
to the grid; and `fuse --targets --missing zero`: every clip exported with its frames, a strong clip's targets its
`event-targets` rows (`present` [True, True]), a weak or unlabeled clip's zeros (`present` [True, False]: no event
list, its targets failed into the errors table, naming why)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mmdata.checks import check_dataset
from mmdata.fusion import FusedDataset, read_fused_metadata
from tests.corpora.cli_extract import run_extract, run_mmdata
from tests.fakes.desed import CLASSES, FAKE_SETS, write_classes, write_fake_desed

TARGETS = "audio.event-targets"
FRAMES = "audio.librosa-logmel"
GRID = "audio.frame-grid"
ALIGNED = f"{FRAMES}@{GRID}"
#: The clips of the weak and unlabeled sets: no event list.
UNTIMED = {clip.stem for s in FAKE_SETS if s.kind != "strong" for clip in s.clips}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("desed")
    fake = write_fake_desed(tmp / "dataset")
    classes = write_classes(tmp / "desed_classes.txt")
    data = run_extract("desed", fake.root, tmp / "out",
                       ("--audio", "librosa-logmel", "--audio", f"event-targets:classes={classes}", "--audio",
                        "frame-grid"))
    return tmp, fake, data


def table_rows(data, name):
    return {r["sample_id"]: r for r in data.read_table(name).to_pylist()}


def test_every_clip_is_a_row_with_its_set_and_events(extracted):
    _, fake, data = extracted
    rows = {row["sample_id"]: row for row in data.samples_table().to_pylist()}
    assert {sid: (row["split"], row["audio"], row["corpus"]) for sid, row in rows.items()} == {
        sid: (e.split, e.audio, "desed") for sid, e in fake.expected.items()}
    extra = json.loads(rows["YOTsn73eqbfc_10.000_20.000"]["extra"])
    assert extra["events"][0] == [0.163, 0.665, "Alarm_bell_ringing"] and extra["set"] == "validation"
    assert rows["YOTsn73eqbfc_10.000_20.000"]["group_id"] == "OTsn73eqbfc"
    assert data.errors().num_rows == len(UNTIMED)  # only the targets of the clips without events


def test_strong_clips_have_frame_targets_untimed_clips_fail_with_the_reason_and_every_clip_has_the_grid(extracted):
    _, fake, data = extracted
    targets = table_rows(data, TARGETS)
    first = np.array(targets["train/synthetic21_train/soundscapes/0"]["feature"])
    assert first.shape == (10, len(CLASSES))  # 1 s at 10 frames a second
    np.testing.assert_array_equal(first[:, CLASSES.index("Cat")], [0, 1, 1, 1, 1, 1, 0, 0, 0, 0])  # 0.1-0.6 s
    assert not np.array(targets["Y1a3rs8NWa2M_30.000_40.000"]["feature"]).any()  # a validation clip of no event
    assert {sid for sid, row in targets.items() if row["feature"] is None} == UNTIMED
    errors = [e for e in data.errors().to_pylist() if e["table"] == TARGETS]
    assert {e["sample_id"] for e in errors} == UNTIMED
    assert all("has no event list" in e["reason"] for e in errors)
    grid = table_rows(data, GRID)
    assert {sid for sid, row in grid.items() if row["feature"] is not None} == set(fake.expected)
    for sid, row in targets.items():
        if row["feature"] is not None:
            assert grid[sid]["intervals"] == row["intervals"]  # the targets' own grid


def test_check_warns_only_of_the_untimed_clips_targets(extracted):
    _, _, data = extracted
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []
    warnings = [i for i in report.issues if i.severity == "warning"]
    assert [(i.code, i.table, i.count) for i in warnings] == [("feature-failed", TARGETS, len(UNTIMED))]
    run_mmdata("check", str(data.root))  # exit 0


def test_frames_aligned_to_the_grid_fuse_every_clip_strong_ones_with_their_targets_the_others_zeros(extracted):
    tmp, fake, data = extracted
    run_mmdata("align", str(data.root), "--reference", GRID, "-t", FRAMES)
    fused = tmp / "sed"
    run_mmdata("fuse", str(data.root), str(fused), "--format", "arrow", "--sequences", "pad", "--missing", "zero",
               "-t", ALIGNED, "--targets", TARGETS,  # --stats-split train, the default
               "--class-label", "labels", "--classes", str(tmp / "desed_classes.txt"), "--missing-class", "keep")
    meta = read_fused_metadata(fused)
    assert meta["targets"]["classes"] == list(CLASSES) and meta["targets"]["present_flag"] == 1
    reference = {sid: row["feature"] for sid, row in table_rows(data, TARGETS).items()}
    labels = {row["sample_id"]: json.loads(row["extra"]).get("labels") for row in data.samples_table().to_pylist()}
    durations = {clip.stem if clip.stem.startswith("Y") else f"{s.split}/{s.name}/{clip.stem}": clip.duration
                 for s in FAKE_SETS for clip in s.clips}
    seen = set()
    for split in ("train", "validation"):
        for item in FusedDataset(fused, split=split):
            sid, length = item["sample_id"], int(item["length"])
            seen.add(sid)
            targets, frames = item["targets"].numpy(), item["feature"].numpy()
            assert targets.shape[1] == len(CLASSES)
            assert length == round(durations[sid] * 10) and np.abs(frames[:length]).sum() > 0  # its frames kept
            clip_labels = labels.get(sid)
            expected = np.full(len(CLASSES), -1.0) if clip_labels is None else \
                np.isin(CLASSES, clip_labels).astype(np.float32)  # the weak loss's clip-level targets
            np.testing.assert_array_equal(item["class_targets"].numpy(), expected)
            if sid in UNTIMED:
                assert item["present"].tolist() == [True, False]
                assert not targets.any()
            else:
                assert item["present"].tolist() == [True, True]
                np.testing.assert_array_equal(targets[:length], np.array(reference[sid], np.float32))
                assert set(np.array(CLASSES)[targets[:length].any(axis=0)]) <= set(clip_labels)
            assert not targets[length:].any()
    assert seen == set(fake.expected)
