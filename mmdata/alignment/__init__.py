"""Temporal alignment with the CMU-MultimodalSDK's semantics.

`core` aligns arrays (one video at a time, vectorized), `reference` restates the SDK's slow
per-interval loop for verification, `dataset` aligns the temporal tables of a dataset directory,
`segment` cuts a dataset of whole videos into label segments (the SDK's `align(labels)`).
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
    "collapse_pieces", "overlap_pieces", "segment_dataset", "unify_ids",
]


def __getattr__(name: str):
    # `align_dataset` and `segment_dataset` pull in the pipeline; import them only when asked for.
    if name == "align_dataset":
        from mmdata.alignment.dataset import align_dataset

        return align_dataset
    if name == "segment_dataset":
        from mmdata.alignment.segment import segment_dataset

        return segment_dataset
    raise AttributeError(name)
