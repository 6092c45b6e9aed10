from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torchvision.models import ResNet18_Weights

from mmdata.errors import ConfigError, MissingWeightsError
from mmdata.features import create_extractor
from mmdata.features.image_models import Preprocessing
from mmdata.media.image import open_image, resize_center_crop
from mmdata.store.files import sha256_file


def reference_resnet18(seed: int) -> torch.nn.Module:
    """torchvision's ResNet-18 under the seed, classifier removed: what weights=random must equal."""
    torch.manual_seed(seed)
    model = torchvision.models.resnet18()
    model.fc = torch.nn.Identity()
    return model.eval()


def assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5 * scale)


@pytest.fixture(scope="module")
def resnet18():
    return create_extractor("resnet18:weights=random,seed=0")


def test_resnet18_matches_torchvision_model_and_transforms(resnet18, fake_coco):
    sample_ids = sorted(fake_coco.captions)[:3]
    ours = resnet18.compute([resnet18.decode(fake_coco.row(s), fake_coco.root) for s in sample_ids])

    transforms = ResNet18_Weights.IMAGENET1K_V1.transforms()
    # Pillow's plain decode, then torchvision's own preprocessing and model.
    batch = torch.stack([transforms(Image.open(fake_coco.images[s]).convert("RGB")) for s in sample_ids])
    with torch.inference_mode():
        expected = reference_resnet18(seed=0)(batch).numpy()
    assert np.stack(ours).shape == (3, 512) and ours[0].dtype == np.float32
    assert_close(np.stack(ours), expected)
    assert not np.allclose(ours[0], ours[1])


def test_a_large_jpeg_gives_the_model_torchvision_s_pixels_unless_draft_decoding_is_asked(tmp_path):
    """A JPEG at least twice the resize size: the default decodes it whole, as torchvision's transforms
    see it; decode=draft decodes it at half size first (faster, slightly different pixels)."""
    from skimage import data
    from torchvision.transforms import functional as F

    path = tmp_path / "astronaut.jpg"
    Image.fromarray(data.astronaut()).save(path, quality=92)  # 512 x 512: twice resnet18's resize (256)
    row = {"sample_id": "a", "image": path.name}
    full = create_extractor("resnet18:weights=random").decode(row, tmp_path)
    theirs = np.asarray(F.center_crop(F.resize(Image.open(path).convert("RGB"), [256]), [224]))
    np.testing.assert_array_equal(full, theirs)
    draft = create_extractor("resnet18:weights=random,decode=draft").decode(row, tmp_path)
    assert draft.shape == full.shape and not np.array_equal(draft, full)
    with pytest.raises(ConfigError, match=r"option 'decode': 'fast' is not one of \['full', 'draft'\]"):
        create_extractor("resnet18:weights=random,decode=fast")


def test_resize_center_crop_equals_torchvision_resize_and_crop(fake_coco):
    from torchvision.transforms import functional as F

    for path in fake_coco.images.values():
        img = open_image(path)
        for resize, crop in ((256, 224), (75, 63), (64, 37), (64, 64)):
            ours = np.asarray(resize_center_crop(img, resize, crop))
            theirs = np.asarray(F.center_crop(F.resize(img, [resize]), [crop]))
            assert ours.shape == (crop, crop, 3)
            np.testing.assert_array_equal(ours, theirs)


def test_random_weights_are_seeded(fake_coco):
    item = create_extractor("resnet18:weights=random").decode(fake_coco.row(sorted(fake_coco.captions)[0]), fake_coco.root)
    a = create_extractor("resnet18:weights=random,seed=1").compute([item])[0]
    b = create_extractor("resnet18:weights=random,seed=1").compute([item])[0]
    c = create_extractor("resnet18:weights=random,seed=2").compute([item])[0]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("name, dim", [("resnet50", 2048), ("vit-b-16", 768)])
def test_larger_backbones_give_their_penultimate_dim(name, dim, fake_coco):
    extractor = create_extractor(f"{name}:weights=random")
    spec = extractor.output_spec()
    assert (spec.dim, spec.dtype, spec.kind) == (dim, "float32", "pooled")
    item = extractor.decode(fake_coco.row(sorted(fake_coco.captions)[0]), fake_coco.root)
    (feature,) = extractor.compute([item])
    assert feature.shape == (dim,) and feature.dtype == np.float32 and np.isfinite(feature).all()


def test_state_dict_file_gives_the_same_output_as_the_model_in_memory(resnet18, fake_coco, tmp_path):
    item = resnet18.decode(fake_coco.row(sorted(fake_coco.captions)[1]), fake_coco.root)
    full = tmp_path / "resnet18-full.pth"
    torch.save(reference_resnet18(seed=0).state_dict() | {"fc.weight": torch.zeros(1000, 512)}, full)
    headless = tmp_path / "resnet18-headless.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in reference_resnet18(seed=0).state_dict().items()}}, headless)
    expected = resnet18.compute([item])[0]
    for path in (full, headless):
        from_file = create_extractor(f"resnet18:weights={path}")
        assert from_file.weights_source().kind == "file"
        np.testing.assert_array_equal(from_file.compute([item])[0], expected)


def test_weights_name_is_read_from_the_torch_hub_cache(resnet18, fake_coco, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    expected_path = tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    extractor = create_extractor("resnet18")  # default: the ImageNet weights
    assert extractor.config.weights == "IMAGENET1K_V1"
    item = extractor.decode(fake_coco.row(sorted(fake_coco.captions)[0]), fake_coco.root)
    with pytest.raises(MissingWeightsError) as caught:
        extractor.compute([item])
    message = str(caught.value)
    assert str(expected_path) in message
    assert "curl -L --create-dirs -o" in message and ResNet18_Weights.IMAGENET1K_V1.url in message
    assert "weights=/path/to/state_dict.pth" in message

    expected_path.parent.mkdir(parents=True)
    torch.save(reference_resnet18(seed=0).state_dict(), expected_path)
    np.testing.assert_array_equal(extractor.compute([item])[0], resnet18.compute([item])[0])
    digest = sha256_file(expected_path)
    assert extractor.provenance()["weights"] == {"kind": "hub", "file": expected_path.name, "name": "IMAGENET1K_V1",
                                                 "sha256": digest}
    assert extractor.provenance()["versions"][f"weights:{expected_path.name}"] == digest[:16]


def test_missing_weights_file_names_the_path(tmp_path, fake_coco):
    missing = tmp_path / "nowhere" / "resnet50.pth"
    extractor = create_extractor(f"resnet50:weights={missing}")
    with pytest.raises(MissingWeightsError, match=f"weights file not found: {missing}"):
        extractor.load_model()


def test_bad_weights_values_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown weights 'IMAGENET_V9'; expected one of \['IMAGENET1K_V1', 'DEFAULT'\]"):
        create_extractor("resnet18:weights=IMAGENET_V9").weights_source()
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="cannot read weights file"):
        create_extractor(f"resnet18:weights={junk}").load_model()
    wrong = tmp_path / "resnet50.pth"
    torch.save({"conv1.weight": torch.zeros(3)}, wrong)
    with pytest.raises(ConfigError, match="do not fit resnet18"):
        create_extractor(f"resnet18:weights={wrong}").load_model()


def test_unavailable_device_is_a_config_error():
    with pytest.raises(ConfigError, match="device 'cuda:99' is not available"):
        create_extractor("resnet18:weights=random,device=cuda:99").load_model()


def test_preprocessing_follows_the_chosen_weights():
    swag = create_extractor("vit-b-16:weights=IMAGENET1K_SWAG_E2E_V1").preprocessing()
    assert (swag.resize_size, swag.crop_size, swag.resample) == (384, 384, "bicubic")
    assert create_extractor("resnet50").preprocessing().resize_size == 232  # IMAGENET1K_V2
    assert create_extractor("resnet18:weights=random").preprocessing() == Preprocessing(
        256, 224, "bilinear", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    )


def test_device_is_runtime_not_part_of_the_recorded_config():
    provenance = create_extractor("resnet18:weights=random,device=auto").provenance()
    assert provenance["config"] == {"weights": "random", "seed": 0, "decode": "full"}
    assert provenance["runtime"] == {"device": "auto"}
    assert provenance["spec"]["dim"] == 512 and "torchvision" in provenance["versions"]


def test_cuda_devices_resolve_numbered_so_models_load_once(monkeypatch):
    from mmdata.features.image_models import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert [resolve_device(d) for d in ("auto", "cuda", "cuda:0", "cuda:1", "cpu")] == [
        "cuda:0", "cuda:0", "cuda:0", "cuda:1", "cpu"]
    with pytest.raises(ConfigError, match="'cuda:2' is not available: 2 CUDA devices: cuda:0, cuda:1; use device=cpu"):
        resolve_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ConfigError, match=r"'cuda' is not available: torch sees no CUDA device \(torch\.cuda\.is_avail"):
        resolve_device("cuda")
