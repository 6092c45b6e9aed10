"""`mmdata report` against numbers recomputed from the tables with pyarrow and NumPy, and on hostile input.

Every count on the page and every number behind a plot (norms, items, coverage, PCA explained
variance) is recomputed here the plain way; user-controlled strings (ids, captions, split and file
names) must come out escaped; a large table must be scanned in linear time.
"""
from __future__ import annotations

import html
import json
import logging
import re
import shutil
import time
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.pipeline import extract
from mmdata.report import ReportWriteError, write_report
from mmdata.report.stats import pca_2d, read_sample_columns, table_vectors
from mmdata.sample_data import sample_corpus_dir
from mmdata.share import share_dataset
from mmdata.store.reader import open_dataset
from tests.share.corpus import extract_mixed

runner = CliRunner()
SAMPLE = sample_corpus_dir("coco") / "val2017"
# Tags and attributes the page may use; anything else means a string got through unescaped.
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "b", "span", "code",
                "section", "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "img", "div", "ul", "li"}
ALLOWED_ATTRS = {"lang", "charset", "name", "content", "id", "class", "alt", "src"}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    return extract_mixed(tmp_path_factory.mktemp("mixed"))


def test_every_count_on_the_page_matches_the_tables(mixed, tmp_path):
    write_report(mixed, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    samples = pq.read_table(mixed / "samples")
    assert _facts(page)["samples"] == str(samples.num_rows)
    assert _facts(page)["labelled samples"] == str(samples.column("label").drop_null().__len__())
    splits = samples.column("split").to_pylist()
    assert _rows(page, "split") == [[s, str(splits.count(s))] for s in ("train", "val", "test")]
    errors = open_dataset(mixed).errors().column("table").to_pylist()
    for name, modality, extractor, _config, rows, dim, dtype, kind, failed, missing, _versions in _rows(page, "table"):
        table = ds.dataset(mixed / "features" / name, format="parquet").to_table()
        feature = table.column("feature")
        inner = feature.type if pa.types.is_fixed_size_list(feature.type) else feature.type.value_type
        assert (rows, dim, dtype) == (str(table.num_rows), str(inner.list_size), "float32"), name
        assert (failed, missing) == (str(errors.count(name)), str(feature.null_count)), name
        assert kind.startswith("pooled" if pa.types.is_fixed_size_list(feature.type) else "sequence"), name


def test_norms_items_coverage_and_pca_equal_a_plain_recomputation(mixed):
    dataset = open_dataset(mixed)
    samples = read_sample_columns(dataset)
    rows = pq.read_table(mixed / "samples").to_pylist()
    by_id = {r["sample_id"]: r for r in rows}
    assert samples.split_counts == {"train": 5, "val": 2, "test": 2}
    for name in dataset.table_names:  # the mixed tables have 4 rows a shard: batches cross shards
        table = ds.dataset(mixed / "features" / name, format="parquet").to_table().to_pylist()
        vectors = table_vectors(dataset, name, samples)
        ids = samples.ids.to_pylist()
        assert [ids[p] for p in vectors.positions] == [r["sample_id"] for r in table]
        norms, items, coverage = [], [], []
        for r in table:
            feature = r["feature"]
            pooled = feature if vectors.kind == "pooled" else (np.mean(feature, axis=0) if feature else None)
            norms.append(np.nan if pooled is None else float(np.linalg.norm(np.asarray(pooled, np.float64))))
            items.append(len(feature or []))
            if "intervals" in r:
                coverage.append(_covered_fraction(r["intervals"], by_id[r["sample_id"]]))
        np.testing.assert_allclose(vectors.norms, norms, rtol=1e-9)
        if vectors.kind == "sequence":
            assert vectors.items.tolist() == items
        if coverage:
            np.testing.assert_allclose(vectors.coverage, coverage, rtol=1e-9)
        else:
            assert vectors.coverage is None
        assert len(vectors.points) == int(np.isfinite(norms).sum())  # fewer than max_points: every valid row
        coords, ratios = pca_2d(vectors.points)
        centred = vectors.points - vectors.points.mean(axis=0)
        u, s, _ = np.linalg.svd(centred, full_matrices=False)
        np.testing.assert_allclose(ratios, (s[:2] ** 2) / (s**2).sum(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(np.abs(coords), np.abs(u[:, :2] * s[:2]), atol=1e-9)


def _covered_fraction(intervals: list[list[float]], sample: dict) -> float:
    lo = sample["start"] or 0.0
    hi = sample["end"] if sample["end"] is not None else max(end for _, end in intervals)
    covered, reach = 0.0, lo
    for start, end in sorted(intervals):
        start, end = max(start, reach), min(end, hi)
        if end > start:
            covered, reach = covered + end - start, end
    return covered / (hi - lo)


@pytest.mark.parametrize("shape", [(400, 64), (30, 300), (2000, 48)])
def test_pca_explained_variance_is_exact_and_reproducible(shape):
    rng = np.random.default_rng(3)
    points = rng.normal(size=shape) * np.linspace(3.0, 1.0, shape[1])  # a slowly falling spectrum
    coords, ratios = pca_2d(points)
    centred = points - points.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(ratios, (s[:2] ** 2) / (s**2).sum(), rtol=1e-9)
    np.testing.assert_allclose(np.abs(coords), np.abs(u[:, :2] * s[:2]), atol=1e-8)
    again, _ = pca_2d(points.copy())
    assert np.array_equal(coords, again)
    assert (coords[np.abs(coords).argmax(axis=0), [0, 1]] > 0).all()  # each axis oriented the same way every run
    assert pca_2d(points[:1])[1] == (0.0, 0.0) and pca_2d(np.ones((5, 3)))[1] == (0.0, 0.0)


def test_rows_in_another_order_than_the_samples_map_to_their_own_samples(mixed, tmp_path):
    moved = tmp_path / "mixed"
    shutil.copytree(mixed, moved)
    for shard in sorted((moved / "features" / "image.pixel-stats").glob("part-*.parquet")):
        table = pq.read_table(shard)
        pq.write_table(table.take(np.arange(table.num_rows)[::-1]), shard)
    dataset = open_dataset(moved)
    samples = read_sample_columns(dataset)
    vectors = table_vectors(dataset, "image.pixel-stats", samples)
    table = ds.dataset(moved / "features" / "image.pixel-stats", format="parquet").to_table()
    ids = samples.ids.to_pylist()
    assert [ids[p] for p in vectors.positions] == table.column("sample_id").to_pylist() != ids
    assert [ids[p] for p in vectors.point_positions] == table.column("sample_id").to_pylist()


def test_a_large_table_is_scanned_in_linear_time_and_the_page_stays_small(tmp_path):
    n = 300_000
    root = _large_dataset(tmp_path / "large", n, dim=4)
    dataset = open_dataset(root)
    samples = read_sample_columns(dataset)
    started = time.perf_counter()
    vectors = table_vectors(dataset, "audio.small", samples)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.5, f"{elapsed:.1f} s for {n} rows"  # 0.3 s; looking ids up per batch took 6 s
    assert np.array_equal(vectors.positions, np.arange(n)) and len(vectors.points) == 2000
    summary = write_report(root, tmp_path / "large.html", max_gallery=4)
    assert summary.checks_ok and summary.bytes < 400_000
    page = (tmp_path / "large.html").read_text()
    assert _facts(page)["samples"] == str(n)
    assert _rows(page, "split") == [["train", str(n - 2 * (n // 10))], ["val", str(n // 10)], ["test", str(n // 10)]]
    assert "First two principal components of up to 2000 samples" in page


def _large_dataset(root: Path, n: int, dim: int) -> Path:
    """A dataset written with the store's own functions: n samples over three splits, one pooled table."""
    from mmdata.pipeline import fingerprint_ids
    from mmdata.records import SAMPLES_SCHEMA
    from mmdata.store import layout
    from mmdata.store.manifest import Manifest, TableEntry, write_manifest
    from mmdata.store.metadata import FeatureSpec, feature_schema
    from mmdata.store.writer import write_table_atomic

    shard = 50_000
    ids = [f"s{i:07d}" for i in range(n)]
    splits = np.array(["train"] * 8 + ["val", "test"])[np.arange(n) % 10]
    samples = pa.table({
        "sample_id": ids, "corpus": pa.nulls(n, pa.string()), "split": splits, "group_id": ids,
        "image": pa.nulls(n, pa.string()), "audio": [f"audio/{i}.wav" for i in ids], "video": pa.nulls(n, pa.string()),
        "start": pa.nulls(n, pa.float64()), "end": pa.nulls(n, pa.float64()),
        "captions": pa.nulls(n, pa.list_(pa.string())), "transcript": pa.nulls(n, pa.string()),
        "label": np.random.default_rng(0).uniform(-3, 3, n), "extra": pa.nulls(n, pa.string()),
    }).cast(SAMPLES_SCHEMA)
    for k, start in enumerate(range(0, n, shard)):
        write_table_atomic(samples.slice(start, shard), layout.samples_dir(root) / layout.shard_name(k))
    fingerprint = fingerprint_ids(ids)
    manifest = Manifest(corpus={"kind": "manifest", "root": str(root / "corpus"), "split": None, "options": {}},
                        samples={"path": "samples", "rows": n, "shard_size": shard, "fingerprint": fingerprint,
                                 "loader_errors": 0, "splits": {s: int((splits == s).sum()) for s in ("train", "val", "test")}})
    spec = FeatureSpec(dim=dim)
    provenance = {"table": "audio.small", "modality": "audio", "extractor": "small", "config": {}, "spec": spec.to_json(),
                  "versions": {"mmdata": "0.1.0"}, "samples_fingerprint": fingerprint}
    schema = feature_schema(spec, provenance)
    values = np.random.default_rng(1).normal(size=n * dim).astype(np.float32)
    for k, start in enumerate(range(0, n, shard)):
        rows = min(shard, n - start)
        feature = pa.FixedSizeListArray.from_arrays(pa.array(values[start * dim:(start + rows) * dim]),
                                                    type=schema.field("feature").type)
        write_table_atomic(pa.Table.from_arrays([pa.array(ids[start:start + rows]), feature], schema=schema),
                           layout.feature_dir(root, "audio.small") / layout.shard_name(k))
    manifest.tables["audio.small"] = TableEntry(name="audio.small", path="features/audio.small", modality="audio",
                                                extractor="small", config={}, spec=spec.to_json(),
                                                versions={"mmdata": "0.1.0"}, rows=n, complete=True)
    write_manifest(root, manifest)
    return root


HOSTILE = [
    {"id": "<script>alert(1)</script>", "image": "images/ok.jpg", "split": "train", "label": 1,
     "caption": "</li><script>alert('x')</script><img src=x onerror=alert(1)>"},
    {"id": "q\"uote' & <b>", "image": "images/a<b>&\"q.jpg", "split": "<i>val</i>", "label": -1,
     "caption": "A & B \"quoted\" 'single' <!-- -->"},
    {"id": "dollars", "image": "images/it's.jpg", "split": "$\\frac$", "caption": "costs $5 or $6"},
    {"id": "not-an-image", "image": "images/text.jpg", "split": "train", "caption": "a text file named .jpg"},
    {"id": "truncated", "image": "images/trunc.jpg", "split": "train", "caption": "the first 300 bytes of a JPEG"},
]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """Ids, captions, split and file names full of markup and `$`, one non-image and one truncated JPEG."""
    corpus = tmp_path_factory.mktemp("hostile") / "corpus"
    (corpus / "images").mkdir(parents=True)
    jpegs = sorted(SAMPLE.glob("*.jpg"))
    for row, source in zip(HOSTILE[:3], jpegs):
        shutil.copy(source, corpus / row["image"])
    (corpus / "images" / "text.jpg").write_text("not an image")
    (corpus / "images" / "trunc.jpg").write_bytes(jpegs[3].read_bytes()[:300])
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in HOSTILE))
    out = corpus.parent / "ds"
    extract("manifest", corpus, out, extractors=["color-hist"], num_workers=0, on_error="skip")
    return out


def test_user_strings_are_escaped_and_the_page_holds_only_its_own_markup(hostile, tmp_path):
    page_path = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(hostile), "--out", str(page_path)])
    assert result.exit_code == 0, result.output  # a split named `$\frac$` reaches matplotlib as text
    page = page_path.read_text()
    parser = _Markup()
    parser.feed(page)
    assert parser.tags <= ALLOWED_TAGS and parser.attrs <= ALLOWED_ATTRS, (parser.tags, parser.attrs)
    assert all(src.startswith(("data:image/png;base64,", "data:image/jpeg;base64,")) for src in parser.sources)
    assert len(parser.sources) == 3 + 3  # plots (norms, PCA, labels) and the 3 readable images
    for row in HOSTILE:
        assert html.escape(row["id"]) in page and html.escape(row["caption"]) in page, row["id"]
        assert row["caption"] in parser.text
    assert html.escape("images/a<b>&\"q.jpg") not in page  # readable: a thumbnail, no note
    assert f'alt="{html.escape(HOSTILE[0]["id"])}"' in page
    assert "<td>&lt;i&gt;val&lt;/i&gt;</td><td>1</td>" in page and "<td>$\\frac$</td><td>1</td>" in page


def test_unreadable_images_become_the_same_notes_every_time(hostile, tmp_path):
    first = write_report(hostile, tmp_path / "a.html")
    write_report(hostile, tmp_path / "b.html")
    page = (tmp_path / "a.html").read_text()
    assert page == (tmp_path / "b.html").read_text()
    assert first.gallery == 5 and page.count("<img class=thumb") == 3
    notes = re.findall(r"<p class=note>(image [^<]*)</p>", page)
    assert len(notes) == 2 and not any(re.search(r"0x[0-9a-f]{6,}", n) for n in notes), notes
    assert "image images/text.jpg: image file is corrupt or truncated, or not an image" in notes[0]
    assert "Pillow recognises no image format in it" in notes[0]
    assert notes[1].startswith("image images/trunc.jpg: image file is corrupt or truncated") and "Truncated" in notes[1]


def test_embedded_files_that_are_not_images_get_a_note_naming_the_column(hostile, tmp_path):
    share_dataset(hostile, tmp_path / "hf", media="embed")  # leaves the two unreadable images null ...
    corpus = hostile.parent / "corpus"
    for part in sorted((tmp_path / "hf" / "samples").glob("*.parquet")):  # ... which a share made otherwise holds
        table = pq.read_table(part)
        files = [cell if cell is not None or image is None else {"bytes": (corpus / image).read_bytes(), "path": image}
                 for cell, image in zip(table.column("image_file").to_pylist(), table.column("image").to_pylist())]
        index = table.schema.get_field_index("image_file")
        pq.write_table(table.set_column(index, table.schema.field(index), pa.array(files, table.schema.field(index).type)), part)
    write_report(tmp_path / "hf", tmp_path / "hf.html", corpus_root=tmp_path / "no-corpus")
    page = (tmp_path / "hf.html").read_text()
    notes = sorted(re.findall(r"<p class=note>(image [^<]*)</p>", page))
    assert notes[0] == "image images/text.jpg: the embedded image_file holds no image format Pillow reads"
    assert notes[1].startswith("image images/trunc.jpg: the embedded image_file is corrupt or truncated")
    assert page.count("<img class=thumb") == 3 and "not found at" not in page


def test_a_table_whose_every_item_failed_lists_the_first_failures_and_plots_without_warnings(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "images").mkdir(parents=True)
    rows = []
    for i in range(23):
        (corpus / "images" / f"{i}.jpg").write_text("not an image")
        rows.append({"id": f"bad-{i:02d}", "image": f"images/{i}.jpg", "caption": "x"})
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    extract("manifest", corpus, tmp_path / "ds", extractors=["color-hist"], num_workers=0, on_error="skip")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. matplotlib: a legend without labelled artists
        summary = write_report(tmp_path / "ds", tmp_path / "r.html")
    assert summary.titles == ["image: feature norms", "image: PCA"]
    page = (tmp_path / "r.html").read_text()
    assert re.search(r"<h3>Failed items \(23; the first 20, all are in the Parquet files under [^<]*errors\)</h3>", page)
    failed = page[page.index("<h3>Failed items"):page.index('<section id="plots">')]
    assert failed.count("<tr><td>image.color-hist</td>") == 20
    assert _rows(page, "table")[0][8:10] == ["23", "23"]  # failed, missing


def test_gallery_says_how_many_captions_it_leaves_out(tmp_path):
    extract("coco", sample_corpus_dir("coco"), tmp_path / "ds", extractors=["color-hist"], num_workers=0)
    write_report(tmp_path / "ds", tmp_path / "r.html", max_gallery=3)
    page = (tmp_path / "r.html").read_text()
    card = page[page.index("<div class=id>000000000114"):]
    card = card[:card.index("</ul>")]
    assert card.count("<li>") == 5 and "<li class=note>and 1 more</li>" in card  # it has 6 captions
    assert page.count("<li class=note>") == 1


def test_a_missing_corpus_root_is_one_warning_and_notes_on_the_page(mixed, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="mmdata.report"):
        summary = write_report(mixed, tmp_path / "r.html", corpus_root=tmp_path / "nowhere", max_gallery=2)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"corpus root {tmp_path / 'nowhere'} is not a directory: the gallery shows no pictures or "
                        "waveforms of its files; pass --corpus-root where the corpus lies now"]
    assert summary.gallery == 2 and (tmp_path / "r.html").read_text().count("not found at") == 4


def test_a_single_sample_dataset_gets_every_section(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "images").mkdir(parents=True)
    shutil.copy(next(SAMPLE.glob("*.jpg")), corpus / "images" / "a.jpg")
    (corpus / "manifest.jsonl").write_text(json.dumps({"id": "only", "image": "images/a.jpg", "caption": "one",
                                                       "label": 1.5}) + "\n")
    extract("manifest", corpus, tmp_path / "ds", extractors=["color-hist"], num_workers=0)
    result = runner.invoke(app, ["report", str(tmp_path / "ds"), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("1 tables, 3 plots, 1 gallery samples, checks passed "
                                          "(0 errors, 0 warnings, 1 notes; listed on the page)")
    page = (tmp_path / "r.html").read_text()
    assert _facts(page)["samples"] == "1" and _rows(page, "split") == [["all", "1"]]
    assert page.count("<img class=thumb") == 1


def test_output_and_dataset_mistakes_are_one_line_errors(mixed, tmp_path):
    for args, message in [
        (["--out", str(tmp_path)], f"error: --out {tmp_path} is a directory; expected a file path"),
        (["--out", str(tmp_path / "r.html"), "--gallery", "-1"], None),
    ]:
        result = runner.invoke(app, ["report", str(mixed), *args])
        assert result.exit_code == 2 and "Traceback" not in result.output
        if message:
            assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1
    result = runner.invoke(app, ["report", str(tmp_path / "none"), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and result.stderr.strip() == f"error: dataset directory not found: {tmp_path / 'none'}"
    assert not (tmp_path / "r.html").exists()


def test_an_output_that_cannot_be_written_is_a_report_write_error(mixed, tmp_path):
    with pytest.raises(ReportWriteError, match=r"cannot write the report to .*\(File name too long\); choose an --out"):
        write_report(mixed, tmp_path / ("r" * 300 + ".html"))


def _facts(page: str) -> dict[str, str]:
    overview = page[page.index('<section id="overview">'):page.index("<h3>Splits</h3>")]
    return dict(re.findall(r"<tr><th>([^<]*)</th><td>([^<]*)</td></tr>", overview))


def _rows(page: str, first_header: str) -> list[list[str]]:
    """The body rows of the page's table whose first header is `first_header`, cells unescaped."""
    start = page.index(f"<thead><tr><th>{first_header}</th>")
    body = page[start:page.index("</tbody>", start)]
    return [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>")[1])]


class _Markup(HTMLParser):
    """Every tag and attribute name, every img src, and the text a browser would show."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.sources: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs |= {name for name, _ in attrs}
        if tag == "img":
            self.sources.append(dict(attrs)["src"] or "")

    def handle_data(self, data: str) -> None:
        self.text += data


def test_a_whole_files_span_ends_at_its_stated_duration_as_the_checks_take_it(tmp_path):
    """Coverage of a whole recording (no `end`) is measured against its `extra.duration`, not against
    the last row's end, which would make any table look fully covering."""
    from mmdata.pipeline import prepare_dataset
    from mmdata.report.stats import read_sample_columns

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [{"id": "whole", "audio": "a.wav", "text": "hi", "duration": 10.0},
            {"id": "cut", "audio": "a.wav", "start": 1.0, "end": 3.0, "text": "hi", "duration": 10.0},
            {"id": "unknown", "audio": "b.wav", "text": "hi"}]
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    samples = read_sample_columns(prepare_dataset("manifest", corpus, tmp_path / "ds"))
    ends = dict(zip(samples.ids.to_pylist(), samples.hi.tolist()))
    assert ends["whole"] == 10.0 and ends["cut"] == 3.0 and np.isnan(ends["unknown"])
