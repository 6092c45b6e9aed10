"""check's `duration-unknown` warning counts the samples a table holds a feature for: a sample whose
extraction failed (a missing file, in the errors table) has nothing of unknown extent to check."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from mmdata.checks import check_dataset, temporal
from mmdata.pipeline import extract
from tests.fakes.av import write_tone_wav


def test_samples_without_a_feature_are_not_counted():
    ids = pa.array(["a", "b", "missing", "c"])
    hi = np.full(4, np.nan)
    has_feature = np.array([True, True, False, True])
    issue, = temporal.check_known_span("audio.x", ids, hi, corpus_kind="manifest", has_feature=has_feature)
    assert issue.count == 3 and "missing" not in issue.examples
    assert issue.message.startswith("3 of 3 samples with a feature have no end time")
    assert temporal.check_known_span("audio.x", ids, hi, has_feature=np.zeros(4, bool)) == []
    old, = temporal.check_known_span("audio.x", ids, hi, corpus_kind="manifest")  # no mask: every sample, as before
    assert old.message.startswith("4 of 4 samples have no end time")


def test_check_counts_only_samples_with_a_feature(tmp_path):
    root = tmp_path / "corpus"
    for name in ("a", "b"):
        write_tone_wav(root / f"{name}.wav")
    rows = [{"id": "a", "audio": "a.wav"}, {"id": "b", "audio": "b.wav"}, {"id": "gone", "audio": "gone.wav"}]
    (root / "manifest.jsonl").write_text("".join(json.dumps({**r, "text": "x"}) + "\n" for r in rows))
    extract("manifest", root, tmp_path / "out", extractors=["torchaudio-logmel"], num_workers=0)
    unknown = [i for i in check_dataset(tmp_path / "out").issues if i.code == "duration-unknown"]
    assert [i.count for i in unknown] == [2] and "gone" not in unknown[0].examples
