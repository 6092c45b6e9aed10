"""`mmdata report`: a self-contained page that headless Chromium renders with every section and image."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.pipeline import extract
from mmdata.report import write_report
from mmdata.report.html import SECTIONS
from mmdata.sample_data import sample_corpus_dir
from mmdata.share import ChecksFailedError, share_dataset
from mmdata.store import open_dataset
from tests.report.browser import render_page
from tests.share.corpus import extract_mixed

runner = CliRunner()


@pytest.fixture(scope="module")
def coco_dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("coco") / "ds"
    extract("coco", sample_corpus_dir("coco"), out, extractors=["color-hist", "pixel-stats", "minilm"], num_workers=0)
    return out


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    return extract_mixed(tmp_path_factory.mktemp("mixed"))


def test_report_renders_in_chromium_on_the_embedded_sample_dataset(coco_dataset, tmp_path):
    page = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(coco_dataset), "--out", str(page)])
    assert result.exit_code == 0, result.output
    assert "3 tables, 4 plots, 8 gallery samples" in result.stdout and "checks passed" in result.stdout
    html = page.read_text()
    assert "<script" not in html and not re.search(r"""(src|href)=["']?(https?:|//)""", html)

    seen = render_page(page, tmp_path / "report.png", tmp_path / "chromium-profile")
    assert seen.console_errors == []
    assert [s["id"] for s in seen.sections] == list(SECTIONS)
    assert all(s["height"] > 40 for s in seen.sections), seen.sections
    assert seen.broken_images == [] and len(seen.images) == 4 + 8
    plots = [i for i in seen.images if i["section"] == "plots"]
    assert [i["alt"] for i in plots] == ["image: feature norms", "image: PCA", "text: feature norms", "text: PCA"]
    assert all(i["width"] >= 300 and i["height"] >= 200 for i in plots)
    thumbnails = [i for i in seen.images if i["section"] == "gallery"]
    assert len(thumbnails) == 8 and all(0 < max(i["width"], i["height"]) <= 240 for i in thumbnails)
    for text in ("image.color-hist", '{"bins": 16, "decode_size": 128}', "text.minilm", "val2017",
                 "A smiling woman astronaut holding a helmet.", "checks passed", "split-counts"):
        assert text in seen.text, text
    shot = _png_size(seen.screenshot)
    assert shot[0] >= 1200 and shot[1] >= 2000


def _png_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as img:
        assert img.format == "PNG"
        pixels = np.asarray(img.convert("L"))
    assert pixels.std() > 10  # something was drawn, not a blank page
    return img.size


def test_the_browser_harness_sees_broken_images_and_console_errors(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body><section id="a"><h2>A</h2>'
                    '<img alt="gone" src="missing.png"></section><script>console.error("boom")</script></body></html>')
    seen = render_page(page, tmp_path / "bad.png", tmp_path / "profile")
    assert [i["alt"] for i in seen.broken_images] == ["gone"]
    assert "console: boom" in seen.console_errors
    assert any("missing.png" in e for e in seen.console_errors)


def test_labelled_temporal_dataset_gets_every_plot_and_waveforms(mixed, tmp_path):
    summary = write_report(mixed, tmp_path / "mixed.html")
    assert summary.checks_ok and summary.gallery == 9 and summary.tables == 4
    assert summary.titles == [
        "audio: feature norms", "audio: PCA", "audio: temporal coverage", "image: feature norms", "image: PCA",
        "text: feature norms", "text: PCA", "text: items per sample", "labels"]
    html = (tmp_path / "mixed.html").read_text()
    assert html.count('class=wave alt="waveform of') == 9 and html.count("<img class=thumb") == 9
    assert "coloured by label" in html and "sequence @ 10 Hz" in html
    assert "<li>a cup of coffee on a saucer</li>" in html


def test_failing_checks_are_refused_or_listed_with_the_offending_samples(mixed, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(mixed, broken)
    shard = broken / "features" / "image.color-hist" / "part-00000.parquet"
    table = pq.read_table(shard)
    values = np.asarray(table.column("feature").combine_chunks().values).reshape(table.num_rows, -1).copy()
    row = table.column("sample_id").to_pylist().index("s-03")
    values[row, 0] = np.nan
    feature = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), pa.float32()), type=table.schema.field("feature").type)
    pq.write_table(table.set_column(1, table.schema.field("feature"), feature), shard)

    with pytest.raises(ChecksFailedError, match=r"refusing to report on .*\n  non-finite \(table 'image.color-hist', sample 's-03'\)"):
        write_report(broken, tmp_path / "r.html")
    result = runner.invoke(app, ["report", str(broken), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "non-finite" in result.stderr and "--allow-failed-checks" in result.stderr
    assert not (tmp_path / "r.html").exists()

    result = runner.invoke(app, ["report", str(broken), "--out", str(tmp_path / "r.html"), "--allow-failed-checks"])
    assert result.exit_code == 0 and "checks FAILED" in result.stdout
    html = (tmp_path / "r.html").read_text()
    checks = html[html.index('<section id="checks">'):]
    assert "checks FAILED" in checks
    assert re.search(r'<tr class="error"><td>error</td><td>non-finite</td><td>image.color-hist</td><td>1</td><td>s-03</td>', checks)


def test_a_share_with_embedded_media_shows_them_without_the_corpus(mixed, tmp_path):
    share_dataset(mixed, tmp_path / "hf", media="embed")
    summary = write_report(tmp_path / "hf", tmp_path / "hf.html", corpus_root=tmp_path / "no-corpus-here")
    assert summary.checks_ok and summary.gallery == 9
    html = (tmp_path / "hf.html").read_text()
    assert html.count("<img class=thumb") == 9 and html.count("class=wave") == 9 and "not found at" not in html


def test_unreadable_media_become_notes_not_broken_images(mixed, tmp_path):
    write_report(mixed, tmp_path / "moved.html", corpus_root=tmp_path / "elsewhere", max_gallery=3)
    html = (tmp_path / "moved.html").read_text()
    gallery = html[html.index('<section id="gallery">'):html.index('<section id="checks">')]
    assert "<img" not in gallery
    assert gallery.count("not found at") == 6  # image and audio of each of the 3 samples
    assert "pass --corpus-root if the corpus moved" in gallery


def test_a_share_without_its_media_names_them_instead_of_looking_in_the_current_folder(mixed, tmp_path, monkeypatch):
    share_dataset(mixed, tmp_path / "hf")  # media referenced: the share records only the corpus folder's name
    corpus_name = open_dataset(tmp_path / "hf").manifest.corpus["root"]
    decoy = tmp_path / "cwd" / corpus_name  # a folder of that name where the report runs
    shutil.copytree(open_dataset(mixed).manifest.corpus["root"], decoy)
    monkeypatch.chdir(tmp_path / "cwd")
    write_report(tmp_path / "hf", tmp_path / "hf.html", max_gallery=2)
    gallery = (tmp_path / "hf.html").read_text()
    gallery = gallery[gallery.index('<section id="gallery">'):gallery.index('<section id="checks">')]
    assert "<img" not in gallery and "the corpus&#x27;s location is not recorded here" in gallery
