"""A rerun with another collapse function is another setting: refused without force, never reported as
up to date with the old function's values; the same function (even redefined alike, or in a new
process) resumes. Functions returning vectors of different lengths are named, with the interval."""
from __future__ import annotations

import functools
import subprocess
import sys

import numpy as np
import pytest

from mmdata.alignment.collapse_setting import collapse_config, function_fingerprint
from mmdata.alignment.core import CollapseWidthError, align_video
from mmdata.alignment.dataset import align_dataset
from mmdata.errors import DatasetError
from tests.alignment.corpus import extract_videos, read_rows, write_corpus

WORDS = {"v": [("a", 0.0, 1.0), ("b", 1.0, 2.0)]}
FRAMES = (np.array([[1.0], [3.0], [5.0], [7.0]], np.float32), np.array([[0.0, 0.5], [0.5, 1.0], [1.0, 1.5], [1.5, 2.0]]))


@pytest.fixture
def dataset(tmp_path):
    return extract_videos(write_corpus(tmp_path / "csd", WORDS, {"v": FRAMES}), tmp_path / "out")


def test_a_second_lambda_is_refused_instead_of_reported_up_to_date(dataset):
    align_dataset(dataset, "text.words", collapse=lambda intervals, features: features.mean(0))
    assert align_dataset(dataset, "text.words", collapse=lambda intervals, features: features.mean(0)).up_to_date
    with pytest.raises(DatasetError, match=r"was made with collapse_code=[0-9a-f]{16}, not collapse_code=[0-9a-f]{16} "
                                           r"\(other options equal\); pass --force"):
        align_dataset(dataset, "text.words", collapse=lambda intervals, features: features.max(0))
    assert read_rows(dataset, "audio.covarep@text.words")["v"]["feature"] == [[2.0], [6.0]]
    report = align_dataset(dataset, "text.words", collapse=lambda intervals, features: features.max(0), force=True)
    assert not report.up_to_date
    assert read_rows(dataset, "audio.covarep@text.words")["v"]["feature"] == [[3.0], [7.0]]


def test_captured_values_and_partial_arguments_are_part_of_the_setting():
    def scaled(factor):
        return lambda intervals, features: features.mean(0) * factor

    assert function_fingerprint(scaled(2)) == function_fingerprint(scaled(2))
    assert function_fingerprint(scaled(2)) != function_fingerprint(scaled(3))
    median, upper = (functools.partial(np.quantile, q=q, axis=0) for q in (0.5, 0.9))
    assert function_fingerprint(median) != function_fingerprint(upper)
    assert collapse_config("mean") == {"collapse": "mean"}
    assert collapse_config(median)["collapse"] == "partial(quantile)"  # its repr would hold a memory address


def test_the_fingerprint_is_the_same_in_another_process():
    code = ("import numpy as np\nfrom mmdata.alignment.collapse_setting import function_fingerprint\n"
            "g = np.mean\nprint(function_fingerprint(lambda intervals, features: g(features, axis=0) + np.zeros(3)))")
    prints = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
              for _ in range(2)}
    assert len(prints) == 1 and len(prints.pop().strip()) == 16


def test_a_function_returning_vectors_of_different_lengths_names_the_sequence_and_interval():
    reference = np.array([[0.0, 1.0], [1.0, 2.0]])
    features = np.array([[1.0], [2.0], [3.0]])
    intervals = np.array([[0.0, 1.0], [1.0, 1.5], [1.5, 2.0]])
    with pytest.raises(CollapseWidthError, match=r"^sample 'v': sequence 'audio': collapse function '.*<lambda>' "
                                                 r"returned 2 values for reference interval 1 \(2 rows\) but 1 for "
                                                 r"interval 0; expected one vector of the same length"):
        align_video(reference, {"audio": (features, intervals)}, collapse=lambda i, f: f.reshape(-1), where="sample 'v'")
