"""Clip features of torchvision's video models (`r3d-18`, `s3d`, ...): clips cut from frames sampled at
`fps`, preprocessed as the weights' transforms preprocess them, one row per clip or their mean."""
from __future__ import annotations

import json
import pickle
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import pytest
import torch
import torchvision
from torchvision.transforms import functional as F
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, MissingWeightsError
from mmdata.features import create_extractor
from mmdata.features.video_models import clip_starts, resize_center_crop_frame
from mmdata.media.video import read_video_frames
from mmdata.store import open_dataset
from mmdata.store.files import sha256_file

runner = CliRunner()
FPS, CLIP = 8, 8  # clips of 1 s: small enough for the models on a CPU
R3D = f"r3d-18:weights=random,seed=0,fps={FPS},clip_frames={CLIP}"
S3D = f"s3d:weights=random,seed=0,fps={FPS},clip_frames=14"  # S3D takes 14 frames or more


def write_textured_clip(path, *, seconds: float, rate: int = 10, size=(48, 64), seed: int = 0):
    """A near-lossless MPEG-4 clip of `seconds` at `rate` fps: noise over a gradient that moves each frame,
    so the resize and the frames' order both show in the features."""
    import av

    rng = np.random.default_rng(seed)
    height, width = size
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"qmin": "1", "qmax": "3"}
        for index in range(round(seconds * rate)):
            ramp = (np.add.outer(np.arange(height), np.arange(width)) * 3 + 17 * index) % 256
            rgb = np.clip(ramp[..., None] + rng.integers(-40, 40, (height, width, 3)), 0, 255).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    write_textured_clip(root / "long.mp4", seconds=2.0)
    write_textured_clip(root / "short.mp4", seconds=0.5, size=(40, 56), seed=1)
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    rows = [{"id": "long", "video": "long.mp4"}, {"id": "short", "video": "short.mp4"},
            {"id": "middle", "video": "long.mp4", "start": 0.5, "end": 1.5}, {"id": "broken", "video": "broken.mp4"}]
    (root / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


@pytest.fixture(scope="module")
def extracted(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "dataset"
    result = runner.invoke(app, ["extract", "manifest", str(corpus), str(out), "--video", R3D,
                                 "--video", f"{R3D},pool=mean", "--video", S3D, "-j", "1", "-q"])
    assert result.exit_code == 0, result.output
    return open_dataset(out)


def sequences(dataset, table):
    ids, offsets, values, intervals = dataset.read_sequences(table)
    return {i: (values[offsets[k] : offsets[k + 1]], intervals[offsets[k] : offsets[k + 1]]) for k, i in enumerate(ids)}


def reference_features(arch, path, *, start=None, end=None, clip_frames, seed=0):
    """Each clip's features computed directly with torchvision: the raw frames PyAV gives at FPS, the last
    repeated to fill a clip, through `weights.transforms()` and the model without its classifier."""
    raw = np.stack(read_video_frames(path, fps=FPS, start=start, end=end).frames)
    starts = clip_starts(len(raw), clip_frames, clip_frames, "pad")
    transforms = torchvision.models.get_model_weights(arch).DEFAULT.transforms()
    clips = [torch.from_numpy(raw[np.minimum(np.arange(s, s + clip_frames), len(raw) - 1)]).permute(0, 3, 1, 2)
             for s in starts]
    torch.manual_seed(seed)
    model = torchvision.models.get_model(arch, weights=None)
    setattr(model, "classifier" if arch == "s3d" else "fc", torch.nn.Identity())
    with torch.inference_mode():
        return model.eval()(torch.stack([transforms(clip) for clip in clips])).numpy()


def test_one_row_per_clip_with_its_interval_a_short_video_padded_to_one_clip(extracted):
    spec = extracted.spec("video.r3d-18")
    assert (spec.kind, spec.dim, spec.intervals, spec.frame_rate, spec.frame_window, spec.item_axis) == \
        ("sequence", 512, True, 1.0, 1.0, "time")
    rows = sequences(extracted, "video.r3d-18")
    assert set(rows) == {"long", "short", "middle"}
    expected = {"long": [[0, 1], [1, 2]], "short": [[0, 0.5]], "middle": [[0.5, 1.5]]}
    for sample_id, intervals in expected.items():
        features, got = rows[sample_id]
        assert features.shape == (len(intervals), 512) and np.isfinite(features).all()
        np.testing.assert_allclose(got, intervals, atol=1e-9)
    assert not np.allclose(rows["long"][0][0], rows["long"][0][1])  # the clips differ


def test_features_equal_torchvisions_on_the_same_frames(extracted, corpus):
    rows = sequences(extracted, "video.r3d-18")
    for sample_id, segment in (("long", {}), ("short", {}), ("middle", {"start": 0.5, "end": 1.5})):
        video = corpus / f"{sample_id if sample_id != 'middle' else 'long'}.mp4"
        reference = reference_features("r3d_18", video, clip_frames=CLIP, **segment)
        np.testing.assert_allclose(rows[sample_id][0], reference, rtol=1e-4, atol=1e-5)


def test_s3d_gives_1024_d_clips_equal_to_torchvisions(extracted, corpus):
    rows = sequences(extracted, "video.s3d")
    assert extracted.spec("video.s3d").dim == 1024
    features, intervals = rows["long"]  # 16 frames: a whole clip of 14, then the last 2 padded
    assert features.shape == (2, 1024)
    np.testing.assert_allclose(intervals, [[0, 14 / FPS], [14 / FPS, 2]], atol=1e-9)
    reference = reference_features("s3d", corpus / "short.mp4", clip_frames=14)
    np.testing.assert_allclose(rows["short"][0], reference, rtol=1e-4, atol=1e-5)


def test_mean_pooling_is_the_mean_of_the_clip_rows(extracted):
    rows = sequences(extracted, "video.r3d-18")
    ids, pooled = extracted.to_numpy("video.r3d-18-mean")
    assert pooled.shape == (3, 512) and extracted.spec("video.r3d-18-mean").kind == "pooled"
    for sample_id, vector in zip(ids, pooled):
        np.testing.assert_allclose(vector, rows[sample_id][0].mean(axis=0), rtol=1e-6, atol=1e-7)


def test_an_unreadable_video_fails_its_item_into_the_errors_table(extracted):
    errors = [e for e in extracted.errors().to_pylist() if e["sample_id"] == "broken"]
    assert {e["table"] for e in errors} == {"video.r3d-18", "video.r3d-18-mean", "video.s3d"}
    for error in errors:
        assert error["error_type"] == "MediaError" and "broken.mp4" in error["reason"], error
    features = extracted.read_table("video.r3d-18", ["sample_id", "feature"]).to_pydict()
    assert features["feature"][features["sample_id"].index("broken")] is None


def test_the_same_seed_gives_the_same_features_and_another_seed_others(corpus):
    row = {"sample_id": "short", "video": "short.mp4"}
    first, again, other = (create_extractor(spec) for spec in (R3D, R3D, R3D.replace("seed=0", "seed=1")))
    decoded = first.decode(row, corpus)
    (a, _), (b, _), (c, _) = (extractor.compute([decoded])[0] for extractor in (first, again, other))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_preprocessing_equals_the_weights_transforms_byte_for_byte(corpus):
    for name in ("r3d-18", "s3d"):
        extractor = create_extractor(f"{name}:weights=random,fps={FPS},clip_frames=14")
        decoded = extractor.decode({"sample_id": "long", "video": "long.mp4"}, corpus)
        raw = np.stack(read_video_frames(corpus / "long.mp4", fps=FPS).frames)
        transforms = torchvision.models.get_model_weights(extractor.arch).DEFAULT.transforms()
        expected = transforms(torch.from_numpy(raw).permute(0, 3, 1, 2))
        assert torch.equal(extractor.normalized_clips(decoded.frames[None])[0], expected)


@pytest.mark.parametrize("resize_size, crop_size",
                         [((128, 171), (112, 112)), ((256, 256), (224, 224)), ((256,), (224, 224))])
def test_frame_resize_and_crop_equal_torchvisions_on_any_frame_size(resize_size, crop_size):
    rng = np.random.default_rng(sum(resize_size))
    for height, width in [(24, 32), (97, 131), (240, 320), (360, 202), (128, 171)]:
        rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        tensor = torch.from_numpy(rgb).permute(2, 0, 1)
        expected = F.center_crop(F.resize(tensor, list(resize_size), antialias=False), list(crop_size))
        got = resize_center_crop_frame(rgb, resize_size, crop_size)
        np.testing.assert_array_equal(got, expected.permute(1, 2, 0).numpy(), err_msg=f"{height}x{width}")


def test_clip_starts_pad_drop_overlap_and_a_fractional_step():
    assert clip_starts(20, 8, 8, "pad").tolist() == [0, 8, 16]
    assert clip_starts(20, 8, 8, "drop").tolist() == [0, 8]
    assert clip_starts(5, 8, 8, "drop").tolist() == [0]  # shorter than one clip: one clip all the same
    assert clip_starts(20, 8, 4, "pad").tolist() == [0, 4, 8, 12]  # the last whole clip reaches the end
    assert clip_starts(21, 8, 4, "pad").tolist() == [0, 4, 8, 12, 16]
    assert clip_starts(30, 8, 7.5, "pad").tolist() == [0, 8, 15, 23]
    assert clip_starts(40, 8, 20, "pad").tolist() == [0, 20]  # a start past the frames is no clip


def test_a_step_overlaps_clips_and_sets_the_clip_rate(corpus):
    extractor = create_extractor(f"{R3D},step=0.5")
    decoded = extractor.decode({"sample_id": "long", "video": "long.mp4"}, corpus)
    np.testing.assert_allclose(decoded.intervals, [[0, 1], [0.5, 1.5], [1, 2]], atol=1e-9)
    assert extractor.output_spec().frame_rate == 2.0
    dropping = create_extractor(f"r3d-18:weights=random,fps={FPS},clip_frames=12,tail=drop")
    dropped = dropping.decode({"sample_id": "long", "video": "long.mp4"}, corpus)
    np.testing.assert_allclose(dropped.intervals, [[0, 1.5]], atol=1e-9)


def test_clip_frames_below_the_models_minimum_is_refused_before_decoding():
    with pytest.raises(ConfigError, match=r"clip_frames=8 is below the 14 frames s3d takes"):
        create_extractor("s3d:weights=random,clip_frames=8").check_ready()


def test_weights_come_from_the_hub_cache_and_nothing_touches_the_network(corpus, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    spec = f"r3d-18:fps={FPS},clip_frames={CLIP}"
    with pytest.raises(MissingWeightsError, match=r"weights KINETICS400_V1 not found at .*r3d_18-b3b3357e\.pth; "
                                                  r"mmdata never downloads"):
        create_extractor(spec).check_ready()

    torch.manual_seed(3)
    saved = torchvision.models.video.r3d_18()
    checkpoint = tmp_path / "torch" / "hub" / "checkpoints" / "r3d_18-b3b3357e.pth"
    checkpoint.parent.mkdir(parents=True)
    torch.save(saved.state_dict(), checkpoint)
    extractor = create_extractor(spec)
    extractor.check_ready()
    digest = sha256_file(checkpoint)
    assert extractor.provenance()["weights"] == {"kind": "hub", "file": checkpoint.name, "name": "KINETICS400_V1",
                                                 "sha256": digest}
    assert extractor.provenance()["versions"][f"weights:{checkpoint.name}"] == digest[:16]
    assert "seed" not in extractor.provenance()["config"]
    (features, _), = extractor.compute([extractor.decode({"sample_id": "short", "video": "short.mp4"}, corpus)])
    saved.fc = torch.nn.Identity()
    random = create_extractor(f"{spec},weights=random")
    frames = random.decode({"sample_id": "short", "video": "short.mp4"}, corpus).frames  # 4 frames, the last repeated
    clips = random.normalized_clips(frames[None, [0, 1, 2, 3, 3, 3, 3, 3]])
    with torch.inference_mode():
        np.testing.assert_allclose(features, saved.eval()(clips).numpy(), rtol=1e-4, atol=1e-5)


def test_batch_size_device_and_the_memory_bound_are_runtime_options_outside_the_recorded_config():
    provenance = create_extractor(f"{R3D},batch_size=2").provenance()
    assert provenance["runtime"] == {"device": "cpu", "batch_size": 2, "max_decoded_frames": 54_000}
    assert "batch_size" not in provenance["config"] and provenance["config"]["clip_frames"] == CLIP
    assert create_extractor(R3D).table_name == "video.r3d-18"
    assert create_extractor(f"{R3D},pool=mean").table_name == "video.r3d-18-mean"


def test_decode_workers_get_the_preprocessing_resolved_and_never_import_torch(corpus):
    extractor = create_extractor(R3D)
    payload = pickle.dumps((extractor, {"sample_id": "short", "video": "short.mp4"}, corpus))
    script = (
        "import pickle, sys\n"
        "extractor, row, root = pickle.loads(sys.stdin.buffer.read())\n"
        "item = extractor.decode(row, root)\n"
        "assert item.frames.shape == (4, 112, 112, 3) and item.starts.tolist() == [0], item.frames.shape\n"
        "print(sorted(m for m in ('torch', 'torchvision') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], input=payload, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "[]"
