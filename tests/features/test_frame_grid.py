"""`frame-grid`: time steps at a fixed rate over every sample's audio span, the grid `event-targets` lays, so that
frames aligned to it keep the clips that have no targets (no event list): `fuse --targets --missing zero` then
exports them with their frames, zero targets and the targets' `present` flag false."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.cli import app
from mmdata.fusion import FusedDataset, collate_fused
from mmdata.store.reader import open_dataset
from tests.features.test_event_targets_end_to_end import BAD, ROWS, extract, runner, write_corpus

TARGETS, GRID, FRAMES = "audio.event-targets", "audio.frame-grid", "audio.torchaudio-logmel"
ALIGNED = f"{FRAMES}@{GRID}"
#: A clip whose length no key gives: neither table can lay frames over it.
NO_LENGTH = {"no-length": {"events": []}}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """ROWS (3 clips with events), BAD's `typo` (an unknown class: no targets) and a clip of unknown length."""
    root = tmp_path_factory.mktemp("grid")
    corpus, out = write_corpus(root / "corpus", {**ROWS, **BAD, **NO_LENGTH}), root / "out"
    made = extract(corpus, out, f"event-targets:classes={corpus / 'classes.txt'}", "frame-grid",
                   "torchaudio-logmel:n_mels=16")
    assert made.exit_code == 0, made.output
    return out


def rows(out, table):
    return {r["sample_id"]: r for r in open_dataset(out).table(table).to_table().to_pylist()}


def test_the_grid_is_the_targets_grid_and_every_clip_of_known_length_has_it(dataset):
    grid, targets = rows(dataset, GRID), rows(dataset, TARGETS)
    for sample_id in ROWS:
        assert grid[sample_id]["intervals"] == targets[sample_id]["intervals"]
        intervals = np.array(grid[sample_id]["intervals"])
        np.testing.assert_allclose(np.array(grid[sample_id]["feature"])[:, 0], intervals.mean(axis=1), rtol=1e-6)
    assert len(grid["dog-segment"]["intervals"]) == 10 and grid["dog-segment"]["intervals"][0] == [0.5, 0.6]
    assert targets["typo"]["feature"] is None and len(grid["typo"]["feature"]) == 20  # 2 s at 10 Hz
    assert grid["no-length"]["feature"] is None and targets["no-length"]["feature"] is None
    reasons = {e["table"]: e["reason"] for e in open_dataset(dataset).errors().to_pylist() if e["sample_id"] == "no-length"}
    assert set(reasons) >= {GRID, TARGETS} and "the length of its audio is unknown" in reasons[GRID]
    checked = runner.invoke(app, ["check", str(dataset)])
    assert checked.exit_code == 0, checked.output


def test_frames_aligned_to_the_grid_keep_the_clips_without_targets(dataset, tmp_path):
    aligned = runner.invoke(app, ["align", str(dataset), "--reference", GRID, "-t", FRAMES])
    assert aligned.exit_code == 0, aligned.output
    export = tmp_path / "sed"
    fused = runner.invoke(app, ["fuse", str(dataset), str(export), "--format", "arrow", "--sequences", "pad",
                                "--missing", "zero", "-t", ALIGNED, "--targets", TARGETS, "--stats-split", "all"])
    assert fused.exit_code == 0, fused.output
    items = collate_fused(FusedDataset(export, split="all")[:])
    by_id = dict(zip(items["sample_id"], range(len(items["sample_id"]))))
    targets = rows(dataset, TARGETS)
    typo = by_id["typo"]
    assert items["length"][typo] == 20 and items["present"][typo].tolist() == [True, False]
    assert not items["targets"][typo].any() and items["feature"][typo, :20].abs().sum() > 0
    for sample_id in ROWS:
        row, length = by_id[sample_id], int(items["length"][by_id[sample_id]])
        assert items["present"][row].tolist() == [True, True]
        np.testing.assert_array_equal(items["targets"][row, :length].numpy(), np.array(targets[sample_id]["feature"]))
    assert items["present"][by_id["no-length"]].tolist() == [False, False]


def test_a_grid_at_another_rate_than_the_targets_is_refused_at_fuse(tmp_path):
    corpus, out = write_corpus(tmp_path / "corpus", ROWS), tmp_path / "out"
    made = extract(corpus, out, f"event-targets:classes={corpus / 'classes.txt'}", "frame-grid:frame_rate=20",
                   "torchaudio-logmel:n_mels=16")
    assert made.exit_code == 0, made.output
    assert runner.invoke(app, ["align", str(out), "--reference", GRID, "-t", FRAMES]).exit_code == 0
    fused = runner.invoke(app, ["fuse", str(out), str(tmp_path / "sed"), "--sequences", "pad", "-t", ALIGNED,
                                "--targets", TARGETS, "--stats-split", "all"])
    assert fused.exit_code != 0 and "time steps" in fused.output and "mmdata align" in fused.output


def test_a_rate_that_is_no_positive_number_is_refused(tmp_path):
    corpus, out = write_corpus(tmp_path / "corpus", ROWS), tmp_path / "out"
    result = extract(corpus, out, "frame-grid:frame_rate=0")
    assert result.exit_code != 0 and "frame_rate must be a number of steps per second > 0" in result.output


def test_a_last_frame_shorter_than_align_skips_is_laid_by_neither_table(tmp_path):
    """2.0000004 s at 10 Hz: 20 frames, not 21 with a 0.4 us last one, which `align` would skip as a reference step
    (the frames aligned to the grid one step short of the targets: `fuse` would refuse the clip)."""
    clips = {"sliver": {"events": [[0.0, 2.0000004, "Dog"]], "audio_duration": 2.0000004}}
    corpus, out = write_corpus(tmp_path / "corpus", clips), tmp_path / "out"
    made = extract(corpus, out, f"event-targets:classes={corpus / 'classes.txt'}", "frame-grid",
                   "torchaudio-logmel:n_mels=16")
    assert made.exit_code == 0, made.output
    grid = rows(out, GRID)["sliver"]["intervals"]
    assert len(grid) == 20 and grid[-1] == [1.9, 2.0]
    assert len(rows(out, TARGETS)["sliver"]["feature"]) == 20
    assert runner.invoke(app, ["align", str(out), "--reference", GRID, "-t", FRAMES]).exit_code == 0
    fused = runner.invoke(app, ["fuse", str(out), str(tmp_path / "sed"), "--sequences", "pad", "-t", ALIGNED,
                                "--targets", TARGETS, "--stats-split", "all"])
    assert fused.exit_code == 0, fused.output
