"""`align` after an `extract --update` keeps the rules of any align: other options than the first align's are
refused naming the option (`force` rewrites the outputs as a fresh run makes them), an input computed again with
another config is refused naming it, an unfinished update is refused with the command that finishes it, an
update adding nothing leaves the aligned tables complete, and an output aligned before the update recorded how
many rows the samples fingerprint covers is completed, not refused as made from other inputs."""
from __future__ import annotations

import signal
from pathlib import Path

import pytest

from mmdata.alignment.dataset import align_dataset
from mmdata.checks import check_dataset
from mmdata.errors import DatasetError
from mmdata.info import describe_dataset
from mmdata.pipeline import extract
from mmdata.store import layout, open_dataset
from mmdata.store.manifest import write_manifest
from tests.alignment.test_align_completes_after_update import (  # noqa: F401 (the fixture `updated`)
    EXTRACTORS, LOGMEL, OUTPUTS, REFERENCE, SHARD_SIZE, aligned_rows, extracted_and_aligned, updated, write_segments,
)
from tests.reliability.long_mosi import run_killed_at


def complete_inputs(out: Path, extractors: list[str] = EXTRACTORS, **options) -> None:
    """The extract that completes the input tables an update left."""
    extract("mosi-raw", open_dataset(out).manifest.corpus["root"], out, extractors=extractors, num_workers=0,
            **options)


def fresh_rows(corpus: Path, out: Path, **align_options) -> dict[str, list[dict]]:
    """The aligned rows of a fresh extract and align of the 5 segments with `align_options`."""
    extract("mosi-raw", write_segments(corpus, 5), out, extractors=EXTRACTORS, num_workers=0, shard_size=SHARD_SIZE)
    align_dataset(out, REFERENCE, tables=[LOGMEL], **align_options)
    return aligned_rows(out)


@pytest.mark.parametrize(("option", "first", "value"), [("collapse", "mean", "max"), ("on_missing", "drop", "impute")])
def test_an_option_other_than_the_first_aligns_is_refused_and_force_rewrites_as_fresh(updated, tmp_path, option,
                                                                                     first, value):
    out, _ = updated
    complete_inputs(out)
    with pytest.raises(DatasetError, match=rf"was made with {option}={first}, not {option}={value} .*pass --force"):
        align_dataset(out, REFERENCE, tables=[LOGMEL], **{option: value})
    assert not any(open_dataset(out).entry(name).complete for name in OUTPUTS)  # left as the update left them
    report = align_dataset(out, REFERENCE, tables=[LOGMEL], force=True, **{option: value})
    assert report.shards_aligned == 3
    assert aligned_rows(out) == fresh_rows(tmp_path / "raw-other", tmp_path / "other", **{option: value})
    assert check_dataset(out).ok


def test_an_input_computed_again_with_another_config_after_the_update_is_refused_naming_it(updated):
    out, _ = updated
    complete_inputs(out, ["torchaudio-logmel:n_mels=16", "word-embeddings:method=hashed,dim=16"], force=True)
    with pytest.raises(DatasetError, match=rf"inputs differ: .*reference '{REFERENCE}' changed since \(config dim=8, "
                                           r"not dim=16"):
        align_dataset(out, REFERENCE, tables=[LOGMEL])


def test_an_align_during_an_unfinished_update_is_refused_and_finishing_it_gives_the_fresh_tables(tmp_path):
    corpus, out = tmp_path / "raw", tmp_path / "ds"
    extracted_and_aligned(corpus, out, 3)
    write_segments(corpus, 5)
    killed = run_killed_at(layout.shard_name(2), 1, "extract", "mosi-raw", str(corpus), str(out), "--update",
                           cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with pytest.raises(DatasetError, match=r"align reads table .*interrupted.*run the same `mmdata extract \.\.\. "
                                           r"--update` command again to finish it"):
        align_dataset(out, REFERENCE, tables=[LOGMEL])
    extract("mosi-raw", corpus, out, extractors=[], num_workers=0, update=True)
    complete_inputs(out)
    assert (align_dataset(out, REFERENCE, tables=[LOGMEL]).shards_done) == 1
    assert aligned_rows(out) == fresh_rows(tmp_path / "raw-fresh", tmp_path / "fresh")
    assert check_dataset(out).ok


def test_an_update_adding_nothing_leaves_the_aligned_tables_complete(tmp_path):
    corpus, out = tmp_path / "raw", tmp_path / "ds"
    extracted_and_aligned(corpus, out, 3)
    rows = aligned_rows(out)
    assert extract("mosi-raw", corpus, out, extractors=[], num_workers=0, update=True).samples_added == 0
    assert all(open_dataset(out).entry(name).complete for name in OUTPUTS)
    assert align_dataset(out, REFERENCE, tables=[LOGMEL]).up_to_date
    assert aligned_rows(out) == rows and check_dataset(out).ok


def test_tables_aligned_before_the_covered_rows_were_recorded_are_completed_after_an_update(tmp_path):
    """A dataset an update of mmdata 0.5.2 grew records no `samples.fingerprint_rows`: an output aligned there
    recorded every row of its inputs (4); the next update records the 3 the fingerprint covers."""
    corpus, out = tmp_path / "raw", tmp_path / "ds"
    extract("mosi-raw", write_segments(corpus, 3), out, extractors=EXTRACTORS, num_workers=0, shard_size=SHARD_SIZE)
    extract("mosi-raw", write_segments(corpus, 4), out, extractors=EXTRACTORS, num_workers=0, update=True)
    manifest = open_dataset(out).manifest
    manifest.samples.pop("fingerprint_rows")
    manifest.extra.pop("update_left", None)
    write_manifest(out, manifest)
    align_dataset(out, REFERENCE, tables=[LOGMEL])
    extract("mosi-raw", write_segments(corpus, 5), out, extractors=EXTRACTORS, num_workers=0, update=True)
    assert open_dataset(out).manifest.samples["fingerprint_rows"] == 3
    report = align_dataset(out, REFERENCE, tables=[LOGMEL])
    assert (report.shards_aligned, report.shards_done) == (1, 2)
    assert aligned_rows(out) == fresh_rows(tmp_path / "raw-fresh", tmp_path / "fresh")
    assert check_dataset(out).ok and align_dataset(out, REFERENCE, tables=[LOGMEL]).up_to_date


def test_tables_an_earlier_release_made_are_named_with_force_in_the_hint(updated):
    """Computing the missing shards of a table other library versions made is refused (the version rule):
    the commands completing the tables say --force, naming the versions."""
    out, _ = updated
    manifest = open_dataset(out).manifest
    for name in (REFERENCE, *OUTPUTS):
        manifest.tables[name].versions = {**manifest.tables[name].versions, "mmdata": "0.5.4"}
    write_manifest(out, manifest)
    hints = {table["name"]: table["incomplete"]["hint"] for table in describe_dataset(out)["tables"]
             if table.get("incomplete")}
    assert all(" with --force (" in hints[name] and f"table '{REFERENCE}' was made with mmdata 0.5.4 (this "
               "install: " in hints[name] for name in (REFERENCE, *OUTPUTS)), hints
    assert all(f"table '{name}' was made with mmdata 0.5.4" in hints[name] for name in OUTPUTS)
    assert "--force" not in hints[LOGMEL]  # made with this install's versions: its missing shards are computed
