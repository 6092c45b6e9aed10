"""One run at a time writes an output folder: a second fuse (or a share, or a segment) into the same
folder is refused at once instead of both checking it may be written and the later one replacing the
other's export without --force."""
from __future__ import annotations

from dataclasses import replace

import pytest

from mmdata.errors import DatasetBusyError, DatasetError
from mmdata.fusion import fuse, read_fused_metadata
from mmdata.store.lock import output_lock
from tests.checks.builder import build_dataset, image_text_samples, pooled_table

S = image_text_samples()


@pytest.fixture
def dataset(tmp_path):
    tables = [replace(pooled_table("image.a", S, 4), table_format="arrow"),
              replace(pooled_table("text.b", S, 3, seed=1), table_format="arrow")]
    return build_dataset(tmp_path / "ds", S, tables, shard_size=5)


@pytest.mark.parametrize("holder", ["fuse", "share", "segment"])
def test_a_fuse_into_a_folder_another_run_writes_is_refused_and_writes_nothing(tmp_path, dataset, holder):
    out = tmp_path / "exports" / "fused"
    with output_lock(out, holder):  # another process's run, holding the folder's lock now
        with pytest.raises(DatasetBusyError, match=rf"output folder {out} is being written by another mmdata "
                                                   r"process now .*run this fuse when that one has finished"):
            fuse(dataset, out, format="arrow")
        assert sorted(p.name for p in out.parent.iterdir()) == [".fused.lock"]
    assert not out.parent.exists()  # the folder made for the lock goes with it


def test_the_lock_is_released_and_its_file_removed_when_a_fuse_ends(tmp_path, dataset):
    out = tmp_path / "fused"
    fuse(dataset, out, format="arrow")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "fused"]
    fuse(dataset, out, format="npy", overwrite=True)
    assert read_fused_metadata(out)["format"] == "npy"


def test_a_failed_fuse_releases_the_lock(tmp_path, dataset):
    out = tmp_path / "fused"
    with pytest.raises(DatasetError, match="no feature table .audio."):
        fuse(dataset, out, tables=("audio",))
    with output_lock(out, "fuse"):  # free again
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
