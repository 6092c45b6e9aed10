"""The SDK's `align` and `unify`, restated one reference interval at a time (slow on purpose).

This is the yardstick for `mmdata.alignment.core`: tests compare both on random data and the
benchmark measures the speed-up. It follows the CMU-MultimodalSDK's algorithm step by step:
rows of each other sequence are gathered per base id (keys stripped of `[...]`), concatenated and
stably sorted by start; then every reference interval is compared with every row of the video
(O(N*M)); output keys are `f"{video_id}[{i}]"`, and a sequence with no overlap gets no key.
With collapse functions each output is one row with interval [min, max] of the pieces.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mmdata.alignment.core import EPSILON, CollapseFn

# key -> (features (T, D), intervals (T, 2)), i.e. one computational sequence
SdkSequence = Mapping[str, tuple[np.ndarray, np.ndarray]]
# sequence name -> key -> (intervals, features), the SDK's aligned output
SdkAligned = dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]


def align_like_sdk(
    sequences: Mapping[str, SdkSequence],
    reference: str,
    collapse: Sequence[CollapseFn] | None = None,
    *,
    epsilon: float = EPSILON,
) -> SdkAligned:
    """Align every sequence to `reference` exactly as `mmdataset.align` does (reference not collapsed)."""
    gathered = {name: _gather(seq) for name, seq in sequences.items() if name != reference}
    out: SdkAligned = {name: {} for name in sequences}
    for video_id, (ref_features, ref_intervals) in sequences[reference].items():
        for i in range(len(ref_intervals)):
            ref = ref_intervals[i]
            if abs(ref[0] - ref[1]) < epsilon:
                continue
            for name in sequences:
                if name == reference:
                    intervals, features = ref_intervals[i][None, :], ref_features[i][None, :]
                else:
                    intervals, features = _intersect(ref, *gathered[name][video_id], epsilon)
                if len(intervals) == 0:
                    continue
                if collapse is not None and name != reference:
                    intervals, features = _collapse(intervals, features, collapse)
                out[name][f"{video_id}[{i}]"] = (intervals, features)
    return out


def unify_like_sdk(keys: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The SDK's `unify`: intersect base ids, then purge violators by string prefix (its bug).

    Purging id `abc` also deletes `abcd[0]` from every sequence, although `abcd` is shared.
    """
    bases = {name: {k.split("[")[0] for k in ks} for name, ks in keys.items()}
    valid = set.intersection(*bases.values())
    violators = set().union(*bases.values()) - valid
    remaining = {name: list(ks) for name, ks in keys.items()}
    for violator in violators:
        for name in remaining:
            remaining[name] = [k for k in remaining[name] if k[: len(violator)] != violator]
    return remaining


def _gather(sequence: SdkSequence) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    parts: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for key, (features, intervals) in sequence.items():
        base = key.split("[")[0]
        feats, ivs = parts.setdefault(base, ([], []))
        feats.append(np.asarray(features))
        ivs.append(np.asarray(intervals, dtype=np.float64).reshape(-1, 2))
    out = {}
    for base, (feats, ivs) in parts.items():
        features, intervals = np.concatenate(feats), np.concatenate(ivs)
        order = sorted(range(len(intervals)), key=lambda r: intervals[r, 0])
        out[base] = (features[order], intervals[order])
    return out


def _intersect(ref: np.ndarray, features: np.ndarray, intervals: np.ndarray, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    hit = ((ref[1] - intervals[:, 0]) > -epsilon) & ((intervals[:, 1] - ref[0]) > -epsilon)
    rows = intervals[hit]
    clipped = np.stack([np.maximum(rows[:, 0], ref[0]), np.minimum(rows[:, 1], ref[1])], axis=1)
    nonzero = np.abs(clipped[:, 0] - clipped[:, 1]) > epsilon
    return clipped[nonzero], features[hit][nonzero]


def _collapse(intervals: np.ndarray, features: np.ndarray, functions: Sequence[CollapseFn]) -> tuple[np.ndarray, np.ndarray]:
    span = np.array([[intervals.min(), intervals.max()]])
    collapsed = np.concatenate([fn(intervals, features) for fn in functions], axis=0)
    return span, collapsed[None, :] if collapsed.ndim == 1 else collapsed


def sdk_mean(intervals: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The collapse function of the SDK's examples: `np.average(features, axis=0)`."""
    return np.average(features, axis=0)


def sdk_max(intervals: np.ndarray, features: np.ndarray) -> np.ndarray:
    return np.max(features, axis=0)


def sdk_first(intervals: np.ndarray, features: np.ndarray) -> np.ndarray:
    return features[0]


def sdk_last(intervals: np.ndarray, features: np.ndarray) -> np.ndarray:
    return features[-1]


SDK_COLLAPSE: dict[str, CollapseFn] = {"mean": sdk_mean, "max": sdk_max, "first": sdk_first, "last": sdk_last}
