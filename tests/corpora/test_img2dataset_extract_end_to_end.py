"""`mmdata extract img2dataset` end to end on both output formats, in this process (`-j 0`) and in worker processes
(`-j 2`, the tar members read there, shard 2 held out as val): a row per downloaded image, the failed URLs and the
missing image in the errors table, the same colour histograms from the folder and the tars, a `check` that exits 0,
and `fuse`."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.corpora.img2dataset import DOWNLOAD_FAILED
from mmdata.store import open_dataset
from tests.corpora.cli_extract import run_mmdata
from tests.fakes.img2dataset import FAILED, MISSING_IMAGE, write_fake_img2dataset

COLORS_AND_WORDS = ("--image", "color-hist:bins=4", "--text", "hashed-bow")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("img2dataset")
    runs = {}
    for fmt in ("files", "webdataset"):
        fake = write_fake_img2dataset(tmp / fmt, fmt)
        for workers in ("0", "2"):
            out = tmp / f"out-{fmt}-{workers}"
            holdout = ("-o", "val_shards=2") if workers == "2" else ()  # a train split for fuse's statistics
            run_mmdata("extract", "img2dataset", str(fake.root), str(out), *COLORS_AND_WORDS, "-j", workers, "-q",
                       *holdout)
            runs[fmt, workers] = fake, open_dataset(out)
    return tmp, runs


@pytest.mark.parametrize("fmt", ["files", "webdataset"])
@pytest.mark.parametrize("workers", ["0", "2"])
def test_every_downloaded_image_is_a_row_and_every_failure_an_error(extracted, fmt, workers):
    _, runs = extracted
    fake, data = runs[fmt, workers]
    rows = {r["sample_id"]: (r["image"], tuple(r["captions"])) for r in data.samples_table().to_pylist()}
    assert rows == fake.pairs()
    ids, hist = data.to_numpy("image.color-hist")
    assert sorted(ids) == sorted(fake.expected) and hist.shape == (5, 12)
    np.testing.assert_allclose(hist.reshape(5, 3, 4).sum(axis=2), 1.0, rtol=1e-5)
    assert sorted(data.to_numpy("text.hashed-bow")[0]) == sorted(fake.expected)
    errors = {e["sample_id"]: e for e in data.errors().to_pylist()}
    assert sorted(errors) == sorted([*FAILED, MISSING_IMAGE]) and {e["table"] for e in errors.values()} == {"loader"}
    assert all(errors[key]["error_type"] == DOWNLOAD_FAILED and status in errors[key]["reason"]
               for key, (status, _) in FAILED.items())


def test_folder_and_tars_give_the_same_features_in_and_out_of_worker_processes(extracted):
    _, runs = extracted
    tables = [runs[key][1].to_numpy("image.color-hist") for key in sorted(runs)]
    for ids, values in tables[1:]:
        assert list(ids) == list(tables[0][0])
        np.testing.assert_array_equal(values, tables[0][1])


@pytest.mark.parametrize("fmt", ["files", "webdataset"])
def test_check_exits_0_and_fuse_succeeds(extracted, fmt):
    tmp, runs = extracted
    _, data = runs[fmt, "2"]
    run_mmdata("check", str(data.root))
    fused = tmp / f"fused-{fmt}"
    splits = {r["sample_id"]: r["split"] for r in data.samples_table().to_pylist()}
    assert splits == {key: "val" if key.startswith("00002") else "train" for key in splits}
    run_mmdata("fuse", str(data.root), str(fused))
    assert any(fused.iterdir())
