"""The merged samples table: every dataset's samples, one after the other, renamed so that none collide.

    sample_id   "<name>/<id>"                 (name: the dataset's, `MergeSource.name`)
    group_id    "<corpus>:<group>"            (or as it was, with shared_groups; a loader of a format rather
                                               than a corpus, `GENERIC_KINDS`, takes the dataset's name)
    split       as it was, or the split the merge puts the whole dataset in
    image/audio/video   "<name>/<path>": relative to the merged corpus root `OUTPUT_DIR/corpora`, where the
                        link <name> leads to the dataset's corpus folder (an absolute path, of a file outside
                        its corpus, is kept)
    extra       gains "source_dataset": "<name>" (what `--fold-by source_dataset` deals folds by)

Group ids take a namespace so that two corpora's ids (CREMA-D's actor `1001`, a MELD dialogue `1001`) are
not the same group, while two datasets of one corpus (two COCO extractions) still share theirs and `check`
sees an image in both splits.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from mmdata.errors import DatasetError
from mmdata.merge.sources import MergeSource
from mmdata.records import SAMPLES_SCHEMA
from mmdata.store import layout
from mmdata.store.writer import ERRORS_SCHEMA

#: The `extra` key naming the dataset a merged sample came from.
SOURCE_KEY = "source_dataset"
#: Corpus kinds that name a file format rather than a corpus (any folder of files; MOSI and MOSEI alike read from
#: `.csd` files or MMSA pickles): their group ids take the dataset's name.
GENERIC_KINDS = frozenset({"manifest", "csd", "mmsa", "mmsa-raw", "mosi-raw", "mult"})
MEDIA_COLUMNS = ("image", "audio", "video")


def merged_samples(sources: Sequence[MergeSource], shared_groups: bool) -> tuple[pa.Table, dict[str, list[str]]]:
    """(the samples tables of `sources` renamed and concatenated, in source order; {name: columns of its samples
    table the samples schema lacks, left out}: a share's embedded media, `image_file`, ...).

    Raises:
        DatasetError: a sample whose `extra` is not a JSON object or already holds `source_dataset`."""
    tables, left_out = [], {}
    for source in sources:
        table = source.dataset.samples_table()
        extra = [c for c in table.column_names if c not in SAMPLES_SCHEMA.names]
        if extra:
            left_out[source.name] = extra
        tables.append(_renamed(source, table.select([c for c in table.column_names if c in SAMPLES_SCHEMA.names]),
                               shared_groups))
    return pa.concat_tables(tables).combine_chunks(), left_out


def _renamed(source: MergeSource, table: pa.Table, shared_groups: bool) -> pa.Table:
    table = table.cast(SAMPLES_SCHEMA)
    columns = {name: table.column(name) for name in table.column_names}
    ids = columns["sample_id"]
    columns["sample_id"] = prefixed(ids, f"{source.name}/")
    if not shared_groups:
        kind = source.dataset.manifest.corpus.get("kind")
        namespace = source.name if kind in GENERIC_KINDS else columns["corpus"]
        columns["group_id"] = pc.binary_join_element_wise(namespace, columns["group_id"], ":")
    if source.split is not None:
        columns["split"] = pa.chunked_array([pa.array([source.split] * len(table), pa.string())])
    for name in MEDIA_COLUMNS:  # relative to the merged corpus root, whose <name> folder links to this corpus
        paths = columns[name]
        columns[name] = pc.if_else(pc.starts_with(paths, "/"), paths, prefixed(paths, f"{source.name}/"))
    columns["extra"] = with_source(columns["extra"], ids, source)
    return pa.table(columns, schema=SAMPLES_SCHEMA)


def prefixed(values: pa.ChunkedArray | pa.Array, prefix: str) -> pa.ChunkedArray | pa.Array:
    """Each non-null string with `prefix` before it."""
    return pc.binary_join_element_wise(prefix, values, "")


def with_source(extra: pa.ChunkedArray, ids: pa.ChunkedArray, source: MergeSource) -> pa.ChunkedArray:
    """Each sample's `extra` JSON object with `source_dataset` first: {"source_dataset": "<name>", ...}.

    Raises:
        DatasetError: an `extra` that is not a JSON object (it cannot gain a key), or one holding the key."""
    entry = f"{json.dumps(SOURCE_KEY)}: {json.dumps(source.name)}"
    text = pc.fill_null(extra, "{}")
    _refuse(pc.invert(pc.match_substring_regex(text, r"^\s*\{[\s\S]*\}\s*$")), ids, source,
            "is not a JSON object, which a merge adds the dataset's name to",
            "extract the corpus again with this mmdata, whose loaders write an object")
    _refuse(_holding_key(text), ids, source, f"already holds {SOURCE_KEY!r}, the key a merge names the dataset with",
            "rename that field in the corpus (a manifest's column of that name) and extract it again")
    empty = pc.match_substring_regex(text, r"^\s*\{\s*\}\s*$")
    filled = pc.replace_substring_regex(text, r"^\s*\{", "{" + entry.replace("\\", "\\\\") + ", ", max_replacements=1)
    return pc.if_else(empty, "{" + entry + "}", filled)


def _holding_key(text: pa.ChunkedArray) -> pa.Array:
    """Per sample: whether its extra object has the key `SOURCE_KEY` (parsed only where the text holds it)."""
    mentions = pc.match_substring(text, f'"{SOURCE_KEY}"').to_numpy(zero_copy_only=False)
    holding = mentions.copy()
    for row in mentions.nonzero()[0]:
        try:
            holding[row] = SOURCE_KEY in json.loads(text[int(row)].as_py())
        except ValueError:
            holding[row] = False  # not JSON: refused as such before
    return pa.array(holding)


def _refuse(bad: pa.ChunkedArray, ids: pa.ChunkedArray, source: MergeSource, why: str, hint: str) -> None:
    if pc.any(bad).as_py():
        row = pc.index(bad, True).as_py()
        raise DatasetError(f"sample {ids[row].as_py()!r} of {source.dataset.root}: its extra {why} "
                           f"({int(pc.sum(bad).as_py())} such samples); {hint}")


def merged_errors(source: MergeSource, table: str) -> pa.Table:
    """The errors table `table` of `source` (the loader's: `layout.LOADER_ERRORS_TABLE`), its sample ids renamed."""
    files = layout.shard_files(layout.errors_dir(source.dataset.root, table))
    if not files:
        return ERRORS_SCHEMA.empty_table()
    import pyarrow.parquet as pq

    errors = pa.concat_tables([pq.read_table(f).cast(ERRORS_SCHEMA) for f in files])
    return errors.set_column(errors.schema.get_field_index("sample_id"), "sample_id",
                             prefixed(errors.column("sample_id"), f"{source.name}/"))
