"""Fault injection for `mmdata check`: clean, realistic datasets give no issue at all; one fault at a
time, put at the first row, the last row, a shard boundary or the middle of a middle shard, of a
Parquet or an Arrow IPC table, single- or multi-shard, is reported with exactly the expected code,
table and first offending sample, and makes `mmdata check` exit non-zero.

The faults are written into the files of a finished dataset, as a hand edit, a copy gone wrong or a
tool other than mmdata would leave them: shards are read, edited and written back with their
schema metadata, and the manifest is edited in place.
"""
from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from mmdata.checks import CheckOptions, check_dataset
from mmdata.cli import app
from mmdata.records import Sample
from mmdata.store import layout
from mmdata.store.manifest import read_manifest, write_manifest
from mmdata.store.metadata import METADATA_KEY, decode_metadata
from mmdata.store.shards import read_shard
from mmdata.store.writer import write_table_atomic
from tests.checks.builder import (
    aligned_table, build_dataset, frames_table, image_text_samples, mosi_samples, pooled_table, with_value,
)

MOSI = {"corpus_kind": "mosi-raw", "corpus_options": {"dataset": "cmu-mosi"}}
#: Shard sizes: several shards whose last is shorter, or everything in one shard.
MULTI, SINGLE = 5, 1000
COCO_SAMPLES = image_text_samples(23)
#: 15 segments of 2 s in recordings of 8 s, labelled inside CMU-MOSI's [-3, 3].
MOSI_SAMPLES = [replace(s, label=round(-3.0 + 0.4 * k, 1)) for k, s in enumerate(mosi_samples(videos=5, segments=3))]


def shard_boundary(rows: int, size: int, rng: random.Random) -> int:
    """The last row of a shard or the first of the next, at a boundary drawn at random."""
    boundary = size * rng.randrange(1, (rows - 1) // size + 1)
    return boundary - rng.randint(0, 1)


def inside_a_middle_shard(rows: int, size: int, rng: random.Random) -> int:
    """A row neither first nor last of the middle shard."""
    shard = ((rows - 1) // size) // 2
    return min(size * shard + rng.randrange(1, size - 1), rows - 2)


#: Where a fault goes, as a row of the table: (rows, rows per shard, random source) -> row. The last
#: two need several shards.
POSITIONS: dict[str, Callable[[int, int, random.Random], int]] = {
    "first-row": lambda rows, size, rng: 0,
    "last-row": lambda rows, size, rng: rows - 1,
    "shard-boundary": shard_boundary,
    "middle-shard": inside_a_middle_shard,
}


# ---- clean datasets ------------------------------------------------------------------------------

def coco_dataset(root: Path, table_format: str, shard_size: int) -> Path:
    """A COCO-like pooled dataset: 23 captioned images over 3 splits, an image and a text table."""
    tables = [replace(pooled_table("image.a", COCO_SAMPLES, 4), table_format=table_format),
              replace(pooled_table("text.b", COCO_SAMPLES, 3, seed=1), table_format=table_format)]
    return build_dataset(root, COCO_SAMPLES, tables, shard_size=shard_size)


def mosi_dataset(root: Path, table_format: str, shard_size: int) -> Path:
    """A MOSI-like temporal dataset: audio frames at 10 Hz, video frames at 5 Hz, 4 words per segment,
    and the audio and the words aligned to the words (`mmdata align -r text.w` in one run)."""
    aligned = {"reference": "text.w", "collapse": "mean"}
    tables = [frames_table("audio.f", MOSI_SAMPLES, 3, 10.0), frames_table("video.g", MOSI_SAMPLES, 2, 5.0, seed=2),
              aligned_table("text.w", MOSI_SAMPLES, 3, 4)]
    tables += [replace(aligned_table(name, MOSI_SAMPLES, dim, 4), config=aligned, metadata={"extractor": "align"})
               for name, dim in (("text.w@text.w", 3), ("audio.f@text.w", 3))]
    tables = [replace(t, table_format=table_format) for t in tables]
    build_dataset(root, MOSI_SAMPLES, tables, shard_size=shard_size, **MOSI)

    def made_by_align(manifest):
        for name in ("text.w@text.w", "audio.f@text.w"):
            manifest.tables[name].extractor = "align"
    edit_manifest(root, made_by_align)
    return root


BUILDERS = {"coco": coco_dataset, "mosi": mosi_dataset}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Callable[[str, str, int], Path]:
    """Clean datasets, built once per (kind, format, shard size); each test edits a copy."""
    built: dict[tuple[str, str, int], Path] = {}

    def get(kind: str, table_format: str, shard_size: int) -> Path:
        key = (kind, table_format, shard_size)
        if key not in built:
            built[key] = BUILDERS[kind](tmp_path_factory.mktemp(f"{kind}-{table_format}-{shard_size}") / "ds",
                                        table_format, shard_size)
        return built[key]
    return get


def copy_of(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / "ds"))


# ---- editing a finished dataset ------------------------------------------------------------------

def sample_ids(root: Path) -> list[str]:
    return pa.concat_tables(read_shard(f, ["sample_id"]) for f in layout.shard_files(layout.samples_dir(root))) \
        .column("sample_id").to_pylist()


def locate(files: list[Path], row: int) -> tuple[Path, int]:
    """The shard holding table row `row`, and the row's index inside it."""
    for path in files:
        rows = read_shard(path, ["sample_id"]).num_rows
        if row < rows:
            return path, row
        row -= rows
    raise IndexError(row)


def rewrite(path: Path, edit: Callable[[pa.Table], pa.Table]) -> None:
    """Replace a shard by `edit(shard)`, keeping the shard's schema metadata (its provenance)."""
    table = read_shard(path)
    edited = edit(table)
    write_table_atomic(edited.replace_schema_metadata(table.schema.metadata), path)


def edit_rows(root: Path, table: str | None, row: int, edit: Callable[[list[dict], int], None]) -> None:
    """Edit the Python rows of the shard holding `row` of a feature table (None: the samples table):
    `edit(rows, index of row among them)` changes them in place."""
    folder = layout.samples_dir(root) if table is None else layout.feature_dir(root, table)
    path, inner = locate(layout.shard_files(folder), row)

    def apply(shard: pa.Table) -> pa.Table:
        rows = shard.to_pylist()
        edit(rows, inner)
        return pa.Table.from_pylist(rows, schema=shard.schema)
    rewrite(path, apply)


def set_column_value(root: Path, table: str | None, row: int, column: str, value) -> None:
    def edit(rows, inner):
        rows[inner][column] = value
    edit_rows(root, table, row, edit)


def edit_manifest(root: Path, edit: Callable) -> None:
    manifest = read_manifest(root)
    edit(manifest)
    write_manifest(root, manifest)


def shard_metadata_edit(root: Path, table: str, row: int, change: Callable[[dict], None]) -> str:
    """Change the mmdata metadata of the shard holding `row`; returns that shard's first sample id."""
    path, _ = locate(layout.shard_files(layout.feature_dir(root, table)), row)
    return edit_metadata(path, change)


def edit_metadata(path: Path, change: Callable[[dict], None]) -> str:
    """Change a shard's mmdata metadata (decoded JSON) in place; returns the shard's first sample id."""
    shard = read_shard(path)
    metadata = decode_metadata(shard.schema)
    change(metadata)
    write_table_atomic(shard.replace_schema_metadata({METADATA_KEY: json.dumps(metadata).encode()}), path)
    return shard.column("sample_id")[0].as_py()


# ---- the faults -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expected:
    code: str
    table: str | None
    sample_id: str | None
    also: frozenset[str] = frozenset()  # other error codes the same fault legitimately causes


@dataclass(frozen=True)
class Fault:
    kind: str  # the clean dataset it applies to: "coco" or "mosi"
    inject: Callable[[Path, int, list[str]], Expected]  # (dataset, row, sample ids) -> what check must say
    row_level: bool = True  # False: the fault has no position (a manifest or table-wide edit)
    multi_shard: bool = False  # the fault needs several shards


def drop_row(table):
    def inject(root, row, ids):
        edit_rows(root, table, row, lambda rows, i: rows.pop(i))
        return Expected("ids-missing", table, ids[row], frozenset({"manifest-counts"}))
    return inject


def swap_ids(table):
    def inject(root, row, ids):
        other = row + 1 if row + 1 < len(ids) else row - 1
        set_column_value(root, table, row, "sample_id", ids[other])
        set_column_value(root, table, other, "sample_id", ids[row])
        return Expected("ids-order", table, ids[max(row, other)])  # the first row out of place holds it
    return inject


def duplicate_id(table):
    def inject(root, row, ids):
        other = row - 1 if row > 0 else row + 1
        set_column_value(root, table, row, "sample_id", ids[other])
        return Expected("ids-duplicate", table, ids[other], frozenset({"ids-missing"}))
    return inject


def duplicate_row(table):
    def inject(root, row, ids):
        edit_rows(root, table, row, lambda rows, i: rows.insert(i, dict(rows[i])))
        return Expected("ids-duplicate", table, ids[row], frozenset({"manifest-counts"}))
    return inject


def change_id(table):
    def inject(root, row, ids):
        set_column_value(root, table, row, "sample_id", "zzz-not-a-sample")
        return Expected("ids-extra", table, "zzz-not-a-sample", frozenset({"ids-missing"}))
    return inject


def bad_value(table, value):
    def inject(root, row, ids):
        def edit(rows, i):
            feature = rows[i]["feature"]
            if isinstance(feature[0], list):  # a sequence: one value of its middle frame
                feature[len(feature) // 2][1] = value
            else:
                feature[-1] = value
        edit_rows(root, table, row, edit)
        return Expected("non-finite", table, ids[row])
    return inject


def null_without_error(table):
    def inject(root, row, ids):
        set_column_value(root, table, row, "feature", None)
        return Expected("feature-null", table, ids[row])
    return inject


def other_dim_shard(table):
    def inject(root, row, ids):
        path, _ = locate(layout.shard_files(layout.feature_dir(root, table)), row)

        def widen(shard):
            feature = shard.column("feature").to_pylist()
            dim = len(feature[0])
            wider = pa.array([v + [0.0] for v in feature], pa.list_(pa.float32(), dim + 1))
            return shard.set_column(shard.schema.get_field_index("feature"), "feature", wider)
        rewrite(path, widen)
        return Expected("dim-mismatch", table, read_shard(path, ["sample_id"]).column(0)[0].as_py())
    return inject


def other_config_shard(table):
    def inject(root, row, ids):
        first = shard_metadata_edit(root, table, row, lambda meta: meta["config"].update(size=99))
        return Expected("provenance-mismatch", table, first)
    return inject


def other_frame_rate_shard(table):
    def inject(root, row, ids):
        first = shard_metadata_edit(root, table, row, lambda meta: meta["spec"].update(frame_rate=25.0))
        return Expected("provenance-mismatch", table, first)
    return inject


def edit_intervals(table, change: Callable[[list[list[float]], float], None]):
    """A fault in the intervals of one sample; `change(intervals, media duration)` edits them in place."""
    def inject(root, row, ids):
        duration = MOSI_SAMPLES[0].extra["duration"]
        edit_rows(root, table, row, lambda rows, i: change(rows[i]["intervals"], duration))
        return Expected(CODE_OF[change], table, ids[row])
    return inject


def end_before_start(intervals, duration):
    k = len(intervals) // 2
    intervals[k][1] = intervals[k][0] - 0.05


def negative_start(intervals, duration):
    intervals[0][0] = -0.25


def past_media_end(intervals, duration):
    intervals[-1][1] = duration + 0.3


def unsorted(intervals, duration):
    intervals[1], intervals[2] = intervals[2], intervals[1]


def before_the_segment(intervals, duration):
    """The first row's interval moved before the segment's start (the earliest segment starts at 0.5 s)."""
    intervals[0] = [0.0, 0.4 - 0.1]


CODE_OF = {end_before_start: "intervals-negative", negative_start: "intervals-negative",
           past_media_end: "intervals-outside", unsorted: "intervals-unsorted", before_the_segment: "intervals-outside"}


def half_the_frames(table):
    def inject(root, row, ids):
        def edit(rows, i):
            keep = len(rows[i]["feature"]) // 2
            rows[i]["feature"], rows[i]["intervals"] = rows[i]["feature"][:keep], rows[i]["intervals"][:keep]
        edit_rows(root, table, row, edit)
        return Expected("frame-count", table, ids[row])
    return inject


def frame_rate_lie(table):
    def inject(root, row, ids):
        def declare_25_hz(manifest):
            manifest.tables[table].spec = {**manifest.tables[table].spec, "frame_rate": 25.0}
        edit_manifest(root, declare_25_hz)
        for path in layout.shard_files(layout.feature_dir(root, table)):  # every shard tells the same lie
            edit_metadata(path, lambda meta: meta["spec"].update(frame_rate=25.0))
        return Expected("frame-count", table, ids[0])
    return inject


def label_out_of_range(root, row, ids):
    set_column_value(root, None, row, "label", 3.25)
    return Expected("label-range", None, ids[row])


def caption_emptied(root, row, ids):
    set_column_value(root, None, row, "captions", [" "])
    return Expected("captions-missing", None, ids[row])


def transcript_emptied(root, row, ids):
    set_column_value(root, None, row, "transcript", "")
    return Expected("transcript-missing", None, ids[row])


def moved_to_another_split(root, row, ids):
    def edit(rows, i):
        rows[i]["split"] = "test" if rows[i]["split"] != "test" else "train"
    edit_rows(root, None, row, edit)
    return Expected("split-leak", None, ids[row], frozenset({"manifest-counts"}))


def samples_count_edited(root, row, ids):
    edit_manifest(root, lambda m: m.samples.update(rows=m.samples["rows"] + 1))
    return Expected("manifest-counts", None, None)


def table_count_edited(table):
    def inject(root, row, ids):
        edit_manifest(root, lambda m: setattr(m.tables[table], "rows", m.tables[table].rows - 1))
        return Expected("manifest-counts", table, None)
    return inject


def fewer_intervals_than_frames(table):
    def inject(root, row, ids):
        edit_rows(root, table, row, lambda rows, i: rows[i]["intervals"].pop())
        return Expected("intervals-length", table, ids[row])
    return inject


def row_moved_to_another_shard(table):
    """The last row of a shard moved to the start of the next one (in the last shard: its first row
    moved to the end of the one before): ids in order, shards cut elsewhere."""
    def inject(root, row, ids):
        files = layout.shard_files(layout.feature_dir(root, table))
        path, inner = locate(files, row)
        rows = read_shard(path).num_rows
        if path != files[-1]:
            moved = read_shard(path).slice(rows - 1)
            rewrite(path, lambda t: t.slice(0, rows - 1))
            rewrite(files[files.index(path) + 1], lambda t: pa.concat_tables([moved.cast(t.schema), t]))
            return Expected("shard-rows", table, ids[row - inner + rows - 1])
        moved = read_shard(path).slice(0, 1)
        rewrite(path, lambda t: t.slice(1))
        rewrite(files[-2], lambda t: pa.concat_tables([t, moved.cast(t.schema)]))
        return Expected("shard-rows", table, ids[row - inner])
    return inject


def shard_deleted(table):
    def inject(root, row, ids):
        path, inner = locate(layout.shard_files(layout.feature_dir(root, table)), row)
        path.unlink()
        return Expected("ids-missing", table, ids[row - inner], frozenset({"manifest-counts"}))
    return inject


def from_another_dataset(table):
    def inject(root, row, ids):
        first = shard_metadata_edit(root, table, row, lambda meta: meta.update(samples_fingerprint="0123456789abcdef"))
        return Expected("fingerprint-mismatch", table, first)
    return inject


def out_of_step(table):
    """One step of one sample of a table aligned to a reference ends a little earlier than the reference's."""
    def inject(root, row, ids):
        def edit(rows, i):
            rows[i]["intervals"][1][1] -= 0.01
        edit_rows(root, table, row, edit)
        return Expected("aligned-out-of-step", table, ids[row])
    return inject


def empty_shard_appended(table):
    """An empty shard after the last one (a copy of another dataset's files, a tool that writes one)."""
    def inject(root, row, ids):
        files = layout.shard_files(layout.feature_dir(root, table))
        last = read_shard(files[-1])
        write_table_atomic(last.slice(0, 0), files[-1].with_name(layout.shard_name(len(files), layout.shard_format(files[-1]))))
        return Expected("shard-rows", table, None)
    return inject


def loader_errors_edited(root, row, ids):
    edit_manifest(root, lambda m: m.samples.update(loader_errors=2))
    return Expected("manifest-counts", None, None)


FAULTS: dict[str, Fault] = {
    "drop-row": Fault("coco", drop_row("image.a")),
    "swap-ids": Fault("coco", swap_ids("image.a")),
    "duplicate-id": Fault("coco", duplicate_id("text.b")),
    "duplicate-row": Fault("coco", duplicate_row("image.a")),
    "change-id": Fault("coco", change_id("image.a")),
    "nan": Fault("coco", bad_value("image.a", float("nan"))),
    "inf": Fault("coco", bad_value("text.b", float("-inf"))),
    "null-without-error": Fault("coco", null_without_error("image.a")),
    "other-dim-shard": Fault("coco", other_dim_shard("image.a")),
    "other-config-shard": Fault("coco", other_config_shard("text.b")),
    "label-out-of-range": Fault("mosi", label_out_of_range),
    "caption-emptied": Fault("coco", caption_emptied),
    "transcript-emptied": Fault("mosi", transcript_emptied),
    "moved-to-another-split": Fault("mosi", moved_to_another_split),
    "sequence-drop-row": Fault("mosi", drop_row("audio.f")),
    "sequence-nan": Fault("mosi", bad_value("video.g", float("nan"))),
    "sequence-inf": Fault("mosi", bad_value("audio.f", float("inf"))),
    "interval-end-before-start": Fault("mosi", edit_intervals("audio.f", end_before_start)),
    "interval-negative-start": Fault("mosi", edit_intervals("video.g", negative_start)),
    "interval-past-media-end": Fault("mosi", edit_intervals("audio.f", past_media_end)),
    "intervals-unsorted": Fault("mosi", edit_intervals("text.w", unsorted)),
    "frames-missing": Fault("mosi", half_the_frames("audio.f")),
    "frame-rate-of-one-shard": Fault("mosi", other_frame_rate_shard("video.g")),
    "frame-rate-lie": Fault("mosi", frame_rate_lie("audio.f"), row_level=False),
    "fewer-intervals-than-frames": Fault("mosi", fewer_intervals_than_frames("video.g")),
    "interval-before-segment": Fault("mosi", edit_intervals("audio.f", before_the_segment)),
    "row-moved-to-another-shard": Fault("coco", row_moved_to_another_shard("image.a"), multi_shard=True),
    "sequence-row-moved-to-another-shard": Fault("mosi", row_moved_to_another_shard("video.g"),
                                                multi_shard=True),
    "shard-deleted": Fault("coco", shard_deleted("text.b"), multi_shard=True),
    "from-another-dataset": Fault("mosi", from_another_dataset("audio.f")),
    "aligned-out-of-step": Fault("mosi", out_of_step("audio.f@text.w")),
    "loader-errors-edited": Fault("coco", loader_errors_edited, row_level=False),
    "empty-shard-appended": Fault("mosi", empty_shard_appended("audio.f"), row_level=False),
    "samples-count-edited": Fault("coco", samples_count_edited, row_level=False),
    "table-count-edited": Fault("mosi", table_count_edited("video.g"), row_level=False),
}


def cases():
    """Every fault at every position, with a format and shard layout drawn from a seeded random source."""
    for name, fault in FAULTS.items():
        for position in POSITIONS if fault.row_level else ["first-row"]:
            rng = random.Random(f"{name}/{position}")
            table_format = rng.choice(["parquet", "arrow"])
            multi = fault.multi_shard or position in ("shard-boundary", "middle-shard") or rng.random() < 0.5
            yield pytest.param(name, position, table_format, MULTI if multi else SINGLE,
                               id=f"{name}-{position}-{table_format}-{'multi' if multi else 'single'}")


def inject(clean, tmp_path, name: str, position: str, table_format: str, shard_size: int) -> tuple[Path, Expected]:
    fault = FAULTS[name]
    root = copy_of(clean(fault.kind, table_format, shard_size), tmp_path)
    ids = sample_ids(root)
    row = POSITIONS[position](len(ids), shard_size, random.Random(f"{name}/{position}/row"))
    return root, fault.inject(root, row, ids)


@pytest.mark.parametrize(("name", "position", "table_format", "shard_size"), list(cases()))
def test_one_injected_fault_is_reported_with_its_code_table_and_first_sample(clean, tmp_path, name, position,
                                                                             table_format, shard_size):
    root, expected = inject(clean, tmp_path, name, position, table_format, shard_size)
    report = check_dataset(root)
    errors = {i.code for i in report.errors}
    assert expected.code in errors, [i.one_line() for i in report.issues]
    assert errors <= {expected.code} | expected.also, [i.one_line() for i in report.errors]
    issue = next(i for i in report.errors if i.code == expected.code and i.table == expected.table)
    assert issue.sample_id == expected.sample_id, issue.one_line()
    assert {i.table for i in report.errors if i.code == expected.code} == {expected.table}


@pytest.mark.parametrize(("kind", "table_format", "shard_size"), [
    ("coco", "parquet", MULTI), ("coco", "arrow", SINGLE), ("mosi", "arrow", MULTI), ("mosi", "parquet", SINGLE)])
def test_clean_datasets_give_no_issue_but_the_split_counts(clean, kind, table_format, shard_size):
    report = check_dataset(clean(kind, table_format, shard_size))
    assert [i.code for i in report.issues] == ["split-counts"], [i.one_line() for i in report.issues]


def test_the_cli_exits_1_on_an_injected_fault_and_0_on_the_clean_dataset(clean, tmp_path):
    runner = CliRunner()
    source = clean("mosi", "arrow", MULTI)
    assert runner.invoke(app, ["check", str(source)]).exit_code == 0
    root, expected = inject(clean, tmp_path, "interval-past-media-end", "shard-boundary", "arrow", MULTI)
    result = runner.invoke(app, ["check", str(root), "--json", "-"])
    assert result.exit_code == 1
    issues = json.loads(result.stdout)["issues"]
    found = [i for i in issues if i["code"] == expected.code]
    assert [(i["table"], i["sample_id"]) for i in found] == [(expected.table, expected.sample_id)]


# ---- edge cases of clean data ---------------------------------------------------------------------

def _mosi_with(tmp_path, samples, tables=None, **options):
    tables = tables or [frames_table("audio.f", samples, 3, 10.0)]
    return check_dataset(build_dataset(tmp_path / "ds", samples, tables, shard_size=4, **MOSI),
                         CheckOptions(**options) if options else None)


def test_a_zero_length_segment_with_no_frames_is_clean(tmp_path):
    samples = [replace(s, end=s.start) if s.sample_id == "vid1[1]" else s for s in MOSI_SAMPLES]
    tables = [frames_table("audio.f", samples, 3, 10.0), aligned_table("text.w", samples, 3, 4)]
    report = _mosi_with(tmp_path, samples, tables)
    assert [i.code for i in report.issues] == ["split-counts"], [i.one_line() for i in report.issues]


def test_a_failed_sequence_sample_is_only_a_failed_feature_warning(tmp_path):
    audio = frames_table("audio.f", MOSI_SAMPLES, 3, 10.0)
    failed = with_value(audio, 4, None)
    failed = replace(failed, intervals=[None if k == 4 else v for k, v in enumerate(failed.intervals)])
    report = _mosi_with(tmp_path, MOSI_SAMPLES, [failed])
    assert report.ok
    assert sorted(i.code for i in report.issues) == ["feature-failed", "split-counts"]
    assert next(i for i in report.issues if i.code == "feature-failed").sample_id == MOSI_SAMPLES[4].sample_id


def _stretched_last_interval(end):
    audio = frames_table("audio.f", MOSI_SAMPLES, 3, 10.0)
    index = 2  # vid0[2]: [5.5, 7.5] in a recording of 8 s
    intervals = np.array(audio.intervals[index], copy=True)
    intervals[-1, 1] = end
    return with_value(audio, index, audio.values[index], intervals)


def test_an_interval_ending_exactly_at_the_tolerance_past_the_media_is_clean(tmp_path):
    report = _mosi_with(tmp_path, MOSI_SAMPLES, [_stretched_last_interval(8.0 + 0.05)])
    assert [i.code for i in report.issues] == ["split-counts"], [i.one_line() for i in report.issues]
    beyond = _mosi_with(tmp_path / "beyond", MOSI_SAMPLES, [_stretched_last_interval(8.0 + 0.0501)])
    assert [(i.code, i.sample_id) for i in beyond.errors] == [("intervals-outside", "vid0[2]")]


def test_frame_counts_exactly_at_the_tolerance_are_clean_and_one_frame_beyond_is_not(tmp_path):
    # 2 s at 100 Hz, 10% tolerance: 180 and 220 frames pass, 179 and 221 do not.
    samples = MOSI_SAMPLES[:3]
    audio = frames_table("audio.f", samples, 1, 100.0)

    def frames(count):
        start = samples[0].start
        starts = start + np.arange(count) * (2.0 / count)
        return with_value(audio, 0, np.zeros((count, 1), np.float32),
                          np.stack([starts, np.minimum(starts + 0.01, start + 2.0)], axis=1))
    for count, ok in [(180, True), (220, True), (179, False), (221, False)]:
        report = _mosi_with(tmp_path / str(count), samples, [frames(count)])
        assert [(i.code, i.sample_id) for i in report.errors] == ([] if ok else [("frame-count", "vid0[0]")]), count


def test_labels_at_the_ends_of_the_range_are_clean(tmp_path):
    labels = {"vid0[0]": -3.0, "vid4[2]": 3.0}
    samples = [replace(s, label=labels.get(s.sample_id, 0.0)) for s in MOSI_SAMPLES]
    report = _mosi_with(tmp_path, samples)
    assert [i.code for i in report.issues] == ["split-counts"], [i.one_line() for i in report.issues]


def test_segment_times_that_are_not_exact_in_binary_are_clean(tmp_path):
    samples: list[Sample] = [
        replace(s, start=round(0.1 + 0.7 * k, 3), end=round(0.1 + 0.7 * k + 0.3 + 0.1 * (k % 3), 3),
                extra={"duration": 12.3})
        for k, s in enumerate(MOSI_SAMPLES)]
    tables = [frames_table("audio.f", samples, 3, 100.0), frames_table("video.g", samples, 2, 29.97),
              aligned_table("text.w", samples, 3, 3)]
    report = _mosi_with(tmp_path, samples, tables)
    assert [i.code for i in report.issues] == ["split-counts"], [i.one_line() for i in report.issues]


def test_a_half_covered_segment_is_exactly_at_the_default_coverage_threshold_and_clean(tmp_path):
    words = aligned_table("text.w", MOSI_SAMPLES, 3, 4)
    index = 7
    half = with_value(words, index, words.values[index][:2], words.intervals[index][:2])  # 2 of 4 steps: 50%
    report = _mosi_with(tmp_path, MOSI_SAMPLES, [half])
    assert [i.code for i in report.issues] == ["split-counts"], [i.one_line() for i in report.issues]
    assert report.tables["text.w"]["coverage_min"] == pytest.approx(0.5)


# ---- what the faults above showed ----------------------------------------------------------------

def test_the_segment_moved_out_of_its_videos_fold_is_named_even_when_it_comes_first(tmp_path):
    moved = {"vid1[0]": "test", "vid3[1]": "train"}  # first of vid1's three segments, middle one of vid3's
    samples = [replace(s, split=moved.get(s.sample_id, s.split)) for s in MOSI_SAMPLES]
    [issue] = [i for i in _mosi_with(tmp_path, samples).errors if i.code == "split-leak"]
    assert (issue.sample_id, issue.examples, issue.count) == ("vid1[0]", ("vid1[0]", "vid3[1]"), 2)
    assert "group_id 'vid1' in splits ['test', 'train'] (sample 'vid1[0]')" in issue.message


def test_a_shard_of_another_type_does_not_make_the_manifest_row_count_look_wrong(clean, tmp_path):
    root = copy_of(clean("coco", "arrow", MULTI), tmp_path)
    other_dim_shard("image.a")(root, 7, sample_ids(root))
    report = check_dataset(root)
    assert [(i.code, i.sample_id) for i in report.errors] == [("dim-mismatch", "000000000005")]


def test_an_edited_loader_error_count_is_a_manifest_count_error(clean, tmp_path):
    root = copy_of(clean("coco", "parquet", MULTI), tmp_path)
    loader_errors_edited(root, 0, [])
    [issue] = check_dataset(root).errors
    assert (issue.code, issue.table) == ("manifest-counts", None)
    assert "the manifest counts 2 loader errors, the loader's errors table holds 0" in issue.message


def test_an_empty_shard_past_the_last_is_named_as_such_not_as_a_row_in_the_wrong_shard(clean, tmp_path):
    root = copy_of(clean("coco", "parquet", MULTI), tmp_path)
    empty_shard_appended("image.a")(root, 0, [])
    [issue] = check_dataset(root).errors
    assert (issue.code, issue.table, issue.sample_id) == ("shard-rows", "image.a", None)
    assert issue.message.startswith("the table has 6 shards, the samples table 5; the first 5 hold the same rows")
