"""`merge_datasets`: several datasets made with the same extractors as one, for training across corpora.

    report = merge_datasets(["out/crema-d", "out/ravdess"], "out/emotion", splits={"ravdess": "test"})

The merged dataset is a dataset like any other (`check`, `fuse`, `share`, `train` read it): its samples are
each dataset's, renamed `<name>/<id>` (`merge.samples`), and each feature table every dataset holds made the
same way is their rows in the same order (`merge.tables`). Its corpus root is `OUTPUT_DIR/corpora`, a folder
of links `<name>` to each dataset's corpus folder, so that the media paths `<name>/<path>` open. Its manifest
names the corpus kind `merged`, each dataset's corpus kind and labelled corpus (what the checks keyed on a
corpus read), and, in `extra.merge`, each dataset: its name, folder, corpus, samples fingerprint and rows, the
split it was put in, how it made each table. Each sample's `extra.source_dataset` names its dataset, so

    mmdata train cross-validate out/emotion out/emotion-cv --fold-by source_dataset --class-label emotion ...

holds each corpus out in turn (leave-one-corpus-out). Everything is written into a hidden folder moved onto
the output at the end: a failure or an interruption leaves no half dataset, and the command runs again whole.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from mmdata.checks.samples import corpus_dataset
from mmdata.errors import ConfigError, DatasetError
from mmdata.merge.samples import SOURCE_KEY, merged_errors, merged_samples
from mmdata.merge.sources import MergeSource, choose_tables, open_sources
from mmdata.merge.tables import claim_merged_table, merged_entries, source_tables, write_merged_shards
from mmdata.options import did_you_mean, check_count, check_flag, dataset_path, optional_name_list, path_argument, short_repr
from mmdata.samples_loading import samples_entry, write_samples
from mmdata.store import layout
from mmdata.store.layout import MERGED_KIND
from mmdata.store.lock import output_lock
from mmdata.store.manifest import Manifest, records_extra, write_manifest
from mmdata.store.metadata import NONFINITE_VALUES_KEY
from mmdata.store.reader import open_dataset
from mmdata.store.tables import TableReport, finish_table
from mmdata.store.write_errors import named_write_errors
from mmdata.store.writer import check_replaceable, staged_dir, write_table_atomic


#: Tables written at once.
WRITER_THREADS = 2


@dataclass(repr=False)
class MergeReport:
    """What `merge_datasets` wrote."""

    output_dir: Path
    samples: dict[str, int]  # dataset name -> its samples
    splits: dict[str, int]  # split -> samples of the merged dataset
    tables: list[TableReport] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # table -> why it was not merged
    unlinked: dict[str, str] = field(default_factory=dict)  # dataset -> why its media are not reachable
    left_out: dict[str, list[str]] = field(default_factory=dict)  # dataset -> samples columns left out

    def __repr__(self) -> str:
        lines = [f"output_dir={str(self.output_dir)!r}: {sum(self.samples.values())} samples "
                 f"({', '.join(f'{name} {n}' for name, n in self.samples.items())})",
                 "splits: " + ", ".join(f"{split} {n}" for split, n in self.splits.items())]
        lines += [f"{t.name}: {t.rows} rows, {t.errors} failed" for t in self.tables]
        lines += [f"{name}: skipped ({why})" for name, why in self.skipped.items()]
        lines += [f"media of {name}: not reachable ({why})" for name, why in self.unlinked.items()]
        lines += [f"samples of {name}: columns {columns} left out" for name, columns in self.left_out.items()]
        return short_repr(type(self).__name__, lines)


def merge_datasets(
    datasets: Sequence[str | Path | Any],
    output_dir: str | Path,
    *,
    names: Sequence[str] | str | None = None,
    tables: Sequence[str] | str | None = None,
    splits: Mapping[str, str] | None = None,
    shared_groups: bool = False,
    any_versions: bool = False,
    shard_size: int | None = None,
    corpus_roots: Mapping[str, str | Path] | None = None,
    force: bool = False,
) -> MergeReport:
    """Write a new dataset at `output_dir` holding the samples and feature tables of every dataset of `datasets`.

    Args:
        datasets: two dataset directories or more (or `Dataset`s), in the order their samples follow.
        output_dir: the new dataset directory.
        names: each dataset's name, in order (a list or a comma-separated string): the prefix of its sample ids
            (`<name>/<id>`) and its `extra.source_dataset`; default: the datasets' folder names.
        tables: the tables to merge (default: every table each dataset holds complete and made the same way;
            the others are skipped and said why); a table asked for that cannot be merged is refused.
        splits: {name: split}: every sample of that dataset in one split (`{"ravdess": "test"}` to train on the
            others and test on RAVDESS); the others keep their own splits.
        shared_groups: keep group ids as they are (for corpora that name the same media alike, as AudioSet and
            VGGSound do YouTube videos, so that `check` sees a video in two splits); default: `<corpus>:<group>`.
        any_versions: merge tables made with other library versions (each dataset's are recorded in
            `extra.merge`); default: refused, naming the libraries.
        shard_size: samples per shard (default: the largest of the datasets').
        corpus_roots: {name: folder}: where a dataset's corpus lies, for one whose manifest records no folder (a
            shared dataset) or whose corpus moved; default: the folder each records.
        force: replace an existing `output_dir` that an earlier merge wrote.

    Returns:
        A `MergeReport`: samples per dataset and per split, rows per table, tables skipped and why.

    Raises:
        ConfigError: fewer than two datasets, one given twice, names not one per dataset or not unique, a split
            for a name no dataset has, arguments of the wrong type.
        DatasetError: a dataset that is itself a merge, a table asked for that some dataset lacks or made
            otherwise, no table to merge, rows not aligned with their samples, `output_dir` exists (without force).

    Example:
        >>> merge_datasets(["out/crema-d", "out/ravdess"], "out/emotion", splits={"ravdess": "test"})
    """
    if isinstance(datasets, (str, Path)) or not isinstance(datasets, Sequence):
        raise ConfigError(f"datasets: expected a list of two dataset directories or more, got {datasets!r}")
    paths = [dataset_path(d, argument="datasets") for d in datasets]
    output_dir = path_argument(output_dir, argument="output_dir")
    names = optional_name_list(names, argument="names")
    tables = optional_name_list(tables, argument="tables")
    if splits is not None and not isinstance(splits, Mapping):
        raise ConfigError(f"splits: expected a mapping of dataset name -> split, e.g. {{'ravdess': 'test'}}, got {splits!r}")
    for flag in ("shared_groups", "any_versions", "force"):
        check_flag(flag, locals()[flag])
    if corpus_roots is not None and not isinstance(corpus_roots, Mapping):
        raise ConfigError(f"corpus_roots: expected a mapping of dataset name -> folder, e.g. {{'ravdess': '/data/RAVDESS'}}, "
                          f"got {corpus_roots!r}")
    check_count("shard_size", shard_size, optional=True)
    sources = open_sources(paths, names, splits)
    roots = corpus_folders(sources, corpus_roots)
    with named_write_errors(output_dir), output_lock(output_dir, "merge"):
        _check_output(sources, output_dir, force)
        return _merge_into(sources, output_dir, tables, shared_groups, any_versions, shard_size, roots)


def _merge_into(sources: list[MergeSource], output_dir: Path, tables: Sequence[str] | None, shared_groups: bool,
                any_versions: bool, shard_size: int | None, roots: dict[str, Path | None]) -> MergeReport:
    names, skipped = choose_tables(sources, tables, any_versions)
    entries = merged_entries(sources, names)
    samples, left_out = merged_samples(sources, shared_groups)
    size = shard_size or max(int(s.dataset.manifest.samples.get("shard_size", layout.DEFAULT_SHARD_SIZE))
                             for s in sources)
    loader_errors = pa.concat_tables([merged_errors(s, layout.LOADER_ERRORS_TABLE) for s in sources])
    report = MergeReport(output_dir, {s.name: s.dataset.manifest.samples["rows"] for s in sources}, {},
                         skipped=skipped, unlinked=unreachable(sources, roots), left_out=left_out)
    with staged_dir(output_dir) as tmp:
        _link_corpora(tmp, roots)
        write_samples(tmp, samples, [], shard_size=size)
        if loader_errors.num_rows:
            write_table_atomic(loader_errors, layout.errors_dir(tmp, layout.LOADER_ERRORS_TABLE) / layout.shard_name(0))
        entry = samples_entry(samples, size, loader_errors=loader_errors.num_rows)
        write_manifest(tmp, _manifest(sources, output_dir, entry, names, skipped, shared_groups, any_versions, roots))
        out = open_dataset(tmp)
        for name in names:
            claim_merged_table(out, sources, name, entries[name])
        # Tables on two threads: Arrow, NumPy and fsync release the GIL, and one table's write waits on the disk
        # while the other's moments are computed.
        with ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:
            written = list(pool.map(lambda name: write_merged_shards(out, sources, name, entries[name], samples), names))
        for name, shards in zip(names, written):
            report.tables.append(finish_table(out, name, written=shards))
        report.splits = dict(entry["splits"])
    for t in report.tables:
        t.path = output_dir / t.path.relative_to(tmp)
    return report


def corpus_folders(sources: Sequence[MergeSource], given: Mapping[str, str | Path] | None) -> dict[str, Path | None]:
    """{name: the folder its corpus lies in}: `given`'s, else the one its manifest records while it exists (None:
    none recorded, as a shared dataset records only the folder's name, or moved since).

    Raises:
        ConfigError: a name no dataset has, or a folder that does not exist."""
    given = dict(given or {})
    names = [s.name for s in sources]
    for name, folder in given.items():
        if name not in names:
            raise ConfigError(f"corpus root for {name!r}: no dataset of the merge is named so; the names: {names}"
                              f"{did_you_mean(name, names)} (--corpus-root NAME=DIR)")
        if not Path(folder).expanduser().is_dir():
            raise ConfigError(f"corpus root for {name!r}: {folder} is not a folder; expected the folder holding that "
                              "corpus (--corpus-root NAME=DIR)")
    roots: dict[str, Path | None] = {}
    for s in sources:
        recorded = s.dataset.manifest.corpus_location()
        roots[s.name] = (Path(given[s.name]).expanduser().resolve() if s.name in given else
                         recorded if recorded is not None and recorded.is_dir() else None)
    return roots


def unreachable(sources: Sequence[MergeSource], roots: Mapping[str, Path | None]) -> dict[str, str]:
    """{name: why its media cannot be reached} for the datasets `corpus_folders` found no folder for."""
    out = {}
    for s in sources:
        if roots[s.name] is None:
            recorded = s.dataset.manifest.corpus.get("root")
            why = (f"its corpus folder {recorded} is gone" if s.dataset.manifest.corpus_location() is not None else
                   f"its dataset records no corpus folder, only {recorded!r}: a shared dataset")
            out[s.name] = f"{why}; give it with --corpus-root {s.name}=DIR (corpus_roots=)"
    return out


def _link_corpora(tmp: Path, roots: Mapping[str, Path | None]) -> None:
    """`corpora/<name>`: a link to each corpus folder, the merged samples' media paths being `<name>/<path>`."""
    folder = tmp / layout.MERGED_CORPORA_DIR
    folder.mkdir()
    for name, root in roots.items():
        if root is not None:
            (folder / name).symlink_to(root, target_is_directory=True)


def _manifest(sources: Sequence[MergeSource], output_dir: Path, samples: dict[str, Any], names: list[str],
              skipped: dict[str, str], shared_groups: bool, any_versions: bool,
              roots: Mapping[str, Path | None]) -> Manifest:
    described = []
    for source, tables in zip(sources, source_tables(sources, names)):
        manifest = source.dataset.manifest
        described.append({
            "name": source.name, "path": str(source.dataset.root.resolve()), "corpus": manifest.corpus,
            "corpus_folder": None if roots[source.name] is None else str(roots[source.name]),
            "samples": manifest.samples["rows"], "fingerprint": manifest.samples.get("fingerprint"),
            "splits": manifest.samples.get("splits"), "split": source.split, "mmdata_version": manifest.mmdata_version,
            "loader": manifest.extra.get("loader"), "tables": tables})
    corpus = {"kind": MERGED_KIND, "root": str(output_dir.resolve() / layout.MERGED_CORPORA_DIR), "split": None,
              "options": _merged_options(sources),
              # what checks keyed on a corpus read of each dataset's (`checks.samples`)
              "kinds": [s.dataset.manifest.corpus.get("kind") for s in sources],
              "datasets": [corpus_dataset(s.dataset.manifest.corpus, s.dataset.manifest.extra.get("loader"))
                           for s in sources]}
    extra: dict[str, Any] = {"merge": {"sources": described, "tables": names, "skipped": skipped,
                                       "source_key": SOURCE_KEY, "shared_groups": shared_groups,
                                       "any_versions": any_versions}}
    loader = _merged_loader(sources)
    if loader:
        extra["loader"] = loader
    nonfinite = {name: sum(int((s.dataset.manifest.extra.get(NONFINITE_VALUES_KEY) or {}).get(name, 0)) for s in sources)
                 for name in names}
    if any(nonfinite.values()):
        extra[NONFINITE_VALUES_KEY] = {name: count for name, count in nonfinite.items() if count}
    return Manifest(corpus=corpus, samples=samples, extra=extra)


def _merged_options(sources: Sequence[MergeSource]) -> dict[str, Any]:
    """The corpus options `check` reads that hold for the merged samples: images kept without captions on purpose
    where any dataset kept them (its captionless images are then a warning, as they were)."""
    from mmdata.options import convert_value

    kept = any(convert_value((s.dataset.manifest.corpus.get("options") or {}).get("keep_images_without_captions", False),
                             bool, owner="corpus option keep_images_without_captions") for s in sources)
    return {"keep_images_without_captions": True} if kept else {}


def _merged_loader(sources: Sequence[MergeSource]) -> dict[str, Any]:
    """The loader facts every dataset records alike (the label names and fields `fuse --labels` reads, the
    labelled corpus), and the splits published without captions of the datasets keeping their splits."""
    from mmdata.corpora.base import UNCAPTIONED_SPLITS_KEY

    loaders = [s.dataset.manifest.extra.get("loader") or {} for s in sources]
    common = {key: value for key, value in loaders[0].items()
              if key != UNCAPTIONED_SPLITS_KEY and all(key in other and other[key] == value for other in loaders[1:])}
    uncaptioned = sorted({split for s, loader in zip(sources, loaders) if s.split is None
                          for split in loader.get(UNCAPTIONED_SPLITS_KEY) or []})
    if uncaptioned:
        common[UNCAPTIONED_SPLITS_KEY] = uncaptioned
    return common


def _check_output(sources: Sequence[MergeSource], output_dir: Path, force: bool) -> None:
    check_replaceable(output_dir, [s.dataset.root for s in sources], force=force, marker=layout.MANIFEST_NAME,
                      what="merge")
    if force and (output_dir / layout.MANIFEST_NAME).is_file() and not records_extra(output_dir, "merge"):
        raise DatasetError(
            f"output directory {output_dir} is a dataset that `mmdata merge` did not write (its {layout.MANIFEST_NAME} "
            "records no merge); force=True (--force) replaces only an earlier merge output: choose another path, or "
            "remove that dataset yourself")
