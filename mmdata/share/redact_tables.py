"""The tables of a share with no absolute path of the producer's machine (the rules: `share.redact`).

What is rewritten, a column at a time, where a cell holds an absolute path:

    samples      sample_id, group_id, image, audio, video   whole values (`PathRedactor.value`)
                 extra (JSON)                                 string values that are whole absolute paths
                 image_file / audio_file                      the `path` of an embedded file
    features     sample_id; keys (`<sample_id>[i]`)           as in `samples`
    errors       sample_id, path; reason                      reason: each path in the text

Captions, transcripts and any other text of the corpus are published as they are. Columns without an
absolute path cost one vectorized scan; only the cells that hold one are rewritten.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mmdata.errors import DatasetError
from mmdata.share.redact import ABSOLUTE_CELL, PATH_HINT, PathRedactor
from mmdata.store import layout

if TYPE_CHECKING:
    from mmdata.checks import CheckReport

#: Columns of the samples table whose whole values may be paths (or ids made from them).
PATH_COLUMNS = ("sample_id", "group_id", "image", "audio", "video")
#: A JSON text holding a string that may start with an absolute path (checked further in Python).
_JSON_PATH_HINT = r'"(/|~/|[A-Za-z]:)'


def share_redactor(samples: pa.Table, corpus_root: str | None) -> PathRedactor:
    """The redactor of a share of `samples`, knowing every absolute path its path columns hold.

    Raises:
        DatasetError: two sample ids would be published alike (an id that is a path under the corpus
            root and another id spelled as that relative path).
    """
    known: set[str] = set()
    for name in PATH_COLUMNS:
        if name in samples.column_names:
            column = samples.column(name)
            known.update(pc.unique(column.filter(pc.match_substring_regex(column, ABSOLUTE_CELL))).to_pylist())
    redactor = PathRedactor(corpus_root, known)
    ids = samples.column("sample_id")
    published = redact_column(ids, redactor.value)
    if published is not ids and pc.count_distinct(published).as_py() < len(ids):
        _raise_shared_id(ids.to_pylist(), published.to_pylist())
    return redactor


def redact_samples(part: pa.Table, redactor: PathRedactor) -> pa.Table:
    """A shard of the samples table as a share publishes it (see the module docstring)."""
    for name in PATH_COLUMNS:
        part = _rewrite(part, name, lambda column: redact_column(column, redactor.value))
    part = _rewrite(part, "extra", lambda column: _redact_json_values(column, redactor.value))
    for name in part.column_names:
        if name.endswith("_file") and pa.types.is_struct(part.schema.field(name).type):
            part = _rewrite(part, name, lambda column: _redact_struct_paths(column, redactor.value))
    return part


def redact_feature_rows(part: pa.Table, redactor: PathRedactor) -> pa.Table:
    """Rows of a feature table as a share publishes them: `sample_id`, and an aligned table's `keys`."""
    part = _rewrite(part, "sample_id", lambda column: redact_column(column, redactor.value))
    if "keys" in part.column_names and _is_list_of_strings(part.schema.field("keys").type):
        part = _rewrite(part, "keys", lambda column: _redact_list_values(column, redactor.key))
    return part


def copy_errors_tables(source: Path, out: Path, redactor: PathRedactor) -> None:
    """The dataset's errors tables, their ids, paths and reasons as a share publishes them."""
    for path in sorted((source / layout.ERRORS_DIR).glob("*/part-*.parquet")):
        target = out / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(redact_errors(pq.read_table(path), redactor), target)


def redact_errors(table: pa.Table, redactor: PathRedactor) -> pa.Table:
    """An errors table (`store.writer.ERRORS_SCHEMA`): each reason with the paths in it published, its own
    `path` found whole, then `sample_id` and `path` as whole values."""
    if "reason" in table.column_names:
        reason = table.column("reason")
        if pc.any(pc.match_substring_regex(reason, PATH_HINT)).as_py():
            paths = table.column("path").to_pylist() if "path" in table.column_names else [None] * len(table)
            texts = [None if text is None else redactor.text(text, [path] if path else ())
                     for text, path in zip(reason.to_pylist(), paths)]
            table = _rewrite(table, "reason", lambda _: pa.array(texts, reason.type))
    for name in ("sample_id", "path"):
        table = _rewrite(table, name, lambda column: redact_column(column, redactor.value))
    return table


def redact_checks(report: CheckReport, redactor: PathRedactor) -> CheckReport:
    """The checks' findings as the card shows them: ids and the paths in messages published."""
    issues = [dataclasses.replace(
        issue, message=redactor.text(issue.message),
        sample_id=None if issue.sample_id is None else redactor.value(issue.sample_id),
        examples=tuple(redactor.value(example) for example in issue.examples),
    ) for issue in report.issues]
    return dataclasses.replace(report, issues=issues)


def redact_column(column: pa.Array | pa.ChunkedArray, rule: Callable[[str], str]) -> pa.Array | pa.ChunkedArray:
    """`column` (strings) with each cell that is an absolute path replaced by `rule(cell)`; `column`
    itself when no cell is one."""
    hits = pc.match_substring_regex(column, ABSOLUTE_CELL)
    if not pc.any(hits).as_py():
        return column
    originals = pc.unique(column.filter(hits))
    published = pa.array([rule(value) for value in originals.to_pylist()], column.type)
    positions = pc.index_in(column, value_set=originals)
    return pc.if_else(pc.is_null(positions), column, published.take(positions))


def _redact_json_values(column: pa.ChunkedArray, rule: Callable[[str], str]) -> pa.ChunkedArray | pa.Array:
    """JSON texts (the `extra` column) with each string value that is an absolute path replaced by
    `rule(value)`; a text with none keeps its bytes."""
    hits = pc.match_substring_regex(column, _JSON_PATH_HINT)
    if not pc.any(hits).as_py():
        return column
    texts = [text if not hit else _json_with_paths_redacted(text, rule)
             for text, hit in zip(column.to_pylist(), hits.to_pylist())]
    return pa.array(texts, column.type)


def _json_with_paths_redacted(text: str, rule: Callable[[str], str]) -> str:
    value = json.loads(text)
    redacted = _redacted_strings(value, rule)
    return text if redacted == value else json.dumps(redacted, sort_keys=True)  # as `records.samples_to_table`


def _redacted_strings(value: Any, rule: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {key: _redacted_strings(item, rule) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted_strings(item, rule) for item in value]
    return rule(value) if isinstance(value, str) else value


def _redact_struct_paths(column: pa.ChunkedArray, rule: Callable[[str], str]) -> pa.Array | pa.ChunkedArray:
    """Embedded files (`struct<bytes, path>`) with their `path` published; the bytes are not copied."""
    if not pc.any(pc.match_substring_regex(pc.struct_field(column, "path"), ABSOLUTE_CELL)).as_py():
        return column
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    index = column.type.get_field_index("path")
    published = redact_column(column.field(index), rule)
    children = [published if i == index else column.field(i) for i in range(column.type.num_fields)]
    return pa.StructArray.from_arrays(children, fields=list(column.type), mask=column.is_null())


def _redact_list_values(column: pa.ChunkedArray, rule: Callable[[str], str]) -> pa.Array | pa.ChunkedArray:
    """Lists of strings (an aligned table's `keys`) with each string published by `rule`."""
    if not pc.any(pc.match_substring_regex(pc.list_flatten(column), ABSOLUTE_CELL)).as_py():
        return column
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    published = redact_column(column.values, rule)
    return type(column).from_arrays(column.offsets, published, type=column.type, mask=column.is_null())


def _is_list_of_strings(data_type: pa.DataType) -> bool:
    return ((pa.types.is_list(data_type) or pa.types.is_large_list(data_type))
            and (pa.types.is_string(data_type.value_type) or pa.types.is_large_string(data_type.value_type)))


def _rewrite(table: pa.Table, name: str, rewrite: Callable[[pa.ChunkedArray], Any]) -> pa.Table:
    """`table` with column `name` (where it has one) replaced by `rewrite(column)`; `table` itself when
    the rewrite returns the column unchanged."""
    if name not in table.column_names:
        return table
    column = table.column(name)
    rewritten = rewrite(column)
    if rewritten is column:
        return table
    index = table.column_names.index(name)
    return table.set_column(index, table.schema.field(index), rewritten)


def _raise_shared_id(ids: list[str], published: list[str]) -> None:
    first: dict[str, str] = {}
    for original, shown in zip(ids, published):
        if shown in first:
            raise DatasetError(
                f"samples {first[shown]!r} and {original!r} would both be published as sample id {shown!r} (a share "
                "publishes an id that is a path under the corpus root relative to it); give the samples ids of "
                "their own (an `id` column in a manifest) and extract again"
            )
        first[shown] = original
