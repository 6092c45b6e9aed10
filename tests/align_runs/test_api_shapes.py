"""`align_video` and `overlap_pieces` check the shapes of their inputs and name what is off."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.alignment import align_video, overlap_pieces

REFERENCE = np.array([[0.0, 1.0], [1.0, 2.0]])
INTERVALS = np.array([[0.0, 0.5], [0.5, 1.0], [1.0, 1.5], [1.5, 2.0]])


@pytest.mark.parametrize("rows", [6, 3])
def test_align_video_refuses_features_without_one_row_per_interval(rows):
    features = np.arange(float(rows)).reshape(rows, 1)
    with pytest.raises(ValueError, match=rf"sample 'v0': sequence 'audio' has features of {rows} rows \(shape "
                                         rf"\({rows}, 1\)\) but 4 intervals; expected one feature row per interval"):
        align_video(REFERENCE, {"audio": (features, INTERVALS)}, where="sample 'v0'")


def test_align_video_refuses_intervals_that_are_not_start_end_pairs():
    with pytest.raises(ValueError, match=r"intervals of sequence 'audio' have shape \(2, 3\); expected \(rows, 2\)"):
        align_video(REFERENCE, {"audio": (np.ones((2, 1)), np.array([[0.0, 0.5, 9.0], [0.5, 1.0, 9.0]]))})


def test_align_video_refuses_a_reference_that_is_not_start_end_pairs():
    with pytest.raises(ValueError, match=r"reference intervals have shape \(2, 3\); expected \(rows, 2\)"):
        align_video(np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]]), {"audio": (np.ones((4, 1)), INTERVALS)})


def test_align_video_refuses_keep_flags_of_another_length():
    with pytest.raises(ValueError, match=r"keep has shape \(1,\); expected \(2,\): one flag per reference interval"):
        align_video(REFERENCE, {"audio": (np.ones((4, 1)), INTERVALS)}, keep=np.array([True]))


def test_align_video_refuses_a_sequence_that_is_not_a_pair():
    with pytest.raises(ValueError, match=r"sequence 'audio' is a ndarray; expected a \(features, intervals\) pair"):
        align_video(REFERENCE, {"audio": np.ones((4, 1))})


def test_overlap_pieces_refuses_intervals_it_used_to_reshape():
    with pytest.raises(ValueError, match=r"^intervals have shape \(2, 3\); expected \(rows, 2\)"):
        overlap_pieces(REFERENCE, np.array([[0.0, 0.5, 9.0], [0.5, 1.0, 9.0]]))
    with pytest.raises(ValueError, match=r"^reference intervals have shape \(4,\); expected \(rows, 2\)"):
        overlap_pieces(np.array([0.0, 1.0, 1.0, 2.0]), INTERVALS)


def test_well_shaped_and_empty_inputs_still_align():
    aligned = align_video(REFERENCE, {"audio": (np.arange(4.0).reshape(4, 1), INTERVALS), "flat": (np.arange(4.0), INTERVALS)})
    assert aligned.features["audio"].tolist() == [[0.5], [2.5]] and aligned.features["flat"].tolist() == [[0.5], [2.5]]
    empty = align_video(REFERENCE, {"audio": (np.zeros((0, 3)), np.zeros(0))}, on_missing="impute")
    assert empty.features["audio"].shape == (2, 3) and empty.imputed["audio"] == 2
    assert overlap_pieces(np.zeros((0, 2)), INTERVALS).counts.shape == (0,)
