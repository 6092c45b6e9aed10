"""Self-supervised speech representations: wav2vec 2.0, HuBERT and WavLM from `torchaudio.pipelines`.

One transformer layer's output per 20 ms frame (`pool=none`, a sequence table at 50 Hz) or its mean
over the sample (`pool=mean`). Weights never download. `weights=` takes one of:
  - a `torchaudio.pipelines` bundle name of the same architecture (`WAV2VEC2_BASE`, `WAV2VEC2_ASR_BASE_960H`,
    ...), read only from the torch hub cache at `torch.hub.get_dir()/checkpoints/<the bundle's file name>`,
    where `bundle.get_model()` leaves it;
  - a path to a state-dict file of a torchaudio `Wav2Vec2Model` (`torch.save(model.state_dict(), path)`);
  - `random`: torchaudio's own initialisation under `seed` (tests, benchmarks).
The table's provenance records the weights (kind, bundle name, file name, SHA-256 of the file).

Frames sit where the convolutional front end puts them: frame i of a segment of L samples at 16 kHz
sees samples `[320 i, 320 i + 400)` (receptive field 400 samples = 25 ms, stride 320 = 20 ms), so
there are `1 + (L - 400) // 320` frames and a segment shorter than 400 samples is an item error. Each
frame owns the part of the segment closer to its receptive field's centre `(320 i + 200) / 16000` s
than to its neighbours' (`cell_intervals`, as `kaldi-fbank` places its frames), so frames tile the segment.

A segment longer than `max_seconds` is cut into the fewest windows of at most `max_seconds` holding
nearly equal numbers of frames; a window covers the samples its frames see (consecutive windows overlap
by 80 samples; the last one runs to the end of the segment), and its frames are joined in order: the
frame count and intervals are those of one pass, each window's values those the model gives that window
alone (near a cut they differ from one pass's: attention sees only the window). A segment that fits in
`max_seconds` is one window of all its samples.
Windows are never padded: the base models' group norm in the front end spans the whole input and nothing
masks the padding, so padding a batch would change every feature. A forward pass stacks windows of equal
sample counts instead (`equal_length_batches`: the windows of a long segment, clips of one length), at
most `batch_seconds` of audio; each window's frames are then those of a pass of its own up to float
rounding (batched kernels may differ in the last bits: about 3e-6 on O(1) features).
Bundles trained on normalized waveforms (`_normalize_waveform`: the large LV-60k, XLSR and HuBERT-large
models) get the layer norm torchaudio's `bundle.get_model()` applies, over the whole segment before it is cut.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mmdata.errors import MediaError, MissingWeightsError
from mmdata.features.audio_frames import cell_intervals, load_sample_audio
from mmdata.features.base import Extractor, register_extractor
from mmdata.features.image_models import (
    RANDOM_WEIGHTS, check_device, provenance_without_runtime, resolve_device, shipped_weights,
)
from mmdata.media.audio import AUDIO_DECODE_LIBRARIES, SOUNDFILE_SUFFIXES, AudioSegment, OnSilence
from mmdata.features.speech_weights import (
    WeightsSource, build_architecture, compatible_bundles, load_weights, missing_weights_message, normalizes_waveform,
    read_state_dict, resolve_weights,
)
from mmdata.store.metadata import FeatureSpec

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
#: Samples one frame sees (the front end's receptive field) and samples between frames (its stride).
RECEPTIVE_FIELD = 400
STRIDE = 320
FRAME_RATE = SAMPLE_RATE / STRIDE  # 50 Hz

SpeechPool = Literal["none", "mean"]


@dataclass(frozen=True)
class SpeechModelConfig:
    #: A torchaudio.pipelines bundle name (from the torch hub cache), a state-dict file path, or 'random'.
    weights: str = "WAV2VEC2_BASE"
    #: Transformer layer whose output is written, 1 = the first, `num_layers` (the default) = the last.
    layer: int = 12
    #: 'none': one row per 20 ms frame; 'mean': the mean of the frames, one vector per sample.
    pool: SpeechPool = "none"
    #: Longest audio one forward pass sees; longer segments are cut into windows and joined.
    max_seconds: float = 30.0
    #: Seed of the initialisation when weights='random' (not recorded with other weights).
    seed: int = 0
    #: 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto' (cuda when available).
    device: str = "cpu"
    #: Most audio one forward pass stacks: windows of equal sample counts go through together up to
    #: this many seconds in all (a runtime option: stacking without padding changes no feature). The
    #: default, max_seconds' default, keeps a batch within the memory one longest window already takes.
    batch_seconds: float = 30.0
    #: 'error' fails a silent segment (peak below -80 dBFS); 'allow' keeps it.
    on_silence: OnSilence = "error"
    #: Transformer layers of the model (not an option).
    num_layers: ClassVar[int] = 12

    def __post_init__(self) -> None:
        if not self.weights.strip():
            raise ValueError("weights must be a torchaudio.pipelines bundle name, a state-dict file path or 'random'")
        if not 1 <= self.layer <= self.num_layers:
            raise ValueError(f"layer must be 1..{self.num_layers} (the transformer layer whose output is written; "
                             f"{self.num_layers} = the last), got {self.layer}")
        if not self.max_seconds >= RECEPTIVE_FIELD / SAMPLE_RATE:
            raise ValueError(f"max_seconds must be at least one frame's receptive field "
                             f"({RECEPTIVE_FIELD / SAMPLE_RATE:g} s), got {self.max_seconds:g}")
        check_device(self.device)
        if not (math.isfinite(self.batch_seconds) and self.batch_seconds > 0):
            raise ValueError(f"batch_seconds must be a finite number of seconds > 0 (the most audio one forward pass "
                             f"stacks; a longer window goes alone), got {self.batch_seconds:g}")

    @property
    def batch_samples(self) -> int:
        """The most samples one forward pass stacks."""
        return int(self.batch_seconds * SAMPLE_RATE)

    @property
    def frames_per_window(self) -> int:
        """The most frames one forward pass of at most `max_seconds` holds."""
        return frame_count(int(self.max_seconds * SAMPLE_RATE))


def frame_count(n_samples: int) -> int:
    """Frames the convolutional front end gives for `n_samples` (0 below one receptive field)."""
    return 0 if n_samples < RECEPTIVE_FIELD else 1 + (n_samples - RECEPTIVE_FIELD) // STRIDE


def frame_intervals(n_frames: int, segment: AudioSegment) -> np.ndarray:
    """(T, 2) seconds of the media file: each frame's cell around its receptive field's centre."""
    centres = (np.arange(n_frames) * STRIDE + RECEPTIVE_FIELD / 2) / SAMPLE_RATE
    return cell_intervals(centres, segment.duration, segment.offset)


def window_bounds(n_samples: int, frames_per_window: int) -> list[tuple[int, int]]:
    """(first sample, end sample) of each window of a segment of `n_samples` (see `window_spans`): a
    window covers the samples its frames see, and the last one runs to the end of the segment."""
    n_frames = frame_count(n_samples)
    # The last window keeps the samples after its last frame's receptive field: they move the front
    # end's group norm statistics, and a segment that fits is then exactly one pass.
    return [(first * STRIDE, n_samples if end == n_frames else (end - 1) * STRIDE + RECEPTIVE_FIELD)
            for first, end in window_spans(n_frames, frames_per_window)]


def equal_length_batches(lengths: list[int], batch_samples: int) -> list[list[int]]:
    """Indices of `lengths` in batches of equal lengths of at most `batch_samples` samples in all (one
    window alone when it is longer): stacked without padding, each window's features stay those of
    a pass of its own."""
    batches: list[list[int]] = []
    for index in sorted(range(len(lengths)), key=lambda i: (lengths[i], i)):
        batch = batches[-1] if batches else None
        if batch and lengths[batch[0]] == lengths[index] and (len(batch) + 1) * lengths[index] <= batch_samples:
            batch.append(index)
        else:
            batches.append([index])
    return batches


def window_spans(n_frames: int, frames_per_window: int) -> list[tuple[int, int]]:
    """(first frame, end frame) of each window: the fewest windows of at most `frames_per_window`
    frames, of nearly equal sizes (no short last window with little context)."""
    count = -(-n_frames // frames_per_window)
    bounds = [round(k * n_frames / count) for k in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


class SpeechModel(Extractor):
    """A torchaudio wav2vec 2.0 / HuBERT / WavLM model: one transformer layer's output per frame."""

    modality: ClassVar = "audio"
    config_type: ClassVar[type] = SpeechModelConfig
    libraries: ClassVar[tuple[str, ...]] = ("numpy", "torch", "torchaudio", *AUDIO_DECODE_LIBRARIES)
    #: The torchaudio.pipelines bundle whose architecture (and default weights) this is, and its width.
    bundle: ClassVar[str]
    dim: ClassVar[int]

    def __init__(self, config: Any = None):
        super().__init__(config)
        self._model: Any = None
        self._device: str | None = None
        #: `weights` resolved where the extractor was made (`weights_source`); a file goes to workers with it.
        self._weights: WeightsSource | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Workers get a weights file as resolved here: a relative path would otherwise be read from a
        # Ray worker's own working directory (where Ray was started), not this process's. A bundle's
        # file is found in each node's own torch hub cache, as before (`shipped_weights`).
        return {"config": self.config, "weights": shipped_weights(self.weights_source())}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])
        self._weights = state.get("weights")

    @property
    def table_name(self) -> str:
        cfg = self.config
        layer = "" if cfg.layer == cfg.num_layers else f"-layer{cfg.layer}"
        return f"{self.modality}.{self.name}{layer}{'-mean' if cfg.pool == 'mean' else ''}"

    def output_spec(self) -> FeatureSpec:
        if self.config.pool == "mean":
            return FeatureSpec(dim=self.dim)
        return FeatureSpec(dim=self.dim, kind="sequence", intervals=True, frame_rate=FRAME_RATE, item_axis="time",
                           frame_window=RECEPTIVE_FIELD / SAMPLE_RATE)

    def inapplicable_options(self) -> frozenset[str]:
        # Weights read from the hub cache or a file replace every parameter `seed` initialised.
        return frozenset() if self.config.weights.strip() == RANDOM_WEIGHTS else frozenset({"seed"})

    def provenance(self) -> dict[str, Any]:
        """`weights` records the file and its SHA-256; `versions` carries "weights:<file name>" -> its
        first 16 hex digits, so that a resume after the file changed is refused as after a library
        upgrade (`store.tables.refuse_mixed_versions`), as for the image and video backbones."""
        out = provenance_without_runtime(self)
        out["runtime"]["batch_seconds"] = out["config"].pop("batch_seconds")
        record = out["weights"] = self.weights_source().record()
        if record.get("file") and record.get("sha256"):
            out["versions"] = {**out["versions"], f"weights:{record['file']}": record["sha256"][:16]}
        return out

    @property
    def normalize_waveform(self) -> bool:
        """Whether the model expects each waveform layer-normalized, as `bundle.get_model()` does it."""
        return normalizes_waveform(self.bundle)

    # -- weights (resolved in the main process; see `mmdata.features.speech_weights`) --

    def check_ready(self) -> None:
        """The weights file is there (not read: that happens where the model loads)."""
        source = self.weights_source()
        if source.path is not None and not source.path.is_file():
            raise MissingWeightsError(missing_weights_message(self.name, source, self.bundle))

    def weights_source(self) -> WeightsSource:
        """Resolve `weights` to a hub-cache file, a given file (as an absolute path) or random init
        (nothing is read), once per extractor."""
        if self._weights is None:
            self._weights = resolve_weights(self.name, self.config.weights, self.bundle)
        return self._weights

    def compatible_bundles(self) -> list[str]:
        """The torchaudio.pipelines bundles whose weights this model loads."""
        return compatible_bundles(self.bundle)

    # -- the two stages --

    def decode(self, row: dict[str, Any], corpus_root: Path) -> AudioSegment:
        segment = load_sample_audio(row, corpus_root, sample_rate=SAMPLE_RATE, on_silence=self.config.on_silence)
        if len(segment.samples) < RECEPTIVE_FIELD:
            raise MediaError(
                f"{segment.path}: segment of {segment.duration * 1000:.1f} ms of sample {row['sample_id']!r} is shorter "
                f"than the receptive field of one {self.name} frame ({RECEPTIVE_FIELD} samples, "
                f"{RECEPTIVE_FIELD / SAMPLE_RATE * 1000:.1f} ms at {SAMPLE_RATE} Hz); expected a segment of at least "
                "25 ms; use a longer segment")
        return segment

    def decodes_safely_here(self, rows: list[dict[str, Any]]) -> bool:
        """Audio files libsndfile (or mmdata's own WAV reader) decodes; not the audio of a video (FFmpeg)."""
        return all(row.get("audio") and Path(row["audio"]).suffix.lower() in SOUNDFILE_SUFFIXES for row in rows)

    def compute(self, items: list[AudioSegment]) -> list[Any]:
        out = []
        for segment, frames in zip(items, self.items_frames([segment.samples for segment in items])):
            if self.config.pool == "mean":
                out.append(frames.mean(axis=0, dtype=np.float64).astype(np.float32))
            else:
                out.append((frames, frame_intervals(len(frames), segment)))
        return out

    def layer_frames(self, samples: np.ndarray) -> np.ndarray:
        """(T, dim) float32 output of the configured layer for a 16 kHz waveform, window by window."""
        return self.items_frames([samples])[0]

    def items_frames(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        """`layer_frames` of each waveform, the windows of equal sample counts (of one waveform or of
        several) stacked into one forward pass of at most `batch_seconds` of audio."""
        import torch

        model, device = self.load_model()
        windows: list[Any] = []  # (1, samples) tensors of every waveform, in order
        owners: list[int] = []  # the waveform each window is cut from
        with torch.inference_mode():
            for index, samples in enumerate(waveforms):
                cut = self.windows(samples, device)
                windows += cut
                owners += [index] * len(cut)
            frames: list[Any] = [None] * len(windows)
            for batch in equal_length_batches([window.shape[1] for window in windows], self.config.batch_samples):
                layers, _ = model.extract_features(torch.cat([windows[i] for i in batch]), num_layers=self.config.layer)
                for i, window_frames in zip(batch, layers[self.config.layer - 1].float().cpu().numpy()):
                    frames[i] = window_frames
        joined: list[list[np.ndarray]] = [[] for _ in waveforms]
        for owner, window_frames in zip(owners, frames):
            joined[owner].append(window_frames)
        return [np.concatenate(parts) for parts in joined]

    def windows(self, samples: np.ndarray, device: str) -> list[Any]:
        """The (1, samples) tensors, on `device`, that one waveform's forward passes see (normalized first
        where the model expects it)."""
        import torch

        wave = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None].to(device)
        if self.normalize_waveform:
            wave = torch.nn.functional.layer_norm(wave, wave.shape)
        return [wave[:, start:stop] for start, stop in window_bounds(wave.shape[1], self.config.frames_per_window)]

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

        device = resolve_device(self.config.device)
        source = self.weights_source()
        state = None if source.kind == "random" else read_state_dict(self.name, source, self.bundle)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)
            model = build_architecture(self.bundle)
        if state is not None:
            load_weights(self.name, model, state, source, self.bundle)
        model.eval().to(device)
        log.info("loaded %s (%s weights) on %s", self.name, source.kind, device)
        return model, device


# -- the models: one config (default weights and layer) and one class each --


@dataclass(frozen=True)
class Wav2Vec2BaseConfig(SpeechModelConfig):
    weights: str = "WAV2VEC2_BASE"


@register_extractor
class Wav2Vec2Base(SpeechModel):
    """wav2vec 2.0 base (LibriSpeech 960 h), 12 layers, 768-d."""

    name: ClassVar[str] = "wav2vec2-base"
    config_type: ClassVar[type] = Wav2Vec2BaseConfig
    bundle: ClassVar[str] = "WAV2VEC2_BASE"
    dim: ClassVar[int] = 768


@dataclass(frozen=True)
class HubertBaseConfig(SpeechModelConfig):
    weights: str = "HUBERT_BASE"


@register_extractor
class HubertBase(SpeechModel):
    """HuBERT base (LibriSpeech 960 h), 12 layers, 768-d."""

    name: ClassVar[str] = "hubert-base"
    config_type: ClassVar[type] = HubertBaseConfig
    bundle: ClassVar[str] = "HUBERT_BASE"
    dim: ClassVar[int] = 768


@dataclass(frozen=True)
class WavlmBasePlusConfig(SpeechModelConfig):
    weights: str = "WAVLM_BASE_PLUS"


@register_extractor
class WavlmBasePlus(SpeechModel):
    """WavLM base+ (94k h of English speech), 12 layers, 768-d."""

    name: ClassVar[str] = "wavlm-base-plus"
    config_type: ClassVar[type] = WavlmBasePlusConfig
    bundle: ClassVar[str] = "WAVLM_BASE_PLUS"
    dim: ClassVar[int] = 768


@dataclass(frozen=True)
class LargeConfig(SpeechModelConfig):
    layer: int = 24
    num_layers: ClassVar[int] = 24


@dataclass(frozen=True)
class Wav2Vec2LargeLv60kConfig(LargeConfig):
    weights: str = "WAV2VEC2_LARGE_LV60K"


@register_extractor
class Wav2Vec2LargeLv60k(SpeechModel):
    """wav2vec 2.0 large (Libri-Light 60k h), 24 layers, 1024-d; waveforms layer-normalized."""

    name: ClassVar[str] = "wav2vec2-large-lv60k"
    config_type: ClassVar[type] = Wav2Vec2LargeLv60kConfig
    bundle: ClassVar[str] = "WAV2VEC2_LARGE_LV60K"
    dim: ClassVar[int] = 1024


@dataclass(frozen=True)
class Wav2Vec2Xlsr53Config(LargeConfig):
    weights: str = "WAV2VEC2_XLSR53"


@register_extractor
class Wav2Vec2Xlsr53(SpeechModel):
    """wav2vec 2.0 XLSR-53 (56k h in 53 languages, Mandarin among them), 24 layers, 1024-d; waveforms
    layer-normalized."""

    name: ClassVar[str] = "wav2vec2-xlsr53"
    config_type: ClassVar[type] = Wav2Vec2Xlsr53Config
    bundle: ClassVar[str] = "WAV2VEC2_XLSR53"
    dim: ClassVar[int] = 1024


@dataclass(frozen=True)
class HubertLargeConfig(LargeConfig):
    weights: str = "HUBERT_LARGE"


@register_extractor
class HubertLarge(SpeechModel):
    """HuBERT large (Libri-Light 60k h), 24 layers, 1024-d; waveforms layer-normalized."""

    name: ClassVar[str] = "hubert-large"
    config_type: ClassVar[type] = HubertLargeConfig
    bundle: ClassVar[str] = "HUBERT_LARGE"
    dim: ClassVar[int] = 1024
