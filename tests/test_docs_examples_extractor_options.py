"""docs/extractors.md names every option of every extractor mmdata ships, in that extractor's own section: an
option a user can give (`NAME:KEY=VALUE`) is never one only the code knows of."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from mmdata.features.base import available_extractors, get_extractor_class

REPO = Path(__file__).resolve().parent.parent
DOC = (REPO / "docs" / "extractors.md").read_text(encoding="utf-8")
SPEECH_MODELS = ("wav2vec2-base", "hubert-base", "wavlm-base-plus", "wav2vec2-large-lv60k", "wav2vec2-xlsr53",
                 "hubert-large")
# The heading of the section that documents each extractor's options (the section runs to the next heading).
SECTIONS = {
    "color-hist": "### `color-hist`, `pixel-stats`",
    "pixel-stats": "### `color-hist`, `pixel-stats`",
    **dict.fromkeys(("resnet18", "resnet50", "vit-b-16"), "### `resnet18`, `resnet50`, `vit-b-16`"),
    "clip": "## CLIP",
    "clip-text": "## CLIP",
    "minilm": "### `minilm`",
    "tokens": "### `tokens`",
    "hashed-bow": "### `hashed-bow`",
    "word-embeddings": "### `word-embeddings`",
    "event-targets": "### `event-targets`",
    "frame-grid": "### `frame-grid`",
    **dict.fromkeys(("librosa-logmel", "librosa-mfcc", "torchaudio-logmel", "torchaudio-mfcc"),
                    "### `librosa-logmel`, `librosa-mfcc`, `torchaudio-logmel`, `torchaudio-mfcc`"),
    "kaldi-fbank": "### `kaldi-fbank`",
    "prosody": "### `prosody`",
    "egemaps": "### `egemaps`",
    **dict.fromkeys(SPEECH_MODELS, "## Speech models"),
    "video-frames": "## Video",
    **dict.fromkeys(("r3d-18", "mc3-18", "r2plus1d-18", "s3d"), "## Video clip models"),
}
BUILTIN = [name for name in available_extractors() if get_extractor_class(name).__module__.startswith("mmdata.")]


def section(heading: str) -> str:
    """The text under `heading` in docs/extractors.md, up to the next heading of any level; for a `###`
    heading, with the text its `##` section opens with (what a family of extractors shares, said once)."""
    found = re.search(rf"^{re.escape(heading)}\n(.*?)(?=^#+ |\Z)", DOC, flags=re.MULTILINE | re.DOTALL)
    assert found, f"docs/extractors.md has no heading {heading!r}"
    if not heading.startswith("### "):
        return found.group(1)
    parent = list(re.finditer(r"^## [^\n]*\n(.*?)(?=^#+ |\Z)", DOC[:found.start()], flags=re.MULTILINE | re.DOTALL))[-1]
    return parent.group(1) + found.group(1)


def names_option(text: str, option: str) -> bool:
    """Whether `text` names `option` in code: `option`, `option=VALUE`, or after `:` `,` `;` in a spec."""
    pattern = re.compile(rf"(?:^|[:,;]){re.escape(option)}(?:=|$)")
    return any(pattern.search(span) for span in re.findall(r"`([^`\n]+)`", text))


def options(name: str) -> list[str]:
    return [f.name for f in dataclasses.fields(get_extractor_class(name).config_type)]


def test_every_extractor_mmdata_ships_has_a_section():
    assert sorted(BUILTIN) == sorted(SECTIONS)


@pytest.mark.parametrize("name", BUILTIN)
def test_every_option_is_named_in_its_extractors_section(name):
    text = section(SECTIONS[name])
    assert f"`{name}`" in text or name in SECTIONS[name] or name in SPEECH_MODELS, (name, "not named in its section")
    missing = [option for option in options(name) if not names_option(text, option)]
    assert not missing, f"{name}: options {missing} are not named under {SECTIONS[name]!r} in docs/extractors.md"


def test_word_embeddings_options_are_those_the_docs_describe():
    assert options("word-embeddings") == ["method", "model", "dim", "pauses", "encode_batch_size", "device"]
