"""CLIP image embeddings (`clip`) with Hugging Face transformers, in the space `clip-text` embeds texts in.

Both extractors output CLIP's projected embeddings (`get_image_features` / `get_text_features`, 512-d for
ViT-B/32), L2-normalized by default as CLIP's scores compare them, so an image row and a caption row of
the same model compare directly by their dot product (cosine).

`model=` never downloads. It takes one of:
  - a local directory holding a transformers CLIP checkpoint: config.json, the weights (model.safetensors
    or pytorch_model.bin), preprocessor_config.json (for `clip`) and the tokenizer's files (for `clip-text`),
    as `CLIPModel.save_pretrained` and `CLIPProcessor.save_pretrained` write them;
  - a Hugging Face repo id (default `openai/clip-vit-base-patch32`), read only from the local Hugging Face
    cache (`hf download <repo id>` fills it on a machine with a network).
A missing model is a `MissingWeightsError` saying what was looked for and how to supply it; one whose
config.json is not a CLIP model's (`model_type` 'clip') is a `ConfigError`, as transformers would load it
with random weights for what it lacks.

The table's provenance records the model (as given, where it was found, the cache snapshot), a sha256 of
its configs, tokenizer and weight files (`text_models.model_fingerprint`) under `versions` as
"model:<repo id or directory name>" (for `clip` also preprocessor_config.json's as "preprocessor:...")
so that resuming a table after the files changed is refused as one after a library upgrade, and the
preprocessing.

Preprocessing equals transformers' CLIP image processor with its PIL backend (`CLIPImageProcessorPil`; the
`CLIPImageProcessor` of transformers 4): `decode` (worker processes, no torch) resizes the shorter side to
`size.shortest_edge` with PIL's bicubic filter (the longer side truncated), crops the centre (offsets
rounded down) and returns a crop x crop x 3 uint8 array; `compute` (main process) rescales and normalizes
the batch on the device and runs the model, loaded once per process. transformers 5's default
`CLIPImageProcessor` resizes with torchvision instead, whose bicubic differs from PIL's by at most one
level on a few pixels (features within ~2e-4 of their scale).
"""
from __future__ import annotations

import functools
import json
import logging
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mmdata.errors import ConfigError, MissingWeightsError
from mmdata.features.base import Extractor, register_extractor
from mmdata.features.image_models import check_device, provenance_without_runtime, resolve_device
from mmdata.features.image_stats import sample_image_path
from mmdata.features.text_models import ShipsModelDirectory, file_sha256, model_fingerprint, offline_hub
from mmdata.media.image import check_resized_size, open_image
from mmdata.store.metadata import MODEL_VERSION_PREFIX, FeatureSpec

log = logging.getLogger(__name__)

DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"
#: A Hugging Face repo id: "owner/name" (not a path: no leading '.', '/' or '~').
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
#: Weight files transformers loads a CLIPModel from (one is enough).
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
PREPROCESSOR_FILE = "preprocessor_config.json"
#: config.json's model_type of a checkpoint `CLIPModel` loads whole (both towers and their projections).
CLIP_MODEL_TYPE = "clip"
#: PIL's resampling filters by the numbers preprocessor_config.json stores (`PILImageResampling`).
_RESAMPLE_NAMES = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


def check_clip_model(model: str) -> None:
    """An empty model name would resolve to the working directory."""
    if not model.strip():
        raise ValueError(f"model must be a local CLIP checkpoint directory or a Hugging Face repo id "
                         f"(e.g. {DEFAULT_CLIP_MODEL!r}), got {model!r}")


@dataclass(frozen=True)
class ClipModelSource:
    """Where a CLIP checkpoint's files are (resolved without loading anything)."""

    #: `model=` as given: a directory or a repo id
    model: str
    kind: Literal["dir", "hub"]
    #: the directory holding the files (for kind='hub': the cache snapshot)
    path: Path

    @property
    def label(self) -> str:
        """The repo id, or the directory's name: how `versions` names the model."""
        return self.model if self.kind == "hub" else self.path.resolve().name

    def fingerprint(self) -> str:
        """sha256 over the checkpoint's configs, tokenizer and weight files (hashed once per process
        while they stay as they are)."""
        return model_fingerprint(self.path)

    def record(self) -> dict[str, Any]:
        """What a table's provenance records about the model; image and text tables of one model
        record the same `sha256`."""
        return {"name": self.model, "kind": self.kind, "path": str(self.path.resolve()),
                "revision": self.path.name if self.kind == "hub" else None, "sha256": self.fingerprint()}

    def versions(self) -> dict[str, str]:
        return {f"{MODEL_VERSION_PREFIX}{self.label}": self.fingerprint()[:16]}


def resolve_clip_model(extractor: str, model: str, directory: Path | None = None) -> ClipModelSource:
    """The local files of `model`: a directory, else a repo id in the local Hugging Face cache.
    `directory`: where `model` was found as a directory by the process that made the extractor
    (absolute), which decides for a worker that `model` is that directory, not a repo id.

    Raises:
        MissingWeightsError: no such directory, or the repo is not in the cache (nothing is downloaded).
    """
    path = Path(directory or model).expanduser()
    if directory is not None or path.is_dir():
        return ClipModelSource(model, "dir", Path(os.path.abspath(path)))
    if not _REPO_ID.fullmatch(model):
        raise MissingWeightsError(
            f"extractor {extractor!r}: CLIP model directory not found: {path}; expected a directory saved with "
            f"CLIPModel.save_pretrained (config.json, model.safetensors, {PREPROCESSOR_FILE}, tokenizer files) or "
            f"a Hugging Face repo id in the local cache, e.g. model={DEFAULT_CLIP_MODEL}")
    return ClipModelSource(model, "hub", _cached_snapshot(extractor, model))


def _cached_snapshot(extractor: str, repo_id: str) -> Path:
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        with offline_hub():
            return Path(snapshot_download(repo_id, local_files_only=True))
    except LocalEntryNotFoundError as e:
        # "models/clip" reads as a repo id too: say that no such directory is there either.
        raise MissingWeightsError(
            f"extractor {extractor!r}: CLIP model {repo_id!r} is not in the local Hugging Face cache "
            f"({constants.HF_HUB_CACHE}), nor a directory ({Path(repo_id).absolute()} not found); mmdata never "
            f"downloads. Fetch it on a machine with a network with `hf download {repo_id}` (`huggingface-cli "
            f"download {repo_id}` with huggingface_hub < 1.0) and copy the cache here (or point HF_HUB_CACHE at "
            "it), or pass model=/path/to/dir (a directory saved with CLIPModel.save_pretrained and "
            "CLIPProcessor.save_pretrained)") from e


def require_files(extractor: str, source: ClipModelSource, groups: dict[str, tuple[str, ...]]) -> None:
    """Each group of `groups` ("the weights" -> file names) has at least one file in the checkpoint.

    Raises:
        MissingWeightsError: naming the directory and what is missing.
    """
    missing = [f"{what} ({' or '.join(names)})" for what, names in groups.items()
               if not any((source.path / name).is_file() for name in names)]
    if missing:
        raise MissingWeightsError(
            f"extractor {extractor!r}: CLIP model {source.model!r} at {source.path} lacks {', '.join(missing)}; "
            "expected a transformers CLIP checkpoint as CLIPModel.save_pretrained and CLIPProcessor.save_pretrained "
            "write it; save or fetch it again")


def check_clip_config(extractor: str, source: ClipModelSource) -> None:
    """config.json describes a whole CLIP model: `CLIPModel.from_pretrained` loads any other checkpoint (BERT,
    a sentence-transformers directory, a text tower alone) with a warning only, its missing weights random.

    Raises:
        ConfigError: naming config.json and the model_type it holds.
    """
    path = source.path / "config.json"
    model_type = read_json(extractor, path).get("model_type")
    if model_type != CLIP_MODEL_TYPE:
        raise ConfigError(
            f"extractor {extractor!r}: {path} has model_type {model_type!r}, expected {CLIP_MODEL_TYPE!r}: "
            "model= must be a CLIP checkpoint with both towers, as CLIPModel.save_pretrained writes it (e.g. "
            f"model={DEFAULT_CLIP_MODEL}); a sentence-transformers model is --text minilm:model=DIR")


def read_json(extractor: str, path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise MissingWeightsError(f"extractor {extractor!r}: {path} not found; expected a transformers CLIP "
                                  "checkpoint directory") from e
    except (OSError, ValueError) as e:
        raise ConfigError(f"extractor {extractor!r}: cannot read {path} ({type(e).__name__}: {e}); expected JSON") from e
    if not isinstance(data, dict):
        raise ConfigError(f"extractor {extractor!r}: {path} holds a JSON {type(data).__name__}, expected an object")
    return data


def projection_dim(extractor: str, source: ClipModelSource) -> int:
    """The size of the shared embedding space, from config.json (the model is not loaded)."""
    config = read_json(extractor, source.path / "config.json")
    dim = config.get("projection_dim", 512)  # CLIPConfig's default
    if not isinstance(dim, int) or dim < 1:
        raise ConfigError(f"extractor {extractor!r}: {source.path / 'config.json'} has projection_dim {dim!r}; "
                          "expected a positive integer (is it a CLIP checkpoint?)")
    return dim


@functools.lru_cache(maxsize=2)
def load_clip_model(model_dir: str, fingerprint: str, device: str) -> Any:
    """The CLIPModel of a local directory in eval mode on `device`, in float32, once per process for
    the same files (`fingerprint`) and device: `clip` and `clip-text` share it."""
    with offline_hub():
        import torch
        from transformers import CLIPModel
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # it would interleave with mmdata's own bars
        model = CLIPModel.from_pretrained(model_dir, local_files_only=True, dtype=torch.float32)
    log.info("loaded CLIP model %s on %s", model_dir, device)
    return model.eval().to(device)


def projected(output: Any) -> Any:
    """The projected embeddings of `get_image_features` / `get_text_features`: transformers 5 returns
    them as the output's `pooler_output`, transformers 4 as a tensor."""
    return getattr(output, "pooler_output", output)


def finish(vectors: Any, normalize: bool) -> np.ndarray:
    """(N, dim) float32 on the CPU, L2-normalized when `normalize`."""
    import torch

    if normalize:
        vectors = torch.nn.functional.normalize(vectors.float(), dim=-1)
    return vectors.float().cpu().numpy()


class ClipCheckpoint(ShipsModelDirectory):
    """What `clip` and `clip-text` share: their checkpoint, resolved once per extractor in each process (a
    given directory as the maker found it, a repo id in this node's cache), and its model, loaded once per
    process and device for both."""

    def __init__(self, config: Any = None):
        super().__init__(config)
        self._source: ClipModelSource | None = None

    def source(self) -> ClipModelSource:
        if self._source is None:
            self._source = resolve_clip_model(self.name, self.config.model, self._model_dir)  # type: ignore[attr-defined]
        return self._source

    def load_model(self) -> tuple[Any, str]:
        """(the CLIPModel, its device), loaded offline once per process.

        Raises:
            MissingWeightsError: the checkpoint is not there or lacks a file.
            ConfigError: the device is unavailable.
        """
        self.check_ready()  # type: ignore[attr-defined]
        source, device = self.source(), resolve_device(self.config.device)  # type: ignore[attr-defined]
        return load_clip_model(str(source.path), source.fingerprint(), device), device


# -- the image extractor --


@dataclass(frozen=True)
class ClipPreprocessing:
    """What the checkpoint's preprocessor_config.json asks for (CLIP: 224, 224, bicubic, 1/255, CLIP's mean/std)."""

    shortest_edge: int
    crop_height: int
    crop_width: int
    resample: str  # PIL resampling name
    rescale_factor: float
    mean: tuple[float, ...]
    std: tuple[float, ...]


def read_preprocessing(extractor: str, path: Path) -> ClipPreprocessing:
    """The resize, crop and normalization of a CLIP preprocessor_config.json.

    Raises:
        ConfigError: it asks for something else than CLIP's shorter-side resize, centre crop, rescale
            and normalization (or a crop larger than the resized image).
    """
    config = read_json(extractor, path)
    off = [k for k in ("do_resize", "do_center_crop", "do_rescale", "do_normalize") if config.get(k, True) is False]
    size, crop = config.get("size", 224), config.get("crop_size", 224)
    edge = size.get("shortest_edge") if isinstance(size, dict) else size
    height, width = (crop.get("height"), crop.get("width")) if isinstance(crop, dict) else (crop, crop)
    resample = _RESAMPLE_NAMES.get(config.get("resample", 3))
    if off or not all(isinstance(v, int) and v > 0 for v in (edge, height, width)) or resample is None \
            or max(height, width) > edge:
        raise ConfigError(
            f"extractor {extractor!r}: {path} asks for size {size!r}, crop_size {crop!r}, resample "
            f"{config.get('resample')!r}{f', {off} false' if off else ''}; expected CLIP's preprocessing: a "
            "shortest_edge resize, a centre crop no larger than it, rescale and normalize")
    return ClipPreprocessing(
        shortest_edge=edge, crop_height=height, crop_width=width, resample=resample,
        rescale_factor=float(config.get("rescale_factor", 1 / 255)),
        mean=tuple(float(v) for v in config.get("image_mean", (0.48145466, 0.4578275, 0.40821073))),
        std=tuple(float(v) for v in config.get("image_std", (0.26862954, 0.26130258, 0.27577711))))


def resize_and_crop(img: Any, pre: ClipPreprocessing) -> np.ndarray:
    """The crop_height x crop_width x 3 uint8 pixels transformers' CLIP processor (PIL backend) takes
    from an RGB PIL image: shorter side to `shortest_edge` (the longer one truncated,
    `get_resize_output_image_size`), PIL's filter, then the centre crop with offsets rounded down.

    Raises:
        MediaError: the resized image would be over Pillow's decompression-bomb limit.
    """
    from PIL import Image

    width, height = img.size
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(pre.shortest_edge * long / short)
    new_width, new_height = (pre.shortest_edge, new_long) if width <= height else (new_long, pre.shortest_edge)
    check_resized_size(width, height, new_width, new_height)
    img = img.resize((new_width, new_height), Image.Resampling[pre.resample.upper()])
    top, left = (new_height - pre.crop_height) // 2, (new_width - pre.crop_width) // 2
    return np.asarray(img.crop((left, top, left + pre.crop_width, top + pre.crop_height)))


@dataclass(frozen=True)
class ClipConfig:
    #: A local CLIP checkpoint directory, or a Hugging Face repo id read from the local cache only.
    model: str = DEFAULT_CLIP_MODEL
    #: L2-normalize the projected embeddings (CLIP's scores are cosines); False keeps their norms.
    normalize: bool = True
    #: 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto' (cuda when available).
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_clip_model(self.model)
        check_device(self.device)


@register_extractor
class ClipImage(ClipCheckpoint, Extractor):
    """CLIP's projected image embedding (512-d for ViT-B/32), in the space of `clip-text`."""

    name: ClassVar[str] = "clip"
    modality: ClassVar = "image"
    safe_decoder: ClassVar[bool] = True  # Pillow: a bad image file is an exception, not a crash
    config_type: ClassVar[type] = ClipConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "pillow", "torch", "transformers")

    def __init__(self, config: Any = None):
        super().__init__(config)
        self._preprocessing: ClipPreprocessing | None = None

    def check_ready(self) -> None:
        """The checkpoint's config (a CLIP model's), weights and preprocessor files are there (only the JSON
        files are read: decode workers receive what the preprocessor asks for)."""
        require_files(self.name, self.source(), {"config.json": ("config.json",), "the weights": WEIGHT_FILES,
                                                 PREPROCESSOR_FILE: (PREPROCESSOR_FILE,)})
        check_clip_config(self.name, self.source())
        self.preprocessing()

    def output_spec(self) -> FeatureSpec:
        return FeatureSpec(dim=projection_dim(self.name, self.source()))

    def provenance(self) -> dict[str, Any]:
        out = provenance_without_runtime(self)
        source = self.source()
        out["model"] = {**source.record(), "output": "get_image_features", "normalized": self.config.normalize}
        out["preprocessing"] = asdict(self.preprocessing())
        out["versions"].update(source.versions())
        out["versions"][f"preprocessor:{source.label}"] = file_sha256(source.path / PREPROCESSOR_FILE)[:16]
        return out

    def preprocessing(self) -> ClipPreprocessing:
        if self._preprocessing is None:
            self._preprocessing = read_preprocessing(self.name, self.source().path / PREPROCESSOR_FILE)
        return self._preprocessing

    def __getstate__(self) -> dict[str, Any]:
        # Workers get the preprocessing `check_ready` resolved (before they start), so that decode
        # reads no model file; decode never imports torch. A model directory goes as found here.
        return {**super().__getstate__(), "preprocessing": self._preprocessing}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._preprocessing = state.get("preprocessing")

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        """The centre crop as a crop_height x crop_width x 3 uint8 array."""
        return self.decode_pixels(open_image(sample_image_path(row, corpus_root)), row["sample_id"])

    def decode_pixels(self, image: Any, sample_id: str) -> np.ndarray:
        return resize_and_crop(image, self.preprocessing())

    def compute(self, items: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        model, device = self.load_model()
        pre = self.preprocessing()
        batch = torch.from_numpy(np.stack(items)).to(device, non_blocking=True).permute(0, 3, 1, 2)
        mean = torch.tensor(pre.mean, device=device).view(1, -1, 1, 1)
        std = torch.tensor(pre.std, device=device).view(1, -1, 1, 1)
        with torch.inference_mode():
            pixels = batch.float().mul_(pre.rescale_factor).sub_(mean).div_(std)
            vectors = projected(model.get_image_features(pixel_values=pixels))
            return list(finish(vectors, self.config.normalize))
