"""Checks of the samples table's text and labels (pure functions).

What a corpus promises comes from its kind (the `corpus` column / the manifest): image–text
corpora promise captions, MOSI-style raw corpora a transcript per segment, sentiment corpora a
label in a known range (CMU-MOSI/MOSEI [-3, 3], CH-SIMS [-1, 1], MELD's sentiment classes -1, 0, 1).
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmdata.checks.issues import Issue, Severity, make_issue
from mmdata.corpora.csd_labels import MOSEI_LABEL_NAMES, value_at
from mmdata.records import BLANK_CATEGORIES
from mmdata.store.layout import MERGED_KIND  # a merged dataset's manifest lists each corpus's kind and labelled corpus

#: Corpus kinds whose every sample has at least one caption.
CAPTIONED_CORPORA = frozenset({"coco", "karpathy", "flickr30k", "flickr8k"})
#: Corpus kinds whose every sample has a transcript.
TRANSCRIBED_CORPORA = frozenset({"mosi-raw", "mmsa-raw", "cmu-mosi", "cmu-mosei", "ch-sims"})
#: The names of CH-SIMS (v1 and v2) as a corpus kind or a `dataset` option: its label range, its unimodal labels,
#: and the SIMS metrics of `train sentiment` (`models.sentiment_checks.metric_set_of`).
SIMS_NAMES = ("ch-sims", "sims", "sims-v2", "simsv2")
#: Label ranges by corpus (kind, or the `dataset` option of a generic kind such as `mmsa`).
LABEL_RANGES: dict[str, tuple[float, float]] = {
    "cmu-mosi": (-3.0, 3.0),
    "mosi": (-3.0, 3.0),
    "cmu-mosei": (-3.0, 3.0),
    "mosei": (-3.0, 3.0),
    **{name: (-1.0, 1.0) for name in SIMS_NAMES},
    # MELD's `label` is its sentiment class as a number (negative -1, neutral 0, positive 1): a range to check,
    # not a score to regress (`sentiment_checks.metric_set_of` refuses it; `train classify` scores it).
    "meld": (-1.0, 1.0),
}


#: Labels besides `label` that corpora keep in the samples' `extra`, by corpus: each label's name in
#: messages, its path in `extra` (as `label_fields` writes them) and its range. CH-SIMS's unimodal
#: labels (keys label_T/A/V, the range of its multimodal label) and CMU-MOSEI's six emotion
#: intensities (`All Labels` values 2-7, kept in the list `labels`; 0 = absent, 3 = strong).
AuxRanges = dict[str, tuple[tuple[str | int, ...], tuple[float, float]]]
SIMS_UNIMODAL: AuxRanges = {key: ((key,), (-1.0, 1.0)) for key in ("label_T", "label_A", "label_V")}
MOSEI_EMOTIONS: AuxRanges = {f"labels[{i}] ({emotion})": (("labels", i), (0.0, 3.0))
                             for i, emotion in enumerate(MOSEI_LABEL_NAMES) if i}
AUX_LABEL_RANGES: dict[str, AuxRanges] = {
    **{name: SIMS_UNIMODAL for name in SIMS_NAMES},
    **{name: MOSEI_EMOTIONS for name in ("cmu-mosei", "mosei")},
}


#: A text of nothing but whitespace, control or format (zero-width) characters: blank, as text
#: extractors see it (`mmdata.features.text_base.is_blank_text`, the categories `records.BLANK_CATEGORIES`).
BLANK_TEXT = "^[" + "".join(rf"\p{{{category}}}" for category in BLANK_CATEGORIES) + "]*$"


def is_blank(texts: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Per string: True when blank (`BLANK_TEXT`), null when null."""
    return pc.match_substring_regex(texts, BLANK_TEXT)


def corpus_dataset(corpus: Mapping[str, Any], loader: Mapping[str, Any] | None = None) -> str | None:
    """The labelled corpus a manifest's corpus entry names (a key of `LABEL_RANGES`), or None.

    Looks at the corpus kind, then at a `dataset`/`name` option (e.g. `mmsa` with dataset=ch-sims),
    then at the dataset the loader recognised (`extra.loader.dataset`, e.g. a CMU_MOSI_*.csd label file).
    """
    if corpus.get("kind") == MERGED_KIND:  # `mmdata merge`: the one labelled corpus all its datasets are of, if any
        found = set(corpus.get("datasets") or [None])
        return found.pop() if len(found) == 1 else None
    names = [corpus.get("kind")]
    options = corpus.get("options") or {}
    names += [options.get("dataset"), options.get("name"), (loader or {}).get("dataset")]
    for name in names:
        if isinstance(name, str) and name.lower() in LABEL_RANGES:
            return name.lower()
    return None


def label_range_for(corpus: Mapping[str, Any], loader: Mapping[str, Any] | None = None) -> tuple[float, float] | None:
    """The label range a manifest's corpus entry implies (`corpus_dataset`), or None when it implies none."""
    if corpus.get("kind") == MERGED_KIND:  # merged corpora of one label range (MOSI and MOSEI: [-3, 3]) keep it
        ranges = {LABEL_RANGES.get(d) if isinstance(d, str) else None for d in corpus.get("datasets") or [None]}
        return ranges.pop() if len(ranges) == 1 else None
    dataset = corpus_dataset(corpus, loader)
    return LABEL_RANGES[dataset] if dataset else None


class AuxLabelCheck:
    """The further labels of a corpus (`AUX_LABEL_RANGES`) inside their ranges, read from `extra`
    shard by shard (`add`), reported once over the whole table (`issues`)."""

    def __init__(self, dataset: str | None, *, max_examples: int = 5, label_names: Sequence[str] | None = None):
        self.ranges = AUX_LABEL_RANGES.get(dataset or "", {})
        if dataset in ("cmu-mosei", "mosei") and label_names is not None and \
                list(label_names) != list(MOSEI_LABEL_NAMES):
            self.ranges = {}  # the loader named the rows' values otherwise (label_0, ...): not the SDK's seven
        self.max_examples = max_examples
        self.outside: dict[str, list[tuple[str, float]]] = {}  # label -> (sample id, value) outside its range

    def add(self, shard: pa.Table) -> None:
        """Check a samples shard with `sample_id` and `extra` columns."""
        if not self.ranges:
            return
        for sample_id, raw in zip(shard.column("sample_id").to_pylist(), shard.column("extra").to_pylist()):
            extra = _json_object(raw)
            for name, (field, (low, high)) in self.ranges.items():
                value = value_at(extra, field)
                if isinstance(value, (int, float)) and not isinstance(value, bool) and not low <= value <= high:
                    self.outside.setdefault(name, []).append((sample_id, float(value)))

    def issues(self) -> list[Issue]:
        """One issue for every label (the report keeps one issue per code): each label, its first
        offender and how many samples are outside its range."""
        if not self.outside:
            return []
        parts, offenders = [], []
        for name, found in self.outside.items():
            _, (low, high) = self.ranges[name]
            sample_id, value = found[0]
            parts.append(f"{name} {value:g} of sample {sample_id!r} is outside [{low:g}, {high:g}] "
                         f"({len(found)} sample{'s' if len(found) > 1 else ''})")
            offenders += [i for i, _ in found if i not in offenders]
        return [make_issue(
            "aux-label-range", "error",
            "; ".join(parts) + "; check those columns of the label file, or the corpus option `dataset` given to "
            "`mmdata extract`", offenders=offenders[: self.max_examples],
            count=sum(len(f) for f in self.outside.values()), max_examples=self.max_examples)]


def _json_object(raw: Any) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}  # extra that is no JSON object is not a label's concern
    return value if isinstance(value, dict) else {}


def check_text(samples: pa.Table, *, max_examples: int = 5, uncaptioned_splits: Sequence[str] = (),
               captions_optional: bool = False) -> list[Issue]:
    """Captions where the corpus promises captions, transcripts where it promises transcripts.

    `samples` needs `sample_id`, `corpus`, `captions` and `transcript` (and `split` when
    `uncaptioned_splits` names any: splits published without captions, as COCO's test images).
    `captions_optional`: the corpus was loaded keeping images without captions on purpose, so one
    without is a warning, not an error.
    """
    issues = []
    corpus = samples.column("corpus")
    captioned = pc.is_in(corpus, value_set=pa.array(sorted(CAPTIONED_CORPORA)))
    if uncaptioned_splits:
        published = pc.invert(pc.is_in(samples.column("split"), value_set=pa.array(sorted(uncaptioned_splits))))
        captioned = pc.and_(captioned, pc.fill_null(published, True))
    if pc.any(captioned).as_py():
        no_caption = pc.and_(captioned, pa.array(~_has_text(samples.column("captions"))))
        if captions_optional:
            issues += _missing(samples, no_caption, "captions-missing", "captions",
                               "kept on purpose (keep_images_without_captions=true); text extractors leave them "
                               "without a text feature", max_examples, severity="warning")
        else:
            issues += _missing(samples, no_caption, "captions-missing", "captions",
                               "the corpus gives every image captions; check the annotation file", max_examples)
    transcribed = pc.is_in(corpus, value_set=pa.array(sorted(TRANSCRIBED_CORPORA)))
    if pc.any(transcribed).as_py():
        issues += _check_transcripts(samples, transcribed, max_examples)
    return issues


def reads_words(corpus: Mapping[str, Any]) -> bool:
    """Whether `check_text` wants the samples' `extra` (their word lists) for a dataset of this
    manifest corpus entry: only a transcribed corpus's, so captioned datasets are read as before."""
    return corpus.get("kind") in TRANSCRIBED_CORPORA or any(
        kind in TRANSCRIBED_CORPORA for kind in corpus.get("kinds") or [])  # a merged dataset's corpora


#: An `extra` JSON object holding a `words` list (empty or not): the sample has word timings.
_WORDS_LIST = r'"words"\s*:\s*\['


def _check_transcripts(samples: pa.Table, transcribed: Any, max_examples: int) -> list[Issue]:
    """`transcript-missing` for the samples of a transcribed corpus without a transcript: an error
    where the sample has no word list either (its text is lost), a warning where it has one
    (`extra.words`, when `samples` has an `extra` column): a label segment lying in a pause has an
    empty word list, and `mmdata segment` gives it no transcript, as nothing was said in it; its
    word-level tables have no row there either. Vectorized: one regex pass over the `extra` of the
    samples without a transcript only."""
    empty = pc.fill_null(pc.and_(transcribed, pc.fill_null(is_blank(samples.column("transcript")), True)), False)
    if "extra" not in samples.column_names or not pc.any(empty).as_py():
        return _missing(samples, empty, "transcript-missing", "transcript",
                        "the corpus gives every segment a transcript; check the transcript files", max_examples)
    missing = np.asarray(empty.to_numpy(zero_copy_only=False), bool)
    worded = _has_word_list(samples.column("extra"), missing)
    issues = _missing(samples, pa.array(missing & ~worded), "transcript-missing", "transcript",
                      "and no word list (`extra.words`) either; the corpus gives every segment a transcript: check "
                      "the transcript files (or segments.csv's text column and words.csv)", max_examples)
    issues += _missing(samples, pa.array(missing & worded), "transcript-missing", "transcript",
                       "they carry a word list (`extra.words`): empty for a label segment lying in a pause, which has no "
                       "text feature (expected between utterances); a list of words without a transcript: extract "
                       "the corpus again, which builds it from the words", max_examples, severity="warning")
    return issues


def _has_word_list(extra: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> np.ndarray:
    """Per sample, whether its `extra` JSON holds a `words` list; only the `rows` asked about are
    searched (the samples without a transcript: few, and their `extra` is short), the others False."""
    found = np.zeros(len(rows), bool)
    where = np.flatnonzero(rows)
    if len(where):
        matched = pc.fill_null(pc.match_substring_regex(extra.take(pa.array(where)), _WORDS_LIST), False)
        found[where] = np.asarray(matched.to_numpy(zero_copy_only=False), bool)
    return found


def _has_text(captions: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Per sample: at least one caption that is not blank (`BLANK_TEXT`: whitespace, control and
    zero-width characters only)."""
    captions = captions.combine_chunks() if isinstance(captions, pa.ChunkedArray) else captions
    flat = pc.list_flatten(captions)
    owner = pc.list_parent_indices(captions).to_numpy()
    written = pc.fill_null(pc.invert(is_blank(flat)), False)
    return np.bincount(owner[written.to_numpy(zero_copy_only=False)], minlength=len(captions)) > 0


def check_labels(samples: pa.Table, label_range: tuple[float, float] | None, *, max_examples: int = 5) -> list[Issue]:
    """Labels inside `label_range` (inclusive) and present on every sample when a range is known."""
    if label_range is None:
        return []
    low, high = label_range
    labels = samples.column("label").to_numpy(zero_copy_only=False).astype(np.float64)
    issues = []
    missing = np.isnan(labels)
    if missing.any():
        issues += _missing(samples, pa.array(missing), "label-missing", "label",
                           "a labelled corpus should label every sample", max_examples, severity="warning")
    with np.errstate(invalid="ignore"):
        outside = (labels < low) | (labels > high)
    if outside.any():
        first = int(np.argmax(outside))
        ids = samples.column("sample_id").filter(pa.array(outside))
        issues.append(make_issue(
            "label-range", "error",
            f"label {labels[first]:g} is outside [{low:g}, {high:g}]; check the label file, the corpus "
            "option `dataset` given to `mmdata extract`, or pass the right range (--label-range LOW,HIGH)",
            offenders=ids.to_pylist()[:max_examples], count=len(ids), max_examples=max_examples,
        ))
    return issues


def _missing(samples: pa.Table, mask: Any, code: str, what: str, hint: str, max_examples: int,
             severity: Severity = "error") -> list[Issue]:
    ids = samples.column("sample_id").filter(mask)
    if len(ids) == 0:
        return []
    return [make_issue(
        code, severity, f"samples have no {what}; {hint}",
        offenders=ids.to_pylist()[:max_examples], count=len(ids), max_examples=max_examples,
    )]


def parse_label_range(text: str) -> tuple[float, float]:
    """`"-3,3"` -> (-3.0, 3.0).

    Raises:
        ConfigError: not two comma-separated numbers with low <= high.
    """
    from mmdata.errors import ConfigError

    parts = [p.strip() for p in text.split(",")]
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--label-range: expected LOW,HIGH (e.g. -3,3), got {text!r}") from None
    if math.isnan(low) or math.isnan(high):  # every comparison with NaN is false: the check would pass anything
        raise ConfigError(f"--label-range: expected two numbers LOW,HIGH (e.g. -3,3), got {text!r}")
    if low > high:
        raise ConfigError(f"--label-range: low {low:g} is above high {high:g} in {text!r}")
    return low, high
