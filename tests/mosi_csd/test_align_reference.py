"""`align_video` against a deliberately naive restatement of the SDK's `align`, on many random sequences.

The naive version below shares no code with `mmdata.alignment` (neither `core` nor `reference`): for
every reference interval it walks over every row of every sequence, in start order, as the SDK's
`mmdataset.align` does. Random sequences are drawn on a coarse grid with jitter of multiples of
eps / 2, so rows touch reference boundaries exactly, within eps and just beyond it; they hold
zero-length rows, rows spanning several reference intervals (and the whole video), unsorted rows,
gaps no row covers, and NaN/-inf/inf features in float32, float64 and float16. Results must be
identical: the naive mean is `np.average(rows, axis=0)`, the SDK examples' collapse, whose summation
order `align_video` reproduces, so even the mean is compared bit for bit (no tolerance), NaN where
the naive loop has NaN.

The second half runs `mmdata align` and `mmdata segment` on a `.csd` corpus and compares their
tables with the naive loop applied to the arrays the `.csd` files hold.
"""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.alignment import align_video, overlap_pieces
from mmdata.errors import DatasetError

EPS = 1e-5


def naive_pieces(ref, features, intervals):
    """Rows overlapping `ref` = [r0, r1], clipped to it, zero-length pieces dropped: (rows, clipped)."""
    r0, r1 = float(ref[0]), float(ref[1])
    rows, clipped = [], []
    for k in sorted(range(len(intervals)), key=lambda k: intervals[k][0]):  # stable, as the SDK sorts
        s0, s1 = float(intervals[k][0]), float(intervals[k][1])
        if r1 - s0 > -EPS and s1 - r0 > -EPS:
            c0, c1 = max(s0, r0), min(s1, r1)
            if abs(c0 - c1) > EPS:
                rows.append(k)
                clipped.append([c0, c1])
    return rows, np.array(clipped, dtype=np.float64).reshape(-1, 2)


def weighted_mean(intervals, features):
    """A collapse users write: the mean weighted by how long each piece overlaps the interval."""
    return np.average(features, axis=0, weights=intervals[:, 1] - intervals[:, 0])


NAIVE_COLLAPSE = {
    "mean": lambda iv, f: np.average(f, axis=0),
    "max": lambda iv, f: np.max(f, axis=0),
    "first": lambda iv, f: f[0],
    "last": lambda iv, f: f[-1],
}


def naive_align(reference, sequences, collapse, on_missing, keep=None):
    """(kept reference rows, {name: (K, D)}, {name: imputed}) or raises LookupError((name, first interval))."""
    fn = collapse if callable(collapse) else NAIVE_COLLAPSE[collapse]
    usable = [i for i in range(len(reference))
              if not abs(reference[i][0] - reference[i][1]) < EPS and (keep is None or keep[i])]
    pieces = {name: {i: naive_pieces(reference[i], f, iv) for i in usable} for name, (f, iv) in sequences.items()}
    if on_missing == "error":
        for name in sequences:
            missing = [i for i in usable if not pieces[name][i][0]]
            if missing:
                raise LookupError((name, missing[0]))
    kept = [i for i in usable if on_missing != "drop" or all(pieces[name][i][0] for name in sequences)]
    out, imputed = {}, {}
    for name, (features, _) in sequences.items():
        values, imputed[name] = [], 0
        for i in kept:
            rows, clipped = pieces[name][i]
            if rows:
                with np.errstate(invalid="ignore"):  # inf + -inf in a mean
                    values.append(np.asarray(fn(clipped, features[rows])).reshape(-1))
            else:
                values.append(None)
                imputed[name] += 1
        width = next((len(v) for v in values if v is not None), features.shape[1])
        dtype = next((v.dtype for v in values if v is not None), features.dtype)
        out[name] = np.array([np.zeros(width, dtype) if v is None else v for v in values], dtype).reshape(-1, width)
    return kept, out, imputed


def jitter(rng, values, fraction=0.3):
    """Move some bounds by a multiple of eps/2 (0, +-eps/2, +-eps, +-1.5 eps, +-2 eps); ends stay >= starts."""
    moved = values + rng.integers(-4, 5, values.shape) * (EPS / 2)
    moved = np.where(rng.random(values.shape) < fraction, moved, values)
    moved[:, 1] = np.maximum(moved[:, 1], moved[:, 0])
    return moved


def random_reference(rng, n, *, unsorted=False):
    """Word-like intervals on a 0.25 s grid: contiguous runs, gaps, zero-length and eps-short words."""
    starts = np.cumsum(rng.choice([0.0, 0.25, 0.5, 1.0], n))
    lengths = rng.choice([0.0, 0.25, 0.5, 0.75, 1.5], n, p=[0.1, 0.3, 0.3, 0.2, 0.1])
    intervals = np.stack([starts, starts + lengths], axis=1)
    short = intervals[:, 0] + EPS * rng.choice([0.5, 1.0, 1.5], n)
    intervals[:, 1] = np.where(rng.random(n) < 0.05, short, intervals[:, 1])
    intervals = jitter(rng, intervals, 0.15)
    return intervals[rng.permutation(n)] if unsorted else intervals


def random_rows(rng, m, duration, dim, *, dtype=np.float32, nonfinite=True, unsorted=True):
    """Frames and long rows on a grid, some zero-length, in random order, features with NaN/+-inf."""
    starts = rng.integers(0, int(duration / 0.25) + 1, m) * 0.25
    lengths = rng.choice([0.0, 0.1, 0.25, 0.5, 1.0, 3.0], m, p=[0.1, 0.2, 0.3, 0.2, 0.1, 0.1])
    intervals = jitter(rng, np.stack([starts, starts + lengths], axis=1))
    if not unsorted:
        intervals = intervals[np.argsort(intervals[:, 0], kind="stable")]
    features = rng.normal(size=(m, dim)).astype(dtype)
    if nonfinite and m:
        for value in (np.nan, -np.inf, np.inf):
            features.flat[rng.integers(0, features.size, max(1, features.size // 40))] = value
    return features, intervals


def with_spanning_rows(rng, rows, duration):
    """Add one to three rows spanning most of the video (a summary row, a bad end time) among the frames."""
    features, intervals = rows
    count = int(rng.integers(1, 4))
    spans = np.stack([rng.uniform(0, 1, count), duration - rng.uniform(0, 1, count)], axis=1)
    at = rng.integers(0, len(intervals) + 1, count)
    return (np.insert(features, at, rng.normal(size=(count, features.shape[1])).astype(features.dtype), axis=0),
            np.insert(intervals, at, spans, axis=0))


def random_case(seed):
    rng = np.random.default_rng(seed)
    reference = random_reference(rng, int(rng.integers(0, 30)), unsorted=seed % 5 == 4)
    duration = float(reference.max()) + 1 if len(reference) else 5.0
    sequences = {
        "frames": random_rows(rng, int(rng.integers(0, 120)), duration, int(rng.integers(1, 5)), unsorted=seed % 2 == 0),
        "long": random_rows(rng, int(rng.integers(0, 12)), duration, 3,
                            dtype=[np.float64, np.float16, np.float32][seed % 3]),
        "single": random_rows(rng, int(rng.integers(1, 40)), duration, 1, nonfinite=seed % 3 == 0),
        "spanning": with_spanning_rows(rng, random_rows(rng, int(rng.integers(20, 200)), duration, 2), duration),
    }
    keep = rng.random(len(reference)) > 0.15
    return reference, sequences, keep


SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_pieces_equal_the_naive_per_interval_loop(seed):
    reference, sequences, _ = random_case(seed)
    for name, (features, intervals) in sequences.items():
        ours = overlap_pieces(reference, intervals).per_reference()
        for i, ref in enumerate(reference):
            short = abs(ref[0] - ref[1]) < EPS  # the SDK skips such a reference interval
            rows, clipped = ([], np.zeros((0, 2))) if short else naive_pieces(ref, features, intervals)
            assert ours[i][0].tolist() == rows, (name, i)
            assert np.array_equal(ours[i][1], clipped), (name, i)


def test_a_row_spanning_the_video_does_not_widen_every_window():
    import tracemalloc

    starts = np.arange(30000) / 100  # 100 Hz frames over 300 s, 1000 words
    frames = np.stack([starts, starts + 0.01], axis=1)
    bounds = np.linspace(0, 300, 1001)
    words = np.stack([bounds[:-1], bounds[1:]], axis=1)
    spanning = np.concatenate([[[0.0, 300.0]], frames])  # a summary row first: every word overlaps it
    tracemalloc.start()
    try:
        pieces = overlap_pieces(words, spanning)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    alone = overlap_pieces(words, frames).per_reference()
    assert pieces.counts.tolist() == [len(rows) + 1 for rows, _ in alone]
    for i, (rows, clipped) in enumerate(pieces.per_reference()):
        assert rows[0] == 0 and clipped[0].tolist() == words[i].tolist()  # the summary row first, as it starts first
        assert rows[1:].tolist() == (alone[i][0] + 1).tolist() and np.array_equal(clipped[1:], alone[i][1])
    assert peak < 64 << 20  # windows reaching back to row 0 from every word would hold 1.5e7 candidates (> 1 GB)


@pytest.mark.parametrize("on_missing", ["drop", "impute"])
@pytest.mark.parametrize("collapse", ["mean", "max", "first", "last", weighted_mean])
@pytest.mark.parametrize("seed", SEEDS)
def test_align_video_equals_the_naive_loop(seed, collapse, on_missing):
    reference, sequences, keep = random_case(seed)
    for mask in (None, keep):
        kept, expected, imputed = naive_align(reference, sequences, collapse, on_missing, mask)
        with np.errstate(invalid="ignore"):
            ours = align_video(reference, sequences, collapse=collapse, on_missing=on_missing, keep=mask)
        assert ours.index.tolist() == kept
        assert np.array_equal(ours.intervals, reference[kept].reshape(-1, 2))  # the reference's own intervals
        for name in sequences:
            if imputed[name] < len(kept):  # (without any collapsed row the dtype is a guess on either side)
                assert ours.features[name].dtype == expected[name].dtype, name
            np.testing.assert_array_equal(ours.features[name], expected[name], err_msg=name)  # NaN == NaN here
        assert ours.imputed == (imputed if on_missing == "impute" else {name: 0 for name in sequences})


@pytest.mark.parametrize("seed", SEEDS)
def test_on_missing_error_raises_exactly_when_the_naive_loop_finds_a_gap(seed):
    reference, sequences, keep = random_case(seed)
    try:
        naive_align(reference, sequences, "mean", "error", keep)
    except LookupError as gap:
        name, interval = gap.args[0]
        with pytest.raises(DatasetError, match=rf"^sample 'v': reference interval {interval} .* no row of {name!r}"):
            align_video(reference, sequences, on_missing="error", keep=keep, where="sample 'v'")
    else:
        ours = align_video(reference, sequences, on_missing="error", keep=keep)
        assert ours.dropped == 0 and sum(ours.imputed.values()) == 0


# --- `mmdata align` on a .csd corpus, against the naive loop on the raw arrays ---------------------

PAUSES = {"sp", "sil", "<sp>", "<sil>"}
# `abc` is missing from the FACET file: it is dropped from every table, while `abcd` (which the SDK's
# prefix purge would delete with it) is kept; `zz` is only in the FACET file.
DURATIONS = {"abc": 6.0, "abcd": 4.0, "x9": 5.0}
FACET_SPAN = {"abcd": (0.0, 4.0), "x9": (1.0, 4.0), "zz": (0.0, 2.0)}  # x9's FACET starts late, ends early


def random_words(rng, duration):
    """Contiguous words on a 0.25 s grid with pauses, a gap, a zero-length word."""
    bounds = np.unique(np.concatenate([[0.0, duration], rng.integers(1, int(duration * 4), 12) * 0.25]))
    intervals = np.stack([bounds[:-1], bounds[1:]], axis=1)
    intervals = np.delete(intervals, int(rng.integers(1, len(intervals) - 1)), axis=0)  # a gap
    intervals = np.insert(intervals, 2, [intervals[2, 0]] * 2, axis=0)  # a zero-length word
    tokens = [str(rng.choice(["sp", "SP", "good", "bad", "so", "it"])) for _ in intervals]
    return tokens, intervals


def regular_frames(rng, start, end, rate, dim, *, shuffle=False):
    starts = start + np.arange(int(round((end - start) * rate))) / rate
    intervals = np.stack([starts, starts + 1 / rate], axis=1)
    features = rng.normal(size=(len(starts), dim)).astype(np.float32)
    for value in (np.nan, -np.inf):
        features.flat[rng.integers(0, features.size, 3)] = value
    if shuffle:
        order = rng.permutation(len(starts))
        features, intervals = features[order], intervals[order]
    return features, intervals


@pytest.fixture(scope="module")
def csd_videos(tmp_path_factory):
    """(raw arrays per table and video, dataset dir) for whole videos loaded from .csd files."""
    from tests.fakes.csd import COVAREP_FILE, FACET_FILE, write_sdk_csd
    from mmdata.pipeline import extract

    root = tmp_path_factory.mktemp("align-reference")
    rng = np.random.default_rng(7)
    words = {vid: random_words(rng, duration) for vid, duration in DURATIONS.items()}
    covarep = {vid: regular_frames(rng, 0.0, duration, 100, 3, shuffle=vid == "x9") for vid, duration in DURATIONS.items()}
    facet = {vid: regular_frames(rng, a, b, 30, 2) for vid, (a, b) in FACET_SPAN.items()}
    write_sdk_csd(root / "csd" / "words.csd", "words", {
        vid: (np.array([[t.encode()] for t in tokens], dtype="S8"), iv) for vid, (tokens, iv) in words.items()})
    write_sdk_csd(root / "csd" / COVAREP_FILE, "COVAREP", covarep)
    write_sdk_csd(root / "csd" / FACET_FILE, "FACET", facet)
    extract("csd", root / "csd", root / "out", extractors=[], num_workers=0, shard_size=1,
            corpus_options={"labels": "none", "unsorted": "sort", "nonfinite": "keep"})
    raw = {"text.words": {vid: (np.array([[float(t.lower() in PAUSES)] for t in tokens], np.float32), iv)
                          for vid, (tokens, iv) in words.items()},
           "audio.covarep": covarep, "video.facet-41": facet}
    return raw, {vid: tokens for vid, (tokens, _) in words.items()}, root / "out"


def run_cli(*args):
    from typer.testing import CliRunner

    from mmdata.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize(("collapse", "on_missing", "skip_pauses"), [
    ("mean", "drop", False), ("max", "impute", True), ("first", "drop", True), ("last", "impute", False)])
def test_align_command_equals_the_naive_loop_on_every_video(csd_videos, collapse, on_missing, skip_pauses):
    from mmdata.store import open_dataset

    raw, tokens, out = csd_videos
    result = run_cli("align", out, "--reference", "text.words", "--collapse", collapse, "--on-missing", on_missing,
                     *(["--skip-pauses"] if skip_pauses else []), "--force")
    assert result.exit_code == 0, result.output
    dataset = open_dataset(out)
    assert [r["sample_id"] for r in dataset.samples_table().to_pylist()] == ["abcd", "x9"]  # exact ids, no prefix purge
    assert {r["sample_id"]: r["reason"].split(";")[0] for r in dataset.errors().to_pylist()} == {
        "abc": "video 'abc' is missing from CMU_MOSI_Visual_Facet_41.csd",
        "zz": "video 'zz' is missing from CMU_MOSI_COVAREP.csd, words.csd"}
    others = ("audio.covarep", "video.facet-41")
    for vid in ("abcd", "x9"):
        reference = raw["text.words"][vid][1]
        keep = np.array([t.lower() not in PAUSES for t in tokens[vid]]) if skip_pauses else None
        kept, expected, _ = naive_align(reference, {n: raw[n][vid] for n in others}, collapse, on_missing, keep)
        expected["text.words"] = raw["text.words"][vid][0][kept]
        for name in (*others, "text.words"):
            row = next(r for r in dataset.table(f"{name}@text.words").to_table().to_pylist() if r["sample_id"] == vid)
            assert row["keys"] == [f"{vid}[{i}]" for i in kept], name
            assert row["intervals"] == reference[kept].tolist(), name
            np.testing.assert_array_equal(np.array(row["feature"], np.float32).reshape(len(kept), -1),
                                          expected[name].astype(np.float32), err_msg=f"{name} {vid}")
        words = next(r for r in dataset.table("text.words@text.words").to_table().to_pylist() if r["sample_id"] == vid)
        assert words["words"] == [tokens[vid][i] for i in kept]
    for name in others:
        config = dataset.entry(f"{name}@text.words").config
        assert (config["collapse"], config["on_missing"], config["reference"], config["skip_pauses"]) == (
            collapse, on_missing, "text.words", skip_pauses)


def test_align_command_on_missing_error_names_sample_table_and_interval(csd_videos):
    _, _, out = csd_videos
    result = run_cli("align", out, "--reference", "text.words", "--on-missing", "error", "--force")
    assert result.exit_code == 2
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert "sample 'x9'" in result.output and "'video.facet-41'" in result.output and "--on-missing" in result.output


def test_align_command_outputs_pass_check_and_info_lists_them(csd_videos):
    import json

    from mmdata.checks import check_dataset

    _, _, out = csd_videos
    assert run_cli("align", out, "-r", "text.words", "--force").exit_code == 0
    aligned = ["audio.covarep@text.words", "text.words@text.words", "video.facet-41@text.words"]
    report = check_dataset(out, tables=aligned)
    # the NaN/-inf the fixture keeps in its features are reported; nothing else is wrong
    assert {i.code for i in report.errors} == {"non-finite"}, [i.message for i in report.errors]
    result = run_cli("info", out, "--json")
    assert result.exit_code == 0, result.output
    tables = {t["name"]: t for t in json.loads(result.output)["tables"]}
    dims = {"audio.covarep@text.words": 3, "text.words@text.words": 1, "video.facet-41@text.words": 2}
    for name, dim in dims.items():
        t = tables[name]
        assert (t["dim"], t["kind"], t["dtype"], t["extractor"], t["rows"], t["complete"]) == (
            dim, "sequence", "float32", "align", 2, True), name
        assert t["config"]["reference"] == "text.words" and t["source"] == f"{name.split('@')[0]} aligned to text.words"


def spans_csd(root):
    """One video: words 0-3 s; COVAREP covers 0-2 s, FACET 1-3 s, so each drops another word."""
    from tests.fakes.csd import COVAREP_FILE, FACET_FILE, write_sdk_csd
    from mmdata.pipeline import extract

    words = (np.array([[b"a"], [b"b"], [b"c"]]), np.array([[0, 1.0], [1.0, 2.0], [2.0, 3.0]]))
    starts = np.arange(20) / 10
    write_sdk_csd(root / "csd" / "words.csd", "words", {"u": words})
    write_sdk_csd(root / "csd" / COVAREP_FILE, "COVAREP", {"u": (np.ones((20, 2), np.float32), np.stack([starts, starts + 0.1], 1))})
    write_sdk_csd(root / "csd" / FACET_FILE, "FACET", {"u": (np.ones((20, 2), np.float32), np.stack([starts + 1, starts + 1.1], 1))})
    extract("csd", root / "csd", root / "out", extractors=[], num_workers=0)
    return root / "out"


def test_aligning_tables_in_separate_runs_that_would_fall_out_of_step_is_refused(tmp_path):
    from mmdata.alignment.dataset import align_dataset
    from mmdata.store import open_dataset

    out = spans_csd(tmp_path)
    assert align_dataset(out, "text.words", tables=["audio.covarep"]).kept == 2  # words a, b
    result = run_cli("align", out, "-r", "text.words", "-t", "video.facet-41")  # would keep b, c
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert ("'audio.covarep@text.words'" in result.output and "out of step" in result.output
            and "-t video.facet-41 -t audio.covarep --force" in result.output)
    intervals = {n: open_dataset(out).table(n).to_table().column("intervals").to_pylist()
                 for n in ("audio.covarep@text.words", "text.words@text.words")}
    assert intervals["audio.covarep@text.words"] == intervals["text.words@text.words"] == [[[0.0, 1.0], [1.0, 2.0]]]
    # what the message asks for: one run, every table in step
    assert run_cli("align", out, "-r", "text.words", "-t", "video.facet-41", "-t", "audio.covarep", "--force").exit_code == 0
    data = open_dataset(out)
    steps = {n: data.table(n).to_table().column("intervals").to_pylist() for n in data.table_names if "@" in n}
    assert list(steps.values()) == [[[[1.0, 2.0]]]] * 3, steps
    # an up-to-date rerun of some of them rewrites nothing, so it is no problem
    again = align_dataset(out, "text.words", tables=["audio.covarep"])
    assert again.up_to_date


def test_tables_imputed_in_separate_runs_stay_in_step(tmp_path):
    from mmdata.alignment.dataset import align_dataset
    from mmdata.store import open_dataset

    out = spans_csd(tmp_path)
    align_dataset(out, "text.words", tables=["audio.covarep"], on_missing="impute")
    report = align_dataset(out, "text.words", tables=["video.facet-41"], on_missing="impute")
    assert report.kept == 3 and report.imputed["video.facet-41"] == 1
    data = open_dataset(out)
    assert all(data.table(n).to_table().column("intervals").to_pylist() == [[[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]]
               for n in data.table_names if "@" in n)
    with pytest.raises(DatasetError, match=r"'audio.covarep@text.words' .* out of step"):
        align_dataset(out, "text.words", tables=["video.facet-41"], on_missing="impute", skip_pauses=True, force=True)


def test_a_table_named_twice_or_in_a_comma_list_is_aligned_once(tmp_path):
    out = spans_csd(tmp_path)
    result = run_cli("align", out, "-r", "text.words", "-t", "audio.covarep", "-t", "audio.covarep,video.facet-41")
    assert result.exit_code == 0, result.output
    from mmdata.store import open_dataset

    data = open_dataset(out)
    assert sorted(n for n in data.table_names if "@" in n) == [
        "audio.covarep@text.words", "text.words@text.words", "video.facet-41@text.words"]
    assert all(len(data.table(n).to_table().column("feature")[0]) == 1 for n in data.table_names if "@" in n)


def test_align_dataset_takes_a_collapse_weighted_by_overlap(tmp_path):
    from mmdata.alignment.dataset import align_dataset
    from mmdata.store import open_dataset

    out = spans_csd(tmp_path)
    report = align_dataset(out, "text.words", tables=["audio.covarep", "video.facet-41"], collapse=weighted_mean)
    assert report.kept == 1
    data = open_dataset(out)
    assert data.spec("audio.covarep@text.words").dim == 2
    assert data.entry("audio.covarep@text.words").config["collapse"] == "weighted_mean"
    assert data.table("audio.covarep@text.words").to_table().column("feature").to_pylist() == [[[1.0, 1.0]]]


# --- `mmdata segment`: whole videos cut into label segments, against the naive loop ---------------

# video -> [(start, end, label)]: touching segments, words straddling their edges, a zero-length one,
# one past FACET's end; `abc` has labels but no sample (unify dropped it)
SEGMENTS = {"abc": [(0.0, 2.0, 1.0)],
            "abcd": [(0.0, 1.3, 2.5), (1.3, 2.6, -1.0), (2.6, 2.6, 0.5), (2.6, 4.0, 0.0)],
            "x9": [(0.4, 2.1, -3.0), (3.3, 4.9, 1.5)]}


def test_segment_command_cuts_rows_as_the_naive_loop_and_attaches_labels(csd_videos, tmp_path):
    import json

    from tests.fakes.csd import LABELS_FILE, LABELS_ROOT, write_sdk_csd
    from mmdata.store import open_dataset

    _, _, videos = csd_videos
    assert run_cli("align", videos, "-r", "text.words", "--force").exit_code == 0
    labels = write_sdk_csd(tmp_path / LABELS_FILE, LABELS_ROOT, {
        vid: (np.array([[v] for _, _, v in segs], np.float32), np.array([[a, b] for a, b, _ in segs]))
        for vid, segs in SEGMENTS.items()})
    (tmp_path / "folds.json").write_text(json.dumps({"train": ["abcd"], "test": ["x9"]}))
    out = tmp_path / "segments"
    result = run_cli("segment", videos, out, "--labels", labels, "--folds", tmp_path / "folds.json")
    assert result.exit_code == 0, result.output
    assert "samples: 5 segments of 2 videos" in result.output
    assert "2 problems" in result.output and "video 'abc' has 1 label segments but the dataset has no such video" in result.output
    assert "abcd[2]: label segment 2 has zero length (at 2.6 s); skipped, as the SDK skips it" in result.output
    samples = {r["sample_id"]: r for r in open_dataset(out).samples_table().to_pylist()}
    expected_ids = {f"{vid}[{i}]": seg for vid, segs in SEGMENTS.items() if vid != "abc"
                    for i, seg in enumerate(segs) if seg[1] > seg[0]}
    assert sorted(samples) == sorted(expected_ids)
    for sample_id, (start, end, label) in expected_ids.items():
        row = samples[sample_id]
        vid = sample_id.split("[")[0]
        assert (row["start"], row["end"], row["label"], row["group_id"]) == (start, end, label, vid)
        assert row["split"] == {"abcd": "train", "x9": "test"}[vid]
    source, cut = open_dataset(videos), open_dataset(out)
    for name in ("audio.covarep", "video.facet-41", "text.words", "audio.covarep@text.words", "text.words@text.words"):
        whole = {r["sample_id"]: r for r in source.table(name).to_table().to_pylist()}
        parts = {r["sample_id"]: r for r in cut.table(name).to_table().to_pylist()}
        for sample_id, (start, end, _) in expected_ids.items():
            video = whole[sample_id.split("[")[0]]
            features, intervals = np.array(video["feature"], np.float32), np.array(video["intervals"]).reshape(-1, 2)
            rows, clipped = naive_pieces((start, end), features, intervals)
            part = parts[sample_id]
            assert part["intervals"] == clipped.tolist(), (name, sample_id)
            np.testing.assert_array_equal(np.array(part["feature"], np.float32).reshape(len(rows), -1), features[rows])
            for column in ("keys", "words"):
                if column in video:
                    assert part[column] == [video[column][r] for r in rows], (name, sample_id, column)


def test_check_finds_aligned_tables_out_of_step_with_their_reference(tmp_path):
    """A dataset aligned in one run passes; one whose aligned table drifted from `REF@REF` (as separate
    runs with --on-missing drop left them before such runs were refused) is an error naming the sample."""
    import pyarrow as pa

    from mmdata.checks import check_dataset
    from mmdata.store import open_dataset
    from mmdata.store.shards import read_shard
    from mmdata.store.writer import write_table_atomic

    out = spans_csd(tmp_path)
    assert run_cli("align", out, "-r", "text.words", "-t", "audio.covarep,video.facet-41").exit_code == 0
    assert not [i for i in check_dataset(out).issues if i.code == "aligned-out-of-step"]
    (shard,) = open_dataset(out).table_files("audio.covarep@text.words")
    table = read_shard(shard)
    moved = pa.array([[[1.5, 2.0]]], table.schema.field("intervals").type)  # the one step, shifted by 0.5 s
    write_table_atomic(table.set_column(table.schema.get_field_index("intervals"), table.schema.field("intervals"),
                                        moved), shard)
    (issue,) = [i for i in check_dataset(out).issues if i.code == "aligned-out-of-step"]
    assert (issue.severity, issue.table, issue.sample_id) == ("error", "audio.covarep@text.words", "u")
    assert "other time steps than 'text.words@text.words'" in issue.message and "--force" in issue.message
