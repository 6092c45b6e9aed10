"""A name a notebook user guesses points to the one that exists: `mmdata.check(...)` names
`check_dataset`, and a split passed where `read_table` takes columns says to pass it as `split=`."""
from __future__ import annotations

import re

import pytest

import mmdata
from tests.checks.builder import build_dataset, mosi_samples, pooled_table

SAMPLES = mosi_samples()  # train 6, valid 3, test 3


@pytest.mark.parametrize(("name", "closest"), [
    ("check", "check_dataset"), ("open", "open_dataset"), ("load_dataset", "open_dataset"),
    ("Fuseoptions", "FuseOptions"), ("fused_dataset", "FusedDataset"), ("describe", "describe_dataset"),
])
def test_an_unknown_top_level_name_suggests_the_closest_public_one(name, closest):
    expected = f"module 'mmdata' has no attribute '{name}'; did you mean '{closest}'?"
    with pytest.raises(AttributeError, match="^" + re.escape(expected) + "$"):
        getattr(mmdata, name)


@pytest.mark.parametrize("name", ["xyz", "__wrapped__"])
def test_a_name_close_to_none_gets_no_suggestion(name):
    with pytest.raises(AttributeError, match=f"^module 'mmdata' has no attribute '{name}'$"):
        getattr(mmdata, name)
    assert not hasattr(mmdata, name)


def test_a_split_passed_as_columns_says_to_pass_it_as_split(tmp_path):
    data = mmdata.open_dataset(build_dataset(tmp_path / "ds", SAMPLES, [pooled_table("audio.p", SAMPLES, 2)]))
    expected = (f"table 'audio.p' of {data.root} has no column 'valid', which is a split: read its rows with "
                "read_table('audio.p', split='valid'); columns: ['sample_id', 'feature']")
    with pytest.raises(mmdata.UnknownNameError, match="^" + re.escape(expected) + "$"):
        data.read_table("audio.p", "valid")
    assert data.read_table("audio.p", split="valid").num_rows == 3
