"""What the readers of a dataset (`Dataset.table_files` and what reads through it, the training readers,
`mmdata fuse`, segment cutting) say of a table an `extract --update` left without the samples it added:
that, and the `mmdata extract` command that computes them, as `info` and `check` do; of an update that is
unfinished: the same `extract --update` command finishes it; of a table an interrupted extract left: what
they always said."""
from __future__ import annotations

import json
import logging

import pytest

from mmdata.alignment import segment_dataset
from mmdata.errors import DatasetError
from mmdata.formats.csd_export import export_csd
from mmdata.fusion import fuse
from mmdata.models.data import read_pooled
from mmdata.pipeline import extract
from mmdata.samples_update import UPDATE_KEY
from mmdata.store import layout, open_dataset
from mmdata.store.manifest import read_manifest, write_manifest
from tests.checks.test_tables_left_incomplete_by_update import grown_dataset, run, run_printed, the_command
from tests.fakes.av import write_tone_wav

LEFT = "text.hashed-bow"


def update_naming_one_table(tmp_path, shard_size=2):
    """(corpus, dataset, the reason every reader gives) after an update of nine samples, five before it,
    naming only `image.color-hist`: `text.hashed-bow` keeps its two full shards (4 rows) of before it, so
    it lacks the rows of the 4 samples added and of the fifth, whose partial shard the update rewrote."""
    corpus, out = grown_dataset(tmp_path, shard_size=shard_size)
    run(corpus, out, extractors=["color-hist:bins=4"], shard_size=shard_size, update=True)
    rows = 4 if shard_size == 2 else 0
    reason = (f"table {LEFT!r} holds rows for {rows} of the 9 samples: the samples table grew from 5 to 9 samples "
              f"(`mmdata extract --update`) and the table lacks the rows of {9 - rows} of them; run `mmdata extract "
              f"manifest {corpus} {out} --text hashed-bow` to compute them")
    return corpus, out, reason


def interrupted_extract(tmp_path):
    """A dataset no update grew whose `text.hashed-bow` lost its last shard and is marked incomplete, as an
    extract killed before it wrote that shard leaves it."""
    corpus, out = grown_dataset(tmp_path)  # the corpus's growth is not in the dataset: no update ran
    manifest = read_manifest(out)
    manifest.tables[LEFT].complete = False
    write_manifest(out, manifest)
    (layout.feature_dir(out, LEFT) / "part-00002.parquet").unlink()
    return out


def test_reading_the_table_warns_of_the_added_samples_and_names_the_command(tmp_path, caplog):
    corpus, out, reason = update_naming_one_table(tmp_path)
    with caplog.at_level(logging.WARNING, logger="mmdata.store.reader"):
        table = open_dataset(out).read_table(LEFT)
    assert table.num_rows == 4
    warning, = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning == f"{reason}; reading the 2 of its 5 shards that are finished, without the rows of the other samples"
    assert "interrupted" not in warning
    finished = run_printed(the_command(reason))  # the command it names completes it
    assert finished.exit_code == 0, finished.output
    assert open_dataset(out).read_table(LEFT).num_rows == 9


def test_a_table_the_update_left_without_shards_is_refused_with_the_same_words(tmp_path):
    _, out, reason = update_naming_one_table(tmp_path, shard_size=1000)  # one partial shard: the update drops it
    with pytest.raises(DatasetError) as refused:
        open_dataset(out).table_files(LEFT)
    assert str(refused.value) == reason


def test_training_and_fuse_refuse_the_table_naming_the_command(tmp_path):
    _, out, reason = update_naming_one_table(tmp_path)
    with pytest.raises(DatasetError) as training:
        read_pooled(open_dataset(out), LEFT)
    assert str(training.value) == f"{reason}; training reads complete tables only"
    with pytest.raises(DatasetError) as fusing:
        fuse(out, tmp_path / "fused", missing="zero")
    assert str(fusing.value) == f"{reason} [table-incomplete]"
    assert not (tmp_path / "fused").exists()


def videos_an_update_grew(tmp_path):
    """(corpus, dataset) of three audio recordings in shards of two, both tables extracted, then a fourth
    added by an update naming only `librosa-mfcc`: `audio.librosa-logmel` keeps v1 and v2 (v3's partial
    shard went with the samples shard the update rewrote)."""
    corpus, out = tmp_path / "videos", tmp_path / "ds"

    def write_videos(ids):
        for i, video in enumerate(ids):
            write_tone_wav(corpus / f"{video}.wav", freq=200.0 + 50 * i, duration=1.0)
        (corpus / "manifest.jsonl").write_text("".join(
            json.dumps({"id": video, "audio": f"{video}.wav", "group_id": video, "split": "train"}) + "\n"
            for video in ids))

    write_videos(["v1", "v2", "v3"])
    extract("manifest", corpus, out, extractors=["librosa-logmel", "librosa-mfcc"], num_workers=0, shard_size=2)
    write_videos(["v1", "v2", "v3", "v4"])
    extract("manifest", corpus, out, extractors=["librosa-mfcc"], num_workers=0, update=True)
    return corpus, out


def logmel_reason(corpus, out):
    """What every reader says of `audio.librosa-logmel` in `videos_an_update_grew`."""
    return ("table 'audio.librosa-logmel' holds rows for 2 of the 4 samples: the samples table grew from 3 to 4 "
            "samples (`mmdata extract --update`) and the table lacks the rows of 2 of them; run `mmdata extract "
            f"manifest {corpus} {out} --audio librosa-logmel` to compute them")


def test_segment_cutting_refuses_a_table_the_update_left(tmp_path):
    corpus, out = videos_an_update_grew(tmp_path)
    with pytest.raises(DatasetError) as refused:
        segment_dataset(out, tmp_path / "segments", tmp_path / "labels.csd", tables=["audio.librosa-logmel"])
    assert str(refused.value) == (f"table 'audio.librosa-logmel' of {out} cannot be cut into segments: "
                                  f"{logmel_reason(corpus, out)}")


def test_csd_export_refuses_a_table_the_update_left_naming_the_command(tmp_path):
    corpus, out = videos_an_update_grew(tmp_path)
    with pytest.raises(DatasetError) as refused:
        export_csd(out, tmp_path / "csd", tables=["audio.librosa-logmel"])
    assert str(refused.value) == (f"{logmel_reason(corpus, out)}; its .csd would lack the videos it has no rows for: "
                                  "complete the table first, or leave it out (--tables)")
    assert "interrupted" not in str(refused.value) and not (tmp_path / "csd").exists()
    assert run_printed(the_command(str(refused.value))).exit_code == 0  # the command it names completes the table
    assert len(export_csd(out, tmp_path / "csd", tables=["audio.librosa-logmel"])) == 1  # its .csd, now whole


def test_an_unfinished_update_is_named_with_the_command_that_finishes_it(tmp_path, caplog):
    corpus, out = grown_dataset(tmp_path)
    manifest = read_manifest(out)  # what an update killed after its first step leaves
    manifest.extra[UPDATE_KEY] = {"rows_before": 5}
    for entry in manifest.tables.values():
        entry.complete = False
    write_manifest(out, manifest)
    finish = (f"`mmdata extract manifest {corpus} {out} --image color-hist:bins=4 --text hashed-bow --update`); a "
              "run without --update is refused until then")
    reason = (f"table {LEFT!r} is incomplete: the `mmdata extract --update` adding samples to the 5 there were is "
              "running now or was interrupted before it computed this table's rows for them; run the same `mmdata "
              f"extract ... --update` command again to finish it (naming every table's extractor: {finish}")
    with pytest.raises(DatasetError) as training:
        read_pooled(open_dataset(out), LEFT)
    assert str(training.value) == f"{reason}; training reads complete tables only"
    with caplog.at_level(logging.WARNING, logger="mmdata.store.reader"):
        open_dataset(out).read_table(LEFT)
    assert caplog.records[-1].getMessage().startswith(f"{reason}; reading the 3 of its 3 shards that are finished")


def test_a_table_an_interrupted_extract_left_keeps_the_old_words(tmp_path, caplog):
    out = interrupted_extract(tmp_path)
    with caplog.at_level(logging.WARNING, logger="mmdata.store.reader"):
        open_dataset(out).read_table(LEFT)
    warning = caplog.records[-1].getMessage()
    assert warning.startswith(f"table {LEFT!r} is incomplete: mmdata.json marks it so (the `mmdata extract` or "
                              "`mmdata align` that writes it is running now or was interrupted)")
    assert "--update" not in warning
    with pytest.raises(DatasetError, match=r"is incomplete \(an extraction is running or was interrupted\); finish "
                                           r"it with `mmdata extract` \(it resumes\) before training"):
        read_pooled(open_dataset(out), LEFT)
    with pytest.raises(DatasetError, match=r"an interrupted extraction; re-run `mmdata extract` to finish it"):
        fuse(out, tmp_path / "fused", missing="zero")
    for shard in layout.shard_files(layout.feature_dir(out, LEFT)):
        shard.unlink()
    with pytest.raises(DatasetError, match=r"has no finished shard yet: mmdata.json marks it incomplete, so the "
                                           r"`mmdata extract` or `mmdata align` that writes it is running now"):
        open_dataset(out).table_files(LEFT)
