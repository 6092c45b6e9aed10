"""Frame-level sound event targets: `event-targets` against the per-event loop a user would otherwise write.

    python benchmarks/event_targets_bench.py [--quick]

Data: N clips of 10 s shaped like AudioSet's strong labels (456 classes, 1-20 events a clip, 10.5 on average,
events of 0.1-5 s, classes drawn at random), framed at 10 Hz (100 frames a clip). Measured (medians of >= 3 runs,
interleaved):
  - mmdata: `event_targets.frame_targets` per clip (what `mmdata extract -e event-targets` computes for a sample:
    the union of each class's events, a frame marked where it covers at least half the frame), hard and soft
  - the loop of a training script (PANNs-, DCASE-baseline-style): a zeros (T, C) array per clip, then for each
    event `target[round(onset * rate):round(offset * rate), class] = 1`
  - (info) how many frame labels the two disagree on: the loop rounds each event's edges to frames on its own,
    `event-targets` measures each frame's coverage by the union of a class's events
Prints a table of per-clip times and the ratio, and writes benchmarks/results/event_targets[_quick].json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, shuffled_rounds, write_results  # noqa: E402

from mmdata.features.event_targets import SampleEvents, frame_targets  # noqa: E402

CLASSES = 456
RATE = 10.0
CLIP_SECONDS = 10.0


def make_clips(count: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(class ids, (n, 2) event intervals in seconds) of `count` clips."""
    rng = np.random.default_rng(seed)
    clips = []
    for _ in range(count):
        n = int(rng.integers(1, 21))
        starts = rng.uniform(0.0, CLIP_SECONDS - 0.1, n)
        ends = np.minimum(starts + rng.uniform(0.1, 5.0, n), CLIP_SECONDS)
        clips.append((rng.integers(0, CLASSES, n), np.stack([starts, ends], axis=1)))
    return clips


def mmdata_targets(clip: SampleEvents, targets: str) -> np.ndarray:
    return frame_targets(clip, RATE, CLASSES, targets)[0]  # type: ignore[arg-type]


def loop_targets(class_ids: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    target = np.zeros((int(round(CLIP_SECONDS * RATE)), CLASSES), np.float32)
    for class_id, (onset, offset) in zip(class_ids.tolist(), intervals.tolist()):
        target[int(round(onset * RATE)):int(round(offset * RATE)), class_id] = 1.0
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 clips instead of 20,000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    count = 2_000 if args.quick else 20_000
    clips = make_clips(count)
    events = [SampleEvents(class_ids=c, intervals=i, span_start=0.0, span_end=CLIP_SECONDS) for c, i in clips]
    work = {"mmdata_hard": lambda: [mmdata_targets(e, "hard") is None for e in events],
            "mmdata_soft": lambda: [mmdata_targets(e, "soft") is None for e in events],
            "loop": lambda: [loop_targets(c, i) is None for c, i in clips]}
    runs = shuffled_rounds(work, args.repeats, settle_s=0.0)  # interleaved: the machine's noise falls on each alike
    medians = {name: float(np.median(times)) for name, times in runs.items()}
    differ = labelled = 0
    for event, (class_ids, intervals) in zip(events, clips):
        ours, theirs = mmdata_targets(event, "hard"), loop_targets(class_ids, intervals)
        differ += int((ours != theirs).sum())
        labelled += int(theirs.sum())
    results = {
        "clips": count, "classes": CLASSES, "frame_rate": RATE, "events": int(sum(len(c) for c, _ in clips)),
        "repeats": args.repeats, "runs": runs, "median_s": medians,
        "us_per_clip": {name: 1e6 * s / count for name, s in medians.items()},
        "hard_vs_loop_time_ratio": medians["mmdata_hard"] / medians["loop"],
        "frame_labels_differing": differ, "frame_labels_set_by_loop": labelled,
    }
    rows = [("", "s (median)", "us / clip", "vs loop")]
    rows += [(name, f"{s:.3f}", f"{1e6 * s / count:.0f}", f"{s / medians['loop']:.2f}x") for name, s in medians.items()]
    print_table(rows)
    print(f"frame labels differing between mmdata (hard) and the loop: {differ} of the loop's {labelled} set")
    path = write_results("event_targets_quick" if args.quick else "event_targets", results)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
