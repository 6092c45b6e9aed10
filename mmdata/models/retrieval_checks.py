"""What the retrieval recipe checks in the splits it reads, and what it says about scores that cannot rank.

- `check_retrieval_split`: a split's image and caption vectors must be finite (NaN/inf would make a
  model's loss NaN, which reads as a learning rate too high, or stop CCA's eigendecomposition), and a
  split needs at least `MIN_IMAGES` scorable images: with one test image every recall is 100 by
  construction, and one train image gives InfoNCE no negative and CCA no variation to fit.
- `untied_failure`: a model whose scores tie the right item with a wrong one for every query (CCA with a
  single canonical component: cosines in one dimension are all +1 or -1) gets a failed row saying so,
  instead of recalls of 0 that the pessimistic tie rule makes of it.
- `small_test_notes`: the recalls a small test split makes 100 by construction, for under the table.

The recipe itself (`mmdata.models.retrieval_recipe`) runs these.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmdata.errors import DatasetError
from mmdata.metrics import RECALL_KS
from mmdata.models.data import check_finite

#: The fewest scorable images a train or test split may have (see the module docstring).
MIN_IMAGES = 2


def check_retrieval_split(root: Path, role: str, splits: Sequence[str], sample_ids: np.ndarray, images: np.ndarray,
                          texts: np.ndarray, caption_image: np.ndarray, tables: tuple[Sequence[str], str]) -> None:
    """Refuse a split whose vectors hold NaN/inf, or with fewer than `MIN_IMAGES` scorable images.

    `role` is 'train' or 'test'; `tables` the image tables and the caption table the vectors came from.

    Raises:
        DatasetError: naming the splits, the table and the first sample ids, with a hint.
    """
    image_tables, text_table = tables
    where = f"of split(s) {list(splits)} of {root}"
    hint = "`mmdata check` lists them; extract the table again (`mmdata extract ... --force`)"
    check_finite(images, sample_ids, f"image vectors ({', '.join(image_tables)}) {where}", hint)
    check_finite(texts, sample_ids[caption_image], f"caption vectors ({text_table}) {where}", hint)
    if len(images) < MIN_IMAGES:
        why = ("every recall would be 100 by construction" if role == "test" else
               "InfoNCE needs another image to contrast with and CCA variation to fit")
        raise DatasetError(
            f"the {role} split(s) {list(splits)} of {root} have {len(images)} image(s) with both an image and a caption "
            f"vector; expected at least {MIN_IMAGES}: {why}; pick other splits (--{role}-split) or extract the failed "
            "images again (`mmdata info` lists them)"
        )


def untied_failure(name: str, tied: dict[str, int], n_images: int, n_captions: int, train_images: int,
                   components: int | None) -> str | None:
    """Why a model's scores rank nothing, when every image and every caption query has a wrong item tied
    with the right one; None when some query is untied."""
    if tied.get("i2t", 0) < n_images or tied.get("t2i", 0) < n_captions:
        return None
    cause = (f"; it kept {components} canonical component(s) from {train_images} train images, and cosines in so few "
             "dimensions tie" if components is not None else "")
    return (f"model {name!r} scored every test query with a wrong item tied to the right one ({n_images} images, "
            f"{n_captions} captions), so its scores rank nothing{cause}; train on more images")


def small_test_notes(n_images: int, caption_counts: np.ndarray) -> list[str]:
    """Lines for the recalls that a test split this small makes 100 by construction (none for >= 11 images)."""
    notes = []
    trivial_t2i = [k for k in RECALL_KS if k >= n_images]
    if trivial_t2i:
        notes.append(f"only {n_images} test images: t2i R@{', R@'.join(map(str, trivial_t2i))} are 100 by construction "
                     "(every caption's image is in the top K; the chance row's too)")
    wrong = int(caption_counts.sum() - caption_counts.min()) if len(caption_counts) else 0
    trivial_i2t = [k for k in RECALL_KS if k > wrong]
    if trivial_i2t:
        notes.append(f"only {int(caption_counts.sum())} test captions: i2t and t2t R@{', R@'.join(map(str, trivial_i2t))} "
                     "are 100 by construction (a caption of the query's image is in the top K; the chance row's too)")
    return notes
