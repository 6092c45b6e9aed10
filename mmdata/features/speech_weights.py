"""Weights of the speech models (`mmdata.features.speech_models`), found without any download.

A `torchaudio.pipelines` bundle's weights are read from the file `bundle.get_model()` leaves in the
torch hub cache (`torch.hub.get_dir()/checkpoints/<basename of bundle._path>`); a state-dict file is
read where it is; `random` is torchaudio's initialisation under a seed. The architecture is built
with `torchaudio.models.wav2vec2_model` / `wavlm_model` from the bundle's parameters.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mmdata.errors import ConfigError, MissingWeightsError
from mmdata.features.image_models import RANDOM_WEIGHTS, STATE_DICT_SUFFIXES
from mmdata.features.text_models import file_sha256

#: Where torchaudio's bundles download their weights from (`bundle.get_model()`).
BUNDLE_URL = "https://download.pytorch.org/torchaudio/models/{}"


@dataclass(frozen=True)
class WeightsSource:
    """Where a model's parameters come from (resolved without loading anything)."""

    kind: Literal["random", "hub", "file"]
    path: Path | None = None
    bundle: str | None = None  # the torchaudio.pipelines bundle, for kind='hub'

    def record(self) -> dict[str, Any]:
        """What a table's provenance records: kind, bundle, file name and the file's SHA-256."""
        return {"kind": self.kind, "bundle": self.bundle, "file": self.path.name if self.path else None,
                "sha256": file_fingerprint(self.path) if self.path else None}


def resolve_weights(extractor: str, weights: str, bundle: str) -> WeightsSource:
    """Resolve `weights` for a model of `bundle`'s architecture (nothing is read).

    Raises:
        ConfigError: `weights` is a bundle of another architecture or family, or neither a bundle
            name, 'random' nor a file path.
    """
    weights = weights.strip()
    if weights == RANDOM_WEIGHTS:
        return WeightsSource("random")
    name = weights.removeprefix("torchaudio.pipelines.")
    if name in compatible_bundles(bundle):
        import torch

        path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(_bundle(name)._path)
        return WeightsSource("hub", path=path, bundle=name)
    path = Path(weights).expanduser()
    if path.suffix in STATE_DICT_SUFFIXES or os.sep in weights or "/" in weights or path.exists():
        return WeightsSource("file", path=Path(os.path.abspath(path)))
    other = " (a torchaudio bundle of another model)" if _is_bundle(name) else ""
    raise ConfigError(
        f"extractor {extractor!r}: unknown weights {weights!r}{other}; expected one of {compatible_bundles(bundle)} "
        f"(read from the torch hub cache), a state-dict file path, or {RANDOM_WEIGHTS!r}")


def missing_weights_message(extractor: str, source: WeightsSource, bundle: str) -> str:
    if source.kind == "hub":
        url = BUNDLE_URL.format(_bundle(source.bundle)._path)
        return (
            f"extractor {extractor!r}: weights {source.bundle} not found at {source.path}; mmdata never downloads. "
            f"Fetch them once with `python -c \"import torchaudio; torchaudio.pipelines.{source.bundle}.get_model()\"` "
            f"or `curl -L --create-dirs -o {source.path} {url}`, "
            f"or pass weights=/path/to/state_dict.pth (or weights={RANDOM_WEIGHTS} for untrained features)")
    return (f"extractor {extractor!r}: weights file not found: {source.path}; expected a state-dict file, one of "
            f"{compatible_bundles(bundle)} (from the torch hub cache), or {RANDOM_WEIGHTS!r}")


def read_state_dict(extractor: str, source: WeightsSource, bundle: str) -> dict[str, Any]:
    """The state dict of a hub-cache or given file, unwrapped from DataParallel's `module.` and the
    normalizing wrapper's `model.` prefixes.

    Raises:
        MissingWeightsError: no such file (the message says how to supply it).
        ConfigError: the file is not a state dict torch can read.
    """
    assert source.path is not None
    if not source.path.is_file():
        raise MissingWeightsError(missing_weights_message(extractor, source, bundle))
    import torch

    try:
        state = torch.load(source.path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - pickle/zip errors of all kinds
        raise ConfigError(
            f"extractor {extractor!r}: cannot read weights file {source.path} ({type(e).__name__}: {e}); "
            "expected a state dict saved with torch.save(model.state_dict(), path)") from e
    if not isinstance(state, dict):
        raise ConfigError(f"extractor {extractor!r}: {source.path} holds a {type(state).__name__}, expected a state dict")
    for prefix in ("module.", "model."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k.removeprefix(prefix): v for k, v in state.items()}
    return state


def load_weights(extractor: str, model: Any, state: dict[str, Any], source: WeightsSource, bundle: str) -> None:
    """Load `state` into `model`, but for a fine-tuned (ASR) checkpoint's output head (`aux.*`).

    Raises:
        ConfigError: the state dict does not fit the architecture (naming keys or the shape mismatch).
    """
    state = {k: v for k, v in state.items() if not k.startswith("aux.")}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise ConfigError(f"extractor {extractor!r}: weights {source.path} do not fit {bundle}: {e}") from e
    if missing or unexpected:
        raise ConfigError(
            f"extractor {extractor!r}: weights {source.path} do not fit {bundle}: missing keys {missing[:5]}, "
            f"unexpected keys {unexpected[:5]}; expected a torchaudio Wav2Vec2Model state dict (convert fairseq or "
            "Hugging Face checkpoints with torchaudio.models.wav2vec2.utils.import_fairseq_model / "
            "import_huggingface_model)")


def build_architecture(bundle: str) -> Any:
    """An untrained torchaudio model of `bundle`'s architecture, without an ASR head (torch's global
    generator initialises it)."""
    from torchaudio.models import wav2vec2_model, wavlm_model

    model_type, params = _architecture(bundle)
    builder = {"Wav2Vec2": wav2vec2_model, "WavLM": wavlm_model}[model_type]
    return builder(**params)


def normalizes_waveform(bundle: str) -> bool:
    """Whether `bundle.get_model()` layer-normalizes each waveform first (`bundle._normalize_waveform`)."""
    return bool(_bundle(bundle)._normalize_waveform)


@functools.cache
def compatible_bundles(bundle: str) -> list[str]:
    """`bundle` and the other torchaudio.pipelines bundles of its family and architecture whose weights
    it can load: pretrained and fine-tuned (their ASR head is dropped)."""
    from torchaudio import pipelines

    # Same family too: HuBERT base weights fit wav2vec2-base's modules, but its table would be misnamed.
    family = bundle.partition("_")[0] + "_"
    same = [n for n in dir(pipelines)
            if n != bundle and n.startswith(family) and _is_bundle(n) and _shape(n) == _shape(bundle)]
    return [bundle, *sorted(same)]


def file_fingerprint(path: Path) -> str | None:
    """The SHA-256 of `path` (`text_models.file_sha256`: hashed once per process while the file stays
    as it is), or None when there is no such file."""
    try:
        return file_sha256(path)
    except FileNotFoundError:
        return None


def _bundle(name: str) -> Any:
    from torchaudio import pipelines

    return getattr(pipelines, name)


def _is_bundle(name: str) -> bool:
    from torchaudio import pipelines

    return name.isupper() and hasattr(getattr(pipelines, name, None), "_params")


def _architecture(name: str) -> tuple[str, dict[str, Any]]:
    """(model type, builder parameters without the ASR head) of a bundle."""
    bundle = _bundle(name)
    return bundle._model_type, {**bundle._params, "aux_num_out": None}


def _shape(name: str) -> tuple[Any, ...]:
    """What makes two bundles' weights interchangeable: model type, the builder parameters but for
    dropout rates (training only) and the ASR head, and the waveform normalization."""
    model_type, params = _architecture(name)
    kept = sorted((k, repr(v)) for k, v in params.items() if "drop" not in k)
    return model_type, tuple(kept), normalizes_waveform(name)
