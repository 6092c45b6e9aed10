"""The examples in the public API's docstrings run as written.

Each example is read from the docstring itself (its `>>>` lines, or the code block of a module docstring),
its paths are pointed at data built in tmp_path from the embedded sample corpora (`/data/coco` -> the COCO
sample, `out/...` -> tmp_path/out/...), and it is run; where a docstring shows an output, the value must
equal it. A renamed argument, a removed attribute or a changed result then fails here instead of misleading
the next reader.
"""
from __future__ import annotations

import doctest
import inspect
import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mmdata
import mmdata.alignment.dataset
import mmdata.fusion
import mmdata.metrics
import mmdata.share
from mmdata.alignment.segment import segment_dataset
from mmdata.checks.dataset import check_dataset
from mmdata.corpora.base import load_corpus
from mmdata.corpora.coco import load_coco
from mmdata.corpora.flickr30k import load_flickr30k
from mmdata.corpora.manifest import load_manifest
from mmdata.features.base import create_extractor
from mmdata.fusion.fuse import fuse
from mmdata.media.audio import load_audio
from mmdata.media.video import read_video_frames
from mmdata.pipeline import extract
from mmdata.report.html import write_report
from mmdata.sample_data import sample_corpus_dir
from mmdata.share.card import shareable_options
from mmdata.share.checksums import record_checksums, write_checksums
from mmdata.share.export import share_dataset
from mmdata.share.redact import PathRedactor
from mmdata.store.reader import Dataset
from tests.fakes.av import tone, write_mp4
from tests.fakes.csd import write_mosi_csd


def _paths(tmp: Path) -> dict[str, str]:
    """Literal paths of the examples -> where this test keeps them."""
    return {
        '"/data/coco"': f'"{sample_corpus_dir("coco")}"',
        '"/data/flickr30k"': f'"{sample_corpus_dir("flickr30k")}"',
        '"/data/clips"': f'"{tmp / "clips"}"',
        '"clip.mp4"': f'"{tmp / "clip.mp4"}"',
        '"out/coco-val"': f'"{tmp / "out" / "coco"}"',  # one dataset serves the examples of both names
        '"out/': f'"{tmp / "out"}/',
        '"csd/': f'"{tmp / "csd"}/',
    }


def _located(source: str, tmp: Path) -> str:
    for literal, path in _paths(tmp).items():
        source = source.replace(literal, path)
    return source


def _namespace(obj: Any, **extra: Any) -> dict[str, Any]:
    """What an example of `obj` sees: the names of the module that defines it, as its docstring assumes."""
    module = obj if inspect.ismodule(obj) else inspect.getmodule(obj)
    return {**vars(module), "np": np, "Path": Path, **extra}


def run_examples(obj: Any, tmp: Path | None, *, check_output: bool = True, **extra: Any) -> list[Any]:
    """Run every `>>>` example of `obj`'s docstring, its paths under `tmp` (None: as written); returns the
    value of each (None for a statement)."""
    examples = doctest.DocTestParser().get_examples(inspect.getdoc(obj) or "")
    assert examples, f"{obj!r} has no >>> example"
    namespace, values = _namespace(obj, **extra), []
    for example in examples:
        source = example.source if tmp is None else _located(example.source, tmp)
        try:
            code, is_expression = compile(source, "<example>", "eval"), True
        except SyntaxError:
            code, is_expression = compile(source, "<example>", "exec"), False
        value = eval(code, namespace) if is_expression else exec(code, namespace)
        values.append(value)
        if check_output and example.want.strip():
            _assert_shows(value, example.want.strip(), example.source)
    return values


def run_module_code(module: Any, tmp: Path, **extra: Any) -> dict[str, Any]:
    """Run the indented code block of a module docstring as a script (`__name__ == "__main__"`)."""
    lines = inspect.getdoc(module).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    "))
    end = next((i for i in range(start, len(lines)) if lines[i] and not lines[i].startswith("    ")), len(lines))
    namespace = _namespace(module, __name__="__main__", **extra)
    exec(compile(_located(textwrap.dedent("\n".join(lines[start:end])), tmp), module.__name__, "exec"), namespace)
    return namespace


def _assert_shows(value: Any, want: str, source: str) -> None:
    if want.endswith("..."):  # doctest's ELLIPSIS: the value starts so
        assert repr(value).startswith(want[:-3]), (source, value, want)
        return
    expected = eval(want, {"array": np.array})
    assert _same(value, expected), f"{source.strip()} gives {value!r}; its docstring shows {want}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and np.allclose(a, b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> Path:
    """A folder whose out/coco is the COCO sample extracted by `extract`'s own example."""
    tmp = tmp_path_factory.mktemp("examples")
    ok, tables = run_examples(extract, tmp)[-1]
    assert ok and tables == [("image.color-hist", 8, 0), ("text.minilm", 8, 0)]
    return tmp


def test_the_top_level_module_example_runs_as_a_script(tmp_path):
    done = run_module_code(mmdata, tmp_path)
    assert done["report"].ok and done["x"].shape == (8, 48) and list(done["ids"]) == sorted(done["ids"])
    batches = list(done["loader"])
    assert len(batches) == 1 and tuple(batches[0]["feature"].shape) == (8, 48 + 384)


def test_reading_and_checking_examples_run(coco, tmp_path):
    ok, codes = run_examples(check_dataset, coco)[-1]
    assert ok is True and codes == []
    assert run_examples(load_corpus, coco)[-1] == 8
    # `Dataset` reads a sequence table too: the caption-level one, added to a copy (fuse's example
    # picks tables by modality, one each)
    shutil.copytree(coco / "out" / "coco", tmp_path / "out" / "coco")
    extract("coco", sample_corpus_dir("coco"), tmp_path / "out" / "coco", split="val2017",
            extractors=["minilm:level=caption"])
    values = run_examples(Dataset, tmp_path)
    assert values[2] is True and values[-2].num_rows == 8  # `in`, read_table(split="val2017")
    assert values[-3].shape[1] == 384  # sample 0's caption vectors


def test_fuse_report_and_share_examples_run(coco):
    import datasets

    run_examples(fuse, coco)
    assert json.loads((coco / "out" / "coco-fused" / "fused.json").read_text())["dim"] == 48 + 384
    assert run_examples(write_report, coco)[0].checks_ok
    shared = coco / "out" / "coco-val-hf"
    assert run_examples(share_dataset, coco, datasets=datasets)[-1].num_rows == 8
    shutil.rmtree(shared)  # the package's example shares into the same folder, then verifies it
    assert run_module_code(mmdata.share, coco)["verify_checksums"](shared).ok
    shutil.copytree(shared, coco / "out" / "coco-shared")
    run_examples(write_checksums, coco)
    card = coco / "out" / "coco-shared" / "README.md"
    card.write_text(card.read_text(encoding="utf-8") + "\nedited\n", encoding="utf-8")
    assert run_examples(record_checksums, coco) == [["README.md"]]


def test_examples_that_show_their_output_give_it():
    for obj in (create_extractor, PathRedactor, shareable_options, mmdata.metrics):
        run_examples(obj, None)  # their paths are data, not files


def test_media_examples_give_the_samples_and_frames_they_show(tmp_path):
    write_mp4(tmp_path / "clip.mp4", [(200, 0, 0), (0, 200, 0), (0, 0, 200), (90, 90, 90)], fps=10,
              frames_per_color=10, audio=tone(220.0, 4.0))  # 4 s of video and audio
    run_examples(load_audio, tmp_path)
    run_examples(read_video_frames, tmp_path)


def test_loader_examples_run(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "train.jsonl").write_text(json.dumps({"video": "videos/a.mp4", "start": 1.5, "end": 3.0}) + "\n")
    run_examples(load_manifest, tmp_path)
    # These show what the full COCO and Flickr30K give; on the embedded samples they must run.
    sample = run_examples(load_coco, tmp_path, check_output=False)[-1]
    assert len(sample) == 1 and sample[0]
    assert run_examples(load_flickr30k, tmp_path, check_output=False)[-1][0] == 8


def test_temporal_examples_run_on_a_cmu_mosi_csd_corpus(tmp_path):
    write_mosi_csd(tmp_path / "csd")
    (tmp_path / "csd" / "folds.json").write_text(json.dumps({"train": ["abc"], "valid": ["abcd"], "test": ["x9Y_z-1"]}))
    mmdata.extract("csd", tmp_path / "csd", tmp_path / "out" / "mosi-videos", corpus_options="labels=none",
                   extractors=[])
    segmented = run_examples(segment_dataset, tmp_path)[0]
    assert (segmented.samples, segmented.videos) == (5, 3)
    fused = run_module_code(mmdata.fusion, tmp_path)  # tables chosen by modality: one each before `align`
    assert sum(len(batch["sample_id"]) for batch in fused["loader"]) == 2
    aligned = run_module_code(mmdata.alignment.dataset, tmp_path)["report"]
    assert aligned.kept > 0 and not aligned.empty_samples
