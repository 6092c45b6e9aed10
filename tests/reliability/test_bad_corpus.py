"""A corpus with every kind of broken image/text item: skip records them all, fail stops at the first."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.store import open_dataset
from tests.reliability.fake_coco import SPLIT, write_broken_coco

runner = CliRunner()
TABLE = "image.color-hist"
#: What the errors table must say for each kind of breakage.
REASONS = {
    "corrupt-jpeg": "corrupt or truncated",
    "truncated-jpeg": "corrupt or truncated",
    "corrupt-png": "corrupt or truncated",
    "truncated-png": "corrupt or truncated",
    "zero-bytes": "empty (0 bytes)",
    "missing": "not found",
    "not-an-image": "corrupt or truncated",
}


@pytest.fixture
def broken(tmp_path):
    corpus = write_broken_coco(tmp_path / "corpus")
    # Two annotation entries for one image id: the loader keeps the first and reports the second.
    path = corpus.root / "annotations" / f"captions_{SPLIT}.json"
    data = json.loads(path.read_text())
    data["images"].append({**data["images"][2], "file_name": "elsewhere.jpg"})
    path.write_text(json.dumps(data))
    return corpus


def extract_args(corpus, out, on_error: str) -> list[str]:
    return ["extract", "coco", str(corpus.root), str(out), "--image", "color-hist", "--shard-size", "6",
            "-j", "1", "--on-error", on_error, "-q"]


def test_skip_records_every_bad_item_with_its_reason_and_good_plus_failed_is_total(broken, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, extract_args(broken, out, "skip"))
    assert result.exit_code == 0, result.output
    assert "table image.color-hist: 40 rows, 14 failed" in result.output
    assert "1 loader errors" in result.output

    dataset = open_dataset(out)
    table = dataset.table(TABLE).to_table()
    errors = dataset.errors().to_pylist()
    table_errors = {e["sample_id"]: e for e in errors if e["table"] == TABLE}
    assert set(table_errors) == set(broken.broken)
    for sample_id, kind in broken.broken.items():
        error = table_errors[sample_id]
        assert REASONS[kind] in error["reason"], (kind, error)
        assert error["path"].startswith(f"{SPLIT}/{sample_id}.")
        assert error["stage"] == "decode" and error["error_type"] == "MediaError"
    failed = {r["sample_id"] for r in table.select(["sample_id", "feature"]).to_pylist() if r["feature"] is None}
    assert failed == set(broken.broken)
    assert table.num_rows - len(failed) == len(broken.good)
    assert len(broken.good) + len(table_errors) == table.num_rows == dataset.manifest.samples["rows"] == 40
    loader = [e for e in errors if e["table"] == "loader"]
    assert len(loader) == 1 and "duplicate image id 3" in loader[0]["reason"]
    entry = dataset.entry(TABLE)
    assert (entry.rows, entry.errors, entry.complete) == (40, 14, True)


def test_fail_stops_at_the_first_bad_file_with_nonzero_exit_and_no_partial_shard(broken, tmp_path):
    path = broken.root / "annotations" / f"captions_{SPLIT}.json"
    data = json.loads(path.read_text())
    data["images"].pop()  # without the duplicate entry, the loader is happy and extraction runs
    path.write_text(json.dumps(data))
    out = tmp_path / "out"
    result = runner.invoke(app, extract_args(broken, out, "fail"))
    first_bad = min(broken.broken)
    assert result.exit_code == 2
    assert f"sample '{first_bad}' ({SPLIT}/{first_bad}.jpg)" in result.stderr
    assert "--on-error skip" in result.stderr and "Traceback" not in result.output
    # The first bad image is in shard 0: no feature shard at all, and no errors shard either.
    assert not list(out.glob("features/*/*.parquet")) and not list(out.glob("errors/*/*.parquet"))
    assert not list(out.rglob("*.tmp"))
    assert TABLE not in open_dataset(out).manifest.tables  # nothing of it was finished: not registered either


def test_fail_on_a_loader_problem_names_the_annotation_file_and_writes_nothing(broken, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, extract_args(broken, out, "fail"))
    assert result.exit_code == 2
    assert f"captions_{SPLIT}.json" in result.stderr and "duplicate image id 3" in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_fail_after_good_shards_keeps_them_whole(tmp_path):
    corpus = write_broken_coco(tmp_path / "corpus", first=6)  # shard 0 (images 1-6) is all good
    out = tmp_path / "out"
    result = runner.invoke(app, extract_args(corpus, out, "fail"))
    assert result.exit_code == 2
    first_bad = min(corpus.broken)
    assert f"sample '{first_bad}' ({SPLIT}/{first_bad}.jpg)" in result.stderr
    shards = sorted((out / "features" / TABLE).glob("*.parquet"))
    assert [s.name for s in shards] == ["part-00000.parquet"]
    assert pq.read_table(shards[0]).column("sample_id").to_pylist() == corpus.ids[:6]
    assert not list(out.rglob("*.tmp"))


def write_broken_manifest(root, rng_seed: int = 0) -> dict[str, str]:
    """An 18-line JSONL manifest: 12 good rows, 2 broken images, 2 lines with non-UTF-8 captions, and
    2 rows repeating an earlier id. Returns {what: expected reason fragment} per bad line or sample."""
    import numpy as np

    from tests.reliability.fake_coco import image_bytes

    rng = np.random.default_rng(rng_seed)
    (root / "images").mkdir(parents=True)
    lines, bad = [], {}
    for i in range(16):
        (root / "images" / f"{i}.jpg").write_bytes(image_bytes(rng))
        lines.append(json.dumps({"id": f"s{i:02d}", "image": f"images/{i}.jpg", "caption": f"caption {i}"}).encode())
    (root / "images" / "3.jpg").write_bytes(b"")
    (root / "images" / "9.jpg").write_bytes(image_bytes(rng)[:40])
    bad.update({"s03": "empty (0 bytes)", "s09": "corrupt or truncated"})
    for i in (5, 12):  # Latin-1 bytes in the caption
        lines[i] = f'{{"id": "s{i:02d}", "image": "images/{i}.jpg", "caption": "caf'.encode() + b"\xe9 cr\xe8me\"}"
        bad[f"manifest.jsonl:{i + 1}"] = "not valid UTF-8"
    for i in (1, 7):
        lines.append(json.dumps({"id": f"s{i:02d}", "image": f"images/{i}.jpg", "caption": "again"}).encode())
        bad[f"manifest.jsonl:{len(lines)}"] = f"duplicate sample id 's{i:02d}'"
    (root / "manifest.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return bad


def test_manifest_with_non_utf8_captions_and_duplicate_ids_under_skip_and_fail(tmp_path):
    root = tmp_path / "manifest"
    bad = write_broken_manifest(root)
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract", "manifest", str(root), str(out), "--image", "color-hist", "-j", "0", "-q"])
    assert result.exit_code == 0, result.output
    dataset = open_dataset(out)
    errors = dataset.errors().to_pylist()
    by_key = {e["path"].rsplit("/", 1)[-1] if e["table"] == "loader" else e["sample_id"]: e for e in errors}
    assert set(by_key) == set(bad)
    for key, reason in bad.items():
        assert reason in by_key[key]["reason"], (key, by_key[key])
    table = dataset.table(TABLE).to_table()
    good = sum(f is not None for f in table.column("feature").to_pylist())
    assert good == 12 and table.num_rows == 14  # 18 lines - 2 non-UTF-8 - 2 duplicates; 2 images broken
    assert good + len(errors) == 18

    result = runner.invoke(app, ["extract", "manifest", str(root), str(tmp_path / "out2"), "--image", "color-hist",
                                 "--on-error", "fail", "-q"])
    assert result.exit_code == 2
    assert f"{root / 'manifest.jsonl'}:6: not valid UTF-8" in result.stderr
    assert not (tmp_path / "out2").exists() or not list((tmp_path / "out2").rglob("*.parquet"))
