"""Embedded sample corpora (real photographs from scikit-image, hand-written captions)."""
from __future__ import annotations

from pathlib import Path

SAMPLE_CORPORA = {"coco": "coco", "flickr30k": "flickr30k"}


def sample_corpus_dir(kind: str) -> Path:
    """Folder of the embedded sample corpus of a kind ('coco' or 'flickr30k').

    Args:
        kind: the corpus kind whose sample is wanted: 'coco' or 'flickr30k'.

    Returns:
        The folder, in that kind's layout (`extract(kind, sample_corpus_dir(kind), "out/x")` reads it).

    Raises:
        UnknownCorpusError: no sample of that kind ships with mmdata (the message lists those that do).
    """
    if kind not in SAMPLE_CORPORA:
        from mmdata.errors import UnknownCorpusError

        raise UnknownCorpusError(f"no embedded sample corpus {kind!r}; available: {sorted(SAMPLE_CORPORA)}")
    return Path(__file__).resolve().parent / SAMPLE_CORPORA[kind]
