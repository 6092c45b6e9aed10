"""Behaviour the README and docs/ state in numbers or names, kept true by fast tests (no models are loaded)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mmdata.checks.samples import LABEL_RANGES
from mmdata.corpora.base import load_corpus
from mmdata.errors import ConfigError, MediaError
from mmdata.executors import auto_workers
from mmdata.features.audio import check_segment_overrun
from mmdata.features.base import create_extractor
from mmdata.pipeline import DEFAULT_EXTRACTORS

REPO = Path(__file__).resolve().parent.parent


def test_auto_mode_starts_one_worker_per_cpu_but_the_main_process_at_least_two_at_most_eight():
    assert auto_workers(1) == 1
    assert auto_workers(2) == 2
    assert auto_workers(4) == 3
    assert auto_workers(9) == 8
    assert auto_workers(64) == 8


def test_default_extractor_per_modality_is_the_one_the_readme_names():
    assert DEFAULT_EXTRACTORS == {
        "image": ("color-hist",), "text": ("minilm",), "audio": ("librosa-logmel",), "video": ("video-frames",),
    }


@pytest.mark.parametrize(("spec", "table"), [
    ("color-hist", "image.color-hist"),
    ("minilm", "text.minilm"),
    ("minilm:level=caption", "text.minilm.caption"),
    ("hashed-bow:level=caption", "text.hashed-bow.caption"),
    ("word-embeddings:method=hashed", "text.word-embeddings-hashed"),
    ("egemaps", "audio.egemaps-lld"),
    ("egemaps:level=functionals", "audio.egemaps-functionals"),
    ("video-frames", "video.frames-color-hist"),
    ("video-frames:image_extractor=resnet50,image_options=weights=random;device=cpu,pool=mean",
     "video.frames-resnet50-mean"),
])
def test_table_names_carry_the_suffixes_the_readme_lists(spec, table):
    assert create_extractor(spec).table_name == table


def test_extractor_dims_and_defaults_quoted_in_the_readme():
    assert create_extractor("color-hist").output_spec().dim == 3 * 16
    assert create_extractor("pixel-stats").output_spec().dim == 12
    assert create_extractor("minilm").output_spec().dim == 384
    assert create_extractor("hashed-bow").output_spec().dim == 1024
    assert create_extractor("egemaps").output_spec().dim == 25
    assert create_extractor("egemaps:level=functionals").output_spec().dim == 88
    tokens = create_extractor("tokens").output_spec()
    assert tokens.dtype == "int32" and tokens.dim is None
    assert create_extractor("video-frames").config.fps == 1.0


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "vit-b-16", "minilm", "word-embeddings"])
def test_model_extractors_default_to_the_cpu_and_accept_mps(name):
    assert create_extractor(name).config.device == "cpu"
    assert create_extractor(f"{name}:device=mps").config.device == "mps"


def test_resnet50_reads_the_hub_checkpoint_file_the_readme_names():
    source = create_extractor("resnet50").weights_source()
    assert source.kind == "hub" and source.path.name == "resnet50-11ad3fa6.pth"
    assert source.path.parent.name == "checkpoints"


def test_label_ranges_of_the_named_corpora():
    assert LABEL_RANGES["cmu-mosi"] == LABEL_RANGES["cmu-mosei"] == (-3.0, 3.0)
    assert LABEL_RANGES["ch-sims"] == (-1.0, 1.0)


def test_a_segment_may_overrun_its_media_by_a_tenth_of_its_own_length():
    row = {"sample_id": "s", "start": 10.0, "end": 20.0}
    check_segment_overrun(row, "a.wav", media_end=19.05, what="audio")  # 0.95 s short of a 10 s segment: cut
    with pytest.raises(MediaError, match="past the end"):
        check_segment_overrun(row, "a.wav", media_end=18.9, what="audio")


def test_coco_without_a_split_refuses_two_releases(tmp_path):
    annotations = tmp_path / "annotations"
    annotations.mkdir()
    for name in ("captions_val2014.json", "captions_val2017.json"):
        (annotations / name).write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(ConfigError, match="several COCO releases"):
        load_corpus("coco", tmp_path)


def test_readme_quotes_the_torch_pins_of_constraints_txt():
    pins = dict(re.findall(r"^(torch\w*)==(\S+)", (REPO / "constraints.txt").read_text(), flags=re.M))
    readme = (REPO / "README.md").read_text()
    quoted = dict(re.findall(r"`?(torch\w*)==([\w.]+)", readme.split("## Two commands")[1].split("\n## ")[0]))
    assert quoted == pins
