"""Tables an `extract --update` left without the samples it added, as every reader of a dataset names them.

An update appends the samples a corpus gained and marks every feature table incomplete
(`mmdata.samples_update`); an extract naming a table's extractor computes its rows for them, and the
tables no extract named since stay incomplete on purpose. The readers (`Dataset.table_files`, the
training readers, `mmdata fuse`, segment cutting) and `mmdata info` and `mmdata check`
(`mmdata.checks.update_state`) tell such a table apart from one an interrupted run left, by three
facts on disk:

- the manifest's `extra.update_left` (`UPDATE_LEFT_KEY`): the tables the update left incomplete. The
  run that completes one (`store.tables.finish_table`) or starts it anew (`--force`: `drop_table`,
  `claim_table`) takes its name out, so a table whose later run was interrupted is not blamed on the
  update. A dataset an update of mmdata 0.5.2 grew has no such list: any incomplete table may be one
  the update left there, and the two facts below tell;
- the manifest's `extra.update` marker: an update is running now or was interrupted, and the same
  `extract --update` command finishes it;
- the samples fingerprint: an update keeps the one the dataset was made with, so after one that added
  samples it names a proper prefix of the samples table's ids, as long as the rows there were before.
  The update records that prefix's length in the manifest (`samples.fingerprint_rows`), so no id is
  hashed to tell it; only a dataset an update of mmdata 0.5.2 grew (no such count) has its ids hashed.

A table `mmdata align` made is left so too; the commands that complete it are the extract of its incomplete
inputs, then the same `align` (`completing_commands`).

A table an update left lacks the rows of the samples it added and of the old samples of the partial
last shard it rewrote (`samples_update`: every table's shards from that number on go), so what it
lacks is counted from the rows it holds. Every reader, `info` and `check` word it alike
(`lacks_added_samples`).

This module reads only the manifest, the shards' footers and, for a dataset without that count, the
samples' ids (when a table is incomplete; once per `Dataset`: `dataset_growth`), so
`mmdata.store.reader` imports it; the pipeline's modules it names commands with are imported when a
message is due.
"""
from __future__ import annotations

import hashlib
import itertools
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

import pyarrow as pa

from mmdata.errors import DatasetError, MmdataError
from mmdata.store.layout import shard_files
from mmdata.store.manifest import Manifest, TableEntry
from mmdata.store.shards import shard_rows

if TYPE_CHECKING:
    from mmdata.store.reader import Dataset


@dataclass(frozen=True)
class SamplesGrowth:
    """How `extract --update` grew the samples table: the rows it had before, and whether the update is
    still unfinished (its marker is in the manifest)."""

    rows_before: int
    interrupted: bool


#: Key of the manifest's `samples` an update records: how many leading sample ids the fingerprint it kept
#: covers (the rows before the first update; a later one keeps it, as it keeps the fingerprint).
FINGERPRINT_ROWS_KEY = "fingerprint_rows"
#: Hex digits of the samples' sha256 a fingerprint keeps (`samples_loading.fingerprint_ids`).
FINGERPRINT_DIGITS = 16
#: Key of the manifest's `extra` where an update lists the tables it left incomplete (names, sorted); the run
#: that completes a table or starts it anew takes its name out (`forget_table_update_left`).
UPDATE_LEFT_KEY = "update_left"

#: Sample ids in table order: a list, or an Arrow array of them, turned into Python strings only when hashed.
SampleIds = Union[Sequence[str], pa.Array, pa.ChunkedArray]


def may_lack_added_samples(manifest: Manifest, name: str) -> bool:
    """Whether incomplete table `name` may be one an update left: one the manifest lists as left by an
    update (`UPDATE_LEFT_KEY`; an aligned table too, which `align` completes), or, in a dataset whose
    manifest keeps no such list (an update of mmdata 0.5.2 grew it, or none did), any but those `align`
    and `segment` derive (an update of 0.5.2 refused a dataset holding them). False for a complete table."""
    from mmdata.samples_update import DERIVED_EXTRACTORS  # (it imports the store: not at the top)

    entry = manifest.tables[name]
    if entry.complete:
        return False
    left = tables_update_left(manifest)
    if left is None:
        return entry.extractor not in DERIVED_EXTRACTORS
    return name in left


def tables_update_left(manifest: Manifest) -> frozenset[str] | None:
    """The tables the manifest lists as left incomplete by an update (`UPDATE_LEFT_KEY`), or None when it
    keeps no such list (no update of this version grew the dataset, or the list is not one of names)."""
    recorded = manifest.extra.get(UPDATE_LEFT_KEY)
    if not isinstance(recorded, list) or not all(isinstance(name, str) for name in recorded):
        return None
    return frozenset(recorded)


def record_tables_update_left(manifest: Manifest, names: Iterable[str]) -> None:
    """Add `names` to the tables the manifest lists as left incomplete by an update (an update marking
    them so; a second update adds to the first's list). The caller writes the manifest."""
    manifest.extra[UPDATE_LEFT_KEY] = sorted((tables_update_left(manifest) or frozenset()) | set(names))


def forget_table_update_left(manifest: Manifest, name: str) -> None:
    """Take table `name` out of the tables the manifest lists as left by an update: a run completed it or
    starts it anew, so an update no longer explains it being incomplete. A manifest without the list (an
    update of mmdata 0.5.2 grew the dataset, or none did) is left without one. The caller writes it."""
    left = tables_update_left(manifest)
    if left is not None and name in left:
        manifest.extra[UPDATE_LEFT_KEY] = sorted(left - {name})


def interrupted_update(manifest: Manifest) -> SamplesGrowth | None:
    """The update the manifest marks as under way (running now, or killed), or None."""
    from mmdata.samples_update import UPDATE_KEY

    marker = manifest.extra.get(UPDATE_KEY)
    if not isinstance(marker, dict):
        return None
    return SamplesGrowth(rows_before=int(marker.get("rows_before", 0)), interrupted=True)


def recorded_growth(manifest: Manifest, rows: int) -> SamplesGrowth | None:
    """The growth the manifest records of a samples table of `rows` rows: an unfinished update's marker,
    or the rows the fingerprint covers (`FINGERPRINT_ROWS_KEY`) when fewer than `rows`. None when it
    records neither (no update grew the dataset, or one of mmdata 0.5.2 did: only the ids tell then) or
    a count that cannot be right (not a whole number below `rows`: the ids tell, as for 0.5.2)."""
    interrupted = interrupted_update(manifest)
    if interrupted is not None:
        return interrupted
    covered = manifest.samples.get(FINGERPRINT_ROWS_KEY)
    if valid_fingerprint_rows(covered, rows):
        return SamplesGrowth(rows_before=covered, interrupted=False)
    return None


def valid_fingerprint_rows(covered: object, rows: int) -> bool:
    """Whether `covered`, read as the manifest's `FINGERPRINT_ROWS_KEY`, can be the count of leading ids of
    a samples table of `rows` rows that its fingerprint covers: a whole number from 0 to `rows - 1` (an
    update added at least one row after them). What it cannot be is not trusted: the ids tell instead."""
    return isinstance(covered, int) and not isinstance(covered, bool) and 0 <= covered < rows


def fingerprint_covers(sample_ids: SampleIds, fingerprint: str, covered: int) -> bool:
    """Whether the fingerprint of the first `covered` of `sample_ids` is `fingerprint`: a recorded count
    confirmed where the ids are at hand (one pass over that prefix: about 0.15 s per million ids, half of it
    turning an Arrow array's ids into strings)."""
    return fingerprint_of(ids_digest(id_list(sample_ids[:covered]))) == fingerprint


def samples_growth(manifest: Manifest, sample_ids: SampleIds, *, likely_from: int = 0,
                   verify: bool = False) -> SamplesGrowth | None:
    """How an update grew the samples table whose ids are `sample_ids` (in table order), or None when
    none did: no update marker, no count of the rows before it (`recorded_growth`, which hashes no id),
    and the manifest's fingerprint names all the ids (or none of their prefixes: a samples table changed
    some other way, which `check` reports as such). `verify`: a recorded count is trusted only when the
    fingerprint covers that many ids (`fingerprint_covers`), else the ids' prefixes are searched as for a
    dataset without one. `likely_from`: see `fingerprinted_prefix` (the recorded count when it is one)."""
    recorded = recorded_growth(manifest, len(sample_ids))
    if recorded is not None and (recorded.interrupted or not verify):
        return recorded
    count = None if recorded is None else recorded.rows_before
    rows_before = covered_prefix(sample_ids, str(manifest.samples.get("fingerprint") or ""), count,
                                 likely_from=likely_from if count is None else count)
    return None if rows_before is None else SamplesGrowth(rows_before=rows_before, interrupted=False)


def covered_prefix(sample_ids: SampleIds, fingerprint: str, recorded: object, *, likely_from: int) -> int | None:
    """How many leading ids `fingerprint` covers: `recorded` (a manifest's `FINGERPRINT_ROWS_KEY`) when it is a
    valid count that the ids confirm (`valid_fingerprint_rows`, `fingerprint_covers`), else the proper prefix
    the fingerprint names (`fingerprinted_prefix`, tried from `likely_from`), else None."""
    if valid_fingerprint_rows(recorded, len(sample_ids)) and fingerprint_covers(sample_ids, fingerprint, recorded):
        return recorded  # type: ignore[return-value]
    return fingerprinted_prefix(sample_ids, fingerprint, likely_from=likely_from)


#: `Dataset._samples_growth` keys: a growth the ids confirmed or told (an unfinished update's too), and one
#: taken from the manifest's count without looking at the ids.
_CONFIRMED, _RECORDED = "confirmed", "recorded"


def dataset_growth(dataset: Dataset, sample_ids: SampleIds | None = None, *, likely_from: int = 0,
                   verify: bool = False) -> SamplesGrowth | None:
    """`samples_growth` of the dataset's samples table, worked out once per `Dataset` (kept in its
    `_samples_growth`): every reader of its incomplete tables asks. The manifest's record answers when it
    has one (validated against the row count, and, with `verify`, against the ids: `check`, which holds
    them all, confirms it); else the ids are hashed. `sample_ids` (a list or an Arrow array, turned into
    strings only when they are hashed) when given, else read here (one column), only then.

    Raises:
        DatasetError: the ids were to be read and the samples table cannot be (not remembered).
    """
    cache = dataset._samples_growth
    for key in (_CONFIRMED,) if verify else (_CONFIRMED, _RECORDED):
        if key in cache:
            return cache[key]
    rows = len(sample_ids) if sample_ids is not None else int(dataset.manifest.samples["rows"])
    growth = recorded_growth(dataset.manifest, rows)
    if growth is not None and not growth.interrupted and not verify:
        cache[_RECORDED] = growth
        return growth
    if growth is None or not growth.interrupted:
        ids = sample_ids if sample_ids is not None else dataset.samples_table(["sample_id"]).column("sample_id")
        growth = samples_growth(dataset.manifest, ids, likely_from=likely_from, verify=True)
    cache[_CONFIRMED] = growth
    return growth


def id_list(sample_ids: SampleIds) -> list[str]:
    """`sample_ids` as a list of Python strings (an Arrow array's converted here, when they are hashed)."""
    if isinstance(sample_ids, (pa.Array, pa.ChunkedArray)):
        return sample_ids.to_pylist()
    return list(sample_ids)


def fingerprinted_prefix(sample_ids: SampleIds, fingerprint: str, *, likely_from: int = 0) -> int | None:
    """The length of the proper prefix of `sample_ids` whose fingerprint (`samples_loading.fingerprint_ids`)
    is `fingerprint`, or None (all of them have it, or no prefix does).

    All the ids are hashed at once first (the common case, a samples table no update grew, costs that
    one pass); then prefixes of `likely_from` ids or more are tried, then the shorter ones. A table an
    update left holds the rows of the shards before the one the update rewrote, so its row count is
    where the rows before the update are likely to end: trying one prefix costs a hash state copied,
    several times the cost of hashing an id."""
    ids = id_list(sample_ids)
    if fingerprint_of(ids_digest(ids)) == fingerprint:
        return None
    longest = len(ids) - 1  # a proper prefix
    start = min(max(likely_from, 1), max(longest, 1))
    found = _first_prefix_with(ids, fingerprint, start, longest)
    return found if found is not None else _first_prefix_with(ids, fingerprint, 1, start - 1)


def _first_prefix_with(ids: list[str], fingerprint: str, shortest: int, longest: int) -> int | None:
    """The shortest prefix of `ids` of `shortest` to `longest` ids whose fingerprint is `fingerprint`."""
    if shortest > longest:
        return None
    digest = ids_digest(ids[:shortest])
    for count, sample_id in enumerate(itertools.chain([None], ids[shortest:longest]), shortest):
        if sample_id is not None:
            digest.update(sample_id.encode() + b"\0")
        if fingerprint_of(digest.copy()) == fingerprint:
            return count
    return None


def ids_digest(ids: Sequence[str]) -> hashlib._Hash:
    """The running sha256 of a samples fingerprint over `ids`: each id's UTF-8 bytes then a NUL byte, in
    order (`samples_loading.fingerprint_ids`), hashed in one update (a joined string hashes several
    times faster than an update per id); it goes on with `update(id.encode() + b"\\0")`."""
    return hashlib.sha256(("\0".join(ids) + "\0").encode() if ids else b"")


def fingerprint_of(digest: hashlib._Hash) -> str:
    """The fingerprint a running `ids_digest` gives: its first `FINGERPRINT_DIGITS` hex digits."""
    return digest.hexdigest()[:FINGERPRINT_DIGITS]


def rows_in_finished_shards(table_dir: Path, *, skip_unreadable: bool = True) -> int:
    """Rows of the finished shards in `table_dir` (`layout.shard_files`), from their footers: what a
    reader says an incomplete table holds, and what `store.tables.recount_table` records of a table.
    `skip_unreadable`: an unreadable shard counts none (a reader's message goes on), else its error is
    raised (a table being counted for the manifest).

    Raises:
        ShardReadError: a shard's footer cannot be read, when not `skip_unreadable` (naming the shard).
    """
    total = 0
    for path in shard_files(table_dir):
        try:
            total += shard_rows(path)
        except DatasetError:
            if not skip_unreadable:
                raise
    return total


def update_left_reason(dataset: Dataset, name: str, sample_ids: SampleIds | None = None) -> str | None:
    """Why incomplete table `name` lacks rows when an `extract --update` explains it, one sentence naming
    the command that completes it: the rows it holds and lacks after the update (`lacks_added_samples`),
    or the update itself unfinished (`unfinished_update_reason`). None when no update explains it (an
    interrupted `extract` or `align` left the table: each reader says that in its own words), or when the
    samples table cannot be read to tell (that error is the reader's to raise).

    Only a table the update left counts (`may_lack_added_samples`: the manifest's list of them). The
    growth is worked out once per `Dataset` (`dataset_growth`): from the manifest, or, for a dataset an
    update of mmdata 0.5.2 grew, from the samples' ids (`sample_ids`, else read here: one column).
    """
    entry = dataset.manifest.tables[name]
    if not may_lack_added_samples(dataset.manifest, name):
        return None
    rows = rows_in_finished_shards(dataset.root / entry.path)
    try:
        growth = dataset_growth(dataset, sample_ids, likely_from=rows)
    except DatasetError:
        return None
    if growth is None:
        return None
    if growth.interrupted:
        return unfinished_update_reason(dataset, name, growth)
    total = len(sample_ids) if sample_ids is not None else int(dataset.manifest.samples["rows"])
    return lacks_added_samples(dataset, name, growth, rows=rows, total=total)


def lacks_added_samples(dataset: Dataset, name: str, growth: SamplesGrowth, *, rows: int, total: int,
                        subject: str | None = None) -> str:
    """Table `name`, holding `rows` of the `total` samples after `growth`, is incomplete: the rows it holds,
    how the samples table grew, what it lacks and the command that completes it (`incomplete_after_growth`),
    as the readers and `check` say it. `subject`: how the line names the table (`table 'x'` by default; a
    `check` issue, which names its table, says `the table`)."""
    subject = subject or f"table {name!r}"
    return (f"{subject} holds rows for {rows} of the {total} samples: "
            + incomplete_after_growth(dataset, name, growth, rows=rows, total=total))


def incomplete_after_growth(dataset: Dataset, name: str, growth: SamplesGrowth, *, rows: int, total: int) -> str:
    """Why table `name`, holding `rows` of the `total` samples, is incomplete after `growth`, and the
    command that completes it (one line: `info`'s hint, the end of `lacks_added_samples`). The table lacks
    `total - rows` rows: those of the samples the update added, and those of the old samples of the
    partial last shard it rewrote."""
    if growth.interrupted:  # the dataset-level line (`update_interrupted_message`) spells out the command
        return f"{unfinished_update_clause(growth)}; the same `extract --update` command run again finishes it"
    missing = total - rows
    command = quoted_commands(completing_commands(dataset, [name])) + made_with_other_versions(dataset, [name])
    grew = f"the samples table grew from {growth.rows_before} to {total} samples (`mmdata extract --update`)"
    if missing <= 0:  # every row written, the run stopped before it marked the table complete
        return f"{grew}; the table has a row for each, but no extract marked it complete since: run {command}"
    return f"{grew} and the table lacks the rows of {missing} of them; run {command} to compute them"


def unfinished_update_reason(dataset: Dataset, name: str, growth: SamplesGrowth) -> str:
    """Table `name` lacks the rows of the samples an unfinished update adds, and the command finishing it."""
    return f"table {name!r} is incomplete: {unfinished_update_clause(growth)}; {finish_update_hint(dataset)}"


def unfinished_update_clause(growth: SamplesGrowth) -> str:
    """What an unfinished update left a table without."""
    return (f"the `mmdata extract --update` adding samples to the {growth.rows_before} there were is running now "
            "or was interrupted before it computed this table's rows for them")


def finish_update_hint(dataset: Dataset) -> str:
    """How an interrupted update is finished: the same command again (spelled out naming every table)."""
    extracted = sorted(name for name, entry in dataset.manifest.tables.items() if entry.extractor != ALIGN_EXTRACTOR)
    return (f"run the same `mmdata extract ... --update` command again to finish it (naming every table's extractor: "
            f"{quoted_commands(completing_commands(dataset, extracted, '--update'))}); a run "
            "without --update is refused until then")


#: Tables an extract writes without naming an extractor: read again from the corpus files (`.csd`, pickles).
_READ_FROM_CORPUS = ("precomputed",)


#: The extractor name of the tables `mmdata align` writes, which `align` completes, not `extract`.
ALIGN_EXTRACTOR = "align"


def completing_commands(dataset: Dataset, names: Sequence[str], *flags: str) -> list[str]:
    """The command lines that compute the missing rows of tables `names` of the dataset: the `mmdata
    extract` ones (one per table format among them; `extract_refusals.extract_command` spells each, then
    `flags`), then, for tables `mmdata align` made, the extract of their incomplete inputs first and the
    `mmdata align` run that aligns them again (`align_commands`)."""
    aligned = [name for name in names if dataset.manifest.tables[name].extractor == ALIGN_EXTRACTOR]
    inputs = [source for name in aligned for source in aligned_inputs(dataset.manifest.tables[name])
              if source in dataset.manifest.tables and not dataset.manifest.tables[source].complete]
    extracted = list(dict.fromkeys([*(n for n in names if n not in aligned), *inputs]))
    return _extract_commands(dataset, extracted, *flags) + align_commands(dataset, aligned)


def aligned_inputs(entry: TableEntry) -> list[str]:
    """The tables an aligned table was made from: the table aligned and the reference its config names."""
    config = entry.config if isinstance(entry.config, dict) else {}
    return list(dict.fromkeys(str(config[key]) for key in ("table", "reference") if key in config))


def align_commands(dataset: Dataset, names: Sequence[str]) -> list[str]:
    """The `mmdata align` command lines that complete the aligned tables `names`: one per reference, naming
    every table aligned to it (they are aligned in one run: `alignment.dataset`) with the options their
    configs record (with a collapse function, which no command line names, the `align_dataset` call)."""
    configs = [dataset.manifest.tables[name].config for name in names]
    references = dict.fromkeys(str(config.get("reference")) for config in configs if isinstance(config, dict))
    return [_align_command(dataset, reference) for reference in references]


def _align_command(dataset: Dataset, reference: str) -> str:
    """`mmdata align DIR -r REF -t A -t B [--collapse ...] [--on-missing ...] [--skip-pauses] [--on-absent keep]`
    of the tables the manifest records as aligned to `reference`."""
    configs = [entry.config for entry in dataset.manifest.tables.values()
               if entry.extractor == ALIGN_EXTRACTOR and isinstance(entry.config, dict)
               and entry.config.get("reference") == reference]
    tables = sorted({str(config.get("table")) for config in configs} - {reference})
    config = configs[0] if configs else {}
    on_missing, skip_pauses = config.get("on_missing", "drop"), bool(config.get("skip_pauses"))
    on_absent = config.get("on_absent", "drop")
    if "collapse_code" in config:  # a function: only the Python call takes it
        return (f"align_dataset({str(dataset.root)!r}, {reference!r}, tables={tables!r}, collapse=<the function "
                f"{config['collapse']}>, on_missing={on_missing!r}, skip_pauses={skip_pauses}"
                + (f", on_absent={on_absent!r}" if on_absent != "drop" else "") + ")")
    words = ["mmdata", "align", str(dataset.root), "-r", reference, *(w for t in tables for w in ("-t", t))]
    if config.get("collapse", "mean") != "mean":
        words += ["--collapse", str(config["collapse"])]
    if on_missing != "drop":
        words += ["--on-missing", str(on_missing)]
    if skip_pauses:
        words.append("--skip-pauses")
    if on_absent != "drop":
        words += ["--on-absent", str(on_absent)]
    return shlex.join(words)


def _extract_commands(dataset: Dataset, names: Sequence[str], *flags: str) -> list[str]:
    """The `mmdata extract` command lines that compute the missing rows of tables `names` (see
    `completing_commands`)."""
    from mmdata.extract_refusals import extract_command  # the pipeline's modules, only when a hint is due

    by_format: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        entry = dataset.manifest.tables[name]
        extractors = by_format.setdefault(entry.format, [])
        if entry.extractor not in _READ_FROM_CORPUS:
            extractors.append((entry.modality, _extractor_spelling(entry)))
    return [extract_command(dataset, extractors, table_format, *flags)
            for table_format, extractors in by_format.items()]


def _extractor_spelling(entry: TableEntry) -> str:
    """The entry's extractor as the command line takes it (`extract_refusals.extractor_spec`); its bare
    name when its config cannot be rebuilt here (an extractor of your own not imported, weights gone)."""
    from mmdata.extract_refusals import extractor_spec
    from mmdata.features.base import get_extractor_class

    try:
        return extractor_spec(get_extractor_class(entry.extractor)(dict(entry.config)))
    except (MmdataError, OSError):
        return entry.extractor


def made_with_other_versions(dataset: Dataset, names: Sequence[str]) -> str:
    """' with --force (table 'x' was made with mmdata 0.5.4 (this install: 0.5.5): ...)' when a table the
    completing commands of `names` compute (`completing_commands`: the tables, an aligned one's incomplete
    inputs) was made by another mmdata release: computing only its missing shards is refused
    (`store.tables.refuse_mixed_versions`: mmdata's version changes with every release that changes what a
    table holds), so each command needs --force, which computes it again whole (a dataset an earlier release
    made and this one updated). '' otherwise."""
    from mmdata.features.base import library_versions  # (they import the store: not at the top)
    from mmdata.store.tables import versions_differ

    running = library_versions(("mmdata",))
    tables = dataset.manifest.tables
    computed = [*names, *(source for name in names if tables[name].extractor == ALIGN_EXTRACTOR
                          for source in aligned_inputs(tables[name]) if source in tables and not tables[source].complete)]
    made = [f"table {name!r} was made with {changed}" for name in dict.fromkeys(computed)
            if isinstance(tables[name].versions, dict) and "mmdata" in tables[name].versions
            and (changed := versions_differ({"mmdata": tables[name].versions["mmdata"]}, running))]
    if not made:
        return ""
    return (f" with --force ({'; '.join(made)}: computing only the missing shards would mix rows of two versions; "
            "--force computes the tables again whole)")


def quoted_commands(commands: Sequence[str]) -> str:
    """Command lines in backquotes, joined by ", then "."""
    return ", then ".join(f"`{command}`" for command in commands)
