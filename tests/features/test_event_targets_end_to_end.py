"""event-targets end to end: `mmdata extract` of a manifest whose rows carry timed events (`extra.events`, as the
audioset loader's option strong writes them) beside log-mel frames, `mmdata check` clean on the tables, `mmdata
align` of the frames to the targets' grid, and a sample with a bad event failing alone into the errors table."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.store.reader import open_dataset
from tests.fakes.av import write_tone_wav

runner = CliRunner()
CLASSES = ("Speech", "Dog", "Music")
#: id -> the manifest row's fields besides the audio: whole clips, a segment (events in file seconds), no events.
ROWS = {
    "speech-music": {"events": [[0.0, 1.25, "Speech"], [0.5, 2.0, "Music"]], "audio_duration": 2.0},
    "dog-segment": {"start": 0.5, "end": 1.5, "events": [[0.0, 0.75, "Dog"], [1.2, 2.0, "Dog"]], "audio_duration": 2.0},
    "quiet": {"events": [], "audio_duration": 2.0},
}
BAD = {"typo": {"events": [[0.0, 1.0, "Speach"]], "audio_duration": 2.0}}


def write_corpus(root: Path, rows: dict[str, dict]) -> Path:
    """A manifest.jsonl of `rows`, each with a 2 s tone as its audio, and the classes file beside it."""
    lines = []
    for index, (sample_id, fields) in enumerate(rows.items()):
        write_tone_wav(root / "audio" / f"{sample_id}.wav", freq=220.0 * (index + 1), duration=2.0)
        lines.append(json.dumps({"id": sample_id, "audio": f"audio/{sample_id}.wav", **fields}))
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n", encoding="utf-8")
    return root


def extract(corpus: Path, out: Path, *specs: str):
    args = ["extract", "manifest", str(corpus), str(out), "-q"]
    for spec in specs:
        args += ["--audio", spec]
    return runner.invoke(app, args)


def rows_of(out: Path, table: str) -> dict[str, dict]:
    return {r["sample_id"]: r for r in open_dataset(out).table(table).to_table().to_pylist()}


def test_targets_beside_log_mel_frames_pass_check_and_align_onto_one_grid(tmp_path):
    corpus, out = write_corpus(tmp_path / "corpus", ROWS), tmp_path / "out"
    result = extract(corpus, out, f"event-targets:classes={corpus / 'classes.txt'}", "torchaudio-logmel:n_mels=16")
    assert result.exit_code == 0, result.output
    targets = rows_of(out, "audio.event-targets")
    first = np.array(targets["speech-music"]["feature"])
    assert first.shape == (20, 3)
    np.testing.assert_array_equal(first[:, 0], [1] * 13 + [0] * 7)  # Speech to 1.25 s: frame [1.2, 1.3) half covered
    np.testing.assert_array_equal(first[:, 2], [0] * 5 + [1] * 15)
    segment = np.array(targets["dog-segment"]["feature"])
    np.testing.assert_allclose(np.array(targets["dog-segment"]["intervals"])[[0, -1]], [[0.5, 0.6], [1.4, 1.5]])
    np.testing.assert_array_equal(segment[:, 1], [1, 1, 1] + [0] * 4 + [1] * 3)
    assert not np.array(targets["quiet"]["feature"]).any()
    checked = runner.invoke(app, ["check", str(out)])
    assert checked.exit_code == 0, checked.output

    aligned = runner.invoke(app, ["align", str(out), "--reference", "audio.event-targets",
                                  "-t", "audio.torchaudio-logmel"])
    assert aligned.exit_code == 0, aligned.output
    name = next(n for n in open_dataset(out).table_names if n.startswith("audio.torchaudio-logmel@"))
    frames = rows_of(out, name)["speech-music"]
    assert len(frames["feature"]) == 20 and frames["intervals"] == targets["speech-music"]["intervals"]
    checked = runner.invoke(app, ["check", str(out)])
    assert checked.exit_code == 0, checked.output
    assert_targets_export_apart_from_features_step_for_step(out, tmp_path, name)


def assert_targets_export_apart_from_features_step_for_step(out: Path, tmp_path: Path, frames_table: str):
    """fuse takes one table per modality: the frames and the targets (both audio) go to two exports, padded to
    the same steps, the targets kept as they are (`--normalize none`)."""
    features = runner.invoke(app, ["fuse", str(out), str(tmp_path / "mel"), "-t", frames_table, "--sequences", "pad",
                                   "--stats-split", "all"])
    assert features.exit_code == 0, features.output
    targets = runner.invoke(app, ["fuse", str(out), str(tmp_path / "targets"), "-t", "audio.event-targets",
                                  "--sequences", "pad", "--normalize", "none"])
    assert targets.exit_code == 0, targets.output
    mel, truth = (pq.read_table(next((tmp_path / d / "data").glob("*.parquet"))).to_pydict() for d in ("mel", "targets"))
    assert mel["sample_id"] == truth["sample_id"] and mel["length"] == truth["length"]
    assert dict(zip(truth["sample_id"], truth["length"])) == {"speech-music": 20, "dog-segment": 10, "quiet": 20}
    expected = rows_of(out, "audio.event-targets")
    for sample_id, length, feature in zip(truth["sample_id"], truth["length"], truth["feature"]):
        np.testing.assert_array_equal(np.array(feature)[:length], expected[sample_id]["feature"])


def test_a_sample_with_an_unknown_event_class_fails_alone_into_the_errors_table(tmp_path):
    corpus, out = write_corpus(tmp_path / "corpus", {**ROWS, **BAD}), tmp_path / "out"
    result = extract(corpus, out, f"event-targets:classes={corpus / 'classes.txt'},targets=soft")
    assert result.exit_code == 0, result.output
    assert "4 rows, 1 failed" in result.output
    errors = [e for e in open_dataset(out).errors().to_pylist() if e["table"] == "audio.event-targets"]
    assert [(e["sample_id"], e["error_type"]) for e in errors] == [("typo", "CorpusFormatError")]
    assert "event class 'Speach'" in errors[0]["reason"] and "the closest class there is 'Speech'" in errors[0]["reason"]
    assert rows_of(out, "audio.event-targets")["typo"]["feature"] is None


def test_a_classes_file_whose_names_changed_does_not_pass_for_the_one_the_table_was_made_with(tmp_path):
    corpus, out = write_corpus(tmp_path / "corpus", ROWS), tmp_path / "out"
    spec = f"event-targets:classes={corpus / 'classes.txt'}"
    assert extract(corpus, out, spec).exit_code == 0
    (corpus / "classes.txt").write_text("Music\nDog\nSpeech\n", encoding="utf-8")  # the same names, other columns
    again = extract(corpus, out, spec)
    assert again.exit_code == 0 and "kept as made with classes:classes.txt" in again.output
    assert np.array(rows_of(out, "audio.event-targets")["speech-music"]["feature"])[0].tolist() == [1, 0, 0]
    forced = runner.invoke(app, ["extract", "manifest", str(corpus), str(out), "-q", "--audio", spec, "--force"])
    assert forced.exit_code == 0, forced.output
    assert np.array(rows_of(out, "audio.event-targets")["speech-music"]["feature"])[0].tolist() == [0, 0, 1]
