"""No command writes a dataset, export or share into another dataset's table folders (samples/,
features/, errors/) or inside a fused export: readers take every file there for a shard, and
`mmdata extract ... DATASET/samples` made `pyarrow.dataset.dataset("DATASET/samples")` fail on the nested
mmdata.json ("Parquet magic bytes not found"). The refusal is one line naming the dataset it would damage,
and nothing is written. A new folder elsewhere inside a dataset (`DATASET/sub`) stays allowed.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.dataset as pads
import pytest
from typer.testing import CliRunner

from mmdata.alignment.segment import segment_dataset
from mmdata.cli import app
from mmdata.fusion import FUSED_METADATA, fuse
from mmdata.pipeline import extract
from mmdata.share import share_dataset
from mmdata.store.output_files import FUSED_EXPORT_MARKER, OutputPathError
from mmdata.store.reader import open_dataset
from tests.cli_errors import one_line_error

runner = CliRunner()
TABLE = "image.pixel-stats"
#: Folders inside a dataset no output directory may be (or lie in), by the folder the refusal names.
INSIDE = [
    ("samples", "samples"),
    ("samples/nested", "samples"),
    (f"features/{TABLE}", "features"),
    (f"features/{TABLE}/nested", "features"),
    ("features/new-table", "features"),
    ("errors", "errors"),
    ("errors/nested", "errors"),
]
FOLDER_WORDS = {"samples": "samples table", "features": "feature tables", "errors": "errors tables"}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _corpus(dataset: Path) -> str:
    return open_dataset(dataset).manifest.corpus["root"]


def _assert_readable(dataset: Path) -> None:
    """The dataset opens, and plain pyarrow reads its samples and feature tables."""
    opened = open_dataset(dataset)
    rows = opened.samples_table().num_rows
    assert pads.dataset(dataset / "samples").to_table().num_rows == rows
    assert pads.dataset(dataset / "features" / TABLE).to_table().num_rows == rows


@pytest.mark.parametrize(("inside", "folder"), INSIDE)
def test_extract_into_a_table_folder_is_one_line_and_writes_nothing(dataset, inside, folder):
    before = _files(dataset)
    out = dataset / inside
    result = runner.invoke(app, ["extract", "coco", _corpus(dataset), str(out), "--image", "pixel-stats", "-q"])
    root = dataset.resolve()
    assert one_line_error(result) == (
        f"error: OUTPUT_DIR {out} lies in the {FOLDER_WORDS[folder]} folder {folder}/ of the dataset {root}, whose "
        "files mmdata and pyarrow read as its tables; writing there would damage that dataset for every reader; "
        f"choose a folder outside it, e.g. {root.parent / f'ds-{out.name}'}")
    assert _files(dataset) == before
    _assert_readable(dataset)


def test_the_library_refuses_what_the_cli_refuses(dataset, tmp_path):
    """`extract`, `fuse`, `share_dataset` and `segment_dataset` into another dataset's tables: refused
    before anything is read or written (fuse and share refused only their own input's folders before)."""
    other = Path(shutil.copytree(dataset, tmp_path / "other"))
    before = _files(other)
    calls = {
        "extract": lambda out: extract("coco", _corpus(dataset), out, extractors=["pixel-stats"], num_workers=0),
        "fuse": lambda out: fuse(dataset, out, normalize="l2"),
        "share": lambda out: share_dataset(dataset, out),
        "segment": lambda out: segment_dataset(dataset, out, tmp_path / "labels.csd"),
    }
    for command, call in calls.items():
        for inside in ("samples", "features/x", "errors/y/z"):
            with pytest.raises(OutputPathError) as refused:
                call(other / inside)
            message = str(refused.value)
            assert f" of the dataset {other.resolve()}, whose files mmdata and pyarrow read as its tables" in message
            assert "\n" not in message, command
    assert _files(other) == before
    _assert_readable(other)


@pytest.mark.parametrize("args", [
    ["fuse", "{ds}", "{other}/features/fused", "--normalize", "l2"],
    ["share", "{ds}", "-o", "{other}/samples/shared"],
    ["segment", "{ds}", "{other}/errors/segments", "-l", "{other}/labels.csd"],
])
def test_fuse_share_and_segment_into_a_table_folder_are_one_line(dataset, tmp_path, args):
    other = Path(shutil.copytree(dataset, tmp_path / "other"))
    before = _files(other)
    result = runner.invoke(app, [a.format(ds=dataset, other=other) for a in args])
    assert f"of the dataset {other.resolve()}, whose files mmdata and pyarrow read" in one_line_error(result)
    assert _files(other) == before


def test_nothing_is_written_inside_a_fused_export_nor_into_a_shares_tables(dataset, shared, tmp_path):
    export = tmp_path / "fused"
    fuse(dataset, export, normalize="l2", tables=[TABLE])
    before = _files(export)
    for out in (export / "data", export / "data" / "x", export / "other"):
        result = runner.invoke(app, ["extract", "coco", _corpus(dataset), str(out), "--image", "pixel-stats", "-q"])
        assert f"lies inside the fused export {export.resolve()}, whose folders hold its data" in one_line_error(result)
        with pytest.raises(OutputPathError, match="lies inside the fused export"):
            fuse(dataset, out, normalize="l2")
    assert _files(export) == before
    fuse(dataset, export, normalize="l2", tables=[TABLE], overwrite=True)  # the export itself is replaced as before
    result = runner.invoke(app, ["extract", "coco", _corpus(dataset), str(shared / "samples" / "x"), "-q"])
    assert f"samples/ of the dataset {shared.resolve()}" in one_line_error(result)


def test_the_fused_export_marker_is_the_one_fuse_writes():
    assert FUSED_EXPORT_MARKER == FUSED_METADATA


def test_a_new_folder_inside_a_dataset_root_stays_allowed_and_harms_nothing(dataset):
    """`DATASET/sub` is no table folder: no reader of the dataset lists it (as `DATASET/fused`)."""
    before = _files(dataset)
    extract("coco", _corpus(dataset), dataset / "sub", extractors=["pixel-stats"], num_workers=0)
    assert open_dataset(dataset / "sub").samples_table().num_rows == open_dataset(dataset).samples_table().num_rows
    assert {k: v for k, v in _files(dataset).items() if not k.startswith("sub/")} == before
    _assert_readable(dataset)
    fuse(dataset, dataset / "fused", normalize="l2", tables=[TABLE])
    assert (dataset / "fused" / FUSED_METADATA).is_file()



def test_the_library_export_csd_refuses_a_folder_in_a_table_folder(dataset):
    """`export_csd` called from Python is refused as the command is: .csd files in `samples/` break its readers."""
    from mmdata.formats.csd_export import export_csd

    before = _files(dataset)
    with pytest.raises(OutputPathError, match=r"csd_dir .* lies in the samples table folder samples/ of the dataset"):
        export_csd(dataset, dataset / "samples" / "csd")
    assert _files(dataset) == before
    _assert_readable(dataset)
