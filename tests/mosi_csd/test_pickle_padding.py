"""Padding in processed pickles: MMSA text trimmed to the BERT attention mask, MulT left zero padding on request."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from mmdata.corpora import load_corpus
from mmdata.errors import ConfigError, CorpusFormatError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import mult_split

LT, DIM = 6, 4
REAL_TOKENS = [3, 6, 1]  # per sample, [CLS] and [SEP] included


def mmsa_part(real_tokens=REAL_TOKENS, *, left=False):
    """An MMSA split whose text is zero-padded to LT and whose text_bert mask marks the real tokens."""
    n = len(real_tokens)
    steps = np.arange(LT)[None, :]
    lengths = np.array(real_tokens)[:, None]
    mask = (steps >= LT - lengths) if left else (steps < lengths)
    text = np.random.default_rng(0).normal(size=(n, LT, DIM)).astype(np.float32) * mask[:, :, None]
    ids = np.where(mask, 100 + steps, 0)
    text_bert = np.stack([ids, mask, np.zeros_like(ids)], axis=1).astype(np.float32)
    return {"id": [f"v{k}$_$1" for k in range(n)], "regression_labels": np.zeros(n, np.float32), "text": text,
            "text_bert": text_bert, "audio": np.ones((n, 5, 2), np.float32), "audio_lengths": np.array([5, 2, 4])}


def write_pickle(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(data, f)
    return path


def read_table(result, name):
    table = next(t for t in result.tables if t.name == name)
    return table, {row.sample_id: row.features for row in table.read([s.sample_id for s in result.samples])}


def test_mmsa_text_is_trimmed_to_the_attention_mask_by_default_and_the_metadata_says_so(tmp_path):
    part = mmsa_part()
    write_pickle(tmp_path / "mmsa" / "aligned.pkl", {"train": part})
    result = load_corpus("mmsa", tmp_path / "mmsa")
    text, rows = read_table(result, "text.mmsa")
    tokens, token_rows = read_table(result, "text.mmsa-tokens")
    for k, real in enumerate(REAL_TOKENS):
        assert np.array_equal(rows[f"v{k}$_$1"], part["text"][k][:real])
        assert token_rows[f"v{k}$_$1"][:, 0].tolist() == list(range(100, 100 + real))  # ids stay step-aligned with text
    assert text.config["padding"] == tokens.config["padding"] == "trimmed to the text_bert attention mask"
    by_mask = "trimmed to the text_bert attention mask"
    assert result.metadata["padding"] == {"audio.mmsa": "trimmed to audio_lengths", "text.mmsa": by_mask,
                                          "text.mmsa-tokens": by_mask}
    extract("mmsa", tmp_path / "mmsa", tmp_path / "out", extractors=[], num_workers=0)
    dataset = open_dataset(tmp_path / "out")
    assert dataset.manifest.extra["loader"]["padding"]["text.mmsa"] == "trimmed to the text_bert attention mask"
    assert dataset.entry("text.mmsa").config["padding"] == "trimmed to the text_bert attention mask"


def test_mmsa_text_padding_keep_keeps_every_step_and_a_mask_at_the_start_selects_the_real_tokens(tmp_path):
    part = mmsa_part(left=True)
    write_pickle(tmp_path / "mmsa" / "x.pkl", {"train": part})
    table, rows = read_table(load_corpus("mmsa", tmp_path / "mmsa", options={"text_padding": "keep"}), "text.mmsa")
    assert table.config["padding"] == "kept" and {r.shape for r in rows.values()} == {(LT, DIM)}
    _, rows = read_table(load_corpus("mmsa", tmp_path / "mmsa"), "text.mmsa")
    assert np.array_equal(rows["v0$_$1"], part["text"][0][LT - 3:])


def test_mmsa_without_text_bert_keeps_text_and_a_text_bert_of_another_length_is_refused(tmp_path):
    part = mmsa_part()
    write_pickle(tmp_path / "a" / "x.pkl", {"train": {k: v for k, v in part.items() if k != "text_bert"}})
    table, rows = read_table(load_corpus("mmsa", tmp_path / "a"), "text.mmsa")
    assert table.config["padding"] == "kept" and rows["v0$_$1"].shape == (LT, DIM)
    write_pickle(tmp_path / "b" / "x.pkl", {"train": {**part, "text_bert": part["text_bert"][:, :, :4]}})
    with pytest.raises(CorpusFormatError, match=r"x\.pkl: split 'train' has text \(3, 6, 4\) and text_bert \(3, 3, 4\); "
                                                r"expected .* one Lt .* text_padding=keep"):
        load_corpus("mmsa", tmp_path / "b")
    assert len(load_corpus("mmsa", tmp_path / "b", options={"text_padding": "keep"}).tables) == 3


def mult_padded(length=5, lead=(2, 0, 5)):
    """A MulT split whose sample k starts with lead[k] zero steps in every modality (left padding)."""
    part = mult_split("train", len(lead), seed=3, length=length)
    part["audio"][0, 0, 1] = 0.0  # no -inf here
    for k, n in enumerate(lead):
        for key in ("audio", "vision", "text"):
            part[key][k, :n] = 0
    part["vision"][0, 2] = 0  # a real all-zero frame (no face found) right after the padding
    return part


def test_mult_left_padding_is_kept_by_default_and_trimmed_jointly_on_request_in_aligned_files(tmp_path):
    part = mult_padded()
    write_pickle(tmp_path / "mult" / "mosi_data.pkl", {"train": part})
    result = load_corpus("mult", tmp_path / "mult")
    assert set(result.metadata["padding"].values()) == {"kept"}
    _, rows = read_table(result, "video.mult")
    assert {r.shape[0] for r in rows.values()} == {5}
    result = load_corpus("mult", tmp_path / "mult", options={"left_padding": "trim-zeros"})
    ids = [s.sample_id for s in result.samples]
    for name, key in (("audio.mult", "audio"), ("video.mult", "vision"), ("text.mult", "text")):
        table, rows = read_table(result, name)
        assert table.config["padding"] == "leading steps zero in audio+vision+text dropped"
        assert [rows[i].shape[0] for i in ids] == [3, 5, 0]
        assert np.array_equal(rows[ids[0]], part[key][0, 2:].reshape(3, -1))  # the zero vision frame stays
    with pytest.raises(ConfigError, match="unknown option 'text_padding'"):
        load_corpus("mult", tmp_path / "mult", options={"text_padding": "keep"})


def test_mult_trim_zeros_goes_by_modality_when_lengths_differ(tmp_path):
    part = mult_padded()
    part["audio"] = np.concatenate([np.zeros((3, 2, 5), np.float32), part["audio"]], axis=1)  # unaligned: 7 steps
    write_pickle(tmp_path / "mult" / "mosi_data_noalign.pkl", {"train": part})
    result = load_corpus("mult", tmp_path / "mult", options={"left_padding": "trim-zeros"})
    ids = [s.sample_id for s in result.samples]
    audio, audio_rows = read_table(result, "audio.mult")
    video, video_rows = read_table(result, "video.mult")
    assert audio.config["padding"] == "leading steps zero in audio dropped"
    assert [audio_rows[i].shape[0] for i in ids] == [3, 5, 0]
    assert [video_rows[i].shape[0] for i in ids] == [2, 5, 0]  # alone, vision's zero frame looks like padding
