"""The dataset card (README.md) of a shared dataset: a YAML header `datasets` reads, and a body people read.

The header declares one config per table (`samples`, the default, and one per feature table) with
its data files per split, and `dataset_info` with each config's features and split sizes:

    ---
    license: unknown
    configs:
    - config_name: samples
      default: true
      data_files:
      - split: val2017
        path: [samples/part-00000-val2017.parquet]
    dataset_info:
    - config_name: image.color-hist
      features:
      - {name: sample_id, dtype: string}
      - {name: feature, list: float32, length: 48}
      splits:
      - {name: val2017, num_bytes: 1811, num_examples: 8}
    ---

The body comes from the manifest: corpus, splits and counts (and the loader options, folds among
them, they came from), the labels' span and the range their dataset defines, every extractor with
its config and library versions (what an aligned table's steps are), the checks' summary, how to
load the data, and a licence section for the user.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mmdata.share.checks import severity_counts
from mmdata.share.hf import split_order
from mmdata.store.manifest import Manifest

if TYPE_CHECKING:
    import datasets

    from mmdata.checks import CheckReport
    from mmdata.share.media import MissingMedia

_MAX_ISSUES_IN_CARD = 20


@dataclass
class CardConfig:
    """One `datasets` config of a shared dataset: a table, its features and its files per split."""

    name: str
    path: str  # the table's folder, relative to the dataset root
    features: datasets.Features | None = None
    default: bool = False
    files: dict[str, list[str]] = field(default_factory=dict)  # split -> relative paths
    rows: dict[str, int] = field(default_factory=dict)
    nbytes: dict[str, int] = field(default_factory=dict)
    features_present: dict[str, int] = field(default_factory=dict)  # split -> rows whose `feature` is not null

    def add(self, split: str, relative_path: str, part: pa.Table) -> None:
        """Record one written shard of `split`."""
        self.files.setdefault(split, []).append(relative_path)
        self.rows[split] = self.rows.get(split, 0) + part.num_rows
        self.nbytes[split] = self.nbytes.get(split, 0) + part.nbytes
        if "feature" in part.column_names:
            present = part.num_rows - part.column("feature").null_count
            self.features_present[split] = self.features_present.get(split, 0) + present

    def first_split_with_features(self) -> str | None:
        """The first split (in the order the files were written) with a feature; None when every row failed."""
        return next((split for split in self.files if self.features_present.get(split, 0)), None)

    def config_yaml(self) -> dict[str, Any]:
        data: dict[str, Any] = {"config_name": self.name}
        if self.default:
            data["default"] = True
        data["data_files"] = [{"split": split, "path": paths} for split, paths in self.files.items()]
        return data

    def info(self) -> datasets.DatasetInfo:
        """The config's `datasets.DatasetInfo`: features and split sizes."""
        import datasets

        splits = datasets.SplitDict()
        for split in self.files:
            splits.add(datasets.SplitInfo(name=split, num_bytes=self.nbytes[split], num_examples=self.rows[split]))
        return datasets.DatasetInfo(features=self.features, splits=splits)


@dataclass(frozen=True)
class LabelSummary:
    """The `label` column of the shared samples: how many samples have one, and the values' span."""

    labelled: int
    rows: int
    low: float
    high: float


def render_card(
    manifest: Manifest,
    configs: list[CardConfig],
    checks: CheckReport,
    media: str,
    missing_media: list[MissingMedia],
    labels: LabelSummary | None = None,
) -> str:
    """The whole README.md: YAML header and Markdown body (`labels`: None when no sample has a label)."""
    body = _body(manifest, configs, checks, media, missing_media, labels)
    return f"---\n{_yaml_header(manifest, configs)}---\n\n{body}"


def _yaml_header(manifest: Manifest, configs: list[CardConfig]) -> str:
    import yaml

    rows = int(manifest.samples.get("rows", 0))
    header = {
        "license": "unknown",
        "pretty_name": _title(manifest),
        "tags": ["mmdata", "multimodal", manifest.corpus.get("kind", "corpus")],
        "size_categories": [_size_category(rows)],
        "configs": [c.config_yaml() for c in configs],
        "dataset_info": _dataset_info_yaml(configs),
    }
    return yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=120)


def _dataset_info_yaml(configs: list[CardConfig]) -> list[dict[str, Any]] | dict[str, Any]:
    """`dataset_info` as `datasets` itself writes it into a card (what `push_to_hub` does)."""
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    card = DatasetCardData()
    DatasetInfosDict({c.name: c.info() for c in configs}).to_dataset_card_data(card)
    return card.to_dict()["dataset_info"]


def _body(manifest: Manifest, configs: list[CardConfig], checks: CheckReport, media: str,
          missing_media: list[MissingMedia], labels: LabelSummary | None) -> str:
    corpus = manifest.corpus
    samples = manifest.samples
    split_names = manifest.extra.get("share", {}).get("split_names", {})
    parts = [
        f"# {_title(manifest)}\n",
        f"Multimodal features of the `{corpus.get('kind')}` corpus"
        + (f" (split `{corpus['split']}`)" if corpus.get("split") else "")
        + f", prepared with mmdata {manifest.mmdata_version}: "
        f"{samples.get('rows', 0)} samples and {len(manifest.tables)} feature tables, one `datasets` config each. "
        "Every config lists a split's rows in the same order, so row *i* of `samples` and row *i* of a "
        "feature table are the same sample (`sample_id` says so in every table).\n",
        "## Splits\n",
        _splits_table(samples.get("splits", {}), split_names),
        _corpus_options_line(corpus),
        *_labels_section(manifest, labels),
        "## Configs\n",
        _md_table(
            ["config", "modality", "extractor", "rows", "dim", "dtype", "kind", "failed items"],
            [["`samples` (default)", "", "", str(samples.get("rows", 0)), "", "", "", str(samples.get("loader_errors", 0))]]
            + [[f"`{name}`", e.modality, f"`{e.extractor}`", str(e.rows), str(e.spec.get("dim")), str(e.spec.get("dtype")),
                _kind(e.spec), str(e.errors)] for name, e in sorted(manifest.tables.items())],
        ),
        "## Extractors\n",
        *[_extractor_section(name, entry) for name, entry in sorted(manifest.tables.items())],
        "## Media\n",
        _media_section(media, corpus, missing_media, configs[0].features or {}),
        "## Checks\n",
        _checks_section(checks),
        "## Loading\n",
        _loading_section(manifest, configs, split_names),
        "## Verifying a copy\n",
        "`checksums.sha256` holds the SHA-256 of every other file. `mmdata verify .` names any missing, extra "
        "or altered file (plain `sha256sum -c checksums.sha256` checks the listed ones). After editing this "
        "card (say, to fill in the licence), record the new state with `mmdata checksum .`.\n",
        "## Publishing\n",
        "Upload the folder with the Hub's own command (`pip install huggingface_hub`, then `hf auth login`):\n\n"
        "```bash\nhf upload USER/DATASET_NAME . --repo-type dataset\n```\n",
        "## Licence\n",
        f"TODO: state the licence of this dataset (and of the `{corpus.get('kind')}` corpus it comes from, with "
        "the citation its publishers ask for) here and in the `license:` field of the header, then run "
        "`mmdata checksum .`."
        + (" The embedded media files are the corpus's own: share them only where its terms allow it."
           if media == "embed" else "") + "\n",
    ]
    return "\n".join(parts)


def _extractor_section(name: str, entry: Any) -> str:
    versions = ", ".join(f"{lib} {v}" for lib, v in sorted(entry.versions.items())) or "not recorded"
    spec = entry.spec
    extra = f", frame rate {spec['frame_rate']:g} Hz" if spec.get("frame_rate") else ""
    extra += ", with per-item intervals (seconds)" if spec.get("intervals") else ""
    source = f"\n- source: `{entry.source}`" if entry.source else ""
    return (
        f"### `{name}`\n\n- extractor: `{entry.extractor}` ({entry.modality})\n"
        f"- config: `{json.dumps(entry.config, sort_keys=True)}`\n"
        f"- output: {_kind(spec)}, dim {spec.get('dim')}, {spec.get('dtype')}{extra}\n"
        f"{_aligned_line(entry.config) if entry.extractor == 'align' else ''}"
        f"- versions: {versions}{source}\n"
    )


#: What `mmdata align` did with a reference interval that some table's rows do not overlap.
_ON_MISSING = {"drop": "left out of every aligned table", "impute": "zero-filled", "error": "refused (none was found)"}


def _aligned_line(config: dict[str, Any]) -> str:
    """What an aligned table (`<table>@<reference>`, written by `mmdata align`) holds, from its config."""
    reference, table = config.get("reference"), config.get("table")
    on_missing = _ON_MISSING.get(str(config.get("on_missing")), f"handled with on_missing={config.get('on_missing')!r}")
    return (f"- aligned: `{table}` resampled onto the intervals of `{reference}`: step *i* of a sample is the "
            f"`{config.get('collapse')}` of the `{table}` rows overlapping interval *i* of `{reference}`, clipped to "
            f"it (the CMU-MultimodalSDK's semantics). Every table aligned to `{reference}` has the same steps "
            f"(`intervals`; `keys` names each `<sample_id>[i]`); intervals a table does not cover were {on_missing}"
            + ("; pause tokens (`sp`) were skipped" if config.get("skip_pauses") else "") + ".\n")


def _splits_table(splits: dict[str, int], split_names: dict[str, str]) -> str:
    """Samples per split, in the order of the header's `configs` (train, validation, test, then the rest)."""
    rows = [[f"`{s}`", f"`{split_names.get(s, s)}`", str(splits[s])] for s in split_order(splits)]
    return _md_table(["split", "`datasets` split", "samples"], rows)


def shareable_options(options: dict[str, Any], corpus_root: str | None) -> dict[str, Any]:
    """Loader options as a share publishes them: an absolute path under the corpus root becomes relative
    to it, any other absolute path keeps its file name only (folders of the producer's machine are not
    shared, as the corpus root is not); other values stay as they are.

    Example:
        >>> shareable_options({"folds": "/data/mosi/folds.json", "dataset": "cmu-mosi"}, "/data/mosi")
        {'folds': 'folds.json', 'dataset': 'cmu-mosi'}
    """
    return {key: _shareable_value(value, corpus_root) for key, value in options.items()}


def _shareable_value(value: Any, corpus_root: str | None) -> Any:
    if isinstance(value, dict):
        return {key: _shareable_value(item, corpus_root) for key, item in value.items()}
    if isinstance(value, list):
        return [_shareable_value(item, corpus_root) for item in value]
    if not isinstance(value, str) or not PurePath(value).is_absolute():
        return value
    path = PurePath(value)
    if corpus_root and PurePath(corpus_root).is_absolute() and path.is_relative_to(corpus_root):
        return path.relative_to(corpus_root).as_posix()
    return path.name


def _corpus_options_line(corpus: dict[str, Any]) -> str:
    """The loader options the corpus was read with (folds file, dataset name, ...), which the splits come from."""
    options = shareable_options(corpus.get("options") or {}, corpus.get("root"))
    if not options:
        return f"Splits are those the `{corpus.get('kind')}` corpus assigns (no loader options were given).\n"
    shown = ", ".join(f"`{key}={value}`" for key, value in sorted(options.items()))
    folds = [f"`{value}`" for key, value in sorted(options.items()) if "folds" in key]
    text = f"The `{corpus.get('kind')}` corpus was read with the options {shown}"
    return text + (f"; the splits are the folds of {', '.join(folds)}.\n" if folds else ".\n")


def _labels_section(manifest: Manifest, labels: LabelSummary | None) -> list[str]:
    """`## Labels`: the label column, its observed span and the range its dataset defines; nothing without labels."""
    if labels is None:
        return []
    from mmdata.checks.samples import label_range_for

    loader = manifest.extra.get("loader") or {}
    text = (f"`label` (float64, in `samples`) holds a label for {labels.labelled} of {labels.rows} samples, "
            f"from {labels.low:g} to {labels.high:g}.")
    known = label_range_for(manifest.corpus, loader)
    if known is not None:
        dataset = (manifest.corpus.get("options") or {}).get("dataset") or loader.get("dataset") or manifest.corpus.get("kind")
        text += (f" They are `{dataset}` sentiment scores, whose range is [{known[0]:g}, {known[1]:g}] "
                 "(the range `mmdata check` checks them against).")
    names, fields = loader.get("label_names") or [], loader.get("label_fields") or {}
    if names:
        where = ", ".join(f"`{n}` (`extra{''.join(f'[{step!r}]' for step in fields.get(n, []))}`)" for n in names)
        text += (f" Each sample's `extra` (JSON) holds further labels: {where}; `mmdata fuse --labels` exports "
                 "them as columns `label_<name>`.")
    return ["## Labels\n", text + "\n"]


def _media_section(media: str, corpus: dict[str, Any], missing: list[MissingMedia], samples_features: Any) -> str:
    if media == "embed":
        # Only the columns the samples config really has: a corpus without audio has no `audio_file`.
        columns = {"image_file": "`image_file` (`datasets.Image`: the original image files)",
                   "audio_file": "`audio_file` (`datasets.Audio`: whole files as they are, segments as FLAC)"}
        embedded = [text for column, text in columns.items() if column in samples_features]
        text = ("Media files are embedded in the `samples` config, in " + " and ".join(embedded) + "; "
                if embedded else "This corpus has no image or audio files to embed; ")
        text += "`image`, `audio` and `video` keep the paths relative to the corpus root. Videos are not embedded."
        if "audio_file" in samples_features:
            text += (" Decoding `datasets.Audio` uses `torchcodec` (datasets >= 4, installed with mmdata's `video` "
                     "extra); without it, `cast_column(\"audio_file\", Audio(decode=False))` gives the bytes, which "
                     "soundfile reads.")
        text += "\n"
        if missing:
            shown = ", ".join(f"`{m.sample_id}`" for m in missing[:10])
            text += f"\n{len(missing)} media files could not be read and are null: {shown}" + (" ..." if len(missing) > 10 else "") + "\n"
        return text
    return ("Media are referenced, not embedded: the `image`, `audio` and `video` columns of `samples` hold paths "
            f"relative to the root of the `{corpus.get('kind')}` corpus, which is not part of this folder; get the corpus "
            "from its publisher and join the paths to its root.\n")


def _checks_section(checks: CheckReport) -> str:
    counts = severity_counts(checks)
    verdict = "passed" if checks.ok else "**FAILED** (shared anyway with `--allow-failed-checks`)"
    text = f"`mmdata check` {verdict}: {counts['error']} errors, {counts['warning']} warnings, {counts['info']} notes.\n"
    if checks.issues:
        rows = [[i.severity, f"`{i.code}`", f"`{i.table}`" if i.table else "samples", str(i.count), _md_cell(i.message)]
                for i in checks.issues[:_MAX_ISSUES_IN_CARD]]
        text += "\n" + _md_table(["severity", "code", "table", "count", "message"], rows)
        if len(checks.issues) > _MAX_ISSUES_IN_CARD:
            text += f"\n... and {len(checks.issues) - _MAX_ISSUES_IN_CARD} more (run `mmdata check .`).\n"
    return text


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


def _title(manifest: Manifest) -> str:
    corpus = manifest.corpus
    split = f" {corpus['split']}" if corpus.get("split") else ""
    return f"{corpus.get('kind', 'corpus')}{split} features (mmdata)"


def _kind(spec: dict[str, Any]) -> str:
    return "pooled" if spec.get("kind") == "pooled" else f"sequence over {spec.get('item_axis') or 'items'}"


#: The Hub's `size_categories` values (`huggingface_hub.DatasetCardData`), by upper bound.
_SIZE_CATEGORIES = ((10**3, "n<1K"), (10**4, "1K<n<10K"), (10**5, "10K<n<100K"), (10**6, "100K<n<1M"),
                    (10**7, "1M<n<10M"), (10**8, "10M<n<100M"), (10**9, "100M<n<1B"), (10**10, "1B<n<10B"),
                    (10**11, "10B<n<100B"), (10**12, "100B<n<1T"))


def _size_category(rows: int) -> str:
    return next((name for limit, name in _SIZE_CATEGORIES if rows < limit), "n>1T")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
