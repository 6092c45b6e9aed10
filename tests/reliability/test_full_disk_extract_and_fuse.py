"""`extract` and `fuse` on a full disk (a file-size limit: the same refusal at the same writes, `EFBIG` for
`ENOSPC`): one line naming the file (extract: the shard or moments file; fuse: the export folder) and
what the system said, exit 2, no traceback (pyarrow's OSError names no file, and was printed as a bug);
no temporary file is left, and the same command with room again finishes with the output a run that
never failed writes.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as pads
import pytest

from mmdata.fusion import FUSED_METADATA, fuse
from mmdata.pipeline import extract
from mmdata.store.layout import shard_files
from mmdata.store.moments import stored_moments
from mmdata.store.reader import open_dataset
from tests.reliability.fake_coco import write_fake_coco
from tests.reliability.long_mosi import assert_same_dataset
from tests.reliability.test_temporal_commands_unwritable_outputs import one_line, run_limited

EXTRACTORS = ["color-hist", "hashed-bow"]
#: Bytes a file may grow to: the samples shards, the manifest and the image table's files fit; a text
#: table's moments file (~18 KB) and a fused export's data file (~19 KB) do not.
FILE_LIMIT = 10_000
HINT = "; check that the path can be written there (permissions, free space, a real folder)"
FUSE_OPTIONS = ["--normalize", "zscore", "--stats-split", "val2017"]


@pytest.fixture(scope="module")
def corpus_and_reference(tmp_path_factory) -> tuple[Path, Path]:
    """A COCO corpus of 40 images and its dataset (shards of 10 rows), extracted with room to spare."""
    tmp = tmp_path_factory.mktemp("full-disk")
    corpus = write_fake_coco(tmp / "coco", 40).root
    extract("coco", corpus, tmp / "reference", extractors=EXTRACTORS, shard_size=10, num_workers=0, progress=False)
    return corpus, tmp / "reference"


def temporary_files(folder: Path) -> list[str]:
    """Files a failed write left: hidden names other than the moments folder (`.moments/`)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if any(part.startswith(".") and part != ".moments" for part in p.relative_to(folder).parts))


def test_a_full_disk_during_extract_is_one_line_and_the_same_command_finishes(corpus_and_reference, tmp_path):
    corpus, reference = corpus_and_reference
    work = tmp_path / "work"
    command = ["extract", "coco", str(corpus), str(work), "--image", "color-hist", "--text", "hashed-bow",
               "--shard-size", "10", "-q"]
    error = one_line(run_limited(*command, cwd=tmp_path, file_limit=FILE_LIMIT))
    assert error.startswith(f"error: File too large: {work}/features/text.hashed-bow/") and error.endswith(HINT)
    assert temporary_files(work) == []
    assert open_dataset(work).manifest.tables["image.color-hist"].complete  # finished before the disk was full

    done = run_limited(*command, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 already done" in done.stdout  # resumed: the shard published before its moments was kept
    assert_same_dataset(work, reference)
    text = open_dataset(work).entry("text.hashed-bow")
    fingerprint, dim = open_dataset(work).manifest.samples["fingerprint"], int(text.spec["dim"])
    for shard in shard_files(work / "features" / "text.hashed-bow"):  # moments written for every shard
        assert stored_moments(shard, dim, fingerprint) is not None, shard
    assert temporary_files(work) == []


def test_a_full_disk_during_fuse_is_one_line_and_the_same_command_finishes(corpus_and_reference, tmp_path):
    _, reference = corpus_and_reference
    want = tmp_path / "want"
    fuse(reference, want, normalize="zscore", stats_splits=("val2017",))
    out = tmp_path / "exports" / "fused"
    command = ["fuse", str(reference), str(out), *FUSE_OPTIONS]
    error = one_line(run_limited(*command, cwd=tmp_path, file_limit=FILE_LIMIT))
    assert error == f"error: File too large: {out}{HINT}"  # the folder named, not the hidden one written in
    assert not (tmp_path / "exports").exists()  # no half export, staging folder or lock file

    done = run_limited(*command, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    got, expected = (pads.dataset(folder / "data").to_table() for folder in (out, want))
    assert got.equals(expected, check_metadata=True)
    assert (out / FUSED_METADATA).is_file()
