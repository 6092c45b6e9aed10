"""`mmdata train retrieval` names the media its run uses: on a video-text export (MSR-VTT) its protocol, notes,
failure reasons, printed report and refusals say "videos", on an audio-text export (Clotho) "audio clips", and
neither says "image"; the rows' modalities are video+text and audio+text. A model whose scores rank nothing
says it "from 2 train videos". The JSON keys and metric names keep
"image" (`image_tables`, `test_images`, i2t/t2i) whatever the media. An image-text run still says "images"."""
from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, DatasetError
from mmdata.models.retrieval_checks import media_of, untied_failure
from mmdata.models.retrieval_recipe import RetrievalRecipeConfig, run_retrieval_recipe
from mmdata.models.trainer import TrainConfig
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.corpora.test_msrvtt_extract_end_to_end import official  # noqa: F401  (the video-text fixture)
from tests.fakes.captioned_media import write_fake_clotho

FAST = TrainConfig(epochs=2, batch_size=32, patience=0)
#: Clotho folders with 3 train, 2 val and 3 test sounds; BROKEN are not WAVs, so their samples have no audio
#: vector: one scorable val sound (too few to test on) and one test sound left out.
SOUNDS = {"development": ("door slam.wav", "kettle.wav", "birds, morning chorus.wav"),
          "validation": ("Rain on café roof.wav", "Distorted AM Radio noise.wav"),
          "evaluation": ("Radio Garble.wav", "train passing.wav", "dog barking.wav")}
BROKEN = ("validation/Distorted AM Radio noise.wav", "evaluation/dog barking.wav")


def says_image(text: str) -> bool:
    return re.search("image", text, re.IGNORECASE) is not None


@pytest.fixture(scope="module")
def clotho_dataset(tmp_path_factory):
    """A Clotho export of SOUNDS: a pooled audio table (eGeMAPS functionals) and caption vectors; the BROKEN
    sounds' samples have caption vectors but no audio vector."""
    tmp = tmp_path_factory.mktemp("clotho")
    fake = write_fake_clotho(tmp / "corpus", files=SOUNDS)
    for name in BROKEN:
        (fake.root / name).write_bytes(b"not a sound")
    out = tmp / "dataset"
    extract("clotho", fake.root, out, extractors=["egemaps:level=functionals", "hashed-bow:dim=64,level=caption"],
            num_workers=0, on_error="skip")
    return out


def test_a_video_text_run_says_videos_in_its_protocol_notes_and_output(official, tmp_path):  # noqa: F811
    _, data = official
    metrics = tmp_path / "retrieval.json"
    result = CliRunner().invoke(app, ["train", "retrieval", str(data.root), "--json", str(metrics),
                                      "-m", "mse", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    info = json.loads(metrics.read_text())
    assert info["protocol"] == "2 test videos, all 6 captions"  # the missing clip is a loader error, no sample
    assert info["notes"] == [
        "only 2 test videos: t2i R@5, R@10 are 100 by construction (every caption's video is in the top K; "
        "the chance row's too)",
        "only 6 test captions: i2t and t2t R@5, R@10 are 100 by construction (a caption of the query's video is "
        "in the top K; the chance row's too)"]
    assert [row["modalities"] for row in info["results"]] == [["video", "text"], ["text"], ["video", "text"]]
    assert info["image_tables"] == ["video.frames-color-hist-mean"] and info["test_images"] == 2  # keys kept
    assert not says_image(json.dumps({k: info[k] for k in ("protocol", "notes", "zero_shot")}))
    assert "video+text" in result.output and info["notes"][0] in result.output
    assert not says_image(result.output), result.output


def test_a_model_whose_scores_rank_no_video_says_videos(official):  # noqa: F811
    _, data = official
    videos = media_of(open_dataset(data.root), ("video.frames-color-hist-mean",))
    reason = untied_failure("cca", {"i2t": 2, "t2i": 6}, 2, 6, 2, 1, videos)
    assert reason == ("model 'cca' scored every test query with a wrong item tied to the right one (2 videos, "
                      "6 captions), so its scores rank nothing; it kept 1 canonical component(s) from 2 train videos, "
                      "and cosines in so few dimensions tie; train on more videos")


def test_video_text_refusals_say_videos(official):  # noqa: F811
    _, data = official
    refusals = []
    with pytest.raises(DatasetError) as too_few:  # val holds one clip
        run_retrieval_recipe(data.root, None, RetrievalRecipeConfig(test_split="val", models=("mse",), train=FAST))
    refusals.append(str(too_few.value))
    assert "have 1 video(s) with both a video and a caption vector" in refusals[-1]
    assert "extract the failed videos again" in refusals[-1]
    with pytest.raises(ConfigError) as overlap:
        run_retrieval_recipe(data.root, None, RetrievalRecipeConfig(train_splits=("train", "test"), test_split="test",
                                                                    train=FAST))
    refusals.append(str(overlap.value))
    assert "testing on training videos would overstate the recall" in refusals[-1]
    with pytest.raises(DatasetError) as unshared:
        run_retrieval_recipe(data.root, None, RetrievalRecipeConfig(zero_shot_only=True, models=()))
    refusals.append(str(unshared.value))
    assert "needs video and caption vectors of one dual encoder checkpoint" in refusals[-1]
    assert not any(says_image(refusal) for refusal in refusals), refusals


def test_an_audio_text_run_says_audio_clips(clotho_dataset, tmp_path):
    report = run_retrieval_recipe(clotho_dataset, tmp_path / "retrieval.json",
                                  RetrievalRecipeConfig(models=("mse",), train=FAST))
    assert report.info["protocol"] == ("2 test audio clips, all 10 captions (1 of the 3 audio clips of split 'test' "
                                       "left out: no audio or caption vector)")
    assert report.info["notes"][0].startswith("only 2 test audio clips: t2i R@5, R@10 are 100 by construction "
                                              "(every caption's audio clip is in the top K")
    assert [row.modalities for row in report.rows] == [["audio", "text"], ["text"], ["audio", "text"]]
    assert report.info["image_tables"] == ["audio.egemaps-functionals"]  # the key is kept
    assert not says_image(report.text()), report.text()
    assert not says_image(json.dumps({k: report.info[k] for k in ("protocol", "notes", "zero_shot")}))


def test_audio_text_refusals_say_audio_clips(clotho_dataset):
    refusals = []
    with pytest.raises(DatasetError) as too_few:  # val holds one sound
        run_retrieval_recipe(clotho_dataset, None, RetrievalRecipeConfig(test_split="val", models=("mse",), train=FAST))
    refusals.append(str(too_few.value))
    assert "have 1 audio clip(s) with both an audio and a caption vector" in refusals[-1]
    assert "extract the failed audio clips again" in refusals[-1]
    with pytest.raises(DatasetError) as unshared:
        run_retrieval_recipe(clotho_dataset, None, RetrievalRecipeConfig(zero_shot_only=True, models=()))
    refusals.append(str(unshared.value))
    assert "needs audio and caption vectors of one dual encoder checkpoint" in refusals[-1]
    assert not any(says_image(refusal) for refusal in refusals), refusals


def test_an_image_text_run_still_says_images(shapes_dataset, tmp_path):
    report = run_retrieval_recipe(shapes_dataset, None, RetrievalRecipeConfig(models=("mse",), train=FAST))
    assert report.info["protocol"] == "12 test images, all 36 captions"
    assert [row.modalities for row in report.rows] == [["image", "text"], ["text"], ["image", "text"]]
    with pytest.raises(ConfigError, match="testing on training images would overstate the recall"):
        run_retrieval_recipe(shapes_dataset, None, RetrievalRecipeConfig(train_splits=("train2017", "val2017"),
                                                                         test_split="val2017", train=FAST))
    with pytest.raises(DatasetError, match="needs image and caption vectors of one dual encoder checkpoint: extract "
                                           "them with `--image clip"):
        run_retrieval_recipe(shapes_dataset, None, RetrievalRecipeConfig(zero_shot_only=True, models=()))
