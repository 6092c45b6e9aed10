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

This module holds the header and every section but one; the `## Loading` section (the code that loads
the tables with `datasets`, pandas, PyTorch and mmdata) lives in `mmdata.share.card_loading`. The
names moved there stay importable from here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mmdata.share.card_loading import (  # noqa: F401 - also re-exported from here
    _DATASETS_PATH, _MMDATA_BLOCK, _TORCH_DTYPES, _datasets_and_pandas_blocks, _dim, _example_config, _fusable_configs,
    _fuse_block, _is_sequence, _loading_section, _samples_only_loading, _sequence_note, _torch_block,
    _variable_length_torch_block,
)
from mmdata.share.checks import severity_counts
from mmdata.share.failed import FailedItems, failed_items_section
from mmdata.share.hf import split_order
from mmdata.share.redact import redact_text
from mmdata.store.manifest import Manifest
from mmdata.store.metadata import model_version_fingerprints

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
    failed: list[FailedItems] | None = None,
) -> str:
    """The whole README.md: YAML header and Markdown body (`labels`: None when no sample has a label;
    `failed`: the share's errors tables, `share.failed`)."""
    body = _body(manifest, configs, checks, media, missing_media, labels, failed or [])
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
          missing_media: list[MissingMedia], labels: LabelSummary | None, failed: list[FailedItems]) -> str:
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
            + [[f"`{name}`", e.modality, f"`{e.extractor}`", str(e.rows), _dim_text(e.spec), str(e.spec.get("dtype")),
                _kind(e.spec), str(e.errors)] for name, e in sorted(manifest.tables.items())],
        ),
        *failed_items_section(failed),
        "## Extractors\n",
        *[_extractor_section(name, entry) for name, entry in sorted(manifest.tables.items())],
        *_shared_space_lines(manifest),
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
        f"- output: {_kind(spec)}, dim {_dim_text(spec)}, {spec.get('dtype')}{extra}\n"
        f"{_aligned_line(entry.config) if entry.extractor == 'align' else ''}"
        f"- versions: {versions}{source}\n"
    )


def _shared_space_lines(manifest: Manifest) -> list[str]:
    """Tables of different modalities whose `versions` record one model fingerprint ("model:<name>", as `clip` and
    `clip-text` of one checkpoint do) hold vectors of one embedding space; a reader of the card should know."""
    tables_by_model: dict[tuple[str, str], list[str]] = {}
    for name, entry in sorted(manifest.tables.items()):
        for model, fingerprint in sorted(model_version_fingerprints(entry.versions).items()):
            tables_by_model.setdefault((model, fingerprint), []).append(name)
    return [f"{' and '.join(f'`{name}`' for name in names)} record one model (`{model}`, fingerprint `{fingerprint}`): "
            "their vectors are in one embedding space: a row of one compares directly with a row of another "
            "by cosine.\n"
            for (model, fingerprint), names in sorted(tables_by_model.items())
            if len({manifest.tables[name].modality for name in names}) > 1]


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
            + (" (of those holding the sample)" if config.get("on_absent") == "keep"
               and config.get("on_missing") == "drop" else "")
            + ("; pause tokens (`sp`) were skipped" if config.get("skip_pauses") else "")
            + ("; a sample one table had no features for is null in that table alone, aligned in the others"
               if config.get("on_absent") == "keep" else "") + ".\n")


def _splits_table(splits: dict[str, int], split_names: dict[str, str]) -> str:
    """Samples per split, in the order of the header's `configs` (train, validation, test, then the rest)."""
    rows = [[f"`{s}`", f"`{split_names.get(s, s)}`", str(splits[s])] for s in split_order(splits)]
    return _md_table(["split", "`datasets` split", "samples"], rows)


def shareable_options(options: dict[str, Any], corpus_root: str | None) -> dict[str, Any]:
    """Loader options as a share publishes them: an absolute path under the corpus root becomes relative
    to it, any other absolute path keeps its file name only (folders of the producer's machine are not
    shared, as the corpus root is not); a path inside a longer text is published as `share.redact`
    says; other values stay as they are.

    Example:
        >>> shareable_options({"folds": "/data/mosi/folds.json", "dataset": "cmu-mosi"}, "/data/mosi")
        {'folds': 'folds.json', 'dataset': 'cmu-mosi'}
    """
    return {key: _shareable_value(value, corpus_root) for key, value in options.items()}



def shareable_provenance(provenance: dict[str, Any], corpus_root: str | None) -> dict[str, Any]:
    """A table's provenance (manifest entry or schema metadata) or the manifest's `extra` as a share
    publishes them: paths given to extractors (`minilm:model=/home/me/models/st`, `resnet18:weights=...`,
    the `path` of a model they record) and those `segment` records (its source dataset, labels file,
    folds) become relative to the corpus root when under it, else their file or folder name, as loader
    options do (`shareable_options`); a path inside a longer text is published as `share.redact` says
    (`<outside corpus>/r18.pth`). Fingerprints (`versions`, a model's `sha256`) stay: they, not
    the path, say which model made a table. One rule for the manifest, the card and every Parquet
    file's metadata, so `mmdata check` on the share still finds them equal.
    """
    return shareable_options(provenance, corpus_root)

def _shareable_value(value: Any, corpus_root: str | None) -> Any:
    if isinstance(value, dict):
        return {key: _shareable_value(item, corpus_root) for key, item in value.items()}
    if isinstance(value, list):
        return [_shareable_value(item, corpus_root) for item in value]
    if not isinstance(value, str):
        return value
    if not PurePath(value).is_absolute():
        if _OPTION_PATH in value and _is_option_text(value):
            return ";".join(_shareable_option_text(option, corpus_root) for option in value.split(";"))
        return redact_text(value, corpus_root)  # a text naming a path: `<outside corpus>/r18.pth`
    path = PurePath(value)
    if corpus_root and PurePath(corpus_root).is_absolute() and path.is_relative_to(corpus_root):
        return path.relative_to(corpus_root).as_posix()
    return path.name


#: What an absolute path given as the VALUE of `KEY=VALUE` option text starts with.
_OPTION_PATH = "=/"


def _is_option_text(value: str) -> bool:
    """`KEY=VALUE;KEY=VALUE` text (video-frames' `image_options`), whose values may be paths too."""
    return all(key.isidentifier() and sep for key, sep, _ in (option.partition("=") for option in value.split(";")))


def _shareable_option_text(option: str, corpus_root: str | None) -> str:
    key, _, value = option.partition("=")
    return f"{key}={_shareable_value(value, corpus_root)}"


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
    from mmdata.checks.samples import corpus_dataset, label_range_for
    from mmdata.models.sentiment_checks import CLASS_LABEL_DATASETS

    loader = manifest.extra.get("loader") or {}
    text = (f"`label` (float64, in `samples`) holds a label for {labels.labelled} of {labels.rows} samples, "
            f"from {labels.low:g} to {labels.high:g}.")
    known = label_range_for(manifest.corpus, loader)
    if known is not None:
        dataset = (manifest.corpus.get("options") or {}).get("dataset") or loader.get("dataset") or manifest.corpus.get("kind")
        what = ("sentiment classes as numbers (negative -1, neutral 0, positive 1)"
                if corpus_dataset(manifest.corpus, loader) in CLASS_LABEL_DATASETS else "sentiment scores")
        text += (f" They are `{dataset}` {what}, whose range is [{known[0]:g}, {known[1]:g}] "
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
        rows = [[i.severity, f"`{i.code}`", f"`{i.table}`" if i.table else "samples", str(i.count), i.message]
                for i in checks.issues[:_MAX_ISSUES_IN_CARD]]
        text += "\n" + _md_table(["severity", "code", "table", "count", "message"], rows)
        if len(checks.issues) > _MAX_ISSUES_IN_CARD:
            text += f"\n... and {len(checks.issues) - _MAX_ISSUES_IN_CARD} more (run `mmdata check .`).\n"
    return text


def _title(manifest: Manifest) -> str:
    corpus = manifest.corpus
    split = f" {corpus['split']}" if corpus.get("split") else ""
    return f"{corpus.get('kind', 'corpus')}{split} features (mmdata)"


def _dim_text(spec: dict[str, Any]) -> str:
    """A table's dim as `mmdata info` shows it: `variable` where rows differ in length (token ids)."""
    return "variable" if spec.get("dim") is None else str(spec["dim"])


def _kind(spec: dict[str, Any]) -> str:
    return "pooled" if spec.get("kind") == "pooled" else f"sequence over {spec.get('item_axis') or 'items'}"


#: The Hub's `size_categories` values (`huggingface_hub.DatasetCardData`), by upper bound.
_SIZE_CATEGORIES = ((10**3, "n<1K"), (10**4, "1K<n<10K"), (10**5, "10K<n<100K"), (10**6, "100K<n<1M"),
                    (10**7, "1M<n<10M"), (10**8, "10M<n<100M"), (10**9, "100M<n<1B"), (10**10, "1B<n<10B"),
                    (10**11, "10B<n<100B"), (10**12, "100B<n<1T"))


def _size_category(rows: int) -> str:
    return next((name for limit, name in _SIZE_CATEGORIES if rows < limit), "n>1T")


def _md_cell(text: str) -> str:
    """`text` in a Markdown table cell: `|` escaped, and `<` outside code spans (`<outside corpus>/x.jpg`
    would be read as an HTML tag and vanish)."""
    pieces = text.replace("|", "\\|").replace("\n", " ").split("`")
    return "`".join(piece.replace("<", "\\<") if i % 2 == 0 else piece for i, piece in enumerate(pieces))


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
