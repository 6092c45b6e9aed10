"""Check that mmdata's model extractors give the same features on a CUDA device as on the CPU.

Builds a small COCO captions corpus from scikit-image's bundled photographs and a tiny randomly
initialised sentence-transformers model (nothing is downloaded), then, for every extractor with a
`device` option:

  - the torchvision backbones (ResNet-18 through the full `mmdata.pipeline.extract` path; ResNet-50
    and ViT-B/16 through the extractor API), with `weights=random` under a fixed seed;
  - `minilm` (pipeline, with `model=<local dir>`) and `word-embeddings` (extractor API);
  - `clip` and `clip-text` (extractor API) with a tiny randomly initialised CLIP checkpoint written
    offline (tests/fakes/clip_model.py: 4 layers, width 64), on the corpus's images and captions;
  - the video clip models (`r3d-18`, `mc3-18`, `r2plus1d-18`, `s3d`) on random frame crops and the
    speech models (`wav2vec2-base`, `hubert-base`, ...) on ~1 s of random audio (extractor API,
    `weights=random` under a fixed seed; decoding runs on the CPU either way, so it is left out),

it computes the features once with device=cpu and once with `--device` (default `cuda`), and
reports the largest absolute difference, the largest difference relative to the CPU features'
largest magnitude, the smallest cosine similarity per row, and the seconds of the first and the
best of `--repeats` (3) later calls on each device. It also checks that each model's parameters are on the
device, that device=auto resolves to CUDA when a GPU is present, that an absent `cuda:N` is a
ConfigError, and that the device is a runtime option (the recorded table config is the same on
both devices).

Tolerances (scale-relative: max |cpu - dev| / max |cpu|):
  - full fp32 on the device (TF32 off for convolutions and matmuls): 1e-4, what the CPU test suite
    allows between mmdata and torchvision; only summation order and kernel choice differ.
  - PyTorch's defaults, which let cuDNN run fp32 convolutions in TF32 (10-bit mantissa, operands
    rounded to ~4.9e-4 relative) on Ampere and newer: 1e-2 and a cosine of at least 0.9999 for
    the image backbones (ViT-B/16 and `clip` too: their patch embedding is a convolution), the video clip
    models (3D convolutions) and the speech models (a convolutional front end); up to ~50
    convolutions in series compound the rounding. Matmuls stay fp32 by default, so the text
    models keep the 1e-4 tolerance.

On an H200 (torch 2.11, cuDNN 9.19) the defaults gave 3e-4 to 7e-4 (ResNet-18/50, ViT-B/16) and
TF32 off 1e-6 to 3e-6; the text models differed by ~2e-7 either way.

Run it from the repository root:

    python scripts/gpu_check.py                  # cpu vs cuda (needs a CUDA GPU)
    python scripts/gpu_check.py --device cpu     # cpu vs cpu: tests the script itself anywhere
    python scripts/gpu_check.py --video-models r3d-18 --speech-models ''   # a subset ('' skips a family)
    python scripts/gpu_check.py --skip-clip      # without the CLIP checks
    python scripts/gpu_check.py --out results/   # also write gpu_check.json there ($OUT if set)

It prints a JSON summary and exits 1 if any check failed (2 if the device is not available:
no CUDA GPU, or no GPU of that number).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

# Run from a checkout without installing mmdata: this process and its decoding workers import it from here.
ROOT = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, ROOT)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
# Everything is local: no model or tokenizer lookup may reach the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SPLIT = "val2017"
SEED = 7
IMAGE_MODELS = ("resnet18", "resnet50", "vit-b-16")
#: Backbones with cuDNN convolutions, which PyTorch runs in TF32 by default (ViT-B/16: its patch embedding).
TF32_MODELS = ("resnet18", "resnet50", "vit-b-16")
#: The tiny inputs of the video and speech models: clips per sample, and audio seconds per sample.
CLIPS_PER_SAMPLE = (1, 2)
AUDIO_SECONDS = (1.0, 0.5)
TOL_FP32 = 1e-4
TOL_TF32 = 1e-2
MIN_COS_TF32 = 0.9999
#: scikit-image's bundled photographs (name, file in skimage/data).
PHOTOS = (("astronaut", "astronaut.png"), ("chelsea", "chelsea.png"), ("coffee", "coffee.png"), ("rocket", "rocket.jpg"),
          ("hubble deep field", "hubble_deep_field.jpg"), ("immunohistochemistry", "ihc.png"))
WORDS = (
    "a photo of the an astronaut cat coffee cup rocket launch pad stars galaxy tissue cells sample "
    "hubble deep field immunohistochemistry woman in space suit sitting on table with saucer sky smoke and stained microscope slide red blue "
    "orange white black small large close up view"
).split()


# -- corpus and model --


def load_photos() -> list[tuple[str, np.ndarray]]:
    """scikit-image's bundled photographs as RGB arrays, read from its data folder (no fetcher); a
    smooth random picture stands in for any that is missing."""
    from PIL import Image

    try:
        import skimage

        data_dir = Path(skimage.__file__).parent / "data"
    except ImportError:
        data_dir = None
    rng = np.random.default_rng(SEED)
    photos = []
    for name, file_name in PHOTOS:
        path = data_dir / file_name if data_dir is not None else None
        if path is not None and path.is_file():
            with Image.open(path) as img:
                photos.append((name, np.asarray(img.convert("RGB"))))
            continue
        yy, xx = np.mgrid[0:480, 0:640]
        base = np.stack([xx * 255 / 640, yy * 255 / 480, (xx + yy) * 255 / 1120], axis=-1)
        pixels = np.clip(base + rng.normal(0, 20, base.shape) + rng.integers(0, 60, 3), 0, 255).astype(np.uint8)
        photos.append((f"{name} (synthetic)", pixels))
    return photos


def write_corpus(root: Path, count: int) -> dict[str, Any]:
    """`count` JPEGs cropped from scikit-image's photographs, with captions, in COCO's layout:
    <root>/annotations/captions_val2017.json and <root>/val2017/<12-digit id>.jpg."""
    from PIL import Image

    rng = np.random.default_rng(SEED)
    (root / "annotations").mkdir(parents=True)
    (root / SPLIT).mkdir()
    photos = load_photos()
    images, annotations = [], []
    for index in range(count):
        name, photo = photos[index % len(photos)]
        height, width = photo.shape[:2]
        h = int(rng.integers(min(height, 160), min(height, 420) + 1))
        w = int(rng.integers(min(width, 160), min(width, 420) + 1))
        top, left = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
        image_id = 1000 + index
        file_name = f"{image_id:012d}.jpg"
        Image.fromarray(np.ascontiguousarray(photo[top : top + h, left : left + w, :3])).save(
            root / SPLIT / file_name, quality=90
        )
        images.append({"id": image_id, "file_name": file_name, "width": w, "height": h})
        for _ in range(1 + index % 3):
            words = rng.choice(WORDS, size=int(rng.integers(4, 12)))
            caption = f"a photo of {name}: " + " ".join(words) + "."
            annotations.append({"id": 5000 + len(annotations), "image_id": image_id, "caption": caption})
    data = {"info": {"description": "scikit-image crops"}, "images": images, "annotations": annotations}
    (root / "annotations" / f"captions_{SPLIT}.json").write_text(json.dumps(data))
    return {"images": len(images), "captions": len(annotations), "layout": "coco", "split": SPLIT,
            "photos": [name for name, _ in photos]}


def write_tiny_sentence_model(path: Path) -> dict[str, Any]:
    """A 2-layer, 64-wide BERT with random weights (seeded) and a word-level vocabulary, saved as a
    sentence-transformers directory (transformer + mean pooling + normalize)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    try:  # sentence-transformers >= 6 (`sentence_transformers.models` is deprecated there)
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:
        from sentence_transformers.models import Normalize, Pooling, Transformer

    bert_dir = path.parent / f"{path.name}-bert"
    bert_dir.mkdir(parents=True)
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS)), *letters,
             *".,:;!?'-_", *(f"##{c}" for c in letters)]
    (bert_dir / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    BertTokenizerFast(vocab_file=str(bert_dir / "vocab.txt"), do_lower_case=True).save_pretrained(str(bert_dir))
    config = BertConfig(vocab_size=len(dict.fromkeys(vocab)), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=128, max_position_embeddings=128)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        BertModel(config).eval().save_pretrained(str(bert_dir))
    modules = [Transformer(str(bert_dir), max_seq_length=64), Pooling(config.hidden_size, "mean"), Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(path))
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return {"hidden": 64, "layers": 2, "vocab": config.vocab_size, "bytes": size}


# -- numerics --


def compare(cpu: np.ndarray, dev: np.ndarray) -> dict[str, Any]:
    """Max abs difference, the same relative to max |cpu|, and the smallest per-row cosine."""
    cpu, dev = np.asarray(cpu, np.float64), np.asarray(dev, np.float64)
    assert cpu.shape == dev.shape, (cpu.shape, dev.shape)
    diff = float(np.abs(cpu - dev).max())
    scale = float(np.abs(cpu).max())
    flat_cpu, flat_dev = cpu.reshape(len(cpu), -1), dev.reshape(len(dev), -1)
    norms = np.linalg.norm(flat_cpu, axis=1) * np.linalg.norm(flat_dev, axis=1)
    # Rows that are zero on both devices (word-embeddings' pause rows) count as identical.
    cos = np.where(norms > 0, (flat_cpu * flat_dev).sum(1) / np.maximum(norms, 1e-300), 1.0)
    return {"rows": int(cpu.shape[0]), "shape": list(cpu.shape), "max_abs": diff, "max_rel": diff / max(scale, 1e-30),
            "min_cos": float(cos.min()), "cpu_scale": scale}


@contextlib.contextmanager
def fp32_precision(mode: str) -> Iterator[None]:
    """mode='default': PyTorch's settings as found; 'ieee': no TF32 for cuDNN convolutions and
    matmuls. Uses the `fp32_precision` API where torch has it (mixing it with the legacy
    `allow_tf32` flags is an error in recent torch), else `allow_tf32`."""
    import torch

    if mode == "default":
        yield
        return
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        saved = conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision
        conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision = "ieee", "ieee"
        try:
            yield
        finally:
            conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision = saved
    else:
        saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        try:
            yield
        finally:
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def precision_settings() -> dict[str, Any]:
    import torch

    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        return {"cudnn.conv.fp32_precision": conv.fp32_precision,
                "cuda.matmul.fp32_precision": torch.backends.cuda.matmul.fp32_precision}
    return {"cudnn.allow_tf32": torch.backends.cudnn.allow_tf32, "cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32}


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: str, repeats: int = 3) -> tuple[Any, float, float]:
    """(result of the first call, first call's seconds (model load, autotuning), best later call's seconds)."""
    start = time.perf_counter()
    result = fn()
    synchronize(device)
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return result, first, best


# -- the checks --


class Checks:
    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []

    def add(self, name: str, ok: bool, **detail: Any) -> bool:
        self.results.append({"name": name, "ok": bool(ok), **detail})
        print(f"[{'ok' if ok else 'FAIL'}] {name} {json.dumps(detail, default=str)[:300]}", file=sys.stderr, flush=True)
        return bool(ok)

    def within(self, name: str, stats: dict[str, Any], tol: float, min_cos: float | None = None) -> bool:
        ok = stats["max_rel"] <= tol and (min_cos is None or stats["min_cos"] >= min_cos)
        return self.add(name, ok, tol_rel=tol, min_cos_required=min_cos, **stats)

    def guard(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run one part; an exception is a failed check (the other parts still run)."""
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - reported in the summary
            self.add(name, False, error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc(limit=6))
            return None


def environment_info(device: str) -> dict[str, Any]:
    import torch
    import torchvision

    info: dict[str, Any] = {
        "python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
        "cuda_available": torch.cuda.is_available(), "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cpu_threads": torch.get_num_threads(), "device": device, "precision_defaults": precision_settings(),
    }
    for name in ("torchaudio", "av", "transformers", "sentence_transformers"):
        with contextlib.suppress(ImportError):
            info[name] = __import__(name).__version__
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
        info["cuda_devices"] = torch.cuda.device_count()
    return info


def check_device_resolution(checks: Checks, corpus: Path) -> None:
    import torch

    from mmdata.errors import ConfigError
    from mmdata.features import create_extractor
    from mmdata.features.image_models import resolve_device

    # CUDA devices resolve numbered: 'auto' and 'cuda' are the current device, 'cuda:<current>'.
    expected = f"cuda:{torch.cuda.current_device()}" if torch.cuda.is_available() else "cpu"
    checks.add("resolve_device(auto)", resolve_device("auto") == expected, got=resolve_device("auto"), expected=expected)
    model, resolved = create_extractor(f"resnet18:weights=random,seed={SEED},device=auto").load_model()
    param_device = str(next(model.parameters()).device)
    checks.add("resnet18 device=auto loads on", resolved == expected and param_device.startswith(expected),
               resolved=resolved, parameters_on=param_device)
    if torch.cuda.is_available():
        # The same model on 'auto', 'cuda' and 'cuda:0' (one physical device): the same features.
        decoder = create_extractor(f"resnet18:weights=random,seed={SEED}")
        items = [decoder.decode({"sample_id": p.stem, "image": f"{SPLIT}/{p.name}"}, corpus)
                 for p in sorted((corpus / SPLIT).glob("*.jpg"))[:4]]
        outputs = {}
        for spec in ("cuda", "cuda:0", "auto"):
            extractor = create_extractor(f"resnet18:weights=random,seed={SEED},device={spec}")
            outputs[spec] = np.stack(extractor.compute(items))
            resolved = extractor.load_model()[1]
            on = str(next(extractor.load_model()[0].parameters()).device)
            checks.add(f"resnet18 device={spec} runs on cuda", resolved.startswith("cuda") and on.startswith("cuda"),
                       resolved=resolved, parameters_on=on)
        spread = max(float(np.abs(outputs[s] - outputs["cuda"]).max()) for s in outputs)
        checks.add("resnet18 cuda / cuda:0 / auto give the same features", spread <= TOL_FP32 * float(np.abs(outputs["cuda"]).max()),
                   max_abs=spread)
    missing = f"cuda:{torch.cuda.device_count() if torch.cuda.is_available() else 0}"
    try:
        create_extractor(f"resnet18:weights=random,device={missing}").load_model()
        checks.add(f"device={missing} (absent) is a ConfigError", False, raised=None)
    except ConfigError as e:
        checks.add(f"device={missing} (absent) is a ConfigError", True, message=str(e))


def pipeline_run(corpus: Path, out: Path, extractors: list[str]) -> tuple[Any, float]:
    from mmdata.pipeline import extract

    start = time.perf_counter()
    report = extract("coco", corpus, out, extractors=extractors, split=SPLIT, batch_size=8,
                     num_workers=min(4, os.cpu_count() or 1), on_error="fail")
    return report, time.perf_counter() - start


def read_features(dataset_dir: Path, table: str) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    from mmdata.store.reader import open_dataset

    data = open_dataset(dataset_dir)
    rows = data.table(table).to_table()
    features = np.stack(rows.column("feature").to_numpy(zero_copy_only=False)).astype(np.float32)
    return rows.column("sample_id").to_pylist(), features, {"config": data.entry(table).config,
                                                            "runtime": data.table_metadata(table).get("runtime")}


def check_pipeline(checks: Checks, summary: dict[str, Any], corpus: Path, work: Path, device: str,
                   text_model: Path | None) -> None:
    """ResNet-18 (and minilm when the text model exists) through `mmdata.pipeline.extract` on both devices."""
    tables = {"image.resnet18": f"resnet18:weights=random,seed={SEED}"}
    if text_model is not None:
        tables["text.minilm"] = f"minilm:model={text_model}"
    runs = {}
    for label, dev in (("cpu", "cpu"), ("device", device)):
        report, seconds = pipeline_run(corpus, work / f"dataset-{label}", [f"{spec},device={dev}" for spec in tables.values()])
        runs[label] = report
        summary["pipeline"][f"{label}_seconds"] = round(seconds, 3)
        checks.add(f"pipeline on {dev}: no errors", all(t.errors == 0 for t in report.tables),
                   samples=report.samples, errors={t.name: t.errors for t in report.tables})
    for table in tables:
        ids_cpu, cpu, meta_cpu = read_features(runs["cpu"].dataset_dir, table)
        ids_dev, dev, meta_dev = read_features(runs["device"].dataset_dir, table)
        stats = compare(cpu, dev)
        stats["dim"] = int(cpu.shape[1])
        summary["pipeline"][table] = stats
        checks.add(f"pipeline {table}: same samples on both devices", ids_cpu == ids_dev, rows=len(ids_cpu))
        checks.add(f"pipeline {table}: device is runtime, config identical",
                   meta_cpu["config"] == meta_dev["config"] and (meta_dev["runtime"] or {}).get("device") == device,
                   config=meta_cpu["config"], runtime_cpu=meta_cpu["runtime"], runtime_device=meta_dev["runtime"])
        if table == "image.resnet18":  # cuDNN's TF32 convolutions (PyTorch's default)
            checks.within(f"pipeline {table}: cpu vs {device} (default precision)", stats, TOL_TF32, MIN_COS_TF32)
        else:
            checks.within(f"pipeline {table}: cpu vs {device} (default precision)", stats, TOL_FP32)


def rows_of(outputs: list[Any]) -> np.ndarray:
    """An extractor's outputs as one (rows, dim) array: vectors stacked, sequences' rows joined."""
    return np.concatenate([out[0] if isinstance(out, tuple) else np.asarray(out)[None] for out in outputs])


def seconds(first: float, best: float) -> dict[str, float]:
    return {"first": round(first, 4), "best": round(best, 4)}


def check_against_cpu(checks: Checks, name: str, spec: str, items: list[Any], device: str, tf32_convs: bool,
                      repeats: int) -> dict[str, Any]:
    """One extractor on decoded `items`: CPU vs device at default precision and with TF32 off, each
    timed (first call, best of `repeats` more), and where the model's parameters are. `tf32_convs`: the
    model convolves, so PyTorch's default (TF32 convolutions) gets the looser tolerance."""
    from mmdata.features import create_extractor

    cpu_extractor = create_extractor(f"{spec},device=cpu")
    cpu, first, best = timed(lambda: rows_of(cpu_extractor.compute(items)), "cpu", repeats)
    result: dict[str, Any] = {"dim": int(cpu.shape[1]), "rows": int(cpu.shape[0]), "cpu_seconds": seconds(first, best)}
    for mode in ("default", "ieee"):
        with fp32_precision(mode):
            extractor = create_extractor(f"{spec},device={device}")
            dev, first, best = timed(lambda: rows_of(extractor.compute(items)), device, repeats)
        stats = compare(cpu, dev)
        stats["device_seconds"] = seconds(first, best)
        result[mode] = stats
        loose = mode == "default" and tf32_convs
        checks.within(f"{name}: cpu vs {device} ({mode} precision)", stats,
                      TOL_TF32 if loose else TOL_FP32, MIN_COS_TF32 if loose else None)
    on = str(next(extractor.load_model()[0].parameters()).device)
    checks.add(f"{name} device={device} model is on it", on.startswith(device.split(":")[0]), parameters_on=on)
    return result


def check_image_models(checks: Checks, summary: dict[str, Any], corpus: Path, device: str, models: list[str],
                       repeats: int) -> None:
    """Each backbone through the extractor API on the corpus's images."""
    from mmdata.features import create_extractor

    rows = [{"sample_id": p.stem, "image": f"{SPLIT}/{p.name}", "captions": [], "transcript": None}
            for p in sorted((corpus / SPLIT).glob("*.jpg"))]
    for name in models:
        spec = f"{name}:weights=random,seed={SEED}"
        decoder = create_extractor(spec)
        items = [decoder.decode(row, corpus) for row in rows]
        summary["image"][name] = checks.guard(name, lambda: check_against_cpu(
            checks, name, spec, items, device, name in TF32_MODELS, repeats))


def names(value: str) -> list[str]:
    """A comma-separated option as a list ('' is none)."""
    return [name for name in value.split(",") if name]


def registered(family: type) -> list[str]:
    """The registered extractors of a family (subclasses of `family`), by name."""
    from mmdata.features import available_extractors, get_extractor_class

    return [name for name in available_extractors() if issubclass(get_extractor_class(name), family)]


def tiny_clips(name: str) -> tuple[str, list[Any]]:
    """The spec and decoded items of a clip model's tiny input: random crops of its crop size, in
    clips of its fewest frames (at least 8), one sample per count in CLIPS_PER_SAMPLE (S3D's batches
    of 2 then split a sample). Decoding runs on the CPU on any device, so it is left out."""
    from mmdata.features import create_extractor
    from mmdata.features.video_models import DecodedClips

    base = f"{name}:weights=random,seed={SEED}"
    spec = f"{base},clip_frames={max(8, create_extractor(base).preprocessing().min_frames)}"
    extractor = create_extractor(spec)
    frames, (height, width) = extractor.config.clip_frames, extractor.preprocessing().crop_size
    rng = np.random.default_rng(SEED)
    items = []
    for clips in CLIPS_PER_SAMPLE:
        starts = np.arange(clips) * frames
        intervals = np.stack([starts, starts + frames], axis=1) / extractor.config.fps
        pixels = rng.integers(0, 256, (clips * frames, height, width, 3), dtype=np.uint8)
        items.append(DecodedClips(pixels, starts, intervals))
    return spec, items


def tiny_waveforms() -> list[Any]:
    """A noisy chirp per length in AUDIO_SECONDS at 16 kHz, as the speech models' decode gives it."""
    from mmdata.features.speech_models import SAMPLE_RATE
    from mmdata.media.audio import AudioSegment

    rng = np.random.default_rng(SEED)
    items = []
    for index, duration in enumerate(AUDIO_SECONDS):
        t = np.arange(int(duration * SAMPLE_RATE)) / SAMPLE_RATE
        wave = 0.3 * np.sin(2 * np.pi * (200 + 400 * t) * t) + rng.normal(0, 0.02, t.shape)
        items.append(AudioSegment(wave.astype(np.float32), SAMPLE_RATE, 0.0, f"chirp{index}.wav"))
    return items


def check_video_models(checks: Checks, summary: dict[str, Any], device: str, models: list[str], repeats: int) -> None:
    """Each clip model (3D convolutions: the TF32 tolerance at default precision) on its tiny clips."""
    for name in models:
        summary["video"][name] = checks.guard(
            name, lambda: check_against_cpu(checks, name, *tiny_clips(name), device, True, repeats))


def check_speech_models(checks: Checks, summary: dict[str, Any], device: str, models: list[str], repeats: int) -> None:
    """Each speech model's last layer, frame by frame, on the chirps (its convolutional front end: the
    TF32 tolerance at default precision)."""
    items = tiny_waveforms()
    for name in models:
        spec = f"{name}:weights=random,seed={SEED}"
        summary["speech"][name] = checks.guard(
            name, lambda: check_against_cpu(checks, name, spec, items, device, True, repeats))


def check_clip_models(checks: Checks, summary: dict[str, Any], corpus: Path, device: str, model_dir: Path,
                      repeats: int) -> None:
    """`clip` on the corpus's images (its patch embedding convolves: the TF32 tolerance at default
    precision) and `clip-text` on its captions, one caption per item (matmuls only: the fp32 tolerance)."""
    from mmdata.features import create_extractor

    rows = [{"sample_id": p.stem, "image": f"{SPLIT}/{p.name}", "captions": [], "transcript": None}
            for p in sorted((corpus / SPLIT).glob("*.jpg"))]
    spec = f"clip:model={model_dir}"
    decoder = create_extractor(spec)
    decoder.check_ready()
    items = [decoder.decode(row, corpus) for row in rows]
    summary["clip"]["clip"] = checks.guard("clip", lambda: check_against_cpu(checks, "clip", spec, items, device, True,
                                                                             repeats))
    annotations = json.loads((corpus / "annotations" / f"captions_{SPLIT}.json").read_text())["annotations"]
    captions = [[a["caption"]] for a in annotations]
    text_spec = f"clip-text:model={model_dir}"
    summary["clip"]["clip-text"] = checks.guard("clip-text", lambda: check_against_cpu(
        checks, "clip-text", text_spec, captions, device, False, repeats))


def write_tiny_clip_model(path: Path) -> dict[str, Any]:
    """The tests' tiny CLIP checkpoint (random weights under SEED), 4 layers of width 64."""
    from tests.fakes.clip_model import write_tiny_clip

    write_tiny_clip(path, seed=SEED, width=64, layers=4)
    config = json.loads((path / "config.json").read_text())
    return {"width": 64, "layers": 4, "projection_dim": config["projection_dim"],
            "bytes": sum(f.stat().st_size for f in path.rglob("*") if f.is_file())}


def check_text_models(checks: Checks, summary: dict[str, Any], corpus: Path, device: str, model_dir: Path,
                      repeats: int) -> None:
    """minilm (per caption) and word-embeddings through the extractor API, CPU vs device."""
    import torch

    from mmdata.features import create_extractor

    annotations = json.loads((corpus / "annotations" / f"captions_{SPLIT}.json").read_text())["annotations"]
    captions = [a["caption"] for a in annotations]
    for mode in ("default", "ieee"):
        with fp32_precision(mode):
            per_device = {}
            for dev in ("cpu", device):
                extractor = create_extractor(f"minilm:model={model_dir},level=caption,device={dev}")
                vectors, first, best = timed(lambda: extractor.embed(captions), dev, repeats)
                loaded_on = str(extractor.load_model().device)
                per_device[dev] = (vectors, first, best, loaded_on)
            stats = compare(per_device["cpu"][0], per_device[device][0])
            stats.update(dim=int(per_device["cpu"][0].shape[1]), model_on=per_device[device][3],
                         cpu_seconds={"first": round(per_device["cpu"][1], 4), "best": round(per_device["cpu"][2], 4)},
                         device_seconds={"first": round(per_device[device][1], 4), "best": round(per_device[device][2], 4)})
            summary["text"][f"minilm.caption/{mode}"] = stats
            if mode == "default":
                auto_on = str(create_extractor(f"minilm:model={model_dir},device=auto").load_model().device)
                expected = "cuda" if torch.cuda.is_available() else "cpu"
                checks.add("minilm device=auto loads on", auto_on.startswith(expected), model_on=auto_on, expected=expected)
                checks.add(f"minilm device={device} model is on it", per_device[device][3].startswith(device.split(":")[0]),
                           model_on=per_device[device][3])
            checks.within(f"minilm captions: cpu vs {device} ({mode} precision)", stats, TOL_FP32)

    words_rows = []
    for index, caption in enumerate(captions[:12]):
        words = caption.replace(":", " ").replace(".", " ").split()
        entries = [[w if i % 5 else "sp", 0.3 * i, 0.3 * i + 0.25] for i, w in enumerate(words)]
        words_rows.append({"sample_id": f"w{index}", "extra": {"words": entries}})
    outputs = {}
    for dev in ("cpu", device):
        extractor = create_extractor(f"word-embeddings:model={model_dir},device={dev}")
        items = [extractor.decode(row, corpus) for row in words_rows]
        outputs[dev] = np.concatenate([vectors for vectors, _ in extractor.compute(items)])
        loaded_on = str(next(extractor._load_model().transformer.parameters()).device)
    stats = compare(outputs["cpu"], outputs[device])
    stats.update(dim=int(outputs["cpu"].shape[1]), model_on=loaded_on)
    summary["text"]["word-embeddings"] = stats
    checks.add(f"word-embeddings device={device} model is on it", loaded_on.startswith(device.split(":")[0]), model_on=loaded_on)
    checks.within(f"word-embeddings: cpu vs {device} (default precision)", stats, TOL_FP32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="device compared with the CPU: cuda, cuda:N, auto or cpu")
    parser.add_argument("--images", type=int, default=16, help="images in the corpus")
    parser.add_argument("--models", default=",".join(IMAGE_MODELS), help="image backbones for the extractor-API check")
    parser.add_argument("--skip-text", action="store_true", help="skip the sentence-transformers checks")
    parser.add_argument("--skip-clip", action="store_true", help="skip the clip / clip-text checks")
    parser.add_argument("--video-models", default=None, help="video clip models, comma-separated ('' for none; default: all)")
    parser.add_argument("--speech-models", default=None, help="speech models, comma-separated ('' for none; default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls after the first, per model and device")
    parser.add_argument("--out", default=os.environ.get("OUT"), help="folder for gpu_check.json (default: $OUT)")
    args = parser.parse_args(argv)

    import torch

    from mmdata.features.image_models import check_device, resolve_device
    from mmdata.features.speech_models import SpeechModel
    from mmdata.features.video_models import TorchvisionClipModel

    check_device(args.device)
    device = resolve_device(args.device) if args.device == "auto" else args.device
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device.startswith("cuda") and int(device.partition(":")[2] or 0) >= gpus:
        seen = f"{gpus} CUDA GPU(s), numbered from 0" if gpus else "no CUDA GPU"
        print(json.dumps({"ok": False, "error": f"device {device!r} asked for, but torch sees {seen}"}))
        return 2
    video_models = registered(TorchvisionClipModel) if args.video_models is None else names(args.video_models)
    speech_models = registered(SpeechModel) if args.speech_models is None else names(args.speech_models)

    started = time.perf_counter()
    checks = Checks()
    summary: dict[str, Any] = {"env": environment_info(device), "tolerances": {
        "fp32_rel": TOL_FP32, "tf32_conv_rel": TOL_TF32, "tf32_conv_min_cos": MIN_COS_TF32,
        "rel": "max|cpu-dev| / max|cpu|"}, "pipeline": {}, "image": {}, "text": {}, "clip": {}, "video": {},
        "speech": {}}
    with tempfile.TemporaryDirectory(prefix="mmdata-gpu-check-") as tmp:
        work = Path(tmp)
        corpus = work / "coco"
        summary["corpus"] = write_corpus(corpus, args.images)
        text_model = None
        if not args.skip_text:
            text_model = work / "tiny-st"
            summary["text"]["model"] = checks.guard("build tiny sentence-transformers model",
                                                    lambda: write_tiny_sentence_model(text_model))
            if summary["text"]["model"] is None:
                text_model = None
        checks.guard("device resolution", lambda: check_device_resolution(checks, corpus))
        checks.guard("pipeline", lambda: check_pipeline(checks, summary, corpus, work, device, text_model))
        checks.guard("image models", lambda: check_image_models(checks, summary, corpus, device, names(args.models),
                                                                args.repeats))
        if text_model is not None:
            checks.guard("text models", lambda: check_text_models(checks, summary, corpus, device, text_model, args.repeats))
        if not args.skip_clip:
            clip_model = work / "tiny-clip"
            summary["clip"]["model"] = checks.guard("build tiny CLIP model", lambda: write_tiny_clip_model(clip_model))
            if summary["clip"]["model"] is not None:
                checks.guard("clip models", lambda: check_clip_models(checks, summary, corpus, device, clip_model,
                                                                      args.repeats))
        checks.guard("video models", lambda: check_video_models(checks, summary, device, video_models, args.repeats))
        checks.guard("speech models", lambda: check_speech_models(checks, summary, device, speech_models, args.repeats))
    summary["precision_after"] = precision_settings()
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["failed"] = [c["name"] for c in checks.results if not c["ok"]]
    summary["checks"] = checks.results
    summary["ok"] = not summary["failed"]
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "gpu_check.json").write_text(json.dumps(summary, indent=1, default=str))
    # On stdout the checks are names only: their numbers are in the sections above (and the file).
    short = {**summary, "checks": {c["name"]: c["ok"] for c in checks.results}}
    print(json.dumps(short, default=str))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
