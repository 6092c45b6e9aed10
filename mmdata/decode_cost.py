"""What decoding costs this process, measured on an extractor's first batch: the local executor's
auto mode (`num_workers=None`) starts decode workers only when they save the main process more
per item than shipping the decoded item back costs it (see `mmdata.executors`).
"""
from __future__ import annotations

import math
import pickle
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdata.batch_work import ItemResult, decode_batch
from mmdata.features.base import Extractor


@dataclass(frozen=True)
class DecodeCost:
    """What decoding one item costs this process, measured on a batch (seconds per item)."""

    #: Median time to decode an item (the median leaves out a first call's warm-up).
    decode_s: float
    #: Time to pickle and unpickle a decoded item: what a worker's result costs to ship back.
    transfer_s: float

    def worker_gain_s(self) -> float:
        """Seconds per item the main process saves when workers decode (it still receives the items)."""
        return self.decode_s - self.transfer_s - RESULT_OVERHEAD_S

    def pays_for_workers(self) -> bool:
        return self.worker_gain_s() >= WORKER_GAIN_PER_ITEM_S

    def describe(self) -> str:
        shipping = "cannot be pickled" if math.isinf(self.transfer_s) else f"{self.transfer_s * 1e3:.2f} ms"
        return f"decode {self.decode_s * 1e3:.2f} ms/item, shipping a decoded item {shipping}"


#: Besides the pickling, each item received from a worker costs the main process about this much:
#: its share of the task's future, the pipe and the result queue. Measured on 2 cores, batches of
#: 64: ~0.015 ms per item for a decoder returning 16 bytes; for 128 KB items the workers cost the
#: main process 0.23-0.30 ms per item, and their pickle round trip alone measures 0.28 ms.
RESULT_OVERHEAD_S = 0.02e-3
#: Workers are started when they save the main process at least this much per item: on a few
#: thousand items, more than the ~0.3 s of CPU the pool takes to start and import the decoders.
WORKER_GAIN_PER_ITEM_S = 0.25e-3


#: Items whose pickle round trip is timed (a few suffice; all of a batch of audio would take ~20 ms).
TRANSFER_SAMPLE = 8


def measure_decode(extractor: Extractor, rows: list[dict[str, Any]], corpus_root: Path) -> tuple[list[ItemResult], DecodeCost]:
    """`decode_batch` in this process, timing each item and the pickle round trip of the results."""
    out, seconds = [], []
    for row in rows:
        started = time.perf_counter()
        out.extend(decode_batch(extractor, [row], corpus_root))
        seconds.append(time.perf_counter() - started)
    decode = statistics.median(seconds) if seconds else 0.0
    shipped = out[:TRANSFER_SAMPLE]
    started = time.perf_counter()
    try:
        pickle.loads(pickle.dumps(shipped))
    except Exception:  # noqa: BLE001 - items a worker could not send back are decoded here
        return out, DecodeCost(decode, math.inf)
    return out, DecodeCost(decode, (time.perf_counter() - started) / max(len(shipped), 1))
