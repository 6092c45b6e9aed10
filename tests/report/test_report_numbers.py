"""Numbers behind the report's pictures and text, recomputed from the inputs: waveform envelopes,
items per sample of tables with failed samples, a temporal dataset aligned to words with a failed
video, and what the gallery says when none of its samples is asked for."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import matplotlib.axes
import numpy as np
import pyarrow.dataset as ds
import pytest

from mmdata.alignment.dataset import align_dataset
from mmdata.pipeline import extract
from mmdata.report import write_report
from mmdata.report.plots import waveform_png
from mmdata.report.stats import read_sample_columns, table_vectors
from mmdata.sample_data import sample_corpus_dir
from mmdata.store.reader import open_dataset
from tests.fakes.csd import COVAREP_FILE, write_fake_csd_segments


class _Spy:
    """The arguments of every call to an Axes method, the method still drawing."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.calls: list[tuple[tuple, dict]] = []
        original = getattr(matplotlib.axes.Axes, name)

        def spy(ax, *args, **kwargs):
            self.calls.append((args, kwargs))
            return original(ax, *args, **kwargs)

        monkeypatch.setattr(matplotlib.axes.Axes, name, spy)


@pytest.mark.parametrize("n", [2 * 800 + 1, 2 * 800 + 799, 10 * 800 + 799, 48_000])
def test_a_long_waveforms_envelope_covers_every_sample_at_its_own_time(monkeypatch, n):
    rate, offset = 16000, 2.0
    samples = np.zeros(n, np.float32)
    dip, last = n // 2, n - 1
    samples[dip], samples[last] = -1.0, 1.0
    spy = _Spy(monkeypatch, "fill_between")
    assert waveform_png(samples, rate, offset).startswith(b"\x89PNG\r\n\x1a\n")
    [(args, _)] = spy.calls
    t, low, high = (np.asarray(a, np.float64) for a in args[:3])
    step = (n / 800) / rate  # the time one point of the envelope stands for
    assert high.max() == 1.0 and low.min() == -1.0  # no sample is left out, the last one included
    assert abs(t[high.argmax()] - (offset + last / rate)) <= step
    assert abs(t[low.argmin()] - (offset + dip / rate)) <= step
    assert offset < t[0] < offset + step and offset + n / rate - step < t[-1] < offset + n / rate
    assert np.all(np.diff(t) > 0)


def test_items_per_sample_leave_out_samples_whose_feature_failed(monkeypatch, tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "images").mkdir(parents=True)
    for name, source in zip("abc", sorted((sample_corpus_dir("coco") / "val2017").glob("*.jpg"))):
        shutil.copy(source, corpus / "images" / f"{name}.jpg")
    rows = [{"id": "two", "image": "images/a.jpg", "captions": ["a red cup", "a cup"], "split": "train"},
            {"id": "none", "image": "images/b.jpg", "split": "train"},  # no caption: the caption table fails it
            {"id": "one", "image": "images/c.jpg", "captions": ["a cup"], "split": "val"}]
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    extract("manifest", corpus, tmp_path / "ds", extractors=["hashed-bow:level=caption,dim=16"], num_workers=0)
    table = ds.dataset(tmp_path / "ds" / "features" / "text.hashed-bow.caption").to_table().to_pylist()
    assert [len(r["feature"]) if r["feature"] is not None else None for r in table] == [None, 1, 2]

    hist, xlabel = _Spy(monkeypatch, "hist"), _Spy(monkeypatch, "set_xlabel")
    summary = write_report(tmp_path / "ds", tmp_path / "r.html", max_gallery=0)
    assert "text: items per sample" in summary.titles
    drawn = [np.asarray(args[0]).tolist() for args, kwargs in hist.calls
             if np.allclose(np.asarray(kwargs["bins"]) % 1, 0.5)]  # integer bins: the items panel
    assert sorted(v for values in drawn for v in values) == [1.0, 2.0]  # per split: train [2], val [1]
    assert "items per sample; 1 samples without a feature not shown" in [args[0] for args, _ in xlabel.calls]


def test_a_gallery_of_zero_says_so_and_not_that_there_are_no_samples(tmp_path):
    extract("coco", sample_corpus_dir("coco"), tmp_path / "ds", extractors=["color-hist:bins=4"], num_workers=0)
    summary = write_report(tmp_path / "ds", tmp_path / "r.html", max_gallery=0)
    page = (tmp_path / "r.html").read_text()
    gallery = page[page.index('<section id="gallery">'):page.index('<section id="checks">')]
    assert summary.gallery == 0 and "No samples." not in gallery
    assert "None of the 8 samples shown (a gallery of 0 was asked for)." in gallery


@pytest.fixture(scope="module")
def mosi_aligned(tmp_path_factory) -> Path:
    """The SDK-layout fake with COVAREP lacking one video and one NaN in FACET, aligned to the words."""
    import h5py

    root = tmp_path_factory.mktemp("mosi")
    fake = write_fake_csd_segments(root / "corpus")
    with h5py.File(root / "corpus" / COVAREP_FILE, "r+") as f:
        del f[next(iter(f))]["data"]["abcd"]  # a video one sequence lacks: the loader leaves it out
    with h5py.File(root / "corpus" / "CMU_MOSI_Visual_Facet_41.csd", "r+") as f:
        features = f[next(iter(f))]["data"]["abc"]["features"]
        values = features[...]
        values[3, 1] = np.nan  # fails sample abc[0] in the FACET table
        features[...] = values
    out = root / "ds"
    extract("csd", fake.root, out, corpus_options=fake.options, extractors=["hashed-bow:dim=8"], num_workers=0)
    align_dataset(out, reference="text.words")
    return out


def test_an_aligned_temporal_dataset_with_failures_shows_its_own_numbers(mosi_aligned, tmp_path):
    summary = write_report(mosi_aligned, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    samples = ds.dataset(mosi_aligned / "samples").to_table().to_pylist()
    errors = ds.dataset(mosi_aligned / "errors").to_table().column("table").to_pylist()
    assert summary.checks_ok and [s["sample_id"] for s in samples] == ["abc[0]", "abc[1]", "x9Y_z-1[0]", "x9Y_z-1[1]"]
    assert errors.count("loader") == 1 and "<tr><th>loader errors</th><td>1</td></tr>" in page
    rows = {r[0]: r for r in _table_rows(page)}
    assert set(rows) == {"audio.covarep", "video.facet-41", "text.words", "text.hashed-bow", "audio.covarep@text.words",
                         "video.facet-41@text.words", "text.words@text.words"}
    for name, (_, modality, extractor, config, n, dim, dtype, kind, failed, missing, versions) in rows.items():
        table = ds.dataset(mosi_aligned / "features" / name).to_table()
        meta = json.loads(table.schema.metadata[b"mmdata"])
        assert (modality, extractor, json.loads(config)) == (meta["modality"], meta["extractor"], meta["config"])
        assert versions == ", ".join(f"{k} {v}" for k, v in sorted(meta["versions"].items()))
        assert (n, dim, dtype) == (str(table.num_rows), str(meta["spec"]["dim"]), "float32")
        assert (failed, missing) == (str(errors.count(name)), str(table.column("feature").null_count))
        rate = meta["spec"].get("frame_rate")
        assert kind == meta["spec"]["kind"] + (f" @ {rate:g} Hz" if rate else "")
    assert rows["audio.covarep"][7] == "sequence @ 100 Hz" and rows["video.facet-41"][7] == "sequence @ 30 Hz"
    assert rows["video.facet-41"][8:10] == ["1", "1"]

    dataset = open_dataset(mosi_aligned)
    columns = read_sample_columns(dataset)
    by_id = {s["sample_id"]: s for s in samples}
    for name in rows:
        vectors = table_vectors(dataset, name, columns)
        table = ds.dataset(mosi_aligned / "features" / name).to_table().to_pylist()
        norms, coverage = [], []
        for r in table:
            feature = None if r["feature"] is None else np.asarray(r["feature"], np.float64)
            pooled = feature if vectors.kind == "pooled" or feature is None else feature.mean(axis=0)
            norms.append(np.nan if pooled is None else np.linalg.norm(pooled))
            if "intervals" in r:
                sample = by_id[r["sample_id"]]
                covered = _union_length(r["intervals"] or [], sample["start"], sample["end"])
                coverage.append(np.nan if feature is None else covered / (sample["end"] - sample["start"]))
        np.testing.assert_allclose(vectors.norms, norms, rtol=1e-9, err_msg=name)
        if coverage:
            np.testing.assert_allclose(vectors.coverage, coverage, rtol=1e-9, err_msg=name)
    assert re.search(r"First two principal components of up to 2000 samples, coloured by label", page)


def _union_length(intervals: list[list[float]], lo: float, hi: float) -> float:
    covered, reach = 0.0, lo
    for start, end in sorted(intervals):
        start, end = max(start, reach), min(end, hi)
        if end > start:
            covered, reach = covered + end - start, end
    return covered


def _table_rows(page: str) -> list[list[str]]:
    import html

    start = page.index("<thead><tr><th>table</th>")
    body = page[start:page.index("</tbody>", start)].split("<tbody>")[1]
    return [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)] for row in re.findall(r"<tr>(.*?)</tr>", body)]
