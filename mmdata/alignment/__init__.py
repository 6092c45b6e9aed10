"""Temporal alignment with the CMU-MultimodalSDK's semantics.

`core` aligns arrays (one video at a time, vectorized), `reference` restates the SDK's slow
per-interval loop for verification, `dataset` aligns the temporal tables of a dataset directory.
"""
from mmdata.alignment.core import (
    COLLAPSES,
    EPSILON,
    AlignedVideo,
    Pieces,
    UnifyResult,
    align_video,
    collapse_pieces,
    overlap_pieces,
    unify_ids,
)

__all__ = [
    "COLLAPSES", "EPSILON", "AlignedVideo", "Pieces", "UnifyResult", "align_dataset", "align_video",
    "collapse_pieces", "overlap_pieces", "unify_ids",
]


def __getattr__(name: str):
    # `align_dataset` pulls in the pipeline; import it only when asked for.
    if name == "align_dataset":
        from mmdata.alignment.dataset import align_dataset

        return align_dataset
    raise AttributeError(name)
