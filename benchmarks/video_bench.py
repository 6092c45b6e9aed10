"""Video frames: mmdata `video-frames` vs the per-file loop a user would write with torchcodec.

Task: sample frames at 2 fps from short H.264 clips (640 x 360, 30 fps, real photographic content:
scikit-image photographs panned under the frame) and compute a 16-bin colour histogram per frame,
kept as a sequence per clip.

  torchcodec   the loop a user writes today (`torchvision.io.read_video` is gone): per clip,
               `VideoDecoder(path).get_frames_played_at(times)` for the sampling instants, then the
               histogram of each frame with NumPy, in one process
  mmdata       `mmdata.extract("manifest", ..., extractors=["video-frames:image_extractor=color-hist,
               fps=2,image_options=decode_size=0"])`: load the manifest, decode in worker processes,
               write the sequence table and the manifest (the executor's default)
  mmdata-png   the same with an image extractor of one's own that reads files only (frames reach
               it as temporary PNGs, as every image extractor's did before `decode_pixels`)

Methods run interleaved, in a shuffled order per round; medians of `--runs` rounds. The histograms of
both sides are compared (the same frames, the same definition).

    python benchmarks/video_bench.py [--clips 24] [--seconds 8] [--runs 5] [--quick]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA_DIR, PHOTOS, print_table, shuffled_rounds, write_results  # noqa: E402

from mmdata import extract, open_dataset  # noqa: E402
from mmdata.features import Extractor, register_extractor  # noqa: E402
from mmdata.features.image_stats import ColorHistogram, histogram_from_counts  # noqa: E402
from mmdata.media.image import open_image  # noqa: E402

WIDTH, HEIGHT, RATE = 640, 360, 30
FPS = 2.0
BINS = 16
FRAMES_SPEC = f"video-frames:image_extractor=color-hist,fps={FPS:g},image_options=decode_size=0"
PNG_SPEC = f"video-frames:image_extractor=bench-file-only-color-hist,fps={FPS:g},image_options=decode_size=0"


@register_extractor
class FileOnlyColorHistogram(ColorHistogram):
    """color-hist as an image extractor of one's own that reads files only (no `decode_pixels`)."""

    name: ClassVar[str] = "bench-file-only-color-hist"
    decode_pixels = Extractor.decode_pixels

    def decode(self, row: dict[str, Any], corpus_root: Path) -> np.ndarray:
        image = open_image(Path(corpus_root) / row["image"], min_size=self.config.decode_size or None)
        return histogram_from_counts(np.asarray(image.histogram()), self.config.bins)


def make_clips(num_clips: int, seconds: float, seed: int = 0) -> Path:
    """A manifest corpus of `num_clips` H.264 clips: a photograph (scikit-image's, scaled up) panned
    under a 640 x 360 window, cached on disk."""
    import av
    import skimage.data
    from PIL import Image

    root = DATA_DIR / f"video-{num_clips}-{seconds:g}s-{WIDTH}x{HEIGHT}-s{seed}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    (root / "videos").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    lines = []
    for index in range(num_clips):
        photo = np.asarray(getattr(skimage.data, PHOTOS[index % len(PHOTOS)])())
        photo = np.stack([photo] * 3, axis=-1) if photo.ndim == 2 else photo[..., :3]
        big = np.asarray(Image.fromarray(photo).resize((WIDTH * 2, HEIGHT * 2), Image.BILINEAR))
        dx, dy = rng.uniform(-3, 3, 2)
        x, y = rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT)
        name = f"videos/clip{index:04d}.mp4"
        with av.open(str(root / name), mode="w") as container:
            stream = container.add_stream("libx264", rate=RATE)
            stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
            stream.options = {"crf": "23", "preset": "veryfast"}
            for _ in range(int(seconds * RATE)):
                x, y = float(np.clip(x + dx, 0, WIDTH)), float(np.clip(y + dy, 0, HEIGHT))
                frame = np.ascontiguousarray(big[int(y) : int(y) + HEIGHT, int(x) : int(x) + WIDTH])
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode(None))
        lines.append(f'{{"id": "clip{index:04d}", "video": "{name}", "split": "train"}}')
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    (root / ".complete").touch()
    return root


def histogram(frame: np.ndarray) -> np.ndarray:
    """The colour-histogram feature of an H x W x 3 uint8 frame, as a user writes it with NumPy."""
    counts = np.stack([np.bincount(frame[..., c].reshape(-1), minlength=256) for c in range(3)]).astype(np.float64)
    reduced = counts.reshape(3, BINS, 256 // BINS).sum(axis=2)
    return (reduced / counts[0].sum()).astype(np.float32).reshape(-1)


def torchcodec_loop(corpus: Path) -> dict[str, np.ndarray]:
    """The baseline: per clip, the frames played at t = k / fps, decoded by torchcodec, then NumPy."""
    from torchcodec.decoders import VideoDecoder

    out = {}
    for path in sorted((corpus / "videos").glob("*.mp4")):
        decoder = VideoDecoder(str(path), seek_mode="exact")
        meta = decoder.metadata
        first, end = float(meta.begin_stream_seconds), float(meta.end_stream_seconds)
        times = first + np.arange(int(np.ceil((end - first) * FPS - 1e-9))) / FPS
        frames = decoder.get_frames_played_at(seconds=times.tolist()).data.permute(0, 2, 3, 1).numpy()
        out[path.stem] = np.stack([histogram(frame) for frame in frames])
    return out


def run_mmdata(corpus: Path, output: Path, spec: str) -> None:
    shutil.rmtree(output, ignore_errors=True)
    report = extract("manifest", corpus, output, extractors=[spec], batch_size=8)
    assert all(t.errors == 0 for t in report.tables), report


def compare(output: Path, table: str, baseline: dict[str, np.ndarray]) -> dict[str, Any]:
    """Frames per clip and the largest histogram difference against the baseline."""
    data = open_dataset(output).table(table).to_table()
    worst, frames, count_differs = 0.0, 0, []
    for sample_id, feature in zip(data.column("sample_id").to_pylist(), data.column("feature").to_pylist()):
        ours, theirs = np.asarray(feature, np.float32), baseline[sample_id]
        if ours.shape != theirs.shape:
            count_differs.append([sample_id, len(ours), len(theirs)])
            n = min(len(ours), len(theirs))
            ours, theirs = ours[:n], theirs[:n]
        worst = max(worst, float(np.abs(ours - theirs).max()))
        frames += len(ours)
    return {"max_abs_difference": worst, "frames_compared": frames, "frame_counts_differ": count_differs}


def measure(corpus: Path, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mmdata-video-bench-") as tmp:
        out, png_out = Path(tmp) / "out", Path(tmp) / "png"
        calls = {"torchcodec": lambda: torchcodec_loop(corpus), "mmdata": lambda: run_mmdata(corpus, out, FRAMES_SPEC),
                 "mmdata_png": lambda: run_mmdata(corpus, png_out, PNG_SPEC)}
        for call in calls.values():  # warm-ups: imports, file cache, the worker pools' fork server
            call()
        wall = shuffled_rounds(calls, runs)
        baseline = torchcodec_loop(corpus)
        agreement = compare(out, "video.frames-color-hist", baseline)
        png_agreement = compare(png_out, "video.frames-bench-file-only-color-hist", baseline)
    medians = {k: statistics.median(v) for k, v in wall.items()}
    return {"wall_s": medians, "wall_runs_s": wall, "speedup": medians["torchcodec"] / medians["mmdata"],
            "speedup_png_round_trip": medians["torchcodec"] / medians["mmdata_png"],
            "decode_pixels_gain": medians["mmdata_png"] / medians["mmdata"],
            "agreement": agreement, "png_round_trip_agreement": png_agreement}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="4 clips of 3 s, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.clips, args.seconds, args.runs = 4, 3.0, 1
    corpus = make_clips(args.clips, args.seconds)
    results = {"clips": args.clips, "seconds_per_clip": args.seconds, "size": [WIDTH, HEIGHT], "rate": RATE,
               "sample_fps": FPS, "runs": args.runs, **measure(corpus, args.runs)}
    frames = results["agreement"]["frames_compared"]
    rows = [("method", "median wall s", "frames/s", "vs torchcodec loop")]
    for key, label in (("torchcodec", "torchcodec per-file loop"), ("mmdata", "mmdata extract (decode_pixels)"),
                       ("mmdata_png", "mmdata extract (PNG round trip)")):
        seconds = results["wall_s"][key]
        rows.append((label, f"{seconds:.2f}", f"{frames / seconds:.0f}", f"{results['wall_s']['torchcodec'] / seconds:.2f}x"))
    print_table(rows)
    print(f"histograms: max |difference| {results['agreement']['max_abs_difference']:.2e} over {frames} frames; "
          f"frame counts differ for {len(results['agreement']['frame_counts_differ'])} clips")
    if not args.quick:
        print("wrote", write_results("video", results))


if __name__ == "__main__":
    main()
