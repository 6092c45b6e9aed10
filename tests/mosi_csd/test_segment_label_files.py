"""Only a label sequence cuts videos into segments: a feature .csd given as labels is refused."""
from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.alignment import segment_dataset
from mmdata.cli import app
from mmdata.corpora import load_corpus
from mmdata.errors import CorpusFormatError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import COVAREP_FILE, SEGMENTS, WORDS_FILE, write_mosi_csd, write_sdk_csd

runner = CliRunner()


@pytest.fixture
def videos(tmp_path):
    """Whole videos of the fake CMU-MOSI .csd folder (labels left out)."""
    write_mosi_csd(tmp_path / "csd")
    extract("csd", tmp_path / "csd", tmp_path / "videos", extractors=[], corpus_options={"labels": "none"},
            num_workers=0)
    return tmp_path / "videos"


def labels_of(columns: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The fake's opinion segments with `columns` values per row (the first the sentiment)."""
    return {vid: (np.array([[s] + [0.5] * (columns - 1) for _, _, s in segs], np.float32),
                  np.array([[a, b] for a, b, _ in segs]))
            for vid, segs in SEGMENTS.items()}


def test_a_feature_sequence_given_as_labels_is_a_one_line_error(tmp_path, videos):
    covarep = tmp_path / "csd" / COVAREP_FILE
    with pytest.raises(CorpusFormatError, match=rf"^{covarep}: not a label sequence: features of dim 4 \(root "
                                                r"'COAVAREP'\), expected 1 label value per interval .*; pass the "
                                                r"label file with --labels"):
        segment_dataset(videos, tmp_path / "out", covarep)
    assert not (tmp_path / "out").exists()
    result = runner.invoke(app, ["segment", str(videos), str(tmp_path / "out"), "--labels", str(covarep)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "not a label sequence: features of dim 4" in result.output
    with pytest.raises(CorpusFormatError, match=r"not a label sequence: holds words"):
        segment_dataset(videos, tmp_path / "out", tmp_path / "csd" / WORDS_FILE)


def test_one_value_per_row_or_a_label_name_makes_a_label_file(tmp_path, videos):
    plain = write_sdk_csd(tmp_path / "sentiment.csd", "Sentiment", labels_of(1))  # dim 1: labels, whatever the name
    assert segment_dataset(videos, tmp_path / "plain", plain).samples == 5
    mosei = write_sdk_csd(tmp_path / "CMU_MOSEI_Labels.csd", "All Labels", labels_of(7))  # 7 values, named labels
    assert segment_dataset(videos, tmp_path / "mosei", mosei).samples == 5
    samples = open_dataset(tmp_path / "mosei").samples_table().to_pylist()
    assert samples[0]["label"] == 2.5
    unnamed = write_sdk_csd(tmp_path / "emotions.csd", "Emotions", labels_of(7))
    with pytest.raises(CorpusFormatError, match=r"emotions\.csd: not a label sequence: features of dim 7 \(root 'Emotions'\)"):
        segment_dataset(videos, tmp_path / "unnamed", unnamed)


def test_the_csd_loader_refuses_a_feature_file_named_as_labels(tmp_path):
    write_mosi_csd(tmp_path / "csd")
    with pytest.raises(CorpusFormatError, match=r"CMU_MOSI_COVAREP\.csd: not a label sequence: features of dim 4 .*"
                                                r"option labels='CMU_MOSI_COVAREP' names it"):
        load_corpus("csd", tmp_path / "csd", options={"labels": "CMU_MOSI_COVAREP"})
    assert len(load_corpus("csd", tmp_path / "csd", options={"labels": "CMU_MOSI_Opinion_Labels"}).samples) == 5
