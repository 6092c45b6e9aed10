"""Aligned values are the SDK's: per word, the rows overlapping it (clipped; pieces of eps or less left
out) collapsed with an unweighted mean, max, first or last; zero-length words skipped; a word no row
overlaps dropped from every table, zero-filled or an error. Checked on hand-computed numbers, and on
10,000 frames against a plain NumPy loop restating the SDK's `align`."""
from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.alignment.dataset import align_dataset
from mmdata.cli import app
from tests.alignment.corpus import extract_videos, read_rows, write_corpus

runner = CliRunner()
# w1 has zero length and w3 is shorter than the SDK's eps (1e-5 s): both skipped; no frame overlaps w4.
WORDS = {"v": [("w0", 0.0, 1.0), ("w1", 1.0, 1.0), ("w2", 1.0, 2.5), ("w3", 2.5, 2.500005), ("w4", 3.0, 4.0),
               ("w5", 4.0, 4.5)]}
# f3 only touches w2 (its piece [2.5, 2.5] is empty), f0 and f1 split w0 0.8 s / 0.2 s.
FRAMES = np.array([[0.0, 0.8], [0.8, 2.0], [2.0, 2.5], [2.5, 2.6], [4.2, 4.5]])
VALUES = np.array([[1, 10], [4, 40], [7, 70], [100, 1000], [2, 20]], np.float32)
LONG_ROW = (np.array([[9.0, 9.0, 9.0]], np.float32), np.array([[0.0, 5.0]]))  # FACET: one row over the video
EXPECTED = {  # word index -> collapse -> COVAREP value
    0: {"mean": [2.5, 25], "max": [4, 40], "first": [1, 10], "last": [4, 40]},
    2: {"mean": [5.5, 55], "max": [7, 70], "first": [4, 40], "last": [7, 70]},
    5: {"mean": [2, 20], "max": [2, 20], "first": [2, 20], "last": [2, 20]},
}


@pytest.fixture
def hand_made(tmp_path):
    corpus = write_corpus(tmp_path / "csd", WORDS, {"v": (VALUES, FRAMES)}, {"v": LONG_ROW})
    return extract_videos(corpus, tmp_path / "out")


@pytest.mark.parametrize("collapse", ["mean", "max", "first", "last"])
def test_each_collapse_gives_the_hand_computed_values_and_drops_what_no_row_covers(hand_made, collapse):
    result = runner.invoke(app, ["align", str(hand_made), "-r", "text.words", "--collapse", collapse])
    assert result.exit_code == 0, result.output
    assert "6 intervals, 3 aligned, 1 dropped (no overlap), 2 skipped" in result.output
    covarep = read_rows(hand_made, "audio.covarep@text.words")["v"]
    assert covarep["keys"] == ["v[0]", "v[2]", "v[5]"]
    assert covarep["intervals"] == [[0.0, 1.0], [1.0, 2.5], [4.0, 4.5]]
    assert covarep["feature"] == [EXPECTED[i][collapse] for i in (0, 2, 5)]
    facet = read_rows(hand_made, "video.facet-41@text.words")["v"]  # dropped from every table alike
    assert (facet["keys"], facet["feature"]) == (covarep["keys"], [[9.0, 9.0, 9.0]] * 3)
    assert read_rows(hand_made, "text.words@text.words")["v"]["words"] == ["w0", "w2", "w5"]


def test_the_mean_is_not_weighted_by_overlap(hand_made):
    align_dataset(hand_made, "text.words", tables=["audio.covarep"])
    first_word = read_rows(hand_made, "audio.covarep@text.words")["v"]["feature"][0]
    assert first_word == [2.5, 25.0]  # (1 + 4) / 2; weighted by overlap (0.8 s, 0.2 s) it would be 1.6


def test_a_collapse_weighted_by_overlap_is_a_function_of_the_clipped_pieces(hand_made):
    def weighted(intervals, features):
        return np.average(features, axis=0, weights=intervals[:, 1] - intervals[:, 0])

    align_dataset(hand_made, "text.words", tables=["audio.covarep"], collapse=weighted)
    values = read_rows(hand_made, "audio.covarep@text.words")["v"]["feature"]
    np.testing.assert_allclose(values, [[1.6, 16.0], [5.0, 50.0], [2.0, 20.0]], rtol=1e-6)


def test_impute_zero_fills_the_uncovered_word_and_error_names_it(hand_made):
    align_dataset(hand_made, "text.words", on_missing="impute")
    covarep = read_rows(hand_made, "audio.covarep@text.words")["v"]
    assert covarep["keys"] == ["v[0]", "v[2]", "v[4]", "v[5]"]
    assert covarep["feature"][2] == [0.0, 0.0] and covarep["intervals"][2] == [3.0, 4.0]
    result = runner.invoke(app, ["align", str(hand_made), "-r", "text.words", "--on-missing", "error", "--force"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: sample 'v' aligned to 'text.words': reference interval 4 [3.0, 4.0] overlaps no row of 'audio.covarep' "
        "(1 such intervals); expected every sequence to cover every reference interval; use on_missing='drop' or "
        "'impute' (`mmdata align --on-missing drop|impute --force`)"]


def sdk_loop(words: np.ndarray, intervals: np.ndarray, features: np.ndarray, collapse: str) -> tuple[list[str], list]:
    """The SDK's align of one video, one word at a time: (keys, collapsed rows)."""
    eps = 1e-5
    keys, rows = [], []
    for i, (r0, r1) in enumerate(words):
        if abs(r0 - r1) < eps:
            continue
        hit = ((r1 - intervals[:, 0]) > -eps) & ((intervals[:, 1] - r0) > -eps)
        clipped = np.stack([np.maximum(intervals[hit, 0], r0), np.minimum(intervals[hit, 1], r1)], 1)
        pieces = features[hit][np.abs(clipped[:, 0] - clipped[:, 1]) > eps]
        if len(pieces):
            keys.append(f"v[{i}]")
            rows.append({"mean": np.average(pieces, axis=0), "max": pieces.max(0), "first": pieces[0],
                         "last": pieces[-1]}[collapse])
    return keys, rows


def test_ten_thousand_frames_against_thousands_of_words_equal_the_sdk_loop(tmp_path):
    rng = np.random.default_rng(7)
    starts = np.arange(10_000) / 100  # 100 s of COVAREP at 100 Hz
    frames = np.stack([starts, starts + 0.01], 1)
    values = rng.normal(size=(10_000, 6)).astype(np.float32)
    bounds = np.sort(rng.uniform(0, 101, 3001))  # 3000 words, the last ones past the frames
    words = [(f"w{k}", float(a), float(b)) for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))]
    out = extract_videos(write_corpus(tmp_path / "csd", {"v": words}, {"v": (values, frames)}), tmp_path / "out")
    for collapse in ("mean", "max", "first", "last"):
        align_dataset(out, "text.words", collapse=collapse, force=True)
        row = read_rows(out, "audio.covarep@text.words")["v"]
        keys, expected = sdk_loop(np.stack([bounds[:-1], bounds[1:]], 1), frames, values, collapse)
        assert row["keys"] == keys and len(keys) > 2900
        assert np.array_equal(np.array(row["feature"], np.float32), np.array(expected, np.float32)), collapse
