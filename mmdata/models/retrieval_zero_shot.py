"""Zero-shot retrieval: score image and caption vectors as extracted, when both come from one embedding space.

A dual encoder (CLIP: `--image clip` with `--text clip-text:level=caption` of the same checkpoint) embeds
images and captions in one space, so the cosine of the stored vectors already ranks captions for an image,
as CLIP's published COCO/Flickr zero-shot numbers are computed: no training and no normalization fitted
on any split. The recipe adds this `zero-shot` row, on the very test set and protocol of the trained
rows, only when its provenance says the two tables are one space:

- the image side is exactly one table (a concatenation of several is no model's space);
- both tables' provenance records the same model fingerprint: `model.sha256` in the table metadata, or a
  `versions` entry "model:<name>" (its first 16 hex digits), the same value on both sides;
- both have the same dim.

Equal dims alone prove nothing (resnet18 and a 512-d text model are unrelated), so a table without a
model fingerprint never qualifies; the report says why the row is absent. A zero-shot-only run (no
training, no train split) refuses such tables outright: `zero_shot_only_refusal` says why and what to extract.

    space = shared_space(dataset, ("image.clip",), "text.clip-text.caption")
    if space.shared:
        row, folded = zero_shot_row(test.images, test.texts, test.caption_image, space)
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmdata.metrics import (
    RETRIEVAL_LEGEND, folded_retrieval_metrics, retrieval_definitions, retrieval_metrics, tied_queries,
)
from mmdata.models.report import ResultRow
from mmdata.models.retrieval import cosine_scores
from mmdata.models.retrieval_checks import IMAGES, Media, media_of
from mmdata.store.metadata import model_version_fingerprints
from mmdata.store.reader import Dataset

log = logging.getLogger(__name__)

ZERO_SHOT = "zero-shot"
FINGERPRINT_CHARS = 16
ZERO_SHOT_LEGEND = f"{RETRIEVAL_LEGEND}; zero-shot: cosine of the vectors as extracted, no training"
ZERO_SHOT_ONLY_LEGEND = f"{ZERO_SHOT_LEGEND}; zero-shot only: no model trained, text-only on the vectors as extracted"


def recipe_definitions(media: Media = IMAGES) -> dict[str, object]:
    """`metric_definitions` of the retrieval metrics JSON: the shared definitions plus the zero-shot row,
    naming the run's media (videos, audio clips) as its protocol and notes do."""
    definitions = retrieval_definitions(media.one, media.many)
    zero_shot = (f"row scored without training: cosine of each stored {media.modality} vector with each stored "
                 "caption vector (no fitted normalization), on the trained rows' test set; present only when the "
                 f"{media.modality} table and the caption table record one model fingerprint and dim (one embedding "
                 "space)")
    return {**definitions, "keys": {**definitions["keys"], ZERO_SHOT: zero_shot}}  # type: ignore[dict-item]


@dataclass(frozen=True)
class SharedSpace:
    """Whether the recipe's image and caption tables are one embedding space, and a one-line note why."""

    shared: bool
    note: str
    image_table: str | None = None
    text_table: str | None = None
    #: The model fingerprint both tables record (first 16 hex digits of its sha256), when shared.
    fingerprint: str | None = None
    #: What the media tables hold (images, videos, audio clips), as the notes and messages name it.
    media: Media = IMAGES

    def to_json(self) -> dict[str, Any]:
        return {"evaluated": self.shared, "note": self.note, "fingerprint": self.fingerprint}


def shared_space(dataset: Dataset, image_tables: tuple[str, ...], text_table: str) -> SharedSpace:
    """Decide from the tables' provenance whether their vectors compare directly (see the module docstring)."""
    media = media_of(dataset, image_tables)
    if len(image_tables) != 1:
        alone = [name for name in image_tables if shared_space(dataset, (name,), text_table).shared]
        hint = f"; {alone[0]} alone is (--image {alone[0]})" if alone else ""
        return SharedSpace(False, f"zero-shot: {len(image_tables)} {media.modality} tables ({', '.join(image_tables)}) "
                                  f"are concatenated, which is no model's embedding space{hint}", media=media)
    image_table = image_tables[0]
    common = sorted(model_fingerprints(dataset, image_table) & model_fingerprints(dataset, text_table))
    if not common:
        return SharedSpace(False, f"zero-shot: {image_table} and {text_table} are not one embedding space (their "
                                  "provenance records no model fingerprint in common)", media=media)
    dims = dataset.entry(image_table).spec.get("dim"), dataset.entry(text_table).spec.get("dim")
    if dims[0] != dims[1] or dims[0] is None:
        return SharedSpace(False, f"zero-shot: {image_table} and {text_table} record one model ({common[0]}) but "
                                  f"dims {dims[0]} and {dims[1]}; expected one dim", media=media)
    return SharedSpace(True, f"zero-shot: {image_table} and {text_table} are one embedding space (model {common[0]}, "
                             f"{dims[0]}-d): scored by cosine as extracted", image_table, text_table, common[0], media)


def zero_shot_only_refusal(space: SharedSpace) -> str:
    """Why a zero-shot-only run cannot score these tables (the recipe's note) and what to extract instead
    (CLIP for images; for videos and audio clips, vectors of a dual encoder that shares the text tower's space)."""
    media = space.media
    extract = ("extract them with `--image clip --text clip-text:level=caption` (one --image table, the same model=)"
               if media == IMAGES else
               f"extract the {media.many} and captions with one dual encoder whose provenance records its model "
               "fingerprint on both tables (one media table)")
    return (f"{space.note}; a zero-shot-only run (--zero-shot-only) needs {media.modality} and caption vectors of one "
            f"dual encoder checkpoint: {extract}, or drop --zero-shot-only to train the alignment models on a train "
            "split")


def model_fingerprints(dataset: Dataset, table: str) -> set[str]:
    """The model fingerprints a table's provenance records, as `versions` writes them (16 hex digits):
    its metadata's `model.sha256` and every "model:<name>" entry of its `versions`."""
    found = {value[:FINGERPRINT_CHARS] for value in model_version_fingerprints(dataset.entry(table).versions).values()}
    model = dataset.table_metadata(table).get("model")
    if isinstance(model, dict) and isinstance(model.get("sha256"), str) and model["sha256"]:
        found.add(model["sha256"][:FINGERPRINT_CHARS])
    return found


def zero_shot_row(images: np.ndarray, texts: np.ndarray, caption_image: np.ndarray,
                  space: SharedSpace) -> tuple[ResultRow, dict[str, float] | None]:
    """The zero-shot row of the stored (unstandardized) test vectors and its 1K-fold metrics (None: too few
    test images); a failed row when a stored vector holds NaN/inf. Its modalities are the space's media's."""
    scores = cosine_scores(images, texts)
    details: dict[str, Any] = {
        "scores": f"raw cosines of the stored vectors ({space.image_table} x {space.text_table}): no training, "
                  "no fitted normalization",
        "model_fingerprint": space.fingerprint,
    }
    if not np.isfinite(scores).all():
        reason = (f"zero-shot: {int((~np.isfinite(scores)).sum())} of {scores.size} test "
                  f"{space.media.modality}-caption cosines of {space.image_table} and {space.text_table} are NaN/inf; "
                  "the stored vectors hold non-finite values (`mmdata check`)")
        log.error("%s", reason)
        return ResultRow(ZERO_SHOT, "cross-modal", [space.media.modality, "text"], {}, details=details,
                         status="failed", error=reason), None
    details["tied_queries"] = tied_queries(scores, caption_image)
    row = ResultRow(ZERO_SHOT, "cross-modal", [space.media.modality, "text"], retrieval_metrics(scores, caption_image),
                    details=details)
    return row, folded_retrieval_metrics(scores, caption_image)
