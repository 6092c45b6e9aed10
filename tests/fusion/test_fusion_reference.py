"""Every export of `fuse` against an independent NumPy reference written from the documented semantics.

The reference (`_reference`) works sample by sample in float64: pool or keep each table's feature,
decide presence (failed, NaN/Inf with non_finite='missing', no time step to carry a pooled vector),
keep or drop, z-score with the population mean/std of the present rows of the statistics splits
(std 0 -> 1), L2 (zero vectors stay zero), concatenate, pad; rows grouped by split in samples order.
"""
from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pyarrow.parquet as pq
import pytest

from mmdata.fusion import fuse, read_fused_metadata
from tests.checks.builder import aligned_table, build_dataset, image_text_samples, mosi_samples, pooled_table, with_value
from tests.fusion.export_tables import split_table

POOL = {"mean": lambda v: v.mean(axis=0), "max": lambda v: v.max(axis=0), "first": lambda v: v[0], "last": lambda v: v[-1]}


def _reference(samples, tables, *, normalize="zscore", missing="zero", non_finite="missing", stats_splits=("train",),
               sequences="pool", pool="mean", max_length=None):
    """{split: [(sample_id, feature (D,) or (T, D) float64, present, length)]} and {table: (mean, std, count)}."""
    order = sorted(range(len(samples)), key=lambda i: samples[i].sample_id)
    keeps = sequences != "pool" and any(t.spec.kind == "sequence" for t in tables)
    values, present = [], np.zeros((len(order), len(tables)), bool)
    for j, table in enumerate(tables):
        column = []
        for row, i in enumerate(order):
            value = table.values[i]
            if value is not None and np.isfinite(value).all() and len(value):
                value = np.asarray(value, np.float64)
                column.append(POOL[pool](value) if table.spec.kind == "sequence" and not keeps else value)
                present[row, j] = True
            else:
                assert value is None or non_finite == "missing"
                column.append(None)
        values.append(column)
    steps = np.zeros(len(order), int)
    if keeps:
        for j, table in enumerate(tables):
            for row in range(len(order)):
                if table.spec.kind == "sequence" and present[row, j] and not steps[row]:
                    steps[row] = len(values[j][row])
        for j, table in enumerate(tables):
            if table.spec.kind != "sequence":
                present[:, j] &= steps > 0
    keep = present.all(axis=1) if missing == "drop" else np.ones(len(order), bool)
    splits = np.array([samples[i].split for i in order])
    stats = {}
    for j, table in enumerate(tables):
        method = normalize if isinstance(normalize, str) else normalize.get(table.name, "none")
        if method == "zscore":
            rows = np.concatenate([np.atleast_2d(values[j][r]) for r in range(len(order))
                                   if keep[r] and present[r, j] and splits[r] in stats_splits])
            std = rows.std(axis=0)
            stats[table.name] = (rows.mean(axis=0), np.where(std > 0, std, 1.0), len(rows))
        elif method == "l2":
            stats[table.name] = "l2"

    def normalized(j, value):
        how = stats.get(tables[j].name)
        if how == "l2":
            norm = np.linalg.norm(value, axis=-1, keepdims=True)
            return np.divide(value, norm, out=np.zeros_like(value), where=norm > 0)
        return value if how is None else (value - how[0]) / how[1]

    out = {}
    for row in np.flatnonzero(keep):
        parts = []
        for j, table in enumerate(tables):
            width = table.spec.dim
            if not present[row, j]:
                parts.append(np.zeros((steps[row], width) if keeps else width))
            elif keeps and table.spec.kind != "sequence":
                parts.append(np.repeat(normalized(j, values[j][row])[None], steps[row], axis=0))
            else:
                parts.append(normalized(j, values[j][row]))
        feature = np.concatenate(parts, axis=-1)
        out.setdefault(str(splits[row]), []).append((samples[order[row]].sample_id, feature, present[row].tolist(),
                                                    int(steps[row])))
    if keeps and sequences == "pad":
        length = max_length or max(1, max(r[3] for rows in out.values() for r in rows))
        for split, rows in out.items():
            out[split] = [(sid, np.concatenate([f[:length], np.zeros((max(0, length - len(f)), f.shape[1]))]), p,
                           min(n, length)) for sid, f, p, n in rows]
    return out, stats


def _read(out):
    """{split: [(sample_id, feature, present or None, length or None)]} of any export format, in file order."""
    meta = read_fused_metadata(out)
    dim, kind, result = meta["dim"], meta["rows_kind"], {}
    for split, files in meta["files"].items():
        if meta["format"] == "npy":
            index = pq.read_table(out / split / "index.parquet")
            assert index.column("split").to_pylist() == [split] * index.num_rows
            arrays = {p.stem: np.load(p) for p in (out / split).glob("*.npy")}
            rows = []
            for sid, r in zip(index.column("sample_id").to_pylist(), index.column("row").to_pylist()):
                feature = arrays["features"][arrays["offsets"][r]: arrays["offsets"][r + 1]] if kind == "ragged" \
                    else arrays["features"][r]
                rows.append((sid, feature, arrays["present"][r].tolist() if "present" in arrays else None,
                             int(arrays["lengths"][r]) if "lengths" in arrays else None))
            result[split] = rows
            continue
        table = split_table(out, meta["format"], split, files)
        assert table.column("split").to_pylist() == [split] * table.num_rows
        columns = table.to_pydict()
        result[split] = [
            (sid, np.array(columns["feature"][k], np.float32).reshape(-1, dim) if kind != "pooled"
             else np.array(columns["feature"][k], np.float32),
             columns["present"][k] if "present" in columns else None, columns["length"][k] if "length" in columns else None)
            for k, sid in enumerate(columns["sample_id"])
        ]
        if kind == "padded":
            assert columns["mask"] == [[s < n for s in range(meta["max_length"])] for n in columns["length"]]
    return meta, result


def _assert_export(out, expected, stats, *, presence, sequences):
    meta, got = _read(out)
    assert sorted(got) == sorted(expected)
    for split, rows in expected.items():
        assert [r[0] for r in got[split]] == [r[0] for r in rows], split  # samples order within the split
        for (sid, want, present, length), (_, feature, got_present, got_length) in zip(rows, got[split]):
            np.testing.assert_allclose(np.asarray(feature, np.float64), want, rtol=1e-5, atol=1e-5, err_msg=sid)
            assert got_present == (present if presence else None), sid
            assert got_length == (length if sequences else None), sid
    for name, applied in meta["normalization"]["tables"].items():
        if isinstance(stats.get(name), tuple):
            mean, std, count = stats[name]
            np.testing.assert_allclose(applied["mean"], mean, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(applied["std"], std, rtol=1e-6)
            assert applied["count"] == count
    assert meta["rows"] == {split: len(rows) for split, rows in expected.items()}


S = image_text_samples(17)


def _pooled_tables():
    image = pooled_table("image.a", S, 4)
    values = [np.array(v) for v in image.values]
    for v in values:
        v[2] = 7.5  # constant on every split: std 0 -> 1, only centred
    values[3] = None  # failed (train)
    values[9][1] = np.nan  # NaN (test)
    text = pooled_table("text.b", S, 3, seed=1)
    text = with_value(with_value(text, 4, None), 0, np.zeros(3, np.float32))  # a failed row; a zero vector for L2
    audio = pooled_table("audio.c", S, 2, seed=2, transform=lambda v: v * 50 + 1e3)
    return [replace(image, values=values), text, audio]


@pytest.mark.parametrize("table_format", ["arrow", "parquet"])
def test_pooled_exports_of_every_format_equal_the_reference(tmp_path, table_format):
    tables = _pooled_tables()
    root = build_dataset(tmp_path / "ds", S, [replace(t, table_format=table_format) for t in tables], shard_size=5)
    names = ("image", "text", "audio")
    for fmt, normalize, missing, stats_splits in [
        ("parquet", "zscore", "zero", ("train",)), ("arrow", "zscore", "drop", ("train", "val")),
        ("npy", {"image.a": "l2", "text.b": "zscore"}, "zero", ("val",)), ("hf", "l2", "drop", ("train",)),
        ("parquet", "none", "drop", ("train",)), ("npy", "zscore", "drop", ("train",)),
    ]:
        out = tmp_path / f"out-{fmt}-{missing}-{len(stats_splits)}"
        report = fuse(root, out, tables=names, normalize=normalize, missing=missing, non_finite="missing",
                      stats_splits=stats_splits, format=fmt, shard_rows=3)
        expected, stats = _reference(S, tables, normalize=normalize, missing=missing, stats_splits=stats_splits)
        _assert_export(out, expected, stats, presence=missing == "zero", sequences=False)
        assert report.missing == {"image.a": 2, "text.b": 1, "audio.c": 0}
        assert report.dropped == (3 if missing == "drop" else 0)  # samples 3, 9 (image) and 4 (text)
        if fmt == "parquet":  # shards cut at shard_rows, numbered i-of-n
            for split, files in read_fused_metadata(out)["files"].items():
                sizes = [pq.ParquetFile(out / f).metadata.num_rows for f in files]
                assert sizes == [min(3, report.rows[split] - 3 * k) for k in range(len(files))]
                assert files == [f"data/{split}-{k:05d}-of-{len(files):05d}.parquet" for k in range(len(files))]


M = mosi_samples(5, 3)


def _varied_steps(name, dim, seed):
    """An aligned table whose samples have 1-5 steps (the same for every table built with it)."""
    table = aligned_table(name, M, dim, 2, seed=seed)
    rng = np.random.default_rng(seed)
    values, intervals = [], []
    for i, s in enumerate(M):
        edges = np.linspace(s.start, s.end, 2 + (i * 7) % 5)
        intervals.append(np.stack([edges[:-1], edges[1:]], axis=1))
        values.append((rng.normal(size=(len(edges) - 1, dim)) * 3 + seed).astype(np.float32))
    return replace(table, values=values, intervals=intervals)


def _sequence_tables():
    words = with_value(_varied_steps("text.w", 2, 0), 4, None)
    nan = np.array(words.values[0])
    nan[-1, 1] = np.inf  # a train sample: with non_finite='missing' its steps leave the statistics
    words = with_value(words, 0, nan, words.intervals[0])
    video = with_value(_varied_steps("video.v", 3, 5), 7, None)
    face = with_value(pooled_table("image.p", M, 2, seed=4), 1, None)
    return [words, video, face]


@pytest.mark.parametrize("table_format", ["arrow", "parquet"])
def test_sequence_exports_of_every_format_equal_the_reference(tmp_path, table_format):
    tables = _sequence_tables()
    root = build_dataset(tmp_path / "ds", M, [replace(t, table_format=table_format) for t in tables],
                         corpus_kind="mosi-raw", shard_size=4)
    cases = [("parquet", "pad", None, "zero", "zscore"), ("arrow", "pad", 2, "drop", "l2"),
             ("npy", "pad", 3, "zero", "zscore"), ("hf", "ragged", None, "zero", "zscore"),
             ("npy", "ragged", None, "drop", "zscore"), ("arrow", "ragged", None, "zero", "none"),
             ("npy", "pool", None, "zero", "zscore"), ("parquet", "pool", None, "drop", "l2")]
    for k, (fmt, sequences, max_length, missing, normalize) in enumerate(cases):
        out = tmp_path / f"out{k}"
        fuse(root, out, tables=("text", "video", "image"), normalize=normalize, missing=missing, non_finite="missing",
             sequences=sequences, max_length=max_length, format=fmt, pool="max")
        expected, stats = _reference(M, tables, normalize=normalize, missing=missing, sequences=sequences, pool="max",
                                     max_length=max_length)
        _assert_export(out, expected, stats, presence=missing == "zero", sequences=sequences != "pool")


@pytest.mark.parametrize("fmt", ["npy", "parquet"])
def test_max_length_is_the_padded_length_only_ragged_rows_keep_every_step(tmp_path, fmt):
    """--max-length with ragged rows: every step is written, in .npy too (whose arrays the first
    pass sizes; it used to count the cut steps and fail on the first longer batch)."""
    tables = _sequence_tables()
    root = build_dataset(tmp_path / "ds", M, tables, corpus_kind="mosi-raw", shard_size=4)
    report = fuse(root, tmp_path / "out", tables=("text", "video", "image"), sequences="ragged", max_length=2,
                  missing="zero", non_finite="missing", format=fmt)
    expected, stats = _reference(M, tables, sequences="ragged")
    _assert_export(tmp_path / "out", expected, stats, presence=True, sequences=True)
    assert max(n for rows in expected.values() for *_, n in rows) > 2
    assert report.total_rows == len(M)


def test_large_mean_features_are_z_scored_without_a_float32_shift(tmp_path):
    """A mean of 1e6 with a std of 1/8: the float32 rounding of the mean (up to 0.03) must not shift
    the z-scores (it moved every value by up to 0.24; the train rows' mean was not 0)."""
    samples = image_text_samples(60)
    offset = np.array([1e6, 2.5e5 + 0.3, -3e5], np.float32)
    large = pooled_table("audio.c", samples, 3, seed=2, transform=lambda v: v / 8 + offset)
    root = build_dataset(tmp_path / "ds", samples, [large], shard_size=60)
    for fmt in ("arrow", "npy"):
        fuse(root, tmp_path / fmt, normalize="zscore", format=fmt)
        rows = np.stack(large.values).astype(np.float64)
        train = np.array([s.split == "train" for s in samples])
        meta, got = _read(tmp_path / fmt)
        applied = meta["normalization"]["tables"]["audio.c"]
        np.testing.assert_allclose(applied["mean"], rows[train].mean(axis=0), rtol=1e-12)
        features = np.stack([f for _, f, _, _ in got["train"]]).astype(np.float64)
        # the values are the z-scores with the recorded statistics, to float32 precision
        np.testing.assert_allclose(features, (rows[train] - applied["mean"]) / applied["std"], atol=2e-5)
        np.testing.assert_allclose(features.mean(axis=0), 0.0, atol=1e-5)


@pytest.mark.parametrize("method", ["zscore", "l2", "none"])
def test_every_format_writes_the_same_values_in_the_same_order(tmp_path, method):
    tables = _pooled_tables()
    root = build_dataset(tmp_path / "ds", S, tables, shard_size=4)
    exports = {}
    for fmt in ("parquet", "arrow", "hf", "npy"):
        fuse(root, tmp_path / fmt, tables=("audio", "text", "image"), normalize=method, missing="zero",
             non_finite="missing", format=fmt, shard_rows=2)
        exports[fmt] = _read(tmp_path / fmt)[1]
    first = exports["parquet"]
    for fmt, splits in exports.items():
        assert list(splits) == list(first), fmt
        for split in first:
            assert [r[0] for r in splits[split]] == [r[0] for r in first[split]]
            for a, b in itertools.zip_longest(splits[split], first[split]):
                np.testing.assert_array_equal(np.asarray(a[1], np.float32), np.asarray(b[1], np.float32))
                assert a[2] == b[2]
