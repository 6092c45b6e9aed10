"""wav2vec2/HuBERT/WavLM features equal torchaudio's own models on the same waveform: the layer asked
for, pooled or not, deterministic under a seed, with the waveform normalization each bundle expects;
weights come from a file, the torch hub cache or a seed, never from the network."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from mmdata.errors import ConfigError, MissingWeightsError
from mmdata.features import available_extractors, create_extractor, get_extractor_class
from mmdata.features.speech_models import SpeechModel
from tests.speech_ssl.conftest import reference_layers, row

SPEECH_MODELS = sorted(n for n in available_extractors("audio") if issubclass(get_extractor_class(n), SpeechModel))


def _builder(name: str):
    import torchaudio

    return getattr(torchaudio.models, name)


@pytest.mark.parametrize("name", SPEECH_MODELS)
def test_each_model_takes_dim_layers_and_normalization_from_its_bundle(name):
    from torchaudio import pipelines

    extractor = create_extractor(name)
    bundle = getattr(pipelines, extractor.bundle)
    assert bundle.sample_rate == 16000
    assert extractor.dim == bundle._params["encoder_embed_dim"] == extractor.output_spec().dim
    assert extractor.config.layer == extractor.config.num_layers == bundle._params["encoder_num_layers"]
    assert extractor.normalize_waveform == bundle._normalize_waveform
    assert [c[1:] for c in bundle._params["extractor_conv_layer_config"]] == [(10, 5)] + [(3, 2)] * 4 + [(2, 2)] * 2
    assert extractor.weights_source().path.name == bundle._path  # the file bundle.get_model() caches
    assert extractor.table_name == f"audio.{name}"


def test_the_base_models_on_speech_equal_torchaudios_last_layer(audio):
    cases = [("wav2vec2-base", "wav2vec2_base"), ("hubert-base", "hubert_base"), ("wavlm-base-plus", "wavlm_base")]
    for name, builder in cases:
        extractor = create_extractor(f"{name}:weights=random,seed=1")
        assert not extractor.normalize_waveform  # the base bundles take the waveform as it is
        (frames, _), = extractor.compute([extractor.decode(row("s", "speech.wav"), audio.root)])
        expected = reference_layers(_builder(builder), 1, audio.speech)[-1]
        assert frames.shape == expected.shape and frames.shape[1] == 768
        np.testing.assert_allclose(frames, expected, atol=1e-5, err_msg=name)


def test_a_middle_layer_and_the_mean_pool(audio):
    layer6 = create_extractor("hubert-base:weights=random,seed=2,layer=6")
    mean = create_extractor("hubert-base:weights=random,seed=2,layer=6,pool=mean")
    assert (layer6.table_name, mean.table_name) == ("audio.hubert-base-layer6", "audio.hubert-base-layer6-mean")
    assert mean.output_spec().kind == "pooled" and mean.output_spec().dim == 768
    segment = layer6.decode(row("s", "speech.wav"), audio.root)
    (frames, _), = layer6.compute([segment])
    pooled, = mean.compute([segment])
    expected = reference_layers(_builder("hubert_base"), 2, audio.speech)
    np.testing.assert_allclose(frames, expected[5], atol=1e-5)
    assert not np.allclose(frames, expected[11], atol=1e-2)
    assert pooled.shape == (768,) and pooled.dtype == np.float32
    np.testing.assert_allclose(pooled, frames.mean(axis=0), atol=1e-6)


def test_the_large_lv60k_model_layer_normalizes_its_input_as_its_bundle_does(audio):
    extractor = create_extractor("wav2vec2-large-lv60k:weights=random,seed=3,layer=2")
    assert extractor.normalize_waveform and extractor.dim == 1024
    wave = audio.speech[:8000]
    frames = extractor.layer_frames(wave)
    expected = reference_layers(_builder("wav2vec2_large_lv60k"), 3, wave, normalize=True)[1]
    np.testing.assert_allclose(frames, expected, atol=1e-4)
    unnormalized = reference_layers(_builder("wav2vec2_large_lv60k"), 3, wave)[1]
    assert not np.allclose(frames, unnormalized, atol=1e-2)


def test_random_weights_are_deterministic_under_their_seed(audio):
    segment = create_extractor("wav2vec2-base:weights=random").decode(row("t", "tone.wav"), audio.root)
    runs = [create_extractor(f"wav2vec2-base:weights=random,seed={seed},pool=mean").compute([segment])[0]
            for seed in (7, 7, 8)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2])


def test_weights_from_a_file_and_from_the_hub_cache_with_their_fingerprint(audio, tmp_path, monkeypatch):
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(4)
        state = _builder("wav2vec2_base")().state_dict()
    file = tmp_path / "mine.pth"
    torch.save(state, file)
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    # A fine-tuned bundle's file: the state dict plus its ASR head, which the features do not use.
    torch.save({**state, "aux.weight": torch.zeros(29, 768), "aux.bias": torch.zeros(29)},
               hub / "checkpoints" / "wav2vec2_fairseq_base_ls960_asr_ls960.pth")
    monkeypatch.setattr(torch.hub, "_hub_dir", str(hub))
    expected = reference_layers(_builder("wav2vec2_base"), 4, audio.speech)[-1]
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    for spec, recorded in [(f"wav2vec2-base:weights={file},seed=99", {"kind": "file", "bundle": None, "file": "mine.pth",
                                                                         "sha256": digest}),
                           ("wav2vec2-base:weights=WAV2VEC2_ASR_BASE_960H", {"kind": "hub",
                                                                            "bundle": "WAV2VEC2_ASR_BASE_960H"})]:
        extractor = create_extractor(spec)
        extractor.check_ready()
        provenance = extractor.provenance()
        assert recorded.items() <= provenance["weights"].items() and len(provenance["weights"]["sha256"]) == 64
        assert "seed" not in provenance["config"]  # the file's weights replace what a seed initialises
        (frames, _), = extractor.compute([extractor.decode(row("s", "speech.wav"), audio.root)])
        np.testing.assert_allclose(frames, expected, atol=1e-5, err_msg=spec)


def test_missing_weights_are_never_downloaded(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    extractor = create_extractor("hubert-base")
    cached = tmp_path / "hub" / "checkpoints" / "hubert_fairseq_base_ls960.pth"
    with pytest.raises(MissingWeightsError, match=rf"extractor 'hubert-base': weights HUBERT_BASE not found at "
                                                  rf"{cached}; mmdata never downloads.*HUBERT_BASE.get_model\(\).*"
                                                  r"weights=random for untrained features"):
        extractor.check_ready()
    with pytest.raises(MissingWeightsError, match="never downloads"):
        extractor.load_model()
    assert extractor.provenance()["weights"]["sha256"] is None


@pytest.mark.parametrize("spec, message", [
    ("wav2vec2-base:weights=HUBERT_BASE", r"unknown weights 'HUBERT_BASE' \(a torchaudio bundle of another model\); "
                                          r"expected one of \['WAV2VEC2_BASE', 'WAV2VEC2_ASR_BASE_100H'"),
    ("wav2vec2-base:weights=base", r"unknown weights 'base'; expected one of \['WAV2VEC2_BASE'"),
])
def test_weights_of_another_model_are_refused(spec, message):
    with pytest.raises(ConfigError, match=message):
        create_extractor(spec).check_ready()


@pytest.mark.parametrize("spec, message", [
    ("wav2vec2-base:layer=13", r"layer must be 1..12 \(the transformer layer whose output is written; 12 = the last\), "
                               "got 13"),
    ("hubert-large:layer=0", r"layer must be 1..24 .*got 0"),
    ("hubert-base:pool=max", r"'max' is not one of \['none', 'mean'\]"),
    ("hubert-base:max_seconds=0.01", r"max_seconds must be at least one frame's receptive field \(0.025 s\), got 0.01"),
    ("hubert-base:device=gpu", r"device must be 'cpu', 'auto', 'cuda', 'cuda:N' or 'mps', got 'gpu'"),
])
def test_option_values_are_checked_before_anything_runs(spec, message):
    with pytest.raises(ConfigError, match=message):
        create_extractor(spec)
