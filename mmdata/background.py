"""One background thread that runs submitted steps in order: writing while the caller computes.

Arrow's writers release the GIL, so a step that encodes and writes overlaps the caller's next
batch on another core. At most `depth` steps wait (memory stays bounded by what they hold). The
first error a step raises stops the steps after it and is raised in the caller's thread by the
next `submit` or by `close`.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import pyarrow as pa

#: Steps between two hand-backs of the memory the thread freed: mimalloc (Arrow's default pool)
#: keeps what a thread freed until that thread collects it; a Parquet export's encoders grew the
#: process by ~40 MiB over 100 batches without it. Each hand-back costs ~70 us, and the pages the
#: next steps fault back in: after every 4 MB batch, fuse -> Parquet took 1.19 s instead of 0.90.
RELEASE_EVERY = 8


class SerialWorker:
    """Runs `submit`ted steps one after another on a daemon thread named `name`, handing the
    memory they freed back every `release_every` steps."""

    def __init__(self, name: str, depth: int = 2, release_every: int = RELEASE_EVERY):
        self._release_every = max(1, release_every)
        self._steps: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, step: Callable[[], None]) -> None:
        """Queue `step` (blocks while `depth` steps wait); raises an earlier step's error."""
        self.raise_error()
        self._steps.put(step)

    def stop(self) -> None:
        """Wait for the submitted steps (after an error they are skipped) and end the thread."""
        if self._thread.is_alive():
            self._steps.put(None)
            self._thread.join()

    def close(self) -> None:
        """`stop`, then raise the first error a step raised, if any."""
        self.stop()
        self.raise_error()

    def raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        pool, done = pa.default_memory_pool(), 0
        while (step := self._steps.get()) is not None:
            if self._error is None:
                try:
                    step()
                except BaseException as e:  # noqa: BLE001 - raised in the caller's thread
                    self._error = e
            del step
            done += 1
            if done % self._release_every == 0:
                pool.release_unused()
