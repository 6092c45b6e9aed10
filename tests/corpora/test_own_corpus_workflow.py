"""A researcher's own corpus and extractors: a manifest with a broken row, extractors written in a
module of one's own (a pooled one and a temporal one with intervals), run from a recipe on the
command line with decode workers and from the library, read back, fused and fed to a DataLoader;
and the ways an extractor of one's own can fail to reach the workers or the registry."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image
from typer.testing import CliRunner

import mmdata
from mmdata.cli import app
from mmdata.errors import ConfigError, UnknownExtractorError, WorkersCannotStartError
from mmdata.features import base
from mmdata.recipe import load_recipe

SAMPLE_RATE = 8000
EXTRACTORS_MODULE = "lab_workflow_extractors"
# A lab's own extractors, as a researcher writes them in a module file of their own.
EXTRACTORS_SOURCE = '''
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

from mmdata.corpora.base import resolve_media
from mmdata.features import Extractor, register_extractor
from mmdata.store.metadata import FeatureSpec


@dataclass(frozen=True)
class GreyConfig:
    dim: int = 16


@register_extractor
class LabGrey(Extractor):
    """Histogram of grey values in `dim` bins, summing to 1."""
    name = "lab-grey"
    modality = "image"
    config_type = GreyConfig

    def output_spec(self):
        return FeatureSpec(dim=self.config.dim)

    def decode(self, row, corpus_root):
        return np.asarray(Image.open(resolve_media(Path(corpus_root), row["image"])).convert("L")).ravel()

    def compute(self, items):
        dim = self.config.dim
        return [(np.bincount(x.astype(np.int64) * dim // 256, minlength=dim) / x.size).astype(np.float32)
                for x in items]


@register_extractor
class LabRms(Extractor):
    """RMS and mean absolute value of 0.1 s frames, with their intervals."""
    name = "lab-rms"
    modality = "audio"

    def output_spec(self):
        return FeatureSpec(dim=2, kind="sequence", intervals=True, frame_rate=10.0, item_axis="time")

    def decode(self, row, corpus_root):
        return sf.read(resolve_media(Path(corpus_root), row["audio"]), dtype="float32")

    def compute(self, items):
        out = []
        for wav, rate in items:
            hop = rate // 10
            frames = wav[: len(wav) // hop * hop].reshape(-1, hop)
            starts = np.arange(len(frames)) / 10
            out.append((np.stack([np.sqrt((frames ** 2).mean(1)), np.abs(frames).mean(1)], 1).astype(np.float32),
                        np.stack([starts, starts + 0.1], 1)))
        return out
'''


@pytest.fixture
def lab_corpus(tmp_path):
    """Six samples over three splits (one image path absolute), plus a row whose files are missing."""
    root = tmp_path / "corpus"
    (root / "img").mkdir(parents=True)
    (root / "wav").mkdir()
    rng = np.random.default_rng(7)
    rows = []
    for i in range(6):
        Image.fromarray((rng.random((12 + i, 9, 3)) * 255).astype(np.uint8)).save(root / f"img/{i}.png")
        sf.write(root / f"wav/{i}.wav", rng.standard_normal(SAMPLE_RATE // 2 + 400 * i) * 0.1, SAMPLE_RATE,
                 subtype="FLOAT")
        rows.append({"id": f"s{i}", "image": f"img/{i}.png", "audio": f"wav/{i}.wav", "text": f"clip {i}",
                     "label": float(i % 3) - 1, "split": ("train", "train", "val", "test")[i % 4]})
    rows[1]["image"] = str(root / "img/1.png")
    rows.append({"id": "gone", "image": "img/gone.png", "audio": "wav/gone.wav", "split": "train", "label": 0})
    (root / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


@pytest.fixture
def own_module(tmp_path, monkeypatch):
    """The extractors module in a folder of its own; the registry, sys.path and sys.modules are
    restored after the test."""
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / f"{EXTRACTORS_MODULE}.py").write_text(EXTRACTORS_SOURCE)
    base.available_extractors()  # the built-in extractors registered first: the copy restored after holds them
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, EXTRACTORS_MODULE, raising=False)
    yield folder
    sys.modules.pop(EXTRACTORS_MODULE, None)


def grey_histogram(path: Path, dim: int = 16) -> np.ndarray:
    grey = np.asarray(Image.open(path).convert("L")).ravel().astype(np.int64)
    return np.bincount(grey * dim // 256, minlength=dim) / grey.size


def rms_frames(path: Path) -> np.ndarray:
    wav, _ = sf.read(path, dtype="float32")
    hop = SAMPLE_RATE // 10
    frames = wav[: len(wav) // hop * hop].reshape(-1, hop)
    return np.stack([np.sqrt((frames ** 2).mean(1)), np.abs(frames).mean(1)], 1)


def test_a_recipe_imports_its_own_extractors_module_and_workers_compute_the_hand_made_numbers(lab_corpus, own_module):
    recipe = own_module / "recipe.toml"
    recipe.write_text(textwrap.dedent(f"""\
        [corpus]
        kind = "manifest"
        [extract]
        modules = ["{EXTRACTORS_MODULE}"]
        image = ["lab-grey:dim=8"]
        audio = ["lab-rms"]
        num_workers = 2
    """))
    out = lab_corpus.parent / "out"
    result = CliRunner().invoke(app, ["extract", str(recipe), str(lab_corpus), str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "decoded in 2 worker processes" in result.output

    data = mmdata.open_dataset(out)
    samples = data.samples_table(["sample_id", "image", "audio"]).to_pylist()
    by_id = {s["sample_id"]: s for s in samples}
    assert by_id["s1"]["image"] == "img/1.png"  # the absolute path is stored relative to the root
    grey = data.read_table("image.lab-grey").to_pylist()
    frames = data.read_table("audio.lab-rms").to_pylist()
    assert [r["sample_id"] for r in grey] == [r["sample_id"] for r in frames] == [s["sample_id"] for s in samples]
    for sample, g, f in zip(samples, grey, frames):
        if sample["sample_id"] == "gone":
            assert g["feature"] is None and f["feature"] is None
            continue
        np.testing.assert_allclose(g["feature"], grey_histogram(lab_corpus / sample["image"], 8), atol=1e-7)
        expected = rms_frames(lab_corpus / sample["audio"])
        np.testing.assert_allclose(f["feature"], expected, rtol=1e-5)
        np.testing.assert_allclose(f["intervals"], [[k / 10, k / 10 + 0.1] for k in range(len(expected))])
    errors = data.errors().to_pylist()
    assert {(e["table"], e["sample_id"]) for e in errors} == {("image.lab-grey", "gone"), ("audio.lab-rms", "gone")}
    assert data.table_metadata("audio.lab-rms")["spec"]["frame_rate"] == 10.0


def test_own_extractors_from_the_library_fuse_into_a_dataloader_with_train_statistics(lab_corpus, own_module):
    import torch
    from torch.utils.data import DataLoader

    sys.path.append(str(own_module))
    __import__(EXTRACTORS_MODULE)
    out, fused = lab_corpus.parent / "out", lab_corpus.parent / "fused"
    mmdata.extract("manifest", lab_corpus, out, extractors=["lab-grey", "lab-rms"], num_workers=2)
    mmdata.fuse(out, fused, missing="drop", format="arrow")

    data = mmdata.open_dataset(out)
    samples = data.samples_table(["sample_id", "split", "image"]).to_pylist()
    train = [s for s in samples if s["split"] == "train" and s["sample_id"] != "gone"]
    histograms = np.stack([grey_histogram(lab_corpus / s["image"]) for s in train])
    stats = mmdata.read_fused_metadata(fused)["normalization"]["tables"]["image.lab-grey"]
    np.testing.assert_allclose(stats["mean"], histograms.mean(0), atol=1e-7)
    std = histograms.std(0)
    np.testing.assert_allclose(stats["std"], np.where(std > 0, std, 1.0), atol=1e-6)  # constant bins: 1

    loader = DataLoader(mmdata.FusedDataset(fused, "train"), batch_size=2, num_workers=2,
                        collate_fn=mmdata.collate_fused)
    model = torch.nn.Linear(18, 1)
    for batch in loader:
        assert batch["feature"].shape[1] == 18
        torch.nn.functional.mse_loss(model(batch["feature"]).squeeze(1), batch["label"]).backward()
    assert sorted(id_ for batch in loader for id_ in batch["sample_id"]) == sorted(s["sample_id"] for s in train)


NOTEBOOK_CELL = """
import numpy as np, mmdata
from mmdata.features import Extractor, register_extractor
from mmdata.store.metadata import FeatureSpec

@register_extractor
class CellFeature(Extractor):
    name = "cell-feature"
    modality = "image"
    def output_spec(self): return FeatureSpec(dim=1)
    def decode(self, row, corpus_root): return 1.0
    def compute(self, items): return [np.ones(1, np.float32) for _ in items]

try:
    mmdata.extract("manifest", {root!r}, {out!r}, extractors=["cell-feature"], num_workers=1)
except mmdata.errors.WorkersCannotStartError as e:
    print("refused:", e)
"""


def test_an_extractor_defined_in_a_notebook_is_refused_before_its_items_are_blamed(lab_corpus):
    # `python -c` runs like a notebook kernel: a __main__ without a file, which workers cannot import.
    # Each item used to be recorded as a decoder crash of its worker.
    out = lab_corpus.parent / "out"
    code = NOTEBOOK_CELL.format(root=str(lab_corpus), out=str(out))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "refused: extractor 'cell-feature' (class CellFeature) cannot be sent to decode worker processes" in done.stdout
    assert "interactive session's __main__" in done.stdout and "num_workers=0" in done.stdout


def test_an_extractor_class_made_in_a_function_is_refused_with_the_fix(lab_corpus, own_module):
    sys.path.append(str(own_module))
    module = __import__(EXTRACTORS_MODULE)

    def make_class():
        class Local(module.LabGrey):
            name = "lab-grey-local"
        return Local

    with pytest.raises(WorkersCannotStartError, match=r"defined inside a function .*make_class.<locals>.Local.*"
                                                      r"top level of a module file.*num_workers=0"):
        mmdata.extract("manifest", lab_corpus, lab_corpus.parent / "out", extractors=[make_class()()], num_workers=1)


@pytest.mark.parametrize("modules, message", [
    ('["no_such_lab_module"]', r"\[extract\] modules: no module 'no_such_lab_module' on sys.path or in the recipe's folder"),
    ('["lab/extractors.py"]', r"\[extract\] modules: 'lab/extractors.py' is a file; name the module instead \('extractors'\)"),
    ('[""]', r"\[extract\] modules: expected module names, got an empty one"),
    ('[3]', r"\[extract\] modules: expected a list of module names, got \[3\]"),
])
def test_a_recipe_module_that_cannot_be_imported_names_the_recipe_and_the_fix(tmp_path, modules, message):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(f'[corpus]\nkind = "manifest"\n[extract]\nmodules = {modules}\nimage = ["color-hist"]\n')
    with pytest.raises(ConfigError, match=message):
        load_recipe(recipe)


def test_an_unknown_extractor_says_how_to_register_one_of_your_own():
    with pytest.raises(UnknownExtractorError, match=r"unknown extractor .lab-features.*importing its module.*"
                                                    r"modules = \[\"my_extractors\"\].*'mmdata.extractors'"):
        base.get_extractor_class("lab-features")


def write_plugin_distribution(site: Path, entry: str, module: str, source: str) -> None:
    """An installed distribution (as pip leaves it) whose entry point registers `module`."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[mmdata.extractors]\n{entry} = {module}\n")


def test_an_installed_package_registers_its_extractors_through_an_entry_point(tmp_path, lab_corpus):
    site = tmp_path / "site"
    site.mkdir()
    write_plugin_distribution(site, "lab", "lab_plugin_extractors", EXTRACTORS_SOURCE)
    write_plugin_distribution(site, "broken", "broken_lab_plugin", "raise ImportError('needs a missing library')\n")
    repo = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), repo])}
    out = tmp_path / "out"
    cli = [sys.executable, "-m", "mmdata", "extract", "manifest", str(lab_corpus), str(out), "-q", "-j", "2"]
    done = subprocess.run([*cli, "--image", "lab-grey:dim=4"], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "broken_lab_plugin" in done.stderr  # logged, and the other plugin works
    features = {r["sample_id"]: r["feature"] for r in mmdata.open_dataset(out).read_table("image.lab-grey").to_pylist()}
    np.testing.assert_allclose(features["s0"], grey_histogram(lab_corpus / "img/0.png", 4), atol=1e-7)

    done = subprocess.run([*cli, "--image", "lab-gray"], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode != 0
    assert "plugin 'broken' (broken_lab_plugin) could not be imported (ImportError: needs a missing library); " \
           "did you mean 'lab-grey'?" in done.stderr
