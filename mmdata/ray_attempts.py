"""Attempts of Ray work whose process may die: the item that killed it fails alone, the rest go on.

Ray retries a task whose worker died, and an actor call whose actor died, without end: a decoder or
a model that kills its process on one item (a segfault in a C library, the OOM killer) would kill
every attempt, and the run would never finish. So each unit of work (a task over a block of rows,
or an actor's call on one block) keeps a ledger while it runs, a small JSON file named by the
unit's key in the node's Ray session folder, removed when the attempt ends:

- the first attempt runs its rows in batches, as usual;
- an attempt that finds a ledger knows that the one before it died. It runs its rows one at a time,
  writing to the ledger which row and stage (decode or compute) it is about to run; the row an
  attempt died on is a culprit, and the next attempt records it as `WorkerCrash` at that stage
  instead of running it again.

So every attempt after the first either finishes or names one more culprit, and the run ends. A
retry that Ray places on another node finds no ledger there and runs in batches once more, so an
item kills at most one process per node before it is isolated. Without a death, the cost is
creating and removing one small file per unit.

Keys: a task's id is the same for every attempt of it; an actor's calls are keyed by the block's
contents (the table and its rows' sample ids) and the Ray Data execution they belong to, since a
retried call gets a new task id. The execution keeps a ledger that an interrupted run left in the Ray
session (or one of a concurrent run of the same table) from being taken for this run's.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdata.batch_work import ItemResult, compute_batch, decode_batch, worker_crash
from mmdata.features.base import Extractor

#: The stages a row goes through, in order.
DECODE, COMPUTE = "decode", "compute"


@dataclass
class Attempt:
    """One attempt of a unit of work, and what the attempts before it died on."""

    ledger: Path
    #: An earlier attempt of this unit died: run one row at a time.
    careful: bool = False
    #: Row index -> the stage an earlier attempt died in, for the rows it died on.
    culprits: dict[int, str] = field(default_factory=dict)

    def begin(self, index: int, stage: str) -> None:
        """Note that row `index` is about to run `stage` (only careful attempts do)."""
        self._write(current=(index, stage))

    def _write(self, current: tuple[int, str] | None = None) -> None:
        state = {"culprits": {str(i): s for i, s in self.culprits.items()}, "current": current}
        self.ledger.write_text(json.dumps(state))


def ledger_folder() -> Path:
    """This node's folder for the ledgers of the current Ray session."""
    import ray

    context = ray.get_runtime_context()
    return Path(context.get_temp_dir()) / context.get_session_name() / "mmdata-attempts"


def block_key(table: str, sample_ids: list[str], execution: str = "") -> str:
    """A key for an actor's call on a block: the same for every retry of the call, and different in
    another `execution` (an id the driver draws for each Ray Data execution)."""
    digest = hashlib.sha256(execution.encode() + b"\0" + table.encode())
    for sample_id in sample_ids:
        digest.update(b"\0" + str(sample_id).encode())
    return f"block-{digest.hexdigest()[:32]}"


def task_key() -> str:
    """A key for the running Ray task: its id, the same for every retry of the task."""
    import ray

    return f"task-{ray.get_runtime_context().get_task_id()}"


@contextmanager
def attempt(key: str, folder: Path | None = None) -> Iterator[Attempt]:
    """The running attempt of the unit `key`; its ledger lives until the attempt ends (a death
    leaves it behind for the next attempt)."""
    folder = folder if folder is not None else ledger_folder()
    folder.mkdir(parents=True, exist_ok=True)
    current = Attempt(folder / key)
    if current.ledger.exists():
        current.careful = True
        current.culprits = _read_culprits(current.ledger)
    current._write()
    try:
        yield current
    finally:
        current.ledger.unlink(missing_ok=True)


def _read_culprits(ledger: Path) -> dict[int, str]:
    """The culprits a ledger names: those recorded before, plus the row its attempt died on."""
    try:
        state = json.loads(ledger.read_text() or "{}")
    except (OSError, ValueError):  # a ledger cut short by the death itself: no row was running yet
        return {}
    culprits = {int(i): str(s) for i, s in (state.get("culprits") or {}).items()}
    if state.get("current"):
        index, stage = state["current"]
        culprits[int(index)] = str(stage)
    return culprits


def run_rows(
    current: Attempt,
    extractor: Extractor,
    rows: list[dict[str, Any]],
    corpus_root: Path,
    batch_size: int,
    *,
    decoded: list[ItemResult] | None = None,
    compute: bool = True,
) -> list[ItemResult]:
    """Decode (unless `decoded` is given) and compute (unless `compute` is False) `rows`: in batches
    of `batch_size` on a first attempt, one row at a time on a careful one, where a culprit row is
    recorded as `WorkerCrash` instead of being run again."""
    if current.careful:
        return [_run_row(current, extractor, i, row, corpus_root, None if decoded is None else decoded[i], compute)
                for i, row in enumerate(rows)]
    results: list[ItemResult] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        items = decode_batch(extractor, chunk, corpus_root) if decoded is None else decoded[start : start + batch_size]
        results += compute_batch(extractor, items, chunk) if compute else items
    return results


def _run_row(
    current: Attempt, extractor: Extractor, index: int, row: dict[str, Any], corpus_root: Path,
    decoded: ItemResult | None, compute: bool,
) -> ItemResult:
    if index in current.culprits:
        return worker_crash(row, extractor, current.culprits[index])
    if decoded is None:
        current.begin(index, DECODE)
        [decoded] = decode_batch(extractor, [row], corpus_root)
    if not compute:
        return decoded
    current.begin(index, COMPUTE)
    return compute_batch(extractor, [decoded], [row])[0]
