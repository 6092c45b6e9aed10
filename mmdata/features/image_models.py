"""Pooled image embeddings from torchvision backbones: the penultimate layer of ResNet-18/50 and ViT-B/16.

Weights never download. `weights=` takes one of:
  - a torchvision weights name (`IMAGENET1K_V1`, `DEFAULT`, ...), read only from the local torch hub cache
    at `torch.hub.get_dir()/checkpoints/<file name of the weights' URL>`;
  - a path to a state-dict file (`.pth`/`.pt`, or `.safetensors`), with or without the classifier head;
  - `random`: torchvision's own initialisation under `seed` (tests, benchmarks).
A missing file is a `MissingWeightsError` naming the path and how to supply it.

The table's provenance records the weights (kind, file name, weights name, SHA-256 of the file) and,
for a file or the hub cache, the file's fingerprint under `versions` as "weights:<file name>" (the
first 16 hex digits, hashed once per process), so that resuming a table after the file changed (a
fine-tuned checkpoint saved under the same name, the hub-cache file replaced) is refused as one
after a library upgrade.

Preprocessing is the weights' transforms (for a file or `random`: those of the model's default ImageNet
weights): `decode` (worker processes, no torch) decodes the image (whole by default, so the model sees the
pixels torchvision's transforms give; `decode=draft` decodes large JPEGs at reduced size first), resizes
the shorter side and crops the centre, returning a crop x crop x 3 uint8 array; `compute` (main process) normalizes the
stacked batch on the device and runs the model, loaded once per process.
"""
from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlparse

import numpy as np

from mmdata.errors import ConfigError, MissingWeightsError
from mmdata.features.base import Extractor, register_extractor
from mmdata.features.image_stats import sample_image_path
from mmdata.features.text_models import file_sha256
from mmdata.media.image import open_image, resize_center_crop
from mmdata.store.metadata import FeatureSpec

log = logging.getLogger(__name__)

RANDOM_WEIGHTS = "random"
STATE_DICT_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".safetensors")
_DEVICE_RE = re.compile(r"cpu|auto|cuda(:\d+)?|mps")
#: Config fields that choose where a model runs, not what it computes: kept out of the table's
#: recorded config so that a run started on a GPU can be resumed on a CPU.
RUNTIME_OPTIONS = ("device",)


def check_device(device: str) -> None:
    """Raise ValueError unless `device` is 'cpu', 'auto', 'cuda', 'cuda:N' or 'mps'."""
    if not _DEVICE_RE.fullmatch(device):
        raise ValueError(f"device must be 'cpu', 'auto', 'cuda', 'cuda:N' or 'mps', got {device!r}")


def resolve_device(device: str) -> str:
    """The torch device for a config value: 'auto' = the current CUDA device when there is one,
    else 'cpu'. CUDA devices come back numbered ('cuda' -> 'cuda:0' when device 0 is current), so
    that models cached per device load once whichever way the device was named.

    Raises:
        ConfigError: a CUDA (or MPS) device was asked for but is not available.
    """
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    missing = device_missing_here(device)
    if missing:
        raise ConfigError(f"device {device!r} is not available: {missing}; {DEVICE_HINT}")
    if device.startswith("cuda"):
        index = device.partition(":")[2]
        return f"cuda:{int(index) if index else torch.cuda.current_device()}"
    return device


#: What to do about a device this machine does not have.
DEVICE_HINT = "use device=cpu, or device=auto (a GPU when there is one)"


def device_missing_here(device: str) -> str | None:
    """What this machine has instead of `device` ("torch sees no CUDA device (...)", "2 CUDA devices:
    cuda:0, cuda:1"), or None when it has it: 'cpu' and 'auto' always (torch is not imported for them)."""
    if not device.startswith(("cuda", "mps")):
        return None
    import torch

    if device == "mps":
        return None if torch.backends.mps.is_available() else \
            "torch sees no MPS device (torch.backends.mps.is_available() is False)"
    if not torch.cuda.is_available():
        return "torch sees no CUDA device (torch.cuda.is_available() is False)"
    found = torch.cuda.device_count()
    index = device.partition(":")[2]
    if not index or int(index) < found:
        return None
    names = ", ".join(f"cuda:{i}" for i in range(found))
    return f"{found} CUDA device{'s' if found != 1 else ''}: {names}"


def refuse_devices_missing_here(extractors: Sequence[Extractor], spec: Callable[[Extractor], str]) -> None:
    """Refuse, before a run writes anything, an extractor whose model device (`model_device`) is one this
    machine does not have (`spec(extractor)`: the extractor as the command line takes it), rather than
    failing at its first batch after the samples table is written. Only for a run on this machine:
    with Ray the GPUs may be on other nodes (`ray_stages.on_assigned_gpu`).

    Raises:
        ConfigError: naming the extractor, the device, what this machine has and the hint.
    """
    for extractor in extractors:
        device = model_device(extractor)
        missing = device_missing_here(device) if device is not None else None
        if missing:
            raise ConfigError(f"extractor {spec(extractor)!r}: device {device!r} is not available: {missing}; "
                              f"{DEVICE_HINT}")


def model_device(extractor: Extractor) -> str | None:
    """The device an extractor runs its model on: its own `device` option, else that of the extractor it
    wraps (`video-frames` runs its image extractor on every frame: `image_options=device=...`); None for
    one that runs no model. The one place the local refusal and the Ray executor (its refusal, and
    whether a model actor, on a GPU, computes) read it from, so that they cannot disagree."""
    own = getattr(extractor.config, "device", None)
    if own is not None:
        return str(own)
    inner = getattr(extractor, "image", None)
    return model_device(inner) if isinstance(inner, Extractor) else None


def provenance_without_runtime(extractor: Extractor) -> dict[str, Any]:
    """`Extractor.provenance()` with the runtime options moved from `config` to `runtime`."""
    out = Extractor.provenance(extractor)
    out["runtime"] = {k: out["config"].pop(k) for k in RUNTIME_OPTIONS if k in out["config"]}
    return out


@dataclass(frozen=True)
class Preprocessing:
    """What the weights' transforms do: resize the shorter side, crop the centre, normalize."""

    resize_size: int
    crop_size: int
    resample: str  # PIL resampling name: bilinear, bicubic, ...
    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True)
class BackboneConfig:
    #: A torchvision weights name (from the torch hub cache), a state-dict file path, or 'random'.
    weights: str = "IMAGENET1K_V1"
    #: Seed of the initialisation when weights='random' (not recorded with other weights).
    seed: int = 0
    #: 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto' (cuda when available).
    device: str = "cpu"
    #: 'full': every pixel decoded, then resized: the pixels the weights' own transforms give. 'draft':
    #: JPEGs at least twice the resize size decode at 1/2-1/8 scale first (faster on large photos;
    #: pixels differ slightly, ~1-3% of a feature's norm).
    decode: Literal["full", "draft"] = "full"

    def __post_init__(self) -> None:
        if not self.weights.strip():
            raise ValueError("weights must be a torchvision weights name, a state-dict file path or 'random'")
        check_device(self.device)


@dataclass(frozen=True)
class WeightsSource:
    """Where a backbone's parameters come from (resolved without loading anything)."""

    kind: Literal["random", "hub", "file"]
    path: Path | None = None
    name: str | None = None  # the weights enum member, for kind='hub'
    url: str | None = None

    def sha256(self) -> str | None:
        """The SHA-256 of the file these weights load (cached per process), or None: random weights,
        or no such file yet (`check_ready` and the load refuse that)."""
        if self.path is None:
            return None
        try:
            return file_sha256(self.path)
        except OSError:
            return None

    def record(self) -> dict[str, Any]:
        """What a table's provenance records: kind, file name, weights name and the file's SHA-256."""
        return {"kind": self.kind, "file": self.path.name if self.path else None, "name": self.name,
                "sha256": self.sha256()}

    def versions(self) -> dict[str, str]:
        """The file's fingerprint as a table `versions` entry, "weights:<file name>" -> the first 16 hex
        digits of its SHA-256 (none for random weights), so that a resume after the file changed is
        refused as one after a library upgrade (`refuse_mixed_versions`)."""
        digest = self.sha256()
        return {} if self.path is None or digest is None else {f"weights:{self.path.name}": digest[:16]}


def shipped_weights(source: Any) -> Any:
    """What of a resolved weights source goes to workers with the extractor: a file the caller gave
    (as an absolute path: a Ray worker runs in the directory Ray was started in, where a relative path
    names another file or none), so that workers load the file whose SHA-256 the caller recorded.
    Hub-cache weights and random init are resolved again by each process, in its own node's cache."""
    return source if source.kind == "file" else None


class TorchvisionBackbone(Extractor):
    """A torchvision classification model with its classifier replaced by the identity."""

    modality: ClassVar = "image"
    safe_decoder: ClassVar[bool] = True  # Pillow: a bad image file is an exception, not a crash
    config_type: ClassVar[type] = BackboneConfig
    libraries: ClassVar[tuple[str, ...]] = ("torch", "torchvision", "numpy", "pillow")
    #: torchvision.models name, the attribute holding the classifier, and the embedding size.
    arch: ClassVar[str]
    head: ClassVar[str]
    dim: ClassVar[int]

    def __init__(self, config: Any = None):
        super().__init__(config)
        self._preprocessing: Preprocessing | None = None
        self._model: Any = None
        self._device: str | None = None
        #: `weights` resolved where the extractor was made (`weights_source`); a file goes to workers with it.
        self._weights: WeightsSource | None = None

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=self.dim)

    def inapplicable_options(self) -> frozenset[str]:
        # Weights read from the hub cache or a file replace every parameter `seed` initialised.
        return frozenset() if self.config.weights.strip() == RANDOM_WEIGHTS else frozenset({"seed"})

    def provenance(self) -> dict[str, Any]:
        out = provenance_without_runtime(self)
        source = self.weights_source()
        out["weights"] = source.record()
        out["versions"].update(source.versions())
        return out

    # -- weights and preprocessing (resolved in the main process; workers receive the result) --

    def check_ready(self) -> None:
        """The weights file is there (not read: that happens where the model loads)."""
        source = self.weights_source()
        if source.path is not None and not source.path.is_file():
            raise MissingWeightsError(self._missing_message(source))

    def weights_source(self) -> WeightsSource:
        """Resolve `weights` to a hub-cache file, a given file (as an absolute path) or random init
        (nothing is read), once per extractor.

        Raises:
            ConfigError: `weights` is neither a known weights name, 'random' nor a file path.
        """
        if self._weights is None:
            self._weights = self._resolve_weights()
        return self._weights

    def _resolve_weights(self) -> WeightsSource:
        weights = self.config.weights.strip()
        if weights == RANDOM_WEIGHTS:
            return WeightsSource("random")
        enum = self._weights_enum()
        name = weights.removeprefix(f"{enum.__name__}.")
        if name in enum.__members__:
            member = enum[name]
            import torch

            path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(member.url).path)
            return WeightsSource("hub", path=path, name=member.name, url=member.url)
        path = Path(weights).expanduser()
        if path.suffix in STATE_DICT_SUFFIXES or os.sep in weights or "/" in weights or path.exists():
            return WeightsSource("file", path=Path(os.path.abspath(path)))
        raise ConfigError(
            f"extractor {self.name!r}: unknown weights {weights!r}; expected one of {list(enum.__members__)} "
            f"(read from the torch hub cache), a state-dict file path, or {RANDOM_WEIGHTS!r}"
        )

    def preprocessing(self) -> Preprocessing:
        """The resize/crop/normalization of the weights' transforms (the default weights' for a file or random)."""
        if self._preprocessing is None:
            enum = self._weights_enum()
            source = self.weights_source()
            member = enum[source.name] if source.kind == "hub" else enum[self.config_type().weights]
            transforms = member.transforms()
            self._preprocessing = Preprocessing(
                resize_size=int(transforms.resize_size[0]),
                crop_size=int(transforms.crop_size[0]),
                resample=transforms.interpolation.value,
                mean=tuple(float(v) for v in transforms.mean),
                std=tuple(float(v) for v in transforms.std),
            )
        return self._preprocessing

    def __getstate__(self) -> dict[str, Any]:
        # Workers get the resolved preprocessing too, so that decode never imports torch; and a weights
        # file as resolved here (`shipped_weights`).
        return {"config": self.config, "preprocessing": self.preprocessing(),
                "weights": shipped_weights(self.weights_source())}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])
        self._preprocessing = state.get("preprocessing")
        self._weights = state.get("weights")

    # -- the two stages --

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        """The centre crop as a crop x crop x 3 uint8 array (decoded whole, or at reduced size with
        decode='draft')."""
        draft = self.preprocessing().resize_size if self.config.decode == "draft" else None
        return self.decode_pixels(open_image(sample_image_path(row, corpus_root), min_size=draft), row["sample_id"])

    def decode_pixels(self, image: Any, sample_id: str) -> np.ndarray:
        pre = self.preprocessing()
        return np.asarray(resize_center_crop(image, pre.resize_size, pre.crop_size, resample=pre.resample))

    def compute(self, items: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        model, device = self.load_model()
        pre = self.preprocessing()
        # (N, H, W, 3) uint8 goes to the device as is (a quarter of the bytes of float); the NCHW view of
        # NHWC memory is already channels_last, which the conv kernels prefer.
        batch = torch.from_numpy(np.stack(items)).to(device, non_blocking=True).permute(0, 3, 1, 2)
        mean = torch.tensor(pre.mean, device=device).view(1, -1, 1, 1)
        std = torch.tensor(pre.std, device=device).view(1, -1, 1, 1)
        with torch.inference_mode():
            x = batch.float().div_(255.0).sub_(mean).div_(std).contiguous(memory_format=torch.channels_last)
            out = model(x).float().cpu().numpy()
        return list(out)

    # -- the model --

    def load_model(self) -> tuple[Any, str]:
        """The model in eval mode on its device, built once per process (never pickled).

        Raises:
            MissingWeightsError: the weights file does not exist (the message says how to supply it).
            ConfigError: the file does not fit the model, or the device is unavailable.
        """
        if self._model is None:
            self._model, self._device = self._build_model()
        return self._model, self._device

    def _build_model(self) -> tuple[Any, str]:
        import torch
        import torchvision

        device = resolve_device(self.config.device)
        source = self.weights_source()
        state = None if source.kind == "random" else self._read_state_dict(source)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)
            model = torchvision.models.get_model(self.arch, weights=None, **self._builder_kwargs())
        setattr(model, self.head, torch.nn.Identity())
        if state is not None:
            self._load_state_dict(model, state, source)
        model.eval().to(device).to(memory_format=torch.channels_last)
        log.info("loaded %s (%s weights) on %s", self.name, source.kind, device)
        return model, device

    def _builder_kwargs(self) -> dict[str, Any]:
        return {}

    def _read_state_dict(self, source: WeightsSource) -> dict[str, Any]:
        assert source.path is not None
        if not source.path.is_file():
            raise MissingWeightsError(self._missing_message(source))
        if source.path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(source.path))
        else:
            import torch

            try:
                state = torch.load(source.path, map_location="cpu", weights_only=True)
            except Exception as e:  # noqa: BLE001 - pickle/zip errors of all kinds
                raise ConfigError(
                    f"extractor {self.name!r}: cannot read weights file {source.path} ({type(e).__name__}: {e}); "
                    "expected a state dict saved with torch.save(model.state_dict(), path)"
                ) from e
        for key in ("state_dict", "model"):  # training checkpoints wrap the state dict
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
        if not isinstance(state, dict):
            raise ConfigError(f"extractor {self.name!r}: {source.path} holds a {type(state).__name__}, expected a state dict")
        if state and all(k.startswith("module.") for k in state):  # saved from DataParallel
            state = {k.removeprefix("module."): v for k, v in state.items()}
        return state

    def _load_state_dict(self, model: Any, state: dict[str, Any], source: WeightsSource) -> None:
        # The classifier is replaced by the identity, so its parameters (present or not) are not needed.
        state = {k: v for k, v in state.items() if not k.startswith(f"{self.head}.")}
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as e:  # shape mismatches
            raise ConfigError(f"extractor {self.name!r}: weights {source.path} do not fit {self.arch}: {e}") from e
        if missing or unexpected:
            raise ConfigError(
                f"extractor {self.name!r}: weights {source.path} do not fit {self.arch}: "
                f"missing keys {missing[:5]}, unexpected keys {unexpected[:5]}; expected a {self.arch} state dict"
            )

    def _missing_message(self, source: WeightsSource) -> str:
        if source.kind == "hub":
            return (
                f"extractor {self.name!r}: weights {source.name} not found at {source.path}; mmdata never downloads. "
                f"Fetch them with `curl -L --create-dirs -o {source.path} {source.url}`, "
                f"or pass weights=/path/to/state_dict.pth (or weights={RANDOM_WEIGHTS} for untrained features)"
            )
        return (
            f"extractor {self.name!r}: weights file not found: {source.path}; expected a state-dict file, "
            f"one of {list(self._weights_enum().__members__)} (from the torch hub cache), or {RANDOM_WEIGHTS!r}"
        )

    def _weights_enum(self) -> Any:
        import torchvision

        return torchvision.models.get_model_weights(self.arch)


@dataclass(frozen=True)
class ResNet50Config(BackboneConfig):
    weights: str = "IMAGENET1K_V2"


@register_extractor
class ResNet18(TorchvisionBackbone):
    """ResNet-18 global-average-pooled features (512-d)."""

    name: ClassVar[str] = "resnet18"
    arch: ClassVar[str] = "resnet18"
    head: ClassVar[str] = "fc"
    dim: ClassVar[int] = 512


@register_extractor
class ResNet50(TorchvisionBackbone):
    """ResNet-50 global-average-pooled features (2048-d)."""

    name: ClassVar[str] = "resnet50"
    config_type: ClassVar[type] = ResNet50Config
    arch: ClassVar[str] = "resnet50"
    head: ClassVar[str] = "fc"
    dim: ClassVar[int] = 2048


@register_extractor
class VitB16(TorchvisionBackbone):
    """ViT-B/16 class-token features after the final layer norm (768-d)."""

    name: ClassVar[str] = "vit-b-16"
    arch: ClassVar[str] = "vit_b_16"
    head: ClassVar[str] = "heads"
    dim: ClassVar[int] = 768

    def _builder_kwargs(self) -> dict[str, Any]:
        # SWAG weights run at 384 px: the position embeddings must match the crop.
        return {"image_size": self.preprocessing().crop_size}
