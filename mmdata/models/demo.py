"""The recipes end to end on the demo corpora: generate -> `extract` -> (`fuse`) -> train -> metrics JSON.

    report = run_sentiment_demo("out/demo-sentiment")     # MOSI-style corpus, fused export, 5 model families
    report = run_retrieval_demo("out/demo-retrieval")     # shapes corpus, image + caption tables, 3 aligners

Work directory layout: `corpus/` (the generated raw corpus), `dataset/` (`mmdata extract` output),
`fused/` (sentiment only: `mmdata fuse` output), `<task>-metrics.json`, `demo.json` (the settings). A
rerun with the same corpus settings and extractors reuses the corpus and the finished feature shards;
other ones start the work directory afresh.
"""
from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmdata.demo_corpora.mosi_demo import MosiDemoConfig, write_mosi_demo
from mmdata.demo_corpora.shapes_demo import ShapesDemoConfig, write_shapes_demo
from mmdata.errors import ConfigError
from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, RetrievalReport, run_retrieval_recipe
from mmdata.models.sentiment_recipe import SentimentRecipeConfig, SentimentReport, run_sentiment_recipe
from mmdata.store.files import write_text_atomic

log = logging.getLogger(__name__)

#: Extractors of the sentiment demo: sentence embedding, eGeMAPS functionals (pitch is the audio cue),
#: colour histogram of frames sampled at 2 fps and averaged (colour is the visual cue).
SENTIMENT_EXTRACTORS: tuple[str, ...] = (
    "minilm", "egemaps:level=functionals", "video-frames:image_extractor=color-hist,pool=mean,fps=2",
)
#: Extractors of the retrieval demo: weight-free image features, one MiniLM vector per caption.
RETRIEVAL_EXTRACTORS: tuple[str, ...] = ("color-hist", "pixel-stats", "minilm:level=caption")


@dataclass(frozen=True)
class SentimentDemo:
    """Settings of the sentiment demo run."""

    corpus: MosiDemoConfig = field(default_factory=MosiDemoConfig)
    extractors: tuple[str, ...] = SENTIMENT_EXTRACTORS
    recipe: SentimentRecipeConfig = field(default_factory=SentimentRecipeConfig)
    num_workers: int = 1


@dataclass(frozen=True)
class RetrievalDemo:
    """Settings of the retrieval demo run."""

    corpus: ShapesDemoConfig = field(default_factory=ShapesDemoConfig)
    extractors: tuple[str, ...] = RETRIEVAL_EXTRACTORS
    recipe: RetrievalRecipeConfig = field(default_factory=RetrievalRecipeConfig)
    num_workers: int = 1


def run_sentiment_demo(work_dir: str | Path, demo: SentimentDemo | None = None) -> SentimentReport:
    """Generate the MOSI-style demo corpus, extract, fuse (arrow, train-only z-score) and run the sentiment recipe."""
    from mmdata.fusion import fuse
    from mmdata.pipeline import extract

    demo = demo or SentimentDemo()
    work = _prepare(Path(work_dir), "sentiment", demo)
    if not (work / "corpus" / "folds.json").is_file():
        write_mosi_demo(work / "corpus", demo.corpus)
    extract("mosi-raw", work / "corpus", work / "dataset", extractors=list(demo.extractors),
            num_workers=demo.num_workers, on_error="fail")
    fuse(work / "dataset", work / "fused", tables=("text", "audio", "video"), format="arrow", overwrite=True)
    return run_sentiment_recipe(work / "fused", work / "sentiment-metrics.json", demo.recipe)


def run_retrieval_demo(work_dir: str | Path, demo: RetrievalDemo | None = None) -> RetrievalReport:
    """Generate the shapes corpus, extract image and caption tables and run the retrieval recipe."""
    from mmdata.pipeline import extract

    demo = demo or RetrievalDemo()
    work = _prepare(Path(work_dir), "retrieval", demo)
    if not (work / "corpus" / "attributes.csv").is_file():
        write_shapes_demo(work / "corpus", demo.corpus)
    extract("coco", work / "corpus", work / "dataset", extractors=list(demo.extractors),
            num_workers=demo.num_workers, on_error="fail")
    return run_retrieval_recipe(work / "dataset", work / "retrieval-metrics.json", demo.recipe)


def _prepare(work: Path, task: str, demo: Any) -> Path:
    """Create the work directory; wipe what an earlier run with another corpus or extractors left there."""
    settings = json.loads(json.dumps({"task": task, "corpus": asdict(demo.corpus), "extractors": list(demo.extractors)}))
    marker = work / "demo.json"
    if marker.is_file() and _recorded_settings(marker) != settings:
        log.info("demo settings changed (or their record %s is unreadable): starting %s afresh", marker, work)
        for name in ("corpus", "dataset", "fused"):
            shutil.rmtree(work / name, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    write_text_atomic(marker, json.dumps(settings, indent=1) + "\n")
    return work


def _recorded_settings(marker: Path) -> Any:
    """The settings an earlier run recorded; None when the record is unreadable (a run killed as it wrote it)."""
    try:
        return json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_demos(work_dir: str | Path, task: str = "all", *, num_workers: int = 1,
              audio: str = "speech") -> Iterator[tuple[str, Any, Path]]:
    """Run the sentiment and/or retrieval demo under `work_dir/<task>`; yields (task, report, metrics path).

    `audio` is the sentiment corpus's audio: 'speech' (espeak-ng) or 'tones' (hummed, no espeak-ng needed).

    Raises:
        ConfigError: `task` is not 'sentiment', 'retrieval' or 'all', or `audio` not 'speech' or 'tones'.
    """
    if task not in ("sentiment", "retrieval", "all"):
        raise ConfigError(f"demo task must be 'sentiment', 'retrieval' or 'all', got {task!r}")
    work = Path(work_dir)
    if task in ("sentiment", "all"):
        demo = SentimentDemo(corpus=MosiDemoConfig(audio=audio), num_workers=num_workers)  # type: ignore[arg-type]
        report = run_sentiment_demo(work / "sentiment", demo)
        yield "sentiment", report, work / "sentiment" / "sentiment-metrics.json"
    if task in ("retrieval", "all"):
        report = run_retrieval_demo(work / "retrieval", RetrievalDemo(num_workers=num_workers))
        yield "retrieval", report, work / "retrieval" / "retrieval-metrics.json"
