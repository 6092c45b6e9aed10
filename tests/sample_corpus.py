"""Copies of the embedded sample corpora in tmp_path, for tests that need to break or extend them."""
from __future__ import annotations

import shutil
from pathlib import Path

from mmdata.sample_data import sample_corpus_dir


def copy_sample_corpus(kind: str, tmp_path: Path) -> Path:
    target = tmp_path / f"{kind}-corpus"
    shutil.copytree(sample_corpus_dir(kind), target)
    return target
