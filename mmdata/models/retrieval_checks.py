"""What the retrieval recipe checks in the splits it reads, and what it says about scores that cannot rank.

- `check_retrieval_split`: a split's media (image, video or audio) and caption vectors must be finite
  (NaN/inf would make a model's loss NaN, which reads as a learning rate too high, or stop CCA's
  eigendecomposition), and a split needs at least `MIN_IMAGES` scorable images: with one test image every
  recall is 100 by construction, and one train image gives InfoNCE no negative and CCA no variation to fit.
- `untied_failure`: a model whose scores tie the right item with a wrong one for every query (CCA with a
  single canonical component: cosines in one dimension are all +1 or -1) gets a failed row saying so,
  instead of recalls of 0 that the pessimistic tie rule makes of it.
- `small_test_notes`: the recalls a small test split makes 100 by construction, for under the table.
- `media_of`: how these messages, the report's protocol and notes name the media side: "image(s)", "video(s)"
  or "audio clip(s)", from the modality of the tables it was read from (video-text and audio-text corpora
  such as MSR-VTT and Clotho put their pooled video or audio tables there).

The recipe itself (`mmdata.models.retrieval_recipe`) runs these.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mmdata.errors import DatasetError
from mmdata.metrics import RECALL_KS
from mmdata.models.data import check_finite

if TYPE_CHECKING:
    from mmdata.store.reader import Dataset

#: The fewest scorable images a train or test split may have (see the module docstring).
MIN_IMAGES = 2
#: What text calls one item and several items of each modality the media side may have.
MEDIA_NOUNS = {"image": ("image", "images"), "video": ("video", "videos"), "audio": ("audio clip", "audio clips")}


@dataclass(frozen=True)
class Media:
    """The media side of a retrieval run as user-facing text names it. `modality` qualifies vectors and tables
    ("an audio vector", "video tables"), `one`/`many` name the items ("2 test audio clips")."""

    modality: str = "image"
    one: str = "image"
    many: str = "images"

    @property
    def a_modality(self) -> str:
        """'an image', 'a video', 'an audio' (as in "an audio vector")."""
        return f"{'an' if self.modality[:1] in 'aeiou' else 'a'} {self.modality}"


#: The media side of an image-text corpus, the default wherever no dataset is at hand.
IMAGES = Media()


def media_of(dataset: Dataset, tables: Sequence[str]) -> Media:
    """How text names the items of `tables` (the media side): by their modality; several modalities
    concatenated (`--image` naming a video and an audio table) are "media items"."""
    modalities = sorted({dataset.entry(name).modality for name in tables})
    if len(modalities) == 1 and modalities[0] in MEDIA_NOUNS:
        return Media(modalities[0], *MEDIA_NOUNS[modalities[0]])
    return Media("+".join(modalities), "media item", "media items")


def check_retrieval_split(root: Path, role: str, splits: Sequence[str], sample_ids: np.ndarray, images: np.ndarray,
                          texts: np.ndarray, caption_image: np.ndarray, tables: tuple[Sequence[str], str],
                          media: Media = IMAGES) -> None:
    """Refuse a split whose vectors hold NaN/inf, or with fewer than `MIN_IMAGES` scorable media items.

    `role` is 'train' or 'test'; `tables` the media tables and the caption table the vectors came from;
    `media` names their items in the message.

    Raises:
        DatasetError: naming the splits, the table and the first sample ids, with a hint.
    """
    image_tables, text_table = tables
    where = f"of split(s) {list(splits)} of {root}"
    hint = "`mmdata check` lists them; extract the table again (`mmdata extract ... --force`)"
    check_finite(images, sample_ids, f"{media.modality} vectors ({', '.join(image_tables)}) {where}", hint)
    check_finite(texts, sample_ids[caption_image], f"caption vectors ({text_table}) {where}", hint)
    if len(images) < MIN_IMAGES:
        why = ("every recall would be 100 by construction" if role == "test" else
               f"InfoNCE needs another {media.one} to contrast with and CCA variation to fit")
        raise DatasetError(
            f"the {role} split(s) {list(splits)} of {root} have {len(images)} {media.one}(s) with both "
            f"{media.a_modality} and a caption vector; expected at least {MIN_IMAGES}: {why}; pick other splits "
            f"(--{role}-split) or extract the failed {media.many} again (`mmdata info` lists them)"
        )


def untied_failure(name: str, tied: dict[str, int], n_images: int, n_captions: int, train_images: int,
                   components: int | None, media: Media = IMAGES) -> str | None:
    """Why a model's scores rank nothing, when every media and every caption query has a wrong item tied
    with the right one; None when some query is untied. `media` names the items (images, videos, ...)."""
    if tied.get("i2t", 0) < n_images or tied.get("t2i", 0) < n_captions:
        return None
    cause = (f"; it kept {components} canonical component(s) from {train_images} train {media.many}, and cosines in "
             "so few dimensions tie" if components is not None else "")
    return (f"model {name!r} scored every test query with a wrong item tied to the right one ({n_images} "
            f"{media.many}, {n_captions} captions), so its scores rank nothing{cause}; train on more {media.many}")


def small_test_notes(n_images: int, caption_counts: np.ndarray, media: Media = IMAGES) -> list[str]:
    """Lines for the recalls that a test split this small makes 100 by construction (none for >= 11 media
    items); `media` names the items (images, videos, audio clips)."""
    notes = []
    trivial_t2i = [k for k in RECALL_KS if k >= n_images]
    if trivial_t2i:
        notes.append(f"only {n_images} test {media.many}: t2i R@{', R@'.join(map(str, trivial_t2i))} are 100 by "
                     f"construction (every caption's {media.one} is in the top K; the chance row's too)")
    wrong = int(caption_counts.sum() - caption_counts.min()) if len(caption_counts) else 0
    trivial_i2t = [k for k in RECALL_KS if k > wrong]
    if trivial_i2t:
        notes.append(f"only {int(caption_counts.sum())} test captions: i2t and t2t R@{', R@'.join(map(str, trivial_i2t))} "
                     f"are 100 by construction (a caption of the query's {media.one} is in the top K; the chance row's "
                     "too)")
    return notes
