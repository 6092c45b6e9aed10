"""Alignment: hand-computed cases, the SDK's semantics on random data, unify, and `align_dataset`."""
from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from mmdata.alignment import align_video, overlap_pieces, unify_ids
from mmdata.alignment.dataset import align_dataset
from mmdata.alignment.reference import SDK_COLLAPSE, align_like_sdk, unify_like_sdk
from mmdata.errors import DatasetError, UnknownNameError
from mmdata.pipeline import extract
from mmdata.store import open_dataset
from tests.fakes.csd import COVAREP_FILE, FACET_FILE, WORDS_FILE, write_mosi_csd, write_sdk_csd

# reference (e.g. words): [0,1], [1,2], a zero-length [2,2], [2,3.5], [4,5]
REF = np.array([[0, 1], [1, 2], [2, 2], [2, 3.5], [4, 5]], dtype=np.float64)
# frames: a row ends exactly where [2,3.5] starts, another starts exactly where [4,5] ends... see below
SUB = np.array([[0, 0.5], [0.5, 1.5], [1.5, 2.0], [2.0, 2.5], [2.5, 3.0], [3.0, 4.0]], dtype=np.float64)
FEATS = np.array([[1, 10], [2, 20], [3, 30], [4, 40], [5, 50], [6, 60]], dtype=np.float32)


def test_pieces_clip_partial_overlaps_and_drop_zero_length_touching_rows():
    pieces = overlap_pieces(REF, SUB)
    offsets = pieces.offsets
    per_ref = [(pieces.row_index[offsets[i]:offsets[i + 1]].tolist(), pieces.intervals[offsets[i]:offsets[i + 1]].tolist())
               for i in range(len(REF))]
    assert per_ref[0] == ([0, 1], [[0.0, 0.5], [0.5, 1.0]])  # row 1 [0.5, 1.5] clipped to the word
    assert per_ref[1] == ([1, 2], [[1.0, 1.5], [1.5, 2.0]])  # row 3 starts at 2.0: a zero-length piece, dropped
    assert per_ref[2] == ([], [])  # zero-length reference interval: skipped, as the SDK does
    assert per_ref[3] == ([3, 4, 5], [[2.0, 2.5], [2.5, 3.0], [3.0, 3.5]])  # row 2 ends at 2.0: dropped
    assert per_ref[4] == ([], [])  # row 5 ends at 4.0 where the interval starts: nothing left


@pytest.mark.parametrize(("collapse", "expected"), [
    ("mean", [[1.5, 15], [2.5, 25], [5, 50]]),
    ("max", [[2, 20], [3, 30], [6, 60]]),
    ("first", [[1, 10], [2, 20], [4, 40]]),
    ("last", [[2, 20], [3, 30], [6, 60]]),
])
def test_collapse_functions_on_hand_computed_pieces(collapse, expected):
    aligned = align_video(REF, {"s": (FEATS, SUB)}, collapse=collapse, on_missing="drop")
    assert aligned.index.tolist() == [0, 1, 3]  # the SDK's keys vid[0], vid[1], vid[3]
    assert aligned.intervals.tolist() == [[0, 1], [1, 2], [2, 3.5]]
    assert aligned.features["s"].tolist() == expected
    assert aligned.dropped == 1  # [4, 5]


def test_no_overlap_policies_drop_impute_error():
    other = (np.ones((1, 1), np.float32), np.array([[0.0, 10.0]]))
    imputed = align_video(REF, {"s": (FEATS, SUB), "o": other}, on_missing="impute")
    assert imputed.index.tolist() == [0, 1, 3, 4]
    assert imputed.features["s"].tolist()[-1] == [0, 0] and imputed.imputed == {"s": 1, "o": 0}
    dropped = align_video(REF, {"s": (FEATS, SUB), "o": other}, on_missing="drop")
    assert dropped.index.tolist() == [0, 1, 3] and dropped.features["o"].tolist() == [[1], [1], [1]]
    with pytest.raises(DatasetError, match=r"sample 'v': reference interval 4 \[4.0, 5.0\] overlaps no row of 's'"):
        align_video(REF, {"s": (FEATS, SUB)}, on_missing="error", where="sample 'v'")


def test_epsilon_boundaries_follow_the_sdk():
    ref = np.array([[0.0, 1.0]])
    assert overlap_pieces(ref, np.array([[0.999995, 1.5]])).counts.tolist() == [0]  # piece of 5e-6 s <= eps
    assert overlap_pieces(ref, np.array([[0.99998, 1.5]])).counts.tolist() == [1]  # 2e-5 s piece kept
    assert overlap_pieces(np.array([[0.0, 0.000009]]), np.array([[0.0, 1.0]])).counts.tolist() == [0]


def test_user_collapse_function_gets_sdk_arguments():
    def mean_and_span(intervals, features):
        return np.concatenate([features.mean(axis=0), [intervals[-1, 1] - intervals[0, 0]]])

    aligned = align_video(REF, {"s": (FEATS, SUB)}, collapse=mean_and_span)
    assert aligned.features["s"].tolist() == [[1.5, 15, 1.0], [2.5, 25, 1.0], [5, 50, 1.5]]


def test_user_collapse_function_sizes_an_all_dropped_result_by_its_output():
    def mean_and_span(intervals, features):
        return np.concatenate([features.mean(axis=0), [intervals[-1, 1] - intervals[0, 0]]])

    later = (FEATS, SUB + 100.0)  # no row overlaps any reference interval
    aligned = align_video(REF, {"s": later}, collapse=mean_and_span)
    assert aligned.index.tolist() == [] and aligned.features["s"].shape == (0, 3)


def test_align_dataset_with_a_collapse_function_keeps_a_sample_with_no_overlap(tmp_path):
    words = (np.array([[b"a"], [b"b"]]), np.array([[0, 1.0], [1.0, 2.0]]))
    starts = np.arange(20) / 10
    write_sdk_csd(tmp_path / "csd" / "words.csd", "words", {"u": words, "w": words})
    write_sdk_csd(tmp_path / "csd" / COVAREP_FILE, "COVAREP", {
        "u": (np.ones((20, 2), np.float32), np.stack([starts, starts + 0.1], axis=1)),
        "w": (np.ones((20, 2), np.float32), np.stack([starts + 10, starts + 10.1], axis=1))})  # after w's words
    extract("csd", tmp_path / "csd", tmp_path / "out", extractors=[], num_workers=0)

    def mean(intervals, features):
        return features.mean(axis=0)

    report = align_dataset(tmp_path / "out", "text.words", tables=["audio.covarep"], collapse=mean)
    assert (report.kept, report.dropped) == (2, 2)
    rows = {r["sample_id"]: r for r in pq.read_table(tmp_path / "out" / "features" / "audio.covarep@text.words").to_pylist()}
    assert rows["u"]["feature"] == [[1.0, 1.0], [1.0, 1.0]] and rows["w"]["feature"] == []


def random_intervals(rng, n, duration, overlapping):
    starts = np.sort(rng.uniform(0, duration, n))
    if overlapping:
        ends = starts + rng.uniform(0, 1.0, n)
    else:
        ends = np.append(starts[1:], duration)[:n]
    intervals = np.stack([starts, ends], axis=1)
    if n > 3:  # exact shared boundaries and zero-length rows, as in real word sequences
        intervals[1, 0] = intervals[0, 1]
        intervals[2, 1] = intervals[2, 0]
    return intervals


@pytest.fixture(params=["compiled", "numpy"])
def sum_kernel(request, monkeypatch):
    """Run a test with the numba kernel and with the pure-numpy fallback of the exact-order sums."""
    from mmdata.alignment import kernels

    if request.param == "numpy":
        monkeypatch.setattr(kernels, "_KERNEL", False)
    else:
        assert kernels._numba_kernel(), "numba is installed with librosa; the compiled path must be tested"
    return request.param


@pytest.mark.parametrize("seed", range(6))
def test_vectorized_alignment_equals_the_sdk_loop_bit_for_bit(seed, sum_kernel):
    rng = np.random.default_rng(seed)
    ref_seq, seq_a, seq_b = {}, {}, {}
    for v in range(4):
        vid = f"v{v}"
        ref = random_intervals(rng, int(rng.integers(0, 25)), 10, overlapping=False)
        a = random_intervals(rng, int(rng.integers(1, 90)), 10, overlapping=seed % 2 == 1)
        b = random_intervals(rng, int(rng.integers(1, 40)), 10, overlapping=True)
        a = a[rng.permutation(len(a))]  # unsorted rows: the SDK sorts them by start
        ref_seq[vid] = (rng.normal(size=(len(ref), 1)).astype(np.float32), ref)
        seq_a[vid] = (rng.normal(size=(len(a), 1 + seed)).astype(np.float32), a)
        half = len(b) // 2  # b comes in two keys per video, as in SDK-aligned files
        features_b = rng.normal(size=(len(b), 3))
        seq_b[f"{vid}[0]"], seq_b[f"{vid}[1]"] = (features_b[:half], b[:half]), (features_b[half:], b[half:])
    for collapse in ("mean", "max", "first", "last"):
        sdk = align_like_sdk({"ref": ref_seq, "a": seq_a, "b": seq_b}, "ref", [SDK_COLLAPSE[collapse]])
        for vid, (_, ref) in ref_seq.items():
            b_rows = [seq_b[f"{vid}[0]"], seq_b[f"{vid}[1]"]]
            b = (np.concatenate([r[0] for r in b_rows]), np.concatenate([r[1] for r in b_rows]))
            ours = align_video(ref, {"a": seq_a[vid], "b": b}, collapse=collapse, on_missing="drop")
            keys = [f"{vid}[{i}]" for i in ours.index]
            sdk_keys = [k for k in sdk["ref"] if k.startswith(f"{vid}[")]
            assert keys == [k for k in sdk_keys if k in sdk["a"] and k in sdk["b"]]  # = the SDK's hard_unify
            for name in ("a", "b"):
                if not keys:
                    assert ours.features[name].shape[0] == 0
                    continue
                expected = np.concatenate([sdk[name][k][1] for k in keys])
                assert ours.features[name].dtype == expected.dtype
                assert np.array_equal(ours.features[name], expected), (collapse, name)
            imputed = align_video(ref, {"a": seq_a[vid], "b": b}, collapse=collapse, on_missing="impute")
            assert [f"{vid}[{i}]" for i in imputed.index] == sdk_keys  # the SDK's impute fills every reference key


def test_unify_compares_ids_exactly_where_the_sdk_purges_by_prefix():
    keys = {"words": ["abc", "abcd"], "covarep": ["abcd"]}
    ours = unify_ids(keys)
    assert ours.kept == ["abcd"] and ours.missing == {"abc": ["covarep"]}
    sdk = unify_like_sdk(keys)
    assert sdk == {"words": [], "covarep": []}  # purging 'abc' by prefix also deleted the shared 'abcd'
    assert unify_ids({"a": ["abcd[0]", "abcd[1]"], "b": ["abcd"]}).kept == ["abcd"]
    assert unify_ids({"a": ["abcd[0]", "abcd[1]"], "b": ["abcd[1]"]}, by_base=False).kept == ["abcd[1]"]


@pytest.fixture
def video_dataset(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    extract("csd", fake.root, tmp_path / "out", extractors=[], shard_size=2, num_workers=0)
    return fake, tmp_path / "out"


def test_align_dataset_equals_the_sdk_on_every_video_and_registers_tables(video_dataset):
    fake, out = video_dataset
    report = align_dataset(out, "text.words", collapse="mean")
    assert sorted(t.name for t in report.tables) == [
        "audio.covarep@text.words", "text.words@text.words", "video.facet-41@text.words"]
    sequences = {name: fake.data[file] for name, file in (("words", WORDS_FILE), ("covarep", COVAREP_FILE), ("facet", FACET_FILE))}
    sdk = align_like_sdk(sequences, "words", [SDK_COLLAPSE["mean"]])
    data = open_dataset(out)
    for table, name in (("audio.covarep@text.words", "covarep"), ("video.facet-41@text.words", "facet")):
        entry = data.entry(table)
        assert (entry.extractor, entry.complete, entry.source) == ("align", True, f"{table.split('@')[0]} aligned to text.words")
        assert data.spec(table).item_axis == "word"
        for row in data.table(table).to_table().to_pylist():
            keys = [k for k in sdk["words"] if k.startswith(row["sample_id"] + "[")]
            keys = [k for k in keys if k in sdk["covarep"] and k in sdk["facet"]]
            assert row["keys"] == keys
            assert np.array_equal(np.array(row["feature"], np.float32), np.concatenate([sdk[name][k][1] for k in keys]))
            assert row["intervals"] == [sdk["words"][k][0][0].tolist() for k in keys]
    words = {r["sample_id"]: r for r in data.table("text.words@text.words").to_table().to_pylist()}
    assert words["abc"]["words"] == ["sp", "i", "loved", "it", "sp", "really", "good"]
    assert report.kept == report.intervals == 14 and report.dropped == report.skipped == 0


def test_align_skips_pauses_and_reruns_need_force_for_other_settings(video_dataset):
    _, out = video_dataset
    report = align_dataset(out, "text.words", tables=["audio.covarep"], collapse="max", skip_pauses=True)
    assert report.skipped == 4 and report.kept == 10
    words = {r["sample_id"]: r["words"] for r in pq.read_table(out / "features" / "text.words@text.words").to_pylist()}
    assert words["abc"] == ["i", "loved", "it", "really", "good"]
    again = align_dataset(out, "text.words", tables=["audio.covarep"], collapse="max", skip_pauses=True)
    assert all(t.shards_written == 0 and t.shards_skipped == 2 for t in again.tables)
    with pytest.raises(DatasetError, match=r"was made with collapse=max, skip_pauses=true, not collapse=mean, "
                                           r"skip_pauses=false \(other options equal\); pass --force"):
        align_dataset(out, "text.words", tables=["audio.covarep"], collapse="mean")
    redo = align_dataset(out, "text.words", tables=["audio.covarep"], collapse="mean", force=True)
    assert redo.kept == 14 and open_dataset(out).entry("audio.covarep@text.words").config["collapse"] == "mean"


def test_align_skips_pause_tokens_in_any_case(tmp_path):
    words = (np.array([[b"i"], [b"SP"], [b"go"], [b"<Sil>"]]), np.array([[0, 1.0], [1, 2], [2, 3], [3, 4]]))
    starts = np.arange(40) / 10
    write_sdk_csd(tmp_path / "csd" / "words.csd", "words", {"v": words})
    write_sdk_csd(tmp_path / "csd" / COVAREP_FILE, "COVAREP",
                  {"v": (np.ones((40, 2), np.float32), np.stack([starts, starts + 0.1], axis=1))})
    extract("csd", tmp_path / "csd", tmp_path / "out", extractors=[], num_workers=0)
    report = align_dataset(tmp_path / "out", "text.words", tables=["audio.covarep"], skip_pauses=True)
    assert (report.kept, report.skipped) == (2, 2)
    words = pq.read_table(tmp_path / "out" / "features" / "text.words@text.words").column("words").to_pylist()
    assert words == [["i", "go"]]


def test_align_to_frames_with_missing_policy_and_bad_reference(video_dataset):
    _, out = video_dataset
    with pytest.raises(DatasetError, match=r"overlaps no row of 'text.words'"):
        align_dataset(out, "video.facet-41", tables=["text.words"], on_missing="error")
    report = align_dataset(out, "video.facet-41", tables=["text.words"], on_missing="impute", force=True)
    assert report.imputed["text.words"] > 0  # abcd has no word before 0.5 s
    rows = {r["sample_id"]: r for r in pq.read_table(out / "features" / "text.words@video.facet-41").to_pylist()}
    assert rows["abcd"]["words"][0] == "" and rows["abcd"]["feature"][0] == [0.0]
    assert rows["abc"]["words"][0] == "sp"
    with pytest.raises(UnknownNameError, match=r"has no table 'nope'; tables: \['audio.covarep'"):
        align_dataset(out, "nope")


def test_align_reads_and_writes_arrow_ipc_tables_like_parquet_ones(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    outs = {}
    for fmt in ("parquet", "arrow"):
        out = outs[fmt] = tmp_path / fmt
        extract("csd", fake.root, out, extractors=[], shard_size=2, num_workers=0, table_format=fmt)
        align_dataset(out, "text.words", collapse="mean")
    arrow, parquet = open_dataset(outs["arrow"]), open_dataset(outs["parquet"])
    assert arrow.entry("audio.covarep@text.words").format == "arrow"  # aligned tables keep the reference's format
    for name in parquet.table_names:
        assert arrow.table(name).to_table().equals(parquet.table(name).to_table()), name
