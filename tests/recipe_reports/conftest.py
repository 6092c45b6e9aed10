"""A tiny fused sentiment export, made once, for the report tests; small models on one thread."""
from __future__ import annotations

import pytest

from mmdata.demo_corpora.mosi_demo import MosiDemoConfig
from mmdata.models.demo import SentimentDemo, run_sentiment_demo
from mmdata.models.sentiment_recipe import SentimentRecipeConfig
from mmdata.models.trainer import TrainConfig, limit_threads

FAST = TrainConfig(epochs=3, batch_size=16, patience=0)
TINY_SENTIMENT = SentimentDemo(
    corpus=MosiDemoConfig(num_videos=6, segments_per_video=4, audio="tones", seed=3),
    extractors=("hashed-bow:dim=64", "egemaps:level=functionals",
                "video-frames:image_extractor=color-hist,image_options=bins=4,pool=mean,fps=1"),
    recipe=SentimentRecipeConfig(models=("early",), train=FAST),
    num_workers=0,
)


@pytest.fixture(autouse=True)
def one_thread():
    with limit_threads(1):
        yield


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory):
    """The fused export folder of a tiny sentiment demo (tones audio: no espeak-ng needed)."""
    work = tmp_path_factory.mktemp("tiny-sentiment")
    run_sentiment_demo(work, TINY_SENTIMENT)
    return work / "fused"
