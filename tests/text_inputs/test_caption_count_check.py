"""`mmdata check` compares a caption-level table's items per sample with the sample's captions."""
from __future__ import annotations

import numpy as np

from mmdata.checks import check_dataset
from mmdata.records import Sample
from mmdata.store.metadata import FeatureSpec
from tests.checks.builder import FakeTable, build_dataset, image_text_samples, with_value

CAPTION_SPEC = FeatureSpec(dim=4, kind="sequence", item_axis="caption")
TOKENS_SPEC = FeatureSpec(dim=None, dtype="int32", kind="sequence", item_axis="caption")


def caption_table(samples, name="text.minilm.caption") -> FakeTable:
    return FakeTable(name, CAPTION_SPEC, [np.ones((len(s.captions), 4), np.float32) for s in samples])


def tokens_table(samples) -> FakeTable:
    return FakeTable("text.tokens.caption", TOKENS_SPEC,
                     [[np.arange(3, dtype=np.int32) for _ in s.captions] for s in samples])


def caption_issues(report):
    return [i for i in report.issues if i.code == "caption-count"]


def test_one_item_per_caption_passes(tmp_path):
    samples = image_text_samples()
    root = build_dataset(tmp_path / "ds", samples, [caption_table(samples), tokens_table(samples)])
    report = check_dataset(root)
    assert caption_issues(report) == [] and report.ok


def test_a_sample_with_fewer_caption_vectors_is_an_error_naming_it(tmp_path):
    samples = image_text_samples()
    table = with_value(caption_table(samples), 3, np.ones((1, 4), np.float32))  # 2 captions, 1 vector
    root = build_dataset(tmp_path / "ds", samples, [table])
    (issue,) = caption_issues(check_dataset(root))
    assert issue.severity == "error" and issue.table == "text.minilm.caption"
    assert issue.sample_id == samples[3].sample_id and issue.count == 1
    assert "1 items but 2 captions" in issue.message


def test_ragged_token_table_with_an_extra_item_is_an_error(tmp_path):
    samples = image_text_samples()
    table = tokens_table(samples)
    table = with_value(table, 5, [np.arange(3, dtype=np.int32)] * 3)
    table = with_value(table, 7, [np.arange(3, dtype=np.int32)] * 3)
    root = build_dataset(tmp_path / "ds", samples, [table])
    (issue,) = caption_issues(check_dataset(root))
    assert set(issue.examples) == {samples[5].sample_id, samples[7].sample_id} and issue.count == 2


def test_failed_samples_are_not_counted(tmp_path):
    samples = image_text_samples()
    root = build_dataset(tmp_path / "ds", samples, [with_value(caption_table(samples), 2, None)])
    assert caption_issues(check_dataset(root)) == []


def test_a_transcribed_sample_has_one_item(tmp_path):
    samples = [Sample(sample_id=f"s{i}", corpus="manifest", split="all", transcript=f"said {i}") for i in range(4)]
    values = [np.ones((1, 4), np.float32)] * 3 + [np.ones((2, 4), np.float32)]
    root = build_dataset(tmp_path / "ds", samples, [FakeTable("text.minilm.caption", CAPTION_SPEC, values)],
                         corpus_kind="manifest")
    (issue,) = caption_issues(check_dataset(root))
    assert issue.sample_id == "s3" and "2 items but 1 captions" in issue.message


def test_pooled_and_other_sequence_tables_are_not_counted(tmp_path):
    samples = image_text_samples()
    word_spec = FeatureSpec(dim=4, kind="sequence", item_axis="word")
    table = FakeTable("text.other", word_spec, [np.ones((5, 4), np.float32) for _ in samples])
    assert caption_issues(check_dataset(build_dataset(tmp_path / "ds", samples, [table]))) == []
