"""docs/extractors.md's "Options that do not apply" names every option an extractor leaves out of its table's
config, for each extractor family it applies to."""
from __future__ import annotations

from pathlib import Path

import pytest

from mmdata.features.base import available_extractors, create_extractor

REPO = Path(__file__).resolve().parent.parent
SECTION = (REPO / "docs" / "extractors.md").read_text(encoding="utf-8").split(
    "\n## Options that do not apply\n", 1)[1].split("\n## ", 1)[0]
VIDEO_CLIP_MODELS = ("r3d-18", "mc3-18", "r2plus1d-18", "s3d")
#: `event-targets` needs its classes file named (the spec does not read it).
SPECS = [*(n for n in available_extractors() if n != "event-targets"), "event-targets:classes=classes.txt",
         "word-embeddings:method=hashed"]


@pytest.mark.parametrize("spec", SPECS)
def test_every_option_left_out_of_a_config_by_default_is_named_in_the_section(spec):
    for option in create_extractor(spec).inapplicable_options():
        assert f"`{option}`" in SECTION, (spec, option)


@pytest.mark.parametrize("name", VIDEO_CLIP_MODELS)
def test_video_clip_models_leave_out_seed_with_their_weights_and_max_clips_at_zero(name):
    assert create_extractor(name).inapplicable_options() == {"seed", "max_clips"}
    assert create_extractor(f"{name}:weights=random,max_clips=4").inapplicable_options() == frozenset()
    assert "a video clip model's" in SECTION and "`max_clips` at `0`" in SECTION
