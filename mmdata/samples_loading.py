"""A corpus loaded into a dataset directory's samples table: the first step of `mmdata.pipeline.extract`.

`_prepare` loads the corpus, writes the samples table (shards of `shard_size` rows, the loader's
problems as an errors table), the manifest and the tables the corpus carries itself (`.csd`
sequences, processed pickles); or, on a rerun of the same corpus, split and options, keeps the
samples table an earlier run wrote and finishes what it left unfinished (with `update`, after
appending the samples the corpus gained since: `mmdata.samples_update`). A dataset of another
corpus, or of this one loaded with other settings, is refused. `write_samples`, `samples_entry` and
`fingerprint_ids` also serve other writers of a samples table (`mmdata.alignment.segment`).
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mmdata.corpora.base import LoadProblem, LoadResult, get_corpus_kind, load_corpus, require_dir
from mmdata.corpora.sources import SOURCES_KEY, changed_sources, source_names, stat_sources
from mmdata.errors import ConfigError, CorpusFormatError, DatasetError
from mmdata.options import build_options
from mmdata.precomputed import write_precomputed_tables
from mmdata.records import samples_to_table
from mmdata.store import layout
from mmdata.store.grown_samples import fingerprint_of, ids_digest
from mmdata.store.manifest import Manifest, read_manifest, write_manifest
from mmdata.store.reader import Dataset, open_dataset
from mmdata.store.tables import TableReport
from mmdata.store.writer import errors_table, write_table_atomic

if TYPE_CHECKING:
    from mmdata.pipeline import OnError

log = logging.getLogger(__name__)


def _prepare(
    kind: str, corpus_dir: str | Path, output_dir: str | Path, *, split: str | None, options: dict[str, Any] | None,
    on_error: OnError, shard_size: int, table_format: str = layout.DEFAULT_FEATURE_FORMAT, force: bool = False,
    update: bool = False,
) -> tuple[Dataset, list[TableReport], int | None]:
    """(the dataset, reports of the precomputed tables written, the samples `update` appended to an
    existing dataset: 0 when it is up to date with the corpus, None without `update` or for a new one)."""
    get_corpus_kind(kind)  # unknown kinds fail before anything is read
    root = require_dir(corpus_dir).resolve()
    output_dir = Path(output_dir)
    corpus_spec = {"kind": kind, "root": str(root), "split": split, "options": dict(sorted((options or {}).items()))}
    if (output_dir / layout.MANIFEST_NAME).is_file():
        manifest = read_manifest(output_dir)
        differing = [k for k in ("kind", "root", "split") if manifest.corpus.get(k) != corpus_spec[k]]
        differing += [] if _same_options(kind, manifest.corpus.get("options"), corpus_spec["options"]) else ["options"]
        if not differing:
            result, added = None, None
            if update:
                result, added = _update(output_dir, manifest, kind, root, split, options, on_error)
            else:
                _refuse_interrupted_update(output_dir, manifest)
            dataset = open_dataset(output_dir)
            pending = [n for n in dataset.manifest.samples.get("precomputed", [])
                       if not _table_complete(dataset.manifest, n)]
            if not pending:
                return dataset, [], added
            changed = changed_sources(root, dataset.manifest.extra.get(SOURCES_KEY))
            if changed:  # finishing the tables from the files as they are now would mix two versions of them
                raise DatasetError(
                    f"{output_dir}: the precomputed tables {pending} are unfinished, and corpus files they or the "
                    f"samples were read from changed since: {', '.join(changed)}; extract into a new output "
                    "directory to read the corpus as it is now")
            # An interrupted run (or an update) left precomputed tables unfinished: load again to finish them.
            tables = (result if result is not None else load_corpus(kind, root, split=split, options=options)).tables
            return dataset, write_precomputed_tables(dataset, tables, on_error=on_error, force=force,
                                                     table_format=table_format), added
        if set(differing) <= {"split", "options"}:
            changes = "; ".join(f"{k} {manifest.corpus.get(k)!r} there, {corpus_spec[k]!r} now" for k in differing)
            raise DatasetError(
                f"{output_dir} holds a dataset of this corpus loaded with other settings ({changes}); use the "
                "settings it was made with to add tables, or choose another output directory"
            )
        if manifest.corpus.get("kind") == layout.MERGED_KIND:  # `mmdata merge`'s output: its corpora are each dataset's
            sources = [s.get("name") for s in manifest.extra.get("merge", {}).get("sources", [])]
            raise DatasetError(
                f"{output_dir} is a merged dataset (of {', '.join(map(str, sources))}): tables are not extracted into "
                "it; extract the table into each dataset it was made of, then run `mmdata merge` again (--force)")
        raise DatasetError(
            f"{output_dir} already holds a dataset of another corpus ({manifest.corpus['kind']} at "
            f"{manifest.corpus['root']}, split {manifest.corpus.get('split')}); choose another output directory"
        )
    result = load_corpus(kind, root, split=split, options=options)
    if not result.samples:
        first = f"; the first: {result.problems[0].path}: {result.problems[0].reason}" if result.problems else ""
        if split and not result.problems:  # the loaders report only entries of the split asked for
            raise CorpusFormatError(
                f"no sample loaded from {root} (corpus {kind}, split {split}): split {split!r} matched no entry of "
                "the corpus; check the split name (without --split, every "
                "split is loaded)"
            )
        raise CorpusFormatError(
            f"no sample loaded from {root} (corpus {kind}" + (f", split {split}" if split else "") + f"): "
            f"{len(result.problems)} annotation entries could not be used{first}; check the corpus kind, split "
            "and annotation files"
        )
    _refuse_loader_problems(result, on_error)
    table = samples_to_table(result.samples)
    write_samples(output_dir, table, result.problems, shard_size=shard_size)
    manifest = Manifest(
        corpus=corpus_spec,
        samples=samples_entry(table, shard_size, loader_errors=len(result.problems),
                              precomputed=[t.name for t in result.tables]),
        extra={"loader": result.metadata} if result.metadata else {},
    )
    sources = stat_sources(root, source_names(result))
    if sources:  # so that a rerun can tell a .csd, pickle or label file replaced since (`corpora.sources`)
        manifest.extra[SOURCES_KEY] = sources
    write_manifest(output_dir, manifest)
    reports = write_precomputed_tables(open_dataset(output_dir), result.tables, on_error=on_error,
                                       table_format=table_format)
    return open_dataset(output_dir), reports, None


def _update(output_dir: Path, manifest: Manifest, kind: str, root: Path, split: str | None,
            options: dict[str, Any] | None, on_error: OnError) -> tuple[LoadResult, int]:
    """The corpus loaded again, and the samples it gained appended to the dataset (`samples_update`)."""
    from mmdata.samples_update import update_samples  # it builds on this module's writers

    result = load_corpus(kind, root, split=split, options=options)
    _refuse_loader_problems(result, on_error)
    added = update_samples(output_dir, manifest, result, root=root)
    if added:
        log.info("%s: %d samples added from the corpus, after the %d there were", output_dir, added,
                 int(manifest.samples["rows"]) - added)
    else:
        log.info("%s is up to date with the corpus: no sample to add", output_dir)
    return result, added


def _refuse_interrupted_update(output_dir: Path, manifest: Manifest) -> None:
    """A rerun without --update of a dataset whose update was interrupted: its samples table is part
    old, part grown, which only the update can finish.

    Raises:
        DatasetError: naming the dataset and the command that finishes it.
    """
    from mmdata.samples_update import UPDATE_KEY

    if UPDATE_KEY in manifest.extra:
        raise DatasetError(f"{output_dir}: an `mmdata extract --update` of this dataset was interrupted while it "
                           "appended samples; run the same command with --update again to finish it")


def _refuse_loader_problems(result: LoadResult, on_error: OnError) -> None:
    """With --on-error fail, the loader's first problem stops the run before anything is written.

    Raises:
        CorpusFormatError: naming the file, the reason (and the sample), and how many more there are.
    """
    if on_error == "fail" and result.problems:
        first, more = result.problems[0], len(result.problems) - 1
        raise CorpusFormatError(
            f"{first.path}: {first.reason}" + (f" (sample {first.sample_id})" if first.sample_id else "")
            + "; nothing was written: --on-error fail stops at the loader's first problem"
            + (f" ({more} more)" if more else "") + "; --on-error skip records them in the errors table and goes on"
        )


def write_samples(output_dir: Path, table: pa.Table, problems: Sequence[LoadProblem], *, shard_size: int) -> None:
    """Write the samples table in shards of `shard_size` rows, and the loader's problems as errors.

    Runs before the manifest exists, so whatever shards its folders hold are an interrupted run's
    (killed before it wrote the manifest): they are removed first, never counted with the new ones."""
    _check_unique_ids(table)
    _remove_unfinished_samples(output_dir)
    for rows, path in samples_shards(output_dir, table, shard_size=shard_size):
        write_table_atomic(rows, path)
    write_loader_errors(output_dir, problems)


def samples_shards(output_dir: Path, table: pa.Table, *, shard_size: int,
                   first: int = 0) -> Iterator[tuple[pa.Table, Path]]:
    """(rows, file) of each shard of the samples table `table` from shard `first` on: shard k holds rows
    [k * shard_size, (k + 1) * shard_size), and an empty table is one empty shard. `write_samples` writes
    them all; `extract --update` those from the partial last one on (`samples_update`)."""
    for index in range(first, max(-(-len(table) // shard_size), 1)):
        yield table.slice(index * shard_size, shard_size), layout.samples_dir(output_dir) / layout.shard_name(index)


def write_loader_errors(output_dir: Path, problems: Sequence[LoadProblem]) -> None:
    """The loader's problems as the errors table `loader` (one shard), replacing an earlier one;
    none: no such table (an earlier one goes)."""
    path = layout.errors_dir(output_dir, layout.LOADER_ERRORS_TABLE) / layout.shard_name(0)
    if not problems:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # holds other files, or was never made
            path.parent.rmdir()
        return
    records = [
        {"table": layout.LOADER_ERRORS_TABLE, "sample_id": p.sample_id, "path": p.path, "stage": "load",
         "error_type": p.error_type, "reason": p.reason}
        for p in problems
    ]
    write_table_atomic(errors_table(records), path)


def _remove_unfinished_samples(output_dir: Path) -> None:
    """The shards a run killed while writing the samples table or the loader's errors left behind
    (only files of the store's naming: a folder of other files is left alone; its temporary files
    went when this run took the writer lock, `store.lock.remove_stale_temporaries`)."""
    for folder in (layout.samples_dir(output_dir), layout.errors_dir(output_dir, layout.LOADER_ERRORS_TABLE)):
        for path in layout.shard_files(folder):
            path.unlink(missing_ok=True)


def _table_complete(manifest: Manifest, name: str) -> bool:
    return name in manifest.tables and manifest.tables[name].complete


def _same_options(kind: str, recorded: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """Whether two corpus option mappings mean the same loader options: compared as the loader reads
    them (typed, defaults filled in), so a recipe's `false`, the flag's `False` and leaving the default
    agree. Options this version cannot read are compared as written."""
    if (recorded or {}) == wanted:
        return True
    options_type = get_corpus_kind(kind).options_type
    try:
        return build_options(options_type, recorded or {}, owner="recorded") == \
            build_options(options_type, wanted, owner="given")
    except ConfigError:
        return False


def _check_unique_ids(table: pa.Table) -> None:
    ids = table.column("sample_id")
    if len(ids) != len(set(ids.to_pylist())):
        import pyarrow.compute as pc

        counts = pc.value_counts(ids)
        dup = next(c["values"] for c in counts.to_pylist() if c["counts"] > 1)
        raise CorpusFormatError(f"sample id {dup!r} occurs more than once; loaders must yield unique ids")


def samples_entry(table: pa.Table, shard_size: int, *, loader_errors: int,
                  precomputed: Sequence[str] = (), fingerprint: str | None = None) -> dict[str, Any]:
    """The manifest's `samples` entry for a samples table written by `write_samples` in shards of `shard_size`;
    `fingerprint`: the one to record instead of the ids' own (an update keeps the dataset's: `samples_update`)."""
    import pyarrow.compute as pc

    total = len(table)
    return {
        "path": layout.SAMPLES_DIR,
        "rows": total,
        "shards": [min(shard_size, total - start) for start in range(0, total, shard_size)] or [0],
        "shard_size": shard_size,
        "fingerprint": fingerprint or fingerprint_ids(table.column("sample_id").to_pylist()),
        "loader_errors": loader_errors,
        "splits": {c["values"]: c["counts"] for c in pc.value_counts(table.column("split")).to_pylist()},
        "precomputed": list(precomputed),
    }


def fingerprint_ids(ids: Iterable[str]) -> str:
    """The samples fingerprint of `ids` (in table order) that the manifest and every shard record: the first
    16 hex digits of the sha256 of each id's UTF-8 bytes followed by a NUL byte. One implementation with
    the prefixes `mmdata.store.grown_samples` hashes to tell a samples table an update grew."""
    return fingerprint_of(ids_digest(list(ids)))
