"""The `## Loading` section of a share's dataset card: code that loads the shared tables.

It shows `datasets` and pandas/pyarrow reading one feature table beside `samples`, a PyTorch
`DataLoader` over it (failed samples filtered out; sequences, and vectors of different lengths,
zero-padded per batch), mmdata's fused export across modalities where some tables can be fused,
and `open_dataset`. The examples pick a table that has features, one of fixed dim where there is
one. The rest of the card (header, other sections) is built in `mmdata.share.card`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmdata.share.card import CardConfig
    from mmdata.store.manifest import Manifest

#: `load_dataset(".", config)` fails in `datasets` (it names a dataset after its folder, and "." has no
#: name), so the card's code names this folder by its absolute path.
_DATASETS_PATH = '''from pathlib import Path

from datasets import load_dataset

DATA = str(Path.cwd())  # this folder (datasets cannot load "." by config name), or "USER/DATASET_NAME" on the Hub
'''


def _loading_section(manifest: Manifest, configs: list[CardConfig], split_names: dict[str, str]) -> str:
    """How to load the data; `split_names` maps mmdata's split names (what `fuse` reads) to the `datasets` ones.

    The examples use a table that has features, one of fixed dim where there is one (a table that
    failed on every item would leave PyTorch nothing to load); the fused example is left out when no
    table can be fused (fixed-dim float features in the split the statistics come from)."""
    samples, tables = configs[0], configs[1:]
    if not tables:
        return _samples_only_loading("No feature tables yet (add some with `mmdata extract`).", samples)
    feature = _example_config(manifest, tables)
    if feature is None:
        return _samples_only_loading("No feature table has a feature for any sample (every item failed: `errors/` "
                                     "says why).", samples)
    split = feature.first_split_with_features() or next(iter(feature.files))
    mmdata_split = next((s for s, hf_split in split_names.items() if hf_split == split), split)
    return "".join([
        _datasets_and_pandas_blocks(feature, split),
        f"As a PyTorch dataset, straight from `datasets` (a sample whose extraction failed has no feature: leave it "
        f"out{_sequence_note(manifest, feature.name)}):\n\n```python\n{_torch_block(manifest, feature.name, split)}```\n\n",
        _fuse_block(manifest, _fusable_configs(manifest, tables, split), mmdata_split),
        _MMDATA_BLOCK.format(table=feature.name),
    ])


def _samples_only_loading(why: str, samples: CardConfig) -> str:
    split = next(iter(samples.files), "train")
    return (f"{why} The samples load with `datasets`:\n\n"
            f"```python\n{_DATASETS_PATH}\nsamples = load_dataset(DATA, \"samples\", split=\"{split}\")\n```\n")


def _example_config(manifest: Manifest, tables: list[CardConfig]) -> CardConfig | None:
    """The table the examples load: the first with features and a fixed dim, else the first with features."""
    with_features = [c for c in tables if c.first_split_with_features() is not None]
    fixed = [c for c in with_features if _dim(manifest, c.name) is not None]
    return (fixed or with_features or [None])[0]


def _fusable_configs(manifest: Manifest, tables: list[CardConfig], split: str) -> list[CardConfig]:
    """One table per modality that `fuse` takes (fixed-dim float features) and that has features in
    `split`, the split the fused example's statistics come from; first in the dataset's order."""
    from mmdata.fusion.plan import FUSED_DTYPES

    per_modality: dict[str, CardConfig] = {}
    for config in tables:
        spec = manifest.tables[config.name].spec if config.name in manifest.tables else {}
        if spec.get("dim") is None or spec.get("dtype") not in FUSED_DTYPES or not config.features_present.get(split):
            continue
        per_modality.setdefault(config.name.split(".", 1)[0], config)
    return list(per_modality.values())


def _datasets_and_pandas_blocks(feature: CardConfig, split: str) -> str:
    return f"""With `datasets` (from this folder, or from the Hub as `USER/DATASET_NAME`):

```python
{_DATASETS_PATH}
samples = load_dataset(DATA, "samples", split="{split}")
features = load_dataset(DATA, "{feature.name}", split="{split}")
assert samples["sample_id"] == features["sample_id"]
```

`.with_format("numpy")` and `"torch"` give every float column as float32, as `datasets` does by default: the
features (float32) come back bit for bit, while float64 columns (`label`, `start`, `end`, `intervals`) are
rounded; `.with_format("arrow")`, pandas and pyarrow keep them as stored.

With pandas or pyarrow (every file is plain Parquet):

```python
import pandas as pd
import pyarrow.dataset as ds

df = pd.read_parquet("{feature.files[split][0]}")
table = ds.dataset("{feature.path}", format="parquet").to_table()
```

"""


def _fuse_block(manifest: Manifest, fused: list[CardConfig], mmdata_split: str) -> str:
    """mmdata's fused export across modalities; nothing when no table can be fused."""
    if not fused:
        return ""
    names = tuple(c.name for c in fused)
    failed = any(manifest.tables[c.name].errors or sum(c.features_present.values()) < sum(c.rows.values())
                 for c in fused if c.name in manifest.tables)
    missing_option, missing_note = ((', missing="zero"', "; a sample a table failed on is zero-filled, with a `present` mask")
                                    if failed else ("", ""))
    return f"""or fused across modalities (one table per modality, normalized with statistics of the first split{missing_note}) with mmdata's:

```python
from pathlib import Path

from torch.utils.data import DataLoader

from mmdata.fusion import FusedDataset, collate_fused, fuse

fused = Path.cwd().parent / f"{{Path.cwd().name}}-fused"  # beside the share (`mmdata verify .` checks every file in it)
fuse(".", fused, tables={names!r}, stats_splits=("{mmdata_split}",), format="arrow"{missing_option})
loader = DataLoader(FusedDataset(fused, "{mmdata_split}"), batch_size=64, collate_fn=collate_fused)
```

"""


_MMDATA_BLOCK = """With mmdata (the folder is an mmdata dataset too: `mmdata info .`, `mmdata check .`, `mmdata report .`):

```python
from mmdata.store import open_dataset

data = open_dataset(".")
data.table("{table}").to_table()
```
"""


def _dim(manifest: Manifest, table: str) -> int | None:
    entry = manifest.tables.get(table)
    return None if entry is None else entry.spec.get("dim")


def _is_sequence(manifest: Manifest, table: str) -> bool:
    entry = manifest.tables.get(table)
    return entry is not None and entry.spec.get("kind") != "pooled"


def _sequence_note(manifest: Manifest, table: str) -> str:
    if _dim(manifest, table) is None:
        return "; its rows are vectors of different lengths, zero-padded per batch"
    return "; its rows are sequences of different lengths, padded per batch" if _is_sequence(manifest, table) else ""


#: dtypes a feature table may hold that torch names alike (`torch.float32`, ...).
_TORCH_DTYPES = frozenset({"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"})


def _torch_block(manifest: Manifest, table: str, split: str) -> str:
    """A DataLoader over one feature config: failed samples filtered out; sequences, and vectors of
    different lengths, zero-padded per batch."""
    load = (f'train = load_dataset(DATA, "{table}", split="{split}")\n'
            'train = train.filter(lambda feature: feature is not None, input_columns="feature")\n')
    dim = _dim(manifest, table)
    if dim is None:
        return _variable_length_torch_block(manifest, table, load)
    load += 'train = train.with_format("torch", columns=["feature"])\n'
    if not _is_sequence(manifest, table):
        return f"from torch.utils.data import DataLoader\n\n{load}loader = DataLoader(train, batch_size=64, shuffle=True)\n"
    return f"""import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader


def pad_batch(rows):
    \"\"\"Zero-pad a batch of (steps, {dim}) sequences to the longest; `length` keeps each one's steps.\"\"\"
    sequences = [row["feature"].reshape(-1, {dim}) for row in rows]
    return {{"feature": pad_sequence(sequences, batch_first=True), "length": torch.tensor([len(s) for s in sequences])}}


{load}loader = DataLoader(train, batch_size=64, shuffle=True, collate_fn=pad_batch)
"""


def _variable_length_torch_block(manifest: Manifest, table: str, load: str) -> str:
    """A table without a fixed dim (token ids, say): rows stay Python lists, the collate pads them."""
    dtype = manifest.tables[table].spec.get("dtype")
    as_tensor = f"torch.tensor({{}}, dtype=torch.{dtype})" if dtype in _TORCH_DTYPES else "torch.tensor({})"
    if not _is_sequence(manifest, table):
        pad = f"""def pad_batch(rows):
    \"\"\"Zero-pad a batch of vectors of different lengths to the longest; `length` keeps each one's length.\"\"\"
    vectors = [{as_tensor.format('row["feature"]')} for row in rows]
    return {{"feature": pad_sequence(vectors, batch_first=True), "length": torch.tensor([len(v) for v in vectors])}}
"""
    else:
        pad = f"""def pad_batch(rows):
    \"\"\"Zero-pad a batch of sequences of vectors of different lengths to (batch, most steps, longest vector);
    `length` keeps each sequence's steps.\"\"\"
    sequences = [[{as_tensor.format("v")} for v in row["feature"]] for row in rows]
    vectors = pad_sequence([v for s in sequences for v in s], batch_first=True)  # every vector, to the longest
    steps = [len(s) for s in sequences]
    return {{"feature": pad_sequence(list(torch.split(vectors, steps)), batch_first=True), "length": torch.tensor(steps)}}
"""
    return f"""import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader


{pad}

{load}loader = DataLoader(train, batch_size=64, shuffle=True, collate_fn=pad_batch)
"""
