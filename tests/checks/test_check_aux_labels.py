"""`check_dataset` on the labels corpora keep besides `label`: CH-SIMS's unimodal label_T/A/V and
CMU-MOSEI's six emotion intensities, each inside its range, read only for those corpora."""
from __future__ import annotations

from dataclasses import replace

from mmdata.checks import check_dataset
from mmdata.checks.samples import AuxLabelCheck
from tests.checks.builder import build_dataset, frames_table, mosi_samples

SIMS = {"corpus_kind": "mmsa-raw", "corpus_options": {"dataset": "ch-sims"}}
MOSEI = {"corpus_kind": "csd", "corpus_options": {"dataset": "cmu-mosei"}}


def _dataset(tmp_path, samples, options):
    return build_dataset(tmp_path / "ds", samples, [frames_table("audio.f", samples, 3, 10.0)], **options)


def _sims_samples(edit=None):
    samples = []
    for s in mosi_samples():
        label = round((s.label or 0) / 3, 1)
        extra = {**s.extra, "label_T": label, "label_A": -label, "label_V": 0.0}
        samples.append(replace(s, label=label, extra={**extra, **(edit(s.sample_id) if edit else {})}))
    return samples


def _mosei_samples(edit=None):
    samples = []
    for s in mosi_samples():
        labels = [s.label, 0.0, 1.0 / 3, 2.0, 3.0, 0.0, 0.6666667]
        if edit:
            labels = edit(s.sample_id, labels)
        samples.append(replace(s, extra={**s.extra, "labels": labels}))
    return samples


def test_clean_sims_and_mosei_further_labels_pass(tmp_path):
    assert "aux-label-range" not in check_dataset(_dataset(tmp_path / "a", _sims_samples(), SIMS)).codes()
    assert "aux-label-range" not in check_dataset(_dataset(tmp_path / "b", _mosei_samples(), MOSEI)).codes()


def test_a_sims_unimodal_label_outside_minus_one_one_names_the_label_and_samples(tmp_path):
    def edit(sample_id):
        return {"label_A": 2.0} if sample_id in ("vid1[2]", "vid3[0]") else {}

    report = check_dataset(_dataset(tmp_path, _sims_samples(edit), SIMS))
    found = [i for i in report.issues if i.code == "aux-label-range"]
    assert len(found) == 1 and not report.ok
    issue = found[0]
    assert issue.severity == "error" and issue.count == 2 and issue.sample_id == "vid1[2]"
    assert "label_A 2 of sample 'vid1[2]' is outside [-1, 1]" in issue.message


def test_a_mosei_emotion_below_zero_names_the_emotion(tmp_path):
    def edit(sample_id, labels):
        return [*labels[:3], -1.0, *labels[4:]] if sample_id == "vid2[1]" else labels

    report = check_dataset(_dataset(tmp_path, _mosei_samples(edit), MOSEI))
    issue = next(i for i in report.issues if i.code == "aux-label-range")
    assert issue.sample_id == "vid2[1]" and issue.count == 1
    assert "labels[3] (anger) -1 of sample 'vid2[1]' is outside [0, 3]" in issue.message


def test_corpora_without_further_labels_do_not_read_extra_for_them(tmp_path):
    mosi = {"corpus_kind": "mosi-raw", "corpus_options": {"dataset": "cmu-mosi"}}
    samples = [replace(s, extra={**s.extra, "label_T": 9.0}) for s in mosi_samples()]  # no range for MOSI
    assert "aux-label-range" not in check_dataset(_dataset(tmp_path, samples, mosi)).codes()
    assert not AuxLabelCheck("cmu-mosi").ranges and not AuxLabelCheck(None).ranges


def test_values_that_are_no_numbers_and_extra_that_is_no_object_are_left_to_other_checks():
    import pyarrow as pa

    check = AuxLabelCheck("ch-sims")
    check.add(pa.table({"sample_id": ["a", "b", "c", "d"],
                        "extra": ['{"label_T": "high"}', "[1, 2]", None, '{"label_V": true}']}))
    assert check.issues() == []


def test_a_mosei_label_file_of_other_columns_is_not_checked_as_emotions(tmp_path):
    """Three values per row (sentiment, a binary and a 7-class label, say): the loader named them label_0..2."""
    samples = [replace(s, extra={**s.extra, "labels": [s.label, -1.0, 6.0]}) for s in mosi_samples()]
    path = _dataset(tmp_path, samples, MOSEI)
    from mmdata.store import open_dataset
    from mmdata.store.manifest import write_manifest

    data = open_dataset(path)
    data.manifest.extra.setdefault("loader", {})["label_names"] = ["label_0", "label_1", "label_2"]
    write_manifest(path, data.manifest)
    assert "aux-label-range" not in check_dataset(path).codes()


def test_labels_outside_their_ranges_are_each_named_in_the_one_issue(tmp_path):
    def edit(sample_id, labels):
        if sample_id == "vid0[0]":
            return [labels[0], 3.5, *labels[2:]]
        if sample_id == "vid1[1]":
            return [*labels[:6], -0.5]
        return labels

    report = check_dataset(_dataset(tmp_path, _mosei_samples(edit), MOSEI))
    issue = next(i for i in report.issues if i.code == "aux-label-range")
    assert "labels[1] (happy) 3.5 of sample 'vid0[0]' is outside [0, 3] (1 sample)" in issue.message
    assert "labels[6] (fear) -0.5 of sample 'vid1[1]' is outside [0, 3] (1 sample)" in issue.message
    assert issue.count == 2
