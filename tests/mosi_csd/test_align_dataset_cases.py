"""`align_dataset` on whole datasets: every collapse and --on-missing policy against a naive per-interval loop
with the SDK's semantics (several shards, empty sequences, pauses, zero-length and overlapping words), and
what a refused or failing run leaves behind."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mmdata.alignment.core import EPSILON
from mmdata.alignment.dataset import align_dataset
from mmdata.alignment.reference import SDK_COLLAPSE
from mmdata.checks import check_dataset
from mmdata.cli import app
from mmdata.corpora.csd import is_pause
from mmdata.errors import ConfigError, DatasetError, ExtractionError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import COVAREP_FILE, COVAREP_ROOT, FACET_FILE, WORDS_FILE, WORDS_ROOT, write_mosi_csd, write_sdk_csd

runner = CliRunner()
SOURCES = ("audio.covarep", "video.facet-41")


def write_random_csd(root, seed=1):
    """Seven videos: one without words, one without COVAREP frames; words with pauses, a zero-length word,
    one shorter than eps and overlapping words; COVAREP stored as float64, FACET as float16."""
    rng = np.random.default_rng(seed)
    words, covarep, facet = {}, {}, {}
    for v in range(7):
        n = 0 if v == 3 else int(rng.integers(4, 12))
        starts = np.sort(rng.uniform(0, 8, n))
        ends = starts + rng.uniform(0, 1.2, n)
        if n:
            ends[1], ends[2] = starts[1], starts[2] + 1e-6
        tokens = [b"sp" if rng.random() < 0.3 else b"w%d" % k for k in range(n)]
        words[f"v{v}"] = (np.array(tokens, dtype="S12").reshape(-1, 1), np.stack([starts, ends], 1).reshape(-1, 2))
        m = 0 if v == 5 else int(rng.integers(1, 80))
        frames = np.sort(rng.uniform(0, 8, m))
        covarep[f"v{v}"] = (rng.normal(size=(m, 3)), np.stack([frames, frames + 0.1], 1).reshape(-1, 2))
        k = int(rng.integers(1, 30))
        frames = np.sort(rng.uniform(0, 8, k))
        facet[f"v{v}"] = (rng.normal(size=(k, 2)).astype(np.float16), np.stack([frames, frames + rng.uniform(0, 2, k)], 1))
    write_sdk_csd(root / WORDS_FILE, WORDS_ROOT, words)
    write_sdk_csd(root / COVAREP_FILE, COVAREP_ROOT, covarep)
    write_sdk_csd(root / FACET_FILE, "FACET 4.1", facet)
    return root


def naive_alignment(stored, dims, collapse, on_missing, skip_pauses):
    """Per sample: (keys, reference intervals, {table: rows}), one reference interval at a time as the SDK
    aligns, then the SDK's `hard_unify` ('drop'), `impute` (zeros) or a missing key ('error': raises)."""
    expected = {}
    for sample_id, ref in stored["text.words"].items():
        ref_intervals = np.array(ref["intervals"], np.float64).reshape(-1, 2)
        keys, intervals, rows = [], [], {name: [] for name in stored}
        for i, (r0, r1) in enumerate(ref_intervals):
            if abs(r0 - r1) < EPSILON or (skip_pauses and is_pause(ref["words"][i])):
                continue
            values = {name: _collapse_pieces(stored[name][sample_id], dims[name], r0, r1, collapse) for name in SOURCES}
            if any(v is None for v in values.values()):
                if on_missing == "error":
                    raise DatasetError(f"{sample_id}[{i}] is covered by no row of some table")
                if on_missing == "drop":
                    continue
                values = {name: np.zeros(dims[name], np.float32) if v is None else v for name, v in values.items()}
            keys.append(f"{sample_id}[{i}]")
            intervals.append([r0, r1])
            rows["text.words"].append(ref["feature"][i])
            for name, value in values.items():
                rows[name].append(np.asarray(value, np.float32).tolist())
        expected[sample_id] = (keys, intervals, rows)
    return expected


def _collapse_pieces(row, dim, r0, r1, collapse):
    """The SDK's pieces of one stored row for [r0, r1], collapsed; None when there is none."""
    features = np.array(row["feature"], np.float32).reshape(-1, dim)
    intervals = np.array(row["intervals"], np.float64).reshape(-1, 2)
    order = sorted(range(len(intervals)), key=lambda r: intervals[r, 0])
    features, intervals = features[order], intervals[order]
    hit = ((r1 - intervals[:, 0]) > -EPSILON) & ((intervals[:, 1] - r0) > -EPSILON)
    clipped = np.stack([np.maximum(intervals[hit, 0], r0), np.minimum(intervals[hit, 1], r1)], 1).reshape(-1, 2)
    kept = np.abs(clipped[:, 0] - clipped[:, 1]) > EPSILON
    pieces = features[hit][kept]
    return SDK_COLLAPSE[collapse](clipped[kept], pieces) if len(pieces) else None


@pytest.fixture(scope="module")
def random_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("random")
    write_random_csd(root / "csd")
    extract("csd", root / "csd", root / "out", extractors=[], shard_size=2, num_workers=0)
    data = open_dataset(root / "out")
    stored = {name: {r["sample_id"]: r for r in data.table(name).to_table().to_pylist()} for name in ("text.words", *SOURCES)}
    dims = {name: data.spec(name).dim for name in stored}
    return root / "out", stored, dims


@pytest.mark.parametrize("skip_pauses", [False, True])
@pytest.mark.parametrize("on_missing", ["drop", "impute", "error"])
def test_a_dataset_aligns_as_the_naive_sdk_loop_for_every_collapse_and_policy(random_dataset, on_missing, skip_pauses):
    out, stored, dims = random_dataset
    samples = open_dataset(out).samples_table().column("sample_id").to_pylist()
    assert len(open_dataset(out).manifest.samples["shards"]) == 4  # 7 samples, 2 a shard
    for collapse in ("mean", "max", "first", "last"):
        try:
            expected = naive_alignment(stored, dims, collapse, on_missing, skip_pauses)
        except DatasetError:
            with pytest.raises(DatasetError, match=r"overlaps no row of"):
                align_dataset(out, "text.words", collapse=collapse, on_missing=on_missing, skip_pauses=skip_pauses, force=True)
            continue
        align_dataset(out, "text.words", collapse=collapse, on_missing=on_missing, skip_pauses=skip_pauses, force=True)
        data = open_dataset(out)
        for name in ("text.words", *SOURCES):
            rows = data.table(f"{name}@text.words").to_table().to_pylist()
            assert [r["sample_id"] for r in rows] == samples  # row-aligned with the samples table
            for row in rows:
                keys, intervals, features = expected[row["sample_id"]]
                assert (row["keys"], row["intervals"]) == (keys, intervals), (collapse, name, row["sample_id"])
                assert row["feature"] == features[name], (collapse, name, row["sample_id"])
        assert check_dataset(out).ok


def test_a_refused_run_leaves_the_aligned_tables_complete(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    out = tmp_path / "out"
    extract("csd", fake.root, out, extractors=["word-embeddings:method=hashed,dim=8"], shard_size=2, num_workers=0)
    align_dataset(out, "text.words")
    before = {name: entry for name, entry in json.loads((out / "mmdata.json").read_text())["tables"].items() if "@" in name}
    extract("csd", fake.root, out, extractors=["word-embeddings:method=hashed,dim=16"], shard_size=2, num_workers=0,
            force=True)
    with pytest.raises(DatasetError, match=r"'text.word-embeddings-hashed@text.words' .* was made with inputs=[0-9a-f]+, "
                                           r"not inputs=[0-9a-f]+ \(other options equal\): inputs differ: "
                                           r"'text.word-embeddings-hashed' changed since \(config dim=8, not dim=16 "
                                           r"\(other options equal\)\), reference 'text.words' unchanged; pass --force"):
        align_dataset(out, "text.words")
    after = json.loads((out / "mmdata.json").read_text())["tables"]
    assert {name: entry for name, entry in after.items() if "@" in name} == before
    assert all(open_dataset(out).entry(name).complete for name in before)
    assert check_dataset(out).ok


def test_skip_pauses_needs_a_reference_with_words(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    out = tmp_path / "out"
    extract("csd", fake.root, out, extractors=[], num_workers=0)
    with pytest.raises(ConfigError, match=r"reference 'video.facet-41' has no words column; expected a word or phone "
                                          r"table as the reference \(tables with words: \['text.words'\]\)"):
        align_dataset(out, "video.facet-41", tables=["audio.covarep"], skip_pauses=True)
    assert "audio.covarep@video.facet-41" not in open_dataset(out).table_names
    result = runner.invoke(app, ["align", str(out), "-r", "video.facet-41", "--skip-pauses"])
    assert result.exit_code == 2 and "has no words column" in result.output


def test_a_sample_without_features_stops_a_failing_run_with_a_hint_and_a_skipping_run_records_it(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    features, intervals = fake.data[COVAREP_FILE]["abcd"]
    features[3, 1] = np.nan  # the csd loader fails this sample (nonfinite=error)
    write_sdk_csd(tmp_path / "csd" / COVAREP_FILE, COVAREP_ROOT, {**fake.data[COVAREP_FILE], "abcd": (features, intervals)})
    out = tmp_path / "out"
    extract("csd", fake.root, out, extractors=[], shard_size=2, num_workers=0)
    with pytest.raises(ExtractionError, match=r"sample 'abcd': no features in 'audio.covarep' .*; expected features "
                                              r"in every table aligned; `--on-error skip`"):
        align_dataset(out, "text.words", on_error="fail")
    report = align_dataset(out, "text.words")  # resumes: on_error is no setting of the outputs
    assert [(t.rows, t.errors) for t in report.tables] == [(3, 1)] * 3
    rows = open_dataset(out).table("audio.covarep@text.words").to_table().to_pylist()
    assert [(r["sample_id"], r["feature"] is None, r["keys"] is None) for r in rows] == [
        ("abc", False, False), ("abcd", True, True), ("x9Y_z-1", False, False)]
    assert check_dataset(out).ok
