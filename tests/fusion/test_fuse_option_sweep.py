"""`fuse` against a NumPy reference over a seeded sample of its whole option space.

The reference (`expected_export`) is written from the documented contract only, sample by sample in
float64: each table's stored values (float16 tables rounded as stored), pooled with mean/max/first/
last or kept as sequences on the steps the sequence tables share; a feature is missing when it
failed, holds NaN/Inf (non_finite='missing'), is a sequence of no step (kept or pooled), or (pooled,
with kept sequences) has no step to ride on; missing='drop' leaves out a sample lacking any table; z-scores use the
population mean/std (std 0 -> 1) of the present, kept rows (every step of kept sequences) of the
statistics splits; L2 leaves zero vectors zero; rows are grouped by split in samples order, with
the label, a presence mask (missing='zero'), lengths and masks (sequences).

Datasets are random and small: several splits (one where a table has no feature at all), shards
of uneven sizes, failed samples, NaN/Inf values, constant columns, float16/32/64 tables,
Arrow IPC and Parquet shards, with and without the moments `extract` stores.
"""
from __future__ import annotations

import itertools
import random
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.errors import ConfigError, SchemaMismatchError
from mmdata.fusion import FusedDataset, collate_fused, fuse, read_fused_metadata
from mmdata.records import Sample
from mmdata.store import layout, open_dataset
from mmdata.store.metadata import FeatureSpec
from mmdata.store.moments import feature_moments, write_shard_moments
from mmdata.store.shards import read_shard
from tests.checks.builder import FakeTable, build_dataset
from tests.fusion.export_tables import split_table

POOLING = {"mean": lambda v: v.mean(axis=0), "max": lambda v: v.max(axis=0),
           "first": lambda v: v[0], "last": lambda v: v[-1]}
SPLIT_CYCLE = ("train", "train", "val", "train", "test", "train", "val", "dev", "train")


# ---- random datasets ----------------------------------------------------------------------------

def random_samples(n: int, seed: int) -> list[Sample]:
    """Samples over train/val/test/dev, ids not in split order, labels with a few nulls."""
    rng = np.random.default_rng(seed)
    labels = rng.normal(size=n).round(3)
    return [
        Sample(sample_id=f"s{(i * 7) % n:03d}", corpus="manifest", split=SPLIT_CYCLE[i % len(SPLIT_CYCLE)],
               group_id=f"g{i}", start=0.0, end=2.0, label=None if i % 5 == 3 else float(labels[i]))
        for i in range(n)
    ]


def pooled_values(samples: list[Sample], dim: int, seed: int, *, constant_column: bool = True,
                  nan_at: tuple[int, ...] = (), failed_at: tuple[int, ...] = (),
                  failed_split: str | None = None) -> list[np.ndarray | None]:
    """One vector per sample (None = failed), far from zero in one dimension, constant in another."""
    rng = np.random.default_rng(seed)
    values: list[np.ndarray | None] = []
    for i, s in enumerate(samples):
        v = rng.normal(size=dim) * (1 + seed % 3) + seed
        v[0] = v[0] * 0.25 + 300.0  # a mean far from zero next to a small std
        if constant_column and dim > 1:
            v[-1] = 0.1  # constant everywhere: std 0 -> 1, only centred
        if i in nan_at:
            v[min(1, dim - 1)] = np.nan if i % 2 else np.inf
        values.append(None if i in failed_at or s.split == failed_split else v)
    return values


def step_counts(samples: list[Sample], seed: int) -> list[int]:
    """Time steps per sample, shared by every aligned table of a dataset: 0 to 5."""
    rng = np.random.default_rng(seed)
    return [int(k) for k in rng.integers(0, 6, size=len(samples))]


def sequence_values(samples: list[Sample], steps: list[int], dim: int, seed: int, *,
                    nan_at: tuple[int, ...] = (), failed_at: tuple[int, ...] = ()) -> tuple[list, list]:
    """Aligned (T_i, dim) sequences and their intervals (T_i equal steps over the sample's 2 s)."""
    rng = np.random.default_rng(seed)
    values, intervals = [], []
    for i, count in enumerate(steps):
        edges = np.linspace(0.0, 2.0, count + 1)
        intervals.append(np.stack([edges[:-1], edges[1:]], axis=1))
        v = rng.normal(size=(count, dim)) * 2 + seed
        if i in nan_at and count:
            v[count - 1, 0] = np.nan
        values.append(None if i in failed_at else v)
    return values, intervals


def pooled(name: str, values: list, dim: int, dtype: str = "float32") -> FakeTable:
    return FakeTable(name, FeatureSpec(dim=dim, dtype=dtype), values)


def sequence(name: str, values: list, intervals: list, dim: int, dtype: str = "float32") -> FakeTable:
    spec = FeatureSpec(dim=dim, dtype=dtype, kind="sequence", intervals=True, item_axis="word")
    return FakeTable(name, spec, values, [iv if v is not None else None for v, iv in zip(values, intervals)],
                     source="text.words")


def write_stored_moments(root: Path) -> None:
    """Each pooled shard's per-split moments, as `extract` stores them next to the shard."""
    data = open_dataset(root)
    fingerprint = data.manifest.samples["fingerprint"]
    sample_shards = layout.shard_files(layout.samples_dir(root))
    for name in data.table_names:
        if data.spec(name).kind != "pooled":
            continue
        for samples_shard, shard in zip(sample_shards, layout.shard_files(data.table_dir(name))):
            splits = pq.read_table(samples_shard, columns=["split"]).column("split").to_numpy(zero_copy_only=False)
            feature = read_shard(shard, ["feature"]).column("feature")
            with np.errstate(invalid="ignore"):  # Inf - Inf in the rows of a shard holding Inf
                moments = feature_moments(feature, splits)
            write_shard_moments(shard, moments, data.spec(name).dim, fingerprint)


# ---- the reference -------------------------------------------------------------------------------

@dataclass
class Row:
    sample_id: str
    label: float | None
    feature: np.ndarray  # (D,), (T, D) ragged or (L, D) padded, float64
    present: list[bool]
    length: int | None


def stored(value, dtype: str) -> np.ndarray:
    """A value as fusion reads it: as the table holds it (float16 tables round it), then as float32
    (the export's dtype), in float64."""
    return np.asarray(value, dtype=dtype).astype(np.float32).astype(np.float64)


def expected_export(samples: list[Sample], tables: list[FakeTable], *, normalize, missing: str, non_finite: str,
                    stats_splits: tuple[str, ...], sequences: str, pool: str, max_length: int | None
                    ) -> tuple[dict[str, list[Row]], dict[str, tuple[np.ndarray, np.ndarray, int]]]:
    """{split: rows in samples order} and {z-scored table: (mean, std, count)}, from the contract alone."""
    order = sorted(samples, key=lambda s: s.sample_id)
    position = {s.sample_id: i for i, s in enumerate(samples)}
    keeps = sequences != "pool" and any(t.spec.kind == "sequence" for t in tables)

    def feature_of(table: FakeTable, sample: Sample) -> np.ndarray | None:
        value = table.values[position[sample.sample_id]]
        if value is None:
            return None
        value = stored(value, table.spec.dtype)
        if not np.isfinite(value).all():
            assert non_finite == "missing", "the sweep only fuses non-finite values as missing"
            return None
        if table.spec.kind == "sequence" and not len(value):
            return None  # a sequence of no step is no feature, kept or pooled
        if table.spec.kind == "sequence" and not keeps:
            return POOLING[pool](value)
        return value

    features = [[feature_of(t, s) for t in tables] for s in order]
    steps = []
    for row in features:
        lengths = {len(f) for f, t in zip(row, tables) if keeps and f is not None and t.spec.kind == "sequence"}
        assert len(lengths) <= 1, "aligned tables share their steps"
        steps.append(lengths.pop() if lengths else 0)
    if keeps:  # a pooled vector rides on the sample's steps: without any it is missing
        features = [[f if t.spec.kind == "sequence" or n else None for f, t in zip(row, tables)]
                    for row, n in zip(features, steps)]
    kept = [missing != "drop" or all(f is not None for f in row) for row in features]

    statistics = {}
    for j, table in enumerate(tables):
        if method_of(normalize, table) != "zscore":
            continue
        rows = [np.atleast_2d(row[j]) for row, s, k in zip(features, order, kept)
                if k and row[j] is not None and s.split in stats_splits]
        values = np.concatenate(rows)
        std = values.std(axis=0)  # population std, as StandardScaler
        statistics[table.name] = (values.mean(axis=0), np.where(std > 0, std, 1.0), len(values))

    def normalized(table: FakeTable, value: np.ndarray) -> np.ndarray:
        method = method_of(normalize, table)
        if method == "zscore":
            mean, std, _ = statistics[table.name]
            return (value - mean) / std
        if method == "l2":
            norm = np.linalg.norm(value, axis=-1, keepdims=True)
            return np.divide(value, norm, out=np.zeros_like(value), where=norm > 0)
        return value

    out: dict[str, list[Row]] = {}
    for sample, row, n, k in zip(order, features, steps, kept):
        if not k:
            continue
        parts = []
        for table, value in zip(tables, row):
            width = table.spec.dim
            if value is None:
                parts.append(np.zeros((n, width)) if keeps else np.zeros(width))
            elif keeps and table.spec.kind == "pooled":
                parts.append(np.repeat(normalized(table, value)[None], n, axis=0))
            else:
                parts.append(normalized(table, value))
        feature = np.concatenate(parts, axis=-1)
        length = n if keeps else None
        if keeps and sequences == "pad":
            length = min(n, max_length) if max_length else n
        out.setdefault(sample.split, []).append(
            Row(sample.sample_id, sample.label, feature, [v is not None for v in row], length))
    if keeps and sequences == "pad":
        padded = max_length or max([1] + [r.feature.shape[0] for rows in out.values() for r in rows])
        for rows in out.values():
            for r in rows:
                cut = r.feature[:padded]
                r.feature = np.concatenate([cut, np.zeros((padded - len(cut), cut.shape[1]))])
    return out, statistics


def method_of(normalize, table: FakeTable) -> str:
    if isinstance(normalize, str):
        return normalize
    return normalize.get(table.name, normalize.get(table.modality, "none"))


# ---- reading an export back ----------------------------------------------------------------------

def read_export(out: Path) -> tuple[dict, dict[str, list[Row]]]:
    """Every split's rows of an export in any format, in file order."""
    meta = read_fused_metadata(out)
    result = {}
    for split, files in meta["files"].items():
        if meta["format"] == "npy":
            result[split] = _npy_rows(out / split, meta)
            continue
        table = split_table(out, meta["format"], split, files)
        assert set(table.column("split").to_pylist()) == {split}
        result[split] = _table_rows(table, meta)
    return meta, result


def _table_rows(table: pa.Table, meta: dict) -> list[Row]:
    columns = table.to_pydict()
    rows = []
    for k, sid in enumerate(columns["sample_id"]):
        feature = np.asarray(columns["feature"][k], np.float64)
        if meta["rows_kind"] != "pooled":
            feature = feature.reshape(-1, meta["dim"])
        length = columns["length"][k] if "length" in columns else None
        if meta["rows_kind"] == "padded":
            assert columns["mask"][k] == [step < length for step in range(meta["max_length"])], sid
        rows.append(Row(sid, columns["label"][k], feature, columns.get("present", [None] * len(columns["sample_id"]))[k],
                        length))
    return rows


def _npy_rows(folder: Path, meta: dict) -> list[Row]:
    index = pq.read_table(folder / "index.parquet").to_pydict()
    arrays = {p.stem: np.load(p) for p in folder.glob("*.npy")}
    rows = []
    for sid, label, r in zip(index["sample_id"], index["label"], index["row"]):
        if meta["rows_kind"] == "ragged":
            feature = arrays["features"][arrays["offsets"][r]: arrays["offsets"][r + 1]]
        else:
            feature = arrays["features"][r]
        if meta["rows_kind"] == "padded":
            length = int(arrays["lengths"][r])
            assert not feature[length:].any(), sid
        rows.append(Row(sid, label, np.asarray(feature, np.float64),
                        arrays["present"][r].tolist() if "present" in arrays else None,
                        int(arrays["lengths"][r]) if "lengths" in arrays else None))
    return rows


def assert_export_matches(out: Path, expected: dict[str, list[Row]], statistics: dict, *, presence: bool) -> None:
    meta, got = read_export(out)
    assert sorted(got) == sorted(expected), "splits"
    assert meta["rows"] == {split: len(rows) for split, rows in expected.items()}
    for split, rows in expected.items():
        assert [r.sample_id for r in got[split]] == [r.sample_id for r in rows], split
        for want, have in zip(rows, got[split]):
            np.testing.assert_allclose(have.feature, want.feature, rtol=2e-5, atol=2e-5, err_msg=want.sample_id)
            assert have.present == (want.present if presence else None), want.sample_id
            assert have.length == want.length, want.sample_id
            assert (have.label is None and want.label is None) or have.label == pytest.approx(want.label), want.sample_id
    if meta["format"] != "parquet":
        for split, rows in got.items():
            assert_dataset_items_equal(FusedDataset(out, split), rows)
    for name, (mean, std, count) in statistics.items():
        applied = meta["normalization"]["tables"][name]
        np.testing.assert_allclose(applied["mean"], mean, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(applied["std"], std, rtol=1e-6)
        assert applied["count"] == count


def assert_dataset_items_equal(dataset: FusedDataset, rows: list[Row]) -> None:
    """`FusedDataset` items, and `collate_fused` batches of them, hold the export's rows."""
    assert len(dataset) == len(rows)
    items = dataset[:]
    for item, row in zip(items, rows):
        assert item["sample_id"] == row.sample_id
        np.testing.assert_array_equal(item["feature"].numpy(), row.feature.astype(np.float32), err_msg=row.sample_id)
        assert item.get("length") == row.length
        if row.present is not None:
            assert item["present"].tolist() == row.present
        assert np.isnan(item["label"]) if row.label is None else item["label"] == pytest.approx(row.label)
    batch = collate_fused(list(items))  # stacked from the items, not taken from the dataset's stack
    assert batch["sample_id"] == [r.sample_id for r in rows]
    if "length" in batch:
        assert batch["length"].tolist() == [r.length for r in rows]
        assert batch["mask"].sum(dim=1).tolist() == [r.length for r in rows]


# ---- the sweeps ----------------------------------------------------------------------------------

S = random_samples(23, seed=3)


def pooled_tables() -> list[FakeTable]:
    """image: float16, a NaN (val) and an Inf (train), a failed sample; text: no feature on 'dev';
    audio: float64, complete."""
    image = pooled(
        "image.a", pooled_values(S, 4, 1, nan_at=(2, 5), failed_at=(8,)), 4, dtype="float16")
    text = pooled("text.b", pooled_values(S, 3, 2, failed_split="dev", failed_at=(0,)), 3)
    audio = pooled("audio.c", pooled_values(S, 2, 4, constant_column=False), 2, dtype="float64")
    return [image, text, audio]


def sampled_options(seed: str, every: dict[str, tuple], some: dict[str, tuple]) -> list[dict]:
    """Each combination of the `every` options once, each with a seeded random choice of the `some` ones."""
    rng = random.Random(seed)
    return [{**dict(zip(every, values)), **{name: rng.choice(choices) for name, choices in some.items()}}
            for values in itertools.product(*every.values())]


@pytest.mark.parametrize("table_format", ["arrow", "parquet"])
@pytest.mark.parametrize("moments", [False, True], ids=["no-moments", "stored-moments"])
def test_pooled_exports_over_the_option_space_equal_the_reference(tmp_path, table_format, moments):
    tables = pooled_tables()
    root = build_dataset(tmp_path / "ds", S, [replace(t, table_format=table_format) for t in tables], shard_size=6)
    if moments:
        write_stored_moments(root)
    chosen = sampled_options(f"pooled-{table_format}-{moments}",
                             {"fmt": ("parquet", "arrow", "hf", "npy"), "method": ("zscore", "l2", "none", "mixed")},
                             {"missing": ("zero", "drop"), "stats_splits": (("train",), ("train", "val"), ("val",))})
    for k, options in enumerate(chosen):
        fmt, method, missing, stats_splits = (options[n] for n in ("fmt", "method", "missing", "stats_splits"))
        normalize = {"image": "zscore", "text.b": "l2"} if method == "mixed" else method
        order = ("text", "image", "audio") if k % 2 else ("audio", "image", "text")
        fused = [next(t for t in tables if t.modality == m) for m in order]
        out = tmp_path / f"out{k}"
        report = fuse(root, out, tables=order, normalize=normalize, missing=missing, non_finite="missing",
                      stats_splits=stats_splits, format=fmt, shard_rows=4)
        expected, statistics = expected_export(S, fused, normalize=normalize, missing=missing, non_finite="missing",
                                               stats_splits=stats_splits, sequences="pool", pool="mean",
                                               max_length=None)
        context = f"{fmt} {normalize} {missing} {stats_splits}"
        assert report.tables == [t.name for t in fused], context
        assert_export_matches(out, expected, statistics, presence=missing == "zero")
        assert report.missing == {"image.a": 3, "text.b": 3, "audio.c": 0}, context


M = random_samples(19, seed=5)
STEPS = step_counts(M, seed=5)


def sequence_tables() -> list[FakeTable]:
    """words: float16, a failed sample and a NaN step (train); video: float64, two failed samples;
    face: pooled, one failed. Samples have 0-5 steps, the same in both sequence tables."""
    words = sequence("text.w", *sequence_values(M, STEPS, 2, 0, nan_at=(3,), failed_at=(1,)), 2, dtype="float16")
    video = sequence("video.v", *sequence_values(M, STEPS, 3, 7, failed_at=(4, 9)), 3, dtype="float64")
    face = pooled("image.p", pooled_values(M, 2, 3, failed_at=(6,)), 2)
    return [words, video, face]


@pytest.mark.parametrize("table_format", ["arrow", "parquet"])
def test_sequence_exports_over_the_option_space_equal_the_reference(tmp_path, table_format):
    tables = sequence_tables()
    assert 0 in STEPS and max(STEPS) > 3
    root = build_dataset(tmp_path / "ds", M, [replace(t, table_format=table_format) for t in tables],
                         corpus_kind="manifest", shard_size=7)
    chosen = sampled_options(f"sequences-{table_format}",
                             {"fmt": ("parquet", "arrow", "hf", "npy"), "sequences": ("pool", "pad", "ragged")},
                             {"pool": ("mean", "max", "first", "last"), "max_length": (None, 1, 3),
                              "missing": ("zero", "drop"), "method": ("zscore", "l2", "none", "mixed")})
    for k, options in enumerate(chosen):
        fmt, sequences, pool, max_length, missing, method = (
            options[n] for n in ("fmt", "sequences", "pool", "max_length", "missing", "method"))
        normalize = {"text": "zscore", "image.p": "l2", "video": "zscore"} if method == "mixed" else method
        out = tmp_path / f"out{k}"
        fuse(root, out, tables=("text", "video", "image"), normalize=normalize, missing=missing, non_finite="missing",
             sequences=sequences, pool=pool, max_length=max_length, format=fmt, shard_rows=3)
        expected, statistics = expected_export(M, tables, normalize=normalize, missing=missing, non_finite="missing",
                                               stats_splits=("train",), sequences=sequences, pool=pool,
                                               max_length=max_length)
        assert_export_matches(out, expected, statistics, presence=missing == "zero")


# ---- the stored moments, and what fuse refuses ---------------------------------------------------

def moments_tables() -> list[FakeTable]:
    """Failed samples in train, NaN/Inf only in val: the moments extract stores give the statistics."""
    val = tuple(i for i, s in enumerate(S) if s.split == "val")
    return [pooled("image.a", pooled_values(S, 4, 1, nan_at=val[:2], failed_at=(0, 8)), 4, dtype="float16"),
            pooled("text.b", pooled_values(S, 3, 2, failed_split="dev"), 3)]


@pytest.mark.parametrize("table_format", ["arrow", "parquet"])
def test_stored_moments_give_the_numbers_of_the_statistics_pass(tmp_path, table_format):
    tables = [replace(t, table_format=table_format) for t in moments_tables()]
    plain = build_dataset(tmp_path / "plain", S, tables, shard_size=6)
    with_moments = build_dataset(tmp_path / "moments", S, tables, shard_size=6)
    write_stored_moments(with_moments)
    for fmt, stats_splits in (("arrow", ("train",)), ("parquet", ("train", "dev")), ("hf", ("train",))):
        exports = []
        for root in (plain, with_moments):
            out = tmp_path / f"{root.name}-{fmt}"
            fuse(root, out, tables=("image", "text"), missing="zero", non_finite="missing",
                 stats_splits=stats_splits, format=fmt)
            exports.append(read_export(out))
        (meta, rows), (stored_meta, stored_rows) = exports
        # Moments of several splits are merged split by split, where the pass takes their rows at
        # once, each set centred in float32: the same figures to well within float32 precision.
        for name, applied in meta["normalization"]["tables"].items():
            merged = stored_meta["normalization"]["tables"][name]
            assert merged["count"] == applied["count"]
            np.testing.assert_allclose(merged["mean"], applied["mean"], rtol=1e-12)
            np.testing.assert_allclose(merged["std"], applied["std"], rtol=1e-7)
        for split in rows:
            for a, b in zip(rows[split], stored_rows[split], strict=True):
                assert a.sample_id == b.sample_id
                np.testing.assert_allclose(a.feature, b.feature, rtol=1e-6, atol=1e-6)
        expected, statistics = expected_export(S, tables, normalize="zscore", missing="zero", non_finite="missing",
                                               stats_splits=stats_splits, sequences="pool", pool="mean",
                                               max_length=None)
        assert_export_matches(tmp_path / f"moments-{fmt}", expected, statistics, presence=True)


def test_stored_moments_of_rows_holding_nan_are_left_for_the_statistics_pass_without_a_warning(tmp_path):
    """A train row holding NaN makes its shard's stored moments NaN: fuse leaves them (and the row,
    with --non-finite missing) out without NumPy's invalid-value warnings of merging them."""
    tables = pooled_tables()
    root = build_dataset(tmp_path / "ds", S, tables, shard_size=6)
    write_stored_moments(root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fuse(root, tmp_path / "out", tables=("image", "text", "audio"), missing="zero", non_finite="missing",
             stats_splits=("train", "val"))
    expected, statistics = expected_export(S, tables, normalize="zscore", missing="zero", non_finite="missing",
                                           stats_splits=("train", "val"), sequences="pool", pool="mean",
                                           max_length=None)
    assert_export_matches(tmp_path / "out", expected, statistics, presence=True)


def test_float64_tables_fuse_as_float32_like_the_tables_check_accepts(tmp_path):
    audio = pooled("audio.c", pooled_values(S, 2, 4), 2, dtype="float64")
    root = build_dataset(tmp_path / "ds", S, [audio], shard_size=6)
    fuse(root, tmp_path / "out", format="npy")
    expected, statistics = expected_export(S, [audio], normalize="zscore", missing="error", non_finite="error",
                                           stats_splits=("train",), sequences="pool", pool="mean", max_length=None)
    assert_export_matches(tmp_path / "out", expected, statistics, presence=False)


def test_int_tables_are_refused_naming_the_dtypes_fusion_reads(tmp_path):
    ids = FakeTable("text.ids", FeatureSpec(dim=2, dtype="int64"), [np.arange(2) for _ in S])
    root = build_dataset(tmp_path / "ds", S, [ids], shard_size=6)
    with pytest.raises(SchemaMismatchError, match=r"table 'text.ids' holds int64 vectors; .*float16, float32, float64"):
        fuse(root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_empty_table_list_is_refused_not_fused_into_rows_of_no_value(tmp_path):
    root = build_dataset(tmp_path / "ds", S, pooled_tables()[:1], shard_size=6)
    with pytest.raises(ConfigError, match="tables is empty"):
        fuse(root, tmp_path / "out", tables=())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_a_table_or_split_named_by_one_string_is_one_name_or_a_comma_list(tmp_path):
    tables = pooled_tables()
    root = build_dataset(tmp_path / "ds", S, tables, shard_size=6)
    report = fuse(root, tmp_path / "one", tables="audio", stats_splits="val")
    assert report.tables == ["audio.c"]
    assert read_fused_metadata(tmp_path / "one")["normalization"]["stats_splits"] == ["val"]
    report = fuse(root, tmp_path / "two", tables="text, audio", stats_splits="train,val", missing="drop",
                  non_finite="missing")
    assert report.tables == ["text.b", "audio.c"]
    assert read_fused_metadata(tmp_path / "two")["normalization"]["stats_splits"] == ["train", "val"]


def test_cli_stats_split_takes_a_comma_list_as_tables_and_normalize_do(tmp_path):
    tables = pooled_tables()
    root = build_dataset(tmp_path / "ds", S, tables, shard_size=6)
    result = CliRunner().invoke(app, ["fuse", str(root), str(tmp_path / "out"), "--stats-split", "train,val",
                                      "--tables", "audio"])
    assert result.exit_code == 0, result.output
    assert read_fused_metadata(tmp_path / "out")["normalization"]["stats_splits"] == ["train", "val"]
    expected, statistics = expected_export(S, tables[2:], normalize="zscore", missing="error", non_finite="error",
                                           stats_splits=("train", "val"), sequences="pool", pool="mean",
                                           max_length=None)
    assert_export_matches(tmp_path / "out", expected, statistics, presence=False)
    bad = CliRunner().invoke(app, ["fuse", str(root), str(tmp_path / "bad"), "--stats-split", "train,nope"])
    assert bad.exit_code == 2 and bad.output.startswith("error: split 'nope' named for normalization statistics")
    assert not (tmp_path / "bad").exists()
