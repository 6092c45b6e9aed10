"""What `mmdata.pipeline.extract` refuses before it computes any feature table, and how it says so.

A requested table the dataset cannot keep (made with another config, feature spec or table format,
or for other samples) is refused with every such table of the run in one error, and the `--force`
command line that replaces just them (`refuse_tables_not_kept`, `force_command`, spelling each
extractor as the command line takes it: `extractor_spec`). An extractor whose modality no sample
has a file for is refused too: every item would fail (`_check_media_present`).
"""
from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Any

from mmdata.errors import ConfigError, DatasetError
from mmdata.extract_tables import _table_provenance
from mmdata.features.base import Extractor
from mmdata.options import option_text, options_to_json
from mmdata.store import layout
from mmdata.store.reader import Dataset
from mmdata.store.tables import WAYS_OUT, claim_refusal


def refuse_tables_not_kept(dataset: Dataset, extractors: Sequence[Extractor], table_format: str) -> None:
    """Refuse, before any table is claimed or computed, every requested table `claim_table` would refuse
    (made with another config, feature spec or table format, or for other samples), all in one error: a
    run stopping at the first would leave the user to meet the next one only after fixing it.

    Raises:
        DatasetError: one refused table: `claim_table`'s own one-line message; several: a first line
            with their count and the `--force` run that replaces just them, then one line per table.
    """
    if table_format not in layout.TABLE_FORMATS:
        return  # the claim itself refuses the format, as it always has
    refused = [(e, why) for e in extractors
               if (why := claim_refusal(dataset, _table_provenance(dataset, e), table_format=table_format))]
    if len(refused) == 1:
        table_dir = layout.feature_dir(dataset.root, refused[0][0].table_name)
        errors_dir = layout.errors_dir(dataset.root, refused[0][0].table_name)
        raise DatasetError(f"{refused[0][1]}; {WAYS_OUT.format(table_dir=table_dir, errors_dir=errors_dir)}")
    if refused:
        raise DatasetError(_tables_refused_message(dataset, extractors, refused, table_format))


def _tables_refused_message(dataset: Dataset, extractors: Sequence[Extractor],
                            refused: list[tuple[Extractor, str]], table_format: str) -> str:
    """Several tables refused: their count and the way out on the first line, then each table's reason."""
    command = force_command(dataset, [e for e, _ in refused], table_format)
    first = (f"{len(refused)} requested tables of {dataset.root} cannot be kept, so the run changed nothing; --force "
             f"replaces the named extractors' tables, so a run naming only these {len(refused)} replaces just them: "
             f"`{command}`" + (" (then the run without --force goes on with the others)" if len(extractors) > len(refused)
                               else "") + "; or remove these tables' folders, or write to another output directory:")
    return "\n".join([first, *(f"  {why}" for _, why in refused)])


def force_command(dataset: Dataset, extractors: Sequence[Extractor], table_format: str) -> str:
    """The `mmdata extract ... --force` command line that replaces just these extractors' tables of the
    dataset: its corpus as the manifest records it, each extractor spelled as the command line takes it."""
    return extract_command(dataset, [(e.modality, extractor_spec(e)) for e in extractors], table_format, "--force")


def extract_command(dataset: Dataset, extractors: Sequence[tuple[str, str]], table_format: str, *flags: str) -> str:
    """The `mmdata extract` command line of the dataset's corpus as the manifest records it, naming
    `extractors` ((modality, spec) pairs, a spec as `extractor_spec` spells it), then `flags`."""
    corpus = dataset.manifest.corpus
    words = ["mmdata", "extract", corpus["kind"], corpus["root"], str(dataset.root)]
    if corpus.get("split"):
        words += ["--split", corpus["split"]]
    for key, value in (corpus.get("options") or {}).items():
        words += ["-o", f"{key}={_option_spelling(value)}"]
    for modality, spec in extractors:
        words += [f"--{modality}", spec]
    if table_format != layout.DEFAULT_FEATURE_FORMAT:
        words += ["--table-format", table_format]
    return shlex.join([*words, *flags])


def extractor_spec(extractor: Extractor) -> str:
    """`name[:key=value,...]` as the command line and recipes take it (`create_extractor`), with the
    options that differ from the extractor's defaults and apply (`Extractor.inapplicable_options`):
    `kaldi-fbank:snip_edges=false`."""
    config, defaults = options_to_json(extractor.config), options_to_json(type(extractor.config)())
    skipped = extractor.inapplicable_options()
    options = ",".join(f"{key}={_option_spelling(value)}" for key, value in config.items()
                       if value != defaults.get(key) and key not in skipped)
    return f"{extractor.name}:{options}" if options else extractor.name


def _option_spelling(value: Any) -> str:
    """An option value as the command line takes it (`option_text`); one it cannot spell, as JSON."""
    try:
        return option_text(value)
    except ConfigError:
        return json.dumps(value)


#: The samples-table columns an extractor of each modality reads its media from (audio extractors
#: fall back to the audio track of the video).
MEDIA_COLUMNS = {"image": ("image",), "audio": ("audio", "video"), "video": ("video",)}


def _check_media_present(dataset: Dataset, extractors: Sequence[Extractor]) -> None:
    """Refuse, before anything is computed, an extractor whose modality no sample has a file for:
    every item would fail."""
    wanted = {e.modality for e in extractors if e.modality in MEDIA_COLUMNS}
    if not wanted or not int(dataset.manifest.samples["rows"]):
        return
    columns = sorted({c for m in wanted for c in MEDIA_COLUMNS[m]})
    samples = dataset.samples_table(columns=columns)
    present = {c for c in columns if samples.column(c).null_count < len(samples)}
    for extractor in extractors:
        files = MEDIA_COLUMNS.get(extractor.modality, ())
        if files and not present.intersection(files):
            corpus = dataset.manifest.corpus
            raise ConfigError(
                f"extractor {extractor.name!r} reads {extractor.modality}, but no sample of {dataset.root} has "
                f"{' or '.join(repr(c) for c in files)} media (corpus {corpus['kind']} at {corpus['root']}); "
                f"drop --{extractor.modality}, or extract a corpus that has {extractor.modality}"
            )
