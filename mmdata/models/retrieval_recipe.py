"""Image-text retrieval recipe: train the alignment models on an export, report Recall@1/5/10.

Reads a dataset directory written by `mmdata extract` on a captioned-image corpus (COCO, Flickr30K,
Karpathy, the shapes demo), or a captioned video or audio corpus (MSR-VTT, Clotho: its pooled video or
audio tables take the image side: "image" in the metrics' names and JSON keys means that medium, while the
report's protocol, notes, the rows' modalities and every message name it: videos, audio clips): one or more
pooled image tables (concatenated) and a caption-level text
table (`<text extractor>:level=caption`, one vector per caption), joined on sample id; other tables are
refused. Trains on the train splits (z-score statistics from them only), tests on the test split, which
must not be one of them, with every caption of every test image (the standard protocol;
with >= 2000 test images also the mean over 1K folds, COCO's "1K test": consecutive blocks of 1000 test
images in the Karpathy file's order (`extra.imgid`), as VSE++/SCAN cut them, or in sample-id order for
other corpora; a last block under 1000 images is left out, and the report's protocol says so).
An image of a split without an image vector or without caption vectors (its extraction failed, or it
has no caption) cannot be scored: it is left out with a warning, and the metrics JSON counts and names
those of each side under `left_out` (the test side's count is also in the protocol). A split with fewer
than two scorable images, or with a NaN/inf vector, is refused (`retrieval_checks`); the report's `notes`
name the recalls a test split of ten images or fewer makes 100 by construction.

Rows of the result: chance (expected Recall@K of a random scorer, exact for the test images' own caption
counts), a unimodal text-only reference (caption -> other captions of the same image, no training), a
`zero-shot` row when the image table and the caption table are one embedding space (CLIP's image and
text towers of one checkpoint, decided from their provenance: `retrieval_zero_shot`; cosines of the vectors
as extracted, same test set and protocol; otherwise the report's `zero_shot` note says why it is absent), and
one cross-modal row per alignment model; the metrics JSON also holds each model's median ranks (`i2t_medr`,
`t2i_medr`), in its row's `details.tied_queries` how many image and caption queries had a wrong item tied
with the right one (the queries the pessimistic tie rule scored as misses-by-rank), and `metric_definitions`
(units and conventions of every key). A model that diverges (NaN/inf loss or scores) gets a failed row
naming it and the epoch, and so does one whose scores tie a wrong item with the right one for every
query (CCA with one canonical component); the other models' results are kept and written.

`zero_shot_only=True` (CLI: `--zero-shot-only`) trains nothing and so needs no train split (the embedded COCO
sample holds `val2017` only): the chance, text-only (caption vectors as extracted: no train split to z-score
with) and zero-shot rows of the test split, in the same JSON and report; tables that are not one embedding
space are refused, since no row would compare image and text.

    report = run_retrieval_recipe("out/shapes", "out/shapes/retrieval.json")
    clip_only = run_retrieval_recipe("out/coco-clip", None, RetrievalRecipeConfig(zero_shot_only=True))
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.errors import ConfigError, DatasetError
from mmdata.metrics import (
    RETRIEVAL_LEGEND, chance_recall, fold_slices, folded_retrieval_metrics, recall_at_k,
    retrieval_metrics, tied_queries,
)
from mmdata.models.data import align_ids, concat_tables, read_sequence, standardize
from mmdata.models.report import (
    ResultRow, environment, failures_json, format_table, metrics_file, render_report, write_metrics_json,
)
from mmdata.models.retrieval import RETRIEVAL_MODELS, RetrievalModelConfig, cosine_scores, create_retrieval_model
from mmdata.models.retrieval_checks import (
    IMAGES, Media, check_retrieval_split, media_of, small_test_notes, untied_failure,
)
from mmdata.models.retrieval_zero_shot import (
    ZERO_SHOT_LEGEND, ZERO_SHOT_ONLY_LEGEND, SharedSpace, recipe_definitions, shared_space, zero_shot_row,
    zero_shot_only_refusal,
)
from mmdata.models.trainer import TrainConfig, TrainingDiverged, limit_threads, seed_everything
from mmdata.store.reader import Dataset, open_dataset

log = logging.getLogger(__name__)

RECALL_COLUMNS = [("i2t_r1", "i2t R@1"), ("i2t_r5", "R@5"), ("i2t_r10", "R@10"),
                  ("t2i_r1", "t2i R@1"), ("t2i_r5", "R@5"), ("t2i_r10", "R@10"), ("rsum", "rsum"),
                  ("t2t_r1", "t2t R@1"), ("t2t_r5", "R@5"), ("t2t_r10", "R@10")]
TRAIN_SPLIT_HINTS = ("train", "restval")
#: Modalities whose pooled tables make the media side ("image" in the metrics' names), in the order the
#: default takes the first present: image-text, then video-text (MSR-VTT), then audio-text (Clotho) corpora.
MEDIA_MODALITIES = ("image", "video", "audio")
TEST_SPLIT_HINTS = ("test", "val")


@dataclass(frozen=True)
class RetrievalRecipeConfig:
    """What to train on and how."""

    #: Pooled image tables to concatenate (default: every pooled image table of the dataset).
    image_tables: tuple[str, ...] = ()
    #: Caption-level text table (default: the only text table with item_axis 'caption').
    text_table: str | None = None
    #: Splits to train on (default: those named train*/restval) and to test on (default: test, else val*).
    train_splits: tuple[str, ...] = ()
    test_split: str | None = None
    models: tuple[str, ...] = tuple(RETRIEVAL_MODELS)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=30, batch_size=128, lr=2e-3, patience=0))
    model: RetrievalModelConfig = field(default_factory=RetrievalModelConfig)
    #: Threads for torch and BLAS while training (small models: 1 is fastest on a shared CPU; None = leave).
    num_threads: int | None = 1
    #: Score only the rows that need no training (chance, text-only, zero-shot): `models` and `train` are
    #: ignored and no train split is needed; the image and caption tables must be one embedding space.
    zero_shot_only: bool = False

    def __post_init__(self) -> None:
        unknown = [m for m in self.models if m not in RETRIEVAL_MODELS]
        if unknown or not (self.models or self.zero_shot_only):
            raise ConfigError(f"unknown retrieval models {unknown}; available: {sorted(RETRIEVAL_MODELS)}")
        if self.zero_shot_only and self.train_splits:
            raise ConfigError(f"zero_shot_only trains nothing, so it takes no train splits "
                              f"(got {list(self.train_splits)}); drop them (CLI: --train-split)")


@dataclass
class RetrievalSplit:
    """Image vectors, caption vectors and each caption's image index for one split."""

    sample_ids: np.ndarray
    images: np.ndarray
    texts: np.ndarray
    caption_image: np.ndarray
    #: How the images are ordered: "Karpathy file" (its `imgid`s) or "sample-id".
    order: str = "sample-id"
    #: Samples of the splits left out: no image vector or no caption vector (failed or captionless).
    left_out: np.ndarray = field(default_factory=lambda: np.asarray([], dtype=object))
    #: What the "images" are (images, videos or audio clips), as messages and the report name them.
    media: Media = IMAGES


@dataclass
class RetrievalReport:
    """The recipe's result rows plus everything needed to reproduce them."""

    rows: list[ResultRow]
    folded: dict[str, dict[str, float]]
    info: dict[str, Any]
    #: Whether the zero-shot row was scored, and the one-line note saying why (or why not).
    zero_shot: SharedSpace | None = None
    #: No model was trained (`zero_shot_only`): the legend says the text-only row is unstandardized.
    zero_shot_only: bool = False

    def table(self) -> str:
        return format_table(self.rows, RECALL_COLUMNS, decimals=1)

    def text(self) -> str:
        """What the CLI prints: the table, a legend of units and conventions (then why the zero-shot row is
        absent, when it is), and why any model failed."""
        if self.zero_shot_only:
            legend = ZERO_SHOT_ONLY_LEGEND
        elif self.zero_shot is None or self.zero_shot.shared:
            legend = ZERO_SHOT_LEGEND if self.zero_shot else RETRIEVAL_LEGEND
        else:
            legend = f"{RETRIEVAL_LEGEND}\n{self.zero_shot.note}"
        return render_report(self.table(), legend, self.rows, self.info.get("notes", ()))

    def failed(self) -> list[ResultRow]:
        """The rows of models that failed (diverged); their `error` says why."""
        return [row for row in self.rows if row.failed]

    def to_json(self) -> dict[str, Any]:
        return {**self.info, "results": [r.to_json() for r in self.rows], "folded_1k": self.folded,
                "failures": failures_json(self.rows)}


def run_retrieval_recipe(
    dataset_dir: str | Path, output_path: str | Path | None = None, config: RetrievalRecipeConfig | None = None
) -> RetrievalReport:
    """Train every configured alignment model and evaluate it; write the metrics JSON when `output_path` is given.

    Raises:
        DatasetError: the dataset lacks an image or caption-level text table, or a train/test split (with
            `zero_shot_only`: a test split, or tables that are one embedding space).
    """
    config = config or RetrievalRecipeConfig()
    if output_path is not None:  # refused before any training: a dataset's own file is never replaced
        metrics_file(output_path, "metrics path", "retrieval-metrics.json")
    with limit_threads(config.num_threads):
        return _run(open_dataset(dataset_dir), output_path, config)


def _run(dataset: Dataset, output_path: str | Path | None, config: RetrievalRecipeConfig) -> RetrievalReport:
    image_tables, text_table = _choose_tables(dataset, config)
    space = shared_space(dataset, image_tables, text_table)
    log.info("%s", space.note)
    if config.zero_shot_only:
        return _run_zero_shot_only(dataset, output_path, config, image_tables, text_table, space)
    train_splits, test_split = _choose_splits(dataset, config, space)
    train = load_retrieval_split(dataset, image_tables, text_table, train_splits, "train")
    test = load_retrieval_split(dataset, image_tables, text_table, (test_split,), "test")
    left_out = {"train": _left_out_note(train, "train", image_tables, text_table),
                "test": _left_out_note(test, "test", image_tables, text_table)}
    # Scored before the z-score below: the zero-shot row compares the vectors exactly as extracted.
    zero_shot = zero_shot_row(test.images, test.texts, test.caption_image, space) if space.shared else None
    train.images, test.images = standardize(train.images, test.images)
    train.texts, test.texts = standardize(train.texts, test.texts)
    n_test, n_captions = len(test.images), len(test.texts)
    log.info("retrieval: %d train %s, %d test %s with %d captions", len(train.images), test.media.many, n_test,
             test.media.many, n_captions)
    caption_counts = np.bincount(test.caption_image, minlength=n_test)
    rows = [ResultRow("chance", "reference", [test.media.modality, "text"], chance_recall(caption_counts)),
            ResultRow("text-only", "unimodal", ["text"], caption_to_caption_metrics(test.texts, test.caption_image))]
    folded: dict[str, dict[str, float]] = {}
    if zero_shot is not None:
        rows.append(zero_shot[0])
        if zero_shot[1] is not None:
            folded[zero_shot[0].model] = zero_shot[1]
    for name in config.models:
        row, fold_metrics = run_retrieval_job(name, train, test, config)
        rows.append(row)
        if fold_metrics is not None:
            folded[name] = fold_metrics
    info = _recipe_info(dataset, config, image_tables, text_table, (train_splits, train), (test_split, test), folded,
                        left_out, space)
    return _finish(RetrievalReport(rows=rows, folded=folded, info=info, zero_shot=space), output_path)


def _run_zero_shot_only(dataset: Dataset, output_path: str | Path | None, config: RetrievalRecipeConfig,
                        image_tables: tuple[str, ...], text_table: str, space: SharedSpace) -> RetrievalReport:
    """The rows that need no training, on the test split: chance, text-only (caption vectors as extracted,
    since there are no train statistics to z-score with) and zero-shot; refused unless the tables are one space."""
    if not space.shared:
        raise DatasetError(zero_shot_only_refusal(space))
    _, test_split = _choose_splits(dataset, config, space)
    test = load_retrieval_split(dataset, image_tables, text_table, (test_split,), "test")
    left_out = {"train": {"images": 0, "first": []}, "test": _left_out_note(test, "test", image_tables, text_table)}
    log.info("retrieval (zero-shot only): %d test %s with %d captions", len(test.images), test.media.many,
             len(test.texts))
    caption_counts = np.bincount(test.caption_image, minlength=len(test.images))
    zero_shot, zero_shot_folds = zero_shot_row(test.images, test.texts, test.caption_image, space)
    rows = [ResultRow("chance", "reference", [test.media.modality, "text"], chance_recall(caption_counts)),
            ResultRow("text-only", "unimodal", ["text"], caption_to_caption_metrics(test.texts, test.caption_image),
                      details={"scores": "cosines of the caption vectors as extracted (zero-shot only: no train "
                                         "split, so no z-score)"}),
            zero_shot]
    folded = {zero_shot.model: zero_shot_folds} if zero_shot_folds is not None else {}
    info = _recipe_info(dataset, config, image_tables, text_table, ((), None), (test_split, test), folded, left_out,
                        space)
    info["config"]["models"] = []  # none was trained, whatever the config's default
    report = RetrievalReport(rows=rows, folded=folded, info=info, zero_shot=space, zero_shot_only=True)
    return _finish(report, output_path)


def _recipe_info(dataset: Dataset, config: RetrievalRecipeConfig, image_tables: tuple[str, ...], text_table: str,
                 train: tuple[tuple[str, ...], RetrievalSplit | None], test: tuple[str, RetrievalSplit],
                 folded: dict[str, dict[str, float]], left_out: dict[str, Any], space: SharedSpace) -> dict[str, Any]:
    """Everything but the rows that the metrics JSON records: tables, splits and their sizes, the protocol
    (its text and the metric definitions name the media: images, videos or audio clips; the keys say "image"
    whatever the media, and the rows' `modalities` say which it is)."""
    (train_splits, train_split), (test_split, test_data) = train, test
    n_test, n_captions, n_left = len(test_data.images), len(test_data.texts), len(test_data.left_out)
    media = test_data.media
    return {
        "recipe": "retrieval",
        "dataset": str(dataset.root),
        "image_tables": list(image_tables),
        "text_table": text_table,
        "train_splits": list(train_splits),
        "test_split": test_split,
        "train_images": len(train_split.images) if train_split else 0,
        "train_captions": len(train_split.texts) if train_split else 0,
        "test_images": n_test,
        "test_captions": n_captions,
        "protocol": f"{n_test} test {media.many}, all {n_captions} captions" + (
            f" ({n_left} of the {n_test + n_left} {media.many} of split {test_split!r} left out: no {media.modality} "
            "or caption vector)" if n_left else "") + (
            f"; plus {_folds_note(n_test, test_data.order, media=media)}" if folded else ""),
        "left_out": left_out,
        "notes": small_test_notes(n_test, np.bincount(test_data.caption_image, minlength=n_test), media),
        "zero_shot": space.to_json(),
        "metric_definitions": recipe_definitions(media),
        "config": asdict(config),
        "environment": environment(),
    }


def _finish(report: RetrievalReport, output_path: str | Path | None) -> RetrievalReport:
    """Write the report's metrics JSON when a path is given."""
    if output_path is not None:
        write_metrics_json(output_path, report.to_json())
    return report


def run_retrieval_job(name: str, train: RetrievalSplit, test: RetrievalSplit,
                      config: RetrievalRecipeConfig) -> tuple[ResultRow, dict[str, float] | None]:
    """Train and test one alignment model: its row and its 1K-fold metrics (None: too few test images).

    A model that diverges, or whose test scores are NaN/inf, gives a failed row whose reason names it
    (and the epoch) instead of ending the whole recipe, so the other models' results are kept.
    """
    seed_everything(config.train.seed)
    model = create_retrieval_model(name, config.model)
    began = time.perf_counter()
    try:
        model.fit(train.images, train.texts, train.caption_image, config.train)
    except TrainingDiverged as e:
        return _failed_row(name, f"model {name!r} {e}", time.perf_counter() - began, {"failed_epoch": e.epoch},
                           test.media), None
    except np.linalg.LinAlgError as e:  # CCA's eigendecomposition or SVD of ill-conditioned covariances
        reason = f"model {name!r} could not be fitted ({e}); the train vectors may be near-constant or too few"
        return _failed_row(name, reason, time.perf_counter() - began, {}, test.media), None
    seconds = time.perf_counter() - began
    scores = model.scores(test.images, test.texts)
    if not np.isfinite(scores).all():
        reason = (f"model {name!r} scored NaN/inf for {int((~np.isfinite(scores)).sum())} of {scores.size} test "
                  f"{test.media.modality}-caption pairs; try a lower --lr (now {config.train.lr:g})")
        return _failed_row(name, reason, seconds, {}, test.media), None
    tied = tied_queries(scores, test.caption_image)
    reason = untied_failure(name, tied, len(test.images), len(test.texts), len(train.images),
                            getattr(model, "components", None), test.media)
    if reason is not None:
        return _failed_row(name, reason, seconds, {"tied_queries": tied}, test.media), None
    row = ResultRow(name, "cross-modal", [test.media.modality, "text"], retrieval_metrics(scores, test.caption_image),
                    train_seconds=round(seconds, 2), details={"tied_queries": tied})
    return row, folded_retrieval_metrics(scores, test.caption_image)


def _failed_row(name: str, reason: str, seconds: float, details: dict[str, Any], media: Media) -> ResultRow:
    """The row of a model that failed: no metrics, `status` 'failed' and the reason (also logged)."""
    log.error("%s", reason)
    return ResultRow(name, "cross-modal", [media.modality, "text"], {}, train_seconds=round(seconds, 2),
                     details=details, status="failed", error=reason)


def load_retrieval_split(
    dataset: Dataset, image_tables: tuple[str, ...], text_table: str, splits: tuple[str, ...], role: str = "test"
) -> RetrievalSplit:
    """The images (videos, audio clips: the media of `image_tables`) of `splits` that have a vector in
    `image_tables` and at least one caption vector.

    Raises:
        DatasetError: no such image, fewer than `retrieval_checks.MIN_IMAGES`, or a NaN/inf vector
            (`role`, 'train' or 'test', names the option that picks other splits).
    """
    media = media_of(dataset, image_tables)
    samples = dataset.samples_table(columns=["sample_id", "split", "extra"])
    in_splits = np.isin(np.asarray(samples.column("split").to_pylist(), dtype=object), list(splits))
    wanted = np.asarray(samples.column("sample_id").to_pylist(), dtype=object)[in_splits]
    file_index = _karpathy_indices(samples.column("extra"))[in_splits]
    image_ids, images = concat_tables(dataset, image_tables)
    text_ids, flat, offsets = read_sequence(dataset, text_table)
    counts = np.diff(offsets)
    keep_text = counts > 0
    ids, (image_index, text_index, wanted_index) = align_ids(image_ids, text_ids[keep_text], wanted)
    order = "sample-id"
    if len(ids) and (file_index[wanted_index] >= 0).all():  # Karpathy's file order, as published 1K folds use
        by_file = np.argsort(file_index[wanted_index], kind="stable")
        ids, image_index, text_index, order = ids[by_file], image_index[by_file], text_index[by_file], "Karpathy file"
    if len(ids) == 0:
        raise DatasetError(
            f"no {media.one} of splits {list(splits)} in {dataset.root} has both {media.a_modality} vector "
            f"({', '.join(image_tables)}) and caption vectors ({text_table}); check the splits and the errors tables "
            "(`mmdata info`); tables that share no sample id may come from another dataset (`mmdata check` says)"
        )
    rows = np.flatnonzero(keep_text)[text_index]
    starts, ends = offsets[rows], offsets[rows + 1]
    caption_rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)])
    caption_image = np.repeat(np.arange(len(ids)), ends - starts)
    left_out = np.asarray(sorted(set(wanted.tolist()) - set(ids.tolist())), dtype=object)
    split = RetrievalSplit(ids, images[image_index], flat[caption_rows], caption_image, order, left_out, media)
    check_retrieval_split(dataset.root, role, splits, split.sample_ids, split.images, split.texts, split.caption_image,
                          (image_tables, text_table), media)
    return split


def _left_out_note(split: RetrievalSplit, role: str, image_tables: tuple[str, ...], text_table: str,
                   max_ids: int = 10) -> dict[str, Any]:
    """The samples of a split the recipe cannot use, counted and named (first `max_ids`), with a
    warning: on the test side they change the benchmark (a 5K test scored on fewer images)."""
    count, media = len(split.left_out), split.media
    if count:
        log.warning(
            "%d %s %s have no %s vector (%s) or no caption vector (%s) and are left out (first: %s); "
            "their reasons are in the dataset's errors tables (`mmdata info`)",
            count, role, media.many, media.modality, ", ".join(image_tables), text_table,
            ", ".join(split.left_out[:3].tolist()))
    return {"images": count, "first": split.left_out[:max_ids].tolist()}


def _karpathy_indices(extra: pa.ChunkedArray) -> np.ndarray:
    """Each sample's `imgid` (its place in a Karpathy split file), -1 where it has none."""
    found = pc.extract_regex(extra, r'"imgid": (?P<imgid>\d+)')
    values = pc.cast(pc.struct_field(found, [0]), pa.int64())
    return pc.fill_null(values, -1).to_numpy(zero_copy_only=False)


def caption_to_caption_metrics(texts: np.ndarray, caption_image: np.ndarray) -> dict[str, float]:
    """Text-only reference: each caption retrieves the other captions; a hit is one of the same image.

    Reported as `t2t_r1`, ...; a caption whose image has no other caption always misses.
    """
    scores = cosine_scores(texts, texts)
    # A caption's positives are the other captions of its image; it never retrieves itself.
    ranks = []
    for start in range(0, len(texts), 1024):
        block = np.arange(start, min(start + 1024, len(texts)))
        own = caption_image[None, :] == caption_image[block, None]
        own[np.arange(len(block)), block] = False
        best = np.where(own, scores[block], -np.inf).max(axis=1)
        wrong = (~own) & (np.arange(len(texts))[None, :] != block[:, None])
        ranks.append(np.where(np.isfinite(best), (np.where(wrong, scores[block], -np.inf) >= best[:, None]).sum(axis=1),
                              len(texts)))
    recall = recall_at_k(np.concatenate(ranks))
    return {f"t2t_r{k}": v for k, v in recall.items()}


def _choose_tables(dataset: Dataset, config: RetrievalRecipeConfig) -> tuple[tuple[str, ...], str]:
    """The media side's pooled tables and the caption-level text table. The media side is the pooled image
    tables, else (an audio-text or video-text corpus: Clotho, MSR-VTT) the pooled tables of the first of
    video and audio that has some; named tables may be pooled tables of any of the three."""
    entries = dataset.manifest.tables
    pooled = {m: [n for n, e in sorted(entries.items()) if e.modality == m and e.spec.get("kind") == "pooled"]
              for m in MEDIA_MODALITIES}
    captions = [n for n, e in sorted(entries.items()) if e.modality == "text" and e.spec.get("item_axis") == "caption"]
    # Video or audio tables stand in for images only beside caption vectors: a MOSI-style dataset has
    # pooled audio and video tables but is no captioned corpus, and is told what it lacks.
    image_tables = config.image_tables or tuple(pooled["image"]) or (
        next((tuple(names) for names in pooled.values() if names), ()) if captions else ())
    if not image_tables:
        raise DatasetError(
            f"{dataset.root} has no pooled image table"
            + (" (nor a pooled video or audio one)" if captions else " and no caption-level text table")
            + f"; tables: {dataset.table_names}; retrieval pairs pooled image (or video, audio) vectors with caption "
            "vectors: extract them (`mmdata extract ... --image color-hist --text hashed-bow:level=caption`; "
            "`--video video-frames:pool=mean` or `--audio egemaps:level=functionals` for a video or audio corpus)"
        )
    media_tables = [n for names in pooled.values() for n in names]
    for name in image_tables:
        if name not in media_tables:
            entry = dataset.entry(name)  # an unknown name: the error lists the tables
            raise DatasetError(
                f"table {name!r} (modality {entry.modality}, {entry.spec.get('kind')}) is not a pooled image, video "
                f"or audio table; the media side takes those: {media_tables}"
            )
    if config.text_table:
        if config.text_table not in captions:
            entry = dataset.entry(config.text_table)
            raise DatasetError(
                f"table {config.text_table!r} (modality {entry.modality}, item axis {entry.spec.get('item_axis')!r}) "
                f"is not a caption-level text table; the text side takes one vector per caption: {captions}"
            )
        return image_tables, config.text_table
    if len(captions) != 1:
        raise DatasetError(
            f"{dataset.root} has {len(captions)} caption-level text tables ({captions}); expected exactly one, or pass "
            "text_table=...; extract one with `--text minilm:level=caption` (or hashed-bow:level=caption)"
        )
    return image_tables, captions[0]


def _choose_splits(dataset: Dataset, config: RetrievalRecipeConfig,
                   space: SharedSpace) -> tuple[tuple[str, ...], str]:
    """The train splits and the test split; zero-shot-only trains on none but picks its test split alike
    (never one named like a train split, e.g. Karpathy's restval, unless the user names it)."""
    present = sorted(dataset.manifest.samples.get("splits", {}))
    named_train = tuple(s for s in present if any(h in s for h in TRAIN_SPLIT_HINTS) and s != config.test_split)
    train = () if config.zero_shot_only else config.train_splits or named_train
    test = config.test_split
    if test is None:
        test = next((s for hint in TEST_SPLIT_HINTS for s in present if hint in s and s not in (train or named_train)),
                    None)
    if config.zero_shot_only and test is None:
        raise DatasetError(f"cannot tell the test split of {dataset.root} (splits: {present}); pass test_split=... "
                           "(CLI: --test-split)")
    if not (train or config.zero_shot_only) or test is None:
        # One embedding space needs no train split for its zero-shot row: say how to get just that.
        zero_shot_hint = (f"; or, without a train split, score the zero-shot row of {space.image_table} and "
                          f"{space.text_table} only: zero_shot_only=True (CLI: --zero-shot-only)"
                          if space.shared and not train else "")
        raise DatasetError(
            f"cannot tell the train and test splits of {dataset.root} (splits: {present}); pass train_splits=... and "
            f"test_split=... (CLI: --train-split, --test-split){zero_shot_hint}"
        )
    missing = [s for s in (*train, test) if s not in present]
    if missing:
        raise DatasetError(f"splits {missing} are not in {dataset.root}; splits: {present}")
    if test in train:
        raise ConfigError(f"test split {test!r} is also a train split ({list(train)}); testing on training "
                          f"{space.media.many} would overstate the recall; pick disjoint splits")
    return tuple(train), test


def _folds_note(n_images: int, order: str = "sample-id", fold_size: int = 1000, media: Media = IMAGES) -> str:
    """How the 1K folds were cut, for the report: their count, their order and the media items left out."""
    folds = len(fold_slices(n_images, fold_size))
    left = n_images - folds * fold_size
    return (f"the mean over {folds} folds of {fold_size} {media.many} (consecutive in {order} order"
            + (f"; the last {left} {media.many} are in no fold" if left else "") + ")")
