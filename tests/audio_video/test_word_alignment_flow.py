"""The issue's flow across stages: word timings in the samples table -> word-embeddings -> frames aligned to words."""
from __future__ import annotations

import numpy as np

from mmdata.alignment.dataset import align_dataset
from mmdata.pipeline import extract
from mmdata.store.reader import open_dataset
from tests.fakes.av import write_fake_mosi_generic
from tests.fakes.csd import SEGMENTS, WORDS, write_fake_csd_segments


def test_word_embeddings_from_a_csd_word_sequence_keep_pauses_as_zero_rows(tmp_path):
    fake = write_fake_csd_segments(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "out", extractors=["word-embeddings:method=hashed,dim=8"],
            corpus_options=fake.options, num_workers=0)
    rows = {r["sample_id"]: r for r in open_dataset(tmp_path / "out").table("text.word-embeddings-hashed").to_table().to_pylist()}
    start, end, _ = SEGMENTS["abc"][1]  # 'sp really good'
    words = [(w, s, e) for w, s, e in WORDS["abc"] if s >= start and e <= end]
    got = rows["abc[1]"]
    assert got["intervals"] == [[s, e] for _, s, e in words]
    norms = np.linalg.norm(np.array(got["feature"]), axis=1)
    np.testing.assert_allclose(norms, [0.0 if w == "sp" else 1.0 for w, _, _ in words], atol=1e-6)


def test_logmel_frames_aligned_to_words_are_the_mean_of_the_overlapping_frames(tmp_path):
    fake = write_fake_mosi_generic(tmp_path / "raw")
    out = tmp_path / "out"
    extract("mosi-raw", fake.root, out, extractors=["torchaudio-logmel:n_mels=16", "word-embeddings:method=hashed,dim=8"],
            num_workers=0)
    align_dataset(out, "text.word-embeddings-hashed", tables=["audio.torchaudio-logmel"])
    data = open_dataset(out)
    frames = {r["sample_id"]: r for r in data.table("audio.torchaudio-logmel").to_table().to_pylist()}["rec1_a"]
    aligned_name = next(n for n in data.table_names if n.startswith("audio.torchaudio-logmel@"))
    aligned = {r["sample_id"]: r for r in data.table(aligned_name).to_table().to_pylist()}["rec1_a"]
    features, intervals = np.array(frames["feature"]), np.array(frames["intervals"])
    assert len(aligned["feature"]) == 2  # one row per word: 'first' [0.1, 0.4], 'half' [0.5, 0.9]
    for row, (w0, w1) in zip(aligned["feature"], [(0.1, 0.4), (0.5, 0.9)]):
        overlap = (intervals[:, 0] < w1) & (intervals[:, 1] > w0)  # frames of 10 ms cells: 31 and 41 of them
        assert overlap.sum() == round((w1 - w0) * 100) + 1
        np.testing.assert_allclose(row, features[overlap].mean(axis=0), rtol=1e-5, atol=1e-5)
