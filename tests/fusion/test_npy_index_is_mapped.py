"""An npy export writes the index columns a reader needs (ids, labels, auxiliary labels) also as `index.arrow`,
an uncompressed Arrow IPC file that `FusedDataset` memory-maps: its ids and labels are views of the file's pages,
which DataLoader workers share, not copies each worker decodes from `index.parquet` (~47 bytes a row each).
Items are those `index.parquet` gave, values and types; an export written before (no `index.arrow`) still
reads, from `index.parquet`, which every export keeps for pandas and pyarrow readers."""
from __future__ import annotations

import json
import shutil
from itertools import chain

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader

from mmdata.errors import DatasetError
from mmdata.fusion import FusedDataset, read_fused_metadata
from mmdata.fusion.npy_sink import NPY_INDEX_BATCH_ROWS, NpyIndexArrow
from tests.fusion.mapped_exports import export, labelled_dataset, rebatch

SPLITS = ("train", "valid", "test")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """(sequences, class label) -> (npy export, the same as an export of the previous layout), made on first
    use; the index.arrow of the first in record batches of 3 rows, as a large export holds several."""
    root = tmp_path_factory.mktemp("npy-index")
    dataset = labelled_dataset(root / "ds")
    made: dict[tuple[str, str], tuple] = {}

    def get(sequences: str, class_label: str = "kind"):
        key = (sequences, class_label)
        if key not in made:
            new = export(dataset, root / "-".join(key), "npy", sequences, class_label)
            old = as_previous_version_wrote_it(new, root / f"{'-'.join(key)}-old")
            for split in SPLITS:
                rebatch(new / split / "index.arrow", 3, stream=False)
            made[key] = new, old
        return made[key]
    return get


def as_previous_version_wrote_it(export_dir, copy):
    """A copy of the export without index.arrow, files and fused.json as mmdata 0.5.2 wrote them."""
    shutil.copytree(export_dir, copy)
    metadata = json.loads((copy / "fused.json").read_text())
    for split, files in metadata["files"].items():
        (copy / split / "index.arrow").unlink()
        files.remove(f"{split}/index.arrow")
    (copy / "fused.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return copy


def assert_same_items(got: list[dict], want: list[dict]) -> None:
    """Items equal in keys, Python types, tensor dtypes and shapes, and values (NaN equal to NaN)."""
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.keys() == b.keys()
        for key in a:
            assert type(a[key]) is type(b[key]), (a["sample_id"], key)
            if isinstance(a[key], torch.Tensor):
                assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, (a["sample_id"], key)
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=f"{a['sample_id']} {key}")


def mapped_files() -> list[tuple[int, int, str]]:
    """(start, end, path) of this process's memory mappings of files, from /proc/self/maps."""
    spans = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5].startswith("/"):
                start, end = (int(value, 16) for value in fields[0].split("-"))
                spans.append((start, end, fields[5].strip()))
    return spans


def file_holding(address: int, size: int, spans: list[tuple[int, int, str]]) -> str | None:
    """The mapped file whose pages hold the `size` bytes at `address`, None when they lie in memory of the
    process's own."""
    return next((path for start, end, path in spans if start <= address and address + size <= end), None)


def test_the_export_lists_index_arrow_holding_the_ids_and_labels_of_index_parquet(exports):
    out, _ = exports("pool", "tags")
    for split in SPLITS:
        assert {f"{split}/index.arrow", f"{split}/index.parquet"} <= set(read_fused_metadata(out)["files"][split])
        with pa.memory_map(str(out / split / "index.arrow")) as source:
            mapped = pa.ipc.open_file(source).read_all()
        parquet = pq.read_table(out / split / "index.parquet")
        # no reader needs the rest: the split is the folder's, the row its position, the targets have their .npy
        assert set(parquet.column_names) - set(mapped.column_names) == {"split", "row", "class_targets"}
        assert mapped.equals(parquet.select(["sample_id", "label", "label_happy", "label_sad"]))
        assert parquet.column("split").unique().to_pylist() == [split]
        assert parquet.column("row").to_pylist() == list(range(len(parquet)))


@pytest.mark.parametrize(("sequences", "class_label"), [("pool", "kind"), ("pad", "kind"), ("ragged", "kind"),
                                                        ("pool", "tags")])
def test_items_are_those_index_parquet_gave_and_an_export_without_index_arrow_still_reads(exports, sequences,
                                                                                       class_label):
    new, old = exports(sequences, class_label)
    for split in SPLITS:
        mapped, decoded = FusedDataset(new, split), FusedDataset(old, split)
        assert len(mapped) == len(decoded) > 0
        order = np.random.default_rng(len(mapped)).permutation(len(mapped))  # across the 3-row record batches
        assert_same_items(mapped[order], decoded[order])
        assert_same_items([mapped[-1]], [decoded[-1]])


def test_ids_and_labels_are_views_of_the_mapped_index_arrow(exports):
    out, _ = exports("pool")
    data = FusedDataset(out, "train")
    before = pa.total_allocated_bytes()
    columns = data._open()
    assert pa.total_allocated_bytes() == before  # nothing decoded: no buffer of Arrow's own
    spans, index = mapped_files(), str(out / "train" / "index.arrow")
    ids, labels = columns["sample_id"], columns["label"]
    aux = [column.chunks for column in columns["labels"].columns]
    assert len(ids.chunks) > 1  # several record batches: the rows are read from NumPy views of the buffers
    for chunk in chain(ids.chunks, labels.chunks, *aux):
        for buffer in chunk.buffers():
            assert buffer is None or file_holding(buffer.address, buffer.size, spans) == index
    read_from = [ids.offsets, ids.data, labels.values]  # what a batch's rows are read from
    for view in chain.from_iterable(gathered.chunks for gathered in read_from):
        assert not view.flags.writeable and file_holding(view.ctypes.data, view.nbytes, spans) == index
    assert all(gathered.view is not None and not gathered.view.flags.writeable for gathered in read_from)

    decoded = FusedDataset(as_previous_version_wrote_it(out, out.with_name("decoded")), "train")._open()
    spans = mapped_files()
    assert all(file_holding(b.address, b.size, spans) is None for b in decoded["sample_id"].chunks[0].buffers() if b)


def test_dataloader_workers_read_the_same_items(exports):
    out, old = exports("ragged")
    for split in SPLITS:
        data = FusedDataset(out, split)
        loader = DataLoader(data, batch_size=4, shuffle=False, num_workers=2, collate_fn=list)
        assert_same_items([item for batch in loader for item in batch], list(FusedDataset(old, split)))


def test_index_arrow_is_written_in_record_batches_of_many_rows(tmp_path):
    schema = pa.schema([("sample_id", pa.string()), ("row", pa.int64())])
    index = NpyIndexArrow(tmp_path / "index.arrow", schema)
    sink_rows = 4096  # divides NPY_INDEX_BATCH_ROWS
    rows = NPY_INDEX_BATCH_ROWS + sink_rows
    for start in range(0, rows, sink_rows):
        part = np.arange(start, min(start + sink_rows, rows))
        index.write(pa.table({"sample_id": [f"s{i}" for i in part], "split": ["train"] * len(part), "row": part}))
    index.close()
    with pa.memory_map(str(tmp_path / "index.arrow")) as source:
        reader = pa.ipc.open_file(source)
        sizes = [reader.get_batch(i).num_rows for i in range(reader.num_record_batches)]
        table = reader.read_all()
    assert sizes == [NPY_INDEX_BATCH_ROWS, sink_rows] and table.schema == schema
    assert table.column("row").to_pylist() == list(range(rows))


@pytest.mark.parametrize("name", ["index.arrow", "index.parquet"])
def test_a_truncated_index_file_is_named_when_the_dataset_opens_it(exports, tmp_path, name):
    out = shutil.copytree(exports("pool")[0], tmp_path / "out")
    path = out / "train" / name
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=rf"{path}: cannot read this file of the fused export .*truncated or "):
        FusedDataset(out, "train")[0]
