"""What a receiver's `datasets` formats give back from a share, as the card says: float32 features bit for bit
(vectors as (n, D) arrays, sequences as (steps, D) per row, streamed too), float64 columns rounded to float32 by
`.with_format("numpy")` and kept by `.with_format("arrow")`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmdata.share import share_dataset
from mmdata.store import open_dataset
from tests.share.corpus import extract_mixed


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("values")
    dataset = extract_mixed(tmp, ["color-hist:bins=8", "wave-rms"])
    share_dataset(dataset, tmp / "hf")
    return dataset, tmp / "hf"


def load(share: Path, config: str, tmp_path: Path, **kwargs):
    import datasets

    return datasets.load_dataset(str(share), config, split="train", cache_dir=str(tmp_path), **kwargs)


def source(dataset: Path, table: str) -> dict[str, object]:
    return {row["sample_id"]: row["feature"] for row in open_dataset(dataset).table(table).to_table().to_pylist()}


def bits(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def test_vectors_come_back_as_float32_arrays_bit_for_bit(shared, tmp_path):
    dataset, share = shared
    loaded = load(share, "image.color-hist", tmp_path).with_format("numpy")[:]
    assert loaded["feature"].dtype == np.float32 and loaded["feature"].shape == (5, 24)
    expected = source(dataset, "image.color-hist")
    assert np.array_equal(loaded["feature"].view(np.uint32), bits([expected[i] for i in loaded["sample_id"]]))


def test_sequences_stream_as_steps_by_dim_arrays_bit_for_bit(shared, tmp_path):
    dataset, share = shared
    expected = source(dataset, "audio.wave-rms")
    for row in load(share, "audio.wave-rms", tmp_path, streaming=True).with_format("numpy"):
        assert row["feature"].dtype == np.float32 and row["feature"].shape[1] == 2
        assert np.array_equal(row["feature"].view(np.uint32), bits(expected[row["sample_id"]]))
        assert row["intervals"].shape == row["feature"].shape


def test_float64_columns_are_rounded_by_numpy_and_kept_by_arrow_as_the_card_says(shared, tmp_path):
    dataset, share = shared
    samples = load(share, "samples", tmp_path)
    labels = {row["sample_id"]: row["label"] for row in open_dataset(dataset).samples_table().to_pylist()}
    assert samples.with_format("numpy")[:]["label"].dtype == np.float32
    arrow = samples.with_format("arrow")[:]
    assert arrow.column("label").to_pylist() == [labels[i] for i in arrow.column("sample_id").to_pylist()]
    card = " ".join((share / "README.md").read_text().split())
    assert "give every float column as float32" in card and "`.with_format(\"arrow\")`, pandas and pyarrow keep" in card
