"""`export-csd` writes the dataset's splits beside its `.csd` files as the SDK's fold lists
(`standard_folds.json`, named in every file's metadata), and `extract csd` reads them back without
`-o folds=`; the option still overrides them, and a folder exported before (no such file) loads as it did."""
from __future__ import annotations

import json
import logging

import h5py
import pytest
from typer.testing import CliRunner

from mmdata.alignment.dataset import align_dataset
from mmdata.cli import app
from mmdata.formats.csd import CsdFile
from mmdata.formats.csd_export import export_csd
from mmdata.formats.csd_folds import FOLDS_FILE, FOLDS_KEY
from mmdata.pipeline import extract
from mmdata.store import layout, open_dataset
from mmdata.store.output_files import OutputPathError
from mmdata.store.shards import read_shard
from mmdata.store.writer import write_table_atomic
from tests.fakes.csd import FOLDS, LABELS_FILE, write_mosi_csd
from tests.mosi_csd.test_raw_clip_export import raw_with_sdk_labels

runner = CliRunner()
SAMPLE_COLUMNS = ["sample_id", "split", "group_id", "start", "end", "label", "transcript", "extra"]
STANDARD_NAMES = ["standard_train_fold", "standard_valid_fold", "standard_test_fold"]


def segments(tmp_path, folds=FOLDS):
    """`extract csd` of the fake CMU-MOSI folder with `folds` (its labelled segments), and the folds file."""
    fake = write_mosi_csd(tmp_path / "csd")
    path = fake.root / "folds.json"
    path.write_text(json.dumps(folds))
    extract("csd", fake.root, tmp_path / "segments", extractors=[], corpus_options={"folds": str(path)},
            num_workers=0)
    return tmp_path / "segments", path


def splits(dataset_dir):
    table = open_dataset(dataset_dir).samples_table(["sample_id", "split"])
    return dict(zip(table.column("sample_id").to_pylist(), table.column("split").to_pylist()))


def cli(*args):
    result = runner.invoke(app, [*map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def extract_back(csd_dir, out, *options):
    return cli("extract", "csd", csd_dir, out, *[a for o in options for a in ("-o", o)], "-j", "0", "-q")


def as_exported_before(csd_dir):
    """The folder as an export without folds files left it: no folds file, no record of one."""
    (csd_dir / FOLDS_FILE).unlink()
    for path in csd_dir.glob("*.csd"):
        with h5py.File(path, "r+") as h5:
            del h5[f"{list(h5)[0]}/metadata/{FOLDS_KEY}"]


def test_segments_come_back_in_their_splits_without_the_folds_option(tmp_path):
    out, _ = segments(tmp_path)
    output = cli("export-csd", out, tmp_path / "exported")
    assert f"wrote {tmp_path / 'exported' / FOLDS_FILE}" in output
    extract_back(tmp_path / "exported", tmp_path / "back")
    back, source = open_dataset(tmp_path / "back"), open_dataset(out)
    assert back.samples_table(SAMPLE_COLUMNS).to_pylist() == source.samples_table(SAMPLE_COLUMNS).to_pylist()
    assert set(splits(tmp_path / "back").values()) == {"train", "valid", "test"}
    assert back.manifest.extra["loader"]["folds_file"] == FOLDS_FILE
    cli("extract", "csd", tmp_path / "exported", tmp_path / "train", "-s", "train", "-j", "0", "-q")
    assert splits(tmp_path / "train") == {"abc[0]": "train", "abc[1]": "train"}


def test_whole_videos_aligned_to_words_come_back_in_their_splits(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd", labels=False)
    (fake.root / "folds.json").write_text(json.dumps(FOLDS))
    out = tmp_path / "videos"
    extract("csd", fake.root, out, extractors=[], corpus_options={"labels": "none", "folds": "folds.json"},
            num_workers=0)
    align_dataset(out, "text.words")
    export_csd(out, tmp_path / "exported")
    extract_back(tmp_path / "exported", tmp_path / "back", "labels=none")
    assert splits(tmp_path / "back") == splits(out) == {"abc": "train", "abcd": "valid", "x9Y_z-1": "test"}


def test_the_folds_option_overrides_the_exported_splits(tmp_path):
    out, _ = segments(tmp_path)
    export_csd(out, tmp_path / "exported")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"train": ["abc", "abcd"], "test": ["x9Y_z-1"]}))
    extract_back(tmp_path / "exported", tmp_path / "back", f"folds={other}")
    assert splits(tmp_path / "back") == {"abc[0]": "train", "abc[1]": "train", "abcd[0]": "train",
                                         "x9Y_z-1[0]": "test", "x9Y_z-1[1]": "test"}
    # naming the export's own file reads it as the export wrote it: the SDK's names are train/valid/test
    extract_back(tmp_path / "exported", tmp_path / "named", f"folds={FOLDS_FILE}")
    assert splits(tmp_path / "named") == splits(out)


def test_a_folder_exported_before_loads_as_it_did(tmp_path, caplog):
    out, folds = segments(tmp_path)
    export_csd(out, tmp_path / "exported")
    as_exported_before(tmp_path / "exported")
    (tmp_path / "exported" / "folds.json").write_text(json.dumps({"train": ["abc", "abcd", "x9Y_z-1"]}))
    (tmp_path / "exported" / FOLDS_FILE).write_text(json.dumps({"test": ["abc", "abcd", "x9Y_z-1"]}))
    with caplog.at_level(logging.WARNING):
        extract_back(tmp_path / "exported", tmp_path / "back")
    assert set(splits(tmp_path / "back").values()) == {"all"}  # a JSON the files do not name is no folds file
    assert "folds" not in caplog.text
    extract_back(tmp_path / "exported", tmp_path / "given", f"folds={folds}")
    assert splits(tmp_path / "given") == splits(out)


def test_a_recorded_folds_file_that_is_gone_is_named_and_the_splits_are_all(tmp_path, caplog):
    out, _ = segments(tmp_path)
    export_csd(out, tmp_path / "exported")
    (tmp_path / "exported" / FOLDS_FILE).unlink()
    with caplog.at_level(logging.WARNING):
        extract_back(tmp_path / "exported", tmp_path / "back")
    assert set(splits(tmp_path / "back").values()) == {"all"}
    assert f"records the folds file {FOLDS_FILE} that export-csd wrote beside it, but" in caplog.text


def test_the_folds_file_is_the_sdks_fold_lists_of_video_ids(tmp_path):
    out, _ = segments(tmp_path)
    written = export_csd(out, tmp_path / "exported")
    lists = json.loads(written.folds.read_text())
    assert list(lists) == STANDARD_NAMES
    assert lists == {"standard_train_fold": FOLDS["train"], "standard_valid_fold": FOLDS["valid"],
                     "standard_test_fold": FOLDS["test"]}
    for path in written:
        with CsdFile(path) as csd:
            assert csd.metadata[FOLDS_KEY] == FOLDS_FILE
    # The SDK's get_tensors(folds=[train, valid, test]) puts a key in the fold holding the id before '['.
    folds = [lists[name] for name in STANDARD_NAMES]
    with h5py.File(tmp_path / "exported" / LABELS_FILE) as h5:
        keys = list(h5[f"{list(h5)[0]}/data"])
    assert {key: [i for i, fold in enumerate(folds) if key.split("[")[0] in fold] for key in keys} == \
        {"abc": [0], "abcd": [1], "x9Y_z-1": [2]}
    # The same lists as the SDK's module (`cmu_mosi_std_folds.py`) give the same splits.
    module = tmp_path / "cmu_mosi_std_folds.py"
    module.write_text("".join(f"{name}={lists[name]!r}\n" for name in STANDARD_NAMES))
    extract_back(tmp_path / "exported", tmp_path / "back", f"folds={module}")
    assert splits(tmp_path / "back") == splits(out)


def test_other_split_names_are_listed_under_their_own_names(tmp_path):
    out, _ = segments(tmp_path, {"train": ["abc"], "test": ["x9Y_z-1"]})  # abcd in no fold: "unassigned"
    written = export_csd(out, tmp_path / "exported")
    assert json.loads(written.folds.read_text()) == {"standard_train_fold": ["abc"], "standard_valid_fold": [],
                                                     "standard_test_fold": ["x9Y_z-1"], "unassigned": ["abcd"]}
    extract_back(tmp_path / "exported", tmp_path / "back")
    assert splits(tmp_path / "back") == splits(out)
    assert splits(out)["abcd[0]"] == "unassigned"


def test_segments_of_one_video_in_two_splits_are_listed_by_segment(tmp_path):
    out, _ = segments(tmp_path)
    [shard] = layout.shard_files(layout.samples_dir(out))
    table = read_shard(shard)
    moved = [("valid" if s == "abc[1]" else split) for s, split in zip(table.column("sample_id").to_pylist(),
                                                                        table.column("split").to_pylist())]
    edited = table.set_column(table.schema.get_field_index("split"), "split", [moved])
    write_table_atomic(edited.replace_schema_metadata(table.schema.metadata), shard)
    written = export_csd(out, tmp_path / "exported")
    lists = json.loads(written.folds.read_text())
    assert lists["standard_train_fold"] == ["abc[0]"] and lists["standard_valid_fold"] == ["abc[1]", "abcd"]
    [warning] = written.warnings
    assert "1 videos have segments in several splits (e.g. abc)" in warning
    extract_back(tmp_path / "exported", tmp_path / "back")
    assert splits(tmp_path / "back") == splits(out)
    assert splits(out)["abc[1]"] == "valid"


def test_a_dataset_without_splits_writes_no_folds_file(tmp_path):
    fake = write_mosi_csd(tmp_path / "csd")
    extract("csd", fake.root, tmp_path / "segments", extractors=[], num_workers=0)
    written = export_csd(tmp_path / "segments", tmp_path / "exported")
    assert written.folds is None and not (tmp_path / "exported" / FOLDS_FILE).exists()
    for path in written:
        with CsdFile(path) as csd:
            assert FOLDS_KEY not in csd.metadata


def test_force_removes_an_earlier_exports_folds_file_and_a_lone_folds_file_needs_force(tmp_path):
    out, _ = segments(tmp_path)
    export_csd(out, tmp_path / "exported")
    fake = write_mosi_csd(tmp_path / "plain")
    extract("csd", fake.root, tmp_path / "no-splits", extractors=[], num_workers=0)
    written = export_csd(tmp_path / "no-splits", tmp_path / "exported", force=True)
    assert tmp_path / "exported" / FOLDS_FILE in written.removed
    assert not (tmp_path / "exported" / FOLDS_FILE).exists()
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / FOLDS_FILE).write_text("{}")
    with pytest.raises(OutputPathError, match=f"already holds a folds file {FOLDS_FILE}"):
        export_csd(out, lone)
    assert (lone / FOLDS_FILE).read_text() == "{}" and not list(lone.glob("*.csd"))


def test_raw_clips_exported_under_sdk_keys_come_back_in_their_videos_splits(tmp_path):
    raw_with_sdk_labels(tmp_path)  # mosi-raw with folds.json: a_b-1 in train, Xy9 in test
    written = export_csd(tmp_path / "out", tmp_path / "exported", keys="sdk")
    assert json.loads(written.folds.read_text()) == {"standard_train_fold": ["a_b-1"], "standard_valid_fold": [],
                                                     "standard_test_fold": ["Xy9"]}
    extract_back(tmp_path / "exported", tmp_path / "back")
    clip_of = {"a_b-1[0]": "a_b-1_1", "a_b-1[1]": "a_b-1_2", "Xy9[0]": "Xy9_1"}
    source = splits(tmp_path / "out")
    assert splits(tmp_path / "back") == {key: source[clip] for key, clip in clip_of.items()}
    assert source == {"a_b-1_1": "train", "a_b-1_2": "train", "Xy9_1": "test"}
