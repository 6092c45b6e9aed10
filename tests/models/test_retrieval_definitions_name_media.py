"""The `metric_definitions` of `mmdata train retrieval`'s JSON name the run's media as its protocol and notes do:
"video -> text" on a video-text export (MSR-VTT), "audio clip -> text" on an audio-text one (Clotho), and still
"image -> text" on an image-text one. The keys (i2t_rK, t2i_rK, zero-shot, ...) are the same whatever the media."""
from __future__ import annotations

import json
import re

from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, run_retrieval_recipe
from tests.corpora.test_msrvtt_extract_end_to_end import official  # noqa: F401  (the video-text fixture)
from tests.models.test_retrieval_names_its_media import FAST, clotho_dataset  # noqa: F401  (the audio-text fixture)


def definitions_of(dataset_root, out) -> dict:
    """The metric definitions the retrieval JSON of a one-model run on `dataset_root` holds."""
    run_retrieval_recipe(dataset_root, out, RetrievalRecipeConfig(models=("mse",), train=FAST))
    return json.loads(out.read_text())["metric_definitions"]


def says_image(definitions: dict) -> bool:
    return re.search("image", json.dumps(definitions), re.IGNORECASE) is not None


def test_a_video_text_run_defines_its_metrics_over_videos(official, shapes_dataset, tmp_path):  # noqa: F811
    _, data = official
    videos = definitions_of(data.root, tmp_path / "videos.json")
    images = definitions_of(shapes_dataset, tmp_path / "images.json")
    assert videos["keys"]["i2t_rK"].startswith("video -> text: share of test videos with any of their captions")
    assert videos["keys"]["t2i_rK"].startswith("text -> video: share of test captions whose video is among")
    assert "stored video vector" in videos["keys"]["zero-shot"]
    assert not says_image(videos), videos
    assert images["keys"]["i2t_rK"].startswith("image -> text: share of test images")
    assert set(videos["keys"]) == set(images["keys"]) and set(videos) == set(images)


def test_an_audio_text_run_defines_its_metrics_over_audio_clips(clotho_dataset, tmp_path):  # noqa: F811
    clips = definitions_of(clotho_dataset, tmp_path / "clips.json")
    assert clips["keys"]["i2t_rK"].startswith("audio clip -> text: share of test audio clips with any of their")
    assert clips["keys"]["t2i_medr"].startswith("median rank of each caption's audio clip")
    assert "stored audio vector" in clips["keys"]["zero-shot"]
    assert not says_image(clips), clips
