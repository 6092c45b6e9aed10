"""A zero-length or reversed segment is a load problem of its row, not the end of the load (as in the csd loader)."""
from __future__ import annotations

import json

import pyarrow.dataset as ds
import pytest

from mmdata.corpora import load_corpus
from mmdata.pipeline import extract
from tests.fakes.av import write_tone_wav

MOSEI_TRANSCRIPTS = "Raw/Transcript/Segmented/Combined"


def write_manifest(root, rows):
    write_tone_wav(root / "a.wav", duration=4.0)
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


@pytest.mark.parametrize(("start", "end", "kind"), [(2.0, 2.0, "zero-length"), (3.0, 2.0, "reversed")])
def test_manifest_row_with_an_empty_segment_is_left_out_and_the_rest_load(tmp_path, start, end, kind):
    root = write_manifest(tmp_path, [{"id": "ok", "audio": "a.wav", "start": 1.0, "end": 2.0},
                                     {"id": "bad", "audio": "a.wav", "start": start, "end": end},
                                     {"audio": "a.wav", "start": start, "end": end}])
    result = load_corpus("manifest", root)
    assert [s.sample_id for s in result.samples] == ["ok"]
    first, derived = result.problems
    assert (first.sample_id, first.path) == ("bad", f"{root / 'manifest.jsonl'}:2")
    assert f"{kind} segment: expected end > start, got start={start} end={end}; row left out" in first.reason
    assert derived.sample_id.startswith("a@") and derived.path.endswith("manifest.jsonl:3")


def test_manifest_empty_segment_lands_in_the_loader_errors(tmp_path):
    root = write_manifest(tmp_path / "corpus", [{"id": "ok", "audio": "a.wav", "start": 1.0, "end": 2.0},
                                                {"id": "zero", "audio": "a.wav", "start": 2.0, "end": 2.0}])
    extract("manifest", root, tmp_path / "out", extractors=["kaldi-fbank"], num_workers=0)
    errors = ds.dataset(tmp_path / "out" / "errors").to_table().to_pylist()
    [row] = [e for e in errors if e["sample_id"] == "zero"]
    assert (row["table"], row["stage"]) == ("loader", "load") and "expected end > start" in row["reason"]


def write_mosei(root, lines):
    (root / MOSEI_TRANSCRIPTS).mkdir(parents=True)
    (root / MOSEI_TRANSCRIPTS / "vidM.txt").write_text("\n".join(lines) + "\n")
    write_tone_wav(root / "Raw/Audio/Full/WAV_16000/vidM.wav", duration=6.0)
    return root


def test_mosei_line_with_an_empty_segment_is_left_out_and_the_rest_load(tmp_path):
    root = write_mosei(tmp_path, ["vidM___0___0.5___2.0___hello there", "vidM___1___2.0___2.0___empty one",
                                  "vidM___2___4.0___2.5___backwards", "vidM___3___2.5___4.9___general kenobi"])
    result = load_corpus("mosi-raw", root)
    assert [s.sample_id for s in result.samples] == ["vidM_0", "vidM_3"]
    where = root / MOSEI_TRANSCRIPTS / "vidM.txt"
    assert [(p.sample_id, p.path) for p in result.problems] == [("vidM_1", f"{where}:2"), ("vidM_2", f"{where}:3")]
    assert "segment end 2.0 <= start 2.0 (zero-length); expected start < end; segment left out" in result.problems[0].reason
    assert "segment end 2.5 <= start 4.0 (reversed)" in result.problems[1].reason


def test_generic_segment_row_with_an_empty_segment_is_left_out(tmp_path):
    write_tone_wav(tmp_path / "rec.wav", duration=2.0)
    (tmp_path / "segments.csv").write_text("segment_id,audio,start,end\ns1,rec.wav,0.5,1.0\ns2,rec.wav,1.5,0.25\n")
    result = load_corpus("mosi-raw", tmp_path)
    assert [s.sample_id for s in result.samples] == ["s1"]
    [problem] = result.problems
    assert problem.sample_id == "s2" and problem.path.endswith("segments.csv:3")
    assert "segment end 0.25 <= start 1.5" in problem.reason
