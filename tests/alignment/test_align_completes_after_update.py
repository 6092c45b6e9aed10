"""A word-aligned dataset whose corpus gained segments: `extract --update`, then `extract`, then the same `align`
gives the aligned tables a fresh extract and align of the grown corpus gives, aligning only the shards the
update invalidated. An align before the extract is refused, naming the table and the commands, with nothing
written; `check` and `info` name the align command that completes the aligned tables; an align killed after
the update resumes."""
from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pytest

from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from mmdata.errors import DatasetError
from mmdata.info import describe_dataset
from mmdata.pipeline import extract
from mmdata.store import layout, open_dataset
from tests.fakes.av import _write_segments_csv, _write_words_csv, tone, write_wav
from tests.reliability.long_mosi import run_killed_at
from tests.store.grown_corpus import file_states

LOGMEL, REFERENCE = "audio.torchaudio-logmel", "text.word-embeddings-hashed"
EXTRACTORS = ["torchaudio-logmel:n_mels=16", "word-embeddings:method=hashed,dim=8"]
OUTPUTS = (f"{LOGMEL}@{REFERENCE}", f"{REFERENCE}@{REFERENCE}")
STARTS = (0.0, 0.5, 1.0, 0.25, 0.75)  # s0..s2 at first, s3 and s4 added
SHARD_SIZE = 2  # 3 samples: shard 0 full, shard 1 partial; the update rewrites shard 1 and adds shard 2


def write_segments(root: Path, count: int) -> Path:
    """A mosi-raw corpus of the first `count` one-second segments of one recording, each with two timed words."""
    if not (root / "audio/rec1.wav").is_file():
        write_wav(root / "audio/rec1.wav", np.concatenate([tone(220, 1.0), tone(440, 1.0)]))
    rows = [(f"s{i}", "rec1", "audio/rec1.wav", "", str(start), str(start + 1.0), f"word{i} other{i}", "0.5", "train")
            for i, start in enumerate(STARTS[:count])]
    _write_segments_csv(root, rows)
    _write_words_csv(root / "words.csv", {f"s{i}": [(f"word{i}", 0.1, 0.4), ("other", 0.5, 0.9)] for i in range(count)})
    return root


def extracted_and_aligned(corpus: Path, out: Path, count: int) -> Path:
    extract("mosi-raw", write_segments(corpus, count), out, extractors=EXTRACTORS, num_workers=0, shard_size=SHARD_SIZE)
    align_dataset(out, REFERENCE, tables=[LOGMEL])
    return out


def aligned_rows(out: Path) -> dict[str, list[dict]]:
    dataset = open_dataset(out)
    return {name: dataset.read_table(name).to_pylist() for name in OUTPUTS}


def shard_states(out: Path, index: int) -> dict[str, object]:
    """{output: file state of its shard `index`} (mtime, inode, bytes)."""
    name = layout.shard_name(index)
    return {out_name: file_states(layout.feature_dir(out, out_name))[name] for out_name in OUTPUTS}


@pytest.fixture()
def updated(tmp_path) -> tuple[Path, Path]:
    """(the dataset of s0..s2 aligned, then updated with s3 and s4; a fresh extract and align of s0..s4)."""
    corpus, out, fresh = tmp_path / "raw", tmp_path / "ds", tmp_path / "fresh"
    extracted_and_aligned(corpus, out, 3)
    extracted_and_aligned(tmp_path / "raw-fresh", fresh, 5)
    write_segments(corpus, 5)
    report = extract("mosi-raw", corpus, out, extractors=[], num_workers=0, update=True)
    assert report.samples_added == 2 and set(OUTPUTS) <= set(report.incomplete_tables)
    return out, fresh


def test_extract_then_align_after_an_update_aligns_only_the_invalidated_shards(updated):
    out, fresh = updated
    kept = shard_states(out, 0)
    extract("mosi-raw", open_dataset(out).manifest.corpus["root"], out, extractors=EXTRACTORS, num_workers=0)
    report = align_dataset(out, REFERENCE, tables=[LOGMEL])
    assert (report.shards_aligned, report.shards_done) == (2, 1)
    assert shard_states(out, 0) == kept  # the shard before the one the update rewrote: not written again
    assert aligned_rows(out) == aligned_rows(fresh)
    dataset = open_dataset(out)
    assert all(dataset.entry(name).complete and dataset.entry(name).rows == 5 for name in OUTPUTS)
    assert "update_left" not in dataset.manifest.extra or not dataset.manifest.extra["update_left"]
    assert check_dataset(out).ok
    assert align_dataset(out, REFERENCE, tables=[LOGMEL]).up_to_date


def test_an_align_before_the_extract_is_refused_naming_the_table_and_the_commands(updated):
    out, _ = updated
    before = file_states(out)
    with pytest.raises(DatasetError, match=rf"align reads table '{REFERENCE}', which is incomplete: .*holds rows for 2 "
                                           r"of the 5 samples.*run `mmdata extract mosi-raw .*--text word-embeddings:"
                                           r".*then run this `mmdata align` again.*nothing was written"):
        align_dataset(out, REFERENCE, tables=[LOGMEL])
    assert file_states(out) == before
    align = f"`mmdata align {out} -r {REFERENCE} -t {LOGMEL}`"
    issues = {issue.table: issue.message for issue in check_dataset(out).issues
              if issue.table in OUTPUTS and issue.code == "table-incomplete"}
    assert set(issues) == set(OUTPUTS) and all(f"then {align}" in message for message in issues.values())
    hints = {table["name"]: table["incomplete"]["hint"] for table in describe_dataset(out)["tables"]
             if table["name"] in OUTPUTS}
    assert all("grew from 3 to 5 samples" in hint and hint.endswith(f"then {align} to compute them")
               for hint in hints.values()), hints


def test_an_align_killed_after_the_update_resumes_to_the_fresh_tables(updated, tmp_path):
    out, fresh = updated
    extract("mosi-raw", open_dataset(out).manifest.corpus["root"], out, extractors=EXTRACTORS, num_workers=0)
    killed = run_killed_at(layout.shard_name(2), 1, "align", str(out), "-r", REFERENCE, "-t", LOGMEL, cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not all(open_dataset(out).entry(name).complete for name in OUTPUTS)
    report = align_dataset(out, REFERENCE, tables=[LOGMEL])
    assert (report.shards_aligned, report.shards_done) == (1, 2)
    assert aligned_rows(out) == aligned_rows(fresh)
    assert check_dataset(out).ok


def test_tables_aligned_in_a_grown_dataset_are_completed_after_a_second_update(tmp_path):
    corpus, out, fresh = tmp_path / "raw", tmp_path / "ds", tmp_path / "fresh"
    extract("mosi-raw", write_segments(corpus, 3), out, extractors=EXTRACTORS, num_workers=0, shard_size=SHARD_SIZE)
    extract("mosi-raw", write_segments(corpus, 4), out, extractors=EXTRACTORS, num_workers=0, update=True)
    align_dataset(out, REFERENCE, tables=[LOGMEL])  # aligned after the first update: 4 samples, shards 0 and 1
    extracted_and_aligned(tmp_path / "raw-fresh", fresh, 5)
    extract("mosi-raw", write_segments(corpus, 5), out, extractors=EXTRACTORS, num_workers=0, update=True)
    report = align_dataset(out, REFERENCE, tables=[LOGMEL])
    assert (report.shards_aligned, report.shards_done) == (1, 2)  # the second update added shard 2 alone
    assert aligned_rows(out) == aligned_rows(fresh)
    assert check_dataset(out).ok
