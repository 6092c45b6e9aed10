"""Frame targets aligned with the frames: `mmdata align -r audio.frame-grid -t FRAMES,audio.event-targets --on-absent
keep` on a fake DESED. The weak and unlabeled clips, which have no targets, keep their frames in `FRAMES@GRID` (the
default `drop` would null them in every output); their targets are null in `event-targets@GRID` alone. The aligned
targets are the targets (one grid step, one target frame) and keep the classes file their input recorded, so `fuse
--targets audio.event-targets@audio.frame-grid` names the export's target columns."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from mmdata.fusion import FusedDataset, read_fused_metadata
from mmdata.store import open_dataset
from mmdata.store.metadata import read_table_metadata
from tests.corpora.cli_extract import run_extract, run_mmdata
from tests.fakes.desed import CLASSES, FAKE_SETS, write_classes, write_fake_desed

TARGETS, FRAMES, GRID = "audio.event-targets", "audio.torchaudio-logmel", "audio.frame-grid"
#: The clips of the weak and unlabeled sets: no event list, so no targets.
UNTIMED = {clip.stem for s in FAKE_SETS if s.kind != "strong" for clip in s.clips}


@pytest.fixture(scope="module")
def aligned(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("desed-aligned")
    fake = write_fake_desed(tmp / "dataset")
    classes = write_classes(tmp / "classes.txt")
    data = run_extract("desed", fake.root, tmp / "out",
                       ("--audio", FRAMES.split(".")[1], "--audio", f"event-targets:classes={classes}", "--audio",
                        "frame-grid"))
    result = run_mmdata("align", str(data.root), "-r", GRID, "-t", f"{FRAMES},{TARGETS}", "--on-absent", "keep")
    return tmp, fake, open_dataset(data.root), result.output


def rows(data, name):
    return {r["sample_id"]: r for r in data.read_table(name).to_pylist()}


def test_every_clip_keeps_its_frames_and_only_the_untimed_clips_lack_aligned_targets(aligned):
    _, fake, data, output = aligned
    assert f"table {TARGETS}@{GRID}: {len(fake.expected)} rows, {len(UNTIMED)} failed, {len(UNTIMED)} samples it " \
           "lacks (null in it alone)" in output
    frames, targets = rows(data, f"{FRAMES}@{GRID}"), rows(data, f"{TARGETS}@{GRID}")
    assert {sid for sid, row in frames.items() if row["feature"] is None} == set()
    assert {sid for sid, row in targets.items() if row["feature"] is None} == UNTIMED
    original = rows(data, TARGETS)
    for sid in set(fake.expected) - UNTIMED:
        np.testing.assert_array_equal(targets[sid]["feature"], original[sid]["feature"])  # one step, one frame
        assert targets[sid]["intervals"] == frames[sid]["intervals"]


def test_check_finds_the_aligned_tables_in_step(aligned):
    _, _, data, _ = aligned
    report = check_dataset(data.root)
    assert [i.code for i in report.issues if i.severity == "error"] == []
    assert {(i.code, i.table) for i in report.issues if i.severity == "warning"} == {
        ("feature-failed", TARGETS), ("feature-failed", f"{TARGETS}@{GRID}")}


def test_fuse_names_the_aligned_targets_columns_by_the_classes_file_their_input_recorded(aligned):
    tmp, fake, data, _ = aligned
    fused = tmp / "sed"
    run_mmdata("fuse", str(data.root), str(fused), "--format", "arrow", "--sequences", "pad", "--missing", "zero",
               "-t", f"{FRAMES}@{GRID}", "--targets", f"{TARGETS}@{GRID}")
    meta = read_fused_metadata(fused)
    assert meta["targets"]["table"] == f"{TARGETS}@{GRID}" and meta["targets"]["classes"] == list(CLASSES)
    assert meta["targets"]["classes_file"]["path"] == str((tmp / "classes.txt").resolve())
    seen = {}
    for split in ("train", "validation"):
        for item in FusedDataset(fused, split=split):
            seen[item["sample_id"]] = item["present"].tolist()
    assert seen == {sid: [True, sid not in UNTIMED] for sid in fake.expected}


def test_a_collapse_function_of_another_width_records_no_classes(aligned):
    """Last in this file: it aligns the tables again. Mean and max side by side make 2 C columns, which the classes
    file does not name."""
    _, _, data, _ = aligned
    report = align_dataset(data.root, GRID, tables=[FRAMES, TARGETS], on_absent="keep", force=True,
                           collapse=lambda intervals, features: np.concatenate([features.mean(0), features.max(0)]))
    assert [t.errors for t in report.tables] == [0, 0, len(UNTIMED)]
    targets = open_dataset(data.root).entry(f"{TARGETS}@{GRID}")
    assert targets.spec["dim"] == 2 * len(CLASSES)
    assert "classes" not in read_table_metadata(data.root / targets.path)
