"""`mmdata align` refusals are one line that names the table and says what to do: an unknown table (with
the closest name), a pooled table, an output name held by a table align did not write; and a run says
which samples ended up aligned to no interval (no reference row, or every one dropped)."""
from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.alignment.dataset import align_dataset
from mmdata.cli import app
from mmdata.errors import DatasetError, UnknownNameError
from mmdata.pipeline import extract
from tests.alignment.corpus import extract_videos, read_rows, write_corpus

runner = CliRunner()
WORDS = {"talk": [("a", 0.0, 1.0), ("b", 1.0, 2.0)], "silent": [], "late": [("x", 5.0, 6.0)]}
FRAMES = {v: (np.ones((4, 2), np.float32), np.array([[0.0, 0.5], [0.5, 1.0], [1.0, 1.5], [1.5, 2.0]])) for v in WORDS}


@pytest.fixture
def dataset(tmp_path):
    return extract_videos(write_corpus(tmp_path / "csd", WORDS, FRAMES), tmp_path / "out")


def error_lines(*args):
    result = runner.invoke(app, list(map(str, args)))
    assert result.exit_code == 2, result.output
    return result.output.strip().splitlines()


def test_an_unknown_table_is_named_with_its_role_and_the_closest_name(dataset):
    [line] = error_lines("align", dataset, "-r", "text.Words")
    assert line == (f"error: reference 'text.Words' of align: dataset {dataset} has no table 'text.Words'; tables: "
                    "['audio.covarep', 'text.words']; did you mean 'text.words'?")
    with pytest.raises(UnknownNameError, match=r"^table 'audio.covarp' of align: .*did you mean 'audio.covarep'\?$"):
        align_dataset(dataset, "text.words", tables=["audio.covarp"])


def test_a_pooled_table_is_refused_in_plain_words(tmp_path, dataset):
    extract("csd", tmp_path / "csd", dataset, corpus_options={"labels": "none"}, extractors=["hashed-bow:dim=4"],
            num_workers=0)
    [line] = error_lines("align", dataset, "-r", "text.hashed-bow")
    assert line == ("error: reference 'text.hashed-bow' is not a temporal table (pooled: one vector per sample); align "
                    "needs sequence tables with intervals; temporal tables: ['audio.covarep', 'text.words']")


def test_an_output_name_held_by_a_table_align_did_not_write_is_refused_unless_forced(tmp_path):
    corpus = write_corpus(tmp_path / "csd", WORDS, FRAMES)
    (corpus / "COPY.csd").write_bytes((corpus / "CMU_MOSI_COVAREP.csd").read_bytes())
    out = extract_videos(corpus, tmp_path / "out", tables="COPY=audio.covarep@text.words")
    [line] = error_lines("align", out, "-r", "text.words")
    assert line == (f"error: table 'audio.covarep@text.words' of {out} is not an output of align (extractor "
                    "'precomputed', read from COPY.csd); aligning 'audio.covarep' to 'text.words' would replace it; "
                    "expected that name free: leave 'audio.covarep' out (-t), or pass --force to replace "
                    "'audio.covarep@text.words' with 'audio.covarep' aligned to 'text.words'")
    assert read_rows(out, "audio.covarep@text.words")["talk"]["feature"] == [[1.0, 1.0]] * 4  # untouched
    with pytest.raises(DatasetError, match="is not an output of align"):
        align_dataset(out, "text.words", tables=["audio.covarep"])
    align_dataset(out, "text.words", tables=["audio.covarep"], force=True)
    assert read_rows(out, "audio.covarep@text.words")["talk"]["keys"] == ["talk[0]", "talk[1]"]


def test_the_command_says_how_many_samples_are_aligned_to_no_interval(dataset):
    result = runner.invoke(app, ["align", str(dataset), "-r", "text.words"])
    assert result.exit_code == 0, result.output
    assert ("2 samples aligned to no interval (no reference row, or every one dropped or skipped), e.g. 'late': empty "
            "sequences in every output") in result.output


def test_samples_aligned_to_no_interval_are_named_in_the_report(dataset):
    report = align_dataset(dataset, "text.words")
    assert sorted(report.empty_samples) == ["late", "silent"]
    assert "2 samples aligned to no interval: ['late', 'silent']" in repr(report)
    rows = read_rows(dataset, "audio.covarep@text.words")
    assert (rows["silent"]["feature"], rows["late"]["feature"], len(rows["talk"]["feature"])) == ([], [], 2)
