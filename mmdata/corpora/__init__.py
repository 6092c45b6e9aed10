"""Corpus loaders: one module per corpus family, all with the same signature (see `base.py`)."""
from mmdata.corpora.base import (
    LoadProblem,
    LoadResult,
    available_corpora,
    get_corpus_kind,
    load_corpus,
    register_corpus,
)

__all__ = ["LoadProblem", "LoadResult", "available_corpora", "get_corpus_kind", "load_corpus", "register_corpus"]
