"""The contract every registered corpus loader keeps, run over each kind's fakes (tests/fakes).

A kind registered without a fake fails here: add a writer with `@register_fake(kind, variant)`.
"""
from __future__ import annotations

import re

import pytest

from mmdata.corpora import available_corpora, get_corpus_kind, load_corpus
from mmdata.errors import CorpusFormatError, CorpusNotFoundError
from mmdata.records import samples_to_table
from tests.fakes import FakeCorpus, load_fake_modules

FAKES = load_fake_modules()
CASES = [(kind, variant) for kind in available_corpora() for variant in sorted(FAKES.get(kind) or [None])]


def write_fake(kind: str, variant: str | None, tmp_path) -> FakeCorpus:
    if variant is None:
        pytest.fail(f"corpus kind {kind!r} has no fake corpus; register one in tests/fakes with @register_fake")
    return FAKES[kind][variant](tmp_path / f"{kind}-{variant}")


def load(fake: FakeCorpus):
    return load_corpus(fake.kind, fake.root, split=fake.split, options=fake.options)


pytestmark = pytest.mark.parametrize(("kind", "variant"), CASES, ids=[f"{k}-{v}" for k, v in CASES])


def test_missing_dir_raises_corpus_not_found_naming_the_path(kind, variant, tmp_path):
    missing = tmp_path / "no-such-corpus"
    with pytest.raises(CorpusNotFoundError, match=re.escape(str(missing))):
        load_corpus(kind, missing)
    corpus = get_corpus_kind(kind)  # the loader itself, called without load_corpus's check
    with pytest.raises(CorpusNotFoundError, match=re.escape(str(missing))):
        corpus.load(missing, corpus.options_type(), None)


def test_empty_dir_raises_corpus_not_found(kind, variant, tmp_path):
    with pytest.raises(CorpusNotFoundError, match=re.escape(str(tmp_path))):
        load_corpus(kind, tmp_path)


def test_counts_and_samples_match_the_fake(kind, variant, tmp_path):
    fake = write_fake(kind, variant, tmp_path)
    result = load(fake)
    assert result.problems == []
    assert len(result.samples) == fake.num_examples
    got = {s.sample_id: (s.image, s.audio, s.video, s.captions, s.transcript, s.split) for s in result.samples}
    assert got == {sid: (e.image, e.audio, e.video, e.captions, e.transcript, e.split)
                   for sid, e in fake.expected.items()}
    assert {s.corpus for s in result.samples} == {kind}
    assert all(s.group_id for s in result.samples)
    for sample in result.samples:  # every media path is relative and exists under the root
        for path in (sample.image, sample.audio, sample.video):
            assert path is None or (not path.startswith("/") and (fake.root / path).is_file())


def test_ids_are_unique_and_stable_across_loads(kind, variant, tmp_path):
    fake = write_fake(kind, variant, tmp_path)
    first = [s.sample_id for s in load(fake).samples]
    second = [s.sample_id for s in load(fake).samples]
    assert first == second
    assert len(set(first)) == len(first)
    table = samples_to_table(load(fake).samples)
    assert table.column("sample_id").to_pylist() == sorted(first)


def test_corrupted_line_raises_format_error_naming_file_and_line(kind, variant, tmp_path):
    fake = write_fake(kind, variant, tmp_path)
    where = fake.corrupt()
    with pytest.raises(CorpusFormatError, match=re.escape(where) + ":"):
        load(fake)
