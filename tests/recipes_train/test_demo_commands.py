"""The demo corpora and `mmdata train demo` as a new user meets them: settings, missing tools, reruns, docs."""
from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.demo_corpora import shapes_demo
from mmdata.demo_corpora.mosi_demo import MosiDemoConfig, write_mosi_demo
from mmdata.demo_corpora.shapes_demo import COLORS, POSITIONS, SHAPES, SIZES, TEMPLATES, ShapesDemoConfig
from mmdata.errors import ConfigError, MediaError
from mmdata.models.demo import RetrievalDemo, run_retrieval_demo
from mmdata.models.retrieval_recipe import RetrievalRecipeConfig
from mmdata.models.trainer import TrainConfig

REPO = Path(__file__).resolve().parents[2]
TINY_RETRIEVAL = RetrievalDemo(
    corpus=ShapesDemoConfig(num_train=12, num_val=4, captions_per_image=2, seed=4),
    extractors=("color-hist:bins=4", "hashed-bow:dim=32,level=caption"),
    recipe=RetrievalRecipeConfig(models=("mse",), train=TrainConfig(epochs=1, batch_size=8, patience=0)),
    num_workers=0,
)


@pytest.mark.parametrize(("setting", "field"), [
    ({"fps": 0}, "fps"),
    ({"width": 8}, "width and height"),
    ({"height": 4}, "width and height"),
    ({"label_noise": -0.1}, "label_noise"),
    ({"label_noise": float("nan")}, "label_noise"),
])
def test_mosi_demo_refuses_settings_that_would_write_a_wrong_corpus(setting, field):
    # fps=0 wrote a one-frame 1/24 s video beside seconds of speech; a negative noise failed inside numpy
    with pytest.raises(ConfigError, match=f"^{field} "):
        MosiDemoConfig(**setting)


def test_without_espeak_ng_the_demo_says_how_to_run_without_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(MediaError) as raised:
        write_mosi_demo(tmp_path / "corpus", MosiDemoConfig(num_videos=3, segments_per_video=1))
    message = str(raised.value)
    assert message.startswith("espeak-ng is not installed")
    assert "apt-get install espeak-ng" in message and "MosiDemoConfig(audio='tones')" in message
    assert "mmdata train demo --task retrieval" in message


def test_train_demo_cli_without_espeak_ng_is_a_one_line_error_with_the_way_out(tmp_path):
    result = CliRunner().invoke(app, ["train", "demo", str(tmp_path / "work"), "--task", "sentiment"],
                                env={"PATH": str(tmp_path / "empty-bin")})
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: espeak-ng is not installed")
    assert "--task retrieval" in lines[0]


def test_a_demo_whose_settings_record_is_unreadable_starts_afresh(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "demo.json").write_text('{"task": "retr')  # a run killed while it wrote the record
    (work / "corpus").mkdir()
    (work / "corpus" / "stale.txt").write_text("from an earlier run")
    report = run_retrieval_demo(work, TINY_RETRIEVAL)
    assert [row.model for row in report.rows][-1] == "mse"
    assert json.loads((work / "demo.json").read_text())["task"] == "retrieval"
    assert not (work / "corpus" / "stale.txt").exists()


def _caption_pattern() -> re.Pattern:
    """Every caption the shapes corpus can write, as one regular expression."""
    def alternatives(words) -> str:
        return "(?:" + "|".join(re.escape(w) for w in words) + ")"

    slots = {"size": alternatives(w for ws in SIZES.values() for w in ws),
             "color": alternatives(w for _, ws in COLORS.values() for w in ws),
             "shape": alternatives(w for ws in SHAPES.values() for w in ws),
             "position": alternatives(w for _, ws in POSITIONS.values() for w in ws)}
    templates = [re.escape(t).replace(r"\{", "{").replace(r"\}", "}").format(**slots) for t in TEMPLATES]
    return re.compile("(?:" + "|".join(templates) + ")")


def _written_as(caption: str) -> str:
    return re.sub(r"(^|\s)an ([aeiou])", r"\1a \2", caption)  # the corpus turns "a amber" into "an amber"


@pytest.mark.parametrize("example", ["a big crimson disc in the upper left corner", "a large red circle in the top left"])
def test_the_shapes_captions_quoted_in_the_docs_are_ones_the_corpus_writes(example):
    docs = " ".join((REPO / "docs" / "training.md").read_text().split()) + " ".join(shapes_demo.__doc__.split())
    assert f'"{example}"' in docs
    assert _caption_pattern().fullmatch(_written_as(example))


def test_the_caption_pattern_matches_what_the_corpus_writes(tmp_path):
    info = shapes_demo.write_shapes_demo(tmp_path, ShapesDemoConfig(num_train=6, num_val=2, captions_per_image=7))
    captions = list(itertools.chain.from_iterable(image.captions for image in info.images))
    assert len(captions) == 56 and all(_caption_pattern().fullmatch(_written_as(c)) for c in captions)


def test_train_demo_audio_tones_reaches_the_sentiment_corpus(tmp_path, monkeypatch):
    """`--audio tones` is the way to run the sentiment demo without espeak-ng: it must reach the corpus settings."""
    import mmdata.models.demo as demo_module

    seen = []
    monkeypatch.setattr(demo_module, "run_sentiment_demo", lambda work, demo: seen.append(demo.corpus.audio) or None)
    result = CliRunner().invoke(app, ["train", "demo", str(tmp_path / "work"), "--task", "sentiment", "--audio", "tones"])
    assert seen == ["tones"], result.output
    refused = CliRunner().invoke(app, ["train", "demo", str(tmp_path / "work"), "--audio", "hum"])
    assert refused.exit_code == 2 and "hum" in refused.output
